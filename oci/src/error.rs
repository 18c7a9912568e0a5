//! Why a push or a pull stopped: one line of cause, one of hint, and a kind
//! the command line turns into its exit status.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The reference or the command line is wrong (a tag without
    /// --allow-tag, no registry named).
    Usage,
    /// The registry answered with something that is not the bpfbox image
    /// asked for: another artifact type, a digest that does not match, an
    /// oversized layer, a corrupt image; or no such manifest.
    Refused,
    /// The registry could not be reached, refused the credentials, or
    /// failed.
    Registry,
}

/// The exit statuses bpfbox-push and bpfbox-load share for these errors.
pub mod exit {
    /// The content is refused, or not in the registry.
    pub const REFUSED: u8 = 1;
    /// Usage or I/O error.
    pub const USAGE: u8 = 2;
    /// The registry cannot be reached, refused the credentials, or failed.
    pub const REGISTRY: u8 = 5;
}

impl ErrorKind {
    pub fn exit_status(self) -> u8 {
        match self {
            ErrorKind::Usage => exit::USAGE,
            ErrorKind::Refused => exit::REFUSED,
            ErrorKind::Registry => exit::REGISTRY,
        }
    }
}

#[derive(Clone, Debug)]
pub struct OciError {
    pub kind: ErrorKind,
    pub message: String,
    pub hint: String,
}

impl OciError {
    pub fn new(kind: ErrorKind, message: impl Into<String>, hint: impl Into<String>) -> OciError {
        OciError {
            kind,
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> OciError {
        OciError::new(ErrorKind::Usage, message, hint)
    }

    pub fn refused(message: impl Into<String>, hint: impl Into<String>) -> OciError {
        OciError::new(ErrorKind::Refused, message, hint)
    }

    pub fn registry(message: impl Into<String>, hint: impl Into<String>) -> OciError {
        OciError::new(ErrorKind::Registry, message, hint)
    }
}

impl fmt::Display for OciError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for OciError {}
