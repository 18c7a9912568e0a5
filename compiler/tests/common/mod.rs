//! Helpers shared by the compiler's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The workspace root; tests run bpfboxc from there so that file names in
/// diagnostics are stable relative paths.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn bpfboxc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bpfboxc"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .expect("run bpfboxc")
}

pub fn bpfboxc_stdin(args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_bpfboxc"))
        .args(args)
        .current_dir(root())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run bpfboxc");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// The test program testsuite/fixtures/login.c, compiled once per test run
/// as PIE and non-PIE into target/testsuite-fixtures (a path relative to the
/// workspace root, so that it prints the same everywhere).
pub fn login_binaries() -> &'static (String, String) {
    static BUILT: OnceLock<(String, String)> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = root().join("target/testsuite-fixtures");
        std::fs::create_dir_all(&dir).unwrap();
        let source = root().join("testsuite/fixtures/login.c");
        let mut built = Vec::new();
        for (name, flags) in [
            ("login-pie", &["-pie", "-fPIE"]),
            ("login-nopie", &["-no-pie", "-fno-pie"]),
        ] {
            let out = dir.join(name);
            let status = Command::new("cc")
                .args(["-O1", "-g", "-pthread", "-o"])
                .arg(&out)
                .args(flags)
                .arg(&source)
                .status()
                .expect("a C compiler (cc) is needed for the #[func] tests");
            assert!(status.success(), "compiling {}", source.display());
            built.push(format!("target/testsuite-fixtures/{name}"));
        }
        (built[0].clone(), built[1].clone())
    })
}
