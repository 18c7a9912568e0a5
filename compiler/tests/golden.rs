//! Data-driven tests over testsuite/: each policy file goes through bpfboxc
//! as a user runs it, and the output is compared with its golden snapshot in
//! testsuite/snapshots/ (review changes with `cargo insta review`).
//!
//! A policy may start with `// args: ...` to pass more arguments;
//! `{login-pie}` there is the compiled testsuite/fixtures/login.c.

mod common;

use std::path::Path;

use bpfbox_compiler::elf::{ElfError, ElfInfo};
use bpfbox_compiler::{analyze, BinarySource, Options};
use common::{bpfboxc, login_binaries, root};
use serde_json::Value;

fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root().join("testsuite/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap()
        .to_str()
        .unwrap()
        .to_string()
}

fn extra_args(text: &str) -> Vec<String> {
    let (pie, nopie) = login_binaries();
    text.lines()
        .filter_map(|line| line.strip_prefix("// args:"))
        .flat_map(|args| args.split_whitespace())
        .map(|arg| {
            arg.replace("{login-pie}", pie)
                .replace("{login-nopie}", nopie)
        })
        .collect()
}

fn run(file: &str, args: &[&str], extra: &[String]) -> std::process::Output {
    let mut all: Vec<&str> = vec![file];
    all.extend_from_slice(args);
    all.extend(extra.iter().map(String::as_str));
    bpfboxc(&all)
}

/// Offsets and build-ids depend on the C compiler that built the test
/// program; tests/elf.rs checks them against the code itself. So does the
/// size of an image holding a build-id: the body is deflated.
/// bpfboxc's pretty JSON with what depends on the test binary's build
/// redacted, line by line so that the snapshot keeps the order bpfboxc
/// wrote the keys in.
fn redact_binary_details(pretty: &str, test_binary: bool) -> String {
    let mut out = Vec::new();
    let mut lines = pretty.lines();
    while let Some(line) = lines.next() {
        let indent = &line[..line.len() - line.trim_start().len()];
        let key = line.trim_start().split('"').nth(1).unwrap_or("");
        let comma = if line.ends_with(',') { "," } else { "" };
        let redacted = match key {
            "size" | "bytes_per_rule" if test_binary => "[size]",
            "offset" | "offset_hex" => "[offset]",
            "identity" if !line.ends_with("null,") && !line.ends_with("null") => {
                // `{`, its one member, `}` with the comma.
                let mut end = String::new();
                for inner in lines.by_ref() {
                    if inner.trim_start().starts_with('}') {
                        end = inner.trim_start().trim_start_matches('}').to_string();
                        break;
                    }
                }
                out.push(format!(
                    "{indent}\"identity\": \"[identity of the test binary]\"{end}"
                ));
                continue;
            }
            _ => {
                out.push(line.to_string());
                continue;
            }
        };
        out.push(format!("{indent}\"{key}\": \"{redacted}\"{comma}"));
    }
    out.join("\n")
}

fn has_test_binary(json: &Value) -> bool {
    json["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .any(|profile| !profile["identity"].is_null())
}

/// The summary line's `N bytes (M bytes/rule)`, as `[size]`.
fn redact_size(summary: &str) -> String {
    let Some(bytes) = summary.find(" bytes (") else {
        return summary.to_string();
    };
    let start = summary[..bytes].rfind(", ").map_or(bytes, |at| at + 2);
    let end = summary[bytes..]
        .find(')')
        .map_or(summary.len(), |at| bytes + at + 1);
    format!("{}[size]{}", &summary[..start], &summary[end..])
}

#[test]
fn policies_that_compile() {
    insta::glob!("../../testsuite/compile", "*.policy", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let extra = extra_args(&text);
        let out = run(
            &relative(path),
            &["--no-path-check", "--emit", "json", "-o", "-"],
            &extra,
        );
        let mut stderr = String::from_utf8(out.stderr).unwrap();
        assert!(out.status.success(), "{}: {stderr}", path.display());
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        let test_binary = has_test_binary(&json);
        if test_binary {
            stderr = redact_size(&stderr);
        }
        let json =
            redact_binary_details(String::from_utf8_lossy(&out.stdout).trim_end(), test_binary);
        settings().bind(|| insta::assert_snapshot!(format!("{stderr}\n{json}")));
    });
}

#[test]
fn policies_with_diagnostics() {
    insta::glob!("../../testsuite/diagnostics", "*.policy", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let extra = extra_args(&text);
        let out = run(&relative(path), &["--check"], &extra);
        let stderr = String::from_utf8(out.stderr).unwrap();
        let code = out.status.code().unwrap();
        assert!(code == 0 || code == 1, "{}: exit {code}", path.display());
        settings().bind(|| insta::assert_snapshot!(format!("exit status: {code}\n\n{stderr}")));
    });
}

#[test]
fn formatter_cases() {
    insta::glob!("../../testsuite/fmt", "*.policy", |path| {
        let out = run(&relative(path), &["--fmt"], &[]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let formatted = String::from_utf8(out.stdout).unwrap();
        settings().bind(|| insta::assert_snapshot!(formatted));
    });
}

/// Every profile's binary is the test program, so that `#[func]` policies
/// analyze the same way everywhere.
struct TestBinaries;

impl BinarySource for TestBinaries {
    fn binary(&self, _exe: &str) -> Option<Result<std::sync::Arc<ElfInfo>, ElfError>> {
        Some(ElfInfo::load(&root().join(&login_binaries().0)).map(std::sync::Arc::new))
    }
}

/// For every policy in the testsuite and examples: formatting twice changes
/// nothing more, and the formatted policy means the same (the same image, or
/// the same diagnostic codes).
#[test]
fn formatting_is_idempotent_and_keeps_meaning() {
    let mut files = Vec::new();
    for dir in [
        "testsuite/compile",
        "testsuite/fmt",
        "testsuite/diagnostics",
        "examples",
    ] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "policy") {
                files.push(path);
            }
        }
    }
    assert!(files.len() > 15);
    let options = Options {
        binaries: &TestBinaries,
        check_paths: false,
        ..Options::default()
    };
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let Ok(once) = bpfbox_compiler::format::format(&text) else {
            assert!(bpfbox_compiler::parse(&text)
                .1
                .iter()
                .any(|d| d.severity() == bpfbox_compiler::Severity::Error));
            continue;
        };
        let twice = bpfbox_compiler::format::format(&once).unwrap();
        assert_eq!(once, twice, "{}: not idempotent", path.display());
        let comments = |t: &str| {
            bpfbox_compiler::parse(t)
                .0
                .comments
                .iter()
                .map(|c| t[c.span.range()].trim_end().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            comments(&text),
            comments(&once),
            "{}: comments lost or reordered",
            path.display()
        );
        let before = analyze(&text, &options);
        let after = analyze(&once, &options);
        // The rules may move to other lines; what they grant may not change.
        let meaning = |image: Option<bpfbox_image::Image>| {
            image.map(|mut image| {
                for rule in image.profiles.iter_mut().flat_map(|p| &mut p.rules) {
                    rule.lines = Default::default();
                }
                image
            })
        };
        assert_eq!(
            meaning(before.image()),
            meaning(after.image()),
            "{}: formatting changed the image",
            path.display()
        );
        let codes = |a: &bpfbox_compiler::Analysis| {
            a.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>()
        };
        assert_eq!(
            codes(&before),
            codes(&after),
            "{}: formatting changed the diagnostics",
            path.display()
        );
    }
}
