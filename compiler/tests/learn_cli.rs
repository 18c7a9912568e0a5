//! bpfbox-learn as a user runs it: learn, --against, --write, bad input.

use std::process::{Command, Output};

fn learn(args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_bpfbox-learn"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn event(path: &str, access: &str) -> String {
    format!(
        r#"{{"pid":5,"comm":"app","profile":"/usr/bin/app","op":"open","kind":"file","access":["{access}"],"decision":"complain","scope":null,"object":{{"path":"{path}"}}}}"#
    )
}

#[test]
fn learns_from_standard_input_then_adds_only_what_is_new() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("srv")).unwrap();
    std::fs::write(root.path().join("srv/a"), "").unwrap();
    std::fs::write(root.path().join("srv/b"), "").unwrap();
    let root_arg = root.path().to_str().unwrap();

    let out = learn(&["--root", root_arg], &event("/srv/a", "read"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let policy = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        policy,
        "#![profile \"/usr/bin/app\"]\nfs(\"/srv/a\", read)\n"
    );
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "learned 1 rule from 1 event\n"
    );

    let file = root.path().join("app.policy");
    std::fs::write(&file, &policy).unwrap();
    let file_arg = file.to_str().unwrap();
    let second = format!(
        "{}\n{}\n",
        event("/srv/a", "read"),
        event("/srv/b", "write")
    );
    let out = learn(&["--root", root_arg, "--against", file_arg], &second);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        " #![profile \"/usr/bin/app\"]\n+fs(\"/srv/b\", write)    // 1 event, first app[5]\n"
    );

    let out = learn(
        &["--root", root_arg, "--against", file_arg, "--write", "-q"],
        &second,
    );
    assert!(out.status.success());
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "#![profile \"/usr/bin/app\"]\nfs(\"/srv/a\", read)\nfs(\"/srv/b\", write)\n"
    );
}

#[test]
fn bad_input_is_one_line_with_a_hint_and_a_distinct_status() {
    let out = learn(&["/no/such/events.json"], "");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("error: cannot read /no/such/events.json"),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.policy");
    std::fs::write(&broken, "#![profile \"/usr/bin/app\"]\nfs(\"/x\", raed)\n").unwrap();
    let out = learn(&["--against", broken.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("bpfboxc --check"));

    let out = learn(&["--root", "/no/such/root"], "");
    assert_eq!(out.status.code(), Some(2));
}
