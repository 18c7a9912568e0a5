//! The editor features, each a function of a document snapshot. Offsets are
//! bytes; positions are converted at the edges with `position::Text`.

use std::collections::HashMap;
use std::path::Path;

use bpfbox_compiler::elf::Symbol;
use bpfbox_compiler::vocab::{self, RuleShape};
use bpfbox_compiler::{Diagnostic as BDiagnostic, Severity};
use bpfbox_grammar::lexer::{lex, Token};
use bpfbox_grammar::{Arg, Ast, Attr, AttrArg, Body, Ident, Item, Rule as AstRule, Span, StrLit};
use bpfbox_image::families::{family_number, FAMILIES};
use bpfbox_image::{capability_names, RuleKind, ScopeKind};
use tower_lsp_server::ls_types::*;

use crate::binaries::BinaryCache;
use crate::docs::{self, Topic};
use crate::position::Encoding;
use crate::{Document, State};

// ---- diagnostics -------------------------------------------------------------

fn to_lsp_diagnostic(uri: &Uri, doc: &Document, encoding: Encoding, d: &BDiagnostic) -> Diagnostic {
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    let related: Vec<DiagnosticRelatedInformation> = d
        .related
        .iter()
        .map(|label| DiagnosticRelatedInformation {
            location: Location::new(uri.clone(), doc.text.range(label.span, encoding)),
            message: label.message.clone(),
        })
        .collect();
    Diagnostic {
        range: doc.text.range(d.span, encoding),
        severity: Some(match d.severity() {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(d.code.as_str().to_string())),
        source: Some("bpfbox".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..Diagnostic::default()
    }
}

pub fn diagnostics(uri: &Uri, doc: &Document, encoding: Encoding) -> Vec<Diagnostic> {
    doc.analysis
        .diagnostics
        .iter()
        .map(|d| to_lsp_diagnostic(uri, doc, encoding, d))
        .collect()
}

pub fn code_actions(
    uri: &Uri,
    doc: &Document,
    encoding: Encoding,
    range: Range,
) -> CodeActionResponse {
    let wanted = doc.text.span(range, encoding);
    let mut actions = Vec::new();
    for d in &doc.analysis.diagnostics {
        let Some(fix) = &d.fix else { continue };
        let touches = d.span.start <= wanted.end && wanted.start <= d.span.end;
        if !touches {
            continue;
        }
        let edits: Vec<TextEdit> = fix
            .edits
            .iter()
            .map(|(span, text)| TextEdit::new(doc.text.range(*span, encoding), text.clone()))
            .collect();
        let mut changes = HashMap::new();
        changes.insert(uri.clone(), edits);
        actions.push(CodeActionOrCommand::CodeAction(CodeAction {
            title: fix.title.clone(),
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: Some(vec![to_lsp_diagnostic(uri, doc, encoding, d)]),
            edit: Some(WorkspaceEdit {
                changes: Some(changes),
                ..WorkspaceEdit::default()
            }),
            is_preferred: Some(true),
            ..CodeAction::default()
        }));
    }
    actions
}

pub fn formatting(doc: &Document, encoding: Encoding) -> Option<Vec<TextEdit>> {
    let formatted = bpfbox_compiler::format::format(&doc.text.text).ok()?;
    if formatted == doc.text.text {
        return Some(Vec::new());
    }
    let whole = doc.text.range(Span::new(0, doc.text.text.len()), encoding);
    Some(vec![TextEdit::new(whole, formatted)])
}

// ---- what is at an offset ----------------------------------------------------

/// A place in the syntax tree.
enum Node<'a> {
    RuleName(&'a AstRule),
    /// A word of a rule's argument `index`.
    Word(&'a AstRule, usize, &'a Ident),
    /// A string argument of a rule.
    Str(&'a AstRule, usize, &'a StrLit),
    AttrName(&'a Attr, bool),
    AttrArg(&'a Attr, &'a AttrArg),
}

fn node_at(ast: &Ast, offset: usize) -> Option<Node<'_>> {
    fn attr<'a>(a: &'a Attr, inner: bool, offset: usize) -> Option<Node<'a>> {
        if a.name.span.contains(offset) {
            return Some(Node::AttrName(a, inner));
        }
        match &a.arg {
            Some(arg) if arg.span().contains(offset) => Some(Node::AttrArg(a, arg)),
            _ => None,
        }
    }
    fn walk_items<'a>(items: &'a [Item], offset: usize) -> Option<Node<'a>> {
        for item in items {
            if !item.span().contains(offset) {
                continue;
            }
            match item {
                Item::Inner(a) => return attr(a, true, offset),
                Item::Stmt(stmt) => {
                    for a in &stmt.attrs {
                        if let Some(node) = attr(a, false, offset) {
                            return Some(node);
                        }
                    }
                    match &stmt.body {
                        Body::Rule(rule) => {
                            if rule.name.span.contains(offset) {
                                return Some(Node::RuleName(rule));
                            }
                            for (index, arg) in rule.args.iter().enumerate() {
                                match arg {
                                    Arg::Str(s) if s.span.contains(offset) => {
                                        return Some(Node::Str(rule, index, s))
                                    }
                                    Arg::Words(words) => {
                                        if let Some(w) =
                                            words.iter().find(|w| w.span.contains(offset))
                                        {
                                            return Some(Node::Word(rule, index, w));
                                        }
                                    }
                                    _ => {}
                                }
                            }
                        }
                        Body::Block(block) => {
                            if let Some(node) = walk_items(&block.items, offset) {
                                return Some(node);
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        None
    }
    walk_items(&ast.items, offset)
}

/// The profile whose text holds `offset`: the last profile line before it.
fn profile_at(doc: &Document, offset: usize) -> Option<&bpfbox_compiler::model::Profile> {
    doc.analysis
        .policy
        .profiles
        .iter()
        .rev()
        .find(|p| p.header_span.start <= offset)
}

fn flag_topic(shape: RuleShape) -> Topic {
    match shape.flag_kind() {
        RuleKind::Signal => Topic::Signal,
        RuleKind::Net => Topic::NetAccess,
        RuleKind::Ptrace => Topic::Ptrace,
        RuleKind::Cap => Topic::Capability,
        RuleKind::Sys => Topic::SysAccess,
        _ => Topic::FsAccess,
    }
}

fn symbol_markdown(symbol: &Symbol, binary: &Path) -> String {
    let mut text = format!(
        "**`{}`** in `{}`\n\nfile offset `{:#x}` (uprobe), address `{:#x}`, {} bytes",
        symbol.display_name(),
        binary.display(),
        symbol.offset,
        symbol.address,
        symbol.size
    );
    if symbol.demangled.is_some() {
        text.push_str(&format!("\n\nsymbol `{}`", symbol.raw));
    }
    text
}

fn path_markdown(path: &str) -> String {
    if let Some(dir) = path.strip_suffix("/**") {
        return match std::fs::metadata(if dir.is_empty() { "/" } else { dir }) {
            Ok(m) if m.is_dir() => {
                format!("everything below the directory `{dir}`, including files created later")
            }
            Ok(_) => format!("`{dir}` is not a directory: nothing is below it"),
            Err(_) => format!("`{dir}` does not exist on this machine"),
        };
    }
    if path.contains('*') {
        return format!("pattern `{path}`: expanded when the policy is loaded");
    }
    match std::fs::symlink_metadata(path) {
        Err(_) => {
            format!("`{path}` does not exist on this machine: its rule would have no effect here")
        }
        Ok(m) if m.file_type().is_symlink() => {
            let target = std::fs::read_link(path)
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            format!(
                "`{path}` is a symbolic link to `{target}`: rules apply to the file it points to"
            )
        }
        Ok(m) if m.is_dir() => format!("`{path}` is a directory"),
        Ok(m) => {
            use std::os::unix::fs::PermissionsExt;
            format!(
                "`{path}` is a file, {} bytes, mode {:o}",
                m.len(),
                m.permissions().mode() & 0o7777
            )
        }
    }
}

pub fn hover(
    doc: &Document,
    encoding: Encoding,
    position: Position,
    binaries: &BinaryCache,
) -> Option<Hover> {
    let offset = doc.text.offset(position, encoding);
    let ast = &doc.analysis.ast;
    let (text, span) = match node_at(ast, offset)? {
        Node::RuleName(rule) => {
            let name = rule.name.name.as_str();
            let mut text = docs::lookup(Topic::Rule, name)?.to_string();
            if let Some(RuleShape::FsSugar(_)) = vocab::rule_shape(name) {
                if let Some(flag) = docs::lookup(Topic::FsAccess, name) {
                    text = format!("`{name}(PATH)` is `fs(PATH, {name})`\n\n{flag}");
                }
            }
            (text, rule.name.span)
        }
        Node::Word(rule, index, word) => {
            let shape = vocab::rule_shape(&rule.name.name)?;
            let w = word.name.as_str();
            let text = if w == vocab::SELF {
                let exe =
                    profile_at(doc, offset).map_or("(no profile)".to_string(), |p| p.exe.clone());
                format!("`self`: this profile's own executable, `{exe}`")
            } else if w == vocab::ANY {
                "`any`: every access flag of the rule's kind".to_string()
            } else if shape == RuleShape::Net && index == 0 {
                let number = family_number(w)?;
                format!("address family `AF_{}` ({number})", w.to_uppercase())
            } else {
                docs::lookup(flag_topic(shape), w)?.to_string()
            };
            (text, word.span)
        }
        Node::Str(_, _, lit) => (path_markdown(&lit.value), lit.span),
        Node::AttrName(attr, inner) => {
            let name = attr.name.name.as_str();
            let text = if inner && name == "profile" {
                "`#![profile \"PATH\"]` starts a profile for the executable at PATH: every rule after it, up to the next profile line, belongs to it".to_string()
            } else if inner {
                docs::lookup(Topic::FileAttribute, name)?.to_string()
            } else {
                docs::lookup(Topic::Attribute, name)?.to_string()
            };
            (text, attr.name.span)
        }
        Node::AttrArg(attr, arg) => {
            let name = arg.value();
            let text = match attr.name.name.as_str() {
                "func" => {
                    let profile = profile_at(doc, offset)?;
                    let scope = profile.scopes.iter().find(|s| s.kind == ScopeKind::User && s.name == name)?;
                    match (&scope.symbol, binaries.get_exe(&profile.exe)) {
                        (Some(symbol), Some(Ok(elf))) => symbol_markdown(symbol, &elf.path),
                        (_, Some(Err(e))) => format!("`{name}`: {e}"),
                        _ => format!("`{name}` in `{}`: not resolved yet", profile.exe),
                    }
                }
                "kfunc" => format!("kernel function `{name}`: checked against the running kernel when the policy is loaded"),
                "profile" => path_markdown(name),
                "include" => include_markdown(doc, attr, arg),
                _ => return None,
            };
            (text, arg.span())
        }
    };
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: text,
        }),
        range: Some(doc.text.range(span, encoding)),
    })
}

/// What an `#![include]` adds: the fragment, and the rules it gave the
/// profile (they stand at the include line).
fn include_markdown(doc: &Document, attr: &Attr, arg: &AttrArg) -> String {
    let name = arg.value();
    let mut text = match bpfbox_compiler::include::bundled(name) {
        Some(bundled) if matches!(arg, AttrArg::Ident(_)) => {
            format!("bpfbox's fragment `{name}`: {}", bundled.doc)
        }
        _ => format!("the rules of `{name}`"),
    };
    let rules: Vec<String> = doc
        .analysis
        .policy
        .profiles
        .iter()
        .flat_map(|p| &p.rules)
        .filter(|r| r.span == attr.span)
        .map(|r| {
            let flags: Vec<&str> = r
                .kind
                .flags()
                .iter()
                .filter(|(_, bit)| u32::from(r.access) & bit != 0)
                .map(|(n, _)| *n)
                .collect();
            format!("- `{}` {}", target_text(&r.target), flags.join("|"))
        })
        .collect();
    if rules.is_empty() {
        text.push_str("\n\nNo rules (yet: a binary is read after typing stops).");
    } else {
        text.push_str(&format!("\n\n{} rules:\n{}", rules.len(), rules.join("\n")));
    }
    text
}

fn target_text(target: &bpfbox_image::Target) -> String {
    use bpfbox_image::Target;
    match target {
        Target::Path(p) | Target::Exe(Some(p)) => p.clone(),
        Target::Exe(None) => vocab::SELF.into(),
        Target::Family(f) => {
            bpfbox_image::families::family_name(*f).map_or(f.to_string(), str::to_string)
        }
        Target::Capability(c) => {
            bpfbox_image::capability_name(*c).map_or(c.to_string(), str::to_string)
        }
        Target::Nothing => String::new(),
    }
}

// ---- completion --------------------------------------------------------------

/// What the cursor is in the middle of, from the tokens before it (the tree
/// may be broken while typing).
#[derive(Debug, PartialEq)]
enum Context {
    Statement,
    Attribute,
    FileAttribute,
    FuncName,
    /// After `#![include `: a fragment bpfbox ships.
    Fragment,
    /// Argument `index` of rule `name`.
    RuleArg(String, usize),
    /// Inside a string; the text typed after the quote.
    Path(String, Span),
}

fn context(text: &str, offset: usize) -> Context {
    let lexed = lex(text);
    enum Open {
        Paren(String, usize),
        Attr(bool),
        Brace,
    }
    let mut stack: Vec<Open> = Vec::new();
    let mut previous: Option<(Token, Span)> = None;
    let mut attr_name: Option<String> = None;
    for &(start, token, end) in &lexed.tokens {
        if start == end {
            continue; // closers the lexer supplied
        }
        let span = Span::new(start, end);
        if token == Token::Str
            && start < offset
            && (offset < end || !text[start..end].ends_with(['"', '\'']))
        {
            let typed = text[start + 1..offset.min(end)].to_string();
            return Context::Path(typed, Span::new(start + 1, offset));
        }
        if start >= offset || (token == Token::Ident && end >= offset) {
            break;
        }
        match token {
            Token::LParen => {
                let name = match previous {
                    Some((Token::Ident, s)) => text[s.range()].to_string(),
                    _ => String::new(),
                };
                stack.push(Open::Paren(name, 0));
            }
            Token::Comma => {
                if let Some(Open::Paren(_, index)) = stack.last_mut() {
                    *index += 1;
                }
            }
            Token::AttrOpen | Token::InnerAttrOpen => {
                stack.push(Open::Attr(token == Token::InnerAttrOpen));
                attr_name = None;
            }
            Token::Ident
                if matches!(stack.last(), Some(Open::Attr(_)))
                    && matches!(previous, Some((Token::AttrOpen | Token::InnerAttrOpen, _))) =>
            {
                attr_name = Some(text[span.range()].to_string());
            }
            Token::LBrace => stack.push(Open::Brace),
            Token::RParen | Token::RBracket | Token::RBrace => {
                stack.pop();
            }
            _ => {}
        }
        previous = Some((token, span));
    }
    match stack.last() {
        Some(Open::Paren(name, index)) => Context::RuleArg(name.clone(), *index),
        Some(Open::Attr(inner)) => match (attr_name.as_deref(), *inner) {
            (Some("func"), false) => Context::FuncName,
            (Some("include"), true) => Context::Fragment,
            (None, false) => Context::Attribute,
            (None, true) => Context::FileAttribute,
            _ => Context::Statement,
        },
        _ => Context::Statement,
    }
}

fn item(label: &str, kind: CompletionItemKind, detail: Option<&str>) -> CompletionItem {
    CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail: detail.map(str::to_string),
        ..CompletionItem::default()
    }
}

fn snippet(
    label: &str,
    insert: &str,
    kind: CompletionItemKind,
    detail: Option<&str>,
) -> CompletionItem {
    CompletionItem {
        insert_text: Some(insert.to_string()),
        insert_text_format: Some(InsertTextFormat::SNIPPET),
        ..item(label, kind, detail)
    }
}

fn first_line(text: Option<&str>) -> Option<&str> {
    text.map(|t| t.split(" — ").nth(1).unwrap_or(t))
}

pub fn completion(
    doc: &Document,
    encoding: Encoding,
    position: Position,
    binaries: &BinaryCache,
) -> Vec<CompletionItem> {
    let offset = doc.text.offset(position, encoding);
    let text = &doc.text.text;
    match context(text, offset) {
        Context::Statement => {
            let mut items: Vec<CompletionItem> = vocab::rule_names()
                .into_iter()
                .map(|(name, shape)| {
                    let body = match shape {
                        RuleShape::FsSugar(_) => format!("{name}(\"$1\")"),
                        RuleShape::Ptrace => format!("{name}(${{1:self}})"),
                        RuleShape::Net => format!("{name}(${{1:inet}}, $2)"),
                        RuleShape::Fs => format!("{name}(\"$1\", $2)"),
                        RuleShape::Cap | RuleShape::Sys => format!("{name}($1)"),
                        _ => format!("{name}(${{1:self}}, $2)"),
                    };
                    snippet(
                        name,
                        &body,
                        CompletionItemKind::FUNCTION,
                        Some(&shape.signature(name)),
                    )
                })
                .collect();
            for (name, takes_arg) in vocab::ATTRIBUTES {
                let body = if *takes_arg {
                    format!("#[{name} $1]")
                } else {
                    format!("#[{name}]")
                };
                items.push(snippet(
                    &format!("#[{name}]"),
                    &body,
                    CompletionItemKind::PROPERTY,
                    first_line(docs::lookup(Topic::Attribute, name)),
                ));
            }
            items.push(snippet(
                "#![profile]",
                "#![profile \"$1\"]",
                CompletionItemKind::MODULE,
                Some("start a profile"),
            ));
            items
        }
        Context::Attribute => vocab::ATTRIBUTES
            .iter()
            .map(|(name, _)| {
                item(
                    name,
                    CompletionItemKind::PROPERTY,
                    first_line(docs::lookup(Topic::Attribute, name)),
                )
            })
            .collect(),
        Context::FileAttribute => vocab::INNER_ATTRIBUTES
            .iter()
            .map(|(name, _)| item(name, CompletionItemKind::MODULE, None))
            .collect(),
        Context::Fragment => bpfbox_compiler::include::BUNDLED
            .iter()
            .map(|b| CompletionItem {
                documentation: Some(Documentation::String(b.doc.to_string())),
                ..item(b.name, CompletionItemKind::MODULE, Some("bundled fragment"))
            })
            .collect(),
        Context::FuncName => {
            let Some(profile) = profile_at(doc, offset) else {
                return Vec::new();
            };
            match binaries.get_exe(&profile.exe) {
                Some(Ok(elf)) => {
                    let mut seen = std::collections::HashSet::new();
                    elf.symbols
                        .iter()
                        .filter(|s| seen.insert(s.display_name().to_string()))
                        .map(|s| {
                            let name = s.display_name();
                            let plain = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                            CompletionItem {
                                insert_text: (!plain).then(|| format!("{name:?}")),
                                detail: Some(format!("offset {:#x}", s.offset)),
                                ..item(name, CompletionItemKind::FUNCTION, None)
                            }
                        })
                        .collect()
                }
                _ => Vec::new(),
            }
        }
        Context::RuleArg(rule, index) => {
            let Some(shape) = vocab::rule_shape(&rule) else {
                return Vec::new();
            };
            // The words of a table, documented by the spec's `topic`, and `any`.
            let words = |names: &[(&str, u32)], topic: Topic, any: &str| -> Vec<CompletionItem> {
                names
                    .iter()
                    .map(|(name, _)| {
                        item(
                            name,
                            CompletionItemKind::ENUM_MEMBER,
                            first_line(docs::lookup(topic, name)),
                        )
                    })
                    .chain([item(vocab::ANY, CompletionItemKind::ENUM_MEMBER, Some(any))])
                    .collect()
            };
            let flags = |kind: RuleKind, topic: Topic| words(kind.flags(), topic, "every flag");
            match (shape, index) {
                (RuleShape::Net, 0) => FAMILIES
                    .iter()
                    .map(|(name, n)| {
                        item(
                            name,
                            CompletionItemKind::ENUM_MEMBER,
                            Some(&format!("AF_{} ({n})", name.to_uppercase())),
                        )
                    })
                    .collect(),
                (RuleShape::Proc | RuleShape::Signal | RuleShape::Ptrace, 0) => vec![item(
                    vocab::SELF,
                    CompletionItemKind::KEYWORD,
                    Some("this profile's executable"),
                )],
                (RuleShape::Fs | RuleShape::Proc, 1) => flags(RuleKind::File, Topic::FsAccess),
                (RuleShape::Signal, 1) => flags(RuleKind::Signal, Topic::Signal),
                (RuleShape::Net, 1) => flags(RuleKind::Net, Topic::NetAccess),
                (RuleShape::Sys, 0) => flags(RuleKind::Sys, Topic::SysAccess),
                (RuleShape::Cap, 0) => {
                    words(capability_names(), Topic::Capability, "every capability")
                }
                _ => Vec::new(),
            }
        }
        Context::Path(typed, span) => path_completions(doc, encoding, &typed, span),
    }
}

/// Entries of the directory the typed path is in.
fn path_completions(
    doc: &Document,
    encoding: Encoding,
    typed: &str,
    span: Span,
) -> Vec<CompletionItem> {
    let Some(slash) = typed.rfind('/') else {
        return Vec::new();
    };
    let (dir, prefix) = (&typed[..=slash], &typed[slash + 1..]);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let replace = doc
        .text
        .range(Span::new(span.start + slash + 1, span.end), encoding);
    let mut names: Vec<(String, bool)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let is_dir = e.file_type().ok()?.is_dir();
            name.starts_with(prefix).then_some((name, is_dir))
        })
        .collect();
    names.sort();
    names.truncate(500);
    names
        .into_iter()
        .map(|(name, is_dir)| {
            let label = if is_dir { format!("{name}/") } else { name };
            CompletionItem {
                text_edit: Some(CompletionTextEdit::Edit(TextEdit::new(
                    replace,
                    label.clone(),
                ))),
                ..item(
                    &label,
                    if is_dir {
                        CompletionItemKind::FOLDER
                    } else {
                        CompletionItemKind::FILE
                    },
                    None,
                )
            }
        })
        .collect()
}

// ---- go to definition ----------------------------------------------------------

/// Policy files of the workspace (bounded walk).
fn workspace_policies(roots: &[std::path::PathBuf]) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut queue: Vec<(std::path::PathBuf, usize)> =
        roots.iter().map(|r| (r.clone(), 0)).collect();
    while let Some((dir, depth)) = queue.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name == "target" || name == "node_modules" {
                continue;
            }
            match entry.file_type() {
                Ok(t) if t.is_dir() && depth < 8 => queue.push((path, depth + 1)),
                Ok(t) if t.is_file() && name.ends_with(".policy") && out.len() < 2000 => {
                    out.push(path)
                }
                _ => {}
            }
        }
    }
    out
}

/// Where `exe`'s profile line is: in this document, the other open ones,
/// or the workspace's policy files.
fn profile_definitions(
    exe: &str,
    uri: &Uri,
    doc: &Document,
    encoding: Encoding,
    state: &State,
) -> Vec<Location> {
    let mut out = Vec::new();
    let mut seen_paths = Vec::new();
    let this = doc.profile_names();
    type Profiles<'a> = &'a [(String, Span)];
    let mut documents: Vec<(&Uri, &crate::position::Text, Profiles)> =
        vec![(uri, &doc.text, &this)];
    documents.extend(
        state
            .documents
            .iter()
            .filter(|(u, _)| *u != uri)
            .map(|(u, d)| (u, &*d.text, &*d.profiles)),
    );
    for (u, text, profiles) in documents {
        if let Some(path) = u.to_file_path() {
            seen_paths.push(path.into_owned());
        }
        for (_, span) in profiles.iter().filter(|(e, _)| e == exe) {
            out.push(Location::new(u.clone(), text.range(*span, encoding)));
        }
    }
    for path in workspace_policies(&state.roots) {
        if seen_paths.contains(&path) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let (ast, _) = bpfbox_grammar::parse(&text);
        let (policy, _) = bpfbox_compiler::check::check(&text, &ast);
        let lines = crate::position::Text::new(text);
        for profile in policy.profiles.iter().filter(|p| p.exe == exe) {
            if let Some(file_uri) = Uri::from_file_path(&path) {
                out.push(Location::new(
                    file_uri,
                    lines.range(profile.exe_span, encoding),
                ));
            }
        }
    }
    out
}

pub fn definition(
    uri: &Uri,
    doc: &Document,
    encoding: Encoding,
    position: Position,
    state: &State,
    binaries: &BinaryCache,
) -> Option<GotoDefinitionResponse> {
    let offset = doc.text.offset(position, encoding);
    match node_at(&doc.analysis.ast, offset)? {
        Node::Str(rule, 0, lit)
            if matches!(
                vocab::rule_shape(&rule.name.name),
                Some(RuleShape::Proc | RuleShape::Signal | RuleShape::Ptrace)
            ) =>
        {
            let found = profile_definitions(&lit.value, uri, doc, encoding, state);
            (!found.is_empty()).then_some(GotoDefinitionResponse::Array(found))
        }
        Node::Word(rule, 0, word)
            if word.name == vocab::SELF && vocab::rule_shape(&rule.name.name).is_some() =>
        {
            let profile = profile_at(doc, offset)?;
            Some(GotoDefinitionResponse::Scalar(Location::new(
                uri.clone(),
                doc.text.range(profile.exe_span, encoding),
            )))
        }
        Node::AttrArg(attr, AttrArg::Str(lit)) if attr.name.name == "include" => {
            let here = uri.to_file_path()?;
            let target = here.parent()?.join(&lit.value);
            if !target.is_file() {
                return None;
            }
            Some(GotoDefinitionResponse::Scalar(Location::new(
                Uri::from_file_path(target)?,
                Range::default(),
            )))
        }
        Node::AttrArg(attr, arg) if attr.name.name == "func" => {
            let profile = profile_at(doc, offset)?;
            let scope = profile
                .scopes
                .iter()
                .find(|s| s.kind == ScopeKind::User && s.name == arg.value())?;
            let symbol = scope.symbol.as_ref()?;
            let Some(Ok(elf)) = binaries.get_exe(&profile.exe) else {
                return None;
            };
            let loader = addr2line::Loader::new(&elf.path).ok()?;
            let location = loader.find_location(symbol.address).ok()??;
            let file = location.file?;
            let line = location.line?.saturating_sub(1);
            let target = Uri::from_file_path(file)?;
            Some(GotoDefinitionResponse::Scalar(Location::new(
                target,
                Range::new(Position::new(line, 0), Position::new(line, 0)),
            )))
        }
        _ => None,
    }
}

// ---- document symbols ----------------------------------------------------------

#[allow(deprecated)]
fn symbol(
    name: String,
    detail: Option<String>,
    kind: SymbolKind,
    range: Range,
    selection: Range,
    children: Vec<DocumentSymbol>,
) -> DocumentSymbol {
    DocumentSymbol {
        name,
        detail,
        kind,
        tags: None,
        deprecated: None,
        range,
        selection_range: selection,
        children: (!children.is_empty()).then_some(children),
    }
}

fn item_symbols(
    doc: &Document,
    encoding: Encoding,
    items: &[Item],
    within: Span,
) -> Vec<DocumentSymbol> {
    let text = &doc.text.text;
    let mut out = Vec::new();
    for item in items {
        let Item::Stmt(stmt) = item else { continue };
        if !(within.start <= stmt.span.start && stmt.span.end <= within.end) {
            continue;
        }
        let attrs = stmt
            .attrs
            .iter()
            .map(|a| text[a.span.range()].to_string())
            .collect::<Vec<_>>()
            .join(" ");
        let range = doc.text.range(stmt.span, encoding);
        match &stmt.body {
            Body::Block(block) => {
                let name = if attrs.is_empty() {
                    "{ }".to_string()
                } else {
                    attrs
                };
                let children = item_symbols(doc, encoding, &block.items, within);
                let selection = doc
                    .text
                    .range(stmt.attrs.first().map_or(block.span, |a| a.span), encoding);
                out.push(symbol(
                    name,
                    None,
                    SymbolKind::NAMESPACE,
                    range,
                    selection,
                    children,
                ));
            }
            Body::Rule(rule) => {
                let detail = (!attrs.is_empty()).then_some(attrs);
                out.push(symbol(
                    text[rule.span.range()].to_string(),
                    detail,
                    SymbolKind::FUNCTION,
                    range,
                    doc.text.range(rule.name.span, encoding),
                    Vec::new(),
                ));
            }
            _ => {}
        }
    }
    out
}

pub fn symbols(doc: &Document, encoding: Encoding) -> Vec<DocumentSymbol> {
    let profiles = &doc.analysis.policy.profiles;
    profiles
        .iter()
        .enumerate()
        .map(|(i, profile)| {
            // A profile runs from its line to the next profile line.
            let end = profiles
                .get(i + 1)
                .map_or(doc.text.text.len(), |next| next.header_span.start);
            let within = Span::new(profile.header_span.start, end);
            let children = item_symbols(doc, encoding, &doc.analysis.ast.items, within);
            let detail = profile.complain.then(|| "complain mode".to_string());
            symbol(
                profile.exe.clone(),
                detail,
                SymbolKind::MODULE,
                doc.text.range(profile.span, encoding),
                doc.text.range(profile.exe_span, encoding),
                children,
            )
        })
        .collect()
}

// ---- semantic tokens -------------------------------------------------------------

const TOKEN_TYPES: &[SemanticTokenType] = &[
    SemanticTokenType::COMMENT,
    SemanticTokenType::STRING,
    SemanticTokenType::FUNCTION,
    SemanticTokenType::DECORATOR,
    SemanticTokenType::MACRO,
    SemanticTokenType::KEYWORD,
    SemanticTokenType::ENUM_MEMBER,
];

pub fn semantic_legend() -> SemanticTokensLegend {
    SemanticTokensLegend {
        token_types: TOKEN_TYPES.to_vec(),
        token_modifiers: Vec::new(),
    }
}

fn token_index(t: &SemanticTokenType) -> u32 {
    TOKEN_TYPES.iter().position(|x| x == t).unwrap_or(0) as u32
}

pub fn semantic_tokens(doc: &Document, encoding: Encoding) -> Vec<SemanticToken> {
    let text = &doc.text.text;
    let mut spans: Vec<(Span, u32)> = Vec::new();
    fn walk(items: &[Item], spans: &mut Vec<(Span, u32)>) {
        let attr = |a: &Attr, inner: bool, spans: &mut Vec<(Span, u32)>| {
            let kind = if inner {
                &SemanticTokenType::MACRO
            } else {
                &SemanticTokenType::DECORATOR
            };
            spans.push((Span::new(a.span.start, a.name.span.end), token_index(kind)));
            if let Some(AttrArg::Ident(i)) = &a.arg {
                spans.push((i.span, token_index(&SemanticTokenType::FUNCTION)));
            }
        };
        for item in items {
            match item {
                Item::Inner(a) => attr(a, true, spans),
                Item::Stmt(stmt) => {
                    for a in &stmt.attrs {
                        attr(a, false, spans);
                    }
                    match &stmt.body {
                        Body::Rule(rule) => {
                            spans.push((rule.name.span, token_index(&SemanticTokenType::FUNCTION)));
                            for arg in &rule.args {
                                if let Arg::Words(words) = arg {
                                    for w in words {
                                        let kind = if w.name == vocab::SELF {
                                            &SemanticTokenType::KEYWORD
                                        } else {
                                            &SemanticTokenType::ENUM_MEMBER
                                        };
                                        spans.push((w.span, token_index(kind)));
                                    }
                                }
                            }
                        }
                        Body::Block(block) => walk(&block.items, spans),
                        _ => {}
                    }
                }
            }
        }
    }
    walk(&doc.analysis.ast.items, &mut spans);
    let lexed = lex(text);
    for (start, token, end) in lexed.tokens {
        if token == Token::Str && start < end {
            spans.push((
                Span::new(start, end),
                token_index(&SemanticTokenType::STRING),
            ));
        }
    }
    for comment in &doc.analysis.ast.comments {
        spans.push((comment.span, token_index(&SemanticTokenType::COMMENT)));
    }
    // An attribute token covers `#[name`; keep the first of overlapping spans.
    spans.sort_by_key(|(s, _)| (s.start, s.end));
    let mut data = Vec::new();
    let (mut last_line, mut last_col) = (0u32, 0u32);
    let mut covered = 0usize;
    for (span, kind) in spans {
        if span.start < covered || span.is_empty() {
            continue;
        }
        covered = span.end;
        // One token per line: clients need not support multi-line tokens.
        let mut start = span.start;
        while start < span.end {
            let line_end = text[start..span.end]
                .find('\n')
                .map_or(span.end, |i| start + i);
            if line_end > start {
                let from = doc.text.position(start, encoding);
                let to = doc.text.position(line_end, encoding);
                let delta_line = from.line - last_line;
                let delta_start = if delta_line == 0 {
                    from.character - last_col
                } else {
                    from.character
                };
                data.push(SemanticToken {
                    delta_line,
                    delta_start,
                    length: to.character - from.character,
                    token_type: kind,
                    token_modifiers_bitset: 0,
                });
                last_line = from.line;
                last_col = from.character;
            }
            start = line_end + 1;
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(text_with_cursor: &str) -> Context {
        let offset = text_with_cursor.find('‸').unwrap();
        let text = text_with_cursor.replace('‸', "");
        context(&text, offset)
    }

    #[test]
    fn completion_contexts() {
        assert_eq!(ctx("#![profile \"/x\"]\n‸"), Context::Statement);
        assert_eq!(ctx("#![profile \"/x\"]\nre‸"), Context::Statement);
        assert_eq!(ctx("#![profile \"/x\"]\n#[al‸"), Context::Attribute);
        assert_eq!(ctx("#![‸"), Context::FileAttribute);
        assert_eq!(ctx("#![profile \"/x\"]\n#[func ‸"), Context::FuncName);
        assert_eq!(ctx("#![profile \"/x\"]\n#![include ‸"), Context::Fragment);
        assert_eq!(
            ctx("#![profile \"/x\"]\nfs(\"/etc\", read|‸)"),
            Context::RuleArg("fs".into(), 1)
        );
        assert_eq!(
            ctx("#![profile \"/x\"]\nnet(‸"),
            Context::RuleArg("net".into(), 0)
        );
        assert_eq!(
            ctx("#![profile \"/x\"]\n{ signal(self, sig‸ }"),
            Context::RuleArg("signal".into(), 1)
        );
        match ctx("#![profile \"/x\"]\nread(\"/etc/pa‸\")") {
            Context::Path(typed, _) => assert_eq!(typed, "/etc/pa"),
            other => panic!("{other:?}"),
        }
        match ctx("#![profile \"/x\"]\nread(\"/et‸") {
            Context::Path(typed, _) => assert_eq!(typed, "/et"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn families_have_numbers() {
        assert!(FAMILIES.iter().all(|(n, _)| family_number(n).is_some()));
    }
}
