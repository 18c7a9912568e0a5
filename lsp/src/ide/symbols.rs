//! The outline: each profile, with its blocks and rules.

use bpfbox_grammar::{Body, Item, Span};

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
        .map(|profile| Symbol {
            name: profile.exe.clone(),
            detail: profile.complain.then(|| "complain mode".to_string()),
            kind: SymbolKind::Profile,
            span: profile.span,
            selection: profile.exe_span,
            children: item_symbols(file.text, &file.analysis.ast.items, profile.span),
        })
        .collect()
}

/// The statements of `items` inside `within`.
fn item_symbols(text: &str, items: &[Item], within: Span) -> Vec<Symbol> {
    let mut out = Vec::new();
    for item in items {
        let Item::Stmt(stmt) = item else { continue };
        if !(within.start <= stmt.span.start && stmt.span.end <= within.end) {
            continue;
        }
        let attrs = stmt
            .attrs
            .iter()
            .map(|a| &text[a.span.range()])
            .collect::<Vec<_>>()
            .join(" ");
        match &stmt.body {
            Body::Block(block) => out.push(Symbol {
                name: if attrs.is_empty() {
                    "{ }".to_string()
                } else {
                    attrs
                },
                detail: None,
                kind: SymbolKind::Block,
                span: stmt.span,
                selection: stmt.attrs.first().map_or(block.span, |a| a.span),
                children: item_symbols(text, &block.items, within),
            }),
            Body::Rule(rule) => out.push(Symbol {
                name: text[rule.span.range()].to_string(),
                detail: (!attrs.is_empty()).then_some(attrs),
                kind: SymbolKind::Rule,
                span: stmt.span,
                selection: rule.name.span,
                children: Vec::new(),
            }),
            _ => {}
        }
    }
    out
}
