//! What is at an offset: the syntax node, and the profile it belongs to.

use bpfbox_compiler::model::Profile;
use bpfbox_grammar::visit::{walk, Visitor};
use bpfbox_grammar::{Arg, Ast, Attr, AttrArg, Body, Ident, Rule, Stmt, StrLit};

use super::File;

/// A place in the syntax tree.
pub enum Node<'a> {
    RuleName(&'a Rule),
    /// A word of a rule's argument `index`.
    Word(&'a Rule, usize, &'a Ident),
    /// A string argument of a rule.
    Str(&'a Rule, usize, &'a StrLit),
    /// An attribute's name; `true` for an inner one (`#![...]`).
    AttrName(&'a Attr, bool),
    AttrArg(&'a Attr, &'a AttrArg),
}

pub fn node_at(ast: &Ast, offset: usize) -> Option<Node<'_>> {
    let mut finder = Finder {
        offset,
        found: None,
    };
    walk(&ast.items, &mut finder);
    finder.found
}

/// The first node holding the offset, in source order. Spans include their
/// end, so two neighbours can both hold it: each is asked in turn.
struct Finder<'a> {
    offset: usize,
    found: Option<Node<'a>>,
}

impl<'a> Visitor<'a> for Finder<'a> {
    fn inner_attribute(&mut self, a: &'a Attr, _depth: usize) {
        if self.found.is_none() {
            self.found = attr(a, true, self.offset);
        }
    }

    fn enter(&mut self, stmt: &'a Stmt, _depth: usize) {
        if self.found.is_some() || !stmt.span.contains(self.offset) {
            return;
        }
        self.found = stmt
            .attrs
            .iter()
            .find_map(|a| attr(a, false, self.offset))
            .or_else(|| match &stmt.body {
                Body::Rule(rule) => rule_part(rule, self.offset),
                _ => None,
            });
    }
}

fn attr(a: &Attr, inner: bool, offset: usize) -> Option<Node<'_>> {
    if a.name.span.contains(offset) {
        return Some(Node::AttrName(a, inner));
    }
    match &a.arg {
        Some(arg) if arg.span().contains(offset) => Some(Node::AttrArg(a, arg)),
        _ => None,
    }
}

fn rule_part(rule: &Rule, offset: usize) -> Option<Node<'_>> {
    if rule.name.span.contains(offset) {
        return Some(Node::RuleName(rule));
    }
    for (index, arg) in rule.args.iter().enumerate() {
        match arg {
            Arg::Str(s) if s.span.contains(offset) => return Some(Node::Str(rule, index, s)),
            Arg::Words(words) => {
                if let Some(w) = words.iter().find(|w| w.span.contains(offset)) {
                    return Some(Node::Word(rule, index, w));
                }
            }
            _ => {}
        }
    }
    None
}

/// The profile whose text holds `offset`: the last profile line before it.
pub fn profile_at(file: File<'_>, offset: usize) -> Option<&Profile> {
    file.analysis
        .policy
        .profiles
        .iter()
        .rev()
        .find(|p| p.header_span.start <= offset)
}
