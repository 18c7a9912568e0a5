//! bpfbox-load as a deploy pipeline runs it, on this host: every refusal is
//! one line of cause, one of hint, a distinct exit status, and leaves
//! /sys/fs/bpf as it was. (Enforcement itself is proven in the VM suite,
//! testsuite/vm/.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bpfbox_image::{
    Identity, Image, Lines, Masks, Profile, Rule, RuleKind, Scope, ScopeKind, Target,
};

/// Tests that touch /sys/fs/bpf (the host's real state) take turns.
static BPF_FS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn bpf_fs_turn() -> std::sync::MutexGuard<'static, ()> {
    BPF_FS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn bpfbox_load(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bpfbox-load"))
        .args(args)
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The two-line refusal: "error: cause" and "  hint: fix".
fn assert_refusal(out: &Output, status: i32, cause: &str) {
    let text = stderr(out);
    assert_eq!(out.status.code(), Some(status), "{text}");
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("warning:"))
        .collect();
    assert_eq!(lines.len(), 2, "one line of cause and one of hint: {text}");
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains(cause),
        "{text}"
    );
    assert!(lines[1].starts_with("  hint: "), "{text}");
}

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// An executable to profile: a copy of this test binary (an ELF file).
    fn exe(&self) -> PathBuf {
        let exe = self.path("app");
        if !exe.exists() {
            std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
        }
        exe
    }

    fn image(&self, name: &str, profile: Profile) -> String {
        let path = self.path(name);
        std::fs::write(
            &path,
            bpfbox_image::write(&Image {
                profiles: vec![profile],
                source: Some("test.policy".into()),
            }),
        )
        .unwrap();
        path.to_str().unwrap().to_string()
    }

    fn profile(&self) -> Profile {
        let exe = self.exe();
        let readable = self.path("readable");
        std::fs::write(&readable, "x").unwrap();
        Profile {
            exe: exe.to_str().unwrap().to_string(),
            rules: vec![
                Rule {
                    scope: 0,
                    kind: RuleKind::File,
                    target: Target::Path(readable.to_str().unwrap().into()),
                    masks: Masks {
                        allow: 1,
                        ..Masks::default()
                    },
                    lines: Lines {
                        line: 1,
                        deny_line: 0,
                    },
                },
                Rule {
                    scope: 0,
                    kind: RuleKind::File,
                    target: Target::Path(self.path("missing").to_str().unwrap().into()),
                    masks: Masks {
                        allow: 1,
                        ..Masks::default()
                    },
                    lines: Lines {
                        line: 1,
                        deny_line: 0,
                    },
                },
            ],
            ..Profile::default()
        }
    }
}

fn bpf_fs_listing() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                out.push(entry.path());
                walk(&entry.path(), out);
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new("/sys/fs/bpf/bpfbox"), &mut out);
    out
}

#[test]
fn dry_run_resolves_and_warns_about_missing_paths() {
    let f = Fixture::new();
    let image = f.image("ok.bbx", f.profile());
    let out = bpfbox_load(&["--dry-run", &image]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(
        stdout.contains("would load") && stdout.contains("1 map entries (1 file"),
        "{stdout}"
    );
    assert!(
        stderr(&out).contains("missing does not exist here"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_images_are_refused() {
    let f = Fixture::new();
    let image = f.image("ok.bbx", f.profile());
    let mut bytes = std::fs::read(&image).unwrap();
    bytes[70] ^= 1;
    std::fs::write(f.path("tampered.bbx"), &bytes).unwrap();
    std::fs::write(f.path("short.bbx"), &bytes[..50]).unwrap();
    std::fs::write(f.path("text.bbx"), "#![profile \"/bin/sh\"]\n").unwrap();
    for (name, cause) in [
        ("tampered.bbx", "checksum mismatch"),
        ("short.bbx", "too short"),
        ("text.bbx", "not a bpfbox image"),
    ] {
        let out = bpfbox_load(&[f.path(name).to_str().unwrap()]);
        assert_refusal(&out, 1, cause);
    }
    assert_refusal(
        &bpfbox_load(&[f.path("absent.bbx").to_str().unwrap()]),
        2,
        "cannot read",
    );
}

#[test]
fn a_missing_or_changed_binary_is_refused() {
    let f = Fixture::new();
    let mut profile = f.profile();
    profile.exe = f.path("not-installed").to_str().unwrap().into();
    assert_refusal(
        &bpfbox_load(&["--dry-run", &f.image("a.bbx", profile)]),
        1,
        "cannot be found",
    );

    let mut profile = f.profile();
    profile.identity = Some(Identity::Sha256([7; 32]));
    profile.scopes = vec![Scope {
        kind: ScopeKind::User,
        name: "main".into(),
        offset: 64,
    }];
    assert_refusal(
        &bpfbox_load(&["--dry-run", &f.image("b.bbx", profile)]),
        1,
        "not the binary the policy was compiled against",
    );

    let mut profile = f.profile();
    profile.scopes = vec![Scope {
        kind: ScopeKind::User,
        name: "main".into(),
        offset: 1 << 40,
    }];
    assert_refusal(
        &bpfbox_load(&["--dry-run", &f.image("c.bbx", profile)]),
        1,
        "outside",
    );
}

#[test]
fn usage_errors() {
    assert_refusal(&bpfbox_load(&[]), 2, "nothing to do");
    assert_eq!(bpfbox_load(&["--frobnicate"]).status.code(), Some(2));
    assert_refusal(
        &bpfbox_load(&["--json"]),
        2,
        "--json goes with --list or --follow",
    );
    for bad in ["0", "65537", "many"] {
        let out = bpfbox_load(&["--max-procs", bad, "x.bbx"]);
        assert_eq!(out.status.code(), Some(2), "--max-procs {bad}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--max-procs"));
    }
    let help = String::from_utf8(bpfbox_load(&["--help"]).stdout).unwrap();
    for flag in [
        "--dry-run",
        "--list",
        "--unload",
        "--follow",
        "--json",
        "--max-procs",
        "--verbose",
        "Exit status",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn not_root_is_refused() {
    let f = Fixture::new();
    let image = f.image("ok.bbx", f.profile());
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(f.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&image, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            env!("CARGO_BIN_EXE_bpfbox-load"),
            &image,
        ])
        .output();
    let Ok(out) = out else {
        eprintln!("setpriv is not installed; skipped");
        return;
    };
    assert_refusal(&out, 4, "must run as root");
}

/// Here, the host kernel refuses BPF LSM programs: that must be the one
/// line a user reads, and nothing may stay pinned. (On a host that allows
/// them the load succeeds, and the test unloads it again.)
#[test]
fn a_kernel_that_refuses_bpf_lsm_gets_a_clear_message() {
    let _turn = bpf_fs_turn();
    let f = Fixture::new();
    let image = f.image("ok.bbx", f.profile());
    let before = bpf_fs_listing();
    let out = bpfbox_load(&[&image]);
    if out.status.success() {
        assert!(bpfbox_load(&["--unload"]).status.success());
        return;
    }
    let text = stderr(&out);
    assert!(!text.contains("libbpf: "), "no libbpf dump: {text}");
    assert_refusal(&out, 3, "");
    assert!(
        text.contains("refused to load bpfbox's BPF LSM programs")
            || text.contains("BPF LSM is not active"),
        "{text}"
    );
    assert_eq!(bpf_fs_listing(), before, "left behind in /sys/fs/bpf");
}

#[test]
fn list_unload_and_follow_with_nothing_loaded() {
    let _turn = bpf_fs_turn();
    if Path::new("/sys/fs/bpf/bpfbox/maps/registry").exists() {
        eprintln!("a bpfbox policy is loaded on this host; skipped");
        return;
    }
    let list = bpfbox_load(&["--list"]);
    assert!(list.status.success());
    assert_eq!(
        String::from_utf8(list.stdout).unwrap(),
        "no bpfbox policy is loaded\n"
    );
    assert_eq!(
        String::from_utf8(bpfbox_load(&["--list", "--json"]).stdout).unwrap(),
        "[]\n"
    );
    let unload = bpfbox_load(&["--unload"]);
    assert!(unload.status.success());
    assert_eq!(
        String::from_utf8(unload.stdout).unwrap(),
        "nothing was loaded\n"
    );
    assert_refusal(
        &bpfbox_load(&["--unload", "/usr/bin/x"]),
        1,
        "no profile for /usr/bin/x is loaded",
    );
    assert_refusal(&bpfbox_load(&["--follow"]), 1, "no bpfbox policy is loaded");
}
