//! The content of an image as JSON: what `bpfboxc --emit json` and
//! `bpfboxc --dump` print. Structs, so the keys come in the order written
//! here (serde_json's maps sort them).

use serde::Serialize;

use crate::families::family_name;
use crate::hex;
use crate::model::*;

#[derive(Serialize)]
pub struct ImageJson<'a> {
    format: String,
    size: usize,
    rules: usize,
    bytes_per_rule: f64,
    source: Option<&'a str>,
    profiles: Vec<ProfileJson<'a>>,
}

#[derive(Serialize)]
struct ProfileJson<'a> {
    exe: &'a str,
    mode: &'static str,
    starts: &'static str,
    identity: Option<IdentityJson>,
    funcs: Vec<FuncJson<'a>>,
    rules: Vec<RuleJson<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum IdentityJson {
    BuildId(String),
    Sha256(String),
}

#[derive(Serialize)]
struct FuncJson<'a> {
    kind: &'static str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset_hex: Option<String>,
}

#[derive(Serialize)]
struct RuleJson<'a> {
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exe: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    family: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    capability: Option<String>,
    scope: Option<&'a str>,
    allow: Vec<&'static str>,
    taint: Vec<&'static str>,
    audit: Vec<&'static str>,
    deny: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    quiet: Vec<&'static str>,
    #[serde(skip_serializing_if = "is_zero")]
    line: u32,
    #[serde(skip_serializing_if = "is_zero")]
    deny_line: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn flag_names(kind: RuleKind, mask: u16) -> Vec<&'static str> {
    kind.flags()
        .iter()
        .filter(|(_, bit)| u32::from(mask) & bit != 0)
        .map(|(name, _)| *name)
        .collect()
}

/// The content of an image as JSON, of the image and its encoding.
pub fn to_json<'a>(image: &'a Image, encoded: &[u8]) -> ImageJson<'a> {
    let size = encoded.len();
    // The version the image was written in, which --dump of an older image
    // shows (what this build writes otherwise).
    let version = |at: usize, default: u16| {
        encoded
            .get(at..at + 2)
            .map_or(default, |b| u16::from_le_bytes([b[0], b[1]]))
    };
    let rules = image.rule_count();
    ImageJson {
        format: format!(
            "bpfbox image {}.{}",
            version(8, crate::format::MAJOR),
            version(10, crate::format::MINOR)
        ),
        size,
        rules,
        bytes_per_rule: if rules == 0 {
            0.0
        } else {
            (size as f64 / rules as f64 * 10.0).round() / 10.0
        },
        source: image.source.as_deref(),
        profiles: image.profiles.iter().map(profile_json).collect(),
    }
}

fn profile_json(profile: &Profile) -> ProfileJson<'_> {
    let scope_name = |scope: u16| match scope {
        0 => None,
        n => Some(profile.scopes[usize::from(n) - 1].name.as_str()),
    };
    let funcs = profile
        .scopes
        .iter()
        .map(|scope| {
            let user = scope.kind == ScopeKind::User;
            FuncJson {
                kind: if user { "func" } else { "kfunc" },
                name: &scope.name,
                offset: user.then_some(scope.offset),
                offset_hex: user.then(|| format!("{:#x}", scope.offset)),
            }
        })
        .collect();
    let rules = profile
        .rules
        .iter()
        .map(|rule| {
            let mut json = RuleJson {
                kind: rule.kind.name(),
                path: None,
                exe: None,
                family: None,
                capability: None,
                scope: scope_name(rule.scope),
                allow: flag_names(rule.kind, rule.masks.allow),
                taint: flag_names(rule.kind, rule.masks.taint),
                audit: flag_names(rule.kind, rule.masks.audit),
                deny: flag_names(rule.kind, rule.masks.deny),
                quiet: flag_names(rule.kind, rule.masks.quiet),
                line: rule.lines.line,
                deny_line: rule.lines.deny_line,
            };
            match &rule.target {
                Target::Path(path) => json.path = Some(path),
                Target::Exe(Some(exe)) => json.exe = Some(exe),
                Target::Exe(None) => json.exe = Some("self"),
                Target::Family(family) => {
                    json.family = Some(
                        family_name(*family).map_or_else(|| family.to_string(), str::to_string),
                    )
                }
                Target::Capability(cap) => {
                    json.capability =
                        Some(capability_name(*cap).map_or_else(|| cap.to_string(), str::to_string))
                }
                Target::Nothing => {}
            }
            json
        })
        .collect();
    ProfileJson {
        exe: &profile.exe,
        mode: if profile.complain {
            "complain"
        } else {
            "enforce"
        },
        starts: if profile.taint_rules {
            "untainted"
        } else {
            "tainted"
        },
        identity: profile.identity.as_ref().map(|identity| match identity {
            Identity::BuildId(id) => IdentityJson::BuildId(hex(id)),
            Identity::Sha256(hash) => IdentityJson::Sha256(hex(hash)),
        }),
        funcs,
        rules,
    }
}
