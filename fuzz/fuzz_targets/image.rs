//! Any bytes through the image reader: it must refuse or accept without
//! panicking, and what it accepts must write back byte for byte.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    bpfbox_fuzz_checks::image(data);
});

#[path = "../../compiler/tests/fuzz_checks.rs"]
mod bpfbox_fuzz_checks;
