//! `--watch SECONDS`: load again when the image files and directories
//! change, as a DaemonSet following its ConfigMap needs. Polling, not
//! inotify: a ConfigMap volume changes by swapping a symlink, which a
//! watch on the files would miss, and a look every few seconds costs
//! nothing next to a load. oci:// references are by digest, so they do
//! not change; what changes is the list of them.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;
use std::time::Duration;

use bpfbox_oci::PolicyRef;

use crate::failure::Failure;
use crate::sources::{listing, Listed};

/// Loads, then runs until killed, calling `load` again each time the
/// arguments change. The first load's failure is returned (a pod restarts
/// and tries again); a later one is printed and leaves what is in force
/// (load changes nothing when it fails), and the next change is tried. What
/// the arguments hold is noted before the first load, so a change made
/// while it runs is seen.
pub fn watch(
    arguments: &[String],
    every: Duration,
    load: impl Fn() -> Result<(), Failure>,
) -> Result<(), Failure> {
    let mut seen = fingerprint(arguments);
    load()?;
    eprintln!(
        "bpfbox-load: watching {} every {} s",
        arguments.join(" "),
        every.as_secs()
    );
    loop {
        std::thread::sleep(every);
        let now = fingerprint(arguments);
        if now == seen {
            continue;
        }
        seen = now;
        eprintln!(
            "bpfbox-load: {} changed: loading again",
            arguments.join(" ")
        );
        if let Err(failure) = load() {
            eprintln!("{failure}");
        }
    }
}

/// What the arguments hold now: for each file, and each *.bbx and *.oci
/// file in each directory, its name, size and modification time, and the
/// text of the lists.
fn fingerprint(arguments: &[String]) -> u64 {
    let mut hasher = DefaultHasher::new();
    for argument in arguments {
        if PolicyRef::is_reference(argument) {
            continue;
        }
        let path = Path::new(argument);
        match listing(path) {
            Ok(listed) => {
                for (name, kind) in listed {
                    file_state(&name, kind == Listed::References, &mut hasher);
                }
            }
            Err(_) => file_state(path, false, &mut hasher),
        }
    }
    hasher.finish()
}

fn file_state(path: &Path, with_text: bool, hasher: &mut DefaultHasher) {
    path.hash(hasher);
    if let Ok(meta) = std::fs::metadata(path) {
        meta.len().hash(hasher);
        meta.modified().ok().hash(hasher);
    }
    if with_text {
        std::fs::read(path).ok().hash(hasher);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_list_or_image_changes_the_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let arguments = vec![dir.path().display().to_string()];
        let empty = fingerprint(&arguments);
        std::fs::write(dir.path().join("notes.txt"), "not an image").unwrap();
        std::fs::create_dir(dir.path().join("..data")).unwrap();
        assert_eq!(fingerprint(&arguments), empty, "other files do not count");
        std::fs::write(
            dir.path().join("fleet.oci"),
            "oci://127.0.0.1:5000/p@sha256:00\n",
        )
        .unwrap();
        let listed = fingerprint(&arguments);
        assert_ne!(listed, empty);
        std::fs::write(
            dir.path().join("fleet.oci"),
            "oci://127.0.0.1:5000/p@sha256:11\n",
        )
        .unwrap();
        assert_ne!(fingerprint(&arguments), listed, "the same size, other text");
        assert_eq!(fingerprint(&arguments), fingerprint(&arguments));
    }
}
