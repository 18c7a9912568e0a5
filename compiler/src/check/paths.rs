//! Paths in policies: absolute and normal, `**` only as a whole last
//! component, `*` inside components; what kind of rule a path makes; and
//! the diagnostics for paths that are not so, with fixes in the literal's
//! own quote style.

use bpfbox_grammar::{Code, Diagnostic, StrLit};
use bpfbox_image::{RuleKind, Target};

/// File, subtree (`/dir/**`) or glob, by the path's wildcards.
pub fn classify_path(path: &str) -> (RuleKind, Target) {
    if let Some(dir) = path.strip_suffix("/**") {
        if !dir.contains('*') {
            let dir = if dir.is_empty() { "/" } else { dir };
            return (RuleKind::Subtree, Target::Path(dir.to_string()));
        }
    }
    if path.contains('*') {
        (RuleKind::Glob, Target::Path(path.to_string()))
    } else {
        (RuleKind::File, Target::Path(path.to_string()))
    }
}

/// What is wrong with the path of `s` (in `text`), if anything.
pub fn path_problem(text: &str, s: &StrLit) -> Option<Diagnostic> {
    let path = s.value.as_str();
    let span = s.span;
    if !path.starts_with('/') {
        return Some(relative(text, s));
    }
    if path.contains('\0') {
        return Some(
            Diagnostic::new(Code::InvalidPath, span, "paths cannot contain NUL")
                .with_label("NUL byte in path"),
        );
    }
    let trimmed = if path.len() > 1 {
        path.strip_suffix('/').unwrap_or(path)
    } else {
        path
    };
    if path != "/" {
        let mut components = trimmed.split('/').skip(1).peekable();
        while let Some(component) = components.next() {
            let last = components.peek().is_none();
            let problem = match component {
                "" => Some("an empty component (`//`)"),
                "." => Some("a `.` component"),
                ".." => Some("a `..` component"),
                _ => None,
            };
            if let Some(problem) = problem {
                return Some(not_normal(text, s, problem, trimmed));
            }
            if component.contains("**") && (component != "**" || !last) {
                return Some(
                    Diagnostic::new(
                        Code::InvalidGlob,
                        span,
                        "`**` must be the whole last component",
                    )
                    .with_label("`**` here is not supported")
                    .with_help(
                        "`/dir/**` matches everything below /dir; `*` matches within one component",
                    ),
                );
            }
        }
    }
    if path.len() > 1 && path.ends_with('/') {
        return Some(
            Diagnostic::new(Code::InvalidPath, span, "path ends with `/`")
                .with_label("trailing slash")
                .with_fix(
                    format!("write \"{trimmed}\", or \"{trimmed}/**\" for everything below it"),
                    span,
                    requote(text, s, trimmed),
                ),
        );
    }
    None
}

/// An executable's path: a path, and not a pattern.
pub fn exe_path_problem(text: &str, s: &StrLit) -> Option<Diagnostic> {
    path_problem(text, s).or_else(|| {
        s.value.contains('*').then(|| {
            Diagnostic::new(
                Code::InvalidGlob,
                s.span,
                "an executable cannot be a pattern",
            )
            .with_label("name one executable")
            .with_help("write one rule per executable")
        })
    })
}

fn relative(text: &str, s: &StrLit) -> Diagnostic {
    let path = s.value.as_str();
    let d = Diagnostic::new(Code::InvalidPath, s.span, "paths must be absolute")
        .with_label("relative path");
    if !path.is_empty() && s.quoted {
        let fixed = requote(text, s, &format!("/{path}"));
        d.with_fix(format!("did you mean \"/{path}\"?"), s.span, fixed)
    } else {
        d.with_help("start the path with `/`")
    }
}

/// A path with an empty, `.` or `..` component (`problem`).
fn not_normal(text: &str, s: &StrLit, problem: &str, trimmed: &str) -> Diagnostic {
    let normal = normalize(trimmed);
    let d = Diagnostic::new(Code::InvalidPath, s.span, format!("path has {problem}"))
        .with_label("not a normal path");
    if normal.starts_with('/') && s.quoted {
        let fixed = requote(text, s, &normal);
        d.with_fix(format!("write it as \"{normal}\""), s.span, fixed)
    } else {
        d.with_help("write the path without `.`, `..` or `//`")
    }
}

/// A string literal's replacement text in its original quote style.
fn requote(text: &str, s: &StrLit, value: &str) -> String {
    let quote = text[s.span.range()]
        .chars()
        .next()
        .filter(|c| *c == '\'')
        .unwrap_or('"');
    format!("{quote}{value}{quote}")
}

fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for component in path.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_classified_by_their_wildcards() {
        assert_eq!(
            classify_path("/var/www/**"),
            (RuleKind::Subtree, Target::Path("/var/www".into()))
        );
        assert_eq!(classify_path("/**").1, Target::Path("/".into()));
        assert_eq!(classify_path("/var/*/x").0, RuleKind::Glob);
        assert_eq!(classify_path("/a*/**").0, RuleKind::Glob);
        assert_eq!(classify_path("/etc/hosts").0, RuleKind::File);
    }

    #[test]
    fn normal_forms() {
        assert_eq!(normalize("/a//b/./c/../d"), "/a/b/d");
        assert_eq!(normalize("/.."), "/");
    }
}
