//! Diagnostics for people (codespan-reporting, rustc style) and for tools
//! (one JSON object per line).

use bpfbox_grammar::{Diagnostic, Severity, Span};
use codespan_reporting::diagnostic::{
    Diagnostic as CsDiagnostic, Label as CsLabel, Severity as CsSeverity,
};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, termcolor};
use serde_json::{json, Value};

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

/// All diagnostics rendered without colour, as `bpfboxc` prints them to a
/// file or pipe; this is what the golden tests compare.
pub fn render_plain(file_name: &str, text: &str, diagnostics: &[Diagnostic]) -> String {
    let file = SimpleFile::new(file_name, text);
    let config = term::Config::default();
    let mut out = String::new();
    for diagnostic in diagnostics {
        // Rendering fails only for spans outside the file, which parse and
        // check never produce; show the message anyway if it happens.
        match term::emit_into_string(&config, &file, &to_codespan(diagnostic)) {
            Ok(rendered) => out.push_str(&rendered),
            Err(_) => out.push_str(&format!(
                "{}[{}]: {}\n",
                diagnostic.severity().as_str(),
                diagnostic.code.as_str(),
                diagnostic.message
            )),
        }
    }
    out
}

/// Renders to stderr, with colour when `choice` allows it.
pub fn emit_stderr(
    file_name: &str,
    text: &str,
    diagnostics: &[Diagnostic],
    choice: termcolor::ColorChoice,
) {
    let file = SimpleFile::new(file_name, text);
    let config = term::Config::default();
    let stream = termcolor::StandardStream::stderr(choice);
    let mut lock = stream.lock();
    for diagnostic in diagnostics {
        let _ = term::emit_to_write_style(&mut lock, &config, &file, &to_codespan(diagnostic));
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    let column = text[line_start..offset].chars().count() + 1;
    (line, column)
}

fn span_json(file_name: &str, text: &str, span: Span) -> Value {
    let (line, column) = line_column(text, span.start);
    let (end_line, end_column) = line_column(text, span.end);
    json!({
        "file": file_name,
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
        "span": { "start": span.start, "end": span.end },
    })
}

/// One diagnostic as a JSON object (`--message-format json`).
pub fn to_json(file_name: &str, text: &str, diagnostic: &Diagnostic) -> Value {
    let mut value = span_json(file_name, text, diagnostic.span);
    value["severity"] = json!(diagnostic.severity().as_str());
    value["code"] = json!(diagnostic.code.as_str());
    value["message"] = json!(diagnostic.message);
    value["label"] = json!(diagnostic.label);
    value["help"] = json!(diagnostic.help);
    value["related"] = Value::Array(
        diagnostic
            .related
            .iter()
            .map(|label| {
                let mut v = span_json(file_name, text, label.span);
                v["message"] = json!(label.message);
                v
            })
            .collect(),
    );
    value["fix"] = match &diagnostic.fix {
        None => Value::Null,
        Some(fix) => json!({
            "title": fix.title,
            "edits": fix.edits.iter().map(|(span, replacement)| json!({
                "span": { "start": span.start, "end": span.end },
                "replacement": replacement,
            })).collect::<Vec<_>>(),
        }),
    };
    value
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
