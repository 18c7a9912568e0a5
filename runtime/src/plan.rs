//! From image to map entries: every path resolved to the (device, inode) the
//! kernel sees, patterns expanded, `self` bound, binaries checked against the
//! identity the compiler recorded. Pure userspace: `--dry-run` shows it.

use std::collections::BTreeMap;

use bpfbox_abi as abi;
use bpfbox_image::{identity_of_elf, Image, Profile, RuleKind, ScopeKind, Target};
use twox_hash::XxHash3_128;

use crate::failure::{io_message, Failure};
use crate::resolve::{inode_of, Inode, Resolver};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Masks {
    pub allow: u32,
    pub taint: u32,
    pub audit: u32,
    pub deny: u32,
    /// The deny bits of loud rules: struct bpfbox_masks's.
    pub logged: u32,
    /// The policy lines events cite (struct bpfbox_masks).
    pub lines: bpfbox_image::Lines,
}

impl Masks {
    /// Adds a rule record's sets. Records are taken in the image's order;
    /// of several naming one inode (a file and a pattern), lines are chosen
    /// by the rule the compiler used within a record (Lines::merge).
    fn add(&mut self, rule: &bpfbox_image::Rule) {
        let m = rule.masks;
        let merged = bpfbox_image::Masks {
            allow: self.allow as u16,
            taint: self.taint as u16,
            audit: self.audit as u16,
            deny: self.deny as u16,
            quiet: 0,
        };
        self.lines.merge(rule.lines, m, merged);
        self.allow |= u32::from(m.allow);
        self.taint |= u32::from(m.taint);
        self.audit |= u32::from(m.audit);
        self.deny |= u32::from(m.deny);
        self.logged |= u32::from(m.loud());
    }

    pub fn to_abi(self) -> abi::bpfbox_masks {
        abi::bpfbox_masks {
            allow: self.allow,
            taint: self.taint,
            audit: self.audit,
            deny: self.deny,
            logged: self.logged,
            pad: 0,
            line: self.lines.line,
            deny_line: self.lines.deny_line,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedScope {
    /// Global scope id: the uprobe cookie, and the `scope` of map keys.
    pub id: u32,
    pub kind: ScopeKind,
    pub name: String,
    pub offset: u64,
}

#[derive(Clone, Debug)]
pub struct PlannedProfile {
    pub exe: String,
    /// The policy file it was compiled from; "" when the image does not say.
    pub source: String,
    pub exe_inode: Inode,
    /// enum bpfbox_profile_flags
    pub flags: u32,
    pub scopes: Vec<PlannedScope>,
    /// (scope, file) -> sets
    pub file: BTreeMap<(u32, Inode), Masks>,
    /// (scope, directory) -> sets for everything below it
    pub tree: BTreeMap<(u32, Inode), Masks>,
    /// (scope, kind, executable) -> sets
    pub task: BTreeMap<(u32, u32, Inode), Masks>,
    /// (scope, family) -> sets
    pub net: BTreeMap<(u32, u32), Masks>,
    /// (scope, kind, number) -> sets: capabilities (`cap`) and privileged
    /// operations (`sys`, number 0)
    pub privileged: BTreeMap<(u32, u32, u32), Masks>,
    /// Paths of the policy that name nothing on this machine.
    pub missing: Vec<String>,
    /// Of everything above: equal digests mean a reload changes nothing.
    pub digest: [u8; 32],
}

impl PlannedProfile {
    /// A profile with no rules yet.
    fn empty(exe: &str, source: &str, exe_inode: Inode, flags: u32) -> PlannedProfile {
        PlannedProfile {
            exe: exe.to_string(),
            source: source.to_string(),
            exe_inode,
            flags,
            scopes: Vec::new(),
            file: BTreeMap::new(),
            tree: BTreeMap::new(),
            task: BTreeMap::new(),
            net: BTreeMap::new(),
            privileged: BTreeMap::new(),
            missing: Vec::new(),
            digest: [0; 32],
        }
    }

    pub fn entries(&self) -> usize {
        self.file.len() + self.tree.len() + self.task.len() + self.net.len() + self.privileged.len()
    }
}

/// A scope's id: derived from what it is, so an unchanged function keeps its
/// id (and its attached probes) across reloads.
pub fn scope_id(exe: &str, scope: &bpfbox_image::Scope) -> u32 {
    // FNV-1a, 32 bits.
    let mut hash: u32 = 0x811c9dc5;
    let kind = [matches!(scope.kind, ScopeKind::Kernel) as u8];
    for part in [
        exe.as_bytes(),
        &[0],
        &kind,
        scope.name.as_bytes(),
        &[0],
        &scope.offset.to_le_bytes(),
    ] {
        for byte in part {
            hash ^= u32::from(*byte);
            hash = hash.wrapping_mul(0x01000193);
        }
    }
    // Two ids are taken: rules that hold everywhere, and an unused entry.
    match hash {
        abi::BPFBOX_ALWAYS_SCOPE => 1,
        abi::BPFBOX_NO_SCOPE => abi::BPFBOX_NO_SCOPE - 1,
        id => id,
    }
}

/// The profiles of every image, in order: one set to apply at once. An
/// executable with a profile in two images is refused (which one would
/// hold is not for the order of arguments to decide).
pub fn plan(images: &[(String, Image)]) -> Result<Vec<PlannedProfile>, Failure> {
    let mut planned: Vec<PlannedProfile> = Vec::new();
    let mut owner: BTreeMap<&str, &str> = BTreeMap::new();
    for (label, image) in images {
        for profile in &image.profiles {
            if let Some(first) = owner.insert(&profile.exe, label) {
                return Err(Failure::refused(
                    format!("{} has a profile in both {first} and {label}", profile.exe),
                    "keep each executable's profile in one image",
                ));
            }
            planned.push(plan_profile(
                profile,
                image.source.as_deref().unwrap_or(""),
            )?);
        }
    }
    let mut seen: BTreeMap<u32, &str> = BTreeMap::new();
    for profile in &planned {
        for scope in &profile.scopes {
            if let Some(other) = seen.insert(scope.id, &scope.name) {
                if other != scope.name {
                    return Err(Failure::refused(
                        format!(
                            "function scopes `{other}` and `{}` hash to the same id {:#x}",
                            scope.name, scope.id
                        ),
                        "rename one of the functions",
                    ));
                }
            }
        }
    }
    Ok(planned)
}

fn plan_profile(profile: &Profile, source: &str) -> Result<PlannedProfile, Failure> {
    let exe = profile.exe.as_str();
    let (exe_inode, exe_meta) =
        inode_of(exe).map_err(|e| {
            Failure::refused(
            format!("the profiled executable {exe} cannot be found: {}", io_message(&e)),
            "install the program before loading its profile, or remove the profile from the policy",
        )
        })?;
    check_binary(profile, exe_meta.len())?;

    let scopes: Vec<PlannedScope> = profile
        .scopes
        .iter()
        .map(|scope| PlannedScope {
            id: scope_id(exe, scope),
            kind: scope.kind,
            name: scope.name.clone(),
            offset: scope.offset,
        })
        .collect();
    let mut out = PlannedProfile {
        scopes,
        ..PlannedProfile::empty(exe, source, exe_inode, profile.flags())
    };
    let mut resolver =
        Resolver::new(
            profile
                .rules
                .iter()
                .filter_map(|rule| match (&rule.kind, &rule.target) {
                    (RuleKind::File | RuleKind::Subtree, Target::Path(path)) => Some(path.as_str()),
                    (
                        RuleKind::Proc | RuleKind::Signal | RuleKind::Ptrace,
                        Target::Exe(Some(path)),
                    ) => Some(path.as_str()),
                    _ => None,
                }),
        );
    for rule in &profile.rules {
        let scope = match rule.scope {
            0 => 0,
            n => out.scopes[usize::from(n) - 1].id,
        };
        match (&rule.kind, &rule.target) {
            (RuleKind::File, Target::Path(path)) => match resolver.inode(path) {
                Ok(inode) => out.file.entry((scope, inode)).or_default().add(rule),
                Err(_) => out.missing.push(path.clone()),
            },
            (RuleKind::Subtree, Target::Path(dir)) => match resolver.inode(dir) {
                Ok(inode) => out.tree.entry((scope, inode)).or_default().add(rule),
                Err(_) => out
                    .missing
                    .push(format!("{}/**", dir.trim_end_matches('/'))),
            },
            (RuleKind::Glob, Target::Path(pattern)) => {
                let (base, subtree) = match pattern.strip_suffix("/**") {
                    Some(base) => (base, true),
                    None => (pattern.as_str(), false),
                };
                let options = glob::MatchOptions {
                    case_sensitive: true,
                    require_literal_separator: true,
                    require_literal_leading_dot: false,
                };
                let mut matched = false;
                // A pattern the glob crate cannot parse matches nothing.
                for path in glob::glob_with(base, options)
                    .into_iter()
                    .flatten()
                    .flatten()
                {
                    let Some(path) = path.to_str() else { continue };
                    if let Ok((inode, _)) = inode_of(path) {
                        matched = true;
                        let map = if subtree {
                            &mut out.tree
                        } else {
                            &mut out.file
                        };
                        map.entry((scope, inode)).or_default().add(rule);
                    }
                }
                if !matched {
                    out.missing.push(pattern.clone());
                }
            }
            (RuleKind::Proc | RuleKind::Signal | RuleKind::Ptrace, Target::Exe(target)) => {
                let inode = match target {
                    None => Some(exe_inode),
                    Some(path) => resolver.inode(path).ok(),
                };
                match inode {
                    Some(inode) => out
                        .task
                        .entry((scope, u32::from(rule.kind.code()), inode))
                        .or_default()
                        .add(rule),
                    None => out.missing.push(target.clone().unwrap_or_default()),
                }
            }
            (RuleKind::Net, Target::Family(family)) => out
                .net
                .entry((scope, u32::from(*family)))
                .or_default()
                .add(rule),
            (RuleKind::Cap, Target::Capability(cap)) => out
                .privileged
                .entry((scope, u32::from(rule.kind.code()), u32::from(*cap)))
                .or_default()
                .add(rule),
            (RuleKind::Sys, Target::Nothing) => out
                .privileged
                .entry((scope, u32::from(rule.kind.code()), 0))
                .or_default()
                .add(rule),
            // The image reader only produces the shapes above.
            _ => {}
        }
    }
    if !out.tree.is_empty() {
        out.flags |= abi::bpfbox_profile_flags::BPFBOX_PROFILE_SUBTREES;
    }
    out.missing.sort();
    out.missing.dedup();
    out.digest = digest(&out);
    Ok(out)
}

/// Refuses a binary that is not the one the `#[func]` offsets were computed
/// for, and offsets that point outside it.
fn check_binary(profile: &Profile, size: u64) -> Result<(), Failure> {
    let exe = &profile.exe;
    let recompile =
        format!("recompile the policy against this binary: bpfboxc POLICY --binary {exe} -o IMAGE");
    if let Some(expected) = &profile.identity {
        let bytes = std::fs::read(exe).map_err(|e| {
            Failure::io(
                format!("cannot read {exe}: {}", io_message(&e)),
                "check its permissions",
            )
        })?;
        let actual = identity_of_elf(&bytes).map_err(|e| {
            Failure::refused(
                format!("{exe} is not an ELF binary ({e}), but the policy scopes its functions"),
                recompile.clone(),
            )
        })?;
        if &actual != expected {
            return Err(Failure::refused(
                format!(
                    "{exe} is not the binary the policy was compiled against: it has {}, the image expects {}",
                    actual.describe(),
                    expected.describe()
                ),
                recompile,
            ));
        }
    }
    for scope in profile.scopes.iter().filter(|s| s.kind == ScopeKind::User) {
        if scope.offset >= size {
            return Err(Failure::refused(
                format!(
                    "#[func {}] is at offset {:#x}, outside {exe} ({size} bytes)",
                    scope.name, scope.offset
                ),
                recompile,
            ));
        }
    }
    Ok(())
}

/// What a reload compares to skip a profile that would not change. Not a
/// security boundary: whoever can write the image decides what is enforced,
/// so a fast non-cryptographic hash (XXH3-128) will do. Without SHA-NI
/// (older servers, the benchmark's emulated CPU), SHA-256 of 10,000 rules
/// was a fifth of a reload's instructions. The 128 bits go in the first
/// half of the registry's 32-byte field; the rest is zero.
fn digest(p: &PlannedProfile) -> [u8; 32] {
    // Serialised first, hashed once. Variable-length fields carry their
    // length; the rule records are fixed-size and tagged by their table.
    let mut buffer: Vec<u8> = Vec::with_capacity(48 * (p.entries() + p.scopes.len() + 4));
    let mut bytes = |b: &[u8]| {
        buffer.extend_from_slice(&(b.len() as u64).to_le_bytes());
        buffer.extend_from_slice(b);
    };
    bytes(p.exe.as_bytes());
    bytes(p.source.as_bytes());
    for s in &p.scopes {
        bytes(s.name.as_bytes());
    }
    let mut words = |table: u32, key: &[u64], m: &Masks| {
        buffer.extend_from_slice(&table.to_le_bytes());
        for k in key {
            buffer.extend_from_slice(&k.to_le_bytes());
        }
        for w in [
            m.allow,
            m.taint,
            m.audit,
            m.deny,
            m.logged,
            m.lines.line,
            m.lines.deny_line,
        ] {
            buffer.extend_from_slice(&w.to_le_bytes());
        }
    };
    let none = Masks::default();
    words(
        0,
        &[p.exe_inode.dev, p.exe_inode.ino, p.flags as u64],
        &none,
    );
    for s in &p.scopes {
        let kernel = matches!(s.kind, ScopeKind::Kernel) as u64;
        words(1, &[s.id as u64, s.offset, kernel], &none);
    }
    for ((scope, inode), m) in &p.file {
        words(2, &[*scope as u64, inode.dev, inode.ino], m);
    }
    for ((scope, inode), m) in &p.tree {
        words(3, &[*scope as u64, inode.dev, inode.ino], m);
    }
    for ((scope, kind, inode), m) in &p.task {
        words(4, &[*scope as u64, *kind as u64, inode.dev, inode.ino], m);
    }
    for ((scope, family), m) in &p.net {
        words(5, &[*scope as u64, *family as u64], m);
    }
    for ((scope, kind, number), m) in &p.privileged {
        words(6, &[*scope as u64, *kind as u64, *number as u64], m);
    }
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(&XxHash3_128::oneshot(&buffer).to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> PlannedProfile {
        let mut p =
            PlannedProfile::empty("/usr/bin/web", "web.policy", Inode { dev: 1, ino: 2 }, 0);
        let masks = Masks {
            allow: 1,
            deny: 2,
            ..Masks::default()
        };
        p.file.insert((0, Inode { dev: 1, ino: 10 }), masks);
        p.net.insert((0, 2), masks);
        p
    }

    /// A reload is skipped when the digests are equal, so every field the
    /// kernel reads must change the digest.
    #[test]
    fn digest_changes_with_what_the_kernel_reads() {
        let base = digest(&profile());
        assert_eq!(base, digest(&profile()), "deterministic");
        type Change = (&'static str, fn(&mut PlannedProfile));
        let changes: Vec<Change> = vec![
            ("a file rule's loud deny bits", |p| {
                p.file.values_mut().for_each(|m| m.logged = 2);
            }),
            ("a file rule's line", |p| {
                p.file.values_mut().for_each(|m| m.lines.deny_line = 7);
            }),
            ("a file's inode", |p| {
                let m = p.file.pop_first().unwrap().1;
                p.file.insert((0, Inode { dev: 1, ino: 11 }), m);
            }),
            ("a rule moved to another table", |p| {
                let (key, m) = p.file.pop_first().unwrap();
                p.tree.insert(key, m);
            }),
            ("a net family", |p| {
                let m = p.net.pop_first().unwrap().1;
                p.net.insert((0, 10), m);
            }),
            ("the flags", |p| p.flags = 1),
            ("the executable's inode", |p| p.exe_inode.ino = 3),
        ];
        for (what, change) in changes {
            let mut p = profile();
            change(&mut p);
            assert_ne!(digest(&p), base, "{what}");
        }
    }
}
