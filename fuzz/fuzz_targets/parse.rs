//! Any bytes through the whole front end: parse, check, lint, lower, write,
//! read back, and format. Nothing may panic; an image that compiles must
//! read back equal.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        bpfbox_fuzz_checks::policy(text);
    }
});

#[path = "../../compiler/tests/fuzz_checks.rs"]
mod bpfbox_fuzz_checks;
