//! What a reload's switch changes, saved before it, so that a switch that
//! fails half-way puts every map back as it was: a load succeeds whole or
//! not at all.

use std::collections::{BTreeMap, BTreeSet};

use bpfbox_abi as abi;
use libbpf_rs::{MapCore, MapFlags, MapHandle};
use zerocopy::IntoBytes;

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
            match self.profiles.get(slot) {
                Some(old) => note(
                    "profiles",
                    maps.profiles
                        .update(slot.as_bytes(), old.as_bytes(), MapFlags::ANY),
                ),
                None => note("profiles", delete(&maps.profiles, slot.as_bytes())),
            }
        }
        for (key, slot) in entries::<abi::bpfbox_inode_key, u32>(&maps.exe_profiles) {
            if self.slots.contains(&slot)
                && !self
                    .exe_profiles
                    .iter()
                    .any(|(k, _)| k.as_bytes() == key.as_bytes())
            {
                note("exe_profiles", delete(&maps.exe_profiles, key.as_bytes()));
            }
        }
        for (key, slot) in &self.exe_profiles {
            note(
                "exe_profiles",
                maps.exe_profiles
                    .update(key.as_bytes(), slot.as_bytes(), MapFlags::ANY),
            );
        }
        for slot in &self.slots {
            match self.registry.get(slot) {
                Some(old) => note(
                    "registry",
                    maps.registry
                        .update(slot.as_bytes(), old.as_bytes(), MapFlags::ANY),
                ),
                None => note("registry", delete(&maps.registry, slot.as_bytes())),
            }
        }
        for (id, name) in entries::<u32, abi::bpfbox_scope_name>(&maps.scope_names) {
            if self.slots.contains(&name.slot) && !self.scope_names.iter().any(|(i, _)| *i == id) {
                note("scope_names", delete(&maps.scope_names, id.as_bytes()));
            }
        }
        for (id, name) in &self.scope_names {
            note(
                "scope_names",
                maps.scope_names
                    .update(id.as_bytes(), name.as_bytes(), MapFlags::ANY),
            );
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Deletes a key; one that is not there is already deleted.
pub fn delete(map: &MapHandle, key: &[u8]) -> Result<(), libbpf_rs::Error> {
    match map.delete(key) {
        Err(e) if e.kind() == libbpf_rs::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}
