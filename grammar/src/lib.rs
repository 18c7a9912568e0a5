//! The syntax of the bpfbox policy language: a logos lexer, a
//! recursive-descent parser and an AST with byte spans. [`parse`] never
//! fails: it returns a tree for any text, with diagnostics for what it had
//! to skip or repair.

pub mod ast;
pub mod diagnostic;
pub mod lexer;
mod parser;
mod span;
pub mod visit;

pub use ast::*;
pub use diagnostic::{did_you_mean, Code, Diagnostic, Fix, Label, Severity, Words};
pub use span::Span;

use lexer::Token;
use parser::SyntaxError;

/// Parses a policy. Always returns a tree; syntax problems are diagnostics,
/// in source order.
pub fn parse(text: &str) -> (Ast, Vec<Diagnostic>) {
    let lexed = lexer::lex(text);
    let mut diagnostics = lexed.diagnostics;
    let (items, errors, dangling) = parser::parse(text, &lexed.tokens, &mut diagnostics);
    // After a syntax error the parser resynchronises at the next item; what
    // it trips over on the rest of that line is usually the same mistake.
    let mut last_line_end = None;
    for error in errors {
        let diagnostic = syntax_error(text, error);
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
    diagnostics.extend(dangling);
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

/// How an error message names the tokens that could have come.
fn describe_expected(expected: &[Token]) -> String {
    let mut names: Vec<String> = expected
        .iter()
        .map(|token| match token {
            Token::Ident => "a name".to_string(),
            Token::Str | Token::BarePath => "a string".to_string(),
            other => format!("`{}`", other.symbol()),
        })
        .collect();
    names.dedup();
    match names.len() {
        0 => "nothing more".into(),
        1 => names.remove(0),
        _ => {
            let last = names.pop().unwrap_or_default();
            format!("{} or {}", names.join(", "), last)
        }
    }
}

fn syntax_error(text: &str, error: SyntaxError) -> Diagnostic {
    match error {
        SyntaxError::Unexpected {
            found: (start, token, end),
            expected,
        } => {
            let found = describe_token(text, token, start, end);
            let wanted = describe_expected(expected);
            let span = Span::new(start, end);
            let diagnostic = Diagnostic::new(
                Code::Syntax,
                span,
                format!("expected {wanted}, found {found}"),
            )
            .with_label(format!("unexpected {found}"));
            let expects = |t: Token| expected.contains(&t);
            if expects(Token::LParen) && !expects(Token::RParen) {
                diagnostic.with_help(
                    "a rule takes its arguments in parentheses, e.g. `read(\"/etc/hosts\")`",
                )
            } else if expects(Token::Comma)
                && matches!(token, Token::Ident | Token::Str | Token::BarePath)
            {
                diagnostic.with_fix("separate arguments with `,`", Span::new(start, start), ", ")
            } else if expects(Token::RBracket) {
                diagnostic.with_help("an attribute is `#[name]` or `#[name argument]`")
            } else {
                diagnostic.with_help(
                    "rules are `name(arguments)`, attributes `#[name]`, blocks `{ ... }`",
                )
            }
        }
        SyntaxError::Eof { at, expected } => Diagnostic::new(
            Code::Syntax,
            Span::new(at, at),
            format!(
                "expected {}, found the end of the file",
                describe_expected(expected)
            ),
        )
        .with_label("the file ends here")
        .with_help("finish the rule or attribute"),
    }
}
