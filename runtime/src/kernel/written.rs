//! The keys each rule version wrote, pinned at versions/<version>, so that
//! deleting a version deletes exactly those keys instead of reading the
//! rules map to find them. Reading it walks all of its 262,144 buckets,
//! empty or not: 60 M instructions of a 10,000-rule reload in the
//! benchmark VM, when the rules were in five maps.
//!
//! A record is a BPF_F_MMAPABLE array of 8-byte words, written and read
//! through its memory: a header (magic, version, the key size and how many
//! keys), then the keys. It is never
//! trusted beyond what it can do: every key must carry the version it is
//! for, and a record that does not hold up is ignored (the maps are then
//! read as before). A record is made before its version's entries are
//! written, so that a load killed while writing them (SIGKILL; other
//! signals wait for the load to end) leaves a record the next load finds
//! and deletes by (apply.rs).

use std::os::fd::{AsFd, AsRawFd};
use std::path::PathBuf;

use libbpf_rs::libbpf_sys;
use libbpf_rs::{MapCore, MapHandle, MapType};

use super::pins::versions_dir;

const MAGIC: u32 = u32::from_le_bytes(*b"BBXW");
const HEADER_BYTES: usize = 16;

fn pin(version: u32) -> PathBuf {
    versions_dir().join(version.to_string())
}

/// Pins the keys `version` wrote, concatenated, of `key_size` bytes each.
/// Without it (the record cannot be made), deleting the version reads the
/// map: nothing else changes.
pub(super) fn record(version: u32, key_size: u32, keys: &[u8]) {
    let bytes = encode(version, key_size, keys);
    let words = bytes.len().div_ceil(8);
    let opts = libbpf_sys::bpf_map_create_opts {
        sz: size_of::<libbpf_sys::bpf_map_create_opts>() as _,
        map_flags: libbpf_sys::BPF_F_MMAPABLE,
        ..Default::default()
    };
    let Ok(map) = MapHandle::create(
        MapType::Array,
        Some("bpfbox_written"),
        4,
        8,
        words as u32,
        &opts,
    ) else {
        return;
    };
    let written = with_memory(&map, words * 8, true, |memory| {
        memory[..bytes.len()].copy_from_slice(&bytes);
    });
    if written.is_some() && super::pins::create_pin_dir(&versions_dir()).is_ok() {
        // One record a version: an older one under this number (after
        // the numbers wrapped) would name other keys.
        forget(version);
        let mut map = map;
        let _ = map.pin(pin(version));
    }
}

/// A record's bytes: the header, then the keys.
fn encode(version: u32, key_size: u32, keys: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_BYTES + keys.len());
    bytes.extend_from_slice(&MAGIC.to_le_bytes());
    bytes.extend_from_slice(&version.to_le_bytes());
    bytes.extend_from_slice(&key_size.to_le_bytes());
    bytes.extend_from_slice(&((keys.len() / key_size as usize) as u32).to_le_bytes());
    bytes.extend_from_slice(keys);
    bytes
}

/// The keys `version` wrote, when its record holds up: the key size is
/// `key_size`, and every key starts with `version`.
pub(super) fn recorded(version: u32, key_size: u32) -> Option<Vec<u8>> {
    let map = MapHandle::from_pinned_path(pin(version)).ok()?;
    if map.map_type() != MapType::Array || map.value_size() != 8 {
        return None;
    }
    let len = map.max_entries() as usize * 8;
    let bytes = with_memory(&map, len, false, |memory| memory.to_vec())?;
    parse(&bytes, version, key_size)
}

fn parse(bytes: &[u8], version: u32, key_size: u32) -> Option<Vec<u8>> {
    let word = |at: usize| Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    if word(0)? != MAGIC || word(4)? != version || word(8)? != key_size || key_size < 4 {
        return None;
    }
    let len = (word(12)? as usize).checked_mul(key_size as usize)?;
    let keys = bytes.get(HEADER_BYTES..HEADER_BYTES.checked_add(len)?)?;
    keys.chunks_exact(key_size as usize)
        .all(|key| key[..4] == version.to_ne_bytes())
        .then(|| keys.to_vec())
}

/// Removes `version`'s record.
pub(super) fn forget(version: u32) {
    let _ = std::fs::remove_file(pin(version));
}

/// The versions that have a record.
pub(super) fn versions() -> Vec<u32> {
    std::fs::read_dir(versions_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .collect()
}

/// Runs `f` on the map's memory, `len` bytes of it, mapped shared (writable
/// when `write`); None when it cannot be mapped.
fn with_memory<T>(
    map: &MapHandle,
    len: usize,
    write: bool,
    f: impl FnOnce(&mut [u8]) -> T,
) -> Option<T> {
    if len == 0 {
        return None;
    }
    let prot = if write {
        libc::PROT_READ | libc::PROT_WRITE
    } else {
        libc::PROT_READ
    };
    // SAFETY: a shared mapping of the map's values (max_entries 8-byte
    // words, at least `len` bytes: the kernel refuses a longer mapping),
    // used only inside this function and unmapped before it returns.
    unsafe {
        let memory = libc::mmap(
            std::ptr::null_mut(),
            len,
            prot,
            libc::MAP_SHARED,
            map.as_fd().as_raw_fd(),
            0,
        );
        if memory == libc::MAP_FAILED {
            return None;
        }
        let out = f(std::slice::from_raw_parts_mut(memory.cast::<u8>(), len));
        libc::munmap(memory, len);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As the map holds it: whole 8-byte words.
    fn record_bytes(version: u32, size: u32, keys: &[u8]) -> Vec<u8> {
        let mut bytes = encode(version, size, keys);
        bytes.resize(bytes.len().div_ceil(8) * 8, 0);
        bytes
    }

    #[test]
    fn a_record_gives_back_its_keys() {
        let keys = [7u8, 0, 0, 0, 1, 2, 3, 4, 7, 0, 0, 0, 5, 6, 7, 8];
        let bytes = record_bytes(7, 8, &keys);
        assert_eq!(parse(&bytes, 7, 8).unwrap(), keys);
        assert!(parse(&record_bytes(7, 8, &[]), 7, 8).unwrap().is_empty());
    }

    /// Never a key of another version, never past the end, never keys of
    /// another size: such a record is not used.
    #[test]
    fn a_record_that_does_not_hold_up_is_ignored() {
        let other_version = [8u8, 0, 0, 0, 1, 2, 3, 4];
        let bytes = record_bytes(7, 8, &other_version);
        assert!(parse(&bytes, 7, 8).is_none());
        let good = record_bytes(7, 8, &[7u8, 0, 0, 0, 1, 2, 3, 4]);
        assert!(parse(&good, 7, 8).is_some());
        assert!(parse(&good, 8, 8).is_none(), "another version's record");
        assert!(parse(&good, 7, 4).is_none(), "another key size");
        let mut long = good.clone();
        long[12..16].copy_from_slice(&1000u32.to_le_bytes());
        assert!(parse(&long, 7, 8).is_none(), "more keys than it holds");
        assert!(parse(&good[..20], 7, 8).is_none(), "cut short");
        assert!(parse(&[], 7, 8).is_none());
    }
}
