//! The compiled policy image (`.bbx`): one small crate that writes, reads and
//! validates it, shared by the compiler (which writes) and the runtime (which
//! reads). See spec.md, "The image format".

pub mod elf;
pub mod families;
pub mod format;
mod identity;
mod json;
mod model;
mod read;
mod write;

pub use identity::identity_of_elf;
pub use json::to_json;
pub use model::*;
pub use read::read;
pub use write::write;

use std::fmt;

/// Bytes as lowercase hex, as build-ids, SHA-256 sums and OCI digests are
/// written everywhere (messages, JSON, registry references).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(2 * bytes.len());
    for byte in bytes {
        text.push(DIGITS[usize::from(byte >> 4)] as char);
        text.push(DIGITS[usize::from(byte & 15)] as char);
    }
    text
}

/// Why an image was refused. `Display` is the one-line cause; [`ImageError::hint`]
/// says what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageError {
    TooShort { len: usize },
    NotAnImage,
    Version { major: u16, minor: u16 },
    Truncated { expected: u64, actual: u64 },
    Checksum,
    Malformed(String),
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::TooShort { len } => write!(
                f,
                "the file is {len} bytes, too short to be a bpfbox image ({} bytes of header)",
                size_of::<format::Header>()
            ),
            ImageError::NotAnImage => write!(f, "not a bpfbox image (wrong magic bytes)"),
            ImageError::Version { major, minor } => write!(
                f,
                "image format {major}.{minor} is not supported (this build reads {}.x to {}.x)",
                format::OLDEST_MAJOR,
                format::MAJOR
            ),
            ImageError::Truncated { expected, actual } => write!(
                f,
                "the image is truncated or padded: its header says {expected} bytes, the file has {actual}"
            ),
            ImageError::Checksum => write!(f, "checksum mismatch: the image was corrupted or modified after compiling"),
            ImageError::Malformed(what) => write!(f, "malformed image: {what}"),
        }
    }
}

impl std::error::Error for ImageError {}

impl ImageError {
    pub fn hint(&self) -> &'static str {
        match self {
            ImageError::NotAnImage | ImageError::TooShort { .. } => {
                "pass a file written by `bpfboxc POLICY -o IMAGE`, not the policy source"
            }
            ImageError::Version { .. } => {
                "recompile the policy with the bpfboxc that matches this bpfbox-load"
            }
            _ => "recompile the policy with bpfboxc and copy the image again",
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_is_lowercase_two_digits_a_byte() {
        assert_eq!(super::hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(super::hex(&[]), "");
    }
}
