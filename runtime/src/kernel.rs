//! The pinned kernel state under /sys/fs/bpf/bpfbox: loading and attaching
//! the programs once, then putting profiles in and taking them out.
//!
//! Layout:
//!   maps/<name>            every map, shared by all loaded objects
//!   links/<program>        the LSM and tracepoint links (enforcement stays
//!                          after bpfbox-load exits)
//!   scopes/<id>-entry      uprobe/fentry link of a function scope
//!   scopes/<id>-return     uretprobe/fexit link
//!
//! A profile lives in a slot. Its rules are map entries keyed by a version
//! number; `profiles[slot]` names the version in force. A reload writes the
//! new version's entries first, then switches `profiles[slot]` with one map
//! update, then deletes the old entries: no process ever sees a profile that
//! is missing or half-written.

use std::collections::{BTreeMap, BTreeSet};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bpfbox_abi as abi;
use bpfbox_image::ScopeKind;
use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{ErrorKind, Link, MapCore, MapFlags, MapHandle, UprobeOpts};
use zerocopy::{FromBytes, IntoBytes};

use crate::failure::{io_message, Failure};
use crate::libbpf_log;
use crate::plan::PlannedProfile;
use crate::skel;

pub const PIN_DIR: &str = "/sys/fs/bpf/bpfbox";

fn maps_dir() -> PathBuf {
    Path::new(PIN_DIR).join("maps")
}
fn links_dir() -> PathBuf {
    Path::new(PIN_DIR).join("links")
}
fn scopes_dir() -> PathBuf {
    Path::new(PIN_DIR).join("scopes")
}

fn bpf_failure(what: &str, error: libbpf_rs::Error) -> Failure {
    Failure::kernel(
        format!(
            "{what}: {}",
            error.to_string().trim_start_matches("Error: ")
        ),
        "run with --verbose to see libbpf's log",
    )
}

/// The shared maps, opened from their pins.
pub struct Maps {
    pub exe_profiles: MapHandle,
    pub profiles: MapHandle,
    pub procs: MapHandle,
    pub file_rules: MapHandle,
    pub tree_rules: MapHandle,
    pub task_rules: MapHandle,
    pub net_rules: MapHandle,
    pub priv_rules: MapHandle,
    pub grace: MapHandle,
    pub events: MapHandle,
    pub registry: MapHandle,
    pub meta: MapHandle,
    pub scope_names: MapHandle,
    pub stats: MapHandle,
}

impl Maps {
    pub fn open() -> Result<Maps, Failure> {
        let open = |name: &str| {
            MapHandle::from_pinned_path(maps_dir().join(name)).map_err(|e| {
                Failure::kernel(
                    format!("bpfbox's pinned map {name} cannot be opened: {e}"),
                    "load an image first, or repair with `bpfbox-load --unload` and load again",
                )
            })
        };
        Ok(Maps {
            exe_profiles: open("exe_profiles")?,
            profiles: open("profiles")?,
            procs: open("procs")?,
            file_rules: open("file_rules")?,
            tree_rules: open("tree_rules")?,
            task_rules: open("task_rules")?,
            net_rules: open("net_rules")?,
            priv_rules: open("priv_rules")?,
            grace: open("grace")?,
            events: open("events")?,
            registry: open("registry")?,
            meta: open("meta")?,
            scope_names: open("scope_names")?,
            stats: open("stats")?,
        })
    }

    pub fn meta(&self) -> abi::bpfbox_meta {
        lookup(&self.meta, &0u32).unwrap_or_default()
    }

    pub fn registry(&self) -> BTreeMap<u32, abi::bpfbox_registry> {
        entries(&self.registry).into_iter().collect()
    }

    pub fn stats(&self) -> abi::bpfbox_stats {
        lookup(&self.stats, &0u32).unwrap_or_default()
    }
}

pub fn lookup<K: IntoBytes + zerocopy::Immutable, V: FromBytes>(
    map: &MapHandle,
    key: &K,
) -> Option<V> {
    let bytes = map.lookup(key.as_bytes(), MapFlags::ANY).ok()??;
    V::read_from_bytes(&bytes).ok()
}

/// All entries of a hash map, decoded.
pub fn entries<K: FromBytes, V: FromBytes>(map: &MapHandle) -> Vec<(K, V)> {
    let mut out = Vec::new();
    for key in map.keys() {
        let Ok(Some(value)) = map.lookup(&key, MapFlags::ANY) else {
            continue;
        };
        if let (Ok(k), Ok(v)) = (K::read_from_bytes(&key), V::read_from_bytes(&value)) {
            out.push((k, v));
        }
    }
    out
}

pub fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

fn c_chars<const N: usize>(text: &str) -> [std::os::raw::c_char; N] {
    let mut out = [0; N];
    for (slot, byte) in out.iter_mut().zip(text.as_bytes().iter().take(N - 1)) {
        *slot = *byte as std::os::raw::c_char;
    }
    out
}

pub fn chars_to_string(chars: &[std::os::raw::c_char]) -> String {
    let bytes: Vec<u8> = chars.iter().map(|c| *c as u8).collect();
    c_string(&bytes)
}

pub fn registry_exe(entry: &abi::bpfbox_registry) -> String {
    chars_to_string(&entry.exe)
}

pub fn scope_name(entry: &abi::bpfbox_scope_name) -> String {
    chars_to_string(&entry.name)
}

/// Pins under PIN_DIR, to undo exactly what a failed run added.
fn existing_pins() -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for dir in [maps_dir(), links_dir(), scopes_dir()] {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            out.extend(entries.flatten().map(|e| e.path()));
        }
    }
    out
}

/// Detaches and removes pins that were not there before.
fn remove_new_pins(before: &BTreeSet<PathBuf>) {
    for path in existing_pins().difference(before) {
        if path.starts_with(maps_dir()) {
            let _ = std::fs::remove_file(path);
        } else if let Ok(mut link) = Link::open(path) {
            let _ = link.unpin();
        } else {
            let _ = std::fs::remove_file(path);
        }
    }
    for dir in [
        maps_dir(),
        links_dir(),
        scopes_dir(),
        PathBuf::from(PIN_DIR),
    ] {
        let _ = std::fs::remove_dir(dir);
    }
}

/// LSM hooks that only some of the kernels bpfbox supports have.
const OPTIONAL_HOOKS: &[&str] = &["file_ioctl_compat"];

/// How many arguments the running kernel's LSM hook `name` takes, from its
/// BTF (`None` without BTF: it is parsed once, by the caller): some hooks'
/// argument lists changed after 6.1.
fn lsm_hook_args(btf: Option<&libbpf_rs::btf::Btf>, name: &str) -> Option<usize> {
    use libbpf_rs::btf::types;
    let func = btf?.type_by_name::<types::Func>(&format!("bpf_lsm_{name}"))?;
    let proto = func
        .next_type()
        .and_then(|t| types::FuncProto::try_from(t).ok())?;
    Some(proto.len())
}

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
/// (which parses its BTF): the meta map says how many programs a complete
/// load attached, and that many links are pinned.
fn programs_in_force(before: &BTreeSet<PathBuf>) -> bool {
    let Ok(meta) = MapHandle::from_pinned_path(maps_dir().join("meta")) else {
        return false;
    };
    let Some(meta) = lookup::<u32, abi::bpfbox_meta>(&meta, &0) else {
        return false;
    };
    let links = before.iter().filter(|p| p.starts_with(links_dir())).count();
    meta.abi_version == abi::BPFBOX_ABI_VERSION
        && meta.programs > 0
        && links == meta.programs as usize
}

fn load_programs(before: &BTreeSet<PathBuf>, max_procs: Option<u32>) -> Result<bool, Failure> {
    let mut storage = MaybeUninit::uninit();
    let mut open = skel::bpfbox::BpfboxSkelBuilder::default()
        .open(&mut storage)
        .map_err(|e| bpf_failure("cannot open bpfbox's BPF object", e))?;
    // Hooks this kernel does not have (file_ioctl_compat before 6.8 and its
    // backports) are left out, not failed on. Without BTF to tell, every
    // program is tried, and the load says what failed.
    let btf = libbpf_rs::btf::Btf::from_vmlinux().ok();
    let btf_readable = lsm_hook_args(btf.as_ref(), "file_open").is_some();
    for mut program in open.open_object_mut().progs_mut() {
        let section = program.section().to_string_lossy().into_owned();
        let hook = section.trim_start_matches("lsm/");
        if OPTIONAL_HOOKS.contains(&hook)
            && btf_readable
            && lsm_hook_args(btf.as_ref(), hook).is_none()
        {
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
    if all_attached && all_maps {
        return Ok(false);
    }
    if let Some(rodata) = open.maps.rodata_data.as_deref_mut() {
        // inode_setattr gained a leading `struct mnt_idmap *` after 6.1;
        // perf_event_open lost its `attr`.
        rodata.setattr_dentry_arg =
            u32::from(lsm_hook_args(btf.as_ref(), "inode_setattr").unwrap_or(2) >= 3);
        rodata.perf_event_open_args =
            lsm_hook_args(btf.as_ref(), "perf_event_open").unwrap_or(2) as u32;
        rodata.max_procs = max_procs.unwrap_or(abi::bpfbox_limits::BPFBOX_MAX_PROCS);
    }
    // libbpf creates a pin's file, not its directories.
    std::fs::create_dir_all(maps_dir()).map_err(|e| {
        Failure::io(
            format!("cannot create {}: {}", maps_dir().display(), io_message(&e)),
            "check that /sys/fs/bpf is a BPF file system",
        )
    })?;
    for mut map in open.open_object_mut().maps_mut() {
        let name = map.name().to_string_lossy().into_owned();
        if !name.contains('.') {
            map.set_pin_path(maps_dir().join(&name))
                .map_err(|e| bpf_failure(&format!("cannot pin map {name}"), e))?;
        }
    }
    let loaded = open
        .load()
        .map_err(|e| load_failure("bpfbox's BPF LSM programs", e))?;
    let object = libbpf_rs::skel::Skel::object(&loaded);
    find_rename_lock(object);
    let meta = MapHandle::from_pinned_path(maps_dir().join("meta"))
        .map_err(|e| bpf_failure("cannot open the meta map", e))?;
    let mut current: abi::bpfbox_meta = lookup(&meta, &0u32).unwrap_or_default();
    if current.abi_version != 0 && current.abi_version != abi::BPFBOX_ABI_VERSION {
        return Err(Failure::kernel(
            format!(
                "the bpfbox state in {PIN_DIR} is of another version (ABI {})",
                current.abi_version
            ),
            "unload it with `bpfbox-load --unload`, then load again",
        ));
    }
    current.abi_version = abi::BPFBOX_ABI_VERSION;
    current.programs = 0;
    meta.update(0u32.as_bytes(), current.as_bytes(), MapFlags::ANY)
        .map_err(|e| bpf_failure("cannot write the meta map", e))?;
    std::fs::create_dir_all(links_dir()).map_err(|e| {
        Failure::io(
            format!(
                "cannot create {}: {}",
                links_dir().display(),
                io_message(&e)
            ),
            "check that /sys/fs/bpf is a BPF file system",
        )
    })?;
    for program in object.progs_mut() {
        let name = program.name().to_string_lossy().into_owned();
        let path = links_dir().join(&name);
        if path.exists() || !programs.contains(&name) {
            continue;
        }
        let mut link = program
            .attach()
            .map_err(|e| load_failure(&format!("attaching {name}"), e))?;
        link.pin(&path)
            .map_err(|e| bpf_failure(&format!("cannot pin the link of {name}"), e))?;
    }
    // Only now is the load complete (see programs_in_force).
    current.programs = programs.len() as u32;
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
fn load_failure(what: &str, error: libbpf_rs::Error) -> Failure {
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

/// Attaches the probes of `scopes` (of `exe`) that are not attached yet;
/// returns the pins created.
fn attach_scopes(
    exe: &str,
    slot: u32,
    scopes: &[crate::plan::PlannedScope],
) -> Result<Vec<PathBuf>, Failure> {
    let mut created = Vec::new();
    std::fs::create_dir_all(scopes_dir()).map_err(|e| {
        Failure::io(
            format!(
                "cannot create {}: {}",
                scopes_dir().display(),
                io_message(&e)
            ),
            "check /sys/fs/bpf",
        )
    })?;
    let missing: Vec<&crate::plan::PlannedScope> = scopes
        .iter()
        .filter(|s| !(scope_pin(s.id, "entry").exists() && scope_pin(s.id, "return").exists()))
        .collect();
    let user: Vec<_> = missing
        .iter()
        .filter(|s| s.kind == ScopeKind::User)
        .collect();
    if !user.is_empty() {
        let mut storage = MaybeUninit::uninit();
        let mut open = skel::uprobe::UprobeSkelBuilder::default()
            .open(&mut storage)
            .map_err(|e| bpf_failure("cannot open the uprobe object", e))?;
        reuse_maps(open.open_object_mut())?;
        let loaded = open
            .load()
            .map_err(|e| load_failure("the uprobe programs", e))?;
        for scope in user {
            for (program, end, retprobe) in [
                (&loaded.progs.scope_entry, "entry", false),
                (&loaded.progs.scope_return, "return", true),
            ] {
                let pin = scope_pin(scope.id, end);
                if pin.exists() {
                    continue;
                }
                let opts = UprobeOpts {
                    cookie: u64::from(scope.id),
                    retprobe,
                    ..UprobeOpts::default()
                };
                let mut link = program
                    .attach_uprobe_with_opts(-1, exe, scope.offset as usize, opts)
                    .map_err(|e| {
                        bpf_failure(
                            &format!("cannot attach a uprobe to #[func {}] in {exe}", scope.name),
                            e,
                        )
                    })?;
                link.pin(&pin)
                    .map_err(|e| bpf_failure("cannot pin a uprobe link", e))?;
                created.push(pin);
            }
        }
    }
    for scope in missing.iter().filter(|s| s.kind == ScopeKind::Kernel) {
        let mut storage = MaybeUninit::uninit();
        let mut open = skel::kfunc::KfuncSkelBuilder::default()
            .open(&mut storage)
            .map_err(|e| bpf_failure("cannot open the kfunc object", e))?;
        if let Some(rodata) = open.maps.rodata_data.as_deref_mut() {
            rodata.scope_id = scope.id;
            rodata.scope_slot = slot;
        }
        reuse_maps(open.open_object_mut())?;
        for mut program in open.open_object_mut().progs_mut() {
            program
                .set_attach_target(0, Some(scope.name.clone()))
                .map_err(|e| bpf_failure("cannot target a kernel function", e))?;
        }
        let loaded = open.load().map_err(|_| {
            Failure::refused(
                format!(
                    "#[kfunc {}]: this kernel has no traceable function {}",
                    scope.name, scope.name
                ),
                "check the name in /proc/kallsyms; inlined and notrace functions cannot be scoped",
            )
        })?;
        for (program, end) in [
            (&loaded.progs.kfunc_entry, "entry"),
            (&loaded.progs.kfunc_return, "return"),
        ] {
            let pin = scope_pin(scope.id, end);
            let mut link = program.attach().map_err(|e| {
                bpf_failure(
                    &format!("cannot attach to kernel function {}", scope.name),
                    e,
                )
            })?;
            link.pin(&pin)
                .map_err(|e| bpf_failure("cannot pin a kfunc link", e))?;
            created.push(pin);
        }
    }
    Ok(created)
}

fn reuse_maps(object: &mut libbpf_rs::OpenObject) -> Result<(), Failure> {
    for mut map in object.maps_mut() {
        let name = map.name().to_string_lossy().into_owned();
        if !name.contains('.') {
            map.set_pin_path(maps_dir().join(&name))
                .map_err(|e| bpf_failure(&format!("cannot reuse map {name}"), e))?;
        }
    }
    Ok(())
}

fn scope_pin(id: u32, end: &str) -> PathBuf {
    // bpffs refuses names with dots.
    scopes_dir().join(format!("{id:08x}-{end}"))
}

fn unpin_link(path: &Path) {
    match Link::open(path) {
        Ok(mut link) => {
            let _ = link.unpin();
        }
        Err(_) => {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// What a load did to one profile.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Added { version: u32 },
    Replaced { old: u32, version: u32 },
    Unchanged { version: u32 },
}

struct Prepared<'a> {
    profile: &'a PlannedProfile,
    slot: u32,
    /// Kept across reloads of the slot's executable (see bpfbox_profile).
    serial: u32,
    old_version: Option<u32>,
    version: u32,
    pins: Vec<PathBuf>,
}

fn file_key(version: u32, scope: u32, inode: crate::plan::Inode) -> abi::bpfbox_file_key {
    abi::bpfbox_file_key {
        version,
        scope,
        dev: inode.dev,
        ino: inode.ino,
    }
}

/// Writes every map entry of `profile` under `version`, in batches.
fn write_entries(
    maps: &Maps,
    profile: &PlannedProfile,
    version: u32,
) -> Result<(), libbpf_rs::Error> {
    fn batch<K: IntoBytes + zerocopy::Immutable>(
        map: &MapHandle,
        items: Vec<(K, abi::bpfbox_masks)>,
    ) -> Result<(), libbpf_rs::Error> {
        for chunk in items.chunks(4096) {
            let keys: Vec<u8> = chunk
                .iter()
                .flat_map(|(k, _)| k.as_bytes().to_vec())
                .collect();
            let values: Vec<u8> = chunk
                .iter()
                .flat_map(|(_, v)| v.as_bytes().to_vec())
                .collect();
            map.update_batch(
                &keys,
                &values,
                chunk.len() as u32,
                MapFlags::ANY,
                MapFlags::ANY,
            )?;
        }
        Ok(())
    }
    let file = |m: &BTreeMap<(u32, crate::plan::Inode), crate::plan::Masks>| {
        m.iter()
            .map(|((scope, inode), masks)| (file_key(version, *scope, *inode), masks.to_abi()))
            .collect()
    };
    batch(&maps.file_rules, file(&profile.file))?;
    batch(&maps.tree_rules, file(&profile.tree))?;
    batch(
        &maps.task_rules,
        profile
            .task
            .iter()
            .map(|((scope, kind, inode), masks)| {
                (
                    abi::bpfbox_task_key {
                        version,
                        scope: *scope,
                        kind: *kind,
                        pad: 0,
                        dev: inode.dev,
                        ino: inode.ino,
                    },
                    masks.to_abi(),
                )
            })
            .collect(),
    )?;
    batch(
        &maps.net_rules,
        profile
            .net
            .iter()
            .map(|((scope, family), masks)| {
                (
                    abi::bpfbox_net_key {
                        version,
                        scope: *scope,
                        family: *family,
                        pad: 0,
                    },
                    masks.to_abi(),
                )
            })
            .collect(),
    )?;
    batch(
        &maps.priv_rules,
        profile
            .privileged
            .iter()
            .map(|((scope, kind, number), masks)| {
                (
                    abi::bpfbox_priv_key {
                        version,
                        scope: *scope,
                        kind: *kind,
                        number: *number,
                    },
                    masks.to_abi(),
                )
            })
            .collect(),
    )?;
    Ok(())
}

/// Deletes every rule entry of `version` (keys start with the version).
fn delete_version(maps: &Maps, version: u32) {
    for map in [
        &maps.file_rules,
        &maps.tree_rules,
        &maps.task_rules,
        &maps.net_rules,
        &maps.priv_rules,
    ] {
        let size = map.key_size() as usize;
        let all =
            crate::map_scan::keys(map).unwrap_or_else(|_| map.keys().collect::<Vec<_>>().concat());
        let flat: Vec<u8> = all
            .chunks_exact(size)
            .filter(|key| key.len() >= 4 && key[..4] == version.to_le_bytes())
            .flatten()
            .copied()
            .collect();
        if flat.is_empty() {
            continue;
        }
        let count = (flat.len() / size) as u32;
        if map
            .delete_batch(&flat, count, MapFlags::ANY, MapFlags::ANY)
            .is_err()
        {
            for key in flat.chunks_exact(size) {
                let _ = map.delete(key);
            }
        }
    }
}

/// Puts the planned profiles in force. All or nothing: when anything fails
/// before the switch, what was written is removed again and the profiles in
/// force stay as they were.
pub fn apply(maps: &Maps, planned: &[PlannedProfile]) -> Result<Vec<Outcome>, Failure> {
    let registry = maps.registry();
    let mut meta = maps.meta();
    let mut used_slots: BTreeSet<u32> = registry.keys().copied().collect();
    let mut outcomes = Vec::new();
    let mut prepared: Vec<Prepared> = Vec::new();

    let rollback = |prepared: &[Prepared]| {
        for p in prepared {
            delete_version(maps, p.version);
            for pin in &p.pins {
                unpin_link(pin);
            }
        }
    };

    for profile in planned {
        let existing = registry
            .iter()
            .find(|(_, entry)| registry_exe(entry) == profile.exe);
        if let Some((_, entry)) = existing {
            if entry.digest == profile.digest {
                outcomes.push(Outcome::Unchanged {
                    version: entry.version,
                });
                continue;
            }
        }
        let slot = match existing {
            Some((slot, _)) => *slot,
            None => match (0..abi::bpfbox_limits::BPFBOX_MAX_PROFILES)
                .find(|s| !used_slots.contains(s))
            {
                Some(slot) => slot,
                None => {
                    rollback(&prepared);
                    return Err(Failure::refused(
                        format!(
                            "all {} profile slots are in use",
                            abi::bpfbox_limits::BPFBOX_MAX_PROFILES
                        ),
                        "unload profiles you no longer need with `bpfbox-load --unload EXE`",
                    ));
                }
            },
        };
        used_slots.insert(slot);
        meta.last_version = meta.last_version.wrapping_add(1).max(1);
        let version = meta.last_version;
        let mut entry = Prepared {
            profile,
            slot,
            serial: existing.map_or(version, |(_, e)| e.serial),
            old_version: existing.map(|(_, e)| e.version),
            version,
            pins: Vec::new(),
        };
        if let Err(e) = write_entries(maps, profile, version) {
            prepared.push(entry);
            rollback(&prepared);
            let hint = if e.kind() == ErrorKind::TooBig {
                "the rule maps are full: unload profiles you no longer need"
            } else {
                "nothing was changed; run with --verbose for libbpf's log"
            };
            return Err(Failure::kernel(
                format!("cannot write the rules of {}: {e}", profile.exe),
                hint,
            ));
        }
        match attach_scopes(&profile.exe, slot, &profile.scopes) {
            Ok(pins) => entry.pins = pins,
            Err(failure) => {
                prepared.push(entry);
                rollback(&prepared);
                return Err(failure);
            }
        }
        prepared.push(entry);
        outcomes.push(match existing {
            Some((_, old)) => Outcome::Replaced {
                old: old.version,
                version,
            },
            None => Outcome::Added { version },
        });
    }

    // Issue the versions before anything points at them.
    if !prepared.is_empty() {
        if let Err(e) = maps
            .meta
            .update(0u32.as_bytes(), meta.as_bytes(), MapFlags::ANY)
        {
            rollback(&prepared);
            return Err(Failure::kernel(
                format!("cannot record the new rule versions in the meta map: {e}"),
                "nothing was changed; run with --verbose for libbpf's log",
            ));
        }
    }

    // The switch: one map update per profile makes its new version current.
    // Every update is checked; on a failure everything switched so far goes
    // back to what it was, and the new versions are removed.
    let slots: BTreeSet<u32> = prepared.iter().map(|p| p.slot).collect();
    let before = crate::switch::Snapshot::take(maps, &slots);
    if let Err(error) = switch_all(maps, &prepared) {
        let restored = before.restore(maps);
        // Rules remembered from the half-switched state go stale too:
        // after the restore, so nothing is remembered from it under the
        // new generation.
        let bumped = new_generation(maps).map_err(|e| format!("map meta: {e}"));
        let restored = restored.and(bumped);
        wait_for_running_programs(maps);
        rollback(&prepared);
        let hint = match restored {
            Ok(()) => "the profiles in force are as they were; free room in the named map (unload profiles you no longer need) and load again".to_string(),
            Err(e) => format!("restoring the previous state failed too ({e}): repair with `bpfbox-load --unload` and load again"),
        };
        return Err(Failure::kernel(
            format!("cannot switch to the new rules: {error}"),
            hint,
        ));
    }

    if !prepared.is_empty() {
        new_generation(maps).map_err(|e| {
            Failure::kernel(
                format!("the new rules are in force, but the rules the kernel remembered for files could not be made stale: {e}"),
                "run `bpfbox-load --unload`, then load again",
            )
        })?;
    }

    // Old versions go once no hook can still be looking at them.
    if prepared.iter().any(|p| p.old_version.is_some()) {
        wait_for_running_programs(maps);
    }
    for p in &prepared {
        if let Some(old) = p.old_version {
            delete_version(maps, old);
        }
        let keep: BTreeSet<u32> = p.profile.scopes.iter().map(|s| s.id).collect();
        remove_scopes(maps, p.slot, &keep);
    }
    Ok(outcomes)
}

/// Makes the file rules the BPF side remembered stale (file_memo in
/// bpf/bpfbox.bpf.c is tagged with this generation): after every change of
/// the rules or profiles in force.
fn new_generation(maps: &Maps) -> Result<(), libbpf_rs::Error> {
    let mut meta = maps.meta();
    meta.generation = meta.generation.wrapping_add(1);
    maps.meta
        .update(0u32.as_bytes(), meta.as_bytes(), MapFlags::ANY)
}

/// Returns once every bpfbox program that was running has finished: an
/// update of a map-in-map from user space waits for an RCU grace period
/// (the kernel's maybe_wait_bpf_programs), and the LSM and tracepoint
/// programs run inside RCU read-side sections, preempted or not. After it,
/// no decision can still be reading rules that are about to be deleted.
pub fn wait_for_running_programs(maps: &Maps) {
    let opts = libbpf_rs::libbpf_sys::bpf_map_create_opts {
        sz: size_of::<libbpf_rs::libbpf_sys::bpf_map_create_opts>() as _,
        ..Default::default()
    };
    let waited = MapHandle::create(
        libbpf_rs::MapType::Array,
        Some("bpfbox_grace"),
        4,
        4,
        1,
        &opts,
    )
    .and_then(|inner| {
        let fd = inner.as_fd().as_raw_fd() as u32;
        maps.grace
            .update(0u32.as_bytes(), fd.as_bytes(), MapFlags::ANY)
    });
    if waited.is_err() {
        // Without the map-in-map (it cannot be created here), fall back to
        // a pause far longer than any hook runs.
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The switch of every prepared profile; the first failed update ends it.
fn switch_all(maps: &Maps, prepared: &[Prepared]) -> Result<(), String> {
    let checked = |what: &str, result: Result<(), libbpf_rs::Error>| {
        result.map_err(|e| format!("{what}: {}", e.to_string().trim_start_matches("Error: ")))
    };
    for p in prepared {
        let profile = p.profile;
        let value = abi::bpfbox_profile {
            version: p.version,
            flags: profile.flags,
            serial: p.serial,
            pad: 0,
            exe_dev: profile.exe_inode.dev,
            exe_ino: profile.exe_inode.ino,
        };
        checked(
            &format!("map profiles, {}", profile.exe),
            maps.profiles
                .update(p.slot.as_bytes(), value.as_bytes(), MapFlags::ANY),
        )?;
        let exe_key = abi::bpfbox_inode_key {
            dev: profile.exe_inode.dev,
            ino: profile.exe_inode.ino,
        };
        checked(
            &format!("map exe_profiles, {}", profile.exe),
            maps.exe_profiles
                .update(exe_key.as_bytes(), p.slot.as_bytes(), MapFlags::ANY),
        )?;
        // The executable may have been replaced since the last load: its old
        // inode no longer names this profile.
        for (key, slot) in entries::<abi::bpfbox_inode_key, u32>(&maps.exe_profiles) {
            if slot == p.slot && (key.dev, key.ino) != (exe_key.dev, exe_key.ino) {
                checked(
                    &format!("map exe_profiles, an old inode of {}", profile.exe),
                    maps.exe_profiles.delete(key.as_bytes()),
                )?;
            }
        }
        let registry_entry = abi::bpfbox_registry {
            version: p.version,
            flags: profile.flags,
            serial: p.serial,
            pad: 0,
            rules: profile.entries() as u32,
            scopes: profile.scopes.len() as u32,
            digest: profile.digest,
            exe: c_chars(&profile.exe),
            source: c_chars(&profile.source),
        };
        checked(
            &format!("map registry, {}", profile.exe),
            maps.registry
                .update(p.slot.as_bytes(), registry_entry.as_bytes(), MapFlags::ANY),
        )?;
        for scope in &profile.scopes {
            let name = abi::bpfbox_scope_name {
                slot: p.slot,
                kind: match scope.kind {
                    ScopeKind::User => abi::bpfbox_scope_kind::BPFBOX_SCOPE_USER,
                    ScopeKind::Kernel => abi::bpfbox_scope_kind::BPFBOX_SCOPE_KERNEL,
                },
                name: c_chars(&scope.name),
            };
            checked(
                &format!("map scope_names, #[func {}]", scope.name),
                maps.scope_names
                    .update(scope.id.as_bytes(), name.as_bytes(), MapFlags::ANY),
            )?;
        }
    }
    Ok(())
}

/// Detaches the scopes of `slot` not in `keep`.
fn remove_scopes(maps: &Maps, slot: u32, keep: &BTreeSet<u32>) {
    for (id, name) in entries::<u32, abi::bpfbox_scope_name>(&maps.scope_names) {
        if name.slot == slot && !keep.contains(&id) {
            unpin_link(&scope_pin(id, "entry"));
            unpin_link(&scope_pin(id, "return"));
            let _ = maps.scope_names.delete(id.as_bytes());
        }
    }
}

/// Takes one profile out of force. Its processes are unconfined from the
/// moment `profiles[slot]` is gone. Their procs entries stay until they exit
/// (only the BPF side adds and removes them, which keeps its count of them
/// exact); the profile's serial tells them from processes of whatever
/// profile takes the slot next.
pub fn unload_profile(maps: &Maps, exe: &str) -> Result<bool, Failure> {
    let registry = maps.registry();
    let Some((slot, entry)) = registry.iter().find(|(_, e)| registry_exe(e) == exe) else {
        return Ok(false);
    };
    let failed = |what: &str, e: libbpf_rs::Error| {
        Failure::kernel(
            format!("cannot unload {exe}: map {what}: {e}"),
            "run `bpfbox-load --unload` to remove everything, then load again",
        )
    };
    // Out of force first (the processes are free from here), then the
    // rules, once no running decision can still read them.
    crate::switch::delete(&maps.profiles, slot.as_bytes()).map_err(|e| failed("profiles", e))?;
    new_generation(maps).map_err(|e| failed("meta", e))?;
    for (key, s) in entries::<abi::bpfbox_inode_key, u32>(&maps.exe_profiles) {
        if s == *slot {
            crate::switch::delete(&maps.exe_profiles, key.as_bytes())
                .map_err(|e| failed("exe_profiles", e))?;
        }
    }
    wait_for_running_programs(maps);
    delete_version(maps, entry.version);
    remove_scopes(maps, *slot, &BTreeSet::new());
    crate::switch::delete(&maps.registry, slot.as_bytes()).map_err(|e| failed("registry", e))?;
    Ok(true)
}

/// Removes everything: links (which detaches the programs) and maps.
pub fn unload_all() -> Result<bool, Failure> {
    if !Path::new(PIN_DIR).exists() {
        return Ok(false);
    }
    for dir in [links_dir(), scopes_dir()] {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                unpin_link(&entry.path());
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(maps_dir()) {
        for entry in entries.flatten() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    for dir in [
        links_dir(),
        scopes_dir(),
        maps_dir(),
        PathBuf::from(PIN_DIR),
    ] {
        if dir.exists() {
            std::fs::remove_dir(&dir).map_err(|e| {
                Failure::io(
                    format!("cannot remove {}: {}", dir.display(), io_message(&e)),
                    "remove what is left by hand: rm -r /sys/fs/bpf/bpfbox",
                )
            })?;
        }
    }
    Ok(true)
}

/// Processes confined per slot: those of the profile now in the slot.
pub fn processes_per_slot(maps: &Maps) -> BTreeMap<u32, usize> {
    let registry = maps.registry();
    let mut out = BTreeMap::new();
    for (_, proc) in entries::<u32, abi::bpfbox_proc>(&maps.procs) {
        if registry.get(&proc.slot).map(|e| e.serial) == Some(proc.serial) {
            *out.entry(proc.slot).or_insert(0) += 1;
        }
    }
    out
}

pub fn is_loaded() -> bool {
    maps_dir().join("registry").exists()
}
