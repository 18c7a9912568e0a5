use serde_json::{json, Value};

use crate::families::family_name;
use crate::hex;
use crate::model::*;

fn flag_names(kind: RuleKind, mask: u16) -> Value {
    Value::Array(
        kind.flags()
            .iter()
            .filter(|(_, bit)| u32::from(mask) & bit != 0)
            .map(|(name, _)| Value::from(*name))
            .collect(),
    )
}

/// The content of an image as JSON: what `bpfboxc --emit json` and
/// `bpfboxc --dump` print, of the image and its encoding.
pub fn to_json(image: &Image, encoded: &[u8]) -> Value {
    let size = encoded.len();
    // The version the image was written in, which --dump of an older image
    // shows (what this build writes otherwise).
    let version = |at: usize, default: u16| {
        encoded
            .get(at..at + 2)
            .map_or(default, |b| u16::from_le_bytes([b[0], b[1]]))
    };
    let rules = image.rule_count();
    let profiles: Vec<Value> = image
        .profiles
        .iter()
        .map(|profile| {
            let scope_name = |scope: u16| -> Value {
                match scope {
                    0 => Value::Null,
                    n => Value::from(profile.scopes[usize::from(n) - 1].name.clone()),
                }
            };
            let funcs: Vec<Value> = profile
                .scopes
                .iter()
                .map(|scope| {
                    let kind = match scope.kind {
                        ScopeKind::User => "func",
                        ScopeKind::Kernel => "kfunc",
                    };
                    let mut v = json!({ "kind": kind, "name": scope.name });
                    if scope.kind == ScopeKind::User {
                        v["offset"] = json!(scope.offset);
                        v["offset_hex"] = json!(format!("{:#x}", scope.offset));
                    }
                    v
                })
                .collect();
            let rules: Vec<Value> = profile
                .rules
                .iter()
                .map(|rule| {
                    let mut v = json!({ "kind": rule.kind.name() });
                    match &rule.target {
                        Target::Path(path) => v["path"] = json!(path),
                        Target::Exe(Some(exe)) => v["exe"] = json!(exe),
                        Target::Exe(None) => v["exe"] = json!("self"),
                        Target::Family(family) => {
                            v["family"] = json!(family_name(*family)
                                .map_or_else(|| family.to_string(), str::to_string))
                        }
                        Target::Capability(cap) => {
                            v["capability"] = json!(capability_name(*cap)
                                .map_or_else(|| cap.to_string(), str::to_string))
                        }
                        Target::Nothing => {}
                    }
                    v["scope"] = scope_name(rule.scope);
                    v["allow"] = flag_names(rule.kind, rule.masks.allow);
                    v["taint"] = flag_names(rule.kind, rule.masks.taint);
                    v["audit"] = flag_names(rule.kind, rule.masks.audit);
                    v["deny"] = flag_names(rule.kind, rule.masks.deny);
                    if rule.masks.quiet != 0 {
                        v["quiet"] = flag_names(rule.kind, rule.masks.quiet);
                    }
                    if rule.lines.line != 0 {
                        v["line"] = json!(rule.lines.line);
                    }
                    if rule.lines.deny_line != 0 {
                        v["deny_line"] = json!(rule.lines.deny_line);
                    }
                    v
                })
                .collect();
            let identity = match &profile.identity {
                None => Value::Null,
                Some(Identity::BuildId(id)) => json!({ "build_id": hex(id) }),
                Some(Identity::Sha256(hash)) => json!({ "sha256": hex(hash) }),
            };
            json!({
                "exe": profile.exe,
                "mode": if profile.complain { "complain" } else { "enforce" },
                "starts": if profile.taint_rules { "untainted" } else { "tainted" },
                "identity": identity,
                "funcs": funcs,
                "rules": rules,
            })
        })
        .collect();
    json!({
        "format": format!(
            "bpfbox image {}.{}",
            version(8, crate::format::MAJOR),
            version(10, crate::format::MINOR)
        ),
        "size": size,
        "rules": rules,
        "bytes_per_rule": if rules == 0 { 0.0 } else { (size as f64 / rules as f64 * 10.0).round() / 10.0 },
        "source": image.source,
        "profiles": profiles,
    })
}
