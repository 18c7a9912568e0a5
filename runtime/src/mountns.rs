//! `--mount-ns FILE`: load in another mount namespace, the host's when
//! bpfbox-load runs in a container (`/proc/1/ns/mnt` with the host's PID
//! namespace). The images are read where bpfbox-load runs (a ConfigMap
//! volume); the paths they name (executables, files) are resolved, and the
//! BPF file system found, where the confined programs live.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

use crate::failure::{io_message, Failure};

/// In the other namespace until dropped; then back in our own.
pub struct Entered {
    own: File,
}

pub fn enter(target: &Path) -> Result<Entered, Failure> {
    let open = |path: &Path| {
        File::open(path).map_err(|e| {
            Failure::io(
                format!("cannot open the mount namespace {}: {}", path.display(), io_message(&e)),
                "give a namespace file such as /proc/1/ns/mnt (in a container: with the host's PID namespace, hostPID)",
            )
        })
    };
    let own = open(Path::new("/proc/self/ns/mnt"))?;
    let other = open(target)?;
    setns(&other).map_err(|e| {
        let why = match e.raw_os_error() {
            Some(libc::EINVAL) => " (it is not a mount namespace, or this process has more than one thread)".to_string(),
            Some(libc::EPERM) => " (entering it needs CAP_SYS_ADMIN: a privileged container)".to_string(),
            _ => String::new(),
        };
        Failure::new(
            crate::failure::exit::PRIVILEGE,
            format!("cannot enter the mount namespace {}: {}{why}", target.display(), io_message(&e)),
            "run bpfbox-load privileged, with the host's PID namespace, and --mount-ns /proc/1/ns/mnt",
        )
    })?;
    Ok(Entered { own })
}

impl Drop for Entered {
    fn drop(&mut self) {
        // Back where the images are read (the next --watch round). Our own
        // namespace can always be entered again.
        let _ = setns(&self.own);
    }
}

fn setns(namespace: &File) -> std::io::Result<()> {
    // SAFETY: setns takes a file descriptor we own and a flag; it changes
    // only this (single-threaded) process's mount namespace.
    if unsafe { libc::setns(namespace.as_raw_fd(), libc::CLONE_NEWNS) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
