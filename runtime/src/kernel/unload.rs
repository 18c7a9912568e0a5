//! Taking one profile, or everything, out of force.

use std::collections::BTreeSet;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use bpfbox_abi as abi;
use zerocopy::IntoBytes;

use super::apply::{delete_version, new_generation, wait_for_running_programs};
use super::maps::{entries, registry_exe, Maps};
use super::pins::{link_dirs, map_dirs, pin_dirs, unpin_link, PIN_DIR};
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
/// nothing is confined from then on whatever the kernel does next. Then the
/// links are detached in the background: a child process holds a
/// descriptor of each while every pin is removed, and exits, which drops
/// them. Detaching an LSM program makes the kernel wait for a grace period
/// of RCU tasks under its ftrace lock, and that RCU's thread sleeps a tenth
/// of a second between grace periods: about 0.12 s per program, one after
/// another, in whatever drops the link's last reference. From 6.5 the
/// kernel does that in a work item anyway; before, removing a pin waited
/// for its detach, 8 billion instructions for all of them on 6.1. The
/// programs not detached yet find no profile and decide nothing; a load
/// meanwhile waits on the same hooks' locks. When the profiles cannot be
/// taken out of force (bpfbox's maps are damaged), each link is released
/// here, which waits for its detach, so that nothing still enforces when
/// this returns.
pub fn unload_all() -> Result<bool, Failure> {
    if !Path::new(PIN_DIR).exists() {
        return Ok(false);
    }
    let out_of_force = take_all_out_of_force();
    crate::libbpf_log::note(if out_of_force {
        "every profile is out of force; removing the pins (the programs are detached in the background)"
    } else {
        "the profiles could not be taken out of force first: waiting for each program's detach"
    });
    let mut held = Vec::new();
    for dir in link_dirs() {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                if out_of_force {
                    held.extend(link_descriptor(&entry.path()));
                    let _ = std::fs::remove_file(entry.path());
                } else {
                    unpin_link(&entry.path());
                }
            }
        }
    }
    for dir in map_dirs() {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let removed = pin_dirs()
        .into_iter()
        .filter(|dir| dir.exists())
        .try_for_each(|dir| {
            std::fs::remove_dir(&dir).map_err(|e| {
                Failure::io(
                    format!("cannot remove {}: {}", dir.display(), io_message(&e)),
                    "remove what is left by hand: rm -r /sys/fs/bpf/bpfbox",
                )
            })
        });
    detach_in_background(held);
    removed.map(|()| true)
}

/// A descriptor of the link pinned at `path`, which keeps it attached once
/// the pin is gone; None when it is not a link.
fn link_descriptor(path: &Path) -> Option<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: a valid C string; the result is checked.
    let fd = unsafe { libbpf_rs::libbpf_sys::bpf_obj_get(c.as_ptr()) };
    // SAFETY: a fresh descriptor we own.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Drops the last references of `links` in a child process, which the
/// loader does not wait for: it closes everything else it inherited (the
/// lock, the terminal, a caller's pipe), waits until the loader has
/// closed its own copies of the links, then exits, and its exit drops the
/// links one detach at a time. Were the child to exit first, the loader's
/// copies would be the last, and the loader would wait for every detach
/// (10 billion instructions in a benchmark run on 6.12). Without a child
/// (fork fails), they are dropped here.
fn detach_in_background(links: Vec<OwnedFd>) {
    if links.is_empty() {
        return;
    }
    // The child reads until the loader's end is closed.
    let mut ends = [0 as libc::c_int; 2];
    // SAFETY: a two-descriptor array for pipe2 to fill.
    if unsafe { libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        drop(links);
        return;
    }
    // SAFETY: descriptors pipe2 just made, owned here.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1])) };
    let mut keep: Vec<u32> = links
        .iter()
        .map(|fd| fd.as_raw_fd() as u32)
        .chain(std::iter::once(read_end.as_raw_fd() as u32))
        .collect();
    keep.sort_unstable();
    // The highest descriptor open, for closing one at a time where
    // close_range is refused (a seccomp filter, a kernel before 5.9).
    let highest = std::fs::read_dir("/proc/self/fd")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .max()
        .unwrap_or(1023)
        .max(1023);
    // SAFETY: bpfbox-load is single-threaded; the child only calls
    // async-signal-safe functions (setsid, close_range, close, read,
    // _exit) and allocates nothing.
    match unsafe { libc::fork() } {
        0 => unsafe {
            libc::setsid();
            let mut from = 0u32;
            for &fd in keep.iter().chain(std::iter::once(&(highest + 1))) {
                if fd > from && libc::close_range(from, fd - 1, 0) != 0 {
                    for other in from..fd {
                        libc::close(other as libc::c_int);
                    }
                }
                from = fd + 1;
            }
            // Until end of file: the loader's end closed (or the loader gone).
            let mut byte = 0u8;
            while libc::read(read_end.as_raw_fd(), (&raw mut byte).cast(), 1) < 0
                && *libc::__errno_location() == libc::EINTR
            {}
            libc::_exit(0)
        },
        // The parent's copies go first; the child's keep the links attached.
        _ => {
            drop(links);
            drop(write_end);
        }
    }
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
