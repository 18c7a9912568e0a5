//! `attach OBJECT [BINARY FUNCTION]`: loads the BPF object OBJECT and
//! attaches every program in it: those in "uprobe" and "uretprobe" sections
//! to FUNCTION in BINARY, the others where their section says (an LSM hook,
//! a tracepoint). Prints `attached N programs`, then holds them until
//! killed. The VM suites use it for BPF programs that are not bpfbox's:
//!   - the benchmark's floor for a `#[func]` scope: empty probes on the same
//!     function (testsuite/vm/bare-probes.bpf.c);
//!   - another BPF LSM attached before bpfbox, whose denials must stand
//!     with bpfbox loaded (testsuite/vm/other-lsm.bpf.c).
//!
//! `attach --empty-hooks`: an empty program (`return 0`) on every LSM hook
//! and tracepoint bpfbox's own object attaches to, the hooks read from that
//! object (the one bpfbox-load embeds), not from a list kept here: the
//! benchmark's floor for the passive rows, what the kernel's calling of
//! BPF programs at those hooks costs with nothing in them.

use std::process::ExitCode;

use libbpf_rs::{ObjectBuilder, UprobeOpts};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args == ["--empty-hooks"] {
        // In the benchmark's VM the clock counts instructions: the floor
        // of attaching as many programs at the same hooks.
        return hold(empty_hooks::attach().map(|(links, took)| {
            let said = format!(
                "attached {} programs in {} ms",
                links.len(),
                took.as_millis()
            );
            (links, said)
        }));
    }
    let (object, target) = match args.as_slice() {
        [object] => (object, None),
        [object, binary, function] => (object, Some((binary.as_str(), function.as_str()))),
        _ => {
            eprintln!("usage: attach OBJECT [BINARY FUNCTION] | attach --empty-hooks");
            return ExitCode::from(2);
        }
    };
    hold(attach(object, target).map(|links| {
        let said = format!("attached {} programs", links.len());
        (links, said)
    }))
}

/// Says what was attached, then holds the links until killed; or says why
/// nothing is held.
fn hold<L>(attached: Result<(L, String), impl std::fmt::Display>) -> ExitCode {
    match attached {
        Ok((_links, said)) => {
            println!("{said}");
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

/// bpfbox's object, for the names of its programs' sections.
#[allow(
    clippy::all,
    dead_code,
    non_camel_case_types,
    non_snake_case,
    unused_imports
)]
mod bpfbox_object {
    include!(concat!(env!("OUT_DIR"), "/bpfbox.skel.rs"));
}

mod empty_hooks {
    use std::ffi::CString;
    use std::io::{Error, Result};
    use std::mem::MaybeUninit;
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::time::{Duration, Instant};

    use libbpf_rs::libbpf_sys;
    use libbpf_rs::skel::{OpenSkel, SkelBuilder};

    use super::bpfbox_object::BpfboxSkelBuilder;

    /// What an LSM program or a BTF tracepoint program of bpfbox's is
    /// attached to, and how an empty one is loaded there: its program
    /// type, attach type, and the kernel function or typedef that names
    /// the place in the kernel's BTF.
    struct Place {
        prog_type: libbpf_sys::bpf_prog_type,
        attach_type: libbpf_sys::bpf_attach_type,
        btf_name: String,
        btf_kind: u32,
    }

    fn place(section: &str) -> Option<Place> {
        if let Some(hook) = section.strip_prefix("lsm/") {
            return Some(Place {
                prog_type: libbpf_sys::BPF_PROG_TYPE_LSM,
                attach_type: libbpf_sys::BPF_LSM_MAC,
                btf_name: format!("bpf_lsm_{hook}"),
                btf_kind: libbpf_sys::BTF_KIND_FUNC,
            });
        }
        let tracepoint = section.strip_prefix("tp_btf/")?;
        Some(Place {
            prog_type: libbpf_sys::BPF_PROG_TYPE_TRACING,
            attach_type: libbpf_sys::BPF_TRACE_RAW_TP,
            btf_name: format!("btf_trace_{tracepoint}"),
            btf_kind: libbpf_sys::BTF_KIND_TYPEDEF,
        })
    }

    /// Every place bpfbox's object attaches a program, with an empty
    /// program there; hooks this kernel does not have are skipped, as
    /// bpfbox-load skips them. The links stay attached while held.
    pub fn attach() -> Result<(Vec<OwnedFd>, Duration)> {
        let mut storage = MaybeUninit::uninit();
        let open = BpfboxSkelBuilder::default()
            .open(&mut storage)
            .map_err(|e| Error::other(format!("cannot open bpfbox's object: {e}")))?;
        let places: Vec<Place> = open
            .open_object()
            .progs()
            .filter_map(|p| place(&p.section().to_string_lossy()))
            .collect();
        // SAFETY: libbpf reads the running kernel's BTF; freed below.
        let btf = unsafe { libbpf_sys::btf__load_vmlinux_btf() };
        if btf.is_null() {
            return Err(Error::other("cannot read the kernel's BTF"));
        }
        // The places this kernel has (by the same search libbpf makes).
        let found: Vec<(&Place, u32)> = places
            .iter()
            .filter_map(|place| {
                let name = CString::new(place.btf_name.as_str()).ok()?;
                // SAFETY: btf is valid until freed below.
                let id = unsafe {
                    libbpf_sys::btf__find_by_name_kind(btf, name.as_ptr(), place.btf_kind)
                };
                (id > 0).then_some((place, id as u32))
            })
            .collect();
        // SAFETY: loaded above, not used after.
        unsafe { libbpf_sys::btf__free(btf) };
        // Timed: loading and attaching, the kernel's part.
        let started = Instant::now();
        let links = found
            .into_iter()
            .map(|(place, id)| attach_empty(place, id))
            .collect::<Result<Vec<_>>>()?;
        Ok((links, started.elapsed()))
    }

    /// `r0 = 0; exit`, loaded at the place and attached.
    fn attach_empty(place: &Place, btf_id: u32) -> Result<OwnedFd> {
        let mov_r0_0 = libbpf_sys::bpf_insn {
            code: (libbpf_sys::BPF_ALU64 | libbpf_sys::BPF_MOV | libbpf_sys::BPF_K) as u8,
            ..Default::default()
        };
        let exit = libbpf_sys::bpf_insn {
            code: (libbpf_sys::BPF_JMP | libbpf_sys::BPF_EXIT) as u8,
            ..Default::default()
        };
        let insns = [mov_r0_0, exit];
        let mut opts = libbpf_sys::bpf_prog_load_opts {
            sz: std::mem::size_of::<libbpf_sys::bpf_prog_load_opts>() as _,
            expected_attach_type: place.attach_type,
            attach_btf_id: btf_id,
            ..Default::default()
        };
        let license = c"GPL";
        // SAFETY: the instructions and options outlive the call.
        let prog = unsafe {
            libbpf_sys::bpf_prog_load(
                place.prog_type,
                c"empty".as_ptr(),
                license.as_ptr(),
                insns.as_ptr(),
                insns.len() as _,
                &mut opts,
            )
        };
        if prog < 0 {
            return Err(Error::other(format!(
                "an empty program at {}: {}",
                place.btf_name,
                Error::from_raw_os_error(-prog)
            )));
        }
        // SAFETY: a new descriptor, owned here.
        let prog = unsafe { OwnedFd::from_raw_fd(prog) };
        // SAFETY: prog is a loaded program; a null name attaches it where
        // it was loaded for (an LSM hook, a BTF tracepoint).
        let link = unsafe {
            libbpf_sys::bpf_raw_tracepoint_open(
                std::ptr::null(),
                std::os::fd::AsRawFd::as_raw_fd(&prog),
            )
        };
        if link < 0 {
            return Err(Error::other(format!(
                "attaching an empty program at {}: {}",
                place.btf_name,
                Error::from_raw_os_error(-link)
            )));
        }
        // SAFETY: a new descriptor, owned here; it holds the program.
        Ok(unsafe { OwnedFd::from_raw_fd(link) })
    }
}
