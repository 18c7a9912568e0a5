//! Completion: what may be typed at the cursor, found from the tokens
//! before it (the tree may be broken while typing).

use bpfbox_compiler::resolve::is_identifier;
use bpfbox_compiler::vocab::{self, RuleShape};
use bpfbox_grammar::lexer::{lex, Token};
use bpfbox_grammar::Span;
use bpfbox_image::families::FAMILIES;
use bpfbox_image::{capability_names, RuleKind};

use super::at::profile_at;
use super::File;
use crate::binaries::BinaryCache;
use crate::docs::{self, Topic};

/// One proposal.
#[derive(Clone, Debug, PartialEq)]
pub struct Completion {
    pub label: String,
    pub kind: CompletionKind,
    pub detail: Option<String>,
    pub documentation: Option<String>,
    pub insert: Insert,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompletionKind {
    Rule,
    Attribute,
    /// `#![profile]`, inner attributes and fragments.
    Module,
    /// A function of the profiled binary.
    Function,
    /// An access flag, family or capability.
    Word,
    /// `self`.
    Keyword,
    Directory,
    File,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Insert {
    /// The label, where the word at the cursor starts.
    Label,
    /// This text instead of the label.
    Text(String),
    /// A snippet with `$1` tab stops.
    Snippet(String),
    /// `text` in place of the bytes at `span`.
    Replace(Span, String),
}

impl Completion {
    fn new(label: &str, kind: CompletionKind, detail: Option<&str>) -> Completion {
        Completion {
            label: label.to_string(),
            kind,
            detail: detail.map(str::to_string),
            documentation: None,
            insert: Insert::Label,
        }
    }

    fn snippet(
        label: &str,
        body: String,
        kind: CompletionKind,
        detail: Option<&str>,
    ) -> Completion {
        Completion {
            insert: Insert::Snippet(body),
            ..Completion::new(label, kind, detail)
        }
    }
}

/// What the cursor is in the middle of.
#[derive(Debug, PartialEq)]
enum Context {
    Statement,
    Attribute,
    FileAttribute,
    FuncName,
    /// After `#![include `: a fragment bpfbox ships.
    Fragment,
    /// Argument `index` of rule `name`.
    RuleArg(String, usize),
    /// Inside a string; the text typed after the quote.
    Path(String, Span),
}

fn context(text: &str, offset: usize) -> Context {
    let lexed = lex(text);
    enum Open {
        Paren(String, usize),
        Attr(bool),
        Brace,
    }
    let mut stack: Vec<Open> = Vec::new();
    let mut previous: Option<(Token, Span)> = None;
    let mut attr_name: Option<String> = None;
    for &(start, token, end) in &lexed.tokens {
        if start == end {
            continue; // closers the lexer supplied
        }
        let span = Span::new(start, end);
        if token == Token::Str
            && start < offset
            && (offset < end || !text[start..end].ends_with(['"', '\'']))
        {
            let typed = text[start + 1..offset.min(end)].to_string();
            return Context::Path(typed, Span::new(start + 1, offset));
        }
        if start >= offset || (token == Token::Ident && end >= offset) {
            break;
        }
        match token {
            Token::LParen => {
                let name = match previous {
                    Some((Token::Ident, s)) => text[s.range()].to_string(),
                    _ => String::new(),
                };
                stack.push(Open::Paren(name, 0));
            }
            Token::Comma => {
                if let Some(Open::Paren(_, index)) = stack.last_mut() {
                    *index += 1;
                }
            }
            Token::AttrOpen | Token::InnerAttrOpen => {
                stack.push(Open::Attr(token == Token::InnerAttrOpen));
                attr_name = None;
            }
            Token::Ident
                if matches!(stack.last(), Some(Open::Attr(_)))
                    && matches!(previous, Some((Token::AttrOpen | Token::InnerAttrOpen, _))) =>
            {
                attr_name = Some(text[span.range()].to_string());
            }
            Token::LBrace => stack.push(Open::Brace),
            Token::RParen | Token::RBracket | Token::RBrace => {
                stack.pop();
            }
            _ => {}
        }
        previous = Some((token, span));
    }
    match stack.last() {
        Some(Open::Paren(name, index)) => Context::RuleArg(name.clone(), *index),
        Some(Open::Attr(inner)) => match (attr_name.as_deref(), *inner) {
            (Some("func"), false) => Context::FuncName,
            (Some("include"), true) => Context::Fragment,
            (None, false) => Context::Attribute,
            (None, true) => Context::FileAttribute,
            _ => Context::Statement,
        },
        _ => Context::Statement,
    }
}

fn first_line(text: Option<&str>) -> Option<&str> {
    text.map(|t| t.split(" — ").nth(1).unwrap_or(t))
}

pub fn completions(file: File<'_>, offset: usize, binaries: &BinaryCache) -> Vec<Completion> {
    match context(file.text, offset) {
        Context::Statement => statements(),
        Context::Attribute => vocab::ATTRIBUTES
            .iter()
            .map(|(name, _)| {
                Completion::new(
                    name,
                    CompletionKind::Attribute,
                    first_line(docs::lookup(Topic::Attribute, name)),
                )
            })
            .collect(),
        Context::FileAttribute => vocab::INNER_ATTRIBUTES
            .iter()
            .map(|(name, _)| Completion::new(name, CompletionKind::Module, None))
            .collect(),
        Context::Fragment => bpfbox_compiler::include::BUNDLED
            .iter()
            .map(|b| Completion {
                documentation: Some(b.doc.to_string()),
                ..Completion::new(b.name, CompletionKind::Module, Some("bundled fragment"))
            })
            .collect(),
        Context::FuncName => functions(file, offset, binaries),
        Context::RuleArg(rule, index) => rule_words(&rule, index),
        Context::Path(typed, span) => paths(&typed, span),
    }
}

/// A new statement: rules (as snippets), attributes, a profile line.
fn statements() -> Vec<Completion> {
    let mut items: Vec<Completion> = vocab::rule_names()
        .into_iter()
        .map(|(name, shape)| {
            let body = match shape {
                RuleShape::FsSugar(_) => format!("{name}(\"$1\")"),
                RuleShape::Ptrace => format!("{name}(${{1:self}})"),
                RuleShape::Net => format!("{name}(${{1:inet}}, $2)"),
                RuleShape::Fs => format!("{name}(\"$1\", $2)"),
                RuleShape::Cap | RuleShape::Sys => format!("{name}($1)"),
                _ => format!("{name}(${{1:self}}, $2)"),
            };
            Completion::snippet(
                name,
                body,
                CompletionKind::Rule,
                Some(&shape.signature(name)),
            )
        })
        .collect();
    for (name, takes_arg) in vocab::ATTRIBUTES {
        let body = if *takes_arg {
            format!("#[{name} $1]")
        } else {
            format!("#[{name}]")
        };
        items.push(Completion::snippet(
            &format!("#[{name}]"),
            body,
            CompletionKind::Attribute,
            first_line(docs::lookup(Topic::Attribute, name)),
        ));
    }
    items.push(Completion::snippet(
        "#![profile]",
        "#![profile \"$1\"]".into(),
        CompletionKind::Module,
        Some("start a profile"),
    ));
    items
}

/// `#[func NAME]`: the functions of the profiled binary.
fn functions(file: File<'_>, offset: usize, binaries: &BinaryCache) -> Vec<Completion> {
    let Some(profile) = profile_at(file, offset) else {
        return Vec::new();
    };
    let Some(Ok(elf)) = binaries.get_exe(&profile.exe) else {
        return Vec::new();
    };
    let mut seen = std::collections::HashSet::new();
    elf.symbols
        .iter()
        .filter(|s| seen.insert(s.display_name().to_string()))
        .map(|s| {
            let name = s.display_name();
            Completion {
                // A name that is not an identifier is written as a string.
                insert: if is_identifier(name) {
                    Insert::Label
                } else {
                    Insert::Text(format!("{name:?}"))
                },
                ..Completion::new(
                    name,
                    CompletionKind::Function,
                    Some(&format!("offset {:#x}", s.offset)),
                )
            }
        })
        .collect()
}

/// The words argument `index` of `rule` takes.
fn rule_words(rule: &str, index: usize) -> Vec<Completion> {
    let Some(shape) = vocab::rule_shape(rule) else {
        return Vec::new();
    };
    // The words of a table, documented by the spec's `topic`, and `any`.
    let words = |names: &[(&str, u32)], topic: Topic, any: &str| -> Vec<Completion> {
        names
            .iter()
            .map(|(name, _)| {
                Completion::new(
                    name,
                    CompletionKind::Word,
                    first_line(docs::lookup(topic, name)),
                )
            })
            .chain([Completion::new(vocab::ANY, CompletionKind::Word, Some(any))])
            .collect()
    };
    let flags = |kind: RuleKind, topic: Topic| words(kind.flags(), topic, "every flag");
    match (shape, index) {
        (RuleShape::Net, 0) => FAMILIES
            .iter()
            .map(|(name, n)| {
                Completion::new(
                    name,
                    CompletionKind::Word,
                    Some(&format!("AF_{} ({n})", name.to_uppercase())),
                )
            })
            .collect(),
        (RuleShape::Proc | RuleShape::Signal | RuleShape::Ptrace, 0) => vec![Completion::new(
            vocab::SELF,
            CompletionKind::Keyword,
            Some("this profile's executable"),
        )],
        (RuleShape::Fs | RuleShape::Proc, 1) => flags(RuleKind::File, Topic::FsAccess),
        (RuleShape::Signal, 1) => flags(RuleKind::Signal, Topic::Signal),
        (RuleShape::Net, 1) => flags(RuleKind::Net, Topic::NetAccess),
        (RuleShape::Sys, 0) => flags(RuleKind::Sys, Topic::SysAccess),
        (RuleShape::Cap, 0) => words(capability_names(), Topic::Capability, "every capability"),
        _ => Vec::new(),
    }
}

/// Entries of the directory the typed path is in; each replaces what was
/// typed after the last slash.
fn paths(typed: &str, span: Span) -> Vec<Completion> {
    let Some(slash) = typed.rfind('/') else {
        return Vec::new();
    };
    let (dir, prefix) = (&typed[..=slash], &typed[slash + 1..]);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let replace = Span::new(span.start + slash + 1, span.end);
    let mut names: Vec<(String, bool)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let is_dir = e.file_type().ok()?.is_dir();
            name.starts_with(prefix).then_some((name, is_dir))
        })
        .collect();
    names.sort();
    names.truncate(500);
    names
        .into_iter()
        .map(|(name, is_dir)| {
            let label = if is_dir { format!("{name}/") } else { name };
            let kind = if is_dir {
                CompletionKind::Directory
            } else {
                CompletionKind::File
            };
            Completion {
                insert: Insert::Replace(replace, label.clone()),
                ..Completion::new(&label, kind, None)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfbox_image::families::family_number;

    fn ctx(text_with_cursor: &str) -> Context {
        let offset = text_with_cursor.find('‸').unwrap();
        let text = text_with_cursor.replace('‸', "");
        context(&text, offset)
    }

    #[test]
    fn completion_contexts() {
        assert_eq!(ctx("#![profile \"/x\"]\n‸"), Context::Statement);
        assert_eq!(ctx("#![profile \"/x\"]\nre‸"), Context::Statement);
        assert_eq!(ctx("#![profile \"/x\"]\n#[al‸"), Context::Attribute);
        assert_eq!(ctx("#![‸"), Context::FileAttribute);
        assert_eq!(ctx("#![profile \"/x\"]\n#[func ‸"), Context::FuncName);
        assert_eq!(ctx("#![profile \"/x\"]\n#![include ‸"), Context::Fragment);
        assert_eq!(
            ctx("#![profile \"/x\"]\nfs(\"/etc\", read|‸)"),
            Context::RuleArg("fs".into(), 1)
        );
        assert_eq!(
            ctx("#![profile \"/x\"]\nnet(‸"),
            Context::RuleArg("net".into(), 0)
        );
        assert_eq!(
            ctx("#![profile \"/x\"]\n{ signal(self, sig‸ }"),
            Context::RuleArg("signal".into(), 1)
        );
        match ctx("#![profile \"/x\"]\nread(\"/etc/pa‸\")") {
            Context::Path(typed, _) => assert_eq!(typed, "/etc/pa"),
            other => panic!("{other:?}"),
        }
        match ctx("#![profile \"/x\"]\nread(\"/et‸") {
            Context::Path(typed, _) => assert_eq!(typed, "/et"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn families_have_numbers() {
        assert!(FAMILIES.iter().all(|(n, _)| family_number(n).is_some()));
    }
}
