//! Semantic highlighting: what each piece of the text is.

use bpfbox_compiler::vocab;
use bpfbox_grammar::lexer::{lex, Token};
use bpfbox_grammar::visit::{walk, Visitor};
use bpfbox_grammar::{Arg, Attr, AttrArg, Body, Span, Stmt};

use super::File;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Highlight {
    Comment,
    String,
    /// A rule's name, and a `#[func]`'s function.
    Function,
    /// `#[name`
    Attribute,
    /// `#![name`
    InnerAttribute,
    /// `self`
    Keyword,
    /// Flags, families, capabilities.
    Word,
}

/// Spans in order, none overlapping (where an attribute's `#[name` and a
/// word would, the first wins).
pub fn highlights(file: File<'_>) -> Vec<(Span, Highlight)> {
    let mut visitor = Spans(Vec::new());
    walk(&file.analysis.ast.items, &mut visitor);
    let mut spans = visitor.0;
    for (start, token, end) in lex(file.text).tokens {
        if token == Token::Str && start < end {
            spans.push((Span::new(start, end), Highlight::String));
        }
    }
    for comment in &file.analysis.ast.comments {
        spans.push((comment.span, Highlight::Comment));
    }
    spans.sort_by_key(|(s, _)| (s.start, s.end));
    let mut covered = 0usize;
    spans.retain(|(span, _)| {
        let keep = span.start >= covered && !span.is_empty();
        if keep {
            covered = span.end;
        }
        keep
    });
    spans
}

fn attr(a: &Attr, inner: bool, spans: &mut Vec<(Span, Highlight)>) {
    let kind = if inner {
        Highlight::InnerAttribute
    } else {
        Highlight::Attribute
    };
    spans.push((Span::new(a.span.start, a.name.span.end), kind));
    if let Some(AttrArg::Ident(i)) = &a.arg {
        spans.push((i.span, Highlight::Function));
    }
}

/// The spans of attributes, rule names and words.
struct Spans(Vec<(Span, Highlight)>);

impl<'a> Visitor<'a> for Spans {
    fn inner_attribute(&mut self, a: &'a Attr, _depth: usize) {
        attr(a, true, &mut self.0);
    }

    fn enter(&mut self, stmt: &'a Stmt, _depth: usize) {
        for a in &stmt.attrs {
            attr(a, false, &mut self.0);
        }
        let Body::Rule(rule) = &stmt.body else {
            return;
        };
        self.0.push((rule.name.span, Highlight::Function));
        for arg in &rule.args {
            let Arg::Words(words) = arg else { continue };
            for w in words {
                let kind = if w.name == vocab::SELF {
                    Highlight::Keyword
                } else {
                    Highlight::Word
                };
                self.0.push((w.span, kind));
            }
        }
    }
}
