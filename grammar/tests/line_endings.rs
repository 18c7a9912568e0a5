//! A policy means the same whichever line ends it uses: `\n`, `\r\n`, or
//! the lone `\r` of old Mac files (which the language server also counts
//! as a line break).

use bpfbox_grammar::parse;

const POLICY: &str = r#"#![profile "/usr/bin/env"]
// a comment that must end at the line's end
read("/etc/hosts")
fs("/tmp/unterminated, read)
#[func f] write("/tmp/out")
net(inet, connect"#;

/// What a parse says, without offsets (which shift with `\r\n`).
fn meaning(text: &str) -> (usize, Vec<(String, String)>) {
    let (ast, diagnostics) = parse(text);
    let diagnostics = diagnostics
        .iter()
        .map(|d| (d.code.as_str().to_string(), d.message.to_string()))
        .collect();
    (ast.items.len(), diagnostics)
}

#[test]
fn lf_crlf_and_cr_parse_alike() {
    let lf = meaning(POLICY);
    assert_eq!(lf.0, 5, "{lf:?}");
    assert_eq!(meaning(&POLICY.replace('\n', "\r\n")), lf);
    assert_eq!(meaning(&POLICY.replace('\n', "\r")), lf);
}
