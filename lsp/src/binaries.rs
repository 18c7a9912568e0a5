//! Profiled binaries for `#[func]`, read off the typing path: analysis asks
//! the cache, which answers from memory or says "not yet" and queues a read;
//! a background task reads and parses the ELF file, and the documents are
//! analysed again. Entries are keyed by the file's (device, inode, size,
//! mtime), so a rebuilt binary is read again.

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bpfbox_compiler::elf::{ElfError, ElfInfo};
use bpfbox_compiler::BinarySource;

type Stamp = (u64, u64, u64, i64);
type Loaded = Result<Arc<ElfInfo>, ElfError>;

fn stamp(path: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.dev(), m.ino(), m.size(), m.mtime()))
}

#[derive(Default)]
pub struct BinaryCache {
    entries: Mutex<HashMap<PathBuf, (Option<Stamp>, Loaded)>>,
    wanted: Mutex<HashSet<PathBuf>>,
    /// The target's root (the `paths.root` setting); empty: this machine.
    root: Mutex<PathBuf>,
}

impl BinaryCache {
    /// Profiled executables are read under `root` from now on.
    pub fn set_root(&self, root: &Path) {
        if let Ok(mut current) = self.root.lock() {
            *current = root.to_path_buf();
        }
    }

    /// Where the profiled executable `exe` is on this machine.
    fn locate(&self, exe: &str) -> PathBuf {
        match self.root.lock() {
            Ok(root) if !root.as_os_str().is_empty() => {
                bpfbox_compiler::on_root(&root, exe).into_owned()
            }
            _ => PathBuf::from(exe),
        }
    }

    /// The cached binary of the profiled executable `exe`, if it is current.
    pub fn get_exe(&self, exe: &str) -> Option<Result<Arc<ElfInfo>, ElfError>> {
        self.get(&self.locate(exe))
    }

    /// Binaries analysis asked for and did not get; emptied by the call.
    pub fn take_wanted(&self) -> Vec<PathBuf> {
        self.wanted
            .lock()
            .map(|mut w| w.drain().collect())
            .unwrap_or_default()
    }

    /// Reads one binary (slow: call off the typing path).
    pub fn load(&self, path: &Path) {
        let result = ElfInfo::load(path).map(Arc::new);
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(path.to_path_buf(), (stamp(path), result));
        }
    }

    /// The cached binary, if it is current.
    pub fn get(&self, path: &Path) -> Option<Result<Arc<ElfInfo>, ElfError>> {
        let current = stamp(path);
        let entries = self.entries.lock().ok()?;
        match entries.get(path) {
            Some((cached, result)) if *cached == current => Some(result.clone()),
            _ => None,
        }
    }
}

impl BinarySource for BinaryCache {
    fn binary(&self, exe: &str) -> Option<Result<Arc<ElfInfo>, ElfError>> {
        let path = self.locate(exe);
        let found = self.get(&path);
        if found.is_none() {
            if let Ok(mut wanted) = self.wanted.lock() {
                wanted.insert(path);
            }
        }
        found
    }
}

/// Whether paths exist, remembered for a few seconds: a keystroke in a
/// 5,000-line policy would otherwise stat thousands of paths. (Fx-hashed:
/// thousands of lookups a keystroke, of paths the user wrote.)
#[derive(Default)]
pub struct PathCache {
    entries: Mutex<rustc_hash::FxHashMap<String, (bool, std::time::Instant)>>,
}

impl PathCache {
    const FRESH: std::time::Duration = std::time::Duration::from_secs(3);

    /// Whether `path` exists, as seen at most FRESH before `now` (the
    /// analysis's start: one clock read per analysis, not per path).
    pub fn exists(&self, path: &std::path::Path, now: std::time::Instant) -> bool {
        let path = path.to_string_lossy();
        let Ok(mut entries) = self.entries.lock() else {
            return bpfbox_compiler::path_exists_on_disk(&path);
        };
        if let Some((exists, at)) = entries.get(&*path) {
            if now.saturating_duration_since(*at) < Self::FRESH {
                return *exists;
            }
        }
        let exists = bpfbox_compiler::path_exists_on_disk(&path);
        entries.insert(path.into_owned(), (exists, now));
        exists
    }
}
