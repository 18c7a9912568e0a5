//! The editors' syntax grammars list the language's words: rule names,
//! access flags, inner attributes. They are written from the compiler's
//! vocabulary (compiler/src/vocab.rs and the flags bpfbox.h names), not
//! kept by hand: this test fails when a grammar disagrees, and
//!
//!     UPDATE_GENERATED=1 cargo test -p bpfbox-compiler --test editor_grammars
//!
//! rewrites the lists in place, leaving the rest of each file as it is.

use std::path::PathBuf;

use bpfbox_compiler::vocab;
use bpfbox_image::RuleKind;

fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

fn rule_words() -> Vec<&'static str> {
    vocab::rule_names()
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// `any` and every access flag of every kind of rule that takes flags.
fn flag_words() -> Vec<&'static str> {
    let mut words = vec![vocab::ANY];
    for kind in RuleKind::ALL {
        // cap() takes capability names, not access flags.
        if kind == RuleKind::Cap {
            continue;
        }
        for (name, _) in kind.flags() {
            if !words.contains(name) {
                words.push(name);
            }
        }
    }
    words
}

fn inner_attribute_words() -> Vec<&'static str> {
    vocab::INNER_ATTRIBUTES
        .iter()
        .map(|(name, _)| *name)
        .collect()
}

/// One generated piece of a grammar file: the text between `prefix` and
/// `suffix` (the first of each after the prefix) is `expected`.
struct Piece {
    what: &'static str,
    prefix: &'static str,
    suffix: &'static str,
    expected: String,
}

/// Checks (or with UPDATE_GENERATED, rewrites) the pieces of one file.
fn check_file(path: &str, pieces: &[Piece]) {
    let file = repo_file(path);
    let mut text = std::fs::read_to_string(&file).unwrap();
    let mut stale = Vec::new();
    for piece in pieces {
        let start = text
            .find(piece.prefix)
            .unwrap_or_else(|| panic!("{path}: no `{}` for the {}", piece.prefix, piece.what))
            + piece.prefix.len();
        let end = start
            + text[start..]
                .find(piece.suffix)
                .unwrap_or_else(|| panic!("{path}: the {} does not end", piece.what));
        if text[start..end] != piece.expected {
            stale.push(format!(
                "{}: has\n    {}\n  the vocabulary says\n    {}",
                piece.what,
                &text[start..end],
                piece.expected
            ));
            text.replace_range(start..end, &piece.expected);
        }
    }
    if stale.is_empty() {
        return;
    }
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        std::fs::write(&file, text).unwrap();
        return;
    }
    panic!(
        "{path} disagrees with the vocabulary:\n{}\nrun: UPDATE_GENERATED=1 cargo test -p bpfbox-compiler --test editor_grammars",
        stale.join("\n")
    );
}

#[test]
fn textmate_grammar_lists_the_vocabulary() {
    let alternation = |words: Vec<&str>| words.join("|");
    check_file(
        "editors/vscode/syntaxes/bpfbox.tmLanguage.json",
        &[
            Piece {
                what: "inner attributes",
                prefix: r#""begin": "(#!\\[)\\s*("#,
                suffix: "|[A-Za-z_]",
                expected: alternation(inner_attribute_words()),
            },
            Piece {
                what: "rule names",
                prefix: r#""begin": "\\b("#,
                suffix: "|[A-Za-z_]",
                expected: alternation(rule_words()),
            },
            Piece {
                what: "flags",
                prefix: r#""name": "constant.language.flag.bpfbox", "match": "\\b("#,
                suffix: r")\\b",
                expected: alternation(flag_words()),
            },
        ],
    );
}

#[test]
fn vim_syntax_lists_the_vocabulary() {
    // A Vim keyword belongs to one group: flags that are also rule names
    // (read, write, ...) are highlighted as rules.
    let rules = rule_words();
    let flags: Vec<&str> = flag_words()
        .into_iter()
        .filter(|w| !rules.contains(w))
        .collect();
    check_file(
        "editors/nvim/syntax/bpfbox.vim",
        &[
            Piece {
                what: "rule names",
                prefix: "syntax keyword bpfboxRule ",
                suffix: "\n",
                expected: rules.join(" "),
            },
            Piece {
                what: "flags",
                prefix: "syntax keyword bpfboxFlag ",
                suffix: "\n",
                expected: flags.join(" "),
            },
        ],
    );
}
