//! The pinned kernel state under /sys/fs/bpf/bpfbox: loading and attaching
//! the programs once, then putting profiles in and taking them out.
//!
//! Layout:
//!   maps/<name>            every map, shared by all loaded objects
//!   links/<program>        the LSM and tracepoint links (enforcement stays
//!                          after bpfbox-load exits)
//!   links/<program>:<fn>   a shared function's body linked into that
//!                          program in place of its stub (shared.rs)
//!   scopes/<id>-entry      uprobe/fentry link of a function scope
//!   scopes/<id>-return     uretprobe/fexit link
//!   versions/<version>     the keys a rule version wrote (written.rs)
//!
//! A profile lives in a slot. Its rules are map entries keyed by a version
//! number; `profiles[slot]` names the version in force. A reload writes the
//! new version's entries first, then switches `profiles[slot]` with one map
//! update, then deletes the old entries: no process ever sees a profile that
//! is missing or half-written.
//!
//! One module a concern: pins (where the state lives), maps (opening and
//! reading them), programs (loading and attaching once), shared (the
//! functions every hook shares, linked in once), hooks and types (what
//! the loader reads from the kernel's BTF, once), scopes (the probes of
//! function scopes), apply (write, switch, reap), epoch (the one count user
//! space bumps with an atomic), written (the keys of each version) and
//! unload.

mod apply;
mod btf;
mod epoch;
mod hooks;
mod maps;
mod pins;
mod programs;
mod scopes;
mod shared;
mod types;
mod unload;
mod written;

pub use apply::{apply, Outcome};
pub use maps::{
    chars_to_string, entries, inode_rule_key, lookup, number_rule_key, processes_per_slot,
    registry_exe, scope_name, Maps,
};
pub use pins::is_loaded;
pub use programs::ensure_programs;
pub use unload::{unload_all, unload_profile};
