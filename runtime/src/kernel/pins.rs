//! Where bpfbox's state is pinned under /sys/fs/bpf, and taking pins away.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use libbpf_rs::Link;

use crate::failure::{io_message, Failure};

pub const PIN_DIR: &str = "/sys/fs/bpf/bpfbox";

pub(super) fn maps_dir() -> PathBuf {
    Path::new(PIN_DIR).join("maps")
}
pub(super) fn links_dir() -> PathBuf {
    Path::new(PIN_DIR).join("links")
}
pub(super) fn scopes_dir() -> PathBuf {
    Path::new(PIN_DIR).join("scopes")
}
pub(super) fn versions_dir() -> PathBuf {
    Path::new(PIN_DIR).join("versions")
}
/// The directories of link pins (removing the last reference detaches).
pub(super) fn link_dirs() -> [PathBuf; 2] {
    [links_dir(), scopes_dir()]
}
/// The directories of map pins (removed as files).
pub(super) fn map_dirs() -> [PathBuf; 2] {
    [maps_dir(), versions_dir()]
}
/// Every directory of pins, then PIN_DIR itself: the order to remove them.
pub(super) fn pin_dirs() -> [PathBuf; 5] {
    let [links, scopes] = link_dirs();
    let [maps, versions] = map_dirs();
    [links, scopes, maps, versions, PathBuf::from(PIN_DIR)]
}

/// Makes a directory for pins (libbpf creates a pin's file, not its
/// directories).
pub(super) fn create_pin_dir(dir: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Failure::io(
            format!("cannot create {}: {}", dir.display(), io_message(&e)),
            "check that /sys/fs/bpf is a BPF file system",
        )
    })
}

/// Pins under PIN_DIR, to undo exactly what a failed run added.
pub(super) fn existing_pins() -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for dir in link_dirs().into_iter().chain(map_dirs()) {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            out.extend(entries.flatten().map(|e| e.path()));
        }
    }
    out
}

/// Detaches and removes pins that were not there before.
pub(super) fn remove_new_pins(before: &BTreeSet<PathBuf>) {
    for path in existing_pins().difference(before) {
        if map_dirs().iter().any(|dir| path.starts_with(dir)) {
            let _ = std::fs::remove_file(path);
        } else {
            unpin_link(path);
        }
    }
    for dir in pin_dirs() {
        let _ = std::fs::remove_dir(dir);
    }
}

pub(super) fn scope_pin(id: u32, end: &str) -> PathBuf {
    // bpffs refuses names with dots.
    scopes_dir().join(format!("{id:08x}-{end}"))
}

pub(super) fn unpin_link(path: &Path) {
    match Link::open(path) {
        Ok(mut link) => {
            let _ = link.unpin();
        }
        Err(_) => {
            let _ = std::fs::remove_file(path);
        }
    }
}

pub fn is_loaded() -> bool {
    maps_dir().join("registry").exists()
}
