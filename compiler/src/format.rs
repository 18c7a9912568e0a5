//! The canonical layout of a policy (`bpfboxc --fmt`). Idempotent, and it
//! keeps every comment: own-line comments stay on their own line before what
//! followed them, trailing comments stay at the end of their line.
//!
//! Layout: 4-space indentation; a blank line before each profile line and
//! where the source had one; `#[func]`/`#[kfunc]` each on its own line, then
//! the action attributes together on one line, followed by ` {` for a block
//! or by the rule on the next line; flags as `a|b`, strings double-quoted.

use bpfbox_grammar::{parse, Arg, Attr, AttrArg, Body, Diagnostic, Item, Severity, Span, StrLit};

/// The formatted text, or the syntax errors that prevent formatting.
pub fn format(text: &str) -> Result<String, Vec<Diagnostic>> {
    let (ast, diagnostics) = parse(text);
    let errors: Vec<Diagnostic> = diagnostics
        .into_iter()
        .filter(|d| d.severity() == Severity::Error)
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut formatter = Formatter {
        text,
        comments: &ast.comments,
        next_comment: 0,
        lines: Vec::new(),
        last_end: 0,
    };
    formatter.items(&ast.items, 0, true);
    formatter.comments_before(text.len(), 0);
    let mut out = formatter.lines.join("\n");
    out.push('\n');
    if out.trim().is_empty() {
        out.clear();
    }
    Ok(out)
}

struct Formatter<'a> {
    text: &'a str,
    comments: &'a [bpfbox_grammar::lexer::Comment],
    next_comment: usize,
    lines: Vec<String>,
    /// End of the last source text emitted, for blank-line detection.
    last_end: usize,
}

impl Formatter<'_> {
    fn blank_line_before(&self, start: usize) -> bool {
        self.text[self.last_end.min(start)..start]
            .matches('\n')
            .count()
            >= 2
    }

    fn push_blank(&mut self) {
        if self
            .lines
            .last()
            .is_some_and(|l| !l.is_empty() && !l.trim_end().ends_with('{'))
        {
            self.lines.push(String::new());
        }
    }

    /// Own-line comments that start before `end`.
    fn comments_before(&mut self, end: usize, depth: usize) {
        while let Some(comment) = self
            .comments
            .get(self.next_comment)
            .filter(|c| c.span.start < end)
        {
            if self.blank_line_before(comment.span.start) {
                self.push_blank();
            }
            let body = self.text[comment.span.range()].trim_end();
            self.lines.push(format!("{}{}", indent(depth), body));
            self.last_end = comment.span.end;
            self.next_comment += 1;
        }
    }

    /// Comments on the same source line right after `end` stay trailing.
    fn trailing_comments(&mut self, end: usize) {
        self.last_end = self.last_end.max(end);
        while let Some(comment) = self.comments.get(self.next_comment) {
            let gap = &self.text[self.last_end..comment.span.start];
            if gap.contains('\n') || comment.span.start < self.last_end {
                break;
            }
            let body = self.text[comment.span.range()].trim_end().to_string();
            if let Some(line) = self.lines.last_mut() {
                line.push(' ');
                line.push_str(&body);
            }
            self.last_end = comment.span.end;
            self.next_comment += 1;
        }
    }

    /// Emits a unit of output covering source `span`.
    fn unit(&mut self, span: Span, depth: usize, lines: Vec<String>, blank_before: bool) {
        self.comments_before(span.end, depth);
        if blank_before || self.blank_line_before(span.start) {
            self.push_blank();
        }
        for line in lines {
            self.lines.push(format!("{}{}", indent(depth), line));
        }
        self.trailing_comments(span.end);
    }

    fn items(&mut self, items: &[Item], depth: usize, top: bool) {
        for item in items {
            match item {
                Item::Inner(attr) => {
                    let is_profile = attr.name.name == "profile";
                    self.unit(
                        attr.span,
                        depth,
                        vec![attribute("#![", attr)],
                        top && is_profile && !self.lines.is_empty(),
                    );
                }
                Item::Stmt(stmt) => {
                    let (scopes, actions): (Vec<&Attr>, Vec<&Attr>) = stmt
                        .attrs
                        .iter()
                        .partition(|a| matches!(a.name.name.as_str(), "func" | "kfunc"));
                    let mut lines: Vec<String> =
                        scopes.iter().map(|a| attribute("#[", a)).collect();
                    if !actions.is_empty() {
                        lines.push(
                            actions
                                .iter()
                                .map(|a| attribute("#[", a))
                                .collect::<Vec<_>>()
                                .join(" "),
                        );
                    }
                    let attrs_end = stmt.attrs.last().map(|a| a.span.end);
                    match &stmt.body {
                        Body::Rule(rule) => {
                            if let Some(end) = attrs_end {
                                self.unit(Span::new(stmt.span.start, end), depth, lines, false);
                                self.unit(rule.span, depth, vec![format_rule(rule)], false);
                            } else {
                                self.unit(rule.span, depth, vec![format_rule(rule)], false);
                            }
                        }
                        Body::Block(block) => {
                            match lines.last_mut() {
                                Some(last) => last.push_str(" {"),
                                None => lines.push("{".into()),
                            }
                            self.unit(
                                Span::new(stmt.span.start, block.span.start + 1),
                                depth,
                                lines,
                                false,
                            );
                            self.items(&block.items, depth + 1, false);
                            let close = Span::new(block.span.end.saturating_sub(1), block.span.end);
                            self.comments_before(close.start, depth + 1);
                            self.lines.push(format!("{}}}", indent(depth)));
                            self.trailing_comments(close.end);
                        }
                        // Both are errors, and errors stop formatting.
                        Body::Nothing | Body::Error(_) => {}
                    }
                }
            }
        }
    }
}

fn indent(depth: usize) -> String {
    "    ".repeat(depth)
}

/// `#[name arg]`, or `#![name arg]` with `open` "#![".
fn attribute(open: &str, attr: &Attr) -> String {
    match &attr.arg {
        None => format!("{open}{}]", attr.name.name),
        Some(AttrArg::Ident(ident)) => format!("{open}{} {}]", attr.name.name, ident.name),
        Some(AttrArg::Str(s)) => format!("{open}{} {}]", attr.name.name, quote(s)),
    }
}

fn format_rule(rule: &bpfbox_grammar::Rule) -> String {
    let args: Vec<String> = rule
        .args
        .iter()
        .map(|arg| match arg {
            Arg::Str(s) => quote(s),
            Arg::Words(words) => words
                .iter()
                .map(|w| w.name.as_str())
                .collect::<Vec<_>>()
                .join("|"),
        })
        .collect();
    format!("{}({})", rule.name.name, args.join(", "))
}

/// Double quotes, unless the value holds `"` but no `'`.
fn quote(s: &StrLit) -> String {
    let q = if s.value.contains('"') && !s.value.contains('\'') {
        '\''
    } else {
        '"'
    };
    let mut out = String::with_capacity(s.value.len() + 2);
    out.push(q);
    for c in s.value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}
