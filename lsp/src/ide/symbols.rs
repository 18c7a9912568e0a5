//! The outline: each profile, with its blocks and rules.

use bpfbox_grammar::visit::{walk, Visitor};
use bpfbox_grammar::{Body, Span, Stmt};

use super::File;

#[derive(Debug, PartialEq)]
pub struct Symbol {
    pub name: String,
    pub detail: Option<String>,
    pub kind: SymbolKind,
    /// All of it.
    pub span: Span,
    /// What the editor selects: its name.
    pub selection: Span,
    pub children: Vec<Symbol>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SymbolKind {
    Profile,
    /// A `{ }` block, named by its attributes.
    Block,
    Rule,
}

pub fn symbols(file: File<'_>) -> Vec<Symbol> {
    file.analysis
        .policy
        .profiles
        .iter()
        .map(|profile| {
            let mut outline = Outline {
                text: file.text,
                within: profile.span,
                open: vec![Vec::new()],
            };
            walk(&file.analysis.ast.items, &mut outline);
            Symbol {
                name: profile.exe.clone(),
                detail: profile.complain.then(|| "complain mode".to_string()),
                kind: SymbolKind::Profile,
                span: profile.span,
                selection: profile.exe_span,
                children: outline.open.pop().unwrap_or_default(),
            }
        })
        .collect()
}

/// The statements inside `within`, nested as their blocks are: `open` holds
/// the children of each block being walked, the outermost first.
struct Outline<'a> {
    text: &'a str,
    within: Span,
    open: Vec<Vec<Symbol>>,
}

impl Outline<'_> {
    fn holds(&self, stmt: &Stmt) -> bool {
        self.within.start <= stmt.span.start && stmt.span.end <= self.within.end
    }

    fn attributes(&self, stmt: &Stmt) -> String {
        stmt.attrs
            .iter()
            .map(|a| &self.text[a.span.range()])
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl<'a> Visitor<'a> for Outline<'a> {
    fn enter(&mut self, stmt: &'a Stmt, _depth: usize) {
        if !self.holds(stmt) {
            return;
        }
        match &stmt.body {
            Body::Block(_) => self.open.push(Vec::new()),
            Body::Rule(rule) => {
                let attrs = self.attributes(stmt);
                let symbol = Symbol {
                    name: self.text[rule.span.range()].to_string(),
                    detail: (!attrs.is_empty()).then_some(attrs),
                    kind: SymbolKind::Rule,
                    span: stmt.span,
                    selection: rule.name.span,
                    children: Vec::new(),
                };
                if let Some(siblings) = self.open.last_mut() {
                    siblings.push(symbol);
                }
            }
            _ => {}
        }
    }

    fn leave(&mut self, stmt: &'a Stmt, _depth: usize) {
        let Body::Block(block) = &stmt.body else {
            return;
        };
        if !self.holds(stmt) {
            return;
        }
        let children = self.open.pop().unwrap_or_default();
        let attrs = self.attributes(stmt);
        let symbol = Symbol {
            name: if attrs.is_empty() {
                "{ }".to_string()
            } else {
                attrs
            },
            detail: None,
            kind: SymbolKind::Block,
            span: stmt.span,
            selection: stmt.attrs.first().map_or(block.span, |a| a.span),
            children,
        };
        if let Some(siblings) = self.open.last_mut() {
            siblings.push(symbol);
        }
    }
}
