//! Go to definition: where an executable's profile is, an include's file,
//! a `#[func]`'s source line.

use std::path::{Path, PathBuf};

use bpfbox_compiler::vocab::{self, RuleShape};
use bpfbox_grammar::{AttrArg, Span};
use bpfbox_image::ScopeKind;

use super::at::{node_at, profile_at, Node};
use super::File;
use crate::binaries::BinaryCache;

#[derive(Debug, PartialEq)]
pub enum Definition {
    /// The profile lines of this executable, wherever they are: the open
    /// documents (which the caller holds) and the workspace's policy files
    /// (`workspace_profiles`).
    ProfilesOf(String),
    /// A span of this document.
    Here(Span),
    /// The beginning of a file.
    FileStart(PathBuf),
    /// A line of a source file, counted from 0.
    Line(PathBuf, u32),
}

/// What the name at `offset` refers to. `path` is where the document is,
/// when it is a file (includes are relative to it).
pub fn definition(
    file: File<'_>,
    path: Option<&Path>,
    offset: usize,
    binaries: &BinaryCache,
) -> Option<Definition> {
    match node_at(&file.analysis.ast, offset)? {
        Node::Str(rule, 0, lit)
            if matches!(
                vocab::rule_shape(&rule.name.name),
                Some(RuleShape::Proc | RuleShape::Signal | RuleShape::Ptrace)
            ) =>
        {
            Some(Definition::ProfilesOf(lit.value.clone()))
        }
        Node::Word(rule, 0, word)
            if word.name == vocab::SELF && vocab::rule_shape(&rule.name.name).is_some() =>
        {
            Some(Definition::Here(profile_at(file, offset)?.exe_span))
        }
        Node::AttrArg(attr, AttrArg::Str(lit)) if attr.name.name == "include" => {
            let target = path?.parent()?.join(&lit.value);
            target.is_file().then_some(Definition::FileStart(target))
        }
        Node::AttrArg(attr, arg) if attr.name.name == "func" => {
            let profile = profile_at(file, offset)?;
            let scope = profile
                .scopes
                .iter()
                .find(|s| s.kind == ScopeKind::User && s.name == arg.value())?;
            let symbol = scope.symbol.as_ref()?;
            let Some(Ok(elf)) = binaries.get_exe(&profile.exe) else {
                return None;
            };
            let loader = addr2line::Loader::new(&elf.path).ok()?;
            let location = loader.find_location(symbol.address).ok()??;
            let line = location.line?.saturating_sub(1);
            Some(Definition::Line(PathBuf::from(location.file?), line))
        }
        _ => None,
    }
}

/// A profile line found in a policy file that is not open.
pub struct ProfileLine {
    pub path: PathBuf,
    /// The file's text, which the span is in.
    pub text: String,
    pub span: Span,
}

/// The profile lines of `exe` in the workspace's policy files, except
/// those at `skip` (open in the editor: the caller has their current text).
pub fn workspace_profiles(exe: &str, roots: &[PathBuf], skip: &[PathBuf]) -> Vec<ProfileLine> {
    let mut out = Vec::new();
    for path in workspace_policies(roots) {
        if skip.contains(&path) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let (ast, _) = bpfbox_grammar::parse(&text);
        let (policy, _) = bpfbox_compiler::check::check(&text, &ast);
        let spans: Vec<Span> = policy
            .profiles
            .iter()
            .filter(|p| p.exe == exe)
            .map(|p| p.exe_span)
            .collect();
        for span in spans {
            out.push(ProfileLine {
                path: path.clone(),
                text: text.clone(),
                span,
            });
        }
    }
    out
}

/// Policy files of the workspace (bounded walk).
fn workspace_policies(roots: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut queue: Vec<(PathBuf, usize)> = roots.iter().map(|r| (r.clone(), 0)).collect();
    while let Some((dir, depth)) = queue.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name == "target" || name == "node_modules" {
                continue;
            }
            match entry.file_type() {
                Ok(t) if t.is_dir() && depth < 8 => queue.push((path, depth + 1)),
                Ok(t) if t.is_file() && name.ends_with(".policy") && out.len() < 2000 => {
                    out.push(path)
                }
                _ => {}
            }
        }
    }
    out
}
