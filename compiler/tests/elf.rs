//! `#[func]` offsets point at the function's first instruction in the file,
//! for PIE and non-PIE executables: checked against the code bytes that the
//! compiled program reads from its own functions at run time.

mod common;

use common::{bpfboxc, login_binaries, root};
use serde_json::Value;

/// `bpfboxc POLICY --binary BINARY --emit json`, which must succeed.
fn compile_json(policy: &std::path::Path, binary: &str) -> Value {
    let out = bpfboxc(&[
        policy.to_str().unwrap(),
        "--binary",
        binary,
        "--emit",
        "json",
        "-o",
        "-",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `bpfboxc POLICY --binary BINARY --check` succeeds.
fn assert_checks(policy: &std::path::Path, binary: &std::path::Path, what: &str) {
    let out = bpfboxc(&[
        policy.to_str().unwrap(),
        "--binary",
        binary.to_str().unwrap(),
        "--check",
    ]);
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The first 16 bytes at `offset` of a file, in hex.
fn code_at(file: &[u8], offset: usize) -> String {
    file[offset..offset + 16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn offsets_match_code(binary: &str) {
    let path = root().join(binary);
    let output = std::process::Command::new(&path)
        .arg("bytes")
        .output()
        .unwrap();
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).unwrap();
    let file = std::fs::read(&path).unwrap();

    // One policy file per binary: the PIE and non-PIE tests run at once,
    // and a file both rewrote was at times read empty by the other.
    let stem = path.file_name().unwrap().to_string_lossy();
    let policy = root().join(format!("target/testsuite-fixtures/scoped-{stem}.policy"));
    std::fs::write(
        &policy,
        "#![profile \"/usr/local/bin/mylogin\"]\n\
         #[func check_password] read(\"/etc/shadow\")\n\
         #[func verify_hash] read(\"/etc/shadow\")\n\
         #[func recurse] read(\"/etc/shadow\")\n\
         #[func add_user] append(\"/etc/passwd\")\n",
    )
    .unwrap();
    let json = compile_json(&policy, binary);
    let funcs = json["profiles"][0]["funcs"].as_array().unwrap();
    assert_eq!(funcs.len(), 4);
    for line in printed.lines() {
        let (name, hex) = line.split_once(' ').unwrap();
        let func = funcs.iter().find(|f| f["name"] == name).unwrap();
        let offset = func["offset"].as_u64().unwrap() as usize;
        let in_file = code_at(&file, offset);
        assert_eq!(in_file, hex, "{binary}: {name} at offset {offset:#x}");
    }
    let identity = &json["profiles"][0]["identity"]["build_id"];
    assert!(
        identity.as_str().is_some_and(|id| id.len() == 40),
        "GNU build-id recorded: {identity}"
    );
}

#[test]
fn pie_offsets_point_at_the_functions() {
    offsets_match_code(&login_binaries().0);
}

#[test]
fn non_pie_offsets_point_at_the_functions() {
    offsets_match_code(&login_binaries().1);
}

#[test]
fn stripped_binaries_resolve_through_dynsym_and_fall_back_to_sha256() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("login-dyn");
    let status = std::process::Command::new("cc")
        .args([
            "-O1",
            "-pthread",
            "-rdynamic",
            "-s",
            "-Wl,--build-id=none",
            "-o",
        ])
        .arg(&binary)
        .arg(root().join("testsuite/fixtures/login.c"))
        .status()
        .unwrap();
    assert!(status.success());
    let policy = dir.path().join("p.policy");
    std::fs::write(
        &policy,
        "#![profile \"/usr/local/bin/mylogin\"]\n#[func check_password] read(\"/etc/shadow\")\n",
    )
    .unwrap();
    let json = compile_json(&policy, binary.to_str().unwrap());
    let sha = json["profiles"][0]["identity"]["sha256"].as_str().unwrap();
    use sha2::Digest;
    let expected: String = sha2::Sha256::digest(std::fs::read(&binary).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(sha, expected);
    // The offset still points at check_password's code.
    let printed = std::process::Command::new(&binary)
        .arg("bytes")
        .output()
        .unwrap()
        .stdout;
    let printed = String::from_utf8(printed).unwrap();
    let hex = printed
        .lines()
        .find_map(|l| l.strip_prefix("check_password "))
        .unwrap();
    let offset = json["profiles"][0]["funcs"][0]["offset"].as_u64().unwrap() as usize;
    let file = std::fs::read(&binary).unwrap();
    let in_file = code_at(&file, offset);
    assert_eq!(in_file, hex);
}

#[test]
fn rust_and_cpp_names_match_demangled() {
    let dir = tempfile::tempdir().unwrap();
    let cpp = dir.path().join("auth.cpp");
    std::fs::write(
        &cpp,
        "namespace auth { __attribute__((noinline)) int check_password(const char *u) { return u[0]; } }\n\
         int main(int c, char **v) { return auth::check_password(v[0]); }\n",
    )
    .unwrap();
    let binary = dir.path().join("auth");
    let status = std::process::Command::new("c++")
        .arg("-O1")
        .arg("-o")
        .arg(&binary)
        .arg(&cpp)
        .status();
    if !status.is_ok_and(|s| s.success()) {
        eprintln!("no C++ compiler; skipping the C++ half");
        return;
    }
    let policy = dir.path().join("p.policy");
    for name in [
        "\"auth::check_password\"",
        "\"auth::check_password(char const*)\"",
        "\"_ZN4auth14check_passwordEPKc\"",
    ] {
        std::fs::write(
            &policy,
            format!("#![profile \"/usr/bin/auth\"]\n#[func {name}] read(\"/etc/shadow\")\n"),
        )
        .unwrap();
        assert_checks(&policy, &binary, name);
    }
}

#[test]
fn rust_names_match_demangled_without_hash() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("app.rs");
    std::fs::write(
        &source,
        "mod auth { #[inline(never)] pub fn check_password(u: &str) -> usize { std::hint::black_box(u.len()) } }\n\
         fn main() { std::process::exit(auth::check_password(\"root\") as i32 - 4); }\n",
    )
    .unwrap();
    let binary = dir.path().join("app");
    let status =
        std::process::Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
            .args(["-O", "--crate-name", "app", "-o"])
            .arg(&binary)
            .arg(&source)
            .status()
            .unwrap();
    assert!(status.success());
    let policy = dir.path().join("p.policy");
    std::fs::write(&policy, "#![profile \"/usr/bin/app\"]\n#[func \"app::auth::check_password\"] read(\"/etc/shadow\")\n").unwrap();
    assert_checks(&policy, &binary, "app::auth::check_password");
}
