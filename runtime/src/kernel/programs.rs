//! Loading and attaching the LSM and tracepoint programs, once; and what a
//! refused load says.

use std::collections::BTreeSet;
use std::mem::MaybeUninit;
use std::path::PathBuf;
use std::time::Instant;

use bpfbox_abi as abi;
use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{ErrorKind, MapCore, MapFlags, MapHandle};
use zerocopy::IntoBytes;

use super::hooks::{lsm_hook, KernelHooks};
use super::maps::lookup;
use super::pins::{create_pin_dir, existing_pins, links_dir, maps_dir, remove_new_pins, PIN_DIR};
use super::shared::{link_shared_functions, links_removed, open_shared};
use super::types::{relocate_against, set_type_ids, KernelTypes};
use crate::failure::Failure;
use crate::libbpf_log;
use crate::skel;

pub(super) fn bpf_failure(what: &str, error: libbpf_rs::Error) -> Failure {
    Failure::kernel(
        format!(
            "{what}: {}",
            error.to_string().trim_start_matches("Error: ")
        ),
        "run with --verbose to see libbpf's log",
    )
}

/// LSM hooks that only some of the kernels bpfbox supports have.
const OPTIONAL_HOOKS: &[&str] = &["file_ioctl_compat"];

/// Loads and attaches the LSM and tracepoint programs unless they are
/// already in force. Returns whether this call loaded them. On failure,
/// everything this call pinned is removed again.
pub fn ensure_programs(max_procs: Option<u32>) -> Result<bool, Failure> {
    let before = existing_pins();
    if programs_in_force(&before) {
        return Ok(false);
    }
    let result = load_programs(&before, max_procs);
    if result.is_err() {
        remove_new_pins(&before);
    }
    result
}

/// The common case of a reload, decided without opening the BPF object
/// (which parses its BTF): the meta map says how many links a complete
/// load pinned, and that many are pinned.
fn programs_in_force(before: &BTreeSet<PathBuf>) -> bool {
    let Some(meta) = pinned_meta() else {
        return false;
    };
    meta.abi_version == abi::BPFBOX_ABI_VERSION
        && meta.links > 0
        && pinned_links(before) == meta.links as usize
}

fn pinned_meta() -> Option<abi::bpfbox_meta> {
    let meta = MapHandle::from_pinned_path(maps_dir().join("meta")).ok()?;
    lookup::<u32, abi::bpfbox_meta>(&meta, &0)
}

fn pinned_links(pins: &BTreeSet<PathBuf>) -> usize {
    pins.iter().filter(|p| p.starts_with(links_dir())).count()
}

/// Every program is attached, yet links are missing: a shared function's
/// link was removed, so that program runs its stub, which fails closed
/// (shared.rs). The load says so rather than go on with a hook that
/// denies all.
fn refuse_missing_shared_links(
    meta: &abi::bpfbox_meta,
    before: &BTreeSet<PathBuf>,
) -> Result<(), Failure> {
    let pinned = pinned_links(before);
    if pinned >= meta.links as usize {
        return Ok(());
    }
    Err(links_removed(&format!(
        "{} of bpfbox's {} links in {}",
        meta.links as usize - pinned,
        meta.links,
        links_dir().display()
    )))
}

/// Pinned state of another ABI version is refused before the object is
/// opened: its maps would not be reused (libbpf would fail on the first
/// whose layout changed, with a message about that map), or worse, be
/// misread. abi_version is the first field of meta in every version.
fn refuse_other_abi() -> Result<(), Failure> {
    let Ok(meta) = MapHandle::from_pinned_path(maps_dir().join("meta")) else {
        return Ok(());
    };
    let found = meta
        .lookup(0u32.as_bytes(), MapFlags::ANY)
        .ok()
        .flatten()
        .and_then(|bytes| Some(u32::from_ne_bytes(bytes.get(..4)?.try_into().ok()?)))
        .unwrap_or(0);
    if found == 0 || found == abi::BPFBOX_ABI_VERSION {
        return Ok(());
    }
    Err(Failure::kernel(
        format!("the bpfbox state in {PIN_DIR} is of another version (ABI {found})"),
        "unload it with `bpfbox-load --unload`, then load again",
    ))
}

fn load_programs(before: &BTreeSet<PathBuf>, max_procs: Option<u32>) -> Result<bool, Failure> {
    refuse_other_abi()?;
    // Where a first load's time goes, said with --verbose.
    let started = Instant::now();
    let hooks = KernelHooks::read();
    // Held until the programs are loaded (libbpf asks it then).
    let _lent = hooks.as_ref().and_then(KernelHooks::lend_to_libbpf);
    let hook_args = |name: &str| hooks.as_ref().and_then(|h| h.args(name));
    // Where libbpf finds the kernel types the objects name (types.rs),
    // with the kernel's BTF to cut them from.
    let mut types = hooks.as_ref().map(|_| KernelTypes::create()).transpose()?;
    let mut storage = MaybeUninit::uninit();
    let mut builder = skel::bpfbox::BpfboxSkelBuilder::default();
    relocate_against(
        &mut builder.obj_builder,
        types.as_ref().map(KernelTypes::path),
    )?;
    let mut open = builder
        .open(&mut storage)
        .map_err(|e| bpf_failure("cannot open bpfbox's BPF object", e))?;
    // Hooks this kernel does not have (file_ioctl_compat before 6.8 and its
    // backports) are left out, not failed on. Without BTF to tell, every
    // program is tried, and the load says what failed.
    for mut program in open.open_object_mut().progs_mut() {
        // With --verbose, the verifier's statistics of each program (its
        // time and the instructions it walked) are among libbpf's lines.
        if libbpf_log::verbose() {
            program.set_log_level(4);
        }
        let section = program.section().to_string_lossy().into_owned();
        if lsm_hook(&section).is_some_and(|hook| {
            OPTIONAL_HOOKS.contains(&hook) && hooks.is_some() && hook_args(hook).is_none()
        }) {
            program.set_autoload(false);
        }
    }
    // The programs attached and pinned; a syscall program is run once
    // below instead.
    let programs: Vec<String> = open
        .open_object_mut()
        .progs()
        .filter(|p| p.autoload() && p.section().to_string_lossy() != "syscall")
        .map(|p| p.name().to_string_lossy().into_owned())
        .collect();
    let all_attached = programs
        .iter()
        .all(|p| before.contains(&links_dir().join(p)));
    let all_maps = open
        .open_object_mut()
        .maps()
        .filter(|m| !m.name().to_string_lossy().contains('.'))
        .all(|m| before.contains(&maps_dir().join(m.name())));
    // A load killed after its last attach left meta.links at 0: that case
    // goes on below, which checks every shared link and counts the pins,
    // so that the next load finds the programs in force at once again.
    if all_attached && all_maps {
        if let Some(meta) = pinned_meta().filter(|m| m.links != 0) {
            refuse_missing_shared_links(&meta, before)?;
            return Ok(false);
        }
    }
    // Opened now, loaded after the programs (link_shared_functions): the
    // kernel's types are cut once for both objects.
    let mut shared_storage = MaybeUninit::uninit();
    let shared = open_shared(&mut shared_storage, types.as_ref().map(KernelTypes::path))?;
    if let (Some(hooks), Some(types)) = (&hooks, &mut types) {
        let ids = types.write(hooks.btf(), &[open.open_object(), shared.open_object()])?;
        // Only bpfbox.bpf.c walks fields with walkable() (walkable.h).
        set_type_ids(open.open_object_mut(), &ids)?;
    }
    if let Some(rodata) = open.maps.rodata_data.as_deref_mut() {
        // inode_setattr gained a leading `struct mnt_idmap *` after 6.1;
        // perf_event_open lost its `attr`.
        rodata.setattr_dentry_arg = u32::from(hook_args("inode_setattr").unwrap_or(2) >= 3);
        rodata.perf_event_open_args = hook_args("perf_event_open").unwrap_or(2) as u32;
        rodata.max_procs = max_procs.unwrap_or(abi::bpfbox_limits::BPFBOX_MAX_PROCS);
    }
    create_pin_dir(&maps_dir())?;
    for mut map in open.open_object_mut().maps_mut() {
        let name = map.name().to_string_lossy().into_owned();
        if !name.contains('.') {
            map.set_pin_path(maps_dir().join(&name))
                .map_err(|e| bpf_failure(&format!("cannot pin map {name}"), e))?;
        }
    }
    let opened = Instant::now();
    let loaded = open
        .load()
        .map_err(|e| load_failure("bpfbox's BPF LSM programs", e))?;
    let verified = Instant::now();
    let object = libbpf_rs::skel::Skel::object(&loaded);
    find_rename_lock(object);
    let meta = MapHandle::from_pinned_path(maps_dir().join("meta"))
        .map_err(|e| bpf_failure("cannot open the meta map", e))?;
    let mut current: abi::bpfbox_meta = lookup(&meta, &0u32).unwrap_or_default();
    current.abi_version = abi::BPFBOX_ABI_VERSION;
    current.links = 0;
    meta.update(0u32.as_bytes(), current.as_bytes(), MapFlags::ANY)
        .map_err(|e| bpf_failure("cannot write the meta map", e))?;
    create_pin_dir(&links_dir())?;
    // A program whose link is pinned is attached already (by a load that
    // was killed before it finished); the others are attached below, after
    // the shared functions are linked into them.
    let (attached, attaching): (Vec<String>, Vec<String>) = programs
        .iter()
        .cloned()
        .partition(|p| links_dir().join(p).exists());
    let shared = link_shared_functions(object, shared, &attaching, &attached)?;
    let linked = Instant::now();
    for program in object.progs_mut() {
        let name = program.name().to_string_lossy().into_owned();
        if !attaching.contains(&name) {
            continue;
        }
        let path = links_dir().join(&name);
        // The `lsm/` handler KernelHooks lends libbpf has no attach function.
        let attached = if lsm_hook(&program.section().to_string_lossy()).is_some() {
            program.attach_lsm()
        } else {
            program.attach()
        };
        let mut link = attached.map_err(|e| load_failure(&format!("attaching {name}"), e))?;
        link.pin(&path)
            .map_err(|e| bpf_failure(&format!("cannot pin the link of {name}"), e))?;
    }
    libbpf_log::note(&format!(
        "{} programs: opening the object and the kernel's BTF took {} ms; relocating, verifying and loading them {} ms; loading the shared functions and linking them into the programs ({shared} links) {} ms; attaching and pinning the programs {} ms",
        programs.len(),
        (opened - started).as_millis(),
        (verified - opened).as_millis(),
        (linked - verified).as_millis(),
        linked.elapsed().as_millis()
    ));
    if let Some(types) = types {
        types.keep();
    }
    // Only now is the load complete (see programs_in_force).
    current.links = pinned_links(&existing_pins()) as u32;
    meta.update(0u32.as_bytes(), current.as_bytes(), MapFlags::ANY)
        .map_err(|e| bpf_failure("cannot write the meta map", e))?;
    Ok(true)
}

/// Runs find_rename_lock, which gives the programs the kernel's rename_lock
/// (bpf/bpfbox.bpf.c, file_memo): with it, the rules of profiles with `**`
/// rules are remembered on files too. Without it (a kernel without
/// CONFIG_KALLSYMS_ALL) those profiles decide every access in full, so a
/// failure here costs speed, not enforcement, and is only said with
/// --verbose.
fn find_rename_lock(object: &libbpf_rs::Object) {
    let Some(program) = object
        .progs_mut()
        .find(|p| p.name().to_string_lossy() == "find_rename_lock")
    else {
        return;
    };
    if let Err(error) = program.test_run(libbpf_rs::ProgramInput::default()) {
        libbpf_log::note(&format!(
            "find_rename_lock did not run ({error}): profiles with ** rules decide every access in full"
        ));
    }
}

/// The errno behind a libbpf error: libbpf-rs exposes only its text.
fn errno_of(error: &libbpf_rs::Error) -> Option<i32> {
    let text = error.to_string();
    let start = text.rfind("(os error ")? + "(os error ".len();
    text[start..].trim_end_matches(')').parse().ok()
}

/// A load error as the one line a deploy log needs.
pub(super) fn load_failure(what: &str, error: libbpf_rs::Error) -> Failure {
    if errno_of(&error) == Some(libc::EACCES) {
        let program =
            libbpf_log::failed_program().map_or_else(String::new, |p| format!(" (program {p})"));
        return Failure::kernel(
            format!("the kernel's verifier rejected {what}{program}"),
            format!(
                "this kernel is not one bpfbox supports yet; the verifier said: {} (--verbose shows the whole log)",
                libbpf_log::verifier_error()
            ),
        );
    }
    if errno_of(&error) == Some(libc::EPERM) || error.kind() == ErrorKind::PermissionDenied {
        return Failure::kernel(
            format!("the kernel refused to load {what}: Operation not permitted"),
            "BPF LSM is active, so a policy forbids BPF LSM programs here (kernel lockdown, a sandbox or a container); load on a host or VM that allows them",
        );
    }
    let log = libbpf_log::last_lines(3);
    Failure::kernel(
        format!(
            "the kernel refused {what}: {}",
            error.to_string().trim_start_matches("Error: ")
        ),
        if log.is_empty() {
            "run with --verbose to see libbpf's log".to_string()
        } else {
            format!("libbpf said: {log}")
        },
    )
}
