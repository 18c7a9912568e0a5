//! What a reload's switch changes, saved before it, so that a switch that
//! fails half-way puts every map back as it was: a load succeeds whole or
//! not at all.

use std::collections::{BTreeMap, BTreeSet};

use bpfbox_abi as abi;
use libbpf_rs::{MapCore, MapFlags, MapHandle};
use zerocopy::{FromBytes, Immutable, IntoBytes};

use crate::kernel::{entries, lookup, Maps};

/// The entries of the slots a switch touches, in the maps it writes.
pub struct Snapshot {
    slots: BTreeSet<u32>,
    profiles: BTreeMap<u32, abi::bpfbox_profile>,
    registry: BTreeMap<u32, abi::bpfbox_registry>,
    exe_profiles: Vec<(abi::bpfbox_inode_key, u32)>,
    scope_names: Vec<(u32, abi::bpfbox_scope_name)>,
}

impl Snapshot {
    pub fn take(maps: &Maps, slots: &BTreeSet<u32>) -> Snapshot {
        let of_slots = |slot: &u32| slots.contains(slot);
        Snapshot {
            slots: slots.clone(),
            profiles: slots
                .iter()
                .filter_map(|slot| Some((*slot, lookup(&maps.profiles, slot)?)))
                .collect(),
            registry: slots
                .iter()
                .filter_map(|slot| Some((*slot, lookup(&maps.registry, slot)?)))
                .collect(),
            exe_profiles: entries(&maps.exe_profiles)
                .into_iter()
                .filter(|(_, slot)| of_slots(slot))
                .collect(),
            scope_names: entries::<u32, abi::bpfbox_scope_name>(&maps.scope_names)
                .into_iter()
                .filter(|(_, name)| of_slots(&name.slot))
                .collect(),
        }
    }

    /// Puts the saved entries back and removes what the switch added.
    /// Returns the first error, after trying everything.
    pub fn restore(&self, maps: &Maps) -> Result<(), String> {
        let mut first_error: Option<String> = None;
        let mut note = |what: &str, result: Result<(), libbpf_rs::Error>| {
            if let Err(e) = result {
                first_error.get_or_insert_with(|| format!("map {what}: {e}"));
            }
        };
        // Every slot's profile first: from then on no process of it uses
        // the new rules.
        for slot in &self.slots {
            note(
                "profiles",
                put_back(&maps.profiles, slot.as_bytes(), self.profiles.get(slot)),
            );
        }
        for (what, result) in restore_entries(
            "exe_profiles",
            &maps.exe_profiles,
            &self.exe_profiles,
            |slot: &u32| self.slots.contains(slot),
        ) {
            note(what, result);
        }
        for slot in &self.slots {
            note(
                "registry",
                put_back(&maps.registry, slot.as_bytes(), self.registry.get(slot)),
            );
        }
        for (what, result) in restore_entries(
            "scope_names",
            &maps.scope_names,
            &self.scope_names,
            |name: &abi::bpfbox_scope_name| self.slots.contains(&name.slot),
        ) {
            note(what, result);
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Writes `old` back under `key`, or deletes the key when it had none.
fn put_back<V: IntoBytes + Immutable>(
    map: &MapHandle,
    key: &[u8],
    old: Option<&V>,
) -> Result<(), libbpf_rs::Error> {
    match old {
        Some(old) => map.update(key, old.as_bytes(), MapFlags::ANY),
        None => delete(map, key),
    }
}

/// Of a map's entries that `ours` selects, deletes those not in `saved` and
/// writes the saved ones back; returns each update's outcome.
fn restore_entries<K, V>(
    what: &'static str,
    map: &MapHandle,
    saved: &[(K, V)],
    ours: impl Fn(&V) -> bool,
) -> Vec<(&'static str, Result<(), libbpf_rs::Error>)>
where
    K: FromBytes + IntoBytes + Immutable,
    V: FromBytes + IntoBytes + Immutable,
{
    let mut outcomes = Vec::new();
    for (key, value) in entries::<K, V>(map) {
        if ours(&value) && !saved.iter().any(|(k, _)| k.as_bytes() == key.as_bytes()) {
            outcomes.push((what, delete(map, key.as_bytes())));
        }
    }
    for (key, value) in saved {
        outcomes.push((
            what,
            map.update(key.as_bytes(), value.as_bytes(), MapFlags::ANY),
        ));
    }
    outcomes
}

/// Deletes a key; one that is not there is already deleted.
pub fn delete(map: &MapHandle, key: &[u8]) -> Result<(), libbpf_rs::Error> {
    match map.delete(key) {
        Err(e) if e.kind() == libbpf_rs::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}
