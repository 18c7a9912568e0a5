//! `oci://REGISTRY/REPOSITORY@sha256:DIGEST` (or `:TAG`): where a policy
//! image is published. The registry is always written out: a policy is not
//! looked for on Docker Hub by default.

use std::fmt;

use oci_client::Reference;

use crate::OciError;

/// The scheme that marks a registry reference where a file path could be.
pub const SCHEME: &str = "oci://";

#[derive(Clone, Debug)]
pub struct PolicyRef {
    pub(crate) inner: Reference,
}

impl PolicyRef {
    /// True for text meant as a reference rather than a file path.
    pub fn is_reference(text: &str) -> bool {
        text.starts_with(SCHEME)
    }

    pub fn parse(text: &str) -> Result<PolicyRef, OciError> {
        let form = "write oci://REGISTRY/REPOSITORY@sha256:DIGEST, e.g. oci://127.0.0.1:5000/policies/web@sha256:…";
        let rest = text
            .strip_prefix(SCHEME)
            .ok_or_else(|| OciError::usage(format!("{text} is not an oci:// reference"), form))?;
        let registry = rest.split('/').next().unwrap_or("");
        if !rest.contains('/') || !looks_like_registry(registry) {
            return Err(OciError::usage(
                format!("{text} does not name a registry"),
                form,
            ));
        }
        let inner = Reference::try_from(rest)
            .map_err(|e| OciError::usage(format!("{text} is not a valid reference: {e}"), form))?;
        Ok(PolicyRef { inner })
    }

    pub fn registry(&self) -> &str {
        self.inner.registry()
    }

    pub fn digest(&self) -> Option<&str> {
        self.inner.digest()
    }

    /// The tag, when the reference names one (and no digest).
    pub fn tag(&self) -> Option<&str> {
        match self.inner.digest() {
            Some(_) => None,
            None => self.inner.tag(),
        }
    }

    /// The same repository at `digest`.
    pub fn at_digest(&self, digest: &str) -> PolicyRef {
        PolicyRef {
            inner: Reference::with_digest(
                self.inner.registry().to_string(),
                self.inner.repository().to_string(),
                digest.to_string(),
            ),
        }
    }

    /// The registry is on this machine's loopback, 127.0.0.0/8 or localhost
    /// (plain HTTP there).
    pub fn is_loopback(&self) -> bool {
        let host = host_of(self.registry());
        host == "localhost"
            || host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|a| a.is_loopback())
    }
}

impl fmt::Display for PolicyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{SCHEME}{}/{}",
            self.inner.registry(),
            self.inner.repository()
        )?;
        if let Some(digest) = self.inner.digest() {
            write!(f, "@{digest}")
        } else if let Some(tag) = self.inner.tag() {
            write!(f, ":{tag}")
        } else {
            Ok(())
        }
    }
}

/// A first path component that is a host: it has a dot or a port, or is
/// localhost (as Docker tells registry from namespace). IPv6 addresses are
/// not accepted by the reference grammar.
fn looks_like_registry(component: &str) -> bool {
    component.contains('.') || component.contains(':') || component == "localhost"
}

fn host_of(registry: &str) -> &str {
    registry.split(':').next().unwrap_or(registry)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn a_digest_reference_keeps_its_parts() {
        let r = PolicyRef::parse(&format!("oci://127.0.0.1:5000/policies/web@{DIGEST}")).unwrap();
        assert_eq!(r.registry(), "127.0.0.1:5000");
        assert_eq!(r.digest(), Some(DIGEST));
        assert_eq!(r.tag(), None);
        assert!(r.is_loopback());
        assert_eq!(
            r.to_string(),
            format!("oci://127.0.0.1:5000/policies/web@{DIGEST}")
        );
    }

    #[test]
    fn a_tag_reference_is_a_tag() {
        let r = PolicyRef::parse("oci://registry.example.com/policies/web:v3").unwrap();
        assert_eq!(r.tag(), Some("v3"));
        assert!(!r.is_loopback());
        assert_eq!(
            r.at_digest(DIGEST).to_string(),
            format!("oci://registry.example.com/policies/web@{DIGEST}")
        );
    }

    #[test]
    fn the_registry_must_be_named() {
        for text in [
            "oci://policies/web:v1",
            "oci://web",
            "oci://",
            "/srv/web.bbx",
            "oci://Bad Host/x",
        ] {
            let e = PolicyRef::parse(text).unwrap_err();
            assert_eq!(e.kind, crate::ErrorKind::Usage, "{text}");
        }
    }

    #[test]
    fn loopback_hosts() {
        for (text, loopback) in [
            ("oci://localhost:5000/p", true),
            ("oci://127.0.0.2:5000/p", true),
            ("oci://10.0.0.1:5000/p", false),
            ("oci://localhost.example.com/p", false),
        ] {
            assert_eq!(
                PolicyRef::parse(text).unwrap().is_loopback(),
                loopback,
                "{text}"
            );
        }
    }
}
