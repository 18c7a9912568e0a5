//! Taking one profile, or everything, out of force.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use bpfbox_abi as abi;
use zerocopy::IntoBytes;

use super::apply::{delete_version, new_generation, wait_for_running_programs};
use super::maps::{entries, registry_exe, Maps};
use super::pins::{links_dir, maps_dir, scopes_dir, unpin_link, versions_dir, PIN_DIR};
use super::scopes::remove_scopes;
use crate::failure::{io_message, Failure};

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
///
/// Every profile is taken out of force first, in one short step, so that
/// nothing is confined from then on whatever the kernel does next. The
/// links are then unpinned by removing their files, without holding a
/// descriptor. Detaching an LSM program makes the kernel wait for a grace
/// period of RCU tasks under its ftrace lock, and that RCU's thread sleeps
/// a tenth of a second between grace periods: about 0.12 s per program,
/// one after another (measured on 6.1: removing the pins from 66 processes
/// at once took as long). From 6.5 the kernel drops a link's last
/// reference in a work item, so this returns at once and the kernel
/// detaches in the background, where the programs it has not reached yet
/// find no profile and decide nothing (a load meanwhile waits on the same
/// hooks' locks); before 6.5 removing a pin waits for its detach. When the
/// profiles cannot be taken out of force (bpfbox's maps are damaged), each
/// link is released through a descriptor, which waits for its detach on
/// every kernel, so that nothing still enforces when this returns.
pub fn unload_all() -> Result<bool, Failure> {
    if !Path::new(PIN_DIR).exists() {
        return Ok(false);
    }
    let out_of_force = take_all_out_of_force();
    crate::libbpf_log::note(if out_of_force {
        "every profile is out of force; removing the pins (from Linux 6.5 the kernel detaches the programs in the background)"
    } else {
        "the profiles could not be taken out of force first: waiting for each program's detach"
    });
    for dir in [links_dir(), scopes_dir()] {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                if out_of_force {
                    let _ = std::fs::remove_file(entry.path());
                } else {
                    unpin_link(&entry.path());
                }
            }
        }
    }
    for dir in [maps_dir(), versions_dir()] {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    for dir in [
        links_dir(),
        scopes_dir(),
        maps_dir(),
        versions_dir(),
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

/// Deletes every profile (a process whose profile is gone is not confined:
/// get_state in bpf/bpfbox.bpf.c) and starts a new generation, so that no
/// remembered decision is used again. True when no profile is left.
fn take_all_out_of_force() -> bool {
    let Ok(maps) = Maps::open() else {
        return false;
    };
    for (slot, _) in entries::<u32, abi::bpfbox_profile>(&maps.profiles) {
        if crate::switch::delete(&maps.profiles, slot.as_bytes()).is_err() {
            return false;
        }
    }
    new_generation(&maps).is_ok() && entries::<u32, abi::bpfbox_profile>(&maps.profiles).is_empty()
}
