//! The server's settings, from the client's `initializationOptions` and
//! `workspace/didChangeConfiguration`: where the paths a policy names are
//! checked, the choice bpfboxc makes with `--root DIR` and `--no-path-check`.
//!
//! ```json
//! { "paths": { "check": true, "root": "/srv/images/web" } }
//! ```
//!
//! VS Code sends them as `{"bpfbox": {...}}` (its configuration section);
//! both shapes are read.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Where paths are checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathSettings {
    /// Warn about paths that do not exist (`--no-path-check` is `false`).
    pub check: bool,
    /// The target's root directory: paths are checked, and profiled
    /// binaries read, under it (`--root`). `/` is this machine.
    pub root: PathBuf,
}

impl Default for PathSettings {
    fn default() -> Self {
        PathSettings {
            check: true,
            root: PathBuf::from("/"),
        }
    }
}

impl PathSettings {
    /// The settings in `value`, missing ones at their defaults. A root that
    /// is not an absolute directory is refused with what to set instead.
    pub fn from_json(value: &Value) -> Result<PathSettings, String> {
        let value = value.get("bpfbox").unwrap_or(value);
        let paths = value.get("paths");
        let mut settings = PathSettings::default();
        if let Some(check) = paths.and_then(|p| p.get("check")) {
            settings.check = check
                .as_bool()
                .ok_or_else(|| format!("bpfbox: paths.check is {check}, not true or false"))?;
        }
        if let Some(root) = paths.and_then(|p| p.get("root")) {
            let root = root
                .as_str()
                .ok_or_else(|| format!("bpfbox: paths.root is {root}, not a directory's path"))?;
            if !root.is_empty() {
                settings.root = PathBuf::from(root);
            }
        }
        if !settings.root.is_absolute() || !settings.root.is_dir() {
            return Err(format!(
                "bpfbox: paths.root {} is not a directory; set it to the absolute path of the target's root (an extracted image or a chroot), or to / for this machine. Paths are checked on this machine until then.",
                settings.root.display()
            ));
        }
        Ok(settings)
    }

    /// Where `path`, absolute on the target, is on this machine.
    pub fn on_target<'a>(&self, path: &'a str) -> Cow<'a, Path> {
        bpfbox_compiler::on_root(&self.root, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_shapes_and_defaults() {
        assert_eq!(
            PathSettings::from_json(&json!(null)),
            Ok(PathSettings::default())
        );
        let dir = std::env::temp_dir();
        let expected = PathSettings {
            check: false,
            root: dir.clone(),
        };
        let paths = json!({ "check": false, "root": dir });
        assert_eq!(
            PathSettings::from_json(&json!({ "paths": paths })),
            Ok(expected.clone())
        );
        assert_eq!(
            PathSettings::from_json(&json!({ "bpfbox": { "paths": paths } })),
            Ok(expected.clone())
        );
        assert_eq!(expected.on_target("/etc/hosts"), dir.join("etc/hosts"));
    }

    #[test]
    fn a_bad_root_says_what_to_set() {
        let error =
            PathSettings::from_json(&json!({ "paths": { "root": "images/web" } })).unwrap_err();
        assert!(
            error.contains("paths.root images/web is not a directory"),
            "{error}"
        );
        assert!(
            error.contains("absolute path of the target's root"),
            "{error}"
        );
        let error = PathSettings::from_json(&json!({ "paths": { "check": "yes" } })).unwrap_err();
        assert_eq!(error, "bpfbox: paths.check is \"yes\", not true or false");
    }
}
