//! Function symbols of a profiled binary, for `#[func]`: found with goblin in
//! .symtab and .dynsym, matched by raw or demangled (Rust, C++) name, and
//! turned into the file offsets that uprobes attach at.

use std::fmt;
use std::path::{Path, PathBuf};

use bpfbox_image::Identity;
use goblin::elf::{program_header::PT_LOAD, section_header::SHN_UNDEF, sym, Elf};

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
    /// Position-independent (ET_DYN).
    pub pie: bool,
    /// Defined functions, one per address, sorted by address.
    pub symbols: Vec<Symbol>,
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

impl ElfInfo {
    pub fn load(path: &Path) -> Result<ElfInfo, ElfError> {
        let bytes = std::fs::read(path).map_err(|e| ElfError::Io {
            path: path.to_path_buf(),
            message: io_message(&e),
        })?;
        ElfInfo::parse(path, &bytes)
    }

    pub fn parse(path: &Path, bytes: &[u8]) -> Result<ElfInfo, ElfError> {
        let not_elf = |message: String| ElfError::NotElf {
            path: path.to_path_buf(),
            message,
        };
        let elf = Elf::parse(bytes).map_err(|e| not_elf(e.to_string()))?;
        let identity = bpfbox_image::identity_of_elf(bytes).map_err(not_elf)?;

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
            pie: elf.header.e_type == goblin::elf::header::ET_DYN,
            symbols,
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
