//! The reader accepts exactly what the writer writes, and refuses anything
//! else with an error, never a panic.

use bpfbox_image::*;
use proptest::prelude::*;

fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec!["etc", "var", "www", "é", "log", "a", "bin"]),
        1..5,
    )
    .prop_map(|parts| format!("/{}", parts.join("/")))
}

fn rule(scopes: usize) -> impl Strategy<Value = Rule> {
    (
        prop::sample::select(RuleKind::ALL.to_vec()),
        path(),
        0..=scopes as u16,
        any::<[u16; 5]>(),
        0u16..46,
        any::<bool>(),
        prop::option::of(any::<(u32, u32)>()),
    )
        .prop_map(|(kind, path, scope, m, family, own, lines)| {
            let bits = kind.all_bits() as u16;
            let target = match kind {
                RuleKind::File | RuleKind::Subtree | RuleKind::Glob => Target::Path(path),
                RuleKind::Proc | RuleKind::Signal | RuleKind::Ptrace => {
                    Target::Exe((!own).then_some(path))
                }
                RuleKind::Net => Target::Family(family),
                // 0..46 covers the 41 capabilities: 41..45 must be refused
                // by the reader, so keep to real ones here.
                RuleKind::Cap => Target::Capability(family % 41),
                RuleKind::Sys => Target::Nothing,
            };
            Rule {
                scope,
                kind,
                target,
                masks: Masks {
                    allow: m[0] & bits,
                    taint: m[1] & bits,
                    audit: m[2] & bits,
                    deny: m[3] & bits,
                    quiet: m[3] & m[4] & bits,
                },
                lines: lines.map_or(Lines::default(), |(line, deny_line)| Lines {
                    line,
                    deny_line,
                }),
            }
        })
}

fn profile() -> impl Strategy<Value = Profile> {
    (0usize..4).prop_flat_map(|n_scopes| {
        (
            path(),
            any::<bool>(),
            any::<bool>(),
            prop::option::of(prop::collection::vec(any::<u8>(), 1..=32)),
            prop::collection::vec(("[a-z_]{1,12}", any::<bool>(), any::<u64>()), n_scopes),
            prop::collection::vec(rule(n_scopes), 0..12),
        )
            .prop_map(
                |(exe, complain, taint_rules, build_id, scopes, rules)| Profile {
                    exe,
                    complain,
                    taint_rules,
                    identity: build_id.map(Identity::BuildId),
                    scopes: scopes
                        .into_iter()
                        .map(|(name, user, offset)| Scope {
                            kind: if user {
                                ScopeKind::User
                            } else {
                                ScopeKind::Kernel
                            },
                            name,
                            offset,
                        })
                        .collect(),
                    rules,
                },
            )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, .. ProptestConfig::default() })]

    #[test]
    fn write_then_read_gives_the_same_image(profiles in prop::collection::vec(profile(), 0..4), source in prop::option::of(path())) {
        let image = Image { profiles, source };
        let bytes = write(&image);
        prop_assert_eq!(read(&bytes), Ok(image.clone()));
        // Deterministic.
        prop_assert_eq!(write(&image), bytes);
    }

    #[test]
    fn any_changed_byte_is_refused(profiles in prop::collection::vec(profile(), 1..3), index in any::<prop::sample::Index>(), xor in 1u8..=255) {
        let mut bytes = write(&Image { profiles, source: Some("web.policy".into()) });
        let i = index.index(bytes.len());
        bytes[i] ^= xor;
        prop_assert!(read(&bytes).is_err());
    }

    #[test]
    fn any_truncation_is_refused(profiles in prop::collection::vec(profile(), 1..3), index in any::<prop::sample::Index>()) {
        let bytes = write(&Image { profiles, source: None });
        let cut = index.index(bytes.len());
        prop_assert!(read(&bytes[..cut]).is_err());
    }

    #[test]
    fn junk_is_refused_without_panic(junk in prop::collection::vec(any::<u8>(), 0..400)) {
        prop_assert!(read(&junk).is_err());
    }
}

#[test]
fn errors_name_the_cause() {
    let bytes = write(&Image::default());
    assert_eq!(
        read(b"#![profile \"/bin/sh\"]\n").unwrap_err(),
        ImageError::NotAnImage
    );
    assert!(matches!(
        read(&bytes[..10]).unwrap_err(),
        ImageError::TooShort { len: 10 }
    ));
    assert!(matches!(
        read(&bytes[..bytes.len() - 1]).unwrap_err(),
        ImageError::Truncated { .. }
    ));
    let mut tampered = bytes.clone();
    *tampered.last_mut().unwrap() ^= 1;
    assert_eq!(read(&tampered).unwrap_err(), ImageError::Checksum);
    let mut future = bytes.clone();
    future[8] = 3;
    assert_eq!(
        read(&future).unwrap_err(),
        ImageError::Version {
            major: 3,
            minor: format::MINOR
        }
    );
    assert_eq!(
        read(&future).unwrap_err().to_string(),
        format!(
            "image format 3.{} is not supported (this build reads 1.x to 2.x)",
            format::MINOR
        )
    );
}

/// The header followed by the inflated body: what section offsets count in.
fn inflate(bytes: &[u8]) -> Vec<u8> {
    let mut logical = bytes[..64].to_vec();
    logical.extend(miniz_oxide::inflate::decompress_to_vec(&bytes[64..]).unwrap());
    logical
}

/// An image of `logical` (header and inflated body), deflated and sealed
/// with a valid checksum: what a forger with a deflater would write.
fn seal(logical: &[u8]) -> Vec<u8> {
    let mut b = logical[..64].to_vec();
    let body = miniz_oxide::deflate::compress_to_vec(&logical[64..], 6);
    b[24..32].copy_from_slice(&(body.len() as u64).to_le_bytes());
    b.extend(body);
    let sum = format::checksum(&b);
    b[32..64].copy_from_slice(&sum);
    b
}

#[test]
fn a_body_that_inflates_too_far_or_not_at_all_is_refused() {
    let bytes = write(&Image::default());
    // Valid deflate of more than MAX_BODY zero bytes, in a few KB.
    let mut logical = bytes[..64].to_vec();
    logical.resize(64 + format::MAX_BODY + 1, 0);
    let bomb = seal(&logical);
    assert!(bomb.len() < 100_000, "{}", bomb.len());
    assert!(
        matches!(read(&bomb), Err(ImageError::Malformed(m)) if m.contains("inflates to more than 64 MiB"))
    );
    // Not deflate at all, with a valid checksum.
    let mut junk = bytes[..64].to_vec();
    junk.extend([0xff; 16]);
    junk[24..32].copy_from_slice(&16u64.to_le_bytes());
    let sum = format::checksum(&junk);
    junk[32..64].copy_from_slice(&sum);
    assert!(matches!(read(&junk), Err(ImageError::Malformed(m)) if m.contains("does not inflate")));
}

/// Even with a valid checksum, only the canonical encoding is accepted:
/// padding after an identity and reserved bytes must be zero.
#[test]
fn non_canonical_padding_is_refused_even_with_a_valid_checksum() {
    let image = Image {
        profiles: vec![Profile {
            exe: "/bin/x".into(),
            identity: Some(Identity::BuildId(vec![1, 2, 3])),
            rules: vec![Rule {
                scope: 0,
                kind: RuleKind::File,
                target: Target::Path("/etc/hosts".into()),
                masks: Masks {
                    allow: 1,
                    ..Masks::default()
                },
                lines: Lines::default(),
            }],
            ..Profile::default()
        }],
        source: None,
    };
    let bytes = inflate(&write(&image));
    // header, section table, then the strings "/bin/x" and "/" + "etc/hosts"
    let profile_record = 64 + 4 * 16 + (2 + "/bin/x".len()) + (2 + "etc/hosts".len());
    let reseal = |b: Vec<u8>| seal(&b);
    let mut after_identity = bytes.clone();
    after_identity[profile_record + 32 + 3] = 0x24; // identity_len is 3
    assert!(
        matches!(read(&reseal(after_identity)), Err(ImageError::Malformed(m)) if m.contains("after its identity"))
    );
    let mut reserved = bytes.clone();
    reserved[profile_record + 26] = 1;
    assert!(
        matches!(read(&reseal(reserved)), Err(ImageError::Malformed(m)) if m.contains("reserved"))
    );
    assert_eq!(read(&reseal(bytes)), Ok(image));
}
