//! Every entry of a hash map, read a batch at a time.
//!
//! libbpf-rs's `keys()` costs one BPF_MAP_GET_NEXT_KEY syscall per entry,
//! and a lookup per value (20,000 keys when a 10,000-rule profile is
//! reloaded: the old entries and the new). BPF_MAP_LOOKUP_BATCH reads
//! thousands per syscall. Its iterator in libbpf-rs ends silently on an
//! error, which would leave entries unseen, so the call is made directly
//! and an error is returned for the caller to fall back on `keys()`.

use std::os::fd::{AsFd, AsRawFd};

use libbpf_rs::libbpf_sys;
use libbpf_rs::{MapCore, MapHandle};

/// Entries asked for per syscall, at most.
const BATCH: u32 = 4096;
/// Buffer bytes per syscall, at most: the buffers are zeroed and faulted
/// in whole, so a map of large values (the registry's are 600 bytes) asks
/// for fewer entries at once. 2.4 MB of buffers for a registry of two
/// profiles were 5 M instructions of a reload in the benchmark VM.
const BATCH_BYTES: usize = 256 * 1024;

/// Entries per batch for entries of `entry_size` bytes: at least 64. A
/// hash bucket must fit in one batch: the kernel refuses a smaller one
/// with ENOSPC, and the batch is then doubled.
fn batch_len(entry_size: usize) -> u32 {
    (BATCH_BYTES / entry_size.max(1)).clamp(64, BATCH as usize) as u32
}

/// The keys and the values of `map`, each concatenated (`map.key_size()`
/// and `map.value_size()` bytes an entry), in the same order.
pub fn entries(map: &MapHandle) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let key_size = map.key_size() as usize;
    let value_size = map.value_size() as usize;
    let (mut out_keys, mut out_values) = (Vec::new(), Vec::new());
    let mut batch = batch_len(key_size + value_size);
    let mut keys = vec![0u8; key_size * batch as usize];
    let mut values = vec![0u8; value_size * batch as usize];
    // The kernel's cursor: `next` is written by each call, and passed back
    // as `in_batch` (`prev`) to the next one.
    let mut prev: Option<Vec<u8>> = None;
    let mut next = vec![0u8; key_size.max(4)];
    let opts = libbpf_sys::bpf_map_batch_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_map_batch_opts>() as _,
        ..Default::default()
    };
    loop {
        let mut count = batch;
        let in_batch = prev
            .as_mut()
            .map_or(std::ptr::null_mut(), |p| p.as_mut_ptr().cast());
        // SAFETY: the buffers hold `batch` keys and values of the map's sizes,
        // `next` a key (at least 4 bytes, as hash maps' batches need), and
        // `count` says how many entries fit.
        let ret = unsafe {
            libbpf_sys::bpf_map_lookup_batch(
                map.as_fd().as_raw_fd(),
                in_batch,
                next.as_mut_ptr().cast(),
                keys.as_mut_ptr().cast(),
                values.as_mut_ptr().cast(),
                &mut count,
                &opts,
            )
        };
        let error = (ret < 0).then(std::io::Error::last_os_error);
        match error.as_ref().and_then(std::io::Error::raw_os_error) {
            // ENOENT: the last batch (count says how many it has).
            None | Some(libc::ENOENT) => {}
            Some(libc::EINTR) => continue,
            Some(libc::ENOSPC) if batch < u32::MAX / 2 => {
                batch *= 2;
                keys.resize(key_size * batch as usize, 0);
                values.resize(value_size * batch as usize, 0);
                continue;
            }
            Some(_) => return Err(error.unwrap_or_else(std::io::Error::last_os_error)),
        }
        out_keys.extend_from_slice(&keys[..key_size * count as usize]);
        out_values.extend_from_slice(&values[..value_size * count as usize]);
        if error.is_some() {
            return Ok((out_keys, out_values));
        }
        prev = Some(next.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libbpf_rs::{MapFlags, MapType};

    /// Needs CAP_BPF (as root on the build machine); skipped without.
    #[test]
    fn reads_every_entry_across_batches() {
        let opts = libbpf_sys::bpf_map_create_opts {
            sz: std::mem::size_of::<libbpf_sys::bpf_map_create_opts>() as _,
            map_flags: libbpf_sys::BPF_F_NO_PREALLOC,
            ..Default::default()
        };
        let Ok(map) = MapHandle::create(MapType::Hash, Some("scan_test"), 8, 4, 20_000, &opts)
        else {
            eprintln!("skipped: cannot create a BPF map here");
            return;
        };
        let (empty, none) = entries(&map).expect("an empty map scans");
        assert!(empty.is_empty() && none.is_empty());
        // More than two batches.
        let n = 2 * BATCH as u64 + 7;
        for k in 0..n {
            map.update(&k.to_le_bytes(), &(k as u32).to_le_bytes(), MapFlags::ANY)
                .unwrap();
        }
        let (keys, values) = entries(&map).expect("the map scans");
        let mut got: Vec<u64> = keys
            .chunks_exact(8)
            .zip(values.chunks_exact(4))
            .map(|(k, v)| {
                let k = u64::from_le_bytes(k.try_into().unwrap());
                // Each value stays with its key.
                assert_eq!(u32::from_le_bytes(v.try_into().unwrap()), k as u32);
                k
            })
            .collect();
        got.sort_unstable();
        assert_eq!(got, (0..n).collect::<Vec<_>>());
    }
}
