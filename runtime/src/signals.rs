//! Termination signals wait while bpfbox-load changes the kernel's state.
//! Killed between writing new rules and switching to them, a loader would
//! leave rule entries nothing points at (held until `--unload`); killed
//! between the switch and the generation bump, it would leave rules the
//! kernel remembered for files counted as current. Ctrl-C, `kill` and a
//! pod's termination (SIGTERM) therefore take effect when the change is
//! done, not half-way. SIGKILL cannot be held back; what a load killed
//! by it wrote, the next load deletes (kernel/written.rs).

/// Holds SIGINT, SIGTERM, SIGHUP and SIGQUIT back until dropped; then one
/// that came meanwhile is delivered (and ends the process as it would have).
pub struct Deferred {
    previous: libc::sigset_t,
}

pub fn defer_termination() -> Deferred {
    // SAFETY: sigset_t is plain data; sigemptyset/sigaddset initialise it,
    // and sigprocmask only changes this (single-threaded) process's mask.
    unsafe {
        let mut held: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut held);
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
            libc::sigaddset(&mut held, signal);
        }
        let mut previous: libc::sigset_t = std::mem::zeroed();
        libc::sigprocmask(libc::SIG_BLOCK, &held, &mut previous);
        Deferred { previous }
    }
}

impl Drop for Deferred {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved above.
        unsafe {
            libc::sigprocmask(libc::SIG_SETMASK, &self.previous, std::ptr::null_mut());
        }
    }
}
