//! The checker's diagnostics, one named constructor per situation: what is
//! wrong, the label at the span, and the fix or the hint. The checker
//! decides when; these say what. (Path diagnostics are in paths.rs.)

use bpfbox_grammar::{did_you_mean, Attr, AttrArg, Code, Diagnostic, Ident, Span, StrLit};
use bpfbox_image::RuleKind;

use crate::vocab::{self, RuleShape};

/// A profile with more function scopes than a rule record can number.
pub fn too_many_scopes(one_too_many: Span) -> Diagnostic {
    Diagnostic::new(
        Code::TooManyScopes,
        one_too_many,
        "more than 65535 function scopes in one profile",
    )
    .with_label("one too many")
    .with_help("split the profile's functions across fewer scopes")
}

pub fn empty_profile(header: Span) -> Diagnostic {
    Diagnostic::new(Code::EmptyProfile, header, "profile has no rules")
        .with_label("every access of this executable will be denied")
        .with_help("add rules for what the program needs, or `#![complain]` to learn them from the audit log")
}

/// `#![profile]` with nothing after it.
pub fn profile_without_path(attr: &Attr) -> Diagnostic {
    Diagnostic::new(
        Code::AttributeArgument,
        attr.span,
        "profile line without a path",
    )
    .with_label("which executable does this profile confine?")
    .with_fix(
        "name the executable",
        Span::new(attr.name.span.end, attr.name.span.end),
        " \"/path/to/executable\"",
    )
}

/// `#![profile word]`
pub fn profile_path_unquoted(word: &Ident) -> Diagnostic {
    Diagnostic::new(
        Code::ArgumentType,
        word.span,
        "the profile's executable must be a quoted path",
    )
    .with_label("expected a path")
    .with_help("write `#![profile \"/usr/bin/program\"]`")
}

pub fn duplicate_profile(exe: &str, here: Span, first: Span) -> Diagnostic {
    Diagnostic::new(
        Code::DuplicateProfile,
        here,
        format!("a second profile for {exe}"),
    )
    .with_label("defined again here")
    .with_related(first, "first defined here")
    .with_help("merge the two profiles into one")
}

/// `#![complain]` or `#![enforce]` with no profile to apply to.
pub fn mode_before_profile(mode: &str, attr: Span) -> Diagnostic {
    Diagnostic::new(
        Code::RuleOutsideProfile,
        attr,
        format!("`#![{mode}]` before any profile line"),
    )
    .with_label("sets the mode of no profile")
    .with_help("put it after the `#![profile \"...\"]` line it applies to")
}

pub fn unknown_inner_attribute(attr: &Attr) -> Diagnostic {
    let name = attr.name.name.as_str();
    let d = Diagnostic::new(
        Code::UnknownInnerAttribute,
        attr.name.span,
        format!("unknown file attribute `#![{name}]`"),
    )
    .with_label("not a file attribute");
    let names = vocab::INNER_ATTRIBUTES.iter().map(|(n, _)| *n);
    if let Some(best) = did_you_mean(name, names) {
        d.with_suggestion(attr.name.span, best)
    } else if vocab::ATTRIBUTES.iter().any(|(n, _)| *n == name) {
        d.with_fix(
            format!("`{name}` is a rule attribute: write `#[{name}]`"),
            Span::new(attr.span.start, attr.span.start + 3),
            "#[",
        )
    } else {
        d.with_help(
            "file attributes are #![profile \"PATH\"], #![complain], #![enforce] and #![include FRAGMENT]",
        )
    }
}

/// A `#![...]` line inside a `{ }` block.
pub fn file_attribute_in_block(attr: &Attr) -> Diagnostic {
    Diagnostic::new(
        Code::MisplacedProfile,
        attr.span,
        format!("`#![{}]` inside a block", attr.name.name),
    )
    .with_label("file attributes belong at the top level")
    .with_help("move it out of the block")
}

pub fn rule_outside_profile(rule: Span) -> Diagnostic {
    Diagnostic::new(
        Code::RuleOutsideProfile,
        rule,
        "rule before any profile line",
    )
    .with_label("which executable is this rule for?")
    .with_fix(
        "start the file with a profile line",
        Span::new(0, 0),
        "#![profile \"/path/to/executable\"]\n\n",
    )
}

/// `#[allow]` with `#[deny]` or `#[quiet]` on one rule.
pub fn conflicting_verdicts(first: (&str, Span), second: (&str, Span)) -> Diagnostic {
    Diagnostic::new(
        Code::ConflictingActions,
        second.1,
        format!("`#[{}]` and `#[{}]` on the same rule", first.0, second.0),
    )
    .with_label("contradicts")
    .with_related(first.1, "this")
    .with_fix("keep one of them", second.1, "")
}

/// `#[quiet]` (deny with no event) where `#[audit]` asks for one.
pub fn quiet_audit(quiet: Span, audit: Span) -> Diagnostic {
    Diagnostic::new(
        Code::ConflictingActions,
        quiet,
        "`#[quiet]` and `#[audit]` on the same rule",
    )
    .with_label("denies without an event")
    .with_related(audit, "asks for an event")
    .with_help("use `#[deny]` to deny and log, or `#[quiet]` alone for known noise")
}

/// An argument to an attribute that takes none.
pub fn no_argument(attr: &Attr, arg: &AttrArg) -> Diagnostic {
    Diagnostic::new(
        Code::AttributeArgument,
        arg.span(),
        format!("`{}` takes no argument", attr.name.name),
    )
    .with_label("unexpected argument")
    .with_fix(
        "remove the argument",
        Span::new(attr.name.span.end, arg.span().end),
        "",
    )
}

/// `#[func]` or `#[kfunc]` with no function.
pub fn scope_without_function(attribute: &str, attr: Span) -> Diagnostic {
    Diagnostic::new(
        Code::AttributeArgument,
        attr,
        format!("`#[{attribute}]` needs a function name"),
    )
    .with_label("which function?")
    .with_help(format!(
        "write `#[{attribute} function_name]`, or quote a mangled name: `#[{attribute} \"_ZN3app5checkEv\"]`"
    ))
}

pub fn empty_function_name(arg: Span) -> Diagnostic {
    Diagnostic::new(Code::AttributeArgument, arg, "empty function name")
        .with_label("name a function")
}

/// `#[profile ...]`, the file attribute written as a rule attribute.
pub fn profile_as_rule_attribute(attr: Span) -> Diagnostic {
    Diagnostic::new(
        Code::UnknownAttribute,
        attr,
        "a profile line is a file attribute: `#![profile ...]`",
    )
    .with_label("missing `!`")
    .with_fix(
        "write `#![profile ...]`",
        Span::new(attr.start, attr.start + 2),
        "#![",
    )
}

pub fn unknown_attribute(name: &Ident) -> Diagnostic {
    let d = Diagnostic::new(
        Code::UnknownAttribute,
        name.span,
        format!("unknown attribute `#[{}]`", name.name),
    )
    .with_label("not an attribute");
    if let Some(best) = did_you_mean(&name.name, vocab::ATTRIBUTES.iter().map(|(n, _)| *n)) {
        return d.with_suggestion(name.span, best);
    }
    let names: Vec<String> = vocab::ATTRIBUTES
        .iter()
        .map(|(n, arg)| {
            if *arg {
                format!("{n} NAME")
            } else {
                n.to_string()
            }
        })
        .collect();
    d.with_help(format!("the attributes are {}", names.join(", ")))
}

pub fn unknown_rule(name: &Ident) -> Diagnostic {
    let word = name.name.as_str();
    let d = Diagnostic::new(
        Code::UnknownRule,
        name.span,
        format!("unknown rule `{word}`"),
    )
    .with_label("not a rule kind");
    let names = vocab::rule_names();
    if let Some(best) = did_you_mean(word, names.iter().map(|(n, _)| *n)) {
        d.with_suggestion(name.span, best)
    } else if vocab::ATTRIBUTES.iter().any(|(n, _)| *n == word) {
        d.with_help(format!(
            "`{word}` is an attribute: write `#[{word}]` before a rule"
        ))
    } else {
        d.with_help("rules are fs, proc, signal, ptrace, net, cap, sys, and read/write/append/exec/... (PATH)")
    }
}

/// A rule `name` of `shape` given `found` arguments where it takes `wanted`.
pub fn argument_count(
    name: &str,
    shape: RuleShape,
    wanted: usize,
    found: usize,
    args: Span,
) -> Diagnostic {
    Diagnostic::new(
        Code::ArgumentCount,
        args,
        format!(
            "`{name}` takes {wanted} argument{}, found {found}",
            if wanted == 1 { "" } else { "s" },
        ),
    )
    .with_label(format!("expected {}", shape.signature(name)))
    .with_help(format!("for example `{}`", shape.example(name)))
}

/// Words where a path is expected.
pub fn path_expected(arg: Span, first_word: &str) -> Diagnostic {
    Diagnostic::new(Code::ArgumentType, arg, "expected a path")
        .with_label("this is not a path")
        .with_help(format!(
            "paths are quoted and absolute: \"/etc/{first_word}\""
        ))
}

/// Words other than `self` where an executable is expected.
pub fn executable_expected(arg: Span, first_word: &Ident) -> Diagnostic {
    let d = Diagnostic::new(
        Code::ArgumentType,
        arg,
        "expected an executable's path or `self`",
    )
    .with_label("not an executable");
    if did_you_mean(&first_word.name, [vocab::SELF]).is_some() {
        d.with_fix("did you mean `self`?", first_word.span, vocab::SELF)
    } else {
        d.with_help(
            "name the executable by its quoted path, or write `self` for this profile's own",
        )
    }
}

/// A vocabulary of names that stand for numbers (address families,
/// capabilities), and how to talk about it in diagnostics.
pub struct NamedNumbers<'a> {
    pub table: &'a [(&'a str, u16)],
    /// Linux's prefix of the names (`af_`, `cap_`), which a fix drops.
    pub linux_prefix: &'static str,
    pub code: Code,
    /// With its article: "an address family".
    pub noun: &'static str,
    pub expected: &'static str,
    pub plural: &'static str,
    pub unquote: &'static str,
    pub lowercase_unquoted: bool,
    /// `any` stands for every name.
    pub any: bool,
    pub help: &'static str,
}

impl NamedNumbers<'_> {
    pub fn number(&self, name: &str) -> Option<u16> {
        self.table.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
}

/// A string where `names` are expected: the fix unquotes it.
pub fn names_quoted(names: &NamedNumbers, s: &StrLit) -> Diagnostic {
    let unquoted = if names.lowercase_unquoted {
        s.value.to_lowercase()
    } else {
        s.value.clone()
    };
    Diagnostic::new(Code::ArgumentType, s.span, names.expected)
        .with_label(format!("{} are names, not strings", names.plural))
        .with_fix(names.unquote, s.span, unquoted)
}

/// A word that is none of `names`: the fix drops Linux's prefix, or
/// proposes the nearest name.
pub fn unknown_name(names: &NamedNumbers, word: &Ident) -> Diagnostic {
    let lower = word.name.to_lowercase();
    let stripped = lower.strip_prefix(names.linux_prefix).unwrap_or(&lower);
    let noun = names.noun.split_once(' ').map_or(names.noun, |(_, n)| n);
    let d = Diagnostic::new(
        names.code,
        word.span,
        format!("unknown {noun} `{}`", word.name),
    )
    .with_label(format!("not {}", names.noun));
    if names.number(stripped).is_some() {
        d.with_fix(
            format!("write `{stripped}`"),
            word.span,
            stripped.to_string(),
        )
    } else if let Some(best) = did_you_mean(stripped, names.table.iter().map(|(n, _)| *n)) {
        d.with_suggestion(word.span, best)
    } else {
        d.with_help(names.help)
    }
}

/// A string where access flags are expected.
pub fn flags_quoted(s: &StrLit) -> Diagnostic {
    Diagnostic::new(Code::ArgumentType, s.span, "expected access flags")
        .with_label("flags are names, not strings")
        .with_fix("write the flags without quotes", s.span, s.value.clone())
}

/// A socket flag (`connect`) in a proc rule.
pub fn socket_flag_in_proc(word: &Ident) -> Diagnostic {
    Diagnostic::new(
        Code::UnknownFlag,
        word.span,
        format!("`{}` is not a proc access", word.name),
    )
    .with_label("/proc entries are not sockets")
    .with_help("name a unix socket by its path: `connect(\"/run/app.sock\")`")
}

/// A word that is not an access flag of `kind` (rule `rule_name`): the
/// nearest flag, or the kind the word is a flag of.
pub fn unknown_flag(kind: RuleKind, rule_name: &str, word: &Ident) -> Diagnostic {
    let names: Vec<&str> = kind
        .flags()
        .iter()
        .map(|(n, _)| *n)
        .chain([vocab::ANY])
        .collect();
    let d = Diagnostic::new(
        Code::UnknownFlag,
        word.span,
        format!("unknown access flag `{}` for `{rule_name}`", word.name),
    )
    .with_label(format!("not a {} access", family_word(kind)));
    if let Some(best) = did_you_mean(&word.name, names.iter().copied()) {
        return d.with_suggestion(word.span, best);
    }
    let other = [
        RuleKind::File,
        RuleKind::Signal,
        RuleKind::Net,
        RuleKind::Sys,
    ]
    .into_iter()
    .find(|k| *k != kind && k.flags().iter().any(|(n, _)| *n == word.name));
    let list = names.join(", ");
    match other {
        Some(other) => d.with_help(format!(
            "`{}` is a {} access; {} access is one of {list}",
            word.name,
            family_word(other),
            family_word(kind)
        )),
        None => d.with_help(format!("{} access is one of {list}", family_word(kind))),
    }
}

/// The rule name a kind's flags are spoken of by.
fn family_word(kind: RuleKind) -> &'static str {
    match kind {
        RuleKind::Signal => "signal",
        RuleKind::Net => "net",
        RuleKind::Ptrace => "ptrace",
        RuleKind::Sys => "sys",
        RuleKind::Cap => "cap",
        _ => "fs",
    }
}

/// `#![include]` with nothing to include.
pub fn include_without_fragment(attr: Span) -> Diagnostic {
    let names: Vec<&str> = crate::include::BUNDLED.iter().map(|b| b.name).collect();
    Diagnostic::new(
        Code::AttributeArgument,
        attr,
        "`#![include]` needs a fragment",
    )
    .with_label("include what?")
    .with_help(format!(
        "write `#![include \"base.policy\"]` for a file, or one of bpfbox's: {}",
        names.join(", ")
    ))
}

pub fn unknown_fragment(name: &Ident) -> Diagnostic {
    let names = crate::include::BUNDLED.iter().map(|b| b.name);
    let d = Diagnostic::new(
        Code::UnknownFragment,
        name.span,
        format!("bpfbox has no fragment `{}`", name.name),
    )
    .with_label("not a bundled fragment");
    if let Some(best) = did_you_mean(&name.name, names.clone()) {
        return d.with_suggestion(name.span, best);
    }
    let names: Vec<&str> = names.collect();
    d.with_help(format!(
        "bpfbox's fragments are {}; quote a file's path: `#![include \"base.policy\"]`",
        names.join(", ")
    ))
}

pub fn include_before_profile(attr: Span) -> Diagnostic {
    Diagnostic::new(
        Code::RuleOutsideProfile,
        attr,
        "`#![include]` before any profile line",
    )
    .with_label("its rules would belong to no profile")
    .with_help("put it after the `#![profile \"...\"]` line it adds rules to")
}
