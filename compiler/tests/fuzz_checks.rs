//! The properties the fuzz targets (fuzz/, cargo-fuzz on nightly) check, and
//! the stable test that replays their corpora (fuzz/corpus/) in `cargo test`.
#![allow(dead_code)]

use bpfbox_compiler::{analyze, BinarySource, Options};

struct NoBinaries;

impl BinarySource for NoBinaries {
    fn binary(
        &self,
        _exe: &str,
    ) -> Option<Result<std::sync::Arc<bpfbox_compiler::elf::ElfInfo>, bpfbox_compiler::elf::ElfError>>
    {
        None
    }
}

pub fn policy(text: &str) {
    let options = Options {
        binaries: &NoBinaries,
        check_paths: false,
        ..Options::default()
    };
    let analysis = analyze(text, &options);
    for d in &analysis.diagnostics {
        assert!(
            d.span.end <= text.len()
                && text.is_char_boundary(d.span.start)
                && text.is_char_boundary(d.span.end)
        );
    }
    if let Some(image) = analysis.image() {
        let bytes = bpfbox_image::write(&image);
        assert_eq!(bpfbox_image::read(&bytes).as_ref(), Ok(&image));
    }
    let _ = bpfbox_compiler::render::render_plain("fuzz.policy", text, &analysis.diagnostics);
    if let Ok(formatted) = bpfbox_compiler::format::format(text) {
        assert_eq!(
            bpfbox_compiler::format::format(&formatted).as_deref(),
            Ok(formatted.as_str())
        );
    }
}

/// What the reader accepts means what it says: written again, it reads back
/// the same. (Byte equality is too strong: a newer minor version may add
/// sections that this reader skips.)
pub fn image(bytes: &[u8]) {
    if let Ok(image) = bpfbox_image::read(bytes) {
        assert_eq!(
            bpfbox_image::read(&bpfbox_image::write(&image)).as_ref(),
            Ok(&image)
        );
        let _ = bpfbox_image::to_json(&image, bytes);
    }
}

#[cfg(test)]
mod replay {
    use std::path::Path;

    fn corpus(name: &str) -> Vec<Vec<u8>> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/corpus")
            .join(name);
        let mut inputs: Vec<Vec<u8>> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
            .collect();
        assert!(!inputs.is_empty(), "empty corpus {}", dir.display());
        inputs.sort();
        inputs
    }

    #[test]
    fn parse_corpus_replays_cleanly() {
        for input in corpus("parse") {
            if let Ok(text) = std::str::from_utf8(&input) {
                super::policy(text);
            }
        }
    }

    #[test]
    fn image_corpus_replays_cleanly() {
        for input in corpus("image") {
            super::image(&input);
        }
    }
}
