//! The one conversion edge: the `ide` layer's answers (byte spans, plain
//! data) and the compiler's diagnostics into LSP types, with positions in
//! the encoding the client chose (UTF-16 unless it says otherwise).

use std::collections::HashMap;

use bpfbox_compiler::{Diagnostic as BDiagnostic, Severity, Span};
use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;
use tower_lsp_server::ls_types::*;

use crate::ide::{self, Completion, CompletionKind, Definition, Highlight, HoverInfo, Insert};
use crate::position::{Encoding, Text};
use crate::{Document, State};

/// A compiler diagnostic as LSP's `Diagnostic`, serialized straight from it:
/// a publish writes thousands of these, and building an LSP value for each
/// first cost more than writing them (output.rs). `diagnostic` reads the
/// same serialization back where an LSP value is needed, so the mapping is
/// written once, here.
#[derive(Clone, Copy)]
struct DiagnosticJson<'a> {
    uri: &'a Uri,
    text: &'a Text,
    encoding: Encoding,
    d: &'a BDiagnostic,
}

impl Serialize for DiagnosticJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// The message, and the help after it on a line of its own.
        struct Message<'a>(&'a BDiagnostic);
        impl Serialize for Message<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match &self.0.help {
                    Some(help) => {
                        serializer.collect_str(&format_args!("{}\nhelp: {help}", self.0.message))
                    }
                    None => serializer.serialize_str(&self.0.message),
                }
            }
        }
        /// The diagnostic's labels, each at its place in the document.
        struct Related<'a>(&'a DiagnosticJson<'a>);
        impl Serialize for Related<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                #[derive(Serialize)]
                struct Label<'a> {
                    location: Place<'a>,
                    message: &'a str,
                }
                #[derive(Serialize)]
                struct Place<'a> {
                    uri: &'a Uri,
                    range: Range,
                }
                let DiagnosticJson {
                    uri,
                    text,
                    encoding,
                    d,
                } = *self.0;
                serializer.collect_seq(d.related.iter().map(|label| Label {
                    location: Place {
                        uri,
                        range: text.range(label.span, encoding),
                    },
                    message: &label.message,
                }))
            }
        }
        let d = self.d;
        let mut map = serializer.serialize_struct("Diagnostic", 6)?;
        map.serialize_field("range", &self.text.range(d.span, self.encoding))?;
        map.serialize_field(
            "severity",
            &match d.severity() {
                Severity::Error => DiagnosticSeverity::ERROR,
                Severity::Warning => DiagnosticSeverity::WARNING,
            },
        )?;
        map.serialize_field("code", d.code.as_str())?;
        map.serialize_field("source", "bpfbox")?;
        map.serialize_field("message", &Message(d))?;
        if !d.related.is_empty() {
            map.serialize_field("relatedInformation", &Related(self))?;
        }
        map.end()
    }
}

/// The LSP value a serialization of ours stands for. It always reads back:
/// what it writes is LSP's own shape.
fn read_back<T: serde::de::DeserializeOwned>(json: impl Serialize) -> T {
    serde_json::to_value(json)
        .and_then(serde_json::from_value)
        .expect("LSP JSON reads back as its LSP type")
}

pub fn diagnostic(uri: &Uri, text: &Text, encoding: Encoding, d: &BDiagnostic) -> Diagnostic {
    read_back(DiagnosticJson {
        uri,
        text,
        encoding,
        d,
    })
}

/// A document's diagnostics as `PublishDiagnosticsParams`, serialized
/// straight from the compiler's.
pub struct Published<'a> {
    pub uri: &'a Uri,
    pub text: &'a Text,
    pub encoding: Encoding,
    pub diagnostics: &'a [BDiagnostic],
    pub version: Option<i32>,
}

impl Serialize for Published<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_struct("PublishDiagnosticsParams", 3)?;
        map.serialize_field("uri", self.uri)?;
        map.serialize_field(
            "diagnostics",
            &Seq(self.diagnostics.iter().map(|d| DiagnosticJson {
                uri: self.uri,
                text: self.text,
                encoding: self.encoding,
                d,
            })),
        )?;
        if let Some(version) = self.version {
            map.serialize_field("version", &version)?;
        }
        map.end()
    }
}

/// A sequence serialized from an iterator (serde wants `Serialize`, which
/// an iterator is not).
struct Seq<I>(I);

impl<I: Iterator<Item = T> + Clone, T: Serialize> Serialize for Seq<I> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.clone())
    }
}

impl Published<'_> {
    /// As the LSP type, for the protocol library's client.
    pub fn to_params(&self) -> PublishDiagnosticsParams {
        read_back(self)
    }
}

/// The fixes of the diagnostics that touch `range`, as quick fixes.
pub fn code_actions(
    uri: &Uri,
    doc: &Document,
    encoding: Encoding,
    range: Range,
) -> CodeActionResponse {
    let wanted = doc.text.span(range, encoding);
    ide::fixes_touching(doc.file(), wanted)
        .filter_map(|d| {
            let fix = d.fix.as_ref()?;
            let edits: Vec<TextEdit> = fix
                .edits
                .iter()
                .map(|(span, text)| {
                    TextEdit::new(doc.text.range(*span, encoding), text.to_string())
                })
                .collect();
            Some(CodeActionOrCommand::CodeAction(CodeAction {
                title: fix.title.to_string(),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![diagnostic(uri, &doc.text, encoding, d)]),
                edit: Some(WorkspaceEdit {
                    changes: Some(HashMap::from([(uri.clone(), edits)])),
                    ..WorkspaceEdit::default()
                }),
                is_preferred: Some(true),
                ..CodeAction::default()
            }))
        })
        .collect()
}

/// One edit replacing the whole document, none when it is formatted
/// already, and no answer when it does not parse.
pub fn formatting(doc: &Document, encoding: Encoding) -> Option<Vec<TextEdit>> {
    let formatted = ide::formatted(doc.file())?;
    if formatted == doc.text.text {
        return Some(Vec::new());
    }
    let whole = doc.text.range(Span::new(0, doc.text.text.len()), encoding);
    Some(vec![TextEdit::new(whole, formatted)])
}

pub fn hover(doc: &Document, encoding: Encoding, info: HoverInfo) -> Hover {
    Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: info.markdown,
        }),
        range: Some(doc.text.range(info.span, encoding)),
    }
}

pub fn completion(doc: &Document, encoding: Encoding, c: Completion) -> CompletionItem {
    let kind = match c.kind {
        CompletionKind::Rule | CompletionKind::Function => CompletionItemKind::FUNCTION,
        CompletionKind::Attribute => CompletionItemKind::PROPERTY,
        CompletionKind::Module => CompletionItemKind::MODULE,
        CompletionKind::Word => CompletionItemKind::ENUM_MEMBER,
        CompletionKind::Keyword => CompletionItemKind::KEYWORD,
        CompletionKind::Directory => CompletionItemKind::FOLDER,
        CompletionKind::File => CompletionItemKind::FILE,
    };
    let mut item = CompletionItem {
        label: c.label,
        kind: Some(kind),
        detail: c.detail,
        documentation: c.documentation.map(Documentation::String),
        ..CompletionItem::default()
    };
    match c.insert {
        Insert::Label => {}
        Insert::Text(text) => item.insert_text = Some(text),
        Insert::Snippet(body) => {
            item.insert_text = Some(body);
            item.insert_text_format = Some(InsertTextFormat::SNIPPET);
        }
        Insert::Replace(span, text) => {
            item.text_edit = Some(CompletionTextEdit::Edit(TextEdit::new(
                doc.text.range(span, encoding),
                text,
            )))
        }
    }
    item
}

/// Where a definition is. An executable's profile lines are looked up in
/// this document, the other open ones (as they are in the editor), and
/// the workspace's policy files that are not open.
pub fn definition(
    uri: &Uri,
    doc: &Document,
    encoding: Encoding,
    definition: Definition,
    state: &State,
) -> Option<GotoDefinitionResponse> {
    match definition {
        Definition::ProfilesOf(exe) => {
            let mut found = Vec::new();
            let mut open_paths = Vec::new();
            let this: Vec<(String, Span)> = doc.profile_names();
            let others = state
                .documents
                .iter()
                .filter(|(u, _)| *u != uri)
                .map(|(u, d)| (u, &*d.text, &*d.profiles));
            for (u, text, profiles) in [(uri, &*doc.text, &this[..])].into_iter().chain(others) {
                if let Some(path) = u.to_file_path() {
                    open_paths.push(path.into_owned());
                }
                for (_, span) in profiles.iter().filter(|(e, _)| *e == exe) {
                    found.push(Location::new(u.clone(), text.range(*span, encoding)));
                }
            }
            for line in ide::workspace_profiles(&exe, &state.roots, &open_paths) {
                if let Some(file_uri) = Uri::from_file_path(&line.path) {
                    let text = Text::new(line.text);
                    found.push(Location::new(file_uri, text.range(line.span, encoding)));
                }
            }
            (!found.is_empty()).then_some(GotoDefinitionResponse::Array(found))
        }
        Definition::Here(span) => Some(GotoDefinitionResponse::Scalar(Location::new(
            uri.clone(),
            doc.text.range(span, encoding),
        ))),
        Definition::FileStart(path) => Some(GotoDefinitionResponse::Scalar(Location::new(
            Uri::from_file_path(path)?,
            Range::default(),
        ))),
        Definition::Line(path, line) => Some(GotoDefinitionResponse::Scalar(Location::new(
            Uri::from_file_path(path)?,
            Range::new(Position::new(line, 0), Position::new(line, 0)),
        ))),
    }
}

#[allow(deprecated)] // DocumentSymbol::deprecated must be written
pub fn symbol(doc: &Document, encoding: Encoding, s: ide::Symbol) -> DocumentSymbol {
    let children: Vec<DocumentSymbol> = s
        .children
        .into_iter()
        .map(|c| symbol(doc, encoding, c))
        .collect();
    DocumentSymbol {
        name: s.name,
        detail: s.detail,
        kind: match s.kind {
            ide::SymbolKind::Profile => SymbolKind::MODULE,
            ide::SymbolKind::Block => SymbolKind::NAMESPACE,
            ide::SymbolKind::Rule => SymbolKind::FUNCTION,
        },
        tags: None,
        deprecated: None,
        range: doc.text.range(s.span, encoding),
        selection_range: doc.text.range(s.selection, encoding),
        children: (!children.is_empty()).then_some(children),
    }
}

/// The semantic token types, in the legend's order.
const LEGEND: &[(Highlight, SemanticTokenType)] = &[
    (Highlight::Comment, SemanticTokenType::COMMENT),
    (Highlight::String, SemanticTokenType::STRING),
    (Highlight::Function, SemanticTokenType::FUNCTION),
    (Highlight::Attribute, SemanticTokenType::DECORATOR),
    (Highlight::InnerAttribute, SemanticTokenType::MACRO),
    (Highlight::Keyword, SemanticTokenType::KEYWORD),
    (Highlight::Word, SemanticTokenType::ENUM_MEMBER),
];

pub fn semantic_legend() -> SemanticTokensLegend {
    SemanticTokensLegend {
        token_types: LEGEND.iter().map(|(_, t)| t.clone()).collect(),
        token_modifiers: Vec::new(),
    }
}

/// Highlights as LSP's relative tokens, one per line: clients need not
/// support tokens over several lines.
pub fn semantic_tokens(
    doc: &Document,
    encoding: Encoding,
    highlights: Vec<(Span, Highlight)>,
) -> Vec<SemanticToken> {
    let text = &doc.text.text;
    let mut data = Vec::new();
    let (mut last_line, mut last_col) = (0u32, 0u32);
    for (span, kind) in highlights {
        let token_type = LEGEND.iter().position(|(h, _)| *h == kind).unwrap_or(0) as u32;
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
                    token_type,
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
