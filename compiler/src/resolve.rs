//! `#[func]` names resolved against the profiled binary.

use std::sync::Arc;

use bpfbox_grammar::{did_you_mean, Code, Diagnostic};
use bpfbox_image::ScopeKind;

use crate::elf::{ElfError, ElfInfo};
use crate::model::Policy;

/// Where the compiler gets profiled binaries from. The CLI reads them from
/// disk (honouring `--binary`); the language server caches them.
pub trait BinarySource {
    /// The ELF data of the executable a profile names, or `None` when it is
    /// not known yet (an editor reads binaries off the typing path): its
    /// `#[func]` names are then left unchecked.
    fn binary(&self, exe: &str) -> Option<Result<Arc<ElfInfo>, ElfError>>;

    /// A shared library at `path` (for `#![include c_runtime]`): never a
    /// profile's stand-in from `--binary`.
    fn library(&self, path: &str) -> Option<Result<Arc<ElfInfo>, ElfError>> {
        self.binary(path)
    }
}

/// Reads each profile's executable from its own path.
pub struct DiskBinaries;

impl BinarySource for DiskBinaries {
    fn binary(&self, exe: &str) -> Option<Result<Arc<ElfInfo>, ElfError>> {
        Some(ElfInfo::load(exe.as_ref()).map(Arc::new))
    }
}

/// Resolves every user scope of every profile; returns the binaries read,
/// one per profile with user scopes (for identities).
pub fn resolve(
    policy: &mut Policy,
    binaries: &dyn BinarySource,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Option<Arc<ElfInfo>>> {
    let mut loaded = Vec::with_capacity(policy.profiles.len());
    for profile in &mut policy.profiles {
        if !profile.scopes.iter().any(|s| s.kind == ScopeKind::User) {
            loaded.push(None);
            continue;
        }
        let elf = match binaries.binary(&profile.exe) {
            None => {
                loaded.push(None);
                continue;
            }
            Some(Ok(elf)) => elf,
            Some(Err(error)) => {
                let first_use = profile
                    .scopes
                    .iter()
                    .find(|s| s.kind == ScopeKind::User)
                    .map(|s| s.uses[0]);
                let mut d =
                    Diagnostic::new(Code::UnreadableBinary, profile.exe_span, error.to_string())
                        .with_label("#[func] names are looked up in this binary")
                        .with_help(format!(
                            "compile where {} is installed, or point at a copy: `--binary {}=PATH`",
                            profile.exe, profile.exe
                        ));
                if let Some(span) = first_use {
                    d = d.with_related(span, "needed for this function");
                }
                diagnostics.push(d);
                loaded.push(None);
                continue;
            }
        };
        for scope in profile
            .scopes
            .iter_mut()
            .filter(|s| s.kind == ScopeKind::User)
        {
            let found = elf.lookup(&scope.name);
            match found.as_slice() {
                [] => {
                    for span in &scope.uses {
                        let mut d = Diagnostic::new(
                            Code::UnknownSymbol,
                            *span,
                            format!("no function `{}` in {}", scope.name, elf.path.display()),
                        )
                        .with_label("not found in .symtab or .dynsym");
                        let names = elf.symbols.iter().map(|s| s.display_name());
                        if let Some(best) = did_you_mean(&scope.name, names) {
                            let replacement = if is_identifier(best) {
                                best.to_string()
                            } else {
                                format!("{best:?}")
                            };
                            d = d.with_fix(format!("did you mean `{best}`?"), *span, replacement);
                        } else if elf.symbols.is_empty() {
                            d = d.with_help("the binary has no function symbols: build it without `-s`, or keep .dynsym entries with `-rdynamic`");
                        } else {
                            d = d.with_help(
                                "name a function defined in the binary (see `nm --defined-only`)",
                            );
                        }
                        diagnostics.push(d);
                    }
                }
                [symbol, rest @ ..] => {
                    if !rest.is_empty() {
                        let offsets: Vec<String> =
                            found.iter().map(|s| format!("{:#x}", s.offset)).collect();
                        diagnostics.push(
                            Diagnostic::new(
                                Code::AmbiguousSymbol,
                                scope.uses[0],
                                format!("`{}` names {} functions in {}", scope.name, found.len(), elf.path.display()),
                            )
                            .with_label(format!("the first, at offset {:#x}, is used", symbol.offset))
                            .with_help(format!(
                                "the functions are at {}; quote the raw (mangled) name of the one you mean",
                                offsets.join(", ")
                            )),
                        );
                    }
                    scope.symbol = Some((*symbol).clone());
                }
            }
        }
        loaded.push(Some(elf));
    }
    loaded
}

pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
