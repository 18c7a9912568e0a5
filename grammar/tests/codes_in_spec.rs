//! The diagnostic codes are listed twice: in the code (grammar's `codes!`,
//! with a one-line summary each, which bpfboxc prints when it counts
//! warnings) and in spec.md's "Diagnostics" table, which users read. This
//! test keeps the two the same: the same codes, in order, each row's
//! meaning the summary (a row may explain more after it: "SUMMARY: why").

use bpfbox_grammar::Code;

#[test]
fn spec_lists_every_code_with_its_summary() {
    let spec = include_str!("../../spec.md");
    let section = spec
        .split("\n## Diagnostics\n")
        .nth(1)
        .expect("spec.md has a Diagnostics section");
    let section = section.split("\n## ").next().unwrap();
    let rows: Vec<(&str, &str)> = section
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            // | CODE | meaning |
            (cells.len() == 4 && cells[1].len() == 5 && cells[1] != "code")
                .then(|| (cells[1], cells[2]))
        })
        .collect();
    let codes: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    let listed: Vec<&str> = rows.iter().map(|(code, _)| *code).collect();
    assert_eq!(
        listed, codes,
        "spec.md's Diagnostics table lists other codes"
    );
    for (code, (_, meaning)) in Code::ALL.iter().zip(&rows) {
        let summary = code.summary();
        assert!(
            *meaning == summary || meaning.starts_with(&format!("{summary}: ")),
            "{}: spec.md says {meaning:?}, the code {summary:?}",
            code.as_str()
        );
    }
}
