//! The artifact a policy image is published as, so that registries,
//! `oras` and `skopeo` treat it as any other OCI artifact:
//! - an OCI image manifest whose `artifactType` is [`ARTIFACT_TYPE`];
//! - a config blob of [`CONFIG_MEDIA_TYPE`]: [`Config`] as JSON, which says
//!   what the image is without downloading it (format version, the
//!   executables it confines, the kernel features it needs);
//! - one layer of [`LAYER_MEDIA_TYPE`]: the .bbx file, byte for byte,
//!   titled with its file name (what `oras pull` saves it as).

use serde::{Deserialize, Serialize};

use bpfbox_image::{format::Header, Image, ScopeKind};

use crate::OciError;

pub const ARTIFACT_TYPE: &str = "application/vnd.bpfbox.policy.v1";
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.bpfbox.policy.config.v1+json";
pub const LAYER_MEDIA_TYPE: &str = "application/vnd.bpfbox.policy.image.v1";

/// What a pulling node can know before it fetches the image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// The image format, "MAJOR.MINOR" (a loader reads its own major and
    /// older ones back to the oldest it supports).
    pub format: String,
    /// The executables the image holds profiles for, sorted.
    pub profiles: Vec<String>,
    /// Kernel features a node needs to enforce it: always "bpf-lsm" (the
    /// BPF LSM in the active list) and "btf"; "uprobes" for `#[func]`
    /// scopes, "fentry" for `#[kfunc]` ones.
    pub requires: Vec<String>,
}

impl Config {
    /// The config of an encoded image, which must read back (an image the
    /// loader would refuse is not published).
    pub fn of_image(bytes: &[u8]) -> Result<(Config, Image), OciError> {
        let image =
            bpfbox_image::read(bytes).map_err(|e| OciError::refused(e.to_string(), e.hint()))?;
        let (header, _) = <Header as zerocopy::FromBytes>::read_from_prefix(bytes)
            .map_err(|_| OciError::refused("the image has no header", "recompile the policy"))?;
        let mut requires = vec!["bpf-lsm".to_string(), "btf".to_string()];
        let kinds = || {
            image
                .profiles
                .iter()
                .flat_map(|p| p.scopes.iter().map(|s| s.kind))
        };
        if kinds().any(|k| k == ScopeKind::User) {
            requires.push("uprobes".to_string());
        }
        if kinds().any(|k| k == ScopeKind::Kernel) {
            requires.push("fentry".to_string());
        }
        let config = Config {
            format: format!("{}.{}", header.major.get(), header.minor.get()),
            profiles: image.profiles.iter().map(|p| p.exe.clone()).collect(),
            requires,
        };
        Ok((config, image))
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a config serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_image_is_not_described() {
        let e = Config::of_image(b"not an image at all, just some text").unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::Refused);
        assert!(e.message.contains("not a bpfbox image"), "{}", e.message);
    }
}
