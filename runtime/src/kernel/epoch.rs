//! recent_epoch (bpf/include/scopes.h), bumped from user space: the BPF
//! side bumps the same count with atomics, so a read, an increment and a
//! map update could lose one of theirs. The map is BPF_F_MMAPABLE and the
//! increment an atomic add on its memory.

use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicU64, Ordering};

use libbpf_rs::{MapCore, MapHandle};

/// Adds one to the count, a full barrier: everything written to the maps
/// before it is seen by a program that reads the new count.
pub(super) fn bump(map: &MapHandle) -> io::Result<()> {
    if map.value_size() as usize != size_of::<u64>() {
        return Err(io::Error::other(format!(
            "its values are {} bytes, not 8",
            map.value_size()
        )));
    }
    let len = page_size();
    // SAFETY: a shared mapping of the map's first page, which holds its one
    // 8-byte value (checked above), unmapped below; nothing else holds it.
    unsafe {
        let memory = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            map.as_fd().as_raw_fd(),
            0,
        );
        if memory == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        AtomicU64::from_ptr(memory.cast::<u64>()).fetch_add(1, Ordering::SeqCst);
        libc::munmap(memory, len);
    }
    Ok(())
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096)
}
