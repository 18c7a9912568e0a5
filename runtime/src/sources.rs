//! Where images come from: the IMAGE arguments of bpfbox-load, each a file,
//! a directory, or an oci:// reference, read and checked into a list of
//! images before anything is loaded (so that one bad source leaves the
//! kernel as it was).
//!
//! A directory stands for the images it holds: every `*.bbx` file in it,
//! and the oci:// references listed in every `*.oci` file (one per line;
//! blank lines and `#` comments skipped), in name order. Names starting
//! with a dot are skipped (a Kubernetes ConfigMap volume keeps its
//! versions in `..data` directories). This is the layout of /etc/bpfbox
//! for the systemd unit and of the DaemonSet's ConfigMap. A list may be
//! empty: then the directory stands for no image.

use std::path::{Path, PathBuf};

use bpfbox_image::Image;
use bpfbox_oci::{OciError, Options, PolicyRef};

use crate::failure::{io_message, Failure};

/// One image to load, named for messages.
pub struct Source {
    /// The file's path, or the digest reference it was pulled at.
    pub label: String,
    pub image: Image,
}

/// An image argument, resolved: a file or a reference.
enum Entry {
    File(PathBuf),
    Reference(String),
}

/// Reads every argument's images; the first failure stops it, before
/// anything is loaded.
pub fn read_all(
    arguments: &[String],
    options: &Options,
    quiet: bool,
) -> Result<Vec<Source>, Failure> {
    let mut entries = Vec::new();
    for argument in arguments {
        if PolicyRef::is_reference(argument) {
            entries.push(Entry::Reference(argument.clone()));
            continue;
        }
        let path = Path::new(argument);
        if path.is_dir() {
            entries.extend(directory(path)?);
        } else {
            entries.push(Entry::File(path.to_path_buf()));
        }
    }
    let auth_files = bpfbox_oci::auth::default_files();
    entries
        .into_iter()
        .map(|entry| match entry {
            Entry::File(path) => read_file(&path),
            Entry::Reference(text) => pull(&text, options, &auth_files, quiet),
        })
        .collect()
}

fn directory(dir: &Path) -> Result<Vec<Entry>, Failure> {
    let unreadable = |e: std::io::Error| {
        Failure::io(
            format!(
                "cannot read the directory {}: {}",
                dir.display(),
                io_message(&e)
            ),
            "a directory argument holds *.bbx images and *.oci lists of references",
        )
    };
    let mut entries = Vec::new();
    // An empty list is a choice (nothing to enforce: with --prune, unload
    // everything); a directory with neither images nor lists is a mistake.
    let mut lists = 0;
    for (path, kind) in listing(dir).map_err(unreadable)? {
        match kind {
            Listed::Image => entries.push(Entry::File(path)),
            Listed::References => {
                lists += 1;
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    Failure::io(
                        format!("cannot read {}: {}", path.display(), io_message(&e)),
                        "a *.oci file lists oci:// references, one per line",
                    )
                })?;
                for (number, line) in text.lines().enumerate() {
                    let line = line.split('#').next().unwrap_or("").trim();
                    if line.is_empty() {
                        continue;
                    }
                    if !PolicyRef::is_reference(line) {
                        return Err(Failure::io(
                            format!("{}:{}: `{line}` is not an oci:// reference", path.display(), number + 1),
                            "a *.oci file lists oci://REGISTRY/REPOSITORY@sha256:DIGEST references, one per line",
                        ));
                    }
                    entries.push(Entry::Reference(line.to_string()));
                }
            }
        }
    }
    if entries.is_empty() && lists == 0 {
        return Err(Failure::io(
            format!("{} holds no *.bbx image and no *.oci list", dir.display()),
            "put compiled images (bpfboxc POLICY -o DIR/NAME.bbx) or a list of oci:// references (DIR/NAME.oci) there",
        ));
    }
    Ok(entries)
}

/// What a directory argument's file is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Listed {
    /// `*.bbx`: a compiled image.
    Image,
    /// `*.oci`: a list of oci:// references.
    References,
}

/// The images and lists in `dir`, in name order, dot-names skipped: what
/// the directory stands for (read here, watched by --watch).
pub fn listing(dir: &Path) -> std::io::Result<Vec<(PathBuf, Listed)>> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    names.sort();
    Ok(names
        .into_iter()
        .filter(|path| {
            !path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .filter_map(|path| {
            let kind = match path.extension().and_then(|e| e.to_str()) {
                Some("bbx") => Listed::Image,
                Some("oci") => Listed::References,
                _ => return None,
            };
            Some((path, kind))
        })
        .collect())
}

fn read_file(path: &Path) -> Result<Source, Failure> {
    let bytes = std::fs::read(path).map_err(|e| {
        Failure::io(
            format!("cannot read {}: {}", path.display(), io_message(&e)),
            "pass the image written by bpfboxc POLICY -o IMAGE",
        )
    })?;
    let image = bpfbox_image::read(&bytes)
        .map_err(|e| Failure::refused(format!("{}: {e}", path.display()), e.hint()))?;
    Ok(Source {
        label: path.display().to_string(),
        image,
    })
}

fn pull(
    text: &str,
    options: &Options,
    auth_files: &[PathBuf],
    quiet: bool,
) -> Result<Source, Failure> {
    let reference = PolicyRef::parse(text).map_err(oci_failure)?;
    let pulled = bpfbox_oci::pull(&reference, options, auth_files).map_err(oci_failure)?;
    let label = pulled.reference.to_string();
    let image = bpfbox_image::read(&pulled.bytes)
        .map_err(|e| Failure::refused(format!("{label}: {e}"), e.hint()))?;
    if !quiet {
        let from = if pulled.cached {
            "from the cache"
        } else {
            "pulled"
        };
        eprintln!("{from} {label} ({} bytes)", pulled.bytes.len());
    }
    Ok(Source { label, image })
}

fn oci_failure(error: OciError) -> Failure {
    Failure::new(error.kind.exit_status(), error.message, error.hint)
}
