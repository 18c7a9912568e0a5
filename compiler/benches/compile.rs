//! Compile time and image size against apparmor_parser, side by side in one
//! run: a generated policy of N `fs` rules over 100 directories, and the
//! equivalent AppArmor profile, for N up to 10,000 (linear growth shows in
//! the per-rule column).
//!
//!     cargo bench -p bpfbox-compiler --bench compile
//!
//! apparmor_parser (Debian package `apparmor`) is run as `apparmor_parser -Q
//! -S` (compile, skip the kernel, write the binary to stdout); without it the
//! AppArmor columns are left out.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The files the rules name exist (under `root`), as they would for a real
/// policy, so that bpfboxc's missing-path check does the work it normally does.
fn policy(root: &Path, n: usize) -> String {
    let mut text = String::from("#![profile \"/usr/bin/bench\"]\n");
    for i in 0..n {
        text.push_str(&format!(
            "fs(\"{}/d{:03}/f{i:05}\", read)\n",
            root.display(),
            i % 100
        ));
    }
    text
}

fn apparmor_profile(root: &Path, n: usize) -> String {
    let mut text = String::from("profile bench /usr/bin/bench {\n");
    for i in 0..n {
        text.push_str(&format!(
            "  {}/d{:03}/f{i:05} r,\n",
            root.display(),
            i % 100
        ));
    }
    text.push_str("}\n");
    text
}

/// Median wall time of `runs` runs, and the size of what the last run wrote.
fn time_command(runs: usize, make: impl Fn() -> Command) -> Option<(Duration, usize)> {
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let out = make().stderr(Stdio::null()).output().ok()?;
        times.push(start.elapsed());
        if !out.status.success() {
            return None;
        }
        size = out.stdout.len();
    }
    times.sort();
    Some((times[times.len() / 2], size))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    // `cargo bench` passes --bench; ignore arguments.
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("srv");
    for i in 0..10_000 {
        let d = files.join(format!("d{:03}", i % 100));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(format!("f{i:05}")), b"").unwrap();
    }
    let bpfboxc = env!("CARGO_BIN_EXE_bpfboxc");
    let have_apparmor = Command::new("apparmor_parser")
        .arg("--version")
        .output()
        .is_ok();
    println!("rules   bpfboxc(ms)  no-path-check(ms)  in-process(ms)  image(B)  B/rule  apparmor(ms)  apparmor(B)  speedup");
    for n in [1_000, 2_500, 5_000, 10_000] {
        let policy_path = dir.path().join(format!("bench{n}.policy"));
        let profile_path = dir.path().join(format!("bench{n}.apparmor"));
        std::fs::write(&policy_path, policy(&files, n)).unwrap();
        std::fs::write(&profile_path, apparmor_profile(&files, n)).unwrap();
        let cli = |extra: &'static [&'static str], path: &Path| {
            let path = path.to_path_buf();
            move || {
                let mut c = Command::new(bpfboxc);
                c.arg(&path).args(["-o", "-", "--quiet"]).args(extra);
                c
            }
        };
        let (full, size) = time_command(21, cli(&[], &policy_path)).expect("bpfboxc failed");
        let (fast, _) =
            time_command(21, cli(&["--no-path-check"], &policy_path)).expect("bpfboxc failed");

        let text = policy(&files, n);
        let mut in_process = Vec::new();
        for _ in 0..21 {
            let start = Instant::now();
            let analysis = bpfbox_compiler::analyze(&text, &bpfbox_compiler::Options::default());
            let bytes = bpfbox_image::write(&analysis.image().unwrap());
            std::hint::black_box(bytes);
            in_process.push(start.elapsed());
        }
        in_process.sort();
        let in_process = in_process[in_process.len() / 2];

        let apparmor = have_apparmor
            .then(|| {
                time_command(5, || {
                    let mut c = Command::new("apparmor_parser");
                    c.args(["-Q", "-S"]).arg(&profile_path);
                    c
                })
            })
            .flatten();
        let (aa_ms, aa_size, speedup) = match apparmor {
            Some((t, s)) => (
                format!("{:.1}", ms(t)),
                s.to_string(),
                format!("{:.0}x", ms(t) / ms(full)),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        println!(
            "{n:>6}  {:>11.2}  {:>17.2}  {:>14.2}  {size:>8}  {:>6.1}  {aa_ms:>12}  {aa_size:>11}  {speedup:>7}",
            ms(full),
            ms(fast),
            ms(in_process),
            size as f64 / n as f64,
        );
    }
}
