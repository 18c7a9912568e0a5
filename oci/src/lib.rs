//! Policy images as OCI artifacts. `bpfbox-push IMAGE oci://REGISTRY/REPO`
//! publishes a compiled image (.bbx) to any OCI registry and prints the
//! digest to load; `bpfbox-load oci://REGISTRY/REPO@sha256:DIGEST` pulls it
//! through [`pull`], which checks the manifest's digest, the artifact's type,
//! the layer's size and digest, before the image's own checksum is checked
//! by its reader. The artifact's layout (one manifest, a small JSON config,
//! one layer holding the .bbx) is in [`artifact`] and spec.md's "Policy
//! images in a registry".

pub mod artifact;
pub mod auth;
mod error;
mod reference;
mod registry;

pub use error::{exit, ErrorKind, OciError};
pub use reference::PolicyRef;
pub use registry::{pull, push, Pulled, Pushed};

/// How to reach a registry.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Plain HTTP to a registry that is not on this machine's loopback
    /// (a registry on 127.0.0.0/8 or localhost is always reached over
    /// plain HTTP, as Docker and Podman do).
    pub plain_http: bool,
    /// Pulling by tag is refused unless this is set: a tag can be moved to
    /// other content between the test and the fleet.
    pub allow_tag: bool,
    /// Keep pulled images here by digest, and read them back from here
    /// (checked) instead of asking the registry: what a node needs to load
    /// at boot before the network is up.
    pub cache: Option<std::path::PathBuf>,
}

/// The largest policy image pulled: the size at which the image reader
/// would refuse it anyway (64 MiB of body, plus its header and table).
pub const MAX_IMAGE_BYTES: u64 = bpfbox_image::format::MAX_BODY as u64 + (1 << 20);
