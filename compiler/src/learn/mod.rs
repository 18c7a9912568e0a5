//! Learning a policy from audit events (`bpfbox-learn`): what a program
//! was refused, or would have been in complain mode, written as the rules
//! that allow it.
//!
//! Files keep their own names where they will be there when the policy is
//! loaded. Where a program changes a directory's entries (creates, removes,
//! renames), its files there are volatile: they become one `dir/**` rule.
//! Volatile names elsewhere (pids, counters, hex ids, mkstemp suffixes)
//! become `*`. Neither ever widens a sensitive place (names.rs); each
//! widening is reported with what it covers on this machine. The result is
//! run through the compiler itself: it compiles with no error and no
//! warning, in the formatter's layout, and the same events give the same
//! bytes.

mod events;
mod names;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use bpfbox_image::{RuleKind, Target};

use crate::model::{Policy, RuleDef};
use crate::render::plural;
use crate::{analyze, exists_on_root, format, on_root, Code, Options};

pub use events::{read_line, Line, Object, Wanted};

/// How to learn.
#[derive(Clone, Debug)]
pub struct LearnOptions {
    /// The target's root directory: where learned paths must exist, and
    /// where widened rules are counted.
    pub root: PathBuf,
    /// Which rules go in the `#[func]` scope their events show.
    pub scope: Scoping,
}

impl Default for LearnOptions {
    fn default() -> Self {
        LearnOptions {
            root: PathBuf::from("/"),
            scope: Scoping::Secrets,
        }
    }
}

/// Which learned rules are scoped to the function of the program that
/// used them (`#[func NAME]`), where every event of the rule came from
/// inside one function that most events of the profile did not. The rest
/// are reported as suggestions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scoping {
    None,
    /// Rules naming keys and other secrets (names::is_secret).
    Secrets,
    All,
}

/// A rule to write: kind, object as written, flags, and where it came from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Learned {
    pub profile: String,
    pub scope: Option<String>,
    /// Files first, then processes, network, capabilities: the order of
    /// RuleKind::ALL.
    pub order: usize,
    /// The rule as policy text: `fs("/srv/www/**", read)`.
    pub rule: String,
    /// How many events asked for it, and who did first.
    pub events: usize,
    pub first: String,
}

/// What learning found, beside the policy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// "observed N files, the rule covers M on this machine", by rule.
    pub widened: Vec<String>,
    /// What could not be written as a rule, and why.
    pub skipped: Vec<String>,
    /// `#[func]` scopes the events suggest and that were not applied.
    pub suggested: Vec<String>,
    pub events: usize,
    pub lines_not_events: usize,
}

/// Events gathered, before they are written.
#[derive(Default)]
pub struct Learner {
    wanted: Vec<Wanted>,
    unusable: BTreeMap<String, usize>,
    events: usize,
    not_events: usize,
}

impl Learner {
    /// One line of `bpfbox-load --follow --json` output.
    pub fn line(&mut self, line: &str) {
        match read_line(line) {
            Line::Wanted(wanted) => {
                self.events += 1;
                self.wanted.push(wanted);
            }
            Line::Allowed => self.events += 1,
            Line::Unusable(why) => {
                self.events += 1;
                *self.unusable.entry(why).or_default() += 1;
            }
            Line::NotAnEvent if line.trim().is_empty() => {}
            Line::NotAnEvent => self.not_events += 1,
        }
    }

    /// The rules that allow what the events wanted, sorted by profile,
    /// scope and rule, and what learning had to say about them.
    pub fn rules(&self, options: &LearnOptions) -> (Vec<Learned>, Report) {
        let mut report = Report {
            events: self.events,
            lines_not_events: self.not_events,
            ..Report::default()
        };
        for (why, count) in &self.unusable {
            report
                .skipped
                .push(format!("{why}: {count} event{}", plural(*count)));
        }
        let mut rules = Vec::new();
        let mut profiles: BTreeMap<&str, Vec<&Wanted>> = BTreeMap::new();
        for wanted in &self.wanted {
            profiles.entry(&wanted.profile).or_default().push(wanted);
        }
        for (profile, wanted) in profiles {
            rules.extend(learn_profile(profile, &wanted, options, &mut report));
        }
        rules.sort();
        (rules, report)
    }
}

/// Accumulated access to one object under one scope.
#[derive(Default)]
struct Seen {
    access: BTreeSet<String>,
    events: usize,
    first: Option<String>,
    /// Distinct files folded into this rule.
    files: BTreeSet<String>,
    /// The functions every event came from inside, innermost first.
    functions: Option<Vec<String>>,
}

impl Seen {
    fn add(&mut self, wanted: &Wanted, access: &[String], file: Option<&str>) {
        self.access.extend(access.iter().cloned());
        self.events += 1;
        self.first.get_or_insert_with(|| wanted.process.clone());
        if let Some(file) = file {
            self.files.insert(file.to_string());
        }
        self.functions = Some(common(self.functions.take(), &wanted.functions));
    }

    fn merge(&mut self, other: Seen) {
        self.access.extend(other.access);
        self.events += other.events;
        if self.first.is_none() {
            self.first = other.first;
        }
        self.files.extend(other.files);
        if let Some(theirs) = other.functions {
            self.functions = Some(common(self.functions.take(), &theirs));
        }
    }

    /// The innermost function all these events came from inside and not
    /// all of the profile's did (`everywhere`): the scope that tells this
    /// rule's use apart.
    fn scope(&self, everywhere: &[String]) -> Option<&str> {
        self.functions
            .as_deref()?
            .iter()
            .find(|f| !everywhere.contains(f))
            .map(String::as_str)
    }
}

/// The functions in both lists, in the order of the first (None: no list
/// yet, so all of `next`).
fn common(so_far: Option<Vec<String>>, next: &[String]) -> Vec<String> {
    match so_far {
        None => next.to_vec(),
        Some(list) => list.into_iter().filter(|f| next.contains(f)).collect(),
    }
}

type Scoped<K> = BTreeMap<(Option<String>, K), Seen>;

fn learn_profile(
    profile: &str,
    wanted: &[&Wanted],
    options: &LearnOptions,
    report: &mut Report,
) -> Vec<Learned> {
    let exists = |path: &str| exists_on_root(&options.root, path);
    // Directories whose entries the program changes: their files come and go.
    let mut changing: BTreeSet<String> = BTreeSet::new();
    for w in wanted {
        if let Object::File {
            path,
            entry: Some(_),
            ..
        } = &w.object
        {
            changing.insert(path.clone());
        }
        if let Object::File {
            path,
            created: true,
            ..
        } = &w.object
        {
            changing.insert(parent(path).to_string());
        }
        // A log, pid or lock file it writes is replaced, not rewritten
        // (W0007): its directory's entries change too.
        if let Object::File { path, .. } = &w.object {
            if replaced(path, &w.access) {
                changing.insert(parent(path).to_string());
            }
        }
    }
    // The outermost changing directory that may be widened holds them all.
    let tree_of = |path: &str| -> Option<String> {
        let mut found = None;
        let mut dir = parent(path);
        loop {
            if changing.contains(dir) && names::may_widen(dir) && exists(dir) {
                found = Some(dir.to_string());
            }
            if dir == "/" {
                break;
            }
            dir = parent(dir);
        }
        found
    };

    let mut files: Scoped<String> = BTreeMap::new();
    let mut others: Scoped<String> = BTreeMap::new();
    for w in wanted {
        let scope = w.scope.clone();
        match &w.object {
            Object::File { path, created, .. } => {
                let (written, file) = match tree_of(path) {
                    Some(tree) => (format!("{tree}/**"), Some(path.as_str())),
                    None if *created || replaced(path, &w.access) => {
                        report.skipped.push(format!(
                            "{path}: created or replaced in {}, which is not widened to `**`; give the program a directory of its own, or write the rule by hand",
                            parent(path)
                        ));
                        continue;
                    }
                    None => match generalized(path) {
                        Some(pattern) => (pattern, Some(path.as_str())),
                        None => (path.clone(), None),
                    },
                };
                files
                    .entry((scope, written))
                    .or_default()
                    .add(w, &w.access, file);
            }
            Object::Task(kind, exe) => {
                let target = if exe == profile {
                    "self".to_string()
                } else {
                    quote(exe)
                };
                let rule = match kind {
                    RuleKind::Ptrace => format!("ptrace({target})"),
                    other => format!("{}({target}, {{}})", other.name()),
                };
                others
                    .entry((scope, rule))
                    .or_default()
                    .add(w, &w.access, None);
            }
            Object::Net(family) => {
                others
                    .entry((scope, format!("net({family}, {{}})")))
                    .or_default()
                    .add(w, &w.access, None);
            }
            Object::Cap(name) => {
                // One rule for every capability: cap(a|b).
                others
                    .entry((scope, "cap({})".to_string()))
                    .or_default()
                    .add(w, std::slice::from_ref(name), None);
            }
            Object::Sys => {
                others
                    .entry((scope, "sys({})".to_string()))
                    .or_default()
                    .add(w, &w.access, None);
            }
        }
    }

    // A file that is not on the target will get no rule there.
    let mut kept: Scoped<String> = BTreeMap::new();
    for ((scope, written), seen) in files {
        let checked = if written.ends_with("/**") {
            written.trim_end_matches("/**").to_string()
        } else {
            written.clone()
        };
        let present = if written.contains('*') && !written.ends_with("/**") {
            count_matches(&options.root, &written) > 0
        } else {
            exists(&checked)
        };
        if !present {
            report.skipped.push(format!(
                "{written}: not on this machine{}, so a rule would match nothing when loaded here: {} event{}",
                if options.root == Path::new("/") { String::new() } else { format!(" (under {})", options.root.display()) },
                seen.events,
                plural(seen.events)
            ));
            continue;
        }
        kept.entry((scope, written)).or_default().merge(seen);
    }

    // Functions most of the profile's events came from inside (main, an
    // event loop) tell no use apart: not scopes. Most, not all: an event's
    // list stops after a few frames, so an outer function can be missing
    // from it. Events that name none (exec, a stack not readable) tell
    // nothing here.
    let named: Vec<&Vec<String>> = wanted
        .iter()
        .map(|w| &w.functions)
        .filter(|f| !f.is_empty())
        .collect();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for functions in &named {
        for f in functions.iter().collect::<BTreeSet<_>>() {
            *counts.entry(f).or_default() += 1;
        }
    }
    let everywhere: Vec<String> = counts
        .into_iter()
        .filter(|(_, n)| 2 * n > named.len())
        .map(|(f, _)| f.to_string())
        .collect();
    let mut scoped = |scope: &Option<String>, rule: &str, secret: bool, seen: &Seen| {
        if scope.is_some() {
            return scope.clone();
        }
        let function = seen.scope(&everywhere)?;
        let apply = match options.scope {
            Scoping::All => true,
            Scoping::Secrets => secret,
            Scoping::None => false,
        };
        if apply {
            return Some(function.to_string());
        }
        report.suggested.push(format!(
            "#[func {function}] {rule}: {} event{}, all inside {function}",
            seen.events,
            plural(seen.events)
        ));
        None
    };

    // The loader and libraries of a dynamic program: one include line.
    let runtime = runtime_of(profile, options);
    let runtime_access: BTreeSet<&str> = crate::include::C_RUNTIME_ACCESS.split('|').collect();
    let mut from_runtime = Seen::default();

    let mut learned = Vec::new();
    for ((scope, written), seen) in &kept {
        if scope.is_none()
            && runtime.contains(written)
            && seen
                .access
                .iter()
                .all(|a| runtime_access.contains(a.as_str()))
        {
            from_runtime.events += seen.events;
            from_runtime.first = from_runtime.first.take().or(seen.first.clone());
            continue;
        }
        if written.contains('*') {
            let covers = if let Some(dir) = written.strip_suffix("/**") {
                count_below(&on_root(&options.root, dir))
            } else {
                count_matches(&options.root, written)
            };
            report.widened.push(format!(
                "fs({}): observed {} file{}, the rule covers {covers} on this machine",
                quote(written),
                seen.files.len(),
                plural(seen.files.len())
            ));
        }
        let access = ordered(RuleKind::File, &seen.access);
        let rule = format!("fs({}, {access})", quote(written));
        let scope = scoped(scope, &rule, names::is_secret(written), seen);
        learned.push(entry(profile, &scope, RuleKind::File, rule, seen));
    }
    if from_runtime.events > 0 {
        learned.push(Learned {
            profile: profile.to_string(),
            scope: None,
            order: 0,
            rule: C_RUNTIME_INCLUDE.to_string(),
            events: from_runtime.events,
            first: from_runtime.first.clone().unwrap_or_default(),
        });
    }
    for ((scope, template), seen) in &others {
        let Some(kind) = rule_kind_of(template) else {
            continue;
        };
        let access = match kind {
            RuleKind::Cap => seen.access.iter().cloned().collect::<Vec<_>>().join("|"),
            kind => ordered(kind, &seen.access),
        };
        let rule = template.replace("{}", &access);
        let scope = scoped(scope, &rule, false, seen);
        learned.push(entry(profile, &scope, kind, rule, seen));
    }
    learned
}

/// What a learned policy writes for a dynamic program's loader and
/// libraries.
const C_RUNTIME_INCLUDE: &str = "#![include c_runtime]";

/// The files `c_runtime` gives `exe` on the target (none when its binary
/// cannot be read there, or it is static).
fn runtime_of(exe: &str, options: &LearnOptions) -> BTreeSet<String> {
    let exists = |path: &str| exists_on_root(&options.root, path);
    crate::include::c_runtime_files(exe, &OnTarget(&options.root), &exists).unwrap_or_default()
}

/// Binaries read under the target's root.
struct OnTarget<'a>(&'a Path);

impl crate::BinarySource for OnTarget<'_> {
    fn binary(
        &self,
        path: &str,
    ) -> Option<Result<std::sync::Arc<crate::elf::ElfInfo>, crate::elf::ElfError>> {
        Some(crate::elf::ElfInfo::load(&on_root(self.0, path)).map(std::sync::Arc::new))
    }
}

/// A policy analysed as it will be on the target (`root`): its paths,
/// binaries and `c_runtime`'s libraries there, includes relative to its
/// file (`source`).
pub fn analyze_on_target(
    text: &str,
    root: &Path,
    source: Option<&Path>,
    check_paths: bool,
) -> crate::Analysis {
    let exists = |path: &str| exists_on_root(root, path);
    analyze(
        text,
        &Options {
            binaries: &OnTarget(root),
            check_paths,
            path_exists: &exists,
            source,
            ..Options::default()
        },
    )
}

/// A log, pid or lock file the program writes: one it will replace.
fn replaced(path: &str, access: &[String]) -> bool {
    access.iter().any(|a| a == "write" || a == "append") && crate::lint::is_replaced_file(path)
}

fn entry(
    profile: &str,
    scope: &Option<String>,
    kind: RuleKind,
    rule: String,
    seen: &Seen,
) -> Learned {
    Learned {
        profile: profile.to_string(),
        scope: scope.clone(),
        order: RuleKind::ALL.iter().position(|k| *k == kind).unwrap_or(0),
        rule,
        events: seen.events,
        first: seen.first.clone().unwrap_or_default(),
    }
}

fn rule_kind_of(template: &str) -> Option<RuleKind> {
    let name = template.split('(').next()?;
    RuleKind::ALL.into_iter().find(|k| k.name() == name)
}

/// Flag names in the vocabulary's order.
fn ordered(kind: RuleKind, access: &BTreeSet<String>) -> String {
    let flags: Vec<&str> = kind
        .flags()
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| access.contains(*name))
        .collect();
    flags.join("|")
}

/// `path` with its volatile components as `*`, where that may widen.
fn generalized(path: &str) -> Option<String> {
    let dir = parent(path);
    if !names::may_widen(dir) || !names::may_widen(path) {
        return None;
    }
    let mut changed = false;
    let parts: Vec<String> = path
        .split('/')
        .map(|c| match names::generalize(c) {
            Some(pattern) => {
                changed = true;
                pattern
            }
            None => c.to_string(),
        })
        .collect();
    // `*` in a directory component is not something the loader expands.
    let last_only = parts[..parts.len() - 1].iter().all(|c| !c.contains('*'));
    (changed && last_only).then(|| parts.join("/"))
}

fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// Files below a directory (not following symlinks), capped: a count to
/// show a person, not an inventory.
fn count_below(dir: &Path) -> usize {
    const CAP: usize = 100_000;
    let mut count = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            count += 1;
            if count >= CAP {
                return count;
            }
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(entry.path());
            }
        }
    }
    count
}

/// Names in the pattern's directory that its last component matches.
fn count_matches(root: &Path, pattern: &str) -> usize {
    let dir = parent(pattern);
    let name = last_component(pattern);
    std::fs::read_dir(on_root(root, dir))
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| star_match(name, &e.file_name().to_string_lossy()))
                .count()
        })
        .unwrap_or(0)
}

/// `*` matches any run of characters within one component.
fn star_match(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        if i == parts.len() - 1 {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The learned rules as a policy: profile lines, unscoped rules, then one
/// `#[func]` block per scope; formatted, and checked by the compiler with
/// the target's paths. Rules the compiler finds redundant (a file below a
/// learned `**` that already grants it) are left out.
pub fn write_policy(rules: &[Learned], options: &LearnOptions) -> String {
    let mut text = String::new();
    let mut profiles: BTreeMap<&str, BTreeMap<&Option<String>, Vec<&Learned>>> = BTreeMap::new();
    for rule in rules {
        profiles
            .entry(&rule.profile)
            .or_default()
            .entry(&rule.scope)
            .or_default()
            .push(rule);
    }
    for (profile, scopes) in profiles {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&format!("#![profile {}]\n", quote(profile)));
        for (scope, rules) in scopes {
            let indent = match scope {
                Some(name) => {
                    text.push_str(&format!("#[func {}]\n{{\n", scope_name(name)));
                    "    "
                }
                None => "",
            };
            for rule in rules {
                text.push_str(&format!("{indent}{}\n", rule.rule));
            }
            if scope.is_some() {
                text.push_str("}\n");
            }
        }
    }
    let text = without_redundant_rules(&text, options);
    format::format(&text).unwrap_or(text)
}

pub fn scope_name(name: &str) -> String {
    if crate::resolve::is_identifier(name) {
        name.to_string()
    } else {
        quote(name)
    }
}

/// `text` without the rules the compiler calls duplicate or shadowed.
fn without_redundant_rules(text: &str, options: &LearnOptions) -> String {
    let analysis = analyze_on_target(text, &options.root, None, true);
    let mut cut: Vec<(usize, usize)> = analysis
        .diagnostics
        .iter()
        .filter(|d| matches!(d.code, Code::DuplicateRule | Code::ShadowedRule))
        .map(|d| (d.span.start, d.span.end))
        .collect();
    cut.sort_unstable();
    let mut out = text.to_string();
    for (start, end) in cut.into_iter().rev() {
        let line_start = out[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = out[end..].find('\n').map_or(out.len(), |i| end + i + 1);
        out.replace_range(line_start..line_end, "");
    }
    out
}

/// The learned rules that `policy` does not already grant: the same kind of
/// rule for the same object, in force in the same scope (or always), with
/// every flag. `#[deny]` rules of the policy take their objects out of
/// learning: a denial the policy asks for is not something to allow.
pub fn not_in(rules: Vec<Learned>, policy: &Policy) -> Vec<Learned> {
    rules
        .into_iter()
        .filter(|rule| {
            let Some(profile) = policy.profiles.iter().find(|p| p.exe == rule.profile) else {
                return true;
            };
            if rule.rule == C_RUNTIME_INCLUDE {
                return !profile
                    .includes
                    .iter()
                    .any(|i| i.fragment == crate::model::Fragment::Bundled("c_runtime".into()));
            }
            let Some(parsed) = parse_rule(&rule.rule) else {
                return true;
            };
            let in_scope = |def: &RuleDef| {
                def.scopes.is_empty()
                    || rule.scope.as_ref().is_some_and(|s| {
                        def.scopes
                            .iter()
                            .any(|&i| profile.scopes.get(i).is_some_and(|d| &d.name == s))
                    })
            };
            let matching: Vec<&RuleDef> = profile
                .rules
                .iter()
                .filter(|def| in_scope(def) && covers(def, &parsed))
                .collect();
            if matching
                .iter()
                .any(|def| def.actions.deny && def.access & parsed.access != 0)
            {
                return false;
            }
            let granted = matching
                .iter()
                .filter(|def| def.actions.allow || def.actions.audit)
                .fold(0u16, |acc, def| acc | def.access);
            parsed.access & !granted != 0
        })
        .collect()
}

/// A learned rule, checked back into the model's terms.
struct ParsedRule {
    kind: RuleKind,
    target: Target,
    access: u16,
}

fn parse_rule(rule: &str) -> Option<ParsedRule> {
    let text = format!("#![profile \"/learned\"]\n{rule}\n");
    let analysis = analyze(
        &text,
        &Options {
            check_paths: false,
            ..Options::default()
        },
    );
    let def = analysis.policy.profiles.first()?.rules.first()?.clone();
    let target = match def.target {
        Target::Exe(None) => Target::Exe(Some("/learned".into())),
        other => other,
    };
    Some(ParsedRule {
        kind: def.kind,
        target,
        access: def.access,
    })
}

/// Whether `def` names (at least) the object of the learned rule.
fn covers(def: &RuleDef, learned: &ParsedRule) -> bool {
    let file_kinds = |k: RuleKind| matches!(k, RuleKind::File | RuleKind::Subtree | RuleKind::Glob);
    if !file_kinds(learned.kind) || !file_kinds(def.kind) {
        let target = match (&def.target, &learned.target) {
            (Target::Exe(None), Target::Exe(Some(l))) => l == "/learned",
            (d, l) => d == l,
        };
        return def.kind == learned.kind && target;
    }
    let (Target::Path(have), Target::Path(want)) = (&def.target, &learned.target) else {
        return false;
    };
    match (def.kind, learned.kind) {
        (RuleKind::Subtree, RuleKind::Subtree) => want == have || below(want, have),
        (RuleKind::Subtree, _) => below(want, have),
        (RuleKind::Glob, RuleKind::File) => {
            parent(want) == parent(have) && star_match(last_component(have), last_component(want))
        }
        (_, _) => def.kind == learned.kind && want == have,
    }
}

fn last_component(path: &str) -> &str {
    &path[path.rfind('/').map_or(0, |i| i + 1)..]
}

fn below(path: &str, dir: &str) -> bool {
    dir == "/" && path != "/"
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests;
