//! The Rust view of `include/bpfbox.h` (bindgen), plus the policy
//! language's vocabulary (flag names and their bits) from the names of the
//! `*_access` enumerators, so no second table is ever kept by hand.
//!
//! Both are committed under src/generated, so that building the compiler or
//! the language server needs no libclang (`cargo install` on a machine with
//! only a Rust toolchain). This test generates them again from the header
//! and fails when the committed ones are stale; with UPDATE_GENERATED=1 it
//! writes them:
//!
//!     UPDATE_GENERATED=1 cargo test -p bpfbox-abi --test generated

use std::collections::BTreeMap;
use std::env;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bindgen::callbacks::{DeriveInfo, EnumVariantValue, ParseCallbacks};

#[derive(Debug, Default)]
struct Collected {
    /// enum name -> [(variant, value)] in declaration order
    enums: BTreeMap<String, Vec<(String, i64)>>,
}

#[derive(Debug)]
struct Collect(Arc<Mutex<Collected>>);

impl ParseCallbacks for Collect {
    fn enum_variant_name(
        &self,
        enum_name: Option<&str>,
        original_variant_name: &str,
        variant_value: EnumVariantValue,
    ) -> Option<String> {
        if let Some(name) = enum_name {
            let name = name.trim_start_matches("enum ").to_string();
            let value = match variant_value {
                EnumVariantValue::Boolean(b) => b as i64,
                EnumVariantValue::Signed(v) => v,
                EnumVariantValue::Unsigned(v) => v as i64,
            };
            let mut c = self.0.lock().unwrap();
            let list = c.enums.entry(name).or_default();
            if !list.iter().any(|(v, _)| v == original_variant_name) {
                list.push((original_variant_name.to_string(), value));
            }
        }
        None
    }

    fn add_derives(&self, info: &DeriveInfo<'_>) -> Vec<String> {
        // Map keys and values are copied to and from the kernel as bytes.
        if info.name.starts_with("bpfbox_") {
            vec![
                "zerocopy::FromBytes".into(),
                "zerocopy::IntoBytes".into(),
                "zerocopy::Immutable".into(),
                "zerocopy::KnownLayout".into(),
            ]
        } else {
            vec![]
        }
    }
}

/// bindings.rs and vocabulary.rs, as they should be.
fn generate() -> (String, String) {
    let header = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("include/bpfbox.h");
    let collected = Arc::new(Mutex::new(Collected::default()));
    let bindings = bindgen::Builder::default()
        .header(header.to_str().unwrap())
        .allowlist_type("bpfbox_.*")
        .allowlist_var("BPFBOX_.*")
        .constified_enum_module("bpfbox_.*")
        .derive_default(true)
        .derive_debug(true)
        .layout_tests(true)
        .parse_callbacks(Box::new(Collect(collected.clone())))
        .generate()
        .expect("bindgen could not read bpf/include/bpfbox.h (is libclang installed?)")
        .to_string();

    // The language's vocabulary: for enum bpfbox_X_access, every enumerator
    // BPFBOX_X_NAME becomes the flag "name".
    let collected = collected.lock().unwrap();
    let mut vocab = String::new();
    for (enum_name, variants) in &collected.enums {
        let Some(kind) = enum_name
            .strip_prefix("bpfbox_")
            .and_then(|s| s.strip_suffix("_access"))
        else {
            continue;
        };
        let prefix = format!("BPFBOX_{}_", kind.to_uppercase());
        writeln!(
            vocab,
            "/// Flag names of `enum {enum_name}`, in declaration order.\npub const {}_FLAGS: &[(&str, u32)] = &[",
            kind.to_uppercase()
        )
        .unwrap();
        for (variant, value) in variants {
            let flag = variant
                .strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("{variant} must start with {prefix}"))
                .to_lowercase();
            writeln!(vocab, "    ({flag:?}, {value}),").unwrap();
        }
        writeln!(vocab, "];").unwrap();
    }
    // Names of the other enums that Rust reads by name, for messages and
    // JSON: enum bpfbox_op's BPFBOX_OP_OPEN is ("open", 1) in OP_NAMES.
    // (Limits, path kinds, profile flags and scope kinds are used by
    // value only: no table.)
    const NAMED: &[&str] = &["capability", "decision", "op", "rule_kind"];
    for (enum_name, variants) in &collected.enums {
        let Some(base) = enum_name.strip_prefix("bpfbox_") else {
            continue;
        };
        if !NAMED.contains(&base) {
            continue;
        }
        let prefix = common_prefix(variants.iter().map(|(v, _)| v.as_str()));
        writeln!(
            vocab,
            "/// Names of `enum {enum_name}`.\npub const {}_NAMES: &[(&str, u32)] = &[",
            base.to_uppercase()
        )
        .unwrap();
        for (variant, value) in variants {
            let name = variant[prefix.len()..].to_lowercase();
            writeln!(vocab, "    ({name:?}, {value}),").unwrap();
        }
        writeln!(vocab, "];").unwrap();
    }
    (bindings, vocab)
}

#[test]
fn committed_bindings_and_vocabulary_match_the_header() {
    let (bindings, vocab) = generate();
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("src/generated");
    let mut stale = Vec::new();
    for (name, fresh) in [("bindings.rs", bindings), ("vocabulary.rs", vocab)] {
        let fresh = format!(
            "// Generated from include/bpfbox.h by tests/generated.rs; do not edit.\n{fresh}"
        );
        let path = dir.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(fresh.as_str()) {
            continue;
        }
        if env::var_os("UPDATE_GENERATED").is_some() {
            std::fs::write(&path, fresh).unwrap();
        } else {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale after a change to bpf/include/bpfbox.h: {}\nregenerate: UPDATE_GENERATED=1 cargo test -p bpfbox-abi --test generated",
        stale.join(", ")
    );
}

/// The longest prefix ending in `_` shared by all names.
fn common_prefix<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    let first = names.first().copied().unwrap_or("");
    let mut prefix_len = first.len();
    for name in &names[1..] {
        prefix_len = prefix_len.min(
            first
                .bytes()
                .zip(name.bytes())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    match first[..prefix_len].rfind('_') {
        Some(cut) => first[..=cut].to_string(),
        None => String::new(),
    }
}
