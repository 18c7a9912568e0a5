//! Compile time and image size against apparmor_parser, side by side in one
//! run: a generated policy of N `fs` rules over 100 directories, and the
//! equivalent AppArmor profile, for N from 1,000 to 100,000 (linear growth
//! shows in the per-rule columns). bpfboxc runs as a user runs it: on a
//! build machine where the policy's files do not exist (the usual case, and
//! the one that prints a warning per rule), and where they do.
//!
//!     cargo bench -p bpfbox-compiler --bench compile
//!
//! apparmor_parser (Debian package `apparmor`) is run as `apparmor_parser -Q
//! -S` (compile, skip the kernel, write the binary to stdout); without it the
//! AppArmor columns are left out.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// N rules naming files under `root`.
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
        // Both outputs to pipes, read whole: what a user or CI log pays.
        let out = make().output().ok()?;
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
    const SIZES: [usize; 3] = [1_000, 10_000, 100_000];
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("srv");
    let missing = dir.path().join("absent");
    for i in 0..SIZES[SIZES.len() - 1] {
        let d = files.join(format!("d{:03}", i % 100));
        if i < 100 {
            std::fs::create_dir_all(&d).unwrap();
        }
        std::fs::write(d.join(format!("f{i:05}")), b"").unwrap();
    }
    let bpfboxc = env!("CARGO_BIN_EXE_bpfboxc");
    let have_apparmor = Command::new("apparmor_parser")
        .arg("--version")
        .output()
        .is_ok();
    println!("rules    missing(ms)  present(ms)  no-check(ms)  in-process(ms)  image(B)  B/rule  apparmor(ms)  apparmor(B)  speedup");
    for n in SIZES {
        let path = |name: &str| dir.path().join(format!("{name}{n}"));
        std::fs::write(path("missing.policy"), policy(&missing, n)).unwrap();
        std::fs::write(path("present.policy"), policy(&files, n)).unwrap();
        std::fs::write(path("missing.apparmor"), apparmor_profile(&missing, n)).unwrap();
        let runs = if n > 10_000 { 5 } else { 21 };
        let cli = |extra: &'static [&'static str], path: std::path::PathBuf| {
            move || {
                let mut c = Command::new(bpfboxc);
                c.arg(&path).args(["-o", "-"]).args(extra);
                c
            }
        };
        // What a person sees, warnings and summary included (to a pipe).
        let (missing_t, size) =
            time_command(runs, cli(&[], path("missing.policy"))).expect("bpfboxc failed");
        let (present_t, _) =
            time_command(runs, cli(&[], path("present.policy"))).expect("bpfboxc failed");
        let (unchecked_t, _) =
            time_command(runs, cli(&["--no-path-check"], path("missing.policy")))
                .expect("bpfboxc failed");

        let text = policy(&missing, n);
        let mut in_process = Vec::new();
        for _ in 0..runs {
            let start = Instant::now();
            let analysis = bpfbox_compiler::analyze(&text, &bpfbox_compiler::Options::default());
            let bytes = bpfbox_image::write(&analysis.image().unwrap());
            std::hint::black_box(bytes);
            in_process.push(start.elapsed());
        }
        in_process.sort();
        let in_process = in_process[in_process.len() / 2];

        let apparmor = have_apparmor.then(|| {
            time_command(3, || {
                let mut c = Command::new("apparmor_parser");
                c.args(["-Q", "-S"]).arg(path("missing.apparmor"));
                c
            })
        });
        let (aa_ms, aa_size, speedup) = match apparmor {
            Some(Some((t, s))) => (
                format!("{:.0}", ms(t)),
                s.to_string(),
                format!("{:.0}x", ms(t) / ms(missing_t)),
            ),
            Some(None) => ("fails".into(), "-".into(), "-".into()),
            None => ("-".into(), "-".into(), "-".into()),
        };
        println!(
            "{n:>7}  {:>11.1}  {:>11.1}  {:>12.1}  {:>14.1}  {size:>8}  {:>6.2}  {aa_ms:>12}  {aa_size:>11}  {speedup:>7}",
            ms(missing_t),
            ms(present_t),
            ms(unchecked_t),
            ms(in_process),
            size as f64 / n as f64,
        );
    }
}
