//! From syntax tree to checked policy: profiles, attribute scoping, rule
//! kinds, access flags, families and paths, each misspelling with a
//! did-you-mean and a fix.

mod diagnostics;
mod paths;

use bpfbox_grammar::visit::{walk, Visitor};
use bpfbox_grammar::{Arg, Ast, Attr, AttrArg, Body, Code, Diagnostic, Ident, Span, Stmt, StrLit};
use bpfbox_image::families::FAMILIES;
use bpfbox_image::{capability_names, RuleKind, ScopeKind, Target};

use crate::model::{Actions, Fragment, IncludeDef, Policy, Profile, RuleDef, ScopeDef};
use crate::vocab::{self, RuleShape};
use diagnostics as d;
use diagnostics::NamedNumbers;
pub use paths::classify_path;

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
    /// What the attributes of the blocks being walked have set, the
    /// innermost last.
    contexts: Vec<Context>,
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
        contexts: Vec::new(),
    };
    walk(&ast.items, &mut checker);
    for profile in &checker.policy.profiles {
        // Rule records number scopes with a u16, 0 meaning "always".
        if let Some(scope) = profile.scopes.get(usize::from(u16::MAX)) {
            checker.diagnostics.push(d::too_many_scopes(scope.uses[0]));
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
            checker
                .diagnostics
                .push(d::empty_profile(profile.header_span));
        }
    }
    (checker.policy, checker.diagnostics)
}

/// The checker reads the tree in one walk: file attributes at the top
/// level switch profiles; each statement's attributes add to the context
/// of the blocks around it.
impl<'t> Visitor<'t> for Checker<'_> {
    fn inner_attribute(&mut self, attr: &'t Attr, depth: usize) {
        if depth > 0 {
            self.push(d::file_attribute_in_block(attr));
            return;
        }
        self.inner_attribute(attr);
        self.extend_profile(attr.span);
    }

    fn enter(&mut self, stmt: &'t Stmt, _depth: usize) {
        let outer = self.contexts.last().cloned().unwrap_or_default();
        let context = self.attributes(&stmt.attrs, &outer);
        match &stmt.body {
            Body::Rule(rule) => {
                let Some(index) = self.current else {
                    if !self.reported_outside {
                        self.reported_outside = true;
                        self.push(d::rule_outside_profile(rule.span));
                    }
                    // Still check the rule itself, so that every error shows.
                    self.rule(rule, &context);
                    return;
                };
                if let Some(def) = self.rule(rule, &context) {
                    self.policy.profiles[index].rules.extend(def);
                }
            }
            Body::Block(_) => self.contexts.push(context),
            Body::Nothing | Body::Error(_) => {}
        }
    }

    fn leave(&mut self, stmt: &'t Stmt, depth: usize) {
        if let Body::Block(_) = stmt.body {
            self.contexts.pop();
        }
        if depth == 0 {
            self.extend_profile(stmt.span);
        }
    }
}

impl Checker<'_> {
    /// The profile being read runs to the end of its last item.
    fn extend_profile(&mut self, item: Span) {
        if let Some(profile) = self.current.map(|i| &mut self.policy.profiles[i]) {
            profile.span = profile.span.cover(item);
        }
    }

    fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn inner_attribute(&mut self, attr: &Attr) {
        match attr.name.name.as_str() {
            "profile" => {
                let Some(arg) = &attr.arg else {
                    self.push(d::profile_without_path(attr));
                    self.current = None;
                    return;
                };
                let exe = match arg {
                    AttrArg::Str(s) => s.value.clone(),
                    AttrArg::Ident(ident) => {
                        self.push(d::profile_path_unquoted(ident));
                        ident.name.clone()
                    }
                };
                if let AttrArg::Str(s) = arg {
                    self.check_exe_path(s);
                }
                if let Some(first) = self.policy.profiles.iter().find(|p| p.exe == exe) {
                    let first_span = first.header_span;
                    self.push(d::duplicate_profile(&exe, arg.span(), first_span));
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
                    self.push(d::no_argument(attr, arg));
                }
                match self.current {
                    Some(index) => self.policy.profiles[index].complain = name == "complain",
                    None => self.push(d::mode_before_profile(name, attr.span)),
                }
            }
            _ => self.push(d::unknown_inner_attribute(attr)),
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
                            self.push(d::conflicting_verdicts(
                                (previous_name, span),
                                (name, attr.span),
                            ));
                        }
                    }
                    verdict_here = Some((verdict, attr.span, name));
                    context.verdict = Some(verdict);
                    context.verdict_at = Some(attr.span);
                    if let Some(arg) = &attr.arg {
                        self.push(d::no_argument(attr, arg));
                    }
                }
                "audit" | "taint" => {
                    if name == "audit" {
                        context.audit_at = Some(attr.span);
                    } else {
                        context.taint = true;
                    }
                    if let Some(arg) = &attr.arg {
                        self.push(d::no_argument(attr, arg));
                    }
                }
                "func" | "kfunc" => {
                    let Some(arg) = &attr.arg else {
                        self.push(d::scope_without_function(name, attr.span));
                        continue;
                    };
                    let kind = if name == "func" {
                        ScopeKind::User
                    } else {
                        ScopeKind::Kernel
                    };
                    let function = arg.value().to_string();
                    if function.is_empty() {
                        self.push(d::empty_function_name(arg.span()));
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
                "profile" => self.push(d::profile_as_rule_attribute(attr.span)),
                _ => self.push(d::unknown_attribute(&attr.name)),
            }
        }
        // Once the whole list is read (an inner `#[deny]` may replace an
        // outer `#[quiet]`), where this list gave one of the two.
        if let (Some(Verdict::Quiet), Some(quiet), Some(audit)) =
            (context.verdict, context.verdict_at, context.audit_at)
        {
            let given_here = |span: Span| attrs.iter().any(|a| a.span == span);
            if given_here(quiet) || given_here(audit) {
                self.push(d::quiet_audit(quiet, audit));
            }
        }
        context
    }

    /// Checks one rule; returns what it means (several definitions when it
    /// names several families), or `None` when it is wrong.
    fn rule(&mut self, rule: &bpfbox_grammar::Rule, context: &Context) -> Option<Vec<RuleDef>> {
        let name = rule.name.name.as_str();
        let Some(shape) = vocab::rule_shape(name) else {
            self.push(d::unknown_rule(&rule.name));
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
            self.push(d::argument_count(
                name,
                shape,
                wanted,
                rule.args.len(),
                args_span,
            ));
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
                self.push(d::path_expected(arg.span(), &words[0].name));
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
                self.push(d::executable_expected(arg.span(), &words[0]));
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
                self.push(d::names_quoted(names, s));
                return None;
            }
        };
        let mut out = Vec::new();
        let mut ok = true;
        for word in words {
            if names.any && word.name == vocab::ANY {
                out.extend(names.table.iter().map(|(_, v)| (*v, word.span)));
                continue;
            }
            if let Some(number) = names.number(&word.name) {
                out.push((number, word.span));
                continue;
            }
            ok = false;
            self.push(d::unknown_name(names, word));
        }
        ok.then_some(out)
    }

    /// `a|b|c` as a bitmask of `kind`'s access flags.
    fn flags(&mut self, arg: &Arg, kind: RuleKind, rule_name: &str) -> Option<u16> {
        let words: &[Ident] = match arg {
            Arg::Words(words) => words,
            Arg::Str(s) => {
                self.push(d::flags_quoted(s));
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
                        self.push(d::socket_flag_in_proc(word));
                        continue;
                    }
                }
            }
            if let Some((_, bit)) = flags.iter().find(|(n, _)| *n == word.name) {
                mask |= bit;
                continue;
            }
            ok = false;
            self.push(d::unknown_flag(kind, rule_name, word));
        }
        ok.then_some(mask as u16)
    }

    /// Whether `s` is an executable's path; says why not.
    fn check_exe_path(&mut self, s: &StrLit) -> bool {
        let problem = paths::exe_path_problem(self.text, s);
        let ok = problem.is_none();
        self.diagnostics.extend(problem);
        ok
    }

    /// Whether `s` is a policy path; says why not.
    fn check_path(&mut self, s: &StrLit) -> bool {
        let problem = paths::path_problem(self.text, s);
        let ok = problem.is_none();
        self.diagnostics.extend(problem);
        ok
    }
}

impl Checker<'_> {
    /// `#![include "file.policy"]` or `#![include bundled_name]`.
    fn include(&mut self, attr: &Attr) {
        let Some(arg) = &attr.arg else {
            self.push(d::include_without_fragment(attr.span));
            return;
        };
        let fragment = match arg {
            AttrArg::Str(s) => Fragment::File(s.value.clone()),
            AttrArg::Ident(ident) => {
                if crate::include::bundled(&ident.name).is_none() {
                    self.push(d::unknown_fragment(ident));
                    return;
                }
                Fragment::Bundled(ident.name.clone())
            }
        };
        let Some(index) = self.current else {
            self.push(d::include_before_profile(attr.span));
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
