//! The syntax of the bpfbox policy language: a logos lexer, a lalrpop
//! grammar and an AST with byte spans. [`parse`] never fails: it returns a
//! tree for any text, with diagnostics for what it had to skip or repair.

pub mod ast;
pub mod diagnostic;
pub mod lexer;
mod span;
pub mod visit;

#[allow(clippy::all, unused_parens)]
mod parser {
    include!(concat!(env!("OUT_DIR"), "/parser.rs"));
}

pub use ast::*;
pub use diagnostic::{did_you_mean, Code, Diagnostic, Fix, Label, Severity};
pub use span::Span;

use lalrpop_util::{ErrorRecovery, ParseError};
use lexer::Token;

/// Parses a policy. Always returns a tree; syntax problems are diagnostics,
/// in source order.
pub fn parse(text: &str) -> (Ast, Vec<Diagnostic>) {
    let lexed = lexer::lex(text);
    let mut diagnostics = lexed.diagnostics;
    let mut recovered: Vec<ErrorRecovery<usize, Token, ()>> = Vec::new();
    let raw = parser::FileParser::new().parse(text, &mut recovered, &mut diagnostics, lexed.tokens);
    let raw = match raw {
        Ok(raw) => raw,
        Err(error) => {
            // Recovery at the item level makes this unreachable in practice;
            // keep the promise of a tree anyway.
            diagnostics.push(syntax_error(text, error));
            Vec::new()
        }
    };
    // After a syntax error the parser resynchronises at the next item; what
    // it trips over on the rest of that line is usually the same mistake.
    let mut last_line_end = None;
    for recovery in recovered {
        let diagnostic = syntax_error(text, recovery.error);
        if last_line_end.is_some_and(|end| diagnostic.span.start < end) {
            continue;
        }
        last_line_end = Some(
            text[diagnostic.span.start..]
                .find(['\n', '\r'])
                .map_or(text.len(), |i| diagnostic.span.start + i),
        );
        diagnostics.push(diagnostic);
    }
    let items = attach_attributes(raw, &mut diagnostics);
    diagnostics.sort_by_key(|d| (d.span.start, d.span.end));
    diagnostics.dedup_by(|a, b| a.span == b.span && a.code == b.code);
    (
        Ast {
            items,
            comments: lexed.comments,
        },
        diagnostics,
    )
}

/// Gives each run of `#[...]` to the rule or block after it.
fn attach_attributes(raw: Vec<RawItem>, diagnostics: &mut Vec<Diagnostic>) -> Vec<Item> {
    let mut items = Vec::new();
    let mut pending: Vec<Attr> = Vec::new();
    for raw_item in raw {
        let (body, span) = match raw_item {
            RawItem::Attr(attr) => {
                pending.push(attr);
                continue;
            }
            RawItem::Inner(attr) => {
                flush_dangling(&mut pending, &mut items, diagnostics);
                items.push(Item::Inner(attr));
                continue;
            }
            RawItem::Rule(rule) => {
                let span = rule.span;
                (Body::Rule(rule), span)
            }
            RawItem::Block(raw_items, span) => (
                Body::Block(Block {
                    items: attach_attributes(raw_items, diagnostics),
                    span,
                }),
                span,
            ),
            RawItem::Error(span) => (Body::Error(span), span),
        };
        let attrs = std::mem::take(&mut pending);
        let span = attrs.first().map_or(span, |a| a.span.cover(span));
        items.push(Item::Stmt(Stmt { attrs, body, span }));
    }
    flush_dangling(&mut pending, &mut items, diagnostics);
    items
}

fn flush_dangling(
    pending: &mut Vec<Attr>,
    items: &mut Vec<Item>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    if pending.is_empty() {
        return;
    }
    let attrs = std::mem::take(pending);
    let span = attrs[0].span.cover(attrs[attrs.len() - 1].span);
    diagnostics.push(
        Diagnostic::new(
            Code::DanglingAttribute,
            span,
            "attribute applies to nothing",
        )
        .with_label("no rule or block follows")
        .with_help("put a rule or a `{ ... }` block after the attribute, or remove it"),
    );
    items.push(Item::Stmt(Stmt {
        attrs,
        body: Body::Nothing,
        span,
    }));
}

pub(crate) fn unquoted_path(text: &str, span: Span) -> Diagnostic {
    Diagnostic::new(Code::UnquotedPath, span, "paths must be quoted")
        .with_label("unquoted path")
        .with_fix(
            "put it in quotes",
            span,
            format!("\"{}\"", &text[span.range()]),
        )
}

fn describe_token(text: &str, token: Token, start: usize, end: usize) -> String {
    match token {
        Token::Ident => format!("`{}`", &text[start..end]),
        Token::Str => "a string".into(),
        Token::BarePath => "a path".into(),
        _ => format!("`{}`", &text[start..end]),
    }
}

fn describe_expected(expected: &[String]) -> String {
    let mut names: Vec<String> = expected
        .iter()
        .map(|e| match e.as_str() {
            "IDENT" => "a name".to_string(),
            "STR" | "BAREPATH" => "a string".to_string(),
            quoted => format!("`{}`", quoted.trim_matches('"')),
        })
        .collect();
    names.dedup();
    match names.len() {
        0 => "nothing more".into(),
        1 => names.remove(0),
        _ => {
            let last = names.pop().unwrap();
            format!("{} or {}", names.join(", "), last)
        }
    }
}

fn syntax_error(text: &str, error: ParseError<usize, Token, ()>) -> Diagnostic {
    match error {
        ParseError::UnrecognizedToken {
            token: (start, token, end),
            expected,
        } => {
            let found = describe_token(text, token, start, end);
            let wanted = describe_expected(&expected);
            let span = Span::new(start, end);
            let diagnostic = Diagnostic::new(
                Code::Syntax,
                span,
                format!("expected {wanted}, found {found}"),
            )
            .with_label(format!("unexpected {found}"));
            let expects = |t: &str| expected.iter().any(|e| e == t);
            if expects("\"(\"") && !expects("\")\"") {
                diagnostic.with_help(
                    "a rule takes its arguments in parentheses, e.g. `read(\"/etc/hosts\")`",
                )
            } else if expects("\",\"")
                && matches!(token, Token::Ident | Token::Str | Token::BarePath)
            {
                diagnostic.with_fix("separate arguments with `,`", Span::new(start, start), ", ")
            } else if expects("\"]\"") {
                diagnostic.with_help("an attribute is `#[name]` or `#[name argument]`")
            } else {
                diagnostic.with_help(
                    "rules are `name(arguments)`, attributes `#[name]`, blocks `{ ... }`",
                )
            }
        }
        ParseError::UnrecognizedEof { location, expected } => Diagnostic::new(
            Code::Syntax,
            Span::new(location, location),
            format!(
                "expected {}, found the end of the file",
                describe_expected(&expected)
            ),
        )
        .with_label("the file ends here")
        .with_help("finish the rule or attribute"),
        ParseError::InvalidToken { location } => Diagnostic::new(
            Code::UnexpectedChar,
            Span::new(location, location + 1),
            "invalid token",
        ),
        ParseError::ExtraToken {
            token: (start, token, end),
        } => Diagnostic::new(
            Code::Syntax,
            Span::new(start, end),
            format!("unexpected {}", describe_token(text, token, start, end)),
        ),
        ParseError::User { .. } => Diagnostic::new(Code::Syntax, Span::new(0, 0), "syntax error"),
    }
}
