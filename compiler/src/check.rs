//! From syntax tree to checked policy: profiles, attribute scoping, rule
//! kinds, access flags, families and paths, each misspelling with a
//! did-you-mean and a fix.

use bpfbox_grammar::{
    did_you_mean, Arg, Ast, Attr, AttrArg, Body, Code, Diagnostic, Ident, Item, Span, StrLit,
};
use bpfbox_image::families::FAMILIES;
use bpfbox_image::{capability_names, RuleKind, ScopeKind, Target};

use crate::model::{Actions, Fragment, IncludeDef, Policy, Profile, RuleDef, ScopeDef};
use crate::vocab::{self, RuleShape};

/// What the attributes around a rule have set.
#[derive(Clone, Default)]
struct Context {
    /// `#[allow]`, `#[deny]` or `#[quiet]`; an inner one replaces an outer one.
    verdict: Option<Verdict>,
    /// Where the verdict was given.
    verdict_at: Option<Span>,
    /// Where `#[audit]` is (set when there is one), for a `#[quiet]` it
    /// contradicts.
    audit_at: Option<Span>,
    taint: bool,
    scopes: Vec<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Allow,
    Deny,
    /// Deny with no event: `#[quiet]`.
    Quiet,
}

impl Context {
    fn actions(&self) -> Actions {
        Actions {
            allow: self.verdict == Some(Verdict::Allow),
            deny: matches!(self.verdict, Some(Verdict::Deny | Verdict::Quiet)),
            quiet: self.verdict == Some(Verdict::Quiet),
            audit: self.audit_at.is_some(),
            taint: self.taint,
        }
    }
}

struct Checker<'a> {
    text: &'a str,
    policy: Policy,
    diagnostics: Vec<Diagnostic>,
    /// Index of the profile the items being read belong to.
    current: Option<usize>,
    reported_outside: bool,
    /// Byte offsets where lines start, for rules' line numbers.
    line_starts: Vec<usize>,
}

impl Checker<'_> {
    /// The 1-based line of a byte offset, as the CLI's diagnostics count.
    fn line_of(&self, offset: usize) -> u32 {
        self.line_starts.partition_point(|&start| start <= offset) as u32
    }
}

pub fn check(text: &str, ast: &Ast) -> (Policy, Vec<Diagnostic>) {
    let mut checker = Checker {
        text,
        policy: Policy::default(),
        diagnostics: Vec::new(),
        current: None,
        reported_outside: false,
        line_starts: std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect(),
    };
    for item in &ast.items {
        match item {
            Item::Inner(attr) => checker.inner_attribute(attr),
            Item::Stmt(_) => checker.item(item, &Context::default()),
        }
        if let Some(profile) = checker.current.map(|i| &mut checker.policy.profiles[i]) {
            profile.span = profile.span.cover(item.span());
        }
    }
    for profile in &checker.policy.profiles {
        // Rule records number scopes with a u16, 0 meaning "always".
        if let Some(scope) = profile.scopes.get(usize::from(u16::MAX)) {
            checker.diagnostics.push(
                Diagnostic::new(
                    Code::TooManyScopes,
                    scope.uses[0],
                    "more than 65535 function scopes in one profile",
                )
                .with_label("one too many")
                .with_help("split the profile's functions across fewer scopes"),
            );
        }
        // An empty profile in complain mode is how learning starts.
        if profile.rules.is_empty()
            && profile.includes.is_empty()
            && !profile.complain
            && !checker
                .diagnostics
                .iter()
                .any(|d| profile.span.contains(d.span.start))
        {
            checker.diagnostics.push(
                Diagnostic::new(Code::EmptyProfile, profile.header_span, "profile has no rules")
                    .with_label("every access of this executable will be denied")
                    .with_help("add rules for what the program needs, or `#![complain]` to learn them from the audit log"),
            );
        }
    }
    (checker.policy, checker.diagnostics)
}

impl Checker<'_> {
    fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn inner_attribute(&mut self, attr: &Attr) {
        let names = vocab::INNER_ATTRIBUTES.iter().map(|(n, _)| *n);
        match attr.name.name.as_str() {
            "profile" => {
                let Some(arg) = &attr.arg else {
                    self.push(
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
                        ),
                    );
                    self.current = None;
                    return;
                };
                let exe = match arg {
                    AttrArg::Str(s) => s.value.clone(),
                    AttrArg::Ident(ident) => {
                        self.push(
                            Diagnostic::new(
                                Code::ArgumentType,
                                ident.span,
                                "the profile's executable must be a quoted path",
                            )
                            .with_label("expected a path")
                            .with_help("write `#![profile \"/usr/bin/program\"]`"),
                        );
                        ident.name.clone()
                    }
                };
                if let AttrArg::Str(s) = arg {
                    self.check_exe_path(s);
                }
                if let Some(first) = self.policy.profiles.iter().find(|p| p.exe == exe) {
                    let first_span = first.header_span;
                    self.push(
                        Diagnostic::new(
                            Code::DuplicateProfile,
                            arg.span(),
                            format!("a second profile for {exe}"),
                        )
                        .with_label("defined again here")
                        .with_related(first_span, "first defined here")
                        .with_help("merge the two profiles into one"),
                    );
                }
                self.policy.profiles.push(Profile {
                    exe,
                    exe_span: arg.span(),
                    header_span: attr.span,
                    complain: false,
                    scopes: Vec::new(),
                    rules: Vec::new(),
                    includes: Vec::new(),
                    span: attr.span,
                });
                self.current = Some(self.policy.profiles.len() - 1);
            }
            "include" => self.include(attr),
            name @ ("complain" | "enforce") => {
                if let Some(arg) = &attr.arg {
                    self.push(no_argument(attr, arg));
                }
                match self.current {
                    Some(index) => self.policy.profiles[index].complain = name == "complain",
                    None => self.push(
                        Diagnostic::new(
                            Code::RuleOutsideProfile,
                            attr.span,
                            format!("`#![{name}]` before any profile line"),
                        )
                        .with_label("sets the mode of no profile")
                        .with_help("put it after the `#![profile \"...\"]` line it applies to"),
                    ),
                }
            }
            other => {
                let mut d = Diagnostic::new(
                    Code::UnknownInnerAttribute,
                    attr.name.span,
                    format!("unknown file attribute `#![{other}]`"),
                )
                .with_label("not a file attribute");
                if let Some(best) = did_you_mean(other, names.clone()) {
                    d = d.with_fix(format!("did you mean `{best}`?"), attr.name.span, best);
                } else if vocab::ATTRIBUTES.iter().any(|(n, _)| *n == other) {
                    d = d.with_fix(
                        format!("`{other}` is a rule attribute: write `#[{other}]`"),
                        Span::new(attr.span.start, attr.span.start + 3),
                        "#[",
                    );
                } else {
                    d = d.with_help(
                        "file attributes are #![profile \"PATH\"], #![complain], #![enforce] and #![include FRAGMENT]",
                    );
                }
                self.push(d);
            }
        }
    }

    fn item(&mut self, item: &Item, outer: &Context) {
        let stmt = match item {
            Item::Inner(attr) => {
                self.push(
                    Diagnostic::new(
                        Code::MisplacedProfile,
                        attr.span,
                        format!("`#![{}]` inside a block", attr.name.name),
                    )
                    .with_label("file attributes belong at the top level")
                    .with_help("move it out of the block"),
                );
                return;
            }
            Item::Stmt(stmt) => stmt,
        };
        let context = self.attributes(&stmt.attrs, outer);
        match &stmt.body {
            bpfbox_grammar::Body::Rule(rule) => {
                if self.current.is_none() {
                    if !self.reported_outside {
                        self.reported_outside = true;
                        self.push(
                            Diagnostic::new(
                                Code::RuleOutsideProfile,
                                rule.span,
                                "rule before any profile line",
                            )
                            .with_label("which executable is this rule for?")
                            .with_fix(
                                "start the file with a profile line",
                                Span::new(0, 0),
                                "#![profile \"/path/to/executable\"]\n\n",
                            ),
                        );
                    }
                    // Still check the rule itself, so that every error shows.
                    self.rule(rule, &context);
                    return;
                }
                if let Some(def) = self.rule(rule, &context) {
                    let index = self.current.unwrap();
                    self.policy.profiles[index].rules.extend(def);
                }
            }
            Body::Block(block) => {
                for inner in &block.items {
                    self.item(inner, &context);
                }
            }
            Body::Nothing | Body::Error(_) => {}
        }
    }

    fn attributes(&mut self, attrs: &[Attr], outer: &Context) -> Context {
        let mut context = outer.clone();
        let mut verdict_here: Option<(Verdict, Span, &str)> = None;
        for attr in attrs {
            let name = attr.name.name.as_str();
            match name {
                "allow" | "deny" | "quiet" => {
                    let verdict = match name {
                        "allow" => Verdict::Allow,
                        "deny" => Verdict::Deny,
                        _ => Verdict::Quiet,
                    };
                    let denies = |v: Verdict| v != Verdict::Allow;
                    // `#[deny] #[quiet]` says the same twice: a quiet deny.
                    let verdict = match verdict_here {
                        Some((Verdict::Quiet, _, _)) if denies(verdict) => Verdict::Quiet,
                        _ => verdict,
                    };
                    if let Some((previous, span, previous_name)) = verdict_here {
                        if denies(previous) != denies(verdict) {
                            self.push(
                                Diagnostic::new(
                                    Code::ConflictingActions,
                                    attr.span,
                                    format!(
                                        "`#[{previous_name}]` and `#[{name}]` on the same rule"
                                    ),
                                )
                                .with_label("contradicts")
                                .with_related(span, "this")
                                .with_fix(
                                    "keep one of them",
                                    attr.span,
                                    "",
                                ),
                            );
                        }
                    }
                    verdict_here = Some((verdict, attr.span, name));
                    context.verdict = Some(verdict);
                    context.verdict_at = Some(attr.span);
                    if let Some(arg) = &attr.arg {
                        self.push(no_argument(attr, arg));
                    }
                }
                "audit" | "taint" => {
                    if name == "audit" {
                        context.audit_at = Some(attr.span);
                    } else {
                        context.taint = true;
                    }
                    if let Some(arg) = &attr.arg {
                        self.push(no_argument(attr, arg));
                    }
                }
                "func" | "kfunc" => {
                    let Some(arg) = &attr.arg else {
                        self.push(
                            Diagnostic::new(Code::AttributeArgument, attr.span, format!("`#[{name}]` needs a function name"))
                                .with_label("which function?")
                                .with_help(format!("write `#[{name} function_name]`, or quote a mangled name: `#[{name} \"_ZN3app5checkEv\"]`")),
                        );
                        continue;
                    };
                    let kind = if name == "func" {
                        ScopeKind::User
                    } else {
                        ScopeKind::Kernel
                    };
                    let function = arg.value().to_string();
                    if function.is_empty() {
                        self.push(
                            Diagnostic::new(
                                Code::AttributeArgument,
                                arg.span(),
                                "empty function name",
                            )
                            .with_label("name a function"),
                        );
                        continue;
                    }
                    if let Some(index) = self.current {
                        let scopes = &mut self.policy.profiles[index].scopes;
                        let position = match scopes
                            .iter()
                            .position(|s| s.kind == kind && s.name == function)
                        {
                            Some(position) => {
                                scopes[position].uses.push(arg.span());
                                position
                            }
                            None => {
                                scopes.push(ScopeDef {
                                    kind,
                                    name: function,
                                    uses: vec![arg.span()],
                                    symbol: None,
                                });
                                scopes.len() - 1
                            }
                        };
                        if !context.scopes.contains(&position) {
                            context.scopes.push(position);
                        }
                    }
                }
                "profile" => self.push(
                    Diagnostic::new(
                        Code::UnknownAttribute,
                        attr.span,
                        "a profile line is a file attribute: `#![profile ...]`",
                    )
                    .with_label("missing `!`")
                    .with_fix(
                        "write `#![profile ...]`",
                        Span::new(attr.span.start, attr.span.start + 2),
                        "#![",
                    ),
                ),
                other => {
                    let mut d = Diagnostic::new(
                        Code::UnknownAttribute,
                        attr.name.span,
                        format!("unknown attribute `#[{other}]`"),
                    )
                    .with_label("not an attribute");
                    if let Some(best) =
                        did_you_mean(other, vocab::ATTRIBUTES.iter().map(|(n, _)| *n))
                    {
                        d = d.with_fix(format!("did you mean `{best}`?"), attr.name.span, best);
                    } else {
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
                        d = d.with_help(format!("the attributes are {}", names.join(", ")));
                    }
                    self.push(d);
                }
            }
        }
        // Once the whole list is read (an inner `#[deny]` may replace an
        // outer `#[quiet]`), where this list gave one of the two.
        if let (Some(Verdict::Quiet), Some(quiet), Some(audit)) =
            (context.verdict, context.verdict_at, context.audit_at)
        {
            let given_here = |span: Span| attrs.iter().any(|a| a.span == span);
            if given_here(quiet) || given_here(audit) {
                self.push(quiet_audit(quiet, audit));
            }
        }
        context
    }

    /// Checks one rule; returns what it means (several definitions when it
    /// names several families), or `None` when it is wrong.
    fn rule(&mut self, rule: &bpfbox_grammar::Rule, context: &Context) -> Option<Vec<RuleDef>> {
        let name = rule.name.name.as_str();
        let Some(shape) = vocab::rule_shape(name) else {
            let names = vocab::rule_names();
            let mut d = Diagnostic::new(
                Code::UnknownRule,
                rule.name.span,
                format!("unknown rule `{name}`"),
            )
            .with_label("not a rule kind");
            if let Some(best) = did_you_mean(name, names.iter().map(|(n, _)| *n)) {
                d = d.with_fix(format!("did you mean `{best}`?"), rule.name.span, best);
            } else if vocab::ATTRIBUTES.iter().any(|(n, _)| *n == name) {
                d = d.with_help(format!(
                    "`{name}` is an attribute: write `#[{name}]` before a rule"
                ));
            } else {
                d = d.with_help("rules are fs, proc, signal, ptrace, net, cap, sys, and read/write/append/exec/... (PATH)");
            }
            self.push(d);
            return None;
        };
        let wanted = match shape {
            RuleShape::FsSugar(_) | RuleShape::Ptrace | RuleShape::Cap | RuleShape::Sys => 1,
            _ => 2,
        };
        if rule.args.len() != wanted {
            let args_span = match (rule.args.first(), rule.args.last()) {
                (Some(first), Some(last)) => first.span().cover(last.span()),
                _ => Span::new(rule.name.span.end, rule.span.end),
            };
            self.push(
                Diagnostic::new(
                    Code::ArgumentCount,
                    args_span,
                    format!(
                        "`{name}` takes {wanted} argument{}, found {}",
                        if wanted == 1 { "" } else { "s" },
                        rule.args.len()
                    ),
                )
                .with_label(format!("expected {}", shape.signature(name)))
                .with_help(format!("for example `{}`", shape.example(name))),
            );
            return None;
        }
        let profile_exe = self.current.map(|i| self.policy.profiles[i].exe.clone());
        let actions = context.actions();
        let actions = Actions {
            // No verdict and no audit: a plain rule allows; `#[taint]` alone
            // only taints.
            allow: actions.allow || (!actions.deny && (actions.audit || !actions.taint)),
            ..actions
        };
        let line = self.line_of(rule.span.start);
        let make = |kind: RuleKind, target: Target, access: u16, target_span: Span| RuleDef {
            kind,
            target,
            access,
            actions,
            scopes: context.scopes.clone(),
            span: rule.span,
            target_span,
            line,
            bundled: false,
        };
        let flag_kind = shape.flag_kind();
        match shape {
            RuleShape::Fs | RuleShape::FsSugar(_) => {
                let (path, span) = self.path_arg(&rule.args[0], profile_exe.as_deref())?;
                let access = match shape {
                    RuleShape::FsSugar(bit) => bit as u16,
                    _ => self.flags(&rule.args[1], flag_kind, name)?,
                };
                let (kind, target) = classify_path(&path);
                Some(vec![make(kind, target, access, span)])
            }
            RuleShape::Proc | RuleShape::Signal | RuleShape::Ptrace => {
                let exe = self.exe_arg(&rule.args[0], profile_exe.as_deref());
                let access = match shape {
                    RuleShape::Ptrace => RuleKind::Ptrace.all_bits() as u16,
                    _ => self.flags(&rule.args[1], flag_kind, name)?,
                };
                let (exe, span) = exe?;
                let kind = match shape {
                    RuleShape::Proc => RuleKind::Proc,
                    RuleShape::Signal => RuleKind::Signal,
                    _ => RuleKind::Ptrace,
                };
                Some(vec![make(kind, Target::Exe(exe), access, span)])
            }
            RuleShape::Cap => Some(
                self.capabilities(&rule.args[0])?
                    .into_iter()
                    .map(|(cap, span)| {
                        make(
                            RuleKind::Cap,
                            Target::Capability(cap),
                            bpfbox_image::CAP_FLAGS[0].1 as u16,
                            span,
                        )
                    })
                    .collect(),
            ),
            RuleShape::Sys => {
                let access = self.flags(&rule.args[0], flag_kind, name)?;
                Some(vec![make(
                    RuleKind::Sys,
                    Target::Nothing,
                    access,
                    rule.args[0].span(),
                )])
            }
            RuleShape::Net => {
                let families = self.families(&rule.args[0]);
                let access = self.flags(&rule.args[1], flag_kind, name)?;
                Some(
                    families?
                        .into_iter()
                        .map(|(family, span)| {
                            make(RuleKind::Net, Target::Family(family), access, span)
                        })
                        .collect(),
                )
            }
        }
    }

    /// A path argument (or `self`, the profile's executable).
    fn path_arg(&mut self, arg: &Arg, profile_exe: Option<&str>) -> Option<(String, Span)> {
        match arg {
            Arg::Str(s) => self.check_path(s).then(|| (s.value.clone(), s.span)),
            Arg::Words(words) if words.len() == 1 && words[0].name == vocab::SELF => {
                Some((profile_exe.unwrap_or("/").to_string(), words[0].span))
            }
            Arg::Words(words) => {
                self.push(
                    Diagnostic::new(Code::ArgumentType, arg.span(), "expected a path")
                        .with_label("this is not a path")
                        .with_help(format!(
                            "paths are quoted and absolute: \"/etc/{}\"",
                            words[0].name
                        )),
                );
                None
            }
        }
    }

    /// An executable argument: a quoted absolute path, or `self` (`None`).
    fn exe_arg(&mut self, arg: &Arg, profile_exe: Option<&str>) -> Option<(Option<String>, Span)> {
        match arg {
            Arg::Str(s) => {
                if !self.check_exe_path(s) {
                    return None;
                }
                // Naming the profile's own executable is the same as `self`.
                let exe = (Some(s.value.as_str()) != profile_exe).then(|| s.value.clone());
                Some((exe, s.span))
            }
            Arg::Words(words) if words.len() == 1 && words[0].name == vocab::SELF => {
                Some((None, words[0].span))
            }
            Arg::Words(words) => {
                let mut d = Diagnostic::new(
                    Code::ArgumentType,
                    arg.span(),
                    "expected an executable's path or `self`",
                )
                .with_label("not an executable");
                if did_you_mean(&words[0].name, [vocab::SELF]).is_some() {
                    d = d.with_fix("did you mean `self`?", words[0].span, vocab::SELF);
                } else {
                    d = d.with_help("name the executable by its quoted path, or write `self` for this profile's own");
                }
                self.push(d);
                None
            }
        }
    }

    fn families(&mut self, arg: &Arg) -> Option<Vec<(u16, Span)>> {
        let table: Vec<(&str, u16)> = FAMILIES.iter().map(|(n, v)| (*n, *v as u16)).collect();
        self.named_numbers(
            arg,
            &NamedNumbers {
                table: &table,
                linux_prefix: "af_",
                code: Code::UnknownFamily,
                noun: "an address family",
                expected: "expected an address family",
                plural: "families",
                unquote: "write the family without quotes",
                lowercase_unquoted: false,
                any: false,
                help: "families are Linux's AF_* names in lower case without AF_: unix, inet, inet6, netlink, packet, ...",
            },
        )
    }

    /// `a|b|c` as capability numbers; `any` is every capability.
    fn capabilities(&mut self, arg: &Arg) -> Option<Vec<(u16, Span)>> {
        let table: Vec<(&str, u16)> = capability_names()
            .iter()
            .map(|(n, v)| (*n, *v as u16))
            .collect();
        self.named_numbers(
            arg,
            &NamedNumbers {
                table: &table,
                linux_prefix: "cap_",
                code: Code::UnknownCapability,
                noun: "a capability",
                expected: "expected capability names",
                plural: "capabilities",
                unquote: "write the capabilities without quotes",
                lowercase_unquoted: true,
                any: true,
                help: "capabilities are Linux's CAP_* names in lower case without CAP_: net_bind_service, setuid, sys_admin, ... (man 7 capabilities)",
            },
        )
    }

    /// `a|b|c` as the numbers of `names`' words, each unknown word with a
    /// fix: Linux's prefix dropped, or the nearest name.
    fn named_numbers(&mut self, arg: &Arg, names: &NamedNumbers) -> Option<Vec<(u16, Span)>> {
        let words = match arg {
            Arg::Words(words) => words,
            Arg::Str(s) => {
                let unquoted = if names.lowercase_unquoted {
                    s.value.to_lowercase()
                } else {
                    s.value.clone()
                };
                self.push(
                    Diagnostic::new(Code::ArgumentType, s.span, names.expected)
                        .with_label(format!("{} are names, not strings", names.plural))
                        .with_fix(names.unquote, s.span, unquoted),
                );
                return None;
            }
        };
        let number = |name: &str| {
            names
                .table
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| *v)
        };
        let mut out = Vec::new();
        let mut ok = true;
        for word in words {
            if names.any && word.name == vocab::ANY {
                out.extend(names.table.iter().map(|(_, v)| (*v, word.span)));
                continue;
            }
            if let Some(number) = number(&word.name) {
                out.push((number, word.span));
                continue;
            }
            ok = false;
            let lower = word.name.to_lowercase();
            let stripped = lower.strip_prefix(names.linux_prefix).unwrap_or(&lower);
            let noun = names.noun.split_once(' ').map_or(names.noun, |(_, n)| n);
            let mut d = Diagnostic::new(
                names.code,
                word.span,
                format!("unknown {noun} `{}`", word.name),
            )
            .with_label(format!("not {}", names.noun));
            if number(stripped).is_some() {
                d = d.with_fix(format!("write `{stripped}`"), word.span, stripped);
            } else if let Some(best) = did_you_mean(stripped, names.table.iter().map(|(n, _)| *n)) {
                d = d.with_fix(format!("did you mean `{best}`?"), word.span, best);
            } else {
                d = d.with_help(names.help);
            }
            self.push(d);
        }
        ok.then_some(out)
    }

    /// `a|b|c` as a bitmask of `kind`'s access flags.
    fn flags(&mut self, arg: &Arg, kind: RuleKind, rule_name: &str) -> Option<u16> {
        let words: &[Ident] = match arg {
            Arg::Words(words) => words,
            Arg::Str(s) => {
                self.push(
                    Diagnostic::new(Code::ArgumentType, s.span, "expected access flags")
                        .with_label("flags are names, not strings")
                        .with_fix("write the flags without quotes", s.span, s.value.clone()),
                );
                return None;
            }
        };
        let flags = kind.flags();
        let mut mask = 0u32;
        let mut ok = true;
        for word in words {
            if word.name == vocab::ANY {
                mask |= kind.any_bits();
                continue;
            }
            // /proc/PID entries are not sockets.
            if kind == RuleKind::Proc {
                if let Some((_, bit)) = flags.iter().find(|(n, _)| *n == word.name) {
                    if kind.any_bits() & bit == 0 {
                        ok = false;
                        self.push(
                            Diagnostic::new(
                                Code::UnknownFlag,
                                word.span,
                                format!("`{}` is not a proc access", word.name),
                            )
                            .with_label("/proc entries are not sockets")
                            .with_help(
                                "name a unix socket by its path: `connect(\"/run/app.sock\")`",
                            ),
                        );
                        continue;
                    }
                }
            }
            if let Some((_, bit)) = flags.iter().find(|(n, _)| *n == word.name) {
                mask |= bit;
                continue;
            }
            ok = false;
            let names: Vec<&str> = flags.iter().map(|(n, _)| *n).chain([vocab::ANY]).collect();
            let mut d = Diagnostic::new(
                Code::UnknownFlag,
                word.span,
                format!("unknown access flag `{}` for `{rule_name}`", word.name),
            )
            .with_label(format!("not a {} access", family_word(kind)));
            if let Some(best) = did_you_mean(&word.name, names.iter().copied()) {
                d = d.with_fix(format!("did you mean `{best}`?"), word.span, best);
            } else {
                let other = [
                    RuleKind::File,
                    RuleKind::Signal,
                    RuleKind::Net,
                    RuleKind::Sys,
                ]
                .into_iter()
                .find(|k| *k != kind && k.flags().iter().any(|(n, _)| *n == word.name));
                let list = names.join(", ");
                d = match other {
                    Some(other) => d.with_help(format!(
                        "`{}` is a {} access; {} access is one of {list}",
                        word.name,
                        family_word(other),
                        family_word(kind)
                    )),
                    None => d.with_help(format!("{} access is one of {list}", family_word(kind))),
                };
            }
            self.push(d);
        }
        ok.then_some(mask as u16)
    }

    fn check_exe_path(&mut self, s: &StrLit) -> bool {
        if !self.check_path(s) {
            return false;
        }
        if s.value.contains('*') {
            self.push(
                Diagnostic::new(
                    Code::InvalidGlob,
                    s.span,
                    "an executable cannot be a pattern",
                )
                .with_label("name one executable")
                .with_help("write one rule per executable"),
            );
            return false;
        }
        true
    }

    /// Paths are absolute and normal: no empty, `.` or `..` components; `**`
    /// only as a whole last component, `*` inside components.
    fn check_path(&mut self, s: &StrLit) -> bool {
        let path = s.value.as_str();
        let span = s.span;
        if !path.starts_with('/') {
            let mut d = Diagnostic::new(Code::InvalidPath, span, "paths must be absolute")
                .with_label("relative path");
            if !path.is_empty() && s.quoted {
                let fixed = requote(self.text, s, &format!("/{path}"));
                d = d.with_fix(format!("did you mean \"/{path}\"?"), span, fixed);
            } else {
                d = d.with_help("start the path with `/`");
            }
            self.push(d);
            return false;
        }
        if path.contains('\0') {
            self.push(
                Diagnostic::new(Code::InvalidPath, span, "paths cannot contain NUL")
                    .with_label("NUL byte in path"),
            );
            return false;
        }
        let trimmed = if path.len() > 1 {
            path.strip_suffix('/').unwrap_or(path)
        } else {
            path
        };
        if path != "/" {
            let mut components = trimmed.split('/').skip(1).peekable();
            while let Some(component) = components.next() {
                let last = components.peek().is_none();
                let problem = match component {
                    "" => Some("an empty component (`//`)"),
                    "." => Some("a `.` component"),
                    ".." => Some("a `..` component"),
                    _ => None,
                };
                if let Some(problem) = problem {
                    let normal = normalize(trimmed);
                    let mut d =
                        Diagnostic::new(Code::InvalidPath, span, format!("path has {problem}"))
                            .with_label("not a normal path");
                    d = if normal.starts_with('/') && s.quoted {
                        let fixed = requote(self.text, s, &normal);
                        d.with_fix(format!("write it as \"{normal}\""), span, fixed)
                    } else {
                        d.with_help("write the path without `.`, `..` or `//`")
                    };
                    self.push(d);
                    return false;
                }
                if component.contains("**") && (component != "**" || !last) {
                    self.push(
                        Diagnostic::new(Code::InvalidGlob, span, "`**` must be the whole last component")
                            .with_label("`**` here is not supported")
                            .with_help("`/dir/**` matches everything below /dir; `*` matches within one component"),
                    );
                    return false;
                }
            }
        }
        if path.len() > 1 && path.ends_with('/') {
            let fixed = requote(self.text, s, trimmed);
            self.push(
                Diagnostic::new(Code::InvalidPath, span, "path ends with `/`")
                    .with_label("trailing slash")
                    .with_fix(
                        format!("write \"{trimmed}\", or \"{trimmed}/**\" for everything below it"),
                        span,
                        fixed,
                    ),
            );
            return false;
        }
        true
    }
}

/// A vocabulary of names that stand for numbers (address families,
/// capabilities), and how to talk about it in diagnostics.
struct NamedNumbers<'a> {
    table: &'a [(&'a str, u16)],
    /// Linux's prefix of the names (`af_`, `cap_`), which a fix drops.
    linux_prefix: &'static str,
    code: Code,
    /// With its article: "an address family".
    noun: &'static str,
    expected: &'static str,
    plural: &'static str,
    unquote: &'static str,
    lowercase_unquoted: bool,
    /// `any` stands for every name.
    any: bool,
    help: &'static str,
}

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

impl Checker<'_> {
    /// `#![include "file.policy"]` or `#![include bundled_name]`.
    fn include(&mut self, attr: &Attr) {
        let Some(arg) = &attr.arg else {
            let names: Vec<&str> = crate::include::BUNDLED.iter().map(|b| b.name).collect();
            self.push(
                Diagnostic::new(
                    Code::AttributeArgument,
                    attr.span,
                    "`#![include]` needs a fragment",
                )
                .with_label("include what?")
                .with_help(format!(
                    "write `#![include \"base.policy\"]` for a file, or one of bpfbox's: {}",
                    names.join(", ")
                )),
            );
            return;
        };
        let fragment = match arg {
            AttrArg::Str(s) => Fragment::File(s.value.clone()),
            AttrArg::Ident(ident) => {
                if crate::include::bundled(&ident.name).is_none() {
                    let names = crate::include::BUNDLED.iter().map(|b| b.name);
                    let mut d = Diagnostic::new(
                        Code::UnknownFragment,
                        ident.span,
                        format!("bpfbox has no fragment `{}`", ident.name),
                    )
                    .with_label("not a bundled fragment");
                    if let Some(best) = did_you_mean(&ident.name, names.clone()) {
                        d = d.with_fix(format!("did you mean `{best}`?"), ident.span, best);
                    } else {
                        let names: Vec<&str> = names.collect();
                        d = d.with_help(format!(
                            "bpfbox's fragments are {}; quote a file's path: `#![include \"base.policy\"]`",
                            names.join(", ")
                        ));
                    }
                    self.push(d);
                    return;
                }
                Fragment::Bundled(ident.name.clone())
            }
        };
        let Some(index) = self.current else {
            self.push(
                Diagnostic::new(
                    Code::RuleOutsideProfile,
                    attr.span,
                    "`#![include]` before any profile line",
                )
                .with_label("its rules would belong to no profile")
                .with_help("put it after the `#![profile \"...\"]` line it adds rules to"),
            );
            return;
        };
        let line = self.line_of(attr.span.start);
        self.policy.profiles[index].includes.push(IncludeDef {
            fragment,
            span: attr.span,
            arg_span: arg.span(),
            line,
        });
    }
}

/// `#[quiet]` (deny with no event) where `#[audit]` asks for one.
fn quiet_audit(quiet: Span, audit: Span) -> Diagnostic {
    Diagnostic::new(
        Code::ConflictingActions,
        quiet,
        "`#[quiet]` and `#[audit]` on the same rule",
    )
    .with_label("denies without an event")
    .with_related(audit, "asks for an event")
    .with_help("use `#[deny]` to deny and log, or `#[quiet]` alone for known noise")
}

fn no_argument(attr: &Attr, arg: &AttrArg) -> Diagnostic {
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

/// A string literal's replacement text in its original quote style.
fn requote(text: &str, s: &StrLit, value: &str) -> String {
    let quote = text[s.span.range()]
        .chars()
        .next()
        .filter(|c| *c == '\'')
        .unwrap_or('"');
    format!("{quote}{value}{quote}")
}

fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for component in path.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

/// File, subtree (`/dir/**`) or glob, by the path's wildcards.
pub fn classify_path(path: &str) -> (RuleKind, Target) {
    if let Some(dir) = path.strip_suffix("/**") {
        if !dir.contains('*') {
            let dir = if dir.is_empty() { "/" } else { dir };
            return (RuleKind::Subtree, Target::Path(dir.to_string()));
        }
    }
    if path.contains('*') {
        (RuleKind::Glob, Target::Path(path.to_string()))
    } else {
        (RuleKind::File, Target::Path(path.to_string()))
    }
}
