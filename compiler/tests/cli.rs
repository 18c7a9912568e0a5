//! bpfboxc as a user runs it: exit statuses, outputs, bad input.

mod common;

use common::{bpfboxc, bpfboxc_stdin, root};
use serde_json::Value;

fn write(dir: &tempfile::TempDir, name: &str, text: &[u8]) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

const GOOD: &str = "#![profile \"/usr/bin/env\"]\nread(\"/etc/hosts\")\nnet(inet, connect)\n";

#[test]
fn compiles_to_the_default_output_and_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(&dir, "web.policy", GOOD.as_bytes());
    let out = bpfboxc(&[&policy]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("1 profile, 2 rules") && stderr.contains("bytes/rule"),
        "{stderr}"
    );
    let first = std::fs::read(dir.path().join("web.bbx")).unwrap();
    let out = bpfboxc(&[
        &policy,
        "-o",
        dir.path().join("again.bbx").to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert_eq!(
        first,
        std::fs::read(dir.path().join("again.bbx")).unwrap(),
        "same policy, same bytes"
    );
    // No temporary files are left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
}

#[test]
fn dump_prints_the_same_json_as_emit_json() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(&dir, "p.policy", GOOD.as_bytes());
    let image = dir.path().join("p.bbx");
    assert!(bpfboxc(&[&policy, "-o", image.to_str().unwrap()])
        .status
        .success());
    let emitted = bpfboxc(&[&policy, "--emit", "json", "-o", "-"]);
    let dumped = bpfboxc(&["--dump", image.to_str().unwrap()]);
    assert!(dumped.status.success());
    assert_eq!(emitted.stdout, dumped.stdout);
    let json: Value = serde_json::from_slice(&dumped.stdout).unwrap();
    assert_eq!(json["profiles"][0]["exe"], "/usr/bin/env");
    assert_eq!(json["profiles"][0]["rules"][1]["family"], "inet");
}

#[test]
fn dump_refuses_bad_images_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(&dir, "p.policy", GOOD.as_bytes());
    let image = dir.path().join("p.bbx");
    assert!(bpfboxc(&[&policy, "-o", image.to_str().unwrap()])
        .status
        .success());
    let bytes = std::fs::read(&image).unwrap();
    let mut tampered = bytes.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x20;
    let cases: [(&str, Vec<u8>, &str); 4] = [
        (
            "truncated.bbx",
            bytes[..bytes.len() - 5].to_vec(),
            "truncated",
        ),
        ("tampered.bbx", tampered, "checksum mismatch"),
        ("policy.bbx", GOOD.as_bytes().to_vec(), "not a bpfbox image"),
        ("empty.bbx", Vec::new(), "too short"),
    ];
    for (name, content, expected) in cases {
        let path = write(&dir, name, &content);
        let out = bpfboxc(&["--dump", &path]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{name}: cause and hint: {stderr}");
        assert!(
            lines[0].starts_with("error: ") && lines[0].contains(expected),
            "{name}: {stderr}"
        );
        assert!(lines[1].starts_with("  hint: "), "{name}: {stderr}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn exit_status_two_for_usage_and_io_errors() {
    let missing = bpfboxc(&["/nonexistent/policy.policy"]);
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8(missing.stderr).unwrap();
    assert!(
        stderr.starts_with(
            "error: cannot read /nonexistent/policy.policy: No such file or directory\n  hint: "
        ),
        "{stderr}"
    );

    assert_eq!(bpfboxc(&[]).status.code(), Some(2), "no FILE");
    assert_eq!(
        bpfboxc(&["--frobnicate", "x"]).status.code(),
        Some(2),
        "unknown flag"
    );
    assert_eq!(
        bpfboxc(&["--write", "x.policy"]).status.code(),
        Some(2),
        "--write without --fmt"
    );

    let dir = tempfile::tempdir().unwrap();
    let policy = write(&dir, "p.policy", GOOD.as_bytes());
    let out = bpfboxc(&[&policy, "-o", "/nonexistent/dir/p.bbx"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        bpfboxc(&[dir.path().to_str().unwrap()]).status.code(),
        Some(2),
        "a directory"
    );
}

#[test]
fn help_documents_every_flag() {
    let out = bpfboxc(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--output",
        "--emit",
        "--check",
        "--dump",
        "--binary",
        "--message-format",
        "--fmt",
        "--write",
        "--no-path-check",
        "--root",
        "--color",
        "Exit status",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn json_messages_have_positions_and_fixes() {
    let dir = tempfile::tempdir().unwrap();
    // é and an emoji before the error: columns count characters.
    let policy = write(
        &dir,
        "p.policy",
        "#![profile \"/usr/bin/env\"]\nread(\"/tmp/é😀\") fs(\"/etc/hosts\", raed)\n".as_bytes(),
    );
    let out = bpfboxc(&[&policy, "--message-format", "json", "--no-path-check"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let d = &lines[0];
    assert_eq!(d["severity"], "error");
    assert_eq!(d["code"], "E0104");
    assert_eq!(d["file"], policy.as_str());
    assert_eq!(d["line"], 2);
    assert_eq!(d["column"], 34);
    let start = d["span"]["start"].as_u64().unwrap() as usize;
    let text = std::fs::read_to_string(&policy).unwrap();
    assert_eq!(
        &text[start..d["span"]["end"].as_u64().unwrap() as usize],
        "raed"
    );
    assert_eq!(d["fix"]["edits"][0]["replacement"], "read");
    assert!(
        String::from_utf8(out.stderr).unwrap().is_empty(),
        "nothing but JSON"
    );
}

#[test]
fn many_warnings_of_one_kind_are_counted_not_repeated() {
    // A policy compiled away from its target: every path is missing here.
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("#![profile \"/usr/bin/env\"]\n");
    for i in 0..500 {
        text.push_str(&format!("read(\"/nonexistent/bpfbox/f{i}\")\n"));
    }
    let policy = write(&dir, "many.policy", text.as_bytes());
    let out = bpfboxc(&[&policy, "--check"]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr.matches("warning[W0004]: /nonexistent").count(),
        3,
        "{stderr}"
    );
    assert!(
        stderr.contains("/nonexistent/bpfbox/f2 does not exist"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("/nonexistent/bpfbox/f3 does not exist"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning[W0004]: 497 more warnings like these (a path that does not exist on this machine)"),
        "{stderr}"
    );
    assert!(stderr.contains("500 warnings"), "{stderr}");
    // Tools get every one, in order, with its line.
    let out = bpfboxc(&[&policy, "--check", "--message-format", "json"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 500);
    assert_eq!(lines[499]["line"], 501);
    assert_eq!(lines[499]["code"], "W0004");
}

/// `-o` naming a device or FIFO writes into it and leaves it what it was:
/// renaming the image over it would replace the node (as root, `-o
/// /dev/null` once turned /dev/null into a regular file).
#[test]
fn output_to_a_fifo_is_written_into_not_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let policy = write(&dir, "p.policy", GOOD.as_bytes());
    let fifo = dir.path().join("out.fifo");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string; mkfifo has no other preconditions.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let out = bpfboxc(&[
        &policy,
        "--no-path-check",
        "-q",
        "-o",
        fifo.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Checked before joining: a reader of a FIFO nobody opened would wait
    // for ever.
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo(),
        "the FIFO was replaced by a file"
    );
    let image = reader.join().unwrap();
    assert_eq!(&image[..8], b"\x89BBX\r\n\x1a\n");
}

#[test]
fn never_panics_on_junk_or_non_utf8() {
    let mut inputs: Vec<Vec<u8>> = vec![
        vec![0xff, 0xfe, 0x00, 0x01],
        b"#![profile \"/usr/bin/env\"]\nread(\"/etc/\xff\")\n".to_vec(),
        std::fs::read(env!("CARGO_BIN_EXE_bpfboxc")).unwrap()[..4096].to_vec(),
        b"((((((((((((((((((((((((((((({{{{{{{{{{{{{{{{{{{{{{".to_vec(),
        b"#![#![#![#![#[#[#[]]]]]]]".to_vec(),
    ];
    inputs.push("read(\"\u{0}\")".into());
    for input in inputs {
        let out = bpfboxc_stdin(&["-", "--check"], &input);
        assert_eq!(
            out.status.code(),
            Some(1),
            "input {:?}",
            String::from_utf8_lossy(&input[..input.len().min(40)])
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.contains("error["), "{stderr}");
    }
    let non_utf8 = bpfboxc_stdin(
        &["-", "--check"],
        b"#![profile \"/usr/bin/env\"]\nread(\"/etc/\xff\")\n",
    );
    let stderr = String::from_utf8_lossy(&non_utf8.stderr);
    assert!(
        stderr.contains("error[E0001]: invalid UTF-8 at byte 38"),
        "{stderr}"
    );
}

#[test]
fn fmt_write_and_check() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        &dir,
        "p.policy",
        b"#![profile   \"/usr/bin/env\"]\n  read( '/etc/hosts' ) // why\n",
    );
    let check = bpfboxc(&["--fmt", "--check", &policy]);
    assert_eq!(check.status.code(), Some(1));
    assert!(bpfboxc(&["--fmt", "--write", &policy]).status.success());
    assert_eq!(
        std::fs::read_to_string(&policy).unwrap(),
        "#![profile \"/usr/bin/env\"]\nread(\"/etc/hosts\") // why\n"
    );
    assert_eq!(
        bpfboxc(&["--fmt", "--check", &policy]).status.code(),
        Some(0)
    );
    // A file with syntax errors is left as it is.
    let broken = write(&dir, "b.policy", b"#![profile \"/usr/bin/env\"]\nread(\n");
    assert_eq!(
        bpfboxc(&["--fmt", "--write", &broken]).status.code(),
        Some(1)
    );
    assert_eq!(
        std::fs::read(&broken).unwrap(),
        b"#![profile \"/usr/bin/env\"]\nread(\n"
    );
}

#[test]
fn check_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(&dir, "p.policy", GOOD.as_bytes());
    let out = bpfboxc(&["--check", &policy]);
    assert!(out.status.success());
    assert!(!dir.path().join("p.bbx").exists());
    assert!(root().join("testsuite").exists());
}

/// `--root DIR`: the target's files, not the build machine's, for path
/// warnings, the profiled binary and `#![include c_runtime]`'s libraries.
#[test]
fn root_is_where_paths_binaries_and_libraries_are_looked_up() {
    let target = tempfile::tempdir().unwrap();
    let t = target.path();
    // A dynamic program and its runtime, at the target's paths.
    let runtime = ["/usr/bin/env"];
    let ldd = std::process::Command::new("ldd")
        .arg("/usr/bin/env")
        .output()
        .unwrap();
    let libs: Vec<String> = String::from_utf8_lossy(&ldd.stdout)
        .split_whitespace()
        .filter(|w| w.starts_with('/'))
        .map(str::to_string)
        .collect();
    for file in runtime.iter().map(|s| s.to_string()).chain(libs.clone()) {
        let on_target = t.join(file.trim_start_matches('/'));
        std::fs::create_dir_all(on_target.parent().unwrap()).unwrap();
        std::fs::copy(&file, &on_target).unwrap();
    }
    std::fs::create_dir_all(t.join("srv")).unwrap();
    std::fs::write(t.join("srv/data"), "x").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        &dir,
        "app.policy",
        b"#![profile \"/usr/bin/env\"]\n#![include c_runtime]\nread(\"/srv/data\")\n",
    );
    let image = dir.path().join("app.bbx");
    let out = bpfboxc(&[
        &policy,
        "--root",
        t.to_str().unwrap(),
        "-o",
        image.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("warning"),
        "/srv/data is on the target: {stderr}"
    );
    let dump = bpfboxc(&["--dump", image.to_str().unwrap()]);
    let json: Value = serde_json::from_slice(&dump.stdout).unwrap();
    let paths: Vec<&str> = json["profiles"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["path"].as_str())
        .collect();
    for lib in &libs {
        assert!(paths.contains(&lib.as_str()), "{lib} not in {paths:?}");
    }
    // On this machine, /srv/data is missing: the same policy warns.
    let out = bpfboxc(&[&policy, "-o", image.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("/srv/data does not exist"));
    // A target without the libraries: the include says which are missing.
    let bare = tempfile::tempdir().unwrap();
    let on_bare = bare.path().join("usr/bin");
    std::fs::create_dir_all(&on_bare).unwrap();
    std::fs::copy("/usr/bin/env", on_bare.join("env")).unwrap();
    let out = bpfboxc(&[&policy, "--root", bare.path().to_str().unwrap(), "--check"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("E0120") && stderr.contains("libc.so.6"),
        "{stderr}"
    );
    let out = bpfboxc(&[&policy, "--root", "/nonexistent", "--check"]);
    assert_eq!(out.status.code(), Some(2));
}
