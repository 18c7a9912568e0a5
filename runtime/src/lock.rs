//! One bpfbox-load changes the kernel's state at a time. Two loaders run at
//! once (a deploy and a hand's reload, two units at boot) would each read
//! the meta map, issue versions and bump the generation from what they read:
//! the second would write back the generation the first had just advanced,
//! and rules the kernel remembered for files (file_memo) under the first's
//! switch would stay current after the second's. An exclusive flock on the
//! BPF file system's root serialises them; the kernel drops it when the
//! process ends, however it ends, so no stale lock survives a crash.

use std::fs::File;
use std::os::fd::AsRawFd;

use crate::failure::{io_message, Failure};

/// Held while it lives.
pub struct LoaderLock {
    _dir: File,
}

/// Takes the lock, waiting (and saying so once, on stderr) while another
/// bpfbox-load holds it.
pub fn take(fs_root: &str) -> Result<LoaderLock, Failure> {
    let dir = File::open(fs_root).map_err(|e| {
        Failure::io(
            format!(
                "cannot open {fs_root} to take bpfbox-load's lock: {}",
                io_message(&e)
            ),
            "mount the BPF file system: mount -t bpf bpf /sys/fs/bpf",
        )
    })?;
    if flock(&dir, libc::LOCK_EX | libc::LOCK_NB).is_ok() {
        return Ok(LoaderLock { _dir: dir });
    }
    eprintln!("bpfbox-load: waiting for another bpfbox-load to finish");
    flock(&dir, libc::LOCK_EX).map_err(|e| {
        Failure::io(
            format!("cannot lock {fs_root}: {}", io_message(&e)),
            "run one bpfbox-load at a time",
        )
    })?;
    Ok(LoaderLock { _dir: dir })
}

fn flock(file: &File, operation: libc::c_int) -> std::io::Result<()> {
    loop {
        // SAFETY: the descriptor is open for the call's duration.
        if unsafe { libc::flock(file.as_raw_fd(), operation) } == 0 {
            return Ok(());
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}
