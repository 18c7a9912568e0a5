//! The running kernel's BTF, read once and indexed where it lies.
//!
//! bpfbox-load asks the kernel's BTF for its LSM hooks (hooks.rs) and for
//! the types its objects name (types.rs), before libbpf reads it again for
//! itself. Parsed by libbpf, the first reading also validated every one of
//! its some 100,000 types (every name offset and type id they hold): 20 of
//! the 34 ms it took at a first load on 6.12 (perf in the VM). Here the
//! bytes are read into an aligned buffer and only the records' places are
//! found; what is read of a record is checked when it is read (a name
//! outside the strings is empty, an id past the types is none), so that
//! nothing in the file can make bpfbox-load read outside it.

use std::ffi::CStr;
use std::io::Read;

use libbpf_rs::libbpf_sys::{self, btf_type};
use zerocopy::IntoBytes;

const PATH: &str = "/sys/kernel/btf/vmlinux";
const MAGIC: u16 = 0xeb9f;
/// The header's length up to the string section's (struct btf_header).
const HEADER: usize = 24;

/// A BTF's type records, by id, and its strings.
pub(super) struct KernelBtf {
    /// The whole file, in words: records are 4-byte aligned.
    words: Vec<u32>,
    len: usize,
    /// Where each type's record starts, in words; [0] is void's (none).
    types: Vec<u32>,
    strings: std::ops::Range<usize>,
}

impl KernelBtf {
    /// The running kernel's; `None` without one, or one this cannot read.
    pub(super) fn read() -> Option<Self> {
        let mut file = std::fs::File::open(PATH).ok()?;
        let size = file.metadata().ok()?.len() as usize;
        // Zeroed by the system, not by a pass over it: a fresh allocation
        // of this size is mapped anew.
        let mut words = vec![0u32; size.div_ceil(4) + 1];
        let mut len = 0;
        loop {
            let bytes = words.as_mut_bytes();
            if len == bytes.len() {
                words.resize(words.len() * 2, 0);
                continue;
            }
            match file.read(&mut bytes[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
        Self::index(words, len)
    }

    /// `words` holding `len` bytes of BTF, indexed; `None` if it is not
    /// BTF of this machine's byte order or a record runs past its section.
    pub(super) fn index(words: Vec<u32>, len: usize) -> Option<Self> {
        let bytes = words.as_bytes().get(..len)?;
        let word = |at: usize| -> Option<u32> {
            Some(u32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
        };
        if u16::from_ne_bytes(bytes.get(..2)?.try_into().ok()?) != MAGIC {
            return None;
        }
        let header = word(4)? as usize;
        let (type_off, type_len) = (word(8)? as usize, word(12)? as usize);
        let (str_off, str_len) = (word(16)? as usize, word(20)? as usize);
        if header < HEADER {
            return None;
        }
        let start = header.checked_add(type_off)?;
        let end = start.checked_add(type_len)?;
        let str_start = header.checked_add(str_off)?;
        let str_end = str_start.checked_add(str_len)?;
        if start % 4 != 0 || end > len || str_end > len {
            return None;
        }
        let mut types = vec![0u32];
        let mut at = start;
        while at < end {
            let info = word(at + 4)?;
            let size = record_size(info)?;
            if at.checked_add(size)? > end {
                return None;
            }
            types.push((at / 4) as u32);
            at += size;
        }
        Some(Self {
            words,
            len,
            types,
            strings: str_start..str_end,
        })
    }

    /// How many types there are, void included: ids run below it.
    pub(super) fn type_count(&self) -> u32 {
        self.types.len() as u32
    }

    /// The type of `id` with the records that follow it (see
    /// types::records), none for void or an id past the types.
    pub(super) fn type_at(&self, id: u32) -> Option<&btf_type> {
        let &word = self.types.get(id as usize).filter(|_| id != 0)?;
        // SAFETY: `index` found a whole record at this word, with its
        // trailing records, inside `words`, which is 4-byte aligned as a
        // btf_type is; btf_type is three u32s, valid for any bits.
        Some(unsafe { &*self.words.as_ptr().add(word as usize).cast::<btf_type>() })
    }

    /// The string at `offset` of the string section; empty outside it or
    /// without its terminating NUL.
    pub(super) fn name_of(&self, offset: u32) -> &CStr {
        let strings = &self.words.as_bytes()[self.strings.clone()];
        strings
            .get(offset as usize..)
            .and_then(|s| CStr::from_bytes_until_nul(s).ok())
            .unwrap_or(c"")
    }

    /// The BTF as it was read.
    pub(super) fn bytes(&self) -> &[u8] {
        &self.words.as_bytes()[..self.len]
    }
}

/// A type's kind and its count of records (members, values, parameters),
/// as its `info` word holds them (include/uapi/linux/btf.h).
fn kind_of(info: u32) -> u32 {
    (info >> 24) & 0x1f
}

fn vlen_of(info: u32) -> usize {
    (info & 0xffff) as usize
}

pub(super) fn kind(t: &btf_type) -> u32 {
    kind_of(t.info)
}

pub(super) fn vlen(t: &btf_type) -> usize {
    vlen_of(t.info)
}

/// The length of a type's record with what follows it, from its `info`;
/// `None` for a kind this does not know.
fn record_size(info: u32) -> Option<usize> {
    let vlen = vlen_of(info);
    let base = size_of::<btf_type>();
    let extra = match kind_of(info) {
        libbpf_sys::BTF_KIND_INT | libbpf_sys::BTF_KIND_VAR | libbpf_sys::BTF_KIND_DECL_TAG => 4,
        libbpf_sys::BTF_KIND_PTR
        | libbpf_sys::BTF_KIND_FWD
        | libbpf_sys::BTF_KIND_TYPEDEF
        | libbpf_sys::BTF_KIND_VOLATILE
        | libbpf_sys::BTF_KIND_CONST
        | libbpf_sys::BTF_KIND_RESTRICT
        | libbpf_sys::BTF_KIND_FUNC
        | libbpf_sys::BTF_KIND_FLOAT
        | libbpf_sys::BTF_KIND_TYPE_TAG => 0,
        libbpf_sys::BTF_KIND_ARRAY => size_of::<libbpf_sys::btf_array>(),
        libbpf_sys::BTF_KIND_STRUCT | libbpf_sys::BTF_KIND_UNION => {
            vlen * size_of::<libbpf_sys::btf_member>()
        }
        libbpf_sys::BTF_KIND_ENUM => vlen * size_of::<libbpf_sys::btf_enum>(),
        libbpf_sys::BTF_KIND_ENUM64 => vlen * size_of::<libbpf_sys::btf_enum64>(),
        libbpf_sys::BTF_KIND_FUNC_PROTO => vlen * size_of::<libbpf_sys::btf_param>(),
        libbpf_sys::BTF_KIND_DATASEC => vlen * size_of::<libbpf_sys::btf_var_secinfo>(),
        _ => return None,
    };
    Some(base + extra)
}

#[cfg(test)]
mod tests {
    use libbpf_rs::AsRawLibbpf;

    use super::*;

    /// The running kernel's BTF, indexed here, has every type libbpf's
    /// parse has, of the same kind, name and size or target.
    #[test]
    fn the_index_agrees_with_libbpf_on_the_running_kernel() {
        let Some(ours) = KernelBtf::read() else {
            assert!(
                !std::path::Path::new(PATH).exists(),
                "the kernel's BTF is there but was not indexed"
            );
            eprintln!("no kernel BTF here: nothing to index");
            return;
        };
        let theirs = libbpf_rs::btf::Btf::from_vmlinux().expect("libbpf parses it");
        let raw = theirs.as_libbpf_object().as_ptr();
        // SAFETY: libbpf's parsed BTF, alive for the test; ids below its count.
        unsafe {
            assert_eq!(ours.type_count(), libbpf_sys::btf__type_cnt(raw));
            for id in 1..ours.type_count() {
                let (a, b) = (
                    ours.type_at(id).unwrap(),
                    &*libbpf_sys::btf__type_by_id(raw, id),
                );
                assert_eq!(a.info, b.info, "type {id}");
                assert_eq!(
                    a.__bindgen_anon_1.size, b.__bindgen_anon_1.size,
                    "type {id}"
                );
                let name = CStr::from_ptr(libbpf_sys::btf__name_by_offset(raw, b.name_off));
                assert_eq!(ours.name_of(a.name_off), name, "type {id}");
            }
        }
        assert!(ours.type_at(0).is_none() && ours.type_at(ours.type_count()).is_none());
        assert_eq!(ours.name_of(u32::MAX), c"");
    }

    fn btf(types: &[u32], strings: &[u8]) -> (Vec<u32>, usize) {
        let mut bytes = Vec::new();
        for w in [
            u32::from(MAGIC) | 1 << 16,
            HEADER as u32,
            0,
            (types.len() * 4) as u32,
            (types.len() * 4) as u32,
            strings.len() as u32,
        ] {
            bytes.extend_from_slice(&w.to_ne_bytes());
        }
        bytes.extend(types.iter().flat_map(|w| w.to_ne_bytes()));
        bytes.extend_from_slice(strings);
        let len = bytes.len();
        bytes.resize(len.div_ceil(4) * 4, 0);
        let words = bytes
            .chunks(4)
            .map(|c| u32::from_ne_bytes(c.try_into().unwrap()))
            .collect();
        (words, len)
    }

    const INT: u32 = libbpf_sys::BTF_KIND_INT << 24;
    const STRUCT: u32 = libbpf_sys::BTF_KIND_STRUCT << 24;

    /// A small BTF: an int and a struct of one member of it.
    #[test]
    fn a_small_btf_is_indexed() {
        let (words, len) = btf(
            &[1, INT, 4, 32, 5, STRUCT | 1, 4, 1, 1, 0],
            b"\0int\0pair\0",
        );
        let b = KernelBtf::index(words, len).expect("well formed");
        assert_eq!(b.type_count(), 3);
        assert_eq!(b.name_of(b.type_at(1).unwrap().name_off), c"int");
        assert_eq!(b.name_of(b.type_at(2).unwrap().name_off), c"pair");
        assert!(b.type_at(3).is_none());
    }

    /// What is not BTF, or runs past its end, is refused, not read.
    #[test]
    fn malformed_btf_is_refused() {
        // A struct claiming two members where one is written.
        let (words, len) = btf(&[1, INT, 4, 32, 5, STRUCT | 2, 4, 1, 1, 0], b"\0int\0");
        assert!(KernelBtf::index(words, len).is_none());
        // A kind no kernel has.
        let (words, len) = btf(&[0, 31 << 24, 0], b"\0");
        assert!(KernelBtf::index(words, len).is_none());
        // Another byte order, and a header cut short.
        let (mut words, len) = btf(&[1, INT, 4, 32], b"\0int\0");
        words[0] = words[0].swap_bytes();
        assert!(KernelBtf::index(words, len).is_none());
        let (words, _) = btf(&[1, INT, 4, 32], b"\0int\0");
        assert!(KernelBtf::index(words, 10).is_none());
        // Sections past the end of what was read.
        let (words, len) = btf(&[1, INT, 4, 32], b"\0int\0");
        assert!(KernelBtf::index(words, len - 3).is_none());
    }
}
