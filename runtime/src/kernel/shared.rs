//! The functions every hook shares (bpf/include/shared.h says why they are
//! apart): shared.bpf.c's freplace programs, each loaded once and linked
//! into every program of bpfbox.bpf.c that calls its stub, before any hook
//! is attached. A link is pinned at `links/<program>:<function>`; removing
//! one leaves that program's stub, which fails closed.

use std::collections::BTreeSet;
use std::ffi::CString;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;

use libbpf_rs::libbpf_sys;
use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::AsRawLibbpf;

use super::pins::links_dir;
use super::programs::{bpf_failure, load_failure};
use super::scopes::reuse_maps;
use super::types::relocate_against;
use crate::failure::Failure;
use crate::libbpf_log;
use crate::skel;

/// Where the link of `function` into `program` is pinned. bpffs refuses
/// names with a dot.
pub(super) fn shared_link_pin(program: &str, function: &str) -> PathBuf {
    links_dir().join(format!("{program}:{function}"))
}

/// Opens the shared object, relocated against the kernel types at `types`
/// (types.rs) when there are any, else against the kernel's BTF.
pub(super) fn open_shared<'obj>(
    storage: &'obj mut MaybeUninit<libbpf_rs::OpenObject>,
    types: Option<&std::path::Path>,
) -> Result<skel::shared::OpenSharedSkel<'obj>, Failure> {
    let mut builder = skel::shared::SharedSkelBuilder::default();
    relocate_against(&mut builder.obj_builder, types)?;
    builder
        .open(storage)
        .map_err(|e| bpf_failure("cannot open bpfbox's shared BPF object", e))
}

/// Links the shared functions into `attaching` (names of programs in
/// `object`, the loaded bpfbox.bpf.c, none of them attached yet) and pins
/// the links. Returns how many it pinned. A program's stale pin, left by a
/// load that was killed before it attached that program, is replaced.
/// `attached` are the programs an earlier load attached: their links must
/// be pinned already. One missing (removed by hand) is refused, nothing
/// changed: repairing it would mean taking the program from its link pin
/// and its BTF from the kernel, for a state only root outside bpfbox makes.
pub(super) fn link_shared_functions(
    object: &libbpf_rs::Object,
    mut open: skel::shared::OpenSharedSkel<'_>,
    attaching: &[String],
    attached: &[String],
) -> Result<usize, Failure> {
    // The stubs' type ids in the object's BTF, which the kernel was given
    // with every program: func_info names a program's functions by them.
    let btf = libbpf_rs::btf::Btf::from_bpf_object(unsafe { object.as_libbpf_object().as_ref() })
        .ok()
        .flatten()
        .ok_or_else(|| {
            Failure::kernel(
                "bpfbox's BPF object has no BTF",
                "rebuild bpfbox-load; its programs are compiled with -g",
            )
        })?;
    let targets: Vec<(String, OwnedFd, BTreeSet<u32>)> = object
        .progs()
        .filter(|p| {
            let name = p.name().to_string_lossy();
            attaching.iter().chain(attached).any(|n| name == n.as_str())
        })
        .map(|p| {
            let name = p.name().to_string_lossy().into_owned();
            let fd = p.as_fd().try_clone_to_owned().map_err(|e| {
                Failure::kernel(
                    format!("cannot duplicate the descriptor of {name}: {e}"),
                    "bpfbox-load is out of file descriptors; raise its limit (ulimit -n)",
                )
            })?;
            let functions = function_type_ids(fd.as_raw_fd()).map_err(|e| {
                Failure::kernel(
                    format!("cannot read the functions of program {name}: {e}"),
                    "the kernel refused BPF_OBJ_GET_INFO_BY_FD on a program bpfbox-load just loaded",
                )
            })?;
            Ok((name, fd, functions))
        })
        .collect::<Result<_, Failure>>()?;

    reuse_maps(open.open_object_mut())?;
    // Each function: its type id, and a program that calls it (the kernel
    // checks a body against that program's stub at load).
    let mut functions: Vec<(String, u32)> = Vec::new();
    for mut body in open.open_object_mut().progs_mut() {
        // With --verbose, the verifier's statistics of each body, as of
        // the hooks (programs.rs).
        if libbpf_log::verbose() {
            body.set_log_level(4);
        }
        let name = body.name().to_string_lossy().into_owned();
        let id = btf
            .type_by_name::<libbpf_rs::btf::types::Func>(&name)
            .map(|f| u32::from(f.type_id()))
            .ok_or_else(|| {
                Failure::kernel(
                    format!("bpfbox's programs have no stub for the shared function {name}"),
                    "rebuild bpfbox-load: bpfbox.bpf.c and shared.bpf.c are of different versions",
                )
            })?;
        match targets
            .iter()
            .find(|(program, _, f)| f.contains(&id) && attaching.contains(program))
        {
            Some((_, fd, _)) => body
                .set_attach_target(fd.as_raw_fd(), Some(name.clone()))
                .map_err(|e| {
                    bpf_failure(&format!("cannot target the shared function {name}"), e)
                })?,
            // No program this load attaches calls it.
            None => body.set_autoload(false),
        }
        functions.push((name, id));
    }
    // An attached program runs the code of the object that attached it,
    // whose stubs are the same as this one's (an object of another ABI is
    // refused before): it calls the functions this one's program calls.
    let missing: Vec<String> = targets
        .iter()
        .filter(|(program, _, _)| attached.contains(program))
        .flat_map(|(program, _, calls)| {
            functions
                .iter()
                .filter(|(_, id)| calls.contains(id))
                .map(|(function, _)| shared_link_pin(program, function))
                .filter(|pin| !pin.exists())
                .map(|pin| pin.display().to_string())
        })
        .collect();
    if let Some(first) = missing.first() {
        return Err(links_removed(&format!(
            "{} link pins of bpfbox's shared functions (the first: {first})",
            missing.len()
        )));
    }
    if attaching.is_empty() {
        return Ok(0);
    }
    let loaded = open
        .load()
        .map_err(|e| load_failure("bpfbox's shared BPF functions", e))?;
    let object = libbpf_rs::skel::Skel::object(&loaded);
    let mut pinned = 0;
    for body in object.progs() {
        let function = body.name().to_string_lossy().into_owned();
        let Some(&(_, id)) = functions.iter().find(|(n, _)| *n == function) else {
            continue;
        };
        for (program, target, calls) in &targets {
            if !calls.contains(&id) || !attaching.contains(program) {
                continue;
            }
            let link = link_into(body.as_fd().as_raw_fd(), target.as_raw_fd(), id).map_err(|e| {
                Failure::kernel(
                    format!("cannot link the shared function {function} into {program}: {e}"),
                    "this kernel refuses freplace links into BPF LSM programs; bpfbox supports 6.1 and later",
                )
            })?;
            let pin = shared_link_pin(program, &function);
            // A pin of the same name is stale (see above).
            let _ = std::fs::remove_file(&pin);
            pin_descriptor(&link, &pin).map_err(|e| {
                Failure::kernel(
                    format!("cannot pin {}: {e}", pin.display()),
                    "is /sys/fs/bpf a BPF file system?",
                )
            })?;
            pinned += 1;
        }
    }
    Ok(pinned)
}

/// Link pins removed by hand (`what`): the programs whose shared function
/// lost its link run the stub, which fails closed; a load refuses to go on.
pub(super) fn links_removed(what: &str) -> Failure {
    Failure::kernel(
        format!("{what} were removed: confined processes are denied what those programs decide"),
        "take bpfbox out with `bpfbox-load --unload`, then load again",
    )
}

/// The type ids of a loaded program's functions (its func_info), the
/// program itself and the functions it calls.
fn function_type_ids(fd: i32) -> std::io::Result<BTreeSet<u32>> {
    let mut records = vec![libbpf_sys::bpf_func_info::default(); 64];
    loop {
        let mut info = libbpf_sys::bpf_prog_info {
            nr_func_info: records.len() as u32,
            func_info_rec_size: size_of::<libbpf_sys::bpf_func_info>() as u32,
            func_info: records.as_mut_ptr() as u64,
            ..Default::default()
        };
        let mut len = size_of::<libbpf_sys::bpf_prog_info>() as u32;
        if unsafe { libbpf_sys::bpf_prog_get_info_by_fd(fd, &mut info, &mut len) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let count = info.nr_func_info as usize;
        if count <= records.len() {
            return Ok(records[..count].iter().map(|r| r.type_id).collect());
        }
        records.resize(count, libbpf_sys::bpf_func_info::default());
    }
}

/// A freplace link of `body` into the function `type_id` of `target`.
fn link_into(body: i32, target: i32, type_id: u32) -> std::io::Result<OwnedFd> {
    let opts = libbpf_sys::bpf_link_create_opts {
        sz: size_of::<libbpf_sys::bpf_link_create_opts>() as _,
        target_btf_id: type_id,
        ..Default::default()
    };
    let fd = unsafe { libbpf_sys::bpf_link_create(body, target, 0, &opts) };
    if fd < 0 {
        return Err(std::io::Error::from_raw_os_error(-fd));
    }
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn pin_descriptor(fd: &OwnedFd, path: &std::path::Path) -> std::io::Result<()> {
    let path = CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    if unsafe { libbpf_sys::bpf_obj_pin(fd.as_raw_fd(), path.as_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
