//! Which rule decided an event, found by the reader of the events.
//!
//! The kernel's decision stays one set of lookups with no bookkeeping for
//! events; the map values it reads also hold the policy lines of their rules
//! (struct bpfbox_masks). For an event, `--follow` repeats the lookups that
//! concern it (the object, in the profile's rule version, always and in the
//! event's scope; for a file, the `**` rules of its directories too) and
//! takes the line of the set that decided: a #[deny] denial's deny rule, a
//! taint's or audit's rule. A denial of what no rule allows has none.

use std::os::unix::fs::MetadataExt;

use bpfbox_abi as abi;
use bpfbox_image::RuleKind;

use crate::kernel::{inode_rule_key, lookup, number_rule_key, Maps};
use crate::resolve::kernel_dev;

/// The map values an event's decision read, nearest first.
pub trait RuleSource {
    fn values(&mut self, e: &abi::bpfbox_event, path: Option<&str>) -> Vec<abi::bpfbox_masks>;
}

/// The policy line of the rule that decided `e`, if a rule did.
pub fn decided_line(
    e: &abi::bpfbox_event,
    path: Option<&str>,
    source: &mut dyn RuleSource,
) -> Option<u32> {
    use abi::bpfbox_decision::*;
    let set = |m: &abi::bpfbox_masks| match e.decision {
        BPFBOX_DECISION_DENY | BPFBOX_DECISION_COMPLAIN => {
            (m.deny & e.access != 0).then_some(m.deny_line)
        }
        BPFBOX_DECISION_TAINT => (m.taint & e.access != 0).then_some(m.line),
        BPFBOX_DECISION_AUDIT => (m.audit & e.access != 0).then_some(m.line),
        _ => None,
    };
    source
        .values(e, path)
        .iter()
        .find_map(set)
        .filter(|line| *line != 0)
}

/// A net(unix, ...) rule's sets as the fs `connect` of a unix peer's file:
/// the kernel's as_connect.
fn unix_family_as_connect(m: abi::bpfbox_masks) -> abi::bpfbox_masks {
    use abi::bpfbox_fs_access::BPFBOX_FS_CONNECT;
    use abi::bpfbox_net_access::BPFBOX_NET_CONNECT;
    let bit = |set: u32| {
        if set & BPFBOX_NET_CONNECT != 0 {
            BPFBOX_FS_CONNECT
        } else {
            0
        }
    };
    abi::bpfbox_masks {
        allow: bit(m.allow),
        taint: bit(m.taint),
        audit: bit(m.audit),
        deny: bit(m.deny),
        logged: bit(m.logged),
        ..m
    }
}

/// The pinned rules map.
pub struct PinnedRules<'a> {
    pub maps: &'a Maps,
}

impl RuleSource for PinnedRules<'_> {
    fn values(&mut self, e: &abi::bpfbox_event, path: Option<&str>) -> Vec<abi::bpfbox_masks> {
        let scopes: Vec<u32> = if e.scope == 0 {
            vec![0]
        } else {
            vec![e.scope, 0]
        };
        let mut out = Vec::new();
        let kind = RuleKind::from_code(e.kind as u8);
        for &scope in &scopes {
            use abi::bpfbox_rule_kind::*;
            let rules = &self.maps.rules;
            let (version, k) = (e.version, e.kind);
            let found: Vec<Option<abi::bpfbox_masks>> = match kind {
                Some(RuleKind::File) => {
                    let own = inode_rule_key(version, scope, BPFBOX_RULE_FILE, e.dev, e.ino);
                    let mut found = vec![lookup(rules, &own)];
                    let above = path.map(|p| ancestors(p, e.dev)).unwrap_or_default();
                    for (dev, ino) in above {
                        let key = inode_rule_key(version, scope, BPFBOX_RULE_SUBTREE, dev, ino);
                        found.push(lookup(rules, &key));
                    }
                    // A unix peer by path is granted by its file or by
                    // net(unix, connect), as the kernel decided it.
                    use abi::bpfbox_op::*;
                    if matches!(e.op, BPFBOX_OP_UNIX_CONNECT | BPFBOX_OP_UNIX_SEND) {
                        let unix =
                            number_rule_key(version, scope, BPFBOX_RULE_NET, libc::AF_UNIX as u32);
                        found.push(lookup(rules, &unix).map(unix_family_as_connect));
                    }
                    found
                }
                Some(RuleKind::Signal | RuleKind::Ptrace | RuleKind::Proc) => {
                    vec![lookup(
                        rules,
                        &inode_rule_key(version, scope, k, e.dev, e.ino),
                    )]
                }
                Some(RuleKind::Net) => {
                    vec![lookup(
                        rules,
                        &number_rule_key(version, scope, BPFBOX_RULE_NET, e.family),
                    )]
                }
                Some(RuleKind::Cap) => {
                    vec![lookup(rules, &number_rule_key(version, scope, k, e.number))]
                }
                Some(RuleKind::Sys) => vec![lookup(rules, &number_rule_key(version, scope, k, 0))],
                _ => Vec::new(),
            };
            out.extend(found.into_iter().flatten());
        }
        out
    }
}

/// The directories above `path` on its file system (device `dev`),
/// nearest first, as (kernel dev, inode): where the kernel looked for `**`
/// rules, which stops at the file system's root.
fn ancestors(path: &str, dev: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut dir = path;
    while let Some((parent, _)) = dir.rsplit_once('/') {
        let parent = if parent.is_empty() { "/" } else { parent };
        match std::fs::metadata(parent) {
            Ok(meta) if kernel_dev(meta.dev()) == dev => out.push((dev, meta.ino())),
            _ => break,
        }
        if parent == "/" || out.len() >= abi::bpfbox_limits::BPFBOX_MAX_TREE_DEPTH as usize {
            break;
        }
        dir = parent;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Values(Vec<abi::bpfbox_masks>);

    impl RuleSource for Values {
        fn values(&mut self, _: &abi::bpfbox_event, _: Option<&str>) -> Vec<abi::bpfbox_masks> {
            self.0.clone()
        }
    }

    fn masks(allow: u32, deny: u32, audit: u32, line: u32, deny_line: u32) -> abi::bpfbox_masks {
        abi::bpfbox_masks {
            allow,
            taint: 0,
            audit,
            deny,
            logged: deny,
            pad: 0,
            line,
            deny_line,
        }
    }

    #[test]
    fn the_set_that_decided_gives_the_line() {
        use abi::bpfbox_decision::*;
        let mut values = Values(vec![
            masks(1, 0, 0, 3, 0),
            masks(0, 1, 0, 9, 9),
            masks(1, 0, 1, 5, 0),
        ]);
        let event = |decision| abi::bpfbox_event {
            decision,
            access: 1,
            ..Default::default()
        };
        assert_eq!(
            decided_line(&event(BPFBOX_DECISION_DENY), None, &mut values),
            Some(9)
        );
        assert_eq!(
            decided_line(&event(BPFBOX_DECISION_AUDIT), None, &mut values),
            Some(5)
        );
        let mut none = Values(vec![masks(2, 0, 0, 3, 0)]);
        assert_eq!(
            decided_line(&event(BPFBOX_DECISION_DENY), None, &mut none),
            None
        );
    }

    #[test]
    fn ancestors_are_nearest_first_up_to_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        let meta = |p: &std::path::Path| std::fs::metadata(p).unwrap();
        let dev = kernel_dev(meta(&sub).dev());
        let file = sub.join("new");
        let found = ancestors(file.to_str().unwrap(), dev);
        assert_eq!(found[0], (dev, meta(&sub).ino()));
        assert_eq!(found[1], (dev, meta(&dir.path().join("a")).ino()));
        assert!(found.iter().all(|(d, _)| *d == dev));
        // Another file system's device: the walk stops at once.
        assert!(ancestors(file.to_str().unwrap(), dev + 1).is_empty());
    }
}
