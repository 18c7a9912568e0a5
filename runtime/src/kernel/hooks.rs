//! The kernel's LSM hooks as its BTF declares them, read in one pass, and
//! handed to libbpf when it loads the programs.
//!
//! libbpf finds each LSM program's hook (`bpf_lsm_<hook>`, the id the
//! kernel attaches it by) with a linear search of the kernel's BTF by
//! name: one search of some 100,000 types per program, 6% of a first load
//! (perf in the VM). One pass over the types here finds every hook, with
//! its argument count, which the loader asks too (hook lists changed
//! after 6.1); a libbpf section handler for `lsm/` gives the programs
//! their ids from it.

use std::collections::HashMap;
use std::ffi::{c_int, c_long, CStr};
use std::sync::Mutex;

use libbpf_rs::libbpf_sys;

use super::btf::{kind, vlen, KernelBtf};

/// A hook's BTF id (its `bpf_lsm_<hook>` function) and argument count.
#[derive(Clone, Copy)]
struct Hook {
    id: u32,
    args: usize,
}

/// The running kernel's LSM hooks by name, and its BTF they were read
/// from (types.rs cuts the objects' types from it).
pub(super) struct KernelHooks {
    hooks: HashMap<String, Hook>,
    btf: KernelBtf,
}

const PREFIX: &[u8] = b"bpf_lsm_";

/// The section prefix of LSM programs, the one libbpf's handler is lent for.
const LSM_SECTION: &CStr = c"lsm/";

/// The hook an LSM program's section names (`lsm/<hook>`); `None` for
/// programs of other kinds.
pub(super) fn lsm_hook(section: &str) -> Option<&str> {
    section.strip_prefix(LSM_SECTION.to_str().ok()?)
}

impl KernelHooks {
    /// From the kernel's BTF; `None` without it (every program is then
    /// left to libbpf, and the load says what failed).
    pub(super) fn read() -> Option<Self> {
        let btf = KernelBtf::read()?;
        let mut hooks = HashMap::new();
        for id in 1..btf.type_count() {
            let Some(t) = btf.type_at(id) else { continue };
            if kind(t) != libbpf_sys::BTF_KIND_FUNC {
                continue;
            }
            let Some(hook) = btf.name_of(t.name_off).to_bytes().strip_prefix(PREFIX) else {
                continue;
            };
            // SAFETY: a FUNC's word after its info is the type it is of.
            let proto = btf.type_at(unsafe { t.__bindgen_anon_1.type_ });
            let Some(proto) = proto.filter(|p| kind(p) == libbpf_sys::BTF_KIND_FUNC_PROTO) else {
                continue;
            };
            let args = vlen(proto);
            // The first of a name, as libbpf's search finds it.
            hooks
                .entry(String::from_utf8_lossy(hook).into_owned())
                .or_insert(Hook { id, args });
        }
        (!hooks.is_empty()).then_some(Self { hooks, btf })
    }

    /// The kernel's BTF the hooks were read from.
    pub(super) fn btf(&self) -> &KernelBtf {
        &self.btf
    }

    /// How many arguments `hook` takes; `None` when the kernel has no such hook.
    pub(super) fn args(&self, hook: &str) -> Option<usize> {
        self.hooks.get(hook).map(|h| h.args)
    }

    /// Gives libbpf the hooks' ids while the returned guard lives: open and
    /// load the programs inside it.
    pub(super) fn lend_to_libbpf(&self) -> Option<LentHooks> {
        let ids = self
            .hooks
            .iter()
            .map(|(name, h)| (name.clone(), h.id))
            .collect();
        *LENT.lock().ok()? = Some(ids);
        let opts = libbpf_sys::libbpf_prog_handler_opts {
            sz: size_of::<libbpf_sys::libbpf_prog_handler_opts>() as _,
            prog_prepare_load_fn: Some(prepare_lsm_program),
            ..Default::default()
        };
        // SAFETY: a static section string and options libbpf copies.
        let handler = unsafe {
            libbpf_sys::libbpf_register_prog_handler(
                LSM_SECTION.as_ptr(),
                libbpf_sys::BPF_PROG_TYPE_LSM,
                libbpf_sys::BPF_LSM_MAC,
                &opts,
            )
        };
        if handler < 0 {
            *LENT.lock().ok()? = None;
            return None;
        }
        Some(LentHooks { handler })
    }
}

/// The hooks' ids while a load has them (libbpf's handlers are global).
static LENT: Mutex<Option<HashMap<String, u32>>> = Mutex::new(None);

/// libbpf's handler for `lsm/` programs registered; unregistered on drop.
/// Programs are attached with `attach_lsm`: the handler has no attach
/// function.
pub(super) struct LentHooks {
    handler: c_int,
}

impl Drop for LentHooks {
    fn drop(&mut self) {
        // SAFETY: the id libbpf_register_prog_handler returned.
        unsafe { libbpf_sys::libbpf_unregister_prog_handler(self.handler) };
        if let Ok(mut lent) = LENT.lock() {
            *lent = None;
        }
    }
}

/// What libbpf's own `lsm/` handler does for bpfbox's programs (not
/// sleepable), with the id from the one pass instead of a search.
extern "C" fn prepare_lsm_program(
    program: *mut libbpf_sys::bpf_program,
    opts: *mut libbpf_sys::bpf_prog_load_opts,
    _cookie: c_long,
) -> c_int {
    // SAFETY: libbpf calls this with its program and the options it is
    // about to load it with.
    let section = unsafe { CStr::from_ptr(libbpf_sys::bpf_program__section_name(program)) };
    let id = LENT.lock().ok().and_then(|lent| {
        let hook = lsm_hook(section.to_str().ok()?)?;
        lent.as_ref()?.get(hook).copied()
    });
    match id {
        Some(id) => {
            // SAFETY: as above.
            unsafe {
                (*opts).attach_btf_obj_fd = 0;
                (*opts).attach_btf_id = id;
            }
            0
        }
        // As libbpf says of a hook the kernel does not have.
        None => -libc::ESRCH,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pass finds the running kernel's hooks with their argument
    /// counts, as its BTF declares them (the machines that run the tests
    /// have BTF; the VM suite loads the programs with these ids).
    #[test]
    fn reads_the_running_kernels_hooks() {
        if !std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
            eprintln!("no kernel BTF here: nothing to read");
            return;
        }
        let hooks = KernelHooks::read().expect("the kernel's BTF has LSM hooks");
        assert_eq!(hooks.args("file_open"), Some(1));
        assert_eq!(hooks.args("file_permission"), Some(2));
        assert_eq!(hooks.args("task_kill"), Some(4));
        assert_eq!(hooks.args("no_such_hook"), None);
    }
}
