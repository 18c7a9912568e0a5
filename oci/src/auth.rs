//! Credentials the way container tools keep them: the `auths` of
//! containers-auth.json(5) files (written by `podman login`, `skopeo
//! login`, `buildah login`) and of Docker's config.json (`docker login`),
//! looked for in the order Podman does. Credential helpers (`credsStore`,
//! `credHelpers`) are not run: an entry must hold its `auth`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use oci_client::secrets::RegistryAuth;
use serde::Deserialize;

use crate::OciError;

#[derive(Deserialize)]
struct AuthFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
}

#[derive(Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
}

/// Where credentials are looked for, first first: $REGISTRY_AUTH_FILE,
/// $XDG_RUNTIME_DIR/containers/auth.json, ~/.config/containers/auth.json,
/// $DOCKER_CONFIG/config.json, ~/.docker/config.json.
pub fn default_files() -> Vec<PathBuf> {
    let env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let home = env("HOME");
    let mut files = Vec::new();
    files.extend(env("REGISTRY_AUTH_FILE"));
    files.extend(env("XDG_RUNTIME_DIR").map(|d| d.join("containers/auth.json")));
    files.extend(
        home.as_ref()
            .map(|h| h.join(".config/containers/auth.json")),
    );
    match env("DOCKER_CONFIG") {
        Some(dir) => files.push(dir.join("config.json")),
        None => files.extend(home.as_ref().map(|h| h.join(".docker/config.json"))),
    }
    files
}

/// The credentials for `registry` (host[:port]) from the first of `files`
/// that has an entry for it; anonymous when none has. A file that exists
/// but cannot be read or parsed is an error, not skipped: a typo there
/// should not turn into an anonymous pull that the registry refuses with a
/// less helpful message.
pub fn credentials(files: &[PathBuf], registry: &str) -> Result<RegistryAuth, OciError> {
    for file in files {
        let text = match std::fs::read(file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(bad_file(file, &e.to_string())),
        };
        let parsed: AuthFile =
            serde_json::from_slice(&text).map_err(|e| bad_file(file, &e.to_string()))?;
        let entry = parsed
            .auths
            .iter()
            .find(|(key, _)| normalise(key) == registry)
            .map(|(_, entry)| entry);
        let Some(entry) = entry else { continue };
        let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) else {
            continue;
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| {
                bad_file(
                    file,
                    &format!("the auth of {registry} is not base64 of USER:PASSWORD"),
                )
            })?;
        let (user, password) = decoded.split_once(':').ok_or_else(|| {
            bad_file(
                file,
                &format!("the auth of {registry} is not USER:PASSWORD"),
            )
        })?;
        return Ok(RegistryAuth::Basic(user.to_string(), password.to_string()));
    }
    Ok(RegistryAuth::Anonymous)
}

fn bad_file(file: &Path, why: &str) -> OciError {
    OciError::registry(
        format!("cannot read credentials from {}: {why}", file.display()),
        "fix or remove that file, or log in again (podman login, docker login)",
    )
}

/// An `auths` key as host[:port]: Docker writes some with a scheme and a
/// path (`https://index.docker.io/v1/`).
fn normalise(key: &str) -> &str {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    key.split('/').next().unwrap_or(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn basic(user: &str, password: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    }

    #[test]
    fn the_first_file_with_an_entry_wins() {
        let dir = tempfile::tempdir().unwrap();
        let first = file(
            dir.path(),
            "a.json",
            r#"{"auths": {"other.example:5000": {"auth": "eDp5"}}}"#,
        );
        let second = file(
            dir.path(),
            "b.json",
            &format!(
                r#"{{"auths": {{"https://127.0.0.1:5000/v1/": {{"auth": "{}"}}}}}}"#,
                basic("ci", "s3:cret")
            ),
        );
        let missing = dir.path().join("none.json");
        match credentials(&[missing, first, second], "127.0.0.1:5000").unwrap() {
            RegistryAuth::Basic(user, password) => {
                assert_eq!((user.as_str(), password.as_str()), ("ci", "s3:cret"))
            }
            other => panic!("expected basic credentials, got {other:?}"),
        }
    }

    #[test]
    fn no_entry_is_anonymous() {
        let dir = tempfile::tempdir().unwrap();
        let only = file(dir.path(), "a.json", r#"{"credsStore": "desktop"}"#);
        assert!(matches!(
            credentials(&[only], "127.0.0.1:5000").unwrap(),
            RegistryAuth::Anonymous
        ));
    }

    #[test]
    fn a_broken_file_is_said() {
        let dir = tempfile::tempdir().unwrap();
        let broken = file(dir.path(), "a.json", "{\"auths\": ");
        let e = credentials(std::slice::from_ref(&broken), "127.0.0.1:5000").unwrap_err();
        assert!(
            e.message.starts_with(&format!(
                "cannot read credentials from {}",
                broken.display()
            )),
            "{}",
            e.message
        );
        let bad = file(
            dir.path(),
            "b.json",
            r#"{"auths": {"127.0.0.1:5000": {"auth": "bm9jb2xvbg=="}}}"#,
        );
        let e = credentials(&[bad], "127.0.0.1:5000").unwrap_err();
        assert!(e.message.ends_with("is not USER:PASSWORD"), "{}", e.message);
    }
}
