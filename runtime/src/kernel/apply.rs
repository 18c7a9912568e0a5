//! Putting planned profiles in force: write the new version's entries,
//! switch every profile with one update each, then reap the old entries
//! once no running program can read them.

use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::{AsFd, AsRawFd};
use std::path::PathBuf;
use std::time::Duration;

use bpfbox_abi as abi;
use libbpf_rs::{ErrorKind, MapCore, MapFlags, MapHandle};
use zerocopy::IntoBytes;

use super::maps::{
    all_entries, c_chars, entries, inode_rule_key, number_rule_key, registry_exe, Maps,
};
use super::pins::unpin_link;
use super::scopes::{attach_scopes, remove_scopes};
use super::written;
use crate::failure::Failure;
use crate::plan::PlannedProfile;

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

/// Rule entries: keys and values, each concatenated.
#[derive(Default)]
struct Entries {
    keys: Vec<u8>,
    values: Vec<u8>,
}

impl Entries {
    fn push<K: IntoBytes + zerocopy::Immutable>(&mut self, key: K, masks: &crate::plan::Masks) {
        self.keys.extend_from_slice(key.as_bytes());
        self.values.extend_from_slice(masks.to_abi().as_bytes());
    }
}

/// Entries a batch: the kernel copies them in one syscall.
const BATCH: usize = 4096;

/// Writes every map entry of `profile` under `version`, in batches, and
/// records their keys (written.rs) for deleting them later.
fn write_entries(
    maps: &Maps,
    profile: &PlannedProfile,
    version: u32,
) -> Result<(), libbpf_rs::Error> {
    use abi::bpfbox_rule_kind::*;
    let mut entries = Entries::default();
    for ((scope, inode), masks) in &profile.file {
        let key = inode_rule_key(version, *scope, BPFBOX_RULE_FILE, inode.dev, inode.ino);
        entries.push(key, masks);
    }
    for ((scope, inode), masks) in &profile.tree {
        let key = inode_rule_key(version, *scope, BPFBOX_RULE_SUBTREE, inode.dev, inode.ino);
        entries.push(key, masks);
    }
    for ((scope, kind, inode), masks) in &profile.task {
        entries.push(
            inode_rule_key(version, *scope, *kind, inode.dev, inode.ino),
            masks,
        );
    }
    for ((scope, family), masks) in &profile.net {
        entries.push(
            number_rule_key(version, *scope, BPFBOX_RULE_NET, *family),
            masks,
        );
    }
    for ((scope, kind, number), masks) in &profile.privileged {
        entries.push(number_rule_key(version, *scope, *kind, *number), masks);
    }
    // Recorded first: a write that fails half-way is undone from it too.
    let map = &maps.rules;
    written::record(version, map.key_size(), &entries.keys);
    let (key_size, value_size) = (map.key_size() as usize, map.value_size() as usize);
    for (keys, values) in entries
        .keys
        .chunks(key_size * BATCH)
        .zip(entries.values.chunks(value_size * BATCH))
    {
        let count = (keys.len() / key_size) as u32;
        map.update_batch(keys, values, count, MapFlags::ANY, MapFlags::ANY)?;
    }
    Ok(())
}

/// Deletes every rule entry of `version`: the keys its record names, and
/// where that does not account for them all, every key that starts with
/// the version (found by reading the whole map).
pub(super) fn delete_version(maps: &Maps, version: u32) {
    let recorded = written::recorded(version, maps.rules.key_size());
    if !recorded.is_some_and(|keys| delete_keys(&maps.rules, &keys)) {
        delete_found(&maps.rules, version);
    }
    written::forget(version);
}

/// Deletes `keys` (concatenated); false when one of them was not there (a
/// batch ends at the first).
fn delete_keys(map: &MapHandle, keys: &[u8]) -> bool {
    let size = map.key_size() as usize;
    keys.chunks(size * BATCH).all(|chunk| {
        let count = (chunk.len() / size) as u32;
        map.delete_batch(chunk, count, MapFlags::ANY, MapFlags::ANY)
            .is_ok()
    })
}

/// Deletes every key of `map` that starts with `version`.
fn delete_found(map: &MapHandle, version: u32) {
    let size = map.key_size() as usize;
    let all = crate::map_scan::entries(map)
        .map(|(keys, _)| keys)
        .unwrap_or_else(|_| map.keys().collect::<Vec<_>>().concat());
    let flat: Vec<u8> = all
        .chunks_exact(size)
        .filter(|key| key.len() >= 4 && key[..4] == version.to_ne_bytes())
        .flatten()
        .copied()
        .collect();
    if flat.is_empty() {
        return;
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

/// Puts the planned profiles in force. All or nothing: when anything fails
/// before the switch, what was written is removed again and the profiles in
/// force stay as they were. Three phases: prepare (write the new versions
/// and attach their scopes), commit (switch to them), reap (delete the old).
pub fn apply(maps: &Maps, planned: &[PlannedProfile]) -> Result<Vec<Outcome>, Failure> {
    let (prepared, outcomes) = prepare(maps, planned)?;
    if prepared.is_empty() {
        return Ok(outcomes);
    }
    commit(maps, &prepared)?;
    reap(maps, &prepared);
    Ok(outcomes)
}

/// Removes what `prepare` wrote and attached.
fn rollback(maps: &Maps, prepared: &[Prepared]) {
    for p in prepared {
        delete_version(maps, p.version);
        for pin in &p.pins {
            unpin_link(pin);
        }
    }
}

/// Writes each changed profile's entries under a new version and attaches
/// its scopes; nothing points at them yet. Returns them, and what the load
/// does to each profile.
fn prepare<'a>(
    maps: &Maps,
    planned: &'a [PlannedProfile],
) -> Result<(Vec<Prepared<'a>>, Vec<Outcome>), Failure> {
    // The registry and what the profiles map points at, each read whole or
    // not at all: a read that lost entries would have the clean-up below
    // delete rules in force.
    let whole_registry = all_entries::<u32, abi::bpfbox_registry>(&maps.registry);
    let registry: BTreeMap<u32, abi::bpfbox_registry> = match &whole_registry {
        Some(all) => all.iter().cloned().collect(),
        None => maps.registry(),
    };
    let in_force: Option<BTreeMap<u32, u32>> =
        all_entries::<u32, abi::bpfbox_profile>(&maps.profiles)
            .map(|all| all.into_iter().map(|(slot, p)| (slot, p.version)).collect());
    if let (Some(_), Some(in_force)) = (&whole_registry, &in_force) {
        collect_garbage(maps, &registry, in_force);
    }
    let Some(mut meta) = maps.meta() else {
        return Err(Failure::kernel(
            "cannot read the meta map",
            "repair with `bpfbox-load --unload`, then load again",
        ));
    };
    let mut used_slots: BTreeSet<u32> = registry.keys().copied().collect();
    let mut outcomes = Vec::new();
    let mut prepared: Vec<Prepared> = Vec::new();
    for profile in planned {
        let existing = registry
            .iter()
            .find(|(_, entry)| registry_exe(entry) == profile.exe);
        if let Some((slot, entry)) = existing {
            // The same rules, and in force: a load killed during its
            // switch can leave profiles[slot] on a version the registry
            // does not name, which a reload then replaces.
            let switched = in_force
                .as_ref()
                .is_some_and(|v| v.get(slot) == Some(&entry.version));
            if entry.digest == profile.digest && switched {
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
                    rollback(maps, &prepared);
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
        // Issued before anything is written under it: a load killed after
        // this does not leave entries for the next load's same version.
        if let Err(e) = maps
            .meta
            .update(0u32.as_bytes(), meta.as_bytes(), MapFlags::ANY)
        {
            rollback(maps, &prepared);
            return Err(Failure::kernel(
                format!("cannot record the new rule versions in the meta map: {e}"),
                "nothing was changed; run with --verbose for libbpf's log",
            ));
        }
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
            rollback(maps, &prepared);
            let hint = if e.kind() == ErrorKind::TooBig {
                format!(
                    "the rules map is full ({} entries, every kind together): unload profiles you no longer need",
                    abi::bpfbox_limits::BPFBOX_MAX_RULES
                )
            } else {
                "nothing was changed; run with --verbose for libbpf's log".to_string()
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
                rollback(maps, &prepared);
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
    Ok((prepared, outcomes))
}

/// Deletes the versions a killed load wrote (SIGKILL: other signals wait
/// for the load to finish) that nothing points at, neither the registry nor
/// a profile (a load killed during its switch can leave the two apart), by
/// their records, once no running decision can still read them. Both maps
/// must have been read whole.
fn collect_garbage(
    maps: &Maps,
    registry: &BTreeMap<u32, abi::bpfbox_registry>,
    in_force: &BTreeMap<u32, u32>,
) {
    let in_use: BTreeSet<u32> = in_force
        .values()
        .copied()
        .chain(registry.values().map(|entry| entry.version))
        .collect();
    let garbage: Vec<u32> = written::versions()
        .into_iter()
        .filter(|v| !in_use.contains(v))
        .collect();
    if garbage.is_empty() {
        return;
    }
    wait_for_running_programs(maps);
    for version in garbage {
        delete_version(maps, version);
    }
}

/// Puts the prepared versions in force; on a failure, everything goes back
/// to what it was and the prepared versions are removed.
fn commit(maps: &Maps, prepared: &[Prepared]) -> Result<(), Failure> {
    // The switch: one map update per profile makes its new version current.
    // Every update is checked; on a failure everything switched so far goes
    // back to what it was, and the new versions are removed.
    let slots: BTreeSet<u32> = prepared.iter().map(|p| p.slot).collect();
    let before = crate::switch::Snapshot::take(maps, &slots);
    if let Err(error) = switch_all(maps, prepared) {
        let restored = before.restore(maps);
        // Rules remembered from the half-switched state go stale too:
        // after the restore, so nothing is remembered from it under the
        // new generation.
        let bumped = new_generation(maps).map_err(|e| format!("map meta: {e}"));
        let restored = restored.and(bumped);
        wait_for_running_programs(maps);
        rollback(maps, prepared);
        let hint = match restored {
            Ok(()) => "the profiles in force are as they were; free room in the named map (unload profiles you no longer need) and load again".to_string(),
            Err(e) => format!("restoring the previous state failed too ({e}): repair with `bpfbox-load --unload` and load again"),
        };
        return Err(Failure::kernel(
            format!("cannot switch to the new rules: {error}"),
            hint,
        ));
    }

    new_generation(maps).map_err(|e| {
        Failure::kernel(
            format!("the new rules are in force, but the rules the kernel remembered for files could not be made stale: {e}"),
            "run `bpfbox-load --unload`, then load again",
        )
    })
}

/// Deletes the versions the switch replaced, once no hook can still be
/// looking at them, and the scopes the new versions do not have.
fn reap(maps: &Maps, prepared: &[Prepared]) {
    if prepared.iter().any(|p| p.old_version.is_some()) {
        wait_for_running_programs(maps);
    }
    for p in prepared {
        if let Some(old) = p.old_version {
            delete_version(maps, old);
        }
        let keep: BTreeSet<u32> = p.profile.scopes.iter().map(|s| s.id).collect();
        remove_scopes(maps, p.slot, &keep);
    }
}

/// Makes the file rules the BPF side remembered stale: after every change
/// of the rules or profiles in force. The memos (file_memo in
/// bpf/bpfbox.bpf.c) are tagged with meta's generation, the per-CPU copies
/// in front of them with recent_epoch, which the BPF side bumps too and
/// reads first: so it is bumped second, with an atomic add.
pub(super) fn new_generation(maps: &Maps) -> Result<(), libbpf_rs::Error> {
    let mut meta = maps.meta().ok_or_else(|| {
        libbpf_rs::Error::from(std::io::Error::other("map meta: its entry cannot be read"))
    })?;
    meta.generation = meta.generation.wrapping_add(1);
    maps.meta
        .update(0u32.as_bytes(), meta.as_bytes(), MapFlags::ANY)?;
    super::epoch::bump(&maps.recent_epoch).map_err(|e| {
        libbpf_rs::Error::from(std::io::Error::other(format!("map recent_epoch: {e}")))
    })
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
                kind: scope.kind.code(),
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
