//! Pushing and pulling policy images: the one place that talks to a
//! registry (through oci-client), on a single-threaded runtime made for the
//! call, so that the commands stay synchronous.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::StreamExt;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{DigestError, OciDistributionError, OciErrorCode};
use oci_client::manifest::{OciDescriptor, OciImageManifest, OCI_IMAGE_MEDIA_TYPE};
use oci_client::Client;
use sha2::{Digest, Sha256};

use crate::artifact::{Config, ARTIFACT_TYPE, CONFIG_MEDIA_TYPE, LAYER_MEDIA_TYPE};
use crate::{auth, OciError, Options, PolicyRef, MAX_IMAGE_BYTES};

/// The largest config blob read: a config names executables, no more.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// A published image.
#[derive(Debug)]
pub struct Pushed {
    /// The repository at the manifest's digest: what nodes load.
    pub reference: PolicyRef,
    pub config: Config,
}

/// A pulled image, its digests checked (not yet read as an image).
#[derive(Debug)]
pub struct Pulled {
    /// The repository at the manifest's digest (a tag resolved).
    pub reference: PolicyRef,
    pub config: Config,
    pub bytes: Vec<u8>,
    /// Read from the cache, not the registry.
    pub cached: bool,
}

pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", bpfbox_image::hex(&Sha256::digest(bytes)))
}

fn client(reference: &PolicyRef, options: &Options) -> Result<Client, OciError> {
    let protocol = if options.plain_http || reference.is_loopback() {
        ClientProtocol::Http
    } else {
        ClientProtocol::Https
    };
    // Not Client::new, which panics when the client cannot be made (as it
    // cannot without a CA certificate store, even for plain HTTP).
    Client::try_from(ClientConfig {
        protocol,
        connect_timeout: Some(Duration::from_secs(10)),
        read_timeout: Some(Duration::from_secs(60)),
        ..Default::default()
    })
    .map_err(|e| {
        let cause = root_cause(&e);
        OciError::registry(
            format!("cannot set up a client for the registry {}: {cause}", reference.registry()),
            "install the CA certificates (Debian: the ca-certificates package; in a container: /etc/ssl/certs/ca-certificates.crt)",
        )
    })
}

/// The innermost error of a chain (what the OS or TLS said), without the
/// "(os error N)" suffix.
fn root_cause(error: &dyn std::error::Error) -> String {
    let mut cause = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        cause = inner.to_string();
        source = inner.source();
    }
    if let Some(cut) = cause.find(" (os error") {
        cause.truncate(cut);
    }
    cause
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> Result<T, OciError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            OciError::registry(
                format!("cannot start the network runtime: {e}"),
                "this is a bug; please report it",
            )
        })?;
    Ok(runtime.block_on(future))
}

/// Publishes the encoded image `bytes` (named `file_name` in the layer's
/// title) at `reference`, a repository or a tag; returns the digest
/// reference. The image must read back; a digest in `reference` is refused
/// (it is computed, not chosen).
pub fn push(
    bytes: &[u8],
    file_name: &str,
    reference: &PolicyRef,
    options: &Options,
    auth_files: &[PathBuf],
) -> Result<Pushed, OciError> {
    if reference.digest().is_some() {
        return Err(OciError::usage(
            format!("{reference} names a digest: a digest is what a push computes"),
            "push to oci://REGISTRY/REPOSITORY or oci://REGISTRY/REPOSITORY:TAG",
        ));
    }
    let (config, _) = Config::of_image(bytes)?;
    let config_json = config.to_json();
    let layer = OciDescriptor {
        media_type: LAYER_MEDIA_TYPE.to_string(),
        digest: sha256_digest(bytes),
        size: bytes.len() as i64,
        annotations: Some(BTreeMap::from([(
            "org.opencontainers.image.title".to_string(),
            file_name.to_string(),
        )])),
        ..Default::default()
    };
    let manifest = OciImageManifest {
        schema_version: 2,
        media_type: Some(OCI_IMAGE_MEDIA_TYPE.to_string()),
        config: OciDescriptor {
            media_type: CONFIG_MEDIA_TYPE.to_string(),
            digest: sha256_digest(&config_json),
            size: config_json.len() as i64,
            ..Default::default()
        },
        layers: vec![layer.clone()],
        subject: None,
        artifact_type: Some(ARTIFACT_TYPE.to_string()),
        annotations: None,
    };
    // The manifest is pushed as these bytes, so the digest printed is the
    // digest stored.
    let manifest_json = serde_json::to_vec(&manifest).expect("a manifest serialises");
    let at_digest = reference.at_digest(&sha256_digest(&manifest_json));
    let credentials = auth::credentials(auth_files, reference.registry())?;
    let client = client(reference, options)?;
    let registry_error = |e| registry_failure(e, reference, options);
    block_on(async {
        client
            .store_auth_if_needed(reference.inner.resolve_registry(), &credentials)
            .await;
        client
            .push_blob(&reference.inner, bytes.to_vec(), &layer.digest)
            .await
            .map_err(registry_error)?;
        client
            .push_blob(
                &reference.inner,
                config_json.clone(),
                &manifest.config.digest,
            )
            .await
            .map_err(registry_error)?;
        let content_type = http::HeaderValue::from_static(OCI_IMAGE_MEDIA_TYPE);
        client
            .push_manifest_raw(
                &at_digest.inner,
                manifest_json.clone(),
                content_type.clone(),
            )
            .await
            .map_err(registry_error)?;
        if reference.tag().is_some() {
            client
                .push_manifest_raw(&reference.inner, manifest_json, content_type)
                .await
                .map_err(registry_error)?;
        }
        Ok(())
    })??;
    Ok(Pushed {
        reference: at_digest,
        config,
    })
}

/// Fetches the policy image at `reference` (by digest; by tag only with
/// `options.allow_tag`), checking on the way: the manifest's digest, that
/// it is a bpfbox policy artifact with one image layer, the layer's size
/// (at most [`MAX_IMAGE_BYTES`], and what the manifest says) and digest.
/// With `options.cache`, a digest already pulled is read from there
/// (checked the same way) without asking the registry, and what is pulled
/// is kept there.
pub fn pull(
    reference: &PolicyRef,
    options: &Options,
    auth_files: &[PathBuf],
) -> Result<Pulled, OciError> {
    if reference.digest().is_none() && !options.allow_tag {
        return Err(OciError::usage(
            format!("{reference} names a tag, which can be moved to other content"),
            "load by digest (bpfbox-push prints it: oci://REGISTRY/REPOSITORY@sha256:…), or pass --allow-tag",
        ));
    }
    let cache = options.cache.as_deref().map(Cache::new);
    if let (Some(cache), Some(digest)) = (&cache, reference.digest()) {
        if let Some(pulled) = cache.get(reference, digest) {
            return Ok(pulled);
        }
    }
    let credentials = auth::credentials(auth_files, reference.registry())?;
    let client = client(reference, options)?;
    let registry_error = |e| registry_failure(e, reference, options);
    let (manifest_bytes, config_bytes, bytes, digest) = block_on(async {
        let (body, digest) = client
            .pull_manifest_raw(&reference.inner, &credentials, &[OCI_IMAGE_MEDIA_TYPE])
            .await
            .map_err(registry_error)?;
        let manifest = check_manifest(reference, &body)?;
        let config_bytes = fetch(
            &client,
            reference,
            options,
            &manifest.config,
            MAX_CONFIG_BYTES,
            "its config",
        )
        .await?;
        let bytes = fetch(
            &client,
            reference,
            options,
            &manifest.layers[0],
            MAX_IMAGE_BYTES,
            "its image",
        )
        .await?;
        Ok::<_, OciError>((body, config_bytes, bytes, digest))
    })??;
    let digest = reference.digest().unwrap_or(&digest).to_string();
    let pulled = Pulled {
        reference: reference.at_digest(&digest),
        config: check_config(reference, &config_bytes)?,
        bytes,
        cached: false,
    };
    if let Some(cache) = &cache {
        if let Err(e) = cache.put(&digest, &manifest_bytes, &config_bytes, &pulled.bytes) {
            eprintln!(
                "warning: cannot keep {} in {}: {e}",
                pulled.reference,
                cache.dir.display()
            );
        }
    }
    Ok(pulled)
}

/// The manifest `body` of `reference`: its digest the reference's (when it
/// names one), a bpfbox policy artifact with one image layer.
fn check_manifest(reference: &PolicyRef, body: &[u8]) -> Result<OciImageManifest, OciError> {
    let actual = sha256_digest(body);
    if let Some(expected) = reference.digest() {
        if actual != expected {
            return Err(mismatch(
                &format!("the manifest of {reference}"),
                expected,
                &actual,
            ));
        }
    }
    let manifest: OciImageManifest = serde_json::from_slice(body).map_err(|e| {
        OciError::refused(
            format!("{reference} is not an OCI image manifest: {e}"),
            not_ours_hint(),
        )
    })?;
    if manifest.config.media_type != CONFIG_MEDIA_TYPE {
        return Err(OciError::refused(
            format!(
                "{reference} is not a bpfbox policy image: its config is {}, not {CONFIG_MEDIA_TYPE}",
                manifest.config.media_type
            ),
            not_ours_hint(),
        ));
    }
    match manifest.layers.as_slice() {
        [layer] if layer.media_type == LAYER_MEDIA_TYPE => Ok(manifest),
        _ => Err(OciError::refused(
            format!("{reference} is not a bpfbox policy image: it must have one layer of {LAYER_MEDIA_TYPE}"),
            not_ours_hint(),
        )),
    }
}

fn check_config(reference: &PolicyRef, bytes: &[u8]) -> Result<Config, OciError> {
    serde_json::from_slice(bytes).map_err(|e| {
        OciError::refused(
            format!("the config of {reference} is not a bpfbox policy config: {e}"),
            not_ours_hint(),
        )
    })
}

/// Pulled images kept by digest, so that a node loads what it enforces at
/// boot without the network: DIR/sha256/HEX/ holds the manifest, the config
/// and the image. What is read back is checked as a pull is (the manifest
/// against the digest asked for, the blobs against the manifest); anything
/// that does not check out is pulled again.
struct Cache {
    dir: PathBuf,
}

impl Cache {
    fn new(dir: &Path) -> Cache {
        Cache {
            dir: dir.to_path_buf(),
        }
    }

    fn entry(&self, digest: &str) -> Option<PathBuf> {
        let hex = digest.strip_prefix("sha256:")?;
        (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| self.dir.join("sha256").join(hex))
    }

    fn get(&self, reference: &PolicyRef, digest: &str) -> Option<Pulled> {
        let entry = self.entry(digest)?;
        let manifest_bytes = std::fs::read(entry.join("manifest.json")).ok()?;
        let manifest = check_manifest(reference, &manifest_bytes).ok()?;
        let read_checked = |name: &str, descriptor: &OciDescriptor| {
            let bytes = std::fs::read(entry.join(name)).ok()?;
            (sha256_digest(&bytes) == descriptor.digest && bytes.len() as i64 == descriptor.size)
                .then_some(bytes)
        };
        let config_bytes = read_checked("config.json", &manifest.config)?;
        let bytes = read_checked("image.bbx", &manifest.layers[0])?;
        Some(Pulled {
            reference: reference.at_digest(digest),
            config: check_config(reference, &config_bytes).ok()?,
            bytes,
            cached: true,
        })
    }

    /// Written into a new directory, renamed into place: a reader sees a
    /// whole entry or none.
    fn put(
        &self,
        digest: &str,
        manifest: &[u8],
        config: &[u8],
        image: &[u8],
    ) -> std::io::Result<()> {
        let Some(entry) = self.entry(digest) else {
            return Ok(());
        };
        let parent = entry.parent().expect("an entry has a parent");
        std::fs::create_dir_all(parent)?;
        let staging = parent.join(format!(".new-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir(&staging)?;
        std::fs::write(staging.join("manifest.json"), manifest)?;
        std::fs::write(staging.join("config.json"), config)?;
        std::fs::write(staging.join("image.bbx"), image)?;
        let _ = std::fs::remove_dir_all(&entry);
        std::fs::rename(&staging, &entry)
    }
}

/// A blob of the manifest, at most `limit` bytes and as many as the
/// descriptor says, whose digest is the descriptor's.
async fn fetch(
    client: &Client,
    reference: &PolicyRef,
    options: &Options,
    descriptor: &OciDescriptor,
    limit: u64,
    what: &str,
) -> Result<Vec<u8>, OciError> {
    let size = u64::try_from(descriptor.size).unwrap_or(u64::MAX);
    if size > limit {
        return Err(OciError::refused(
            format!(
                "{what} in {reference} is {} bytes, over the limit of {limit}",
                descriptor.size
            ),
            "check that the reference is the policy meant: a bpfbox image is at most 65 MiB, its config 1 MiB",
        ));
    }
    let mut stream = client
        .pull_blob_stream(&reference.inner, descriptor)
        .await
        .map_err(|e| registry_failure(e, reference, options))?;
    let mut bytes = Vec::with_capacity(size as usize);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            // The client checks the digest as the stream ends, too.
            match e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<DigestError>())
            {
                Some(DigestError::VerificationError { expected, actual }) => {
                    mismatch(&format!("{what} in {reference}"), expected, actual)
                }
                _ => OciError::registry(
                    format!("reading {what} from {} failed: {e}", reference.registry()),
                    "check the registry's logs, then try again",
                ),
            }
        })?;
        if (bytes.len() + chunk.len()) as u64 > size {
            return Err(OciError::refused(
                format!("{what} in {reference} is longer than the {size} bytes its manifest says"),
                "the registry serves other content than was pushed; push the image again",
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    let actual = sha256_digest(&bytes);
    if actual != descriptor.digest {
        return Err(mismatch(
            &format!("{what} in {reference}"),
            &descriptor.digest,
            &actual,
        ));
    }
    Ok(bytes)
}

fn mismatch(what: &str, expected: &str, actual: &str) -> OciError {
    OciError::refused(
        format!("{what} has digest {actual}, not {expected}"),
        "the registry serves other content than was pushed: nothing was loaded; push the image again and load the digest it prints",
    )
}

fn not_ours_hint() -> &'static str {
    "check the reference: bpfbox-push prints the digest of the image it published"
}

/// A registry's failure as one line and a hint.
fn registry_failure(
    error: OciDistributionError,
    reference: &PolicyRef,
    options: &Options,
) -> OciError {
    let registry = reference.registry();
    let login = format!(
        "log in with `podman login {registry}` or `docker login {registry}` (or set REGISTRY_AUTH_FILE to an auth.json)"
    );
    match error {
        OciDistributionError::RequestError(e) => {
            let cause = root_cause(&e);
            let tls = if options.plain_http || reference.is_loopback() {
                ""
            } else {
                " (it is reached over HTTPS: --plain-http for a registry without TLS)"
            };
            OciError::registry(
                format!("cannot reach the registry {registry}: {cause}"),
                format!("check that the registry is up and that {registry} is its address{tls}"),
            )
        }
        OciDistributionError::UnauthorizedError { .. }
        | OciDistributionError::AuthenticationFailure(_) => OciError::registry(
            format!("the registry {registry} refused the credentials, or wants some"),
            login,
        ),
        OciDistributionError::DigestError(DigestError::VerificationError { expected, actual }) => {
            mismatch(&format!("the manifest of {reference}"), &expected, &actual)
        }
        OciDistributionError::DigestError(e) => OciError::refused(
            format!("{reference}: {e}"),
            "the registry serves other content than was pushed: nothing was loaded",
        ),
        OciDistributionError::ImageManifestNotFoundError(_) => not_found(reference),
        OciDistributionError::RegistryError { envelope, .. } => {
            let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
            if codes.iter().any(|c| {
                matches!(
                    c,
                    OciErrorCode::ManifestUnknown
                        | OciErrorCode::NameUnknown
                        | OciErrorCode::NotFound
                )
            }) {
                return not_found(reference);
            }
            if codes
                .iter()
                .any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied))
            {
                return OciError::registry(
                    format!("the registry {registry} refused access to {reference}"),
                    login,
                );
            }
            let messages: Vec<String> = envelope.errors.iter().map(|e| e.message.clone()).collect();
            OciError::registry(
                format!("the registry {registry} refused: {}", messages.join("; ")),
                "check the reference and the registry's logs",
            )
        }
        OciDistributionError::ServerError { code: 404, .. } => not_found(reference),
        OciDistributionError::ServerError {
            code: 401 | 403, ..
        } => OciError::registry(
            format!("the registry {registry} refused the credentials, or wants some"),
            login,
        ),
        OciDistributionError::ServerError { code, message, .. } => OciError::registry(
            format!(
                "the registry {registry} failed with HTTP {code}: {}",
                message.trim()
            ),
            "check the registry's logs, then try again",
        ),
        other => OciError::registry(
            format!("the registry {registry} gave an unexpected answer: {other}"),
            "check the reference and the registry's logs",
        ),
    }
}

fn not_found(reference: &PolicyRef) -> OciError {
    OciError::refused(
        format!("{reference} is not in the registry"),
        "check the digest: bpfbox-push prints the reference of what it published",
    )
}
