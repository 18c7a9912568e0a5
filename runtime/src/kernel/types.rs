//! The kernel's types that bpfbox's objects name, cut from its BTF for
//! libbpf's CO-RE relocation.
//!
//! libbpf relocates an object's field accesses against the kernel's BTF by
//! searching all of its types (some 100,000) once per kernel type the
//! object names: 17 searches for bpfbox.bpf.c and 11 for shared.bpf.c, and
//! for the shared object, which needs the kernel's BTF for nothing else, a
//! second read and parse of it (perf of a first load in the VM: 11% and
//! 3%). bpfbox-load has read that BTF once already (hooks.rs). From it,
//! the types the objects name are written here into a memory file that
//! libbpf is pointed at instead (`btf_custom_path`), where its searches
//! cover those types alone.
//!
//! What is kept, so that every relocation comes out as against the whole:
//! - every struct, union and enum of a name the objects' own BTF has, in
//!   full, every one of that name (CO-RE matches by name, then walks
//!   members);
//! - what their members are made of: integers, enums, arrays, typedefs,
//!   qualifiers, anonymous structs and unions in full; a struct or union
//!   of another name as an empty one of its size, since no access goes
//!   into it (the objects would name it); a pointer as `void *`, since of
//!   a pointer member CO-RE asks only that it is one.
//!
//! The kernel type ids that programs cast to (walkable(),
//! bpf/include/walkable.h) cannot come from a cut: they are written into the
//! objects' read-only data from the kernel's own BTF (`set_type_ids`).

use std::collections::{HashMap, HashSet};
use std::ffi::{c_char, c_int, CStr};
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use libbpf_rs::libbpf_sys::{self, btf, btf_type};
use libbpf_rs::AsRawLibbpf;

use super::btf::{kind, vlen, KernelBtf};
use super::programs::bpf_failure;
use crate::failure::Failure;
use crate::libbpf_log;

/// The memory file libbpf reads the cut from when it loads the objects.
pub(super) struct KernelTypes {
    file: File,
    path: PathBuf,
}

/// The cut a first load made, kept for the objects this process loads
/// after it: the function scopes' probes (uprobe.bpf.c, kfunc.bpf.c), which
/// name no kernel type bpfbox.bpf.c does not (they share scopes.h; a test
/// below holds them to it). Without it (a reload with the programs in
/// place) they are relocated against the kernel's whole BTF, as libbpf
/// reads it.
static KEPT: Mutex<Option<KernelTypes>> = Mutex::new(None);

/// Where the kept cut is, if this process made one.
pub(super) fn kept_path() -> Option<PathBuf> {
    KEPT.lock().ok()?.as_ref().map(|t| t.path.clone())
}

/// Points libbpf at the kernel types in `path` (a cut) for an object about
/// to be opened; without one, libbpf reads the kernel's whole BTF.
pub(super) fn relocate_against(
    builder: &mut libbpf_rs::ObjectBuilder,
    path: Option<&Path>,
) -> Result<(), Failure> {
    if let Some(path) = path {
        builder
            .btf_custom_path(path)
            .map_err(|e| bpf_failure("cannot point libbpf at the kernel's types", e))?;
    }
    Ok(())
}

/// The prefix of the read-only variables that hold a kernel type's id.
const TYPE_ID_PREFIX: &str = "kernel_type_";

impl KernelTypes {
    /// An empty file, for the objects to be opened with (libbpf reads it
    /// at their load, after `write`).
    pub(super) fn create() -> Result<Self, Failure> {
        // SAFETY: a static name; the descriptor is owned by `file` below.
        let fd = unsafe {
            libc::memfd_create(
                c"bpfbox-kernel-types".as_ptr(),
                libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
            )
        };
        if fd < 0 {
            return Err(Failure::kernel(
                format!(
                    "cannot create a memory file for the kernel's types: {}",
                    std::io::Error::last_os_error()
                ),
                "bpfbox-load needs memfd_create (Linux 3.17) and memory to hold a few hundred kilobytes",
            ));
        }
        Ok(Self {
            // SAFETY: a descriptor just created and owned by nothing else.
            file: unsafe { File::from_raw_fd(fd) },
            path: PathBuf::from(format!("/proc/self/fd/{fd}")),
        })
    }

    /// Keeps the cut for the objects loaded later (`kept_path`).
    pub(super) fn keep(self) {
        if let Ok(mut kept) = KEPT.lock() {
            *kept = Some(self);
        }
    }

    /// Where libbpf is to read the types (`btf_custom_path`).
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the kernel's types (`kernel`, its parsed BTF) that the
    /// opened `objects` name, and seals the file; returns the kernel's id
    /// of each struct and union they name (the first of its name, as a
    /// CO-RE type id would be). If the cut cannot be made (a kind of type
    /// it does not know), the whole of the kernel's BTF is written:
    /// slower, never wrong.
    pub(super) fn write(
        &mut self,
        kernel: &KernelBtf,
        objects: &[&libbpf_rs::OpenObject],
    ) -> Result<HashMap<String, u32>, Failure> {
        let mut names = HashSet::new();
        for object in objects {
            // SAFETY: an opened object; libbpf returns its BTF or null.
            let local = unsafe { libbpf_sys::bpf_object__btf(object.as_libbpf_object().as_ptr()) };
            if !local.is_null() {
                // SAFETY: the object's BTF, alive with it.
                unsafe { root_names(local, &mut names) };
            }
        }
        let roots = kernel_roots(kernel, &names);
        let ids = roots
            .iter()
            .rev()
            .filter(|(_, id)| kernel.type_at(*id).is_some_and(is_composite))
            .map(|(name, id)| (String::from_utf8_lossy(name).into_owned(), *id))
            .collect();
        // SAFETY: the cut is freed before return.
        let bytes = match unsafe { cut(kernel, &names, &roots) } {
            Ok(bytes) => {
                libbpf_log::note(&format!(
                    "the objects name {} kernel structs, unions and enums: libbpf relocates them against {} KB of the kernel's types",
                    roots.len(),
                    bytes.len() / 1024
                ));
                Ok(bytes)
            }
            Err(e) => {
                libbpf_log::note(&format!(
                    "the kernel's types could not be cut ({e}): libbpf is given all of them"
                ));
                Ok(kernel.bytes().to_vec())
            }
        };
        let written = bytes.and_then(|b| self.file.write_all(&b).map_err(|e| e.to_string()));
        // Sealed: what libbpf reads is what was cut, whoever else
        // could open the file.
        let sealed = written.and_then(|()| {
            let seals =
                libc::F_SEAL_SEAL | libc::F_SEAL_WRITE | libc::F_SEAL_GROW | libc::F_SEAL_SHRINK;
            // SAFETY: fcntl on the file's own descriptor.
            match unsafe { libc::fcntl(self.file.as_raw_fd(), libc::F_ADD_SEALS, seals) } {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error().to_string()),
            }
        });
        sealed.map_err(|e| {
            Failure::kernel(
                format!("cannot write the kernel's types for libbpf: {e}"),
                "bpfbox-load needs memory to hold a few hundred kilobytes",
            )
        })?;
        Ok(ids)
    }
}

/// Writes each `kernel_type_<name>` variable of `object`'s read-only data
/// (bpf/include/walkable.h) with the kernel's id of `struct <name>`.
pub(super) fn set_type_ids(
    object: &mut libbpf_rs::OpenObject,
    ids: &HashMap<String, u32>,
) -> Result<(), Failure> {
    // SAFETY: an opened object; libbpf returns its BTF or null.
    let local = unsafe { libbpf_sys::bpf_object__btf(object.as_libbpf_object().as_ptr()) };
    if local.is_null() {
        return Ok(());
    }
    // SAFETY: the object's BTF, alive with it.
    let variables = unsafe { rodata_variables(local, TYPE_ID_PREFIX) };
    if variables.is_empty() {
        return Ok(());
    }
    let Some(mut rodata) = object
        .maps_mut()
        .find(|m| m.name().to_string_lossy().ends_with(".rodata"))
    else {
        return Ok(());
    };
    let Some(data) = rodata.initial_value_mut() else {
        return Ok(());
    };
    for (name, offset) in variables {
        let id = ids.get(&name).ok_or_else(|| {
            Failure::kernel(
                format!("the kernel's BTF has no struct {name}"),
                "bpfbox needs a kernel built with CONFIG_DEBUG_INFO_BTF (Debian's are)",
            )
        })?;
        if let Some(slot) = data.get_mut(offset..offset + 4) {
            slot.copy_from_slice(&id.to_ne_bytes());
        }
    }
    Ok(())
}

fn kflag(t: &btf_type) -> bool {
    t.info >> 31 != 0
}

fn is_composite(t: &btf_type) -> bool {
    matches!(
        kind(t),
        libbpf_sys::BTF_KIND_STRUCT | libbpf_sys::BTF_KIND_UNION
    )
}

/// A kind CO-RE relocations are rooted at by name (an enum's, for its
/// values).
fn is_named_root(t: &btf_type) -> bool {
    is_composite(t)
        || matches!(
            kind(t),
            libbpf_sys::BTF_KIND_ENUM | libbpf_sys::BTF_KIND_ENUM64
        )
}

/// A type's name as CO-RE matches it: without a `___flavor` suffix.
fn essential(name: &[u8]) -> &[u8] {
    name.windows(3)
        .position(|w| w == b"___")
        .map_or(name, |end| &name[..end])
}

/// The type `id` of `b` and the records that follow it (members, values).
///
/// # Safety
/// `b` is a parsed BTF and `id` below its type count.
unsafe fn type_at<'a>(b: *const btf, id: u32) -> Option<&'a btf_type> {
    libbpf_sys::btf__type_by_id(b, id).as_ref()
}

/// # Safety
/// `t` is a type of a parsed BTF, followed by `n` records of `R`.
unsafe fn records<R>(t: &btf_type, n: usize) -> &[R] {
    std::slice::from_raw_parts((t as *const btf_type).add(1).cast::<R>(), n)
}

/// # Safety
/// `b` is a parsed BTF.
unsafe fn name_of<'a>(b: *const btf, offset: u32) -> &'a CStr {
    let name = libbpf_sys::btf__name_by_offset(b, offset);
    if name.is_null() {
        c""
    } else {
        CStr::from_ptr(name)
    }
}

/// # Safety
/// `b` is a parsed BTF.
unsafe fn root_names(b: *const btf, names: &mut HashSet<Vec<u8>>) {
    for id in 1..libbpf_sys::btf__type_cnt(b) {
        let Some(t) = type_at(b, id) else { continue };
        let name = name_of(b, t.name_off).to_bytes();
        if is_named_root(t) && !name.is_empty() {
            names.insert(essential(name).to_vec());
        }
    }
}

/// The kernel's structs, unions and enums of the `names`, in id order.
fn kernel_roots(kernel: &KernelBtf, names: &HashSet<Vec<u8>>) -> Vec<(Vec<u8>, u32)> {
    let mut found = Vec::new();
    for id in 1..kernel.type_count() {
        let Some(t) = kernel.type_at(id) else {
            continue;
        };
        if !is_named_root(t) {
            continue;
        }
        let name = kernel.name_of(t.name_off).to_bytes();
        if names.contains(name) {
            found.push((name.to_vec(), id));
        }
    }
    found
}

/// The variables of `b`'s `.rodata` whose names start with `prefix`: the
/// rest of the name and the offset.
///
/// # Safety
/// `b` is a parsed BTF.
unsafe fn rodata_variables(b: *const btf, prefix: &str) -> Vec<(String, usize)> {
    let section =
        libbpf_sys::btf__find_by_name_kind(b, c".rodata".as_ptr(), libbpf_sys::BTF_KIND_DATASEC);
    let Some(section) = u32::try_from(section).ok().and_then(|id| type_at(b, id)) else {
        return Vec::new();
    };
    records::<libbpf_sys::btf_var_secinfo>(section, vlen(section))
        .iter()
        .filter_map(|v| {
            let var = type_at(b, v.type_)?;
            let name = name_of(b, var.name_off).to_str().ok()?;
            Some((name.strip_prefix(prefix)?.to_string(), v.offset as usize))
        })
        .collect()
}

/// The cut (see the module's comment), as raw BTF.
///
/// # Safety
/// `roots` are ids of `kernel`.
unsafe fn cut(
    kernel: &KernelBtf,
    names: &HashSet<Vec<u8>>,
    roots: &[(Vec<u8>, u32)],
) -> Result<Vec<u8>, String> {
    let dst = libbpf_sys::btf__new_empty();
    if dst.is_null() {
        return Err("libbpf cannot make a BTF".into());
    }
    let mut cut = Cut {
        src: kernel,
        dst,
        names,
        done: HashMap::new(),
        void_ptr: None,
    };
    let result = roots
        .iter()
        .try_for_each(|(_, id)| cut.add(*id).map(drop))
        .and_then(|()| {
            let mut size = 0u32;
            let data = libbpf_sys::btf__raw_data(dst, &mut size);
            if data.is_null() {
                return Err("libbpf cannot write the cut".to_string());
            }
            Ok(std::slice::from_raw_parts(data.cast::<u8>(), size as usize).to_vec())
        });
    libbpf_sys::btf__free(dst);
    result
}

/// libbpf's result of adding `what` to a BTF: the new id, or why not.
fn added(result: c_int, what: &str) -> Result<c_int, String> {
    if result < 0 {
        return Err(format!("libbpf refused {what} ({result})"));
    }
    Ok(result)
}

struct Cut<'a> {
    src: &'a KernelBtf,
    dst: *mut btf,
    names: &'a HashSet<Vec<u8>>,
    /// The id in the cut of each kernel type added.
    done: HashMap<u32, c_int>,
    void_ptr: Option<c_int>,
}

impl Cut<'_> {
    /// The kernel's type `id` in the cut, added with what it is made of
    /// if it is not there yet. Types are added before the ones that use
    /// them, and a struct's fields right after it (libbpf adds a field to
    /// the last type added). No type reaches itself: pointers, the only
    /// way back in C, are not followed.
    ///
    /// # Safety
    /// `self.dst` is a BTF being built.
    unsafe fn add(&mut self, id: u32) -> Result<c_int, String> {
        if id == 0 {
            return Ok(0); // void
        }
        if let Some(&done) = self.done.get(&id) {
            return Ok(done);
        }
        let (src, dst) = (self.src, self.dst);
        let t = src.type_at(id).ok_or_else(|| format!("no type {id}"))?;
        let name_c = src.name_of(t.name_off);
        let name: *const c_char = name_c.as_ptr();
        let size = t.__bindgen_anon_1.size;
        let target = t.__bindgen_anon_1.type_;
        let new = match kind(t) {
            libbpf_sys::BTF_KIND_INT => {
                let bits = *records::<u32>(t, 1).first().ok_or("an int without bits")?;
                let (encoding, offset, width) =
                    ((bits >> 24) & 0xf, (bits >> 16) & 0xff, bits & 0xff);
                if offset != 0 || width != size * 8 {
                    return Err(format!(
                        "an int of {width} bits at {offset} in {size} bytes"
                    ));
                }
                libbpf_sys::btf__add_int(dst, name, size as _, encoding as c_int)
            }
            libbpf_sys::BTF_KIND_FLOAT => libbpf_sys::btf__add_float(dst, name, size as _),
            libbpf_sys::BTF_KIND_PTR => match self.void_ptr {
                Some(ptr) => ptr,
                None => {
                    let ptr = libbpf_sys::btf__add_ptr(dst, 0);
                    self.void_ptr = Some(ptr);
                    ptr
                }
            },
            libbpf_sys::BTF_KIND_ARRAY => {
                let a = *records::<libbpf_sys::btf_array>(t, 1)
                    .first()
                    .ok_or("an array without its record")?;
                let elem = self.add(a.type_)?;
                let index = self.add(a.index_type)?;
                libbpf_sys::btf__add_array(dst, index, elem, a.nelems)
            }
            libbpf_sys::BTF_KIND_STRUCT | libbpf_sys::BTF_KIND_UNION => {
                let union = kind(t) == libbpf_sys::BTF_KIND_UNION;
                let bytes = name_c.to_bytes();
                let members: &[libbpf_sys::btf_member] =
                    if bytes.is_empty() || self.names.contains(essential(bytes)) {
                        records(t, vlen(t))
                    } else {
                        &[]
                    };
                let mut fields = Vec::with_capacity(members.len());
                for m in members {
                    fields.push(self.add(m.type_)?);
                }
                let new = if union {
                    libbpf_sys::btf__add_union(dst, name, size)
                } else {
                    libbpf_sys::btf__add_struct(dst, name, size)
                };
                for (m, field) in members.iter().zip(fields) {
                    let (offset, bits) = if kflag(t) {
                        (m.offset & 0xff_ffff, m.offset >> 24)
                    } else {
                        (m.offset, 0)
                    };
                    let name = src.name_of(m.name_off).as_ptr();
                    added(
                        libbpf_sys::btf__add_field(dst, name, field, offset, bits),
                        "a field",
                    )?;
                }
                new
            }
            libbpf_sys::BTF_KIND_ENUM => {
                let new = libbpf_sys::btf__add_enum(dst, name, size);
                for v in records::<libbpf_sys::btf_enum>(t, vlen(t)) {
                    let value = if kflag(t) {
                        i64::from(v.val)
                    } else {
                        i64::from(v.val as u32)
                    };
                    let name = src.name_of(v.name_off).as_ptr();
                    added(
                        libbpf_sys::btf__add_enum_value(dst, name, value),
                        "an enum value",
                    )?;
                }
                new
            }
            libbpf_sys::BTF_KIND_ENUM64 => {
                let new = libbpf_sys::btf__add_enum64(dst, name, size, kflag(t));
                for v in records::<libbpf_sys::btf_enum64>(t, vlen(t)) {
                    let value = u64::from(v.val_hi32) << 32 | u64::from(v.val_lo32);
                    let name = src.name_of(v.name_off).as_ptr();
                    added(
                        libbpf_sys::btf__add_enum64_value(dst, name, value),
                        "an enum value",
                    )?;
                }
                new
            }
            libbpf_sys::BTF_KIND_FWD => libbpf_sys::btf__add_fwd(
                dst,
                name,
                if kflag(t) {
                    libbpf_sys::BTF_FWD_UNION
                } else {
                    libbpf_sys::BTF_FWD_STRUCT
                },
            ),
            libbpf_sys::BTF_KIND_TYPEDEF => {
                let to = self.add(target)?;
                libbpf_sys::btf__add_typedef(dst, name, to)
            }
            libbpf_sys::BTF_KIND_VOLATILE => {
                let to = self.add(target)?;
                libbpf_sys::btf__add_volatile(dst, to)
            }
            libbpf_sys::BTF_KIND_CONST => {
                let to = self.add(target)?;
                libbpf_sys::btf__add_const(dst, to)
            }
            libbpf_sys::BTF_KIND_RESTRICT => {
                let to = self.add(target)?;
                libbpf_sys::btf__add_restrict(dst, to)
            }
            other => return Err(format!("a type of kind {other} in a struct")),
        };
        let new = added(new, "a type")?;
        self.done.insert(id, new);
        Ok(new)
    }
}

#[cfg(test)]
mod tests {
    use std::mem::MaybeUninit;

    use libbpf_rs::skel::{OpenSkel, SkelBuilder};

    use super::*;
    use crate::kernel::hooks::KernelHooks;
    use crate::skel;

    /// The members of struct `name` in `b`: name, bit offset, kind of type.
    fn members(b: *const btf, name: &CStr) -> Vec<(String, u32, u32)> {
        // SAFETY: a parsed BTF; its records for the type found.
        unsafe {
            let id =
                libbpf_sys::btf__find_by_name_kind(b, name.as_ptr(), libbpf_sys::BTF_KIND_STRUCT);
            let t = type_at(b, u32::try_from(id).expect("the struct is there")).unwrap();
            records::<libbpf_sys::btf_member>(t, vlen(t))
                .iter()
                .map(|m| {
                    let member_type = libbpf_sys::btf__resolve_type(b, m.type_);
                    let member_kind = type_at(b, member_type as u32).map_or(0, kind);
                    let name = name_of(b, m.name_off).to_string_lossy().into_owned();
                    (name, m.offset, member_kind)
                })
                .collect()
        }
    }

    /// Cut against the running kernel's BTF for both objects: the structs
    /// they name keep every member where the kernel has it, the type ids
    /// handed to walkable() are the kernel's own, and the cut is a small
    /// part of the whole (what makes libbpf's searches cheap).
    #[test]
    fn the_cut_keeps_the_named_structs_as_the_kernel_has_them() {
        let Some(hooks) = KernelHooks::read() else {
            eprintln!("no kernel BTF here: nothing to cut");
            return;
        };
        let kernel = hooks.btf();
        // The whole, as libbpf parses it, to hold the cut to.
        // SAFETY: raw BTF bytes, copied by libbpf; freed below.
        let whole_btf = unsafe {
            libbpf_sys::btf__new(kernel.bytes().as_ptr().cast(), kernel.bytes().len() as u32)
        };
        assert!(!whole_btf.is_null(), "libbpf parses the kernel's BTF");
        let (mut main, mut shared) = (MaybeUninit::uninit(), MaybeUninit::uninit());
        let main = skel::bpfbox::BpfboxSkelBuilder::default()
            .open(&mut main)
            .expect("bpfbox.bpf.c opens");
        let shared = skel::shared::SharedSkelBuilder::default()
            .open(&mut shared)
            .expect("shared.bpf.c opens");
        let mut types = KernelTypes::create().expect("a memory file");
        let ids = types
            .write(kernel, &[main.open_object(), shared.open_object()])
            .expect("the cut is written");
        let bytes = std::fs::read(types.path()).expect("the memory file reads back");
        // SAFETY: raw BTF bytes, copied by libbpf; freed below.
        let cut = unsafe { libbpf_sys::btf__new(bytes.as_ptr().cast(), bytes.len() as u32) };
        assert!(!cut.is_null(), "the cut parses as BTF");

        let task_struct = unsafe {
            libbpf_sys::btf__find_by_name_kind(
                whole_btf,
                c"task_struct".as_ptr(),
                libbpf_sys::BTF_KIND_STRUCT,
            )
        };
        assert_eq!(
            ids.get("task_struct").map(|&id| id as i32),
            Some(task_struct)
        );
        for name in [
            c"task_struct",
            c"inode",
            c"file",
            c"dentry",
            c"super_block",
            c"mount",
            c"proc_inode",
        ] {
            let (whole, kept) = (members(whole_btf, name), members(cut, name));
            assert_eq!(kept.len(), whole.len(), "{name:?} keeps every member");
            for ((kname, koffset, kkind), (cname, coffset, ckind)) in whole.iter().zip(&kept) {
                assert_eq!(
                    (kname, koffset),
                    (cname, coffset),
                    "{name:?}.{kname} where the kernel has it"
                );
                assert_eq!(
                    kkind, ckind,
                    "{name:?}.{kname} of the same kind (a pointer stays one)"
                );
            }
        }
        // SAFETY: both parsed BTFs.
        let (whole, kept) = unsafe {
            (
                libbpf_sys::btf__type_cnt(whole_btf),
                libbpf_sys::btf__type_cnt(cut),
            )
        };
        assert!(
            kept * 20 < whole,
            "the cut has {kept} of the kernel's {whole} types"
        );
        unsafe {
            libbpf_sys::btf__free(cut);
            libbpf_sys::btf__free(whole_btf);
        }
    }

    /// The names of the structs, unions and enums an opened object's BTF has.
    fn names_of(object: &libbpf_rs::OpenObject) -> HashSet<Vec<u8>> {
        let mut names = HashSet::new();
        // SAFETY: an opened object's BTF, alive with it.
        unsafe {
            let local = libbpf_sys::bpf_object__btf(object.as_libbpf_object().as_ptr());
            assert!(!local.is_null(), "the object has BTF");
            root_names(local, &mut names);
        }
        names
    }

    /// The function scopes' objects are relocated against the cut made
    /// for bpfbox.bpf.c and shared.bpf.c (KEPT): every type they name,
    /// bpfbox.bpf.c names too.
    #[test]
    fn the_scope_objects_name_nothing_the_main_object_does_not() {
        let (mut main, mut uprobe, mut kfunc) = (
            MaybeUninit::uninit(),
            MaybeUninit::uninit(),
            MaybeUninit::uninit(),
        );
        let main = skel::bpfbox::BpfboxSkelBuilder::default()
            .open(&mut main)
            .expect("bpfbox.bpf.c opens");
        let uprobe = skel::uprobe::UprobeSkelBuilder::default()
            .open(&mut uprobe)
            .expect("uprobe.bpf.c opens");
        let kfunc = skel::kfunc::KfuncSkelBuilder::default()
            .open(&mut kfunc)
            .expect("kfunc.bpf.c opens");
        let named = names_of(main.open_object());
        assert!(named.contains(b"task_struct".as_slice()));
        for (object, names) in [
            ("uprobe.bpf.c", names_of(uprobe.open_object())),
            ("kfunc.bpf.c", names_of(kfunc.open_object())),
        ] {
            let missing: Vec<_> = names
                .difference(&named)
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .collect();
            assert!(
                missing.is_empty(),
                "{object} names {missing:?}, which bpfbox.bpf.c does not"
            );
        }
    }
}
