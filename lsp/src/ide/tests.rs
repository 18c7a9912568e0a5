//! Data-driven tests of the ide layer: each policy under testsuite/ide has
//! cursors (‸) and a first line `// ide: FEATURES` naming what to ask
//! (hover, completion and definition at each cursor; outline and
//! highlights of the whole file). The snapshot in testsuite/snapshots holds
//! the answers: what an editor would be told, before the protocol's
//! conversion. Review changes with `cargo insta review`.

use std::path::Path;

use bpfbox_compiler::{analyze, Options, Span};

use super::*;
use crate::binaries::BinaryCache;

const CURSOR: char = '‸';

/// `line:column` of an offset, from 1, the column in bytes.
fn line_column(text: &str, offset: usize) -> String {
    let line = text[..offset].matches('\n').count() + 1;
    let column = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1) + 1;
    format!("{line}:{column}")
}

/// Where a span starts, and its text.
fn at(text: &str, span: Span) -> String {
    format!(
        "{} {:?}",
        line_column(text, span.start),
        &text[span.range()]
    )
}

fn symbol_lines(text: &str, symbols: &[Symbol], depth: usize, out: &mut String) {
    for s in symbols {
        out.push_str(&format!(
            "{}{:?} {:?}{} at {}\n",
            "  ".repeat(depth),
            s.kind,
            s.name,
            s.detail
                .as_ref()
                .map_or(String::new(), |d| format!(" ({d})")),
            at(text, s.selection)
        ));
        symbol_lines(text, &s.children, depth + 1, out);
    }
}

fn report(marked: &str) -> String {
    let cursors: Vec<usize> = marked
        .char_indices()
        .filter(|(_, c)| *c == CURSOR)
        .enumerate()
        .map(|(n, (i, _))| i - n * CURSOR.len_utf8())
        .collect();
    let text = marked.replace(CURSOR, "");
    let wanted = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("// ide:"))
        .expect("the first line says `// ide: FEATURES`")
        .split_whitespace()
        .collect::<Vec<_>>();
    let asks = |feature: &str| wanted.contains(&feature);
    let analysis = analyze(&text, &Options::default());
    let file = File {
        text: &text,
        analysis: &analysis,
    };
    let binaries = BinaryCache::default();
    let mut out = String::new();
    for offset in cursors {
        out.push_str(&format!("== cursor at {}\n", line_column(&text, offset)));
        if let Some(h) = hover(file, offset, &binaries).filter(|_| asks("hover")) {
            out.push_str(&format!(
                "hover {}\n  {}\n",
                at(&text, h.span),
                h.markdown.replace('\n', "\n  ")
            ));
        }
        let completions = completions(file, offset, &binaries);
        if asks("completion") {
            out.push_str("completions\n");
            for c in completions {
                let insert = match c.insert {
                    Insert::Label => String::new(),
                    Insert::Text(t) | Insert::Snippet(t) => format!(" inserts {t:?}"),
                    Insert::Replace(span, t) => format!(" replaces {} with {t:?}", at(&text, span)),
                };
                out.push_str(&format!(
                    "  {:?} {:?}{}{insert}\n",
                    c.kind,
                    c.label,
                    c.detail.map_or(String::new(), |d| format!(" — {d}"))
                ));
            }
        }
        if let Some(d) = definition(file, None, offset, &binaries).filter(|_| asks("definition")) {
            let place = match d {
                Definition::Here(span) => at(&text, span),
                other => format!("{other:?}"),
            };
            out.push_str(&format!("definition {place}\n"));
        }
    }
    if asks("outline") {
        out.push_str("== outline\n");
        symbol_lines(&text, &symbols(file), 0, &mut out);
    }
    if asks("highlights") {
        out.push_str("== highlights\n");
        for (span, kind) in highlights(file) {
            out.push_str(&format!("{} {kind:?}\n", at(&text, span)));
        }
    }
    out
}

#[test]
fn ide_answers_at_each_cursor() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root.join("testsuite/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        insta::glob!("../../../testsuite/ide", "*.policy", |path| {
            let marked = std::fs::read_to_string(path).unwrap();
            assert!(marked.contains(CURSOR), "{}: no cursor", path.display());
            insta::assert_snapshot!(report(&marked));
        });
    });
}
