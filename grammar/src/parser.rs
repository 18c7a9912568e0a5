//! The parser: recursive descent over the lexer's balanced token stream,
//! building the tree with each run of `#[...]` given to what follows it.
//!
//! A syntax error abandons the item it is in (a rule, an attribute) and
//! resumes at the next token that can start an item, or close the block:
//! the item becomes `Body::Error` covering what was read of it and what was
//! skipped. This is the recovery an LR parser does with an error production
//! at the item level (the grammar was a lalrpop one), and each error says
//! exactly which tokens could have come instead.
//!
//! It replaced the generated LR parser for speed: it parses a 5,000-line
//! policy in a third of the LR parser's instructions, and parsing was the
//! largest part of the analysis the language server runs on each keystroke.

use crate::ast::{Arg, Attr, AttrArg, Block, Body, Ident, Item, Rule, Stmt, StrLit};
use crate::diagnostic::{Code, Diagnostic};
use crate::lexer::{unescape, Token};
use crate::Span;

/// What the parser ran into where it did not fit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SyntaxError {
    /// `found` (start, token, end) where one of `expected` should be.
    Unexpected {
        found: (usize, Token, usize),
        expected: &'static [Token],
    },
    /// The text ended (after the last token, at `at`) where one of
    /// `expected` should be.
    Eof {
        at: usize,
        expected: &'static [Token],
    },
}

// What may come next at each point of the grammar, each list in the order
// the messages name them.
const ITEM: &[Token] = &[
    Token::InnerAttrOpen,
    Token::AttrOpen,
    Token::LBrace,
    Token::Ident,
];
const BLOCK_ITEM: &[Token] = &[
    Token::InnerAttrOpen,
    Token::AttrOpen,
    Token::LBrace,
    Token::RBrace,
    Token::Ident,
];
const NAME: &[Token] = &[Token::Ident];
const ATTR_ARG_OR_CLOSE: &[Token] = &[Token::RBracket, Token::Ident, Token::Str, Token::BarePath];
const ATTR_CLOSE: &[Token] = &[Token::RBracket];
const ARGS_OPEN: &[Token] = &[Token::LParen];
const ARG_OR_CLOSE: &[Token] = &[Token::RParen, Token::Ident, Token::Str, Token::BarePath];
const AFTER_STRING: &[Token] = &[Token::RParen, Token::Comma];
const AFTER_WORD: &[Token] = &[Token::RParen, Token::Comma, Token::Pipe];
/// What can follow a string in an attribute or a rule.
const FOLLOWS_STRING: &[Token] = &[Token::RBracket, Token::RParen, Token::Comma];

/// The items of `tokens` (which the lexer balanced), the syntax errors in
/// the order met, and the diagnostics of attributes left with nothing to
/// apply to. Diagnostics of string literals go to `diagnostics`.
pub(crate) fn parse(
    text: &str,
    tokens: &[(usize, Token, usize)],
    diagnostics: &mut Vec<Diagnostic>,
) -> (Vec<Item>, Vec<SyntaxError>, Vec<Diagnostic>) {
    let mut parser = Parser {
        text,
        tokens,
        pos: 0,
        errors: Vec::new(),
        diagnostics,
        dangling: Vec::new(),
        blocks: 0,
        args: Vec::new(),
        words: Vec::new(),
    };
    let items = parser.items();
    (items, parser.errors, parser.dangling)
}

struct Parser<'a> {
    text: &'a str,
    tokens: &'a [(usize, Token, usize)],
    pos: usize,
    errors: Vec<SyntaxError>,
    diagnostics: &'a mut Vec<Diagnostic>,
    dangling: Vec<Diagnostic>,
    /// How many blocks the parser is in: inside one, `}` ends the items.
    blocks: usize,
    // Where a rule's arguments and an argument's words are gathered, then
    // copied out at their exact size: a tree that an editor keeps for each
    // open policy carries no spare capacity.
    args: Vec<Arg>,
    words: Vec<Ident>,
}

/// `from`'s elements in a vector of their exact size; `from` is left empty
/// with its capacity, to gather the next ones.
fn take_exact<T>(from: &mut Vec<T>) -> Vec<T> {
    let mut exact = Vec::with_capacity(from.len());
    exact.append(from);
    exact
}

/// How far an abandoned item got: the start and end of what it had read.
type Read = Option<(usize, usize)>;

impl Parser<'_> {
    fn peek(&self) -> Option<(usize, Token, usize)> {
        self.tokens.get(self.pos).copied()
    }

    fn peek_token(&self) -> Option<Token> {
        self.tokens.get(self.pos).map(|t| t.1)
    }

    /// The tokens that can come where an item may start: what a syntax
    /// error there names, and where the parser resumes after one.
    fn item_starts(&self) -> &'static [Token] {
        if self.blocks > 0 {
            BLOCK_ITEM
        } else {
            ITEM
        }
    }

    /// The items up to the end of the text, or up to the `}` closing the
    /// block (left for the caller).
    fn items(&mut self) -> Vec<Item> {
        let mut items = Vec::new();
        let mut pending: Vec<Attr> = Vec::new();
        while let Some((_, token, _)) = self.peek() {
            let (body, span) = match token {
                Token::RBrace if self.blocks > 0 => break,
                Token::InnerAttrOpen => match self.attribute() {
                    Ok(attr) => {
                        self.flush_dangling(&mut pending, &mut items);
                        items.push(Item::Inner(attr));
                        continue;
                    }
                    Err(span) => (Body::Error(span), span),
                },
                Token::AttrOpen => match self.attribute() {
                    Ok(attr) => {
                        pending.push(attr);
                        continue;
                    }
                    Err(span) => (Body::Error(span), span),
                },
                Token::LBrace => {
                    let block = self.block();
                    let span = block.span;
                    (Body::Block(block), span)
                }
                Token::Ident => match self.rule() {
                    Ok(rule) => {
                        let span = rule.span;
                        (Body::Rule(rule), span)
                    }
                    Err(span) => (Body::Error(span), span),
                },
                _ => {
                    let span = self.fail(self.item_starts(), None);
                    (Body::Error(span), span)
                }
            };
            let attrs = take_exact(&mut pending);
            let span = attrs.first().map_or(span, |a| a.span.cover(span));
            items.push(Item::Stmt(Stmt { attrs, body, span }));
        }
        self.flush_dangling(&mut pending, &mut items);
        items.shrink_to_fit();
        items
    }

    /// `{ items }`; the lexer supplied any `}` the text lacks.
    fn block(&mut self) -> Block {
        let (start, _, open_end) = self.tokens[self.pos];
        self.pos += 1;
        self.blocks += 1;
        let items = self.items();
        self.blocks -= 1;
        let end = match self.peek() {
            Some((_, Token::RBrace, end)) => {
                self.pos += 1;
                end
            }
            // Not reached with the lexer's balanced tokens.
            _ => self.tokens.last().map_or(open_end, |t| t.2),
        };
        Block {
            items,
            span: Span::new(start, end),
        }
    }

    /// `#[name]`, `#[name arg]`, `#![name arg]`.
    fn attribute(&mut self) -> Result<Attr, Span> {
        let (start, _, open_end) = self.tokens[self.pos];
        self.pos += 1;
        let name = self.ident(NAME, Some((start, open_end)))?;
        let read = Some((start, name.span.end));
        let arg = match self.peek_token() {
            Some(Token::RBracket) => None,
            Some(Token::Ident) => {
                let ident = self.ident(NAME, read)?;
                Some(AttrArg::Ident(ident))
            }
            Some(Token::Str | Token::BarePath) => {
                Some(AttrArg::Str(self.string(ATTR_CLOSE, read)?))
            }
            _ => return Err(self.fail(ATTR_ARG_OR_CLOSE, read)),
        };
        let read_to = arg.as_ref().map_or(name.span.end, |a| a.span().end);
        match self.peek() {
            Some((_, Token::RBracket, end)) => {
                self.pos += 1;
                Ok(Attr {
                    name,
                    arg,
                    span: Span::new(start, end),
                })
            }
            _ => Err(self.fail(ATTR_CLOSE, Some((start, read_to)))),
        }
    }

    /// `name(arg, ...)`, the arguments strings or words joined by `|`.
    fn rule(&mut self) -> Result<Rule, Span> {
        let name = self.ident(NAME, None)?;
        let start = name.span.start;
        if self.peek_token() != Some(Token::LParen) {
            return Err(self.fail(ARGS_OPEN, Some((start, name.span.end))));
        }
        let mut read_to = self.tokens[self.pos].2;
        self.pos += 1;
        self.args.clear();
        loop {
            // After `(` or `,`.
            let arg = match self.peek_token() {
                Some(Token::RParen) => break,
                Some(Token::Str | Token::BarePath) => {
                    Arg::Str(self.string(AFTER_STRING, Some((start, read_to)))?)
                }
                Some(Token::Ident) => {
                    self.words.clear();
                    let first = self.ident(NAME, None)?;
                    self.words.push(first);
                    while self.peek_token() == Some(Token::Pipe) {
                        self.pos += 1;
                        let read = Some((start, self.tokens[self.pos - 1].2));
                        let word = self.ident(NAME, read)?;
                        self.words.push(word);
                    }
                    Arg::Words(take_exact(&mut self.words))
                }
                _ => return Err(self.fail(ARG_OR_CLOSE, Some((start, read_to)))),
            };
            read_to = arg.span().end;
            let after = match &arg {
                Arg::Str(_) => AFTER_STRING,
                Arg::Words(_) => AFTER_WORD,
            };
            self.args.push(arg);
            match self.peek_token() {
                Some(Token::Comma) => {
                    read_to = self.tokens[self.pos].2;
                    self.pos += 1;
                }
                Some(Token::RParen) => break,
                _ => return Err(self.fail(after, Some((start, read_to)))),
            }
        }
        let (_, _, end) = self.tokens[self.pos];
        self.pos += 1;
        Ok(Rule {
            name,
            args: take_exact(&mut self.args),
            span: Span::new(start, end),
        })
    }

    /// A name, which must be next.
    fn ident(&mut self, expected: &'static [Token], read: Read) -> Result<Ident, Span> {
        match self.peek() {
            Some((start, Token::Ident, end)) => {
                self.pos += 1;
                Ok(Ident {
                    name: self.text[start..end].to_string(),
                    span: Span::new(start, end),
                })
            }
            _ => Err(self.fail(expected, read)),
        }
    }

    /// The string next, quoted or a bare path, when one of `then` follows
    /// it. Its diagnostics (escapes, missing quotes) are reported when a
    /// token that can follow a string anywhere comes next, so a string cut
    /// off by a syntax error elsewhere on its line is not also picked at.
    fn string(&mut self, then: &'static [Token], read: Read) -> Result<StrLit, Span> {
        let (start, token, end) = self.tokens[self.pos];
        let read = Some(read.map_or((start, end), |(s, _)| (s, end)));
        self.pos += 1;
        let next = self.peek_token();
        let span = Span::new(start, end);
        if !next.is_some_and(|t| FOLLOWS_STRING.contains(&t)) {
            return Err(self.fail(then, read));
        }
        let literal = self.string_literal(token, span);
        if !next.is_some_and(|t| then.contains(&t)) {
            return Err(self.fail(then, read));
        }
        Ok(literal)
    }

    /// The value of the string token at `span`, with its diagnostics.
    fn string_literal(&mut self, token: Token, span: Span) -> StrLit {
        if token == Token::Str {
            StrLit {
                value: unescape(self.text, span, self.diagnostics),
                span,
                quoted: true,
            }
        } else {
            self.diagnostics.push(crate::unquoted_path(self.text, span));
            StrLit {
                value: self.text[span.range()].to_string(),
                span,
                quoted: false,
            }
        }
    }

    /// Records that the next token (or the end) is not one of `expected`,
    /// then skips to a token that can start an item (or close the block).
    /// Returns the span of the abandoned item: from the start of what it
    /// had read (else the first token skipped) to the end of the last token
    /// skipped (else of what it had read).
    fn fail(&mut self, expected: &'static [Token], read: Read) -> Span {
        self.errors.push(match self.peek() {
            Some(found) => SyntaxError::Unexpected { found, expected },
            None => SyntaxError::Eof {
                at: self.pos.checked_sub(1).map_or(0, |p| self.tokens[p].2),
                expected,
            },
        });
        let mut skipped: Option<(usize, usize)> = None;
        while let Some((start, token, end)) = self.peek() {
            if self.item_starts().contains(&token) {
                break;
            }
            skipped = Some(skipped.map_or((start, end), |(s, _)| (s, end)));
            self.pos += 1;
        }
        let lookahead = self.peek().map(|t| t.0);
        let start = read
            .map(|r| r.0)
            .or(skipped.map(|s| s.0))
            .or(lookahead)
            .unwrap_or(0);
        let end = skipped
            .map(|s| s.1)
            .or(read.map(|r| r.1))
            .or(lookahead)
            .unwrap_or(start);
        Span::new(start, end)
    }

    fn flush_dangling(&mut self, pending: &mut Vec<Attr>, items: &mut Vec<Item>) {
        if pending.is_empty() {
            return;
        }
        let attrs = std::mem::take(pending);
        let span = attrs[0].span.cover(attrs[attrs.len() - 1].span);
        self.dangling.push(
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
}
