//! Tokens (logos) and the token stream the parser reads. Comments are kept
//! aside, with their spans, for the formatter.

use logos::Logos;

use crate::diagnostic::{Code, Diagnostic};
use crate::Span;

#[derive(Logos, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[logos(skip r"[ \t\r\n\f]+")]
#[logos(skip "\u{feff}")]
pub enum Token {
    #[token("#![")]
    InnerAttrOpen,
    #[token("#[")]
    AttrOpen,
    #[token("]")]
    RBracket,
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token(",")]
    Comma,
    #[token("|")]
    Pipe,
    #[regex(r"[A-Za-z_][A-Za-z0-9_]*")]
    Ident,
    // A line ends at \n, \r\n or a lone \r (old Mac files): none is inside
    // a string or a line comment.
    #[regex(r#""([^"\\\r\n]|\\[^\r\n])*""#)]
    #[regex(r#"'([^'\\\r\n]|\\[^\r\n])*'"#)]
    Str,
    /// A string whose line ends before its closing quote.
    #[regex(r#""([^"\\\r\n]|\\[^\r\n])*"#)]
    #[regex(r#"'([^'\\\r\n]|\\[^\r\n])*"#)]
    UnterminatedStr,
    /// `/usr/bin/x` without quotes: an error, but parsed as the path it
    /// plainly is so that one missing pair of quotes costs one diagnostic.
    #[regex(r"/[A-Za-z0-9_.~+@%:=-][A-Za-z0-9_.~+@%:=/*-]*")]
    BarePath,
    #[regex(r"//[^\r\n]*", allow_greedy = true)]
    LineComment,
    #[token("/*", block_comment)]
    BlockComment,
}

impl Token {
    /// How the text writes a punctuation token (for messages); empty for
    /// the others.
    pub fn symbol(self) -> &'static str {
        match self {
            Token::InnerAttrOpen => "#![",
            Token::AttrOpen => "#[",
            Token::RBracket => "]",
            Token::LParen => "(",
            Token::RParen => ")",
            Token::LBrace => "{",
            Token::RBrace => "}",
            Token::Comma => ",",
            Token::Pipe => "|",
            _ => "",
        }
    }
}

/// Consumes a block comment up to and including `*/`, or to the end of the
/// text; the caller reports the unterminated case.
fn block_comment(lex: &mut logos::Lexer<Token>) {
    let rest = lex.remainder();
    match rest.find("*/") {
        Some(end) => lex.bump(end + 2),
        None => lex.bump(rest.len()),
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    pub span: Span,
    /// `//` comments run to the end of the line; the formatter keeps them last
    /// on a line.
    pub is_line: bool,
}

/// Everything the lexer found.
#[derive(Debug, Default)]
pub struct Lexed {
    pub tokens: Vec<(usize, Token, usize)>,
    pub comments: Vec<Comment>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Splits `text` into tokens. Never fails: bad characters are reported and
/// skipped, unterminated strings become strings, and delimiters are balanced
/// (a missing `}` is supplied at the end, a stray one dropped) so the parser
/// can always build a tree.
pub fn lex(text: &str) -> Lexed {
    let mut out = Lexed::default();
    // Policies run about one token per 5 bytes: reserved once, the token
    // lists are not copied as they grow (a tenth of lexing a large file).
    let mut raw: Vec<(Token, Span)> = Vec::with_capacity(text.len() / 4);
    let mut lexer = Token::lexer(text);
    let mut bad_run: Option<Span> = None;
    while let Some(result) = lexer.next() {
        let span = Span::from(lexer.span());
        let token = match result {
            Ok(token) => token,
            Err(()) => {
                // Report a run of bad characters once.
                bad_run = Some(match bad_run {
                    Some(run) if run.end == span.start => run.cover(span),
                    Some(run) => {
                        out.diagnostics.push(unexpected_chars(text, run));
                        span
                    }
                    None => span,
                });
                continue;
            }
        };
        if let Some(run) = bad_run.take() {
            out.diagnostics.push(unexpected_chars(text, run));
        }
        match token {
            Token::LineComment => out.comments.push(Comment {
                span,
                is_line: true,
            }),
            Token::BlockComment => {
                if !text[span.range()].ends_with("*/") || span.len() < 4 {
                    out.diagnostics.push(
                        Diagnostic::new(
                            Code::UnterminatedComment,
                            Span::new(span.start, span.start + 2),
                            "unterminated block comment",
                        )
                        .with_label("this comment never ends")
                        .with_help("close it with `*/`"),
                    );
                }
                out.comments.push(Comment {
                    span,
                    is_line: false,
                });
            }
            Token::UnterminatedStr => {
                let quote = &text[span.start..span.start + 1];
                out.diagnostics.push(
                    Diagnostic::new(Code::UnterminatedString, span, "unterminated string")
                        .with_label("the line ends before the closing quote")
                        .with_fix(
                            format!("add the closing {quote}"),
                            Span::new(span.end, span.end),
                            quote.to_string(),
                        ),
                );
                raw.push((Token::Str, span));
            }
            _ => raw.push((token, span)),
        }
    }
    if let Some(run) = bad_run.take() {
        out.diagnostics.push(unexpected_chars(text, run));
    }
    balance(text, &raw, &mut out);
    out
}

/// Pairs up delimiters so the parser always sees a balanced stream. A `(`
/// left open is closed at the end of its line when the next line plainly
/// starts something new (rules are one to a line in practice), else where
/// its enclosing block ends.
fn balance(text: &str, raw: &[(Token, Span)], out: &mut Lexed) {
    out.tokens.reserve(raw.len() + 16);
    let mut open: Vec<(Token, Span)> = Vec::new();
    for (i, &(token, span)) in raw.iter().enumerate() {
        if let (Some(&(Token::LParen, paren)), Some(&(_, previous))) =
            (open.last(), i.checked_sub(1).map(|p| &raw[p]))
        {
            let new_line = text[previous.end..span.start].contains(['\n', '\r']);
            let starts_something = match token {
                Token::AttrOpen | Token::InnerAttrOpen | Token::LBrace | Token::RBrace => true,
                Token::Ident => raw.get(i + 1).is_some_and(|(t, _)| *t == Token::LParen),
                _ => false,
            };
            if new_line && starts_something {
                open.pop();
                out.diagnostics
                    .push(unclosed_delimiter(Token::LParen, paren, previous.end));
                out.tokens.push((previous.end, Token::RParen, previous.end));
            }
        }
        match token {
            Token::LParen | Token::LBrace => {
                open.push((token, span));
                out.tokens.push((span.start, token, span.end));
            }
            Token::RParen | Token::RBrace => {
                let partner = if token == Token::RParen {
                    Token::LParen
                } else {
                    Token::LBrace
                };
                // A `}` also closes any `(` left open inside its block.
                match open.iter().rposition(|(t, _)| *t == partner) {
                    Some(index) if token == Token::RBrace || index == open.len() - 1 => {
                        for (unclosed, unclosed_span) in open.drain(index + 1..).rev() {
                            out.diagnostics.push(unclosed_delimiter(
                                unclosed,
                                unclosed_span,
                                span.start,
                            ));
                            out.tokens.push((span.start, closer(unclosed), span.start));
                        }
                        open.pop();
                        out.tokens.push((span.start, token, span.end));
                    }
                    _ => {
                        let which = if token == Token::RParen { ")" } else { "}" };
                        out.diagnostics.push(
                            Diagnostic::new(
                                Code::UnmatchedDelimiter,
                                span,
                                format!("unmatched `{which}`"),
                            )
                            .with_label("nothing opened this")
                            .with_fix(
                                format!("remove this `{which}`"),
                                span,
                                "",
                            ),
                        );
                    }
                }
            }
            _ => out.tokens.push((span.start, token, span.end)),
        }
    }
    let end = raw.last().map_or(0, |(_, span)| span.end);
    for (unclosed, span) in open.into_iter().rev() {
        out.diagnostics
            .push(unclosed_delimiter(unclosed, span, end));
        out.tokens.push((end, closer(unclosed), end));
    }
}

fn closer(open: Token) -> Token {
    if open == Token::LParen {
        Token::RParen
    } else {
        Token::RBrace
    }
}

fn unclosed_delimiter(open: Token, span: Span, at: usize) -> Diagnostic {
    let (o, c) = if open == Token::LParen {
        ("(", ")")
    } else {
        ("{", "}")
    };
    Diagnostic::new(Code::UnclosedDelimiter, span, format!("unclosed `{o}`"))
        .with_label(format!("this `{o}` is never closed"))
        .with_fix(format!("add `{c}`"), Span::new(at, at), c)
}

fn unexpected_chars(text: &str, span: Span) -> Diagnostic {
    let shown = &text[span.range()];
    let diagnostic = Diagnostic::new(
        Code::UnexpectedChar,
        span,
        format!(
            "unexpected character{} `{}`",
            if shown.chars().count() > 1 { "s" } else { "" },
            shown.escape_debug()
        ),
    )
    .with_label("not part of the policy language");
    if shown.starts_with('#') {
        diagnostic
            .with_help("attributes are written `#[name]`, profile lines `#![profile \"/path\"]`")
    } else if shown.starts_with(';') {
        diagnostic.with_fix("rules need no `;`: remove it", span, "")
    } else {
        diagnostic.with_help("paths and names with unusual characters go in quotes: \"...\"")
    }
}

/// The value of a string token (quotes removed, escapes resolved), with a
/// diagnostic for each unknown escape.
pub fn unescape(text: &str, span: Span, diagnostics: &mut Vec<Diagnostic>) -> String {
    let raw = &text[span.range()];
    let quote = raw.chars().next().unwrap_or('"');
    let inner = raw.strip_prefix(quote).unwrap_or(raw);
    let inner = inner
        .strip_suffix(quote)
        .filter(|_| raw.len() >= 2)
        .unwrap_or(inner);
    if !inner.contains('\\') {
        return inner.to_string();
    }
    let mut value = String::with_capacity(inner.len());
    let mut chars = inner.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            value.push(c);
            continue;
        }
        match chars.next() {
            Some((_, e @ ('\\' | '"' | '\''))) => value.push(e),
            Some((_, 'n')) => value.push('\n'),
            Some((_, 't')) => value.push('\t'),
            Some((j, other)) => {
                let start = span.start + quote.len_utf8() + i;
                let escape_span =
                    Span::new(start, span.start + quote.len_utf8() + j + other.len_utf8());
                diagnostics.push(
                    Diagnostic::new(
                        Code::InvalidEscape,
                        escape_span,
                        format!("unknown escape `\\{}`", other.escape_debug()),
                    )
                    .with_label("not an escape")
                    .with_help("the escapes are \\\\ \\\" \\' \\n \\t; write a backslash as \\\\"),
                );
                value.push(other);
            }
            None => value.push('\\'),
        }
    }
    value
}
