//! The shared maps, opened from their pins, and reading their entries.

use std::collections::BTreeMap;

use bpfbox_abi as abi;
use libbpf_rs::{MapCore, MapFlags, MapHandle};
use zerocopy::{FromBytes, IntoBytes};

use super::pins::maps_dir;
use crate::failure::Failure;

/// The shared maps, opened from their pins.
pub struct Maps {
    pub exe_profiles: MapHandle,
    pub profiles: MapHandle,
    pub procs: MapHandle,
    pub rules: MapHandle,
    pub grace: MapHandle,
    pub events: MapHandle,
    pub registry: MapHandle,
    pub meta: MapHandle,
    pub recent_epoch: MapHandle,
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
            rules: open("rules")?,
            grace: open("grace")?,
            events: open("events")?,
            registry: open("registry")?,
            meta: open("meta")?,
            recent_epoch: open("recent_epoch")?,
            scope_names: open("scope_names")?,
            stats: open("stats")?,
        })
    }

    /// Meta's one entry; None when it cannot be read (written back from a
    /// default, it would restart the rule versions at 1).
    pub fn meta(&self) -> Option<abi::bpfbox_meta> {
        lookup(&self.meta, &0u32)
    }

    pub fn registry(&self) -> BTreeMap<u32, abi::bpfbox_registry> {
        entries(&self.registry).into_iter().collect()
    }

    pub fn stats(&self) -> abi::bpfbox_stats {
        lookup(&self.stats, &0u32).unwrap_or_default()
    }
}

/// A key of the rules map: a rule of `kind` about an inode (a file, a
/// directory's subtree, processes running an executable).
pub fn inode_rule_key(
    version: u32,
    scope: u32,
    kind: u32,
    dev: u64,
    ino: u64,
) -> abi::bpfbox_rule_key {
    abi::bpfbox_rule_key {
        version,
        scope,
        kind,
        number: 0,
        dev,
        ino,
    }
}

/// A key of the rules map: a rule of `kind` about a number (an address
/// family, a capability; 0 for the privileged operations).
pub fn number_rule_key(version: u32, scope: u32, kind: u32, number: u32) -> abi::bpfbox_rule_key {
    abi::bpfbox_rule_key {
        version,
        scope,
        kind,
        number,
        dev: 0,
        ino: 0,
    }
}

pub fn lookup<K: IntoBytes + zerocopy::Immutable, V: FromBytes>(
    map: &MapHandle,
    key: &K,
) -> Option<V> {
    let bytes = map.lookup(key.as_bytes(), MapFlags::ANY).ok()??;
    V::read_from_bytes(&bytes).ok()
}

/// All entries of a hash map, decoded: read in batches (map_scan), or a
/// key and a lookup at a time where the kernel refuses batches.
pub fn entries<K: FromBytes, V: FromBytes>(map: &MapHandle) -> Vec<(K, V)> {
    if let Some(all) = all_entries(map) {
        return all;
    }
    map.keys()
        .filter_map(|key| {
            let value = map.lookup(&key, MapFlags::ANY).ok()??;
            Some((
                K::read_from_bytes(&key).ok()?,
                V::read_from_bytes(&value).ok()?,
            ))
        })
        .collect()
}

/// Every entry of a hash map, decoded, or None: for a reader that must not
/// act on part of them.
pub fn all_entries<K: FromBytes, V: FromBytes>(map: &MapHandle) -> Option<Vec<(K, V)>> {
    let (keys, values) = crate::map_scan::entries(map).ok()?;
    keys.chunks_exact(map.key_size() as usize)
        .zip(values.chunks_exact(map.value_size() as usize))
        .map(|(k, v)| Some((K::read_from_bytes(k).ok()?, V::read_from_bytes(v).ok()?)))
        .collect()
}

pub fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

pub(super) fn c_chars<const N: usize>(text: &str) -> [std::os::raw::c_char; N] {
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
