//! The syntax tree. It is deliberately generic (a rule is a name and its
//! arguments, an attribute a name and an optional argument): what names mean
//! is the compiler's business, which lets it say "did you mean ...".

use crate::Span;

/// A parsed policy file: its top-level items in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ast {
    pub items: Vec<Item>,
    /// Comments, for the formatter.
    pub comments: Vec<crate::lexer::Comment>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// `#![name arg]`: a profile line or another file-level setting.
    Inner(Attr),
    /// Attributes and what they apply to.
    Stmt(Stmt),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Inner(attr) => attr.span,
            Item::Stmt(stmt) => stmt.span,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stmt {
    pub attrs: Vec<Attr>,
    pub body: Body,
    /// From the first attribute to the end of the body.
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    Rule(Rule),
    Block(Block),
    /// Attributes followed by nothing they could apply to.
    Nothing,
    /// Text the parser skipped after a syntax error.
    Error(Span),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub items: Vec<Item>,
    pub span: Span,
}

/// `name(arg, ...)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub name: Ident,
    pub args: Vec<Arg>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    Str(StrLit),
    /// `a|b|c`: access flags, a family, `self`.
    Words(Vec<Ident>),
}

impl Arg {
    pub fn span(&self) -> Span {
        match self {
            Arg::Str(s) => s.span,
            Arg::Words(words) => words[0].span.cover(words[words.len() - 1].span),
        }
    }
}

/// `#[name]`, `#[name arg]`, and the inner form `#![name arg]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attr {
    pub name: Ident,
    pub arg: Option<AttrArg>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttrArg {
    Ident(Ident),
    Str(StrLit),
}

impl AttrArg {
    pub fn span(&self) -> Span {
        match self {
            AttrArg::Ident(i) => i.span,
            AttrArg::Str(s) => s.span,
        }
    }

    pub fn value(&self) -> &str {
        match self {
            AttrArg::Ident(i) => &i.name,
            AttrArg::Str(s) => &s.value,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StrLit {
    /// The value with quotes removed and escapes resolved.
    pub value: String,
    pub span: Span,
    /// False for a path written without quotes (already reported).
    pub quoted: bool,
}
