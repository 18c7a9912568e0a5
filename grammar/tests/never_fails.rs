//! `parse` must return a tree and in-bounds diagnostics for any text.

use bpfbox_grammar::{parse, Body, Item};
use proptest::prelude::*;

fn check_spans(text: &str) {
    let (ast, diagnostics) = parse(text);
    for d in &diagnostics {
        assert!(
            d.span.start <= d.span.end && d.span.end <= text.len(),
            "{d:?}"
        );
        assert!(text.is_char_boundary(d.span.start) && text.is_char_boundary(d.span.end));
        if let Some(fix) = &d.fix {
            for (span, _) in &fix.edits {
                assert!(span.end <= text.len() && text.is_char_boundary(span.start));
            }
        }
    }
    fn walk(items: &[Item], len: usize) {
        for item in items {
            assert!(item.span().end <= len);
            if let Item::Stmt(stmt) = item {
                if let Body::Block(block) = &stmt.body {
                    walk(&block.items, len);
                }
            }
        }
    }
    walk(&ast.items, text.len());
}

/// Fragments of real syntax, so that the generator reaches deep states.
fn fragment() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "#![profile \"/bin/x\"]",
        "#[",
        "#![",
        "]",
        "(",
        ")",
        "{",
        "}",
        ",",
        "|",
        "read",
        "fs",
        "net",
        "inet",
        "\"/etc/passwd\"",
        "'/x'",
        "\"unterminated",
        "/bare/path",
        "// c\n",
        "/* c */",
        "/*",
        "\n",
        " ",
        "#[allow]",
        "#[func f]",
        "é",
        "😀",
        ";",
        "\\",
        "\"\\q\"",
        "self",
        "*",
        "**",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, .. ProptestConfig::default() })]

    #[test]
    fn any_string(text in "\\PC{0,200}") {
        check_spans(&text);
    }

    #[test]
    fn token_soup(parts in prop::collection::vec(fragment(), 0..60)) {
        check_spans(&parts.concat());
    }
}

#[test]
fn every_error_is_reported_in_one_run() {
    let text = "#![profile \"/bin/x\"]\nread(\"/a\"\nfs(\"/b\" read)\n#[allow\nwrite(\"/c\") }\n";
    let (_, diagnostics) = parse(text);
    let codes: Vec<&str> = diagnostics.iter().map(|d| d.code.as_str()).collect();
    assert!(codes.contains(&"E0006"), "{codes:?}");
    assert!(codes.contains(&"E0007"), "{codes:?}");
    assert!(
        codes.iter().filter(|c| **c == "E0005").count() >= 2,
        "{codes:?}"
    );
}
