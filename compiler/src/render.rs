//! Diagnostics for people (codespan-reporting, rustc style) and for tools
//! (one JSON object per line).

use bpfbox_grammar::{Code, Diagnostic, Severity, Span};
use codespan_reporting::diagnostic::{
    Diagnostic as CsDiagnostic, Label as CsLabel, Severity as CsSeverity,
};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, termcolor};
use serde::Serialize;

fn to_codespan(diagnostic: &Diagnostic) -> CsDiagnostic<()> {
    let severity = match diagnostic.severity() {
        Severity::Error => CsSeverity::Error,
        Severity::Warning => CsSeverity::Warning,
    };
    let mut labels =
        vec![CsLabel::primary((), diagnostic.span.range()).with_message(&diagnostic.label)];
    labels.extend(
        diagnostic
            .related
            .iter()
            .map(|label| CsLabel::secondary((), label.span.range()).with_message(&label.message)),
    );
    let mut notes = Vec::new();
    if let Some(help) = &diagnostic.help {
        notes.push(format!("help: {help}"));
    }
    CsDiagnostic::new(severity)
        .with_code(diagnostic.code.as_str())
        .with_message(&diagnostic.message)
        .with_labels(labels)
        .with_notes(notes)
}

/// How many warnings of one code a person is shown in full. A policy
/// compiled away from its target can have thousands of one kind (W0004 for
/// each missing path): the rest are counted in one line per code. JSON and
/// the editor keep every one.
pub const SHOWN_PER_CODE: usize = 3;

/// What a person is shown: every error, the first [`SHOWN_PER_CODE`]
/// warnings of each code, then per code a count of the warnings held back.
fn for_people(diagnostics: &[Diagnostic]) -> Vec<CsDiagnostic<()>> {
    let mut seen: std::collections::BTreeMap<Code, usize> = Default::default();
    let mut out = Vec::new();
    for diagnostic in diagnostics {
        let count = seen.entry(diagnostic.code).or_default();
        *count += 1;
        if diagnostic.severity() == Severity::Error || *count <= SHOWN_PER_CODE {
            out.push(to_codespan(diagnostic));
        }
    }
    for (code, count) in seen {
        if code.severity() == Severity::Warning && count > SHOWN_PER_CODE {
            let more = count - SHOWN_PER_CODE;
            out.push(
                CsDiagnostic::warning()
                    .with_code(code.as_str())
                    .with_message(format!(
                        "{more} more warning{} like {} ({})",
                        plural(more),
                        if SHOWN_PER_CODE == 1 { "this" } else { "these" },
                        code.summary()
                    ))
                    .with_notes(vec!["note: `--message-format json` lists every one".into()]),
            );
        }
    }
    out
}

/// The diagnostics rendered without colour, as `bpfboxc` prints them to a
/// file or pipe; this is what the golden tests compare.
pub fn render_plain(file_name: &str, text: &str, diagnostics: &[Diagnostic]) -> String {
    let file = SimpleFile::new(file_name, text);
    let config = term::Config::default();
    let mut out = String::new();
    for diagnostic in for_people(diagnostics) {
        // Rendering fails only for spans outside the file, which parse and
        // check never produce; show the message anyway if it happens.
        match term::emit_into_string(&config, &file, &diagnostic) {
            Ok(rendered) => out.push_str(&rendered),
            Err(_) => out.push_str(&format!(
                "{}: {}\n",
                diagnostic.code.as_deref().unwrap_or_default(),
                diagnostic.message
            )),
        }
    }
    out
}

/// Renders to stderr, with colour when `choice` allows it, buffered: one
/// write per diagnostic would cost more than compiling.
pub fn emit_stderr(
    file_name: &str,
    text: &str,
    diagnostics: &[Diagnostic],
    choice: termcolor::ColorChoice,
) {
    use std::io::Write;
    let file = SimpleFile::new(file_name, text);
    let config = term::Config::default();
    let stream = termcolor::BufferWriter::stderr(choice);
    let mut buffer = stream.buffer();
    for diagnostic in for_people(diagnostics) {
        let _ = term::emit_to_write_style(&mut buffer, &config, &file, &diagnostic);
    }
    let _ = buffer.flush();
    let _ = stream.print(&buffer);
}

/// Where each line of a text starts: line and column of many offsets, each
/// in O(log lines) (the JSON of 10,000 diagnostics would otherwise scan the
/// file 20,000 times).
pub struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str) -> Lines<'a> {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines { text, starts }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&start| start <= offset);
        let start = self.starts[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map_or(0, |s| s.chars().count())
            + 1;
        (line, column)
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    Lines::new(text).line_column(offset)
}

/// Where a diagnostic or one of its related places is, as JSON.
#[derive(Serialize)]
struct PlaceJson<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    span: SpanJson,
}

#[derive(Serialize)]
struct SpanJson {
    start: usize,
    end: usize,
}

impl From<Span> for SpanJson {
    fn from(span: Span) -> SpanJson {
        SpanJson {
            start: span.start,
            end: span.end,
        }
    }
}

/// One diagnostic as `--message-format json` prints it; the keys come in
/// the order of the fields.
#[derive(Serialize)]
pub struct DiagnosticJson<'a> {
    #[serde(flatten)]
    place: PlaceJson<'a>,
    severity: &'static str,
    code: &'static str,
    message: &'a str,
    label: &'a str,
    help: Option<&'a str>,
    related: Vec<RelatedJson<'a>>,
    fix: Option<FixJson<'a>>,
}

#[derive(Serialize)]
struct RelatedJson<'a> {
    #[serde(flatten)]
    place: PlaceJson<'a>,
    message: &'a str,
}

#[derive(Serialize)]
struct FixJson<'a> {
    title: &'a str,
    edits: Vec<EditJson<'a>>,
}

#[derive(Serialize)]
struct EditJson<'a> {
    span: SpanJson,
    replacement: &'a str,
}

fn place<'a>(file_name: &'a str, lines: &Lines, span: Span) -> PlaceJson<'a> {
    let (line, column) = lines.line_column(span.start);
    let (end_line, end_column) = lines.line_column(span.end);
    PlaceJson {
        file: file_name,
        line,
        column,
        end_line,
        end_column,
        span: span.into(),
    }
}

/// One diagnostic as a JSON object (`--message-format json`).
pub fn to_json<'a>(
    file_name: &'a str,
    lines: &Lines,
    diagnostic: &'a Diagnostic,
) -> DiagnosticJson<'a> {
    DiagnosticJson {
        place: place(file_name, lines, diagnostic.span),
        severity: diagnostic.severity().as_str(),
        code: diagnostic.code.as_str(),
        message: &diagnostic.message,
        label: &diagnostic.label,
        help: diagnostic.help.as_deref(),
        related: diagnostic
            .related
            .iter()
            .map(|label| RelatedJson {
                place: place(file_name, lines, label.span),
                message: &label.message,
            })
            .collect(),
        fix: diagnostic.fix.as_ref().map(|fix| FixJson {
            title: &fix.title,
            edits: fix
                .edits
                .iter()
                .map(|(span, replacement)| EditJson {
                    span: (*span).into(),
                    replacement,
                })
                .collect(),
        }),
    }
}

/// `N errors, M warnings` for the last line of output.
/// "s" for a count other than one: `format!("{n} rule{}", plural(n))`.
pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

pub fn counts(diagnostics: &[Diagnostic]) -> (usize, usize) {
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity() == Severity::Error)
        .count();
    (errors, diagnostics.len() - errors)
}
