//! Hover: what a word, path or attribute under the cursor means, in the
//! spec's words, with what this machine has at a path.

use std::path::Path;

use bpfbox_compiler::check::classify_path;
use bpfbox_compiler::elf::Symbol;
use bpfbox_compiler::vocab::{self, RuleShape};
use bpfbox_grammar::{Attr, AttrArg, Span};
use bpfbox_image::families::family_number;
use bpfbox_image::{RuleKind, ScopeKind, Target};

use super::at::{node_at, profile_at, Node};
use super::File;
use crate::binaries::BinaryCache;
use crate::docs::{self, Topic};

/// Markdown about the text at `span`.
#[derive(Debug, PartialEq)]
pub struct HoverInfo {
    pub markdown: String,
    pub span: Span,
}

pub fn hover(file: File<'_>, offset: usize, binaries: &BinaryCache) -> Option<HoverInfo> {
    let (markdown, span) = match node_at(&file.analysis.ast, offset)? {
        Node::RuleName(rule) => {
            let name = rule.name.name.as_str();
            let mut text = docs::lookup(Topic::Rule, name)?.to_string();
            if let Some(RuleShape::FsSugar(_)) = vocab::rule_shape(name) {
                if let Some(flag) = docs::lookup(Topic::FsAccess, name) {
                    text = format!("`{name}(PATH)` is `fs(PATH, {name})`\n\n{flag}");
                }
            }
            (text, rule.name.span)
        }
        Node::Word(rule, index, word) => {
            let shape = vocab::rule_shape(&rule.name.name)?;
            let w = word.name.as_str();
            let text = if w == vocab::SELF {
                let exe = profile_at(file, offset).map_or("(no profile)", |p| p.exe.as_str());
                format!("`self`: this profile's own executable, `{exe}`")
            } else if w == vocab::ANY {
                "`any`: every access flag of the rule's kind".to_string()
            } else if shape == RuleShape::Net && index == 0 {
                let number = family_number(w)?;
                format!("address family `AF_{}` ({number})", w.to_uppercase())
            } else {
                docs::lookup(flag_topic(shape), w)?.to_string()
            };
            (text, word.span)
        }
        Node::Str(_, _, lit) => (path_markdown(&lit.value), lit.span),
        Node::AttrName(attr, inner) => {
            let name = attr.name.name.as_str();
            let text = if inner && name == "profile" {
                "`#![profile \"PATH\"]` starts a profile for the executable at PATH: every rule after it, up to the next profile line, belongs to it".to_string()
            } else if inner {
                docs::lookup(Topic::FileAttribute, name)?.to_string()
            } else {
                docs::lookup(Topic::Attribute, name)?.to_string()
            };
            (text, attr.name.span)
        }
        Node::AttrArg(attr, arg) => {
            let name = arg.value();
            let text = match attr.name.name.as_str() {
                "func" => {
                    let profile = profile_at(file, offset)?;
                    let scope = profile
                        .scopes
                        .iter()
                        .find(|s| s.kind == ScopeKind::User && s.name == name)?;
                    match (&scope.symbol, binaries.get_exe(&profile.exe)) {
                        (Some(symbol), Some(Ok(elf))) => symbol_markdown(symbol, &elf.path),
                        (_, Some(Err(e))) => format!("`{name}`: {e}"),
                        _ => format!("`{name}` in `{}`: not resolved yet", profile.exe),
                    }
                }
                "kfunc" => format!("kernel function `{name}`: checked against the running kernel when the policy is loaded"),
                "profile" => path_markdown(name),
                "include" => include_markdown(file, attr, arg),
                _ => return None,
            };
            (text, arg.span())
        }
    };
    Some(HoverInfo { markdown, span })
}

fn flag_topic(shape: RuleShape) -> Topic {
    match shape.flag_kind() {
        RuleKind::Signal => Topic::Signal,
        RuleKind::Net => Topic::NetAccess,
        RuleKind::Ptrace => Topic::Ptrace,
        RuleKind::Cap => Topic::Capability,
        RuleKind::Sys => Topic::SysAccess,
        _ => Topic::FsAccess,
    }
}

fn symbol_markdown(symbol: &Symbol, binary: &Path) -> String {
    let mut text = format!(
        "**`{}`** in `{}`\n\nfile offset `{:#x}` (uprobe), address `{:#x}`, {} bytes",
        symbol.display_name(),
        binary.display(),
        symbol.offset,
        symbol.address,
        symbol.size
    );
    if symbol.demangled.is_some() {
        text.push_str(&format!("\n\nsymbol `{}`", symbol.raw));
    }
    text
}

/// What a policy path names on this machine, read the way the compiler
/// classifies it (check::classify_path).
fn path_markdown(path: &str) -> String {
    match classify_path(path) {
        (RuleKind::Subtree, Target::Path(dir)) => match std::fs::metadata(&dir) {
            Ok(m) if m.is_dir() => {
                format!("everything below the directory `{dir}`, including files created later")
            }
            Ok(_) => format!("`{dir}` is not a directory: nothing is below it"),
            Err(_) => format!("`{dir}` does not exist on this machine"),
        },
        (RuleKind::Glob, _) => format!("pattern `{path}`: expanded when the policy is loaded"),
        _ => file_markdown(path),
    }
}

fn file_markdown(path: &str) -> String {
    match std::fs::symlink_metadata(path) {
        Err(_) => {
            format!("`{path}` does not exist on this machine: its rule would have no effect here")
        }
        Ok(m) if m.file_type().is_symlink() => {
            let target = std::fs::read_link(path)
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            format!(
                "`{path}` is a symbolic link to `{target}`: rules apply to the file it points to"
            )
        }
        Ok(m) if m.is_dir() => format!("`{path}` is a directory"),
        Ok(m) => {
            use std::os::unix::fs::PermissionsExt;
            format!(
                "`{path}` is a file, {} bytes, mode {:o}",
                m.len(),
                m.permissions().mode() & 0o7777
            )
        }
    }
}

/// What an `#![include]` adds: the fragment, and the rules it gave the
/// profile (they stand at the include line).
fn include_markdown(file: File<'_>, attr: &Attr, arg: &AttrArg) -> String {
    let name = arg.value();
    let mut text = match bpfbox_compiler::include::bundled(name) {
        Some(bundled) if matches!(arg, AttrArg::Ident(_)) => {
            format!("bpfbox's fragment `{name}`: {}", bundled.doc)
        }
        _ => format!("the rules of `{name}`"),
    };
    let rules: Vec<String> = file
        .analysis
        .policy
        .profiles
        .iter()
        .flat_map(|p| &p.rules)
        .filter(|r| r.span == attr.span)
        .map(|r| {
            let flags: Vec<&str> = r
                .kind
                .flags()
                .iter()
                .filter(|(_, bit)| u32::from(r.access) & bit != 0)
                .map(|(n, _)| *n)
                .collect();
            format!("- `{}` {}", target_text(&r.target), flags.join("|"))
        })
        .collect();
    if rules.is_empty() {
        text.push_str("\n\nNo rules (yet: a binary is read after typing stops).");
    } else {
        text.push_str(&format!("\n\n{} rules:\n{}", rules.len(), rules.join("\n")));
    }
    text
}

fn target_text(target: &Target) -> String {
    match target {
        Target::Path(p) | Target::Exe(Some(p)) => p.clone(),
        Target::Exe(None) => vocab::SELF.into(),
        Target::Family(f) => {
            bpfbox_image::families::family_name(*f).map_or(f.to_string(), str::to_string)
        }
        Target::Capability(c) => {
            bpfbox_image::capability_name(*c).map_or(c.to_string(), str::to_string)
        }
        Target::Nothing => String::new(),
    }
}
