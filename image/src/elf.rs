//! Function symbols of a profiled binary: found with goblin in .symtab and
//! .dynsym, matched by raw or demangled (Rust, C++) name and turned into the
//! file offsets that uprobes attach at, for `#[func]` (the compiler); and
//! the functions an event's stack words point into (the loader's
//! `--follow`). Here, beside the binary's identity, because both use it.

use std::fmt;
use std::path::{Path, PathBuf};

use goblin::elf::program_header::{PF_X, PT_LOAD};
use goblin::elf::{header, section_header::SHN_UNDEF, sym, Elf};

use crate::Identity;

/// A function in a binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    /// As stored in the symbol table (possibly mangled).
    pub raw: String,
    /// Demangled, when it was mangled: without the hash for Rust, with the
    /// parameter list for C++.
    pub demangled: Option<String>,
    /// Virtual address (st_value).
    pub address: u64,
    /// Where the function's first instruction is in the file.
    pub offset: u64,
    pub size: u64,
}

impl Symbol {
    /// The names a policy may use for this function.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        let without_params = self
            .demangled
            .as_deref()
            .and_then(|d| d.split_once('(').map(|(name, _)| name));
        std::iter::once(self.raw.as_str())
            .chain(self.demangled.as_deref())
            .chain(without_params)
    }

    /// The friendliest name to show.
    pub fn display_name(&self) -> &str {
        self.demangled
            .as_deref()
            .map(|d| d.split_once('(').map_or(d, |(name, _)| name))
            .unwrap_or(&self.raw)
    }
}

/// What bpfbox needs from a profiled binary.
#[derive(Clone, Debug)]
pub struct ElfInfo {
    pub path: PathBuf,
    pub identity: Identity,
    /// Defined functions, one per address, sorted by address.
    pub symbols: Vec<Symbol>,
    /// PT_INTERP: the dynamic loader the kernel starts it with.
    pub interpreter: Option<String>,
    /// DT_NEEDED: the libraries it links, by name (`libc.so.6`).
    pub needed: Vec<String>,
    /// DT_RUNPATH (else DT_RPATH): where the loader looks first.
    pub runpath: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ElfError {
    Io { path: PathBuf, message: String },
    NotElf { path: PathBuf, message: String },
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElfError::Io { path, message } => {
                write!(f, "cannot read {}: {message}", path.display())
            }
            ElfError::NotElf { path, message } => {
                write!(f, "{} is not an ELF binary: {message}", path.display())
            }
        }
    }
}

impl std::error::Error for ElfError {}

/// A binary's bytes, or why they cannot be read.
fn read_binary(path: &Path) -> Result<Vec<u8>, ElfError> {
    std::fs::read(path).map_err(|e| ElfError::Io {
        path: path.to_path_buf(),
        message: io_message(&e),
    })
}

impl ElfInfo {
    pub fn load(path: &Path) -> Result<ElfInfo, ElfError> {
        ElfInfo::parse(path, &read_binary(path)?)
    }

    pub fn parse(path: &Path, bytes: &[u8]) -> Result<ElfInfo, ElfError> {
        let not_elf = |message: String| ElfError::NotElf {
            path: path.to_path_buf(),
            message,
        };
        let elf = Elf::parse(bytes).map_err(|e| not_elf(e.to_string()))?;
        let identity = crate::identity_of_elf(bytes).map_err(not_elf)?;

        let mut symbols: Vec<Symbol> = Vec::new();
        let tables = [(&elf.syms, &elf.strtab), (&elf.dynsyms, &elf.dynstrtab)];
        for (table, names) in tables {
            for symbol in table.iter() {
                let is_function = matches!(symbol.st_type(), sym::STT_FUNC | sym::STT_GNU_IFUNC);
                if !is_function || symbol.st_shndx == SHN_UNDEF as usize || symbol.st_value == 0 {
                    continue;
                }
                let Some(raw) = names.get_at(symbol.st_name).filter(|n| !n.is_empty()) else {
                    continue;
                };
                let Some(offset) = file_offset(&elf, symbol.st_shndx, symbol.st_value) else {
                    continue;
                };
                symbols.push(Symbol {
                    raw: raw.to_string(),
                    demangled: demangle(raw),
                    address: symbol.st_value,
                    offset,
                    size: symbol.st_size,
                });
            }
        }
        // .symtab and .dynsym often list the same function: keep one per
        // address and name.
        symbols.sort_by(|a, b| (a.address, &a.raw).cmp(&(b.address, &b.raw)));
        symbols.dedup_by(|a, b| a.address == b.address && a.raw == b.raw);
        Ok(ElfInfo {
            path: path.to_path_buf(),
            identity,
            symbols,
            interpreter: elf.interpreter.map(str::to_string),
            needed: elf.libraries.iter().map(|l| l.to_string()).collect(),
            runpath: if elf.runpaths.is_empty() {
                &elf.rpaths
            } else {
                &elf.runpaths
            }
            .iter()
            .flat_map(|p| p.split(':'))
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect(),
        })
    }

    /// Functions a policy name refers to.
    pub fn lookup(&self, name: &str) -> Vec<&Symbol> {
        let mut found: Vec<&Symbol> = self
            .symbols
            .iter()
            .filter(|s| s.names().any(|n| n == name))
            .collect();
        // Aliases (several names at one address) are one function.
        found.dedup_by_key(|s| s.address);
        found
    }
}

/// An executable's code, for naming where a process was in it: the words
/// of an event's `frames` that are return addresses (they follow a call
/// instruction) and lie inside a function with a symbol.
#[derive(Clone, Debug)]
pub struct CodeMap {
    pub info: ElfInfo,
    machine: u16,
    /// The lowest address of an executable segment: what the kernel's
    /// mm->start_code is, before the load bias.
    code_start: u64,
    /// Executable segments: their address and bytes in the file.
    segments: Vec<(u64, Vec<u8>)>,
}

impl CodeMap {
    pub fn load(path: &Path) -> Result<CodeMap, ElfError> {
        CodeMap::parse(path, &read_binary(path)?)
    }

    pub fn parse(path: &Path, bytes: &[u8]) -> Result<CodeMap, ElfError> {
        let info = ElfInfo::parse(path, bytes)?;
        // ElfInfo::parse has accepted the bytes.
        let elf = Elf::parse(bytes).map_err(|e| ElfError::NotElf {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let executable = elf
            .program_headers
            .iter()
            .filter(|p| p.p_type == PT_LOAD && p.p_flags & PF_X != 0);
        let segments: Vec<(u64, Vec<u8>)> = executable
            .filter_map(|p| {
                let start = usize::try_from(p.p_offset).ok()?;
                let end = start.checked_add(usize::try_from(p.p_filesz).ok()?)?;
                Some((p.p_vaddr, bytes.get(start..end)?.to_vec()))
            })
            .collect();
        Ok(CodeMap {
            info,
            machine: elf.header.e_machine,
            code_start: segments.iter().map(|(a, _)| *a).min().unwrap_or(0),
            segments,
        })
    }

    /// The functions of the return addresses among `frames` (addresses in
    /// a process whose executable's code starts at `start_code`),
    /// innermost first, a recursion named once.
    pub fn functions(&self, start_code: u64, frames: &[u64]) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for &frame in frames.iter().filter(|f| **f >= start_code && **f != 0) {
            let Some(address) = (frame - start_code).checked_add(self.code_start) else {
                continue;
            };
            if !self.follows_call(address) {
                continue;
            }
            // The return address is one past the call: the caller is the
            // function holding the call instruction.
            let Some(symbol) = self.function_at(address - 1) else {
                continue;
            };
            let name = symbol.display_name();
            if names.last().map(String::as_str) != Some(name) {
                names.push(name.to_string());
            }
        }
        names
    }

    fn function_at(&self, address: u64) -> Option<&Symbol> {
        let symbols = &self.info.symbols;
        let after = symbols.partition_point(|s| s.address <= address);
        // The nearest symbols at or below: aliases share an address, and a
        // size-0 label may sit inside a function.
        symbols[..after]
            .iter()
            .rev()
            .take(16)
            .find(|s| s.size > 0 && address < s.address.saturating_add(s.size))
    }

    /// The bytes before `address`, up to `n`.
    fn before(&self, address: u64, n: u64) -> Option<&[u8]> {
        let (start, bytes) = self.segments.iter().find(|(start, bytes)| {
            *start < address && address <= start.saturating_add(bytes.len() as u64)
        })?;
        let end = (address - start) as usize;
        Some(&bytes[end.saturating_sub(n as usize)..end])
    }

    /// Whether the instruction just before `address` is a call.
    fn follows_call(&self, address: u64) -> bool {
        let Some(code) = self.before(address, 8) else {
            return false;
        };
        match self.machine {
            header::EM_X86_64 | header::EM_386 => x86_call_ends_here(code),
            header::EM_AARCH64 => {
                code.len() >= 4 && {
                    let word = u32::from_le_bytes(code[code.len() - 4..].try_into().unwrap());
                    // BL imm26, BLR Xn
                    word & 0xfc00_0000 == 0x9400_0000 || word & 0xffff_fc1f == 0xd63f_0000
                }
            }
            _ => false,
        }
    }
}

/// Whether `code` ends with an x86 call: `call rel32` (E8) or `call r/m`
/// (FF /2, with a REX prefix or not), its length decoded from the ModRM.
fn x86_call_ends_here(code: &[u8]) -> bool {
    let n = code.len();
    if n >= 5 && code[n - 5] == 0xe8 {
        return true;
    }
    (2..=n.min(8)).any(|k| {
        let at = n - k;
        let (opcode, rest) = (code[at], &code[at + 1..]);
        opcode == 0xff
            && !rest.is_empty()
            && (rest[0] >> 3) & 7 == 2
            && modrm_len(rest) == Some(rest.len())
    })
}

/// Bytes of a ModRM operand (ModRM, SIB, displacement) starting at `b[0]`.
fn modrm_len(b: &[u8]) -> Option<usize> {
    let (mode, rm) = (b[0] >> 6, b[0] & 7);
    if mode == 3 {
        return Some(1);
    }
    let mut len = 1;
    if rm == 4 {
        let sib = *b.get(1)?;
        len += 1;
        if mode == 0 && sib & 7 == 5 {
            len += 4;
        }
    } else if mode == 0 && rm == 5 {
        len += 4; // rip-relative
    }
    len += match mode {
        1 => 1,
        2 => 4,
        _ => 0,
    };
    Some(len)
}

/// Where virtual address `address` of section `shndx` is in the file:
/// st_value - sh_addr + sh_offset, the same for PIE and non-PIE binaries.
/// Falls back to the PT_LOAD segments when section headers are gone.
fn file_offset(elf: &Elf, shndx: usize, address: u64) -> Option<u64> {
    if let Some(section) = elf.section_headers.get(shndx).filter(|s| s.sh_addr != 0) {
        let delta = address.checked_sub(section.sh_addr)?;
        if delta <= section.sh_size {
            return section.sh_offset.checked_add(delta);
        }
    }
    elf.program_headers
        .iter()
        .filter(|p| p.p_type == PT_LOAD)
        .find(|p| p.p_vaddr <= address && address < p.p_vaddr + p.p_memsz)
        .and_then(|p| p.p_offset.checked_add(address - p.p_vaddr))
}

fn demangle(raw: &str) -> Option<String> {
    if let Ok(rust) = rustc_demangle::try_demangle(raw) {
        // `{:#}` drops the trailing hash: `app::auth::check_password`.
        return Some(format!("{rust:#}"));
    }
    if raw.starts_with("_Z") {
        if let Ok(symbol) = cpp_demangle::Symbol::new(raw) {
            if let Ok(text) = symbol.demangle() {
                return Some(text);
            }
        }
    }
    None
}

/// An I/O error without the "(os error N)" suffix.
pub fn io_message(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}
