//! Why bpfbox-load stopped: one line of cause, one of hint, and an exit
//! status a deploy pipeline can branch on.

use std::fmt;

/// Exit statuses (documented in `bpfbox-load --help`).
pub mod exit {
    /// The image, or a binary it names, is refused.
    pub const REFUSED: u8 = 1;
    /// Usage or I/O error.
    pub const USAGE: u8 = 2;
    /// This kernel cannot enforce bpfbox policies.
    pub const KERNEL: u8 = 3;
    /// Not enough privilege.
    pub const PRIVILEGE: u8 = 4;
    // 5, an OCI registry cannot be reached or refused the credentials, is
    // bpfbox_oci::exit::REGISTRY, shared with bpfbox-push.
}

#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub hint: String,
    pub code: u8,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>, hint: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            hint: hint.into(),
            code,
        }
    }

    pub fn refused(message: impl Into<String>, hint: impl Into<String>) -> Failure {
        Failure::new(exit::REFUSED, message, hint)
    }

    pub fn kernel(message: impl Into<String>, hint: impl Into<String>) -> Failure {
        Failure::new(exit::KERNEL, message, hint)
    }

    pub fn io(message: impl Into<String>, hint: impl Into<String>) -> Failure {
        Failure::new(exit::USAGE, message, hint)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}\n  hint: {}", self.message, self.hint)
    }
}

/// An I/O error's text without the "(os error N)" suffix (the image crate's,
/// shared by every command).
pub use bpfbox_image::elf::io_message;
