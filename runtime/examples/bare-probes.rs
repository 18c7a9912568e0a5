//! `bare-probes OBJECT BINARY FUNCTION`: attaches every program of the BPF
//! object OBJECT to FUNCTION in BINARY (those in a "uretprobe" section at
//! its return, the others at its entry), prints `attached`, and holds them
//! until killed. The benchmark (testsuite/vm/run --bench) measures a
//! `#[func]` scope against these empty probes: the cost of the probes
//! themselves, which bpfbox cannot go below.

use std::process::ExitCode;

use libbpf_rs::{ObjectBuilder, UprobeOpts};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [object, binary, function] = args.as_slice() else {
        eprintln!("usage: bare-probes OBJECT BINARY FUNCTION");
        return ExitCode::from(2);
    };
    match attach(object, binary, function) {
        Ok(links) => {
            println!("attached {} programs", links.len());
            loop {
                std::thread::park();
            }
        }
        Err(e) => {
            eprintln!("bare-probes: {e}");
            ExitCode::from(1)
        }
    }
}

fn attach(object: &str, binary: &str, function: &str) -> libbpf_rs::Result<Vec<libbpf_rs::Link>> {
    let object = ObjectBuilder::default().open_file(object)?.load()?;
    let mut links = Vec::new();
    for program in object.progs_mut() {
        let retprobe = program.section().to_string_lossy().starts_with("uretprobe");
        let opts = UprobeOpts {
            func_name: Some(function.to_string()),
            retprobe,
            ..UprobeOpts::default()
        };
        links.push(program.attach_uprobe_with_opts(-1, binary, 0, opts)?);
    }
    Ok(links)
}
