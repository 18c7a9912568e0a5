//! libbpf's own messages: kept, not printed, so that a failure is one line
//! (with the last of libbpf's lines as its hint), and printed in full with
//! --verbose.

use std::sync::Mutex;

use libbpf_rs::PrintLevel;

static LOG: Mutex<String> = Mutex::new(String::new());
static VERBOSE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn capture(level: PrintLevel, message: String) {
    if verbose() {
        eprint!("{message}");
    }
    if matches!(level, PrintLevel::Warn | PrintLevel::Info) {
        if let Ok(mut log) = LOG.lock() {
            log.push_str(&message);
        }
    }
}

pub fn install(verbose: bool) {
    VERBOSE.store(verbose, std::sync::atomic::Ordering::Relaxed);
    let level = if verbose {
        PrintLevel::Debug
    } else {
        PrintLevel::Info
    };
    libbpf_rs::set_print(Some((level, capture)));
}

/// The last `n` non-empty lines libbpf printed, joined with " / ".
pub fn last_lines(n: usize) -> String {
    let log = LOG.lock().map(|l| l.clone()).unwrap_or_default();
    let lines: Vec<&str> = log
        .lines()
        .map(|l| l.trim().trim_start_matches("libbpf: "))
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(n)..].join(" / ")
}

/// The verifier's reason for its last rejection: the line before the
/// "processed N insns" summary of the last program load log.
pub fn verifier_error() -> String {
    let log = LOG.lock().map(|l| l.clone()).unwrap_or_default();
    let lines: Vec<&str> = log.lines().map(str::trim).collect();
    lines
        .iter()
        .rposition(|l| l.starts_with("processed ") && l.contains(" insns"))
        .and_then(|i| {
            lines[..i]
                .iter()
                .rev()
                .find(|l| !l.is_empty() && !l.starts_with("verification time"))
        })
        .map_or_else(|| last_lines(1), |l| l.to_string())
}

/// The program libbpf last failed to load, from "prog 'NAME': BPF program
/// load failed".
pub fn failed_program() -> Option<String> {
    let log = LOG.lock().map(|l| l.clone()).unwrap_or_default();
    let line = log
        .lines()
        .rev()
        .find(|l| l.contains("BPF program load failed"))?;
    let start = line.find("prog '")? + "prog '".len();
    let end = start + line[start..].find('\'')?;
    Some(line[start..end].to_string())
}

/// Whether --verbose was given.
pub fn verbose() -> bool {
    VERBOSE.load(std::sync::atomic::Ordering::Relaxed)
}

/// A line of bpfbox-load's own among libbpf's, printed with --verbose.
pub fn note(message: &str) {
    if verbose() {
        eprintln!("bpfbox-load: {message}");
    }
}
