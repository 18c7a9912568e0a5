//! The bpfbox policy compiler as a library: parse (bpfbox-grammar), check
//! names and flags, resolve `#[func]` symbols in ELF binaries, warn, lower to
//! an image (bpfbox-image), and format. `bpfboxc` is a thin CLI over this; the
//! language server calls the same functions.

pub mod check;
pub use bpfbox_image::elf;
pub mod format;
pub mod include;
pub mod learn;
pub mod lint;
pub mod lower;
pub mod model;
pub mod render;
pub mod resolve;
pub mod vocab;

use std::sync::Arc;

pub use bpfbox_grammar::{parse, Ast, Code, Diagnostic, Severity, Span};
pub use resolve::{BinarySource, DiskBinaries};

use elf::ElfInfo;
use model::Policy;

pub struct Options<'a> {
    pub binaries: &'a dyn BinarySource,
    /// Warn about paths that do not exist on the target.
    pub check_paths: bool,
    /// Whether a path exists on the target; the language server answers
    /// from a cache.
    pub path_exists: &'a dyn Fn(&str) -> bool,
    /// The target's root directory when it is not this machine's (bpfboxc
    /// --root, the language server's `paths.root`): what the warnings name.
    pub path_root: Option<&'a std::path::Path>,
    /// The policy's file, for `#![include]` paths relative to it (none:
    /// the current directory).
    pub source: Option<&'a std::path::Path>,
    /// Reads an included file.
    pub read_source: &'a dyn Fn(&std::path::Path) -> std::io::Result<String>,
}

/// Included files are regular files of policy size: not a FIFO that
/// blocks, nor /dev/zero.
pub fn read_source_from_disk(path: &std::path::Path) -> std::io::Result<String> {
    const MAX: u64 = 64 << 20;
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.len() > MAX {
        return Err(std::io::Error::other("larger than 64 MiB"));
    }
    std::fs::read_to_string(path)
}

/// Whether a path exists, asking the file system.
pub fn path_exists_on_disk(path: &str) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// `path`, absolute on a target machine, under that machine's root
/// directory (`--root`: an extracted image, a chroot). The path itself when
/// the target is this machine: checks ask this for every path a policy
/// names (on every keystroke, in the language server), with no copy.
pub fn on_root<'a>(root: &std::path::Path, path: &'a str) -> std::borrow::Cow<'a, std::path::Path> {
    if path.starts_with('/') && root == std::path::Path::new("/") {
        return std::borrow::Cow::Borrowed(std::path::Path::new(path));
    }
    std::borrow::Cow::Owned(root.join(path.trim_start_matches('/')))
}

/// Whether `path` exists on the target whose root is `root`.
pub fn exists_on_root(root: &std::path::Path, path: &str) -> bool {
    on_root(root, path).symlink_metadata().is_ok()
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            binaries: &DiskBinaries,
            check_paths: true,
            path_exists: &path_exists_on_disk,
            path_root: None,
            source: None,
            read_source: &read_source_from_disk,
        }
    }
}

/// Everything known about a policy text.
pub struct Analysis {
    pub ast: Ast,
    pub policy: Policy,
    /// Sorted by position.
    pub diagnostics: Vec<Diagnostic>,
    /// The binary of each profile with `#[func]` scopes, when it was read.
    pub binaries: Vec<Option<Arc<ElfInfo>>>,
}

impl Analysis {
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity() == Severity::Error)
    }

    /// The image, when the policy has no errors.
    pub fn image(&self) -> Option<bpfbox_image::Image> {
        (!self.has_errors()).then(|| lower::lower(&self.policy, &self.binaries))
    }
}

/// Parses, checks, resolves and lints a policy.
pub fn analyze(text: &str, options: &Options) -> Analysis {
    let (ast, mut diagnostics) = parse(text);
    let (mut policy, semantic) = check::check(text, &ast);
    diagnostics.extend(semantic);
    include::expand(&mut policy, options, &mut diagnostics);
    let binaries = resolve::resolve(&mut policy, options.binaries, &mut diagnostics);
    let mut lints = Vec::new();
    if options.check_paths {
        lint::missing_paths(&policy, options.path_exists, options.path_root, &mut lints);
    }
    lint::lint(&policy, &mut lints);
    diagnostics.extend(include::of_policy_text(&policy, lints));
    // A warning about text that already has an error (a path in an
    // unterminated string, say) only adds noise.
    // Errors by start, with the furthest end reached so far: whether any
    // error overlaps a span is a binary search, not a scan per warning.
    let mut errors: Vec<Span> = diagnostics
        .iter()
        .filter(|d| d.severity() == Severity::Error)
        .map(|d| d.span)
        .collect();
    errors.sort_by_key(|e| e.start);
    let furthest_end: Vec<usize> = errors
        .iter()
        .scan(0, |end, e| {
            *end = e.end.max(*end);
            Some(*end)
        })
        .collect();
    let overlaps_an_error = |span: Span| {
        let starting_before_end = errors.partition_point(|e| e.start < span.end);
        starting_before_end > 0 && furthest_end[starting_before_end - 1] > span.start
    };
    diagnostics.retain(|d| d.severity() == Severity::Error || !overlaps_an_error(d.span));
    diagnostics.sort_by_key(|d| (d.span.start, d.span.end, d.code));
    // An editor keeps the analysis of each policy being edited: without
    // the spare capacity of their growth, the largest lists take a third
    // less room.
    diagnostics.shrink_to_fit();
    for profile in &mut policy.profiles {
        profile.rules.shrink_to_fit();
    }
    Analysis {
        ast,
        policy,
        diagnostics,
        binaries,
    }
}
