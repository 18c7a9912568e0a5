//! `attach OBJECT [BINARY FUNCTION]`: loads the BPF object OBJECT and
//! attaches every program in it: those in "uprobe" and "uretprobe" sections
//! to FUNCTION in BINARY, the others where their section says (an LSM hook,
//! a tracepoint). Prints `attached N programs`, then holds them until
//! killed. The VM suites use it for BPF programs that are not bpfbox's:
//!   - the benchmark's floor for a `#[func]` scope: empty probes on the same
//!     function (testsuite/vm/bare-probes.bpf.c);
//!   - another BPF LSM attached before bpfbox, whose denials must stand
//!     with bpfbox loaded (testsuite/vm/other-lsm.bpf.c).

use std::process::ExitCode;

use libbpf_rs::{ObjectBuilder, UprobeOpts};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (object, target) = match args.as_slice() {
        [object] => (object, None),
        [object, binary, function] => (object, Some((binary.as_str(), function.as_str()))),
        _ => {
            eprintln!("usage: attach OBJECT [BINARY FUNCTION]");
            return ExitCode::from(2);
        }
    };
    match attach(object, target) {
        Ok(links) => {
            println!("attached {} programs", links.len());
            loop {
                std::thread::park();
            }
        }
        Err(e) => {
            eprintln!("attach: {e}");
            ExitCode::from(1)
        }
    }
}

fn attach(object: &str, target: Option<(&str, &str)>) -> libbpf_rs::Result<Vec<libbpf_rs::Link>> {
    let object = ObjectBuilder::default().open_file(object)?.load()?;
    let mut links = Vec::new();
    for program in object.progs_mut() {
        let section = program.section().to_string_lossy().into_owned();
        let probe = section.starts_with("uprobe") || section.starts_with("uretprobe");
        let link = match (probe, target) {
            (true, Some((binary, function))) => {
                let opts = UprobeOpts {
                    func_name: Some(function.to_string()),
                    retprobe: section.starts_with("uretprobe"),
                    ..UprobeOpts::default()
                };
                program.attach_uprobe_with_opts(-1, binary, 0, opts)?
            }
            (true, None) => {
                return Err(libbpf_rs::Error::from(std::io::Error::other(format!(
                    "{section} needs BINARY FUNCTION"
                ))))
            }
            (false, _) => program.attach()?,
        };
        links.push(link);
    }
    Ok(links)
}
