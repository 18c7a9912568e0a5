//! One walk over the syntax tree, in source order, for everything that
//! reads it: the checker, and the language server's outline, highlighting
//! and "what is at the cursor". A visitor says what it does at each item;
//! the walk owns the recursion into blocks.

use crate::{Attr, Body, Item, Stmt};

pub trait Visitor<'a> {
    /// A `#![...]` line. `depth` is 0 at the top level; deeper, the line is
    /// inside a block (where it does not belong).
    fn inner_attribute(&mut self, _attr: &'a Attr, _depth: usize) {}
    /// A statement (attributes and a rule, a block or nothing), before the
    /// items of its block.
    fn enter(&mut self, _stmt: &'a Stmt, _depth: usize) {}
    /// The same statement, after the items of its block.
    fn leave(&mut self, _stmt: &'a Stmt, _depth: usize) {}
}

/// Visits `items` and, depth first, the items of their blocks.
pub fn walk<'a>(items: &'a [Item], visitor: &mut impl Visitor<'a>) {
    walk_at(items, 0, visitor);
}

fn walk_at<'a>(items: &'a [Item], depth: usize, visitor: &mut impl Visitor<'a>) {
    for item in items {
        match item {
            Item::Inner(attr) => visitor.inner_attribute(attr, depth),
            Item::Stmt(stmt) => {
                visitor.enter(stmt, depth);
                if let Body::Block(block) = &stmt.body {
                    walk_at(&block.items, depth + 1, visitor);
                }
                visitor.leave(stmt, depth);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the order of the events.
    struct Trace(Vec<String>);

    impl<'a> Visitor<'a> for Trace {
        fn inner_attribute(&mut self, attr: &'a Attr, depth: usize) {
            self.0.push(format!("inner {} {depth}", attr.name.name));
        }
        fn enter(&mut self, stmt: &'a Stmt, depth: usize) {
            let what = match &stmt.body {
                Body::Rule(rule) => rule.name.name.clone(),
                Body::Block(_) => "block".into(),
                _ => "nothing".into(),
            };
            self.0.push(format!("enter {what} {depth}"));
        }
        fn leave(&mut self, _stmt: &'a Stmt, depth: usize) {
            self.0.push(format!("leave {depth}"));
        }
    }

    #[test]
    fn source_order_depth_first() {
        let (ast, _) = crate::parse(
            "#![profile \"/x\"]\nread(\"/a\")\n#[deny] {\n  write(\"/b\")\n  #![complain]\n}\nnet(unix, send)\n",
        );
        let mut trace = Trace(Vec::new());
        walk(&ast.items, &mut trace);
        assert_eq!(
            trace.0,
            [
                "inner profile 0",
                "enter read 0",
                "leave 0",
                "enter block 0",
                "enter write 1",
                "leave 1",
                "inner complain 1",
                "leave 0",
                "enter net 0",
                "leave 0",
            ]
        );
    }
}
