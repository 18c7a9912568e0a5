//! Checked policy to image: one record per (scope, object), with the access
//! sets of all rules about it merged into bitmasks.

use std::collections::BTreeMap;
use std::sync::Arc;

use bpfbox_image::{Image, Lines, Masks, Profile, Rule, RuleKind, Scope, ScopeKind, Target};

use crate::elf::ElfInfo;
use crate::model::Policy;

/// Builds the image. Call only when checking found no errors.
pub fn lower(policy: &Policy, binaries: &[Option<Arc<ElfInfo>>]) -> Image {
    let mut profiles: Vec<Profile> = policy
        .profiles
        .iter()
        .enumerate()
        .map(|(index, profile)| {
            let scopes: Vec<Scope> = profile
                .scopes
                .iter()
                .map(|scope| Scope {
                    kind: scope.kind,
                    name: scope.name.clone(),
                    offset: match scope.kind {
                        ScopeKind::User => scope.symbol.as_ref().map_or(0, |s| s.offset),
                        ScopeKind::Kernel => 0,
                    },
                })
                .collect();
            // Merge per (scope, kind, target); BTreeMap keeps the output
            // sorted, hence deterministic.
            let mut merged: BTreeMap<(u16, RuleKind, Target), (Masks, Lines)> = BTreeMap::new();
            for rule in &profile.rules {
                let access = rule.access;
                let masks = Masks {
                    allow: if rule.actions.allow { access } else { 0 },
                    taint: if rule.actions.taint { access } else { 0 },
                    audit: if rule.actions.audit { access } else { 0 },
                    deny: if rule.actions.deny { access } else { 0 },
                    quiet: if rule.actions.quiet { access } else { 0 },
                };
                let scope_numbers: Vec<u16> = if rule.scopes.is_empty() {
                    vec![0]
                } else {
                    rule.scopes.iter().map(|&i| i as u16 + 1).collect()
                };
                for scope in scope_numbers {
                    let (merged_masks, lines) = merged
                        .entry((scope, rule.kind, rule.target.clone()))
                        .or_default();
                    lines.merge(Lines::of_rule(rule.line, masks), masks, *merged_masks);
                    *merged_masks = merged_masks.union(masks);
                }
            }
            let rules: Vec<Rule> = merged
                .into_iter()
                .map(|((scope, kind, target), (masks, lines))| Rule {
                    scope,
                    kind,
                    target,
                    masks,
                    lines,
                })
                .collect();
            Profile {
                exe: profile.exe.clone(),
                complain: profile.complain,
                taint_rules: rules.iter().any(|r| r.masks.taint != 0),
                identity: binaries
                    .get(index)
                    .and_then(|b| b.as_ref())
                    .map(|elf| elf.identity.clone()),
                scopes,
                rules,
            }
        })
        .collect();
    profiles.sort_by(|a, b| a.exe.cmp(&b.exe));
    Image {
        profiles,
        source: None,
    }
}
