//! What a profiled binary is, for `#[func]` offsets: its GNU build-id, or
//! the SHA-256 of the file when it has none. The compiler records it; the
//! loader recomputes it and refuses a binary that changed.

use goblin::elf::Elf;
use sha2::{Digest, Sha256};

use crate::{hex, Identity};

/// The identity of an ELF file's bytes; `Err` when they are not ELF.
pub fn identity_of_elf(bytes: &[u8]) -> Result<Identity, String> {
    let elf = Elf::parse(bytes).map_err(|e| e.to_string())?;
    Ok(build_id(&elf, bytes)
        .map(Identity::BuildId)
        .unwrap_or_else(|| Identity::Sha256(Sha256::digest(bytes).into())))
}

fn build_id(elf: &Elf, bytes: &[u8]) -> Option<Vec<u8>> {
    const NT_GNU_BUILD_ID: u32 = 3;
    let notes = elf.iter_note_sections(bytes, Some(".note.gnu.build-id"))?;
    for note in notes.flatten() {
        if note.n_type == NT_GNU_BUILD_ID
            && note.name == "GNU"
            && !note.desc.is_empty()
            && note.desc.len() <= 32
        {
            return Some(note.desc.to_vec());
        }
    }
    None
}

impl Identity {
    /// `build-id 41f8...` or `sha256 9c1e...`, for messages.
    pub fn describe(&self) -> String {
        match self {
            Identity::BuildId(id) => format!("build-id {}", hex(id)),
            Identity::Sha256(hash) => format!("sha256 {}", hex(hash)),
        }
    }
}
