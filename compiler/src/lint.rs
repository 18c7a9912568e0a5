//! Warnings for what is legal but suspicious.

// Fx: the keys are the policy's own paths, so a DoS-resistant hash buys
// nothing, and SipHash was a tenth of an editor's re-analysis.
use std::borrow::Cow;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use bpfbox_grammar::{Code, Diagnostic};
use bpfbox_image::{RuleKind, Target};

use crate::model::{Policy, RuleDef};

pub fn lint(policy: &Policy, diagnostics: &mut Vec<Diagnostic>) {
    for profile in &policy.profiles {
        duplicates_and_shadows(&profile.rules, diagnostics);
        deny_cancels_allow(&profile.rules, diagnostics);
        replaced_files(&profile.rules, diagnostics);
    }
}

/// A rule's scopes in order: borrowed when they already are (one scope,
/// or none, as almost always).
fn sorted_scopes(rule: &RuleDef) -> Cow<'_, [usize]> {
    if rule.scopes.is_sorted() {
        return Cow::Borrowed(&rule.scopes);
    }
    let mut scopes = rule.scopes.clone();
    scopes.sort_unstable();
    Cow::Owned(scopes)
}

fn duplicates_and_shadows(rules: &[RuleDef], diagnostics: &mut Vec<Diagnostic>) {
    // Rules that give the same thing: same object, actions and scopes.
    type Key<'a> = (RuleKind, &'a Target, crate::model::Actions, &'a [usize]);
    let scopes: Vec<Cow<[usize]>> = rules.iter().map(sorted_scopes).collect();
    let mut seen: HashMap<Key, &RuleDef> =
        HashMap::with_capacity_and_hasher(rules.len(), Default::default());
    // `**` rules by directory: an ancestor lookup hashes only the path.
    let mut subtrees: HashMap<&str, Vec<(&RuleDef, &[usize])>> = HashMap::default();
    for (rule, scopes) in rules.iter().zip(&scopes) {
        if rule.kind == RuleKind::Subtree {
            if let Target::Path(dir) = &rule.target {
                subtrees
                    .entry(dir.as_str())
                    .or_default()
                    .push((rule, scopes));
            }
        }
    }
    for (rule, scopes) in rules.iter().zip(&scopes) {
        let scopes = &scopes[..];
        let key = (rule.kind, &rule.target, rule.actions, scopes);
        if let Some(first) = seen.get(&key) {
            if rule.access & !first.access == 0 {
                diagnostics.push(
                    Diagnostic::new(Code::DuplicateRule, rule.span, "duplicate rule")
                        .with_label("grants nothing new")
                        .with_related(first.span, "the same is already granted here")
                        .with_fix("remove the duplicate", rule.span, ""),
                );
                continue;
            }
        } else {
            seen.insert(key, rule);
        }
        // A path below a `**` rule with the same actions and scopes.
        let Target::Path(path) = &rule.target else {
            continue;
        };
        if !matches!(
            rule.kind,
            RuleKind::File | RuleKind::Glob | RuleKind::Subtree
        ) {
            continue;
        }
        if subtrees.is_empty() {
            continue;
        }
        let mut ancestor = path.as_str();
        while let Some((parent, _)) = ancestor.rsplit_once('/') {
            let parent = if parent.is_empty() { "/" } else { parent };
            if parent == ancestor {
                break; // `/**` covers what is below `/`, not `/` itself
            }
            let same = |entry: &&(&RuleDef, &[usize])| {
                entry.0.actions == rule.actions && entry.1 == scopes
            };
            if let Some((tree, _)) = subtrees
                .get(parent)
                .and_then(|trees| trees.iter().find(same))
            {
                if !std::ptr::eq(*tree, rule) && rule.access & !tree.access == 0 {
                    diagnostics.push(
                        Diagnostic::new(
                            Code::ShadowedRule,
                            rule.span,
                            "rule is shadowed by a `**` rule",
                        )
                        .with_label("already granted")
                        .with_related(
                            tree.span,
                            format!("`{}/**` grants this", parent.trim_end_matches('/')),
                        ),
                    );
                    break;
                }
            }
            if parent == "/" {
                break;
            }
            ancestor = parent;
        }
    }
}

fn deny_cancels_allow(rules: &[RuleDef], diagnostics: &mut Vec<Diagnostic>) {
    // Only the objects some rule denies: a policy has few `#[deny]`s and
    // many allows, which need not all be gathered.
    let denied: HashSet<(RuleKind, &Target)> = rules
        .iter()
        .filter(|r| r.actions.deny)
        .map(|r| (r.kind, &r.target))
        .collect();
    if denied.is_empty() {
        return;
    }
    let mut allows: HashMap<(RuleKind, &Target), Vec<&RuleDef>> = HashMap::default();
    for rule in rules
        .iter()
        .filter(|r| r.actions.allow && denied.contains(&(r.kind, &r.target)))
    {
        allows
            .entry((rule.kind, &rule.target))
            .or_default()
            .push(rule);
    }
    for deny in rules.iter().filter(|r| r.actions.deny) {
        let candidates = allows
            .get(&(deny.kind, &deny.target))
            .map_or(&[][..], Vec::as_slice);
        let cancelled = candidates.iter().copied().find(|allow| {
            allow.access & deny.access != 0
                && (deny.scopes.is_empty() || sorted_scopes(allow) == sorted_scopes(deny))
        });
        if let Some(allow) = cancelled {
            diagnostics.push(
                Diagnostic::new(Code::DenyCancelsAllow, deny.span, "`#[deny]` cancels an `#[allow]`")
                    .with_label("deny wins over allow")
                    .with_related(allow.span, "so this access is never allowed")
                    .with_help("remove one of the two rules, or narrow the access flags so they do not overlap"),
            );
        }
    }
}

/// Whether paths exist, asking `exists` at most once per directory: a
/// policy compiled away from its target names thousands of files in a few
/// directories that are not there, and a file in a missing directory is
/// missing without a system call.
struct Existence<'a> {
    exists: &'a dyn Fn(&str) -> bool,
    absent_dirs: HashSet<&'a str>,
    present_dirs: HashSet<&'a str>,
}

impl<'a> Existence<'a> {
    fn new(exists: &'a dyn Fn(&str) -> bool) -> Existence<'a> {
        Existence {
            exists,
            absent_dirs: HashSet::default(),
            present_dirs: HashSet::default(),
        }
    }

    /// The directories above `path`, nearest first, without the root.
    fn parents(path: &str) -> impl Iterator<Item = &str> {
        let mut rest = path.trim_end_matches('/');
        std::iter::from_fn(move || {
            let slash = rest.rfind('/').filter(|&at| at > 0)?;
            rest = &rest[..slash];
            Some(rest)
        })
    }

    /// The directories above an existing path exist.
    fn remember_present(&mut self, path: &'a str) {
        for parent in Self::parents(path) {
            if !self.present_dirs.insert(parent) {
                break;
            }
        }
    }

    fn exists(&mut self, path: &'a str) -> bool {
        for parent in Self::parents(path) {
            if self.absent_dirs.contains(parent) {
                return false;
            }
            if self.present_dirs.contains(parent) {
                break;
            }
        }
        if (self.exists)(path) {
            self.remember_present(path);
            return true;
        }
        // Learn how far up it is missing, once per directory.
        for parent in Self::parents(path) {
            if self.present_dirs.contains(parent) {
                break;
            }
            if (self.exists)(parent) {
                self.present_dirs.insert(parent);
                self.remember_present(parent);
                break;
            }
            self.absent_dirs.insert(parent);
        }
        false
    }
}

/// W0004 for paths that `exists` says are not there.
pub fn missing_paths<'a>(
    policy: &'a Policy,
    exists: &'a dyn Fn(&str) -> bool,
    root: Option<&std::path::Path>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut existence = Existence::new(exists);
    let place = match root {
        Some(root) if root != std::path::Path::new("/") => format!("under {}", root.display()),
        _ => "on this machine".to_string(),
    };
    for rule in policy.profiles.iter().flat_map(|p| &p.rules) {
        let path = match (&rule.kind, &rule.target) {
            (RuleKind::File | RuleKind::Subtree, Target::Path(path)) => path.as_str(),
            // A pattern: check the part before its first wildcard component.
            (RuleKind::Glob, Target::Path(path)) => {
                let cut = path.find('*').unwrap_or(path.len());
                match path[..cut].rfind('/') {
                    Some(0) => "/",
                    Some(slash) => &path[..slash],
                    None => continue,
                }
            }
            (RuleKind::Proc | RuleKind::Signal | RuleKind::Ptrace, Target::Exe(Some(exe))) => {
                exe.as_str()
            }
            _ => continue,
        };
        if !existence.exists(path) {
            diagnostics.push(
                Diagnostic::new(Code::MissingPath, rule.target_span, format!("{path} does not exist {place}"))
                    .with_label("no such file")
                    .with_help("the loader resolves paths where the policy is loaded; a file missing there gets no rule"),
            );
        }
    }
}

/// Names of files that programs replace rather than rewrite: rotated logs,
/// pid files written anew at each start, lock files.
const REPLACED_SUFFIXES: &[&str] = &[".log", ".pid", ".lock"];

/// Whether a file of this name is one that programs replace (W0007).
pub fn is_replaced_file(name: &str) -> bool {
    REPLACED_SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// W0007: a rule names a file by its inode (spec.md, "Paths and patterns");
/// a log rotated away or a pid file written anew is another inode, and the
/// program is refused after the next rotation or restart. The fix is the
/// directory's `**`, which covers the file whatever its inode.
fn replaced_files(rules: &[RuleDef], diagnostics: &mut Vec<Diagnostic>) {
    let writing: u32 = RuleKind::File
        .flags()
        .iter()
        .filter(|(name, _)| matches!(*name, "write" | "append"))
        .fold(0, |acc, (_, bit)| acc | bit);
    for rule in rules {
        let (RuleKind::File, Target::Path(path)) = (rule.kind, &rule.target) else {
            continue;
        };
        let writes = u32::from(rule.access) & writing != 0;
        let Some((dir, name)) = path.rsplit_once('/') else {
            continue;
        };
        // A #[deny] on today's file is weak too, but not a refusal to come.
        if !writes || rule.actions.deny || dir.is_empty() || !is_replaced_file(name) {
            continue;
        }
        let diagnostic = Diagnostic::new(
            Code::ReplacedFile,
            rule.target_span,
            format!("`{path}` names today's file, not the one that replaces it"),
        )
        .with_label("a rotated log or a new pid file is another inode, with no rule");
        // `/run/**` or `/tmp/**` would give away every other program's
        // files there: for a top-level directory, no fix, a better place.
        let top_level = !dir[1..].contains('/');
        diagnostics.push(if top_level {
            diagnostic.with_help(format!(
                "rules name files by inode; give the program a directory of its own (e.g. `{dir}/<program>/`) and cover it with `**`"
            ))
        } else {
            diagnostic
                .with_help(format!(
                    "rules name files by inode; `{dir}/**` covers the file whatever replaces it"
                ))
                .with_fix(
                    format!("cover `{dir}/**`"),
                    rule.target_span,
                    format!("\"{dir}/**\""),
                )
        });
    }
}

#[cfg(test)]
mod tests {
    use super::Existence;
    use std::cell::Cell;

    #[test]
    fn a_directory_is_asked_about_once() {
        let asked = Cell::new(0);
        let exists = |path: &str| {
            asked.set(asked.get() + 1);
            matches!(path, "/srv" | "/srv/www" | "/srv/www/index.html")
        };
        let mut existence = Existence::new(&exists);
        let files: Vec<String> = (0..100)
            .map(|i| format!("/srv/gone/d{}/f{i}", i % 10))
            .collect();
        assert!(files.iter().all(|f| !existence.exists(f)));
        // the first file, its two missing directories and /srv
        assert_eq!(asked.get(), 4);
        assert!(existence.exists("/srv/www/index.html"));
        assert!(!existence.exists("/srv/www/missing.html"));
        assert!(!existence.exists("/srv/www/sub/missing.html"));
        assert!(!existence.exists("/srv/www/sub/other.html"));
        // each file once, and /srv/www/sub once
        assert_eq!(asked.get(), 4 + 4);
    }
}
