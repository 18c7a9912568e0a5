use std::collections::BTreeMap;

use zerocopy::little_endian::U32;
use zerocopy::IntoBytes;

use crate::format::*;
use crate::model::*;

/// Encodes an image. Deterministic: the same model gives the same bytes.
pub fn write(image: &Image) -> Vec<u8> {
    // The string table: every distinct string once, sorted so that each
    // shares the longest possible prefix with the one before it.
    let mut strings: BTreeMap<&str, u32> = BTreeMap::new();
    if let Some(source) = &image.source {
        strings.insert(source, 0);
    }
    for profile in &image.profiles {
        strings.insert(&profile.exe, 0);
        for scope in &profile.scopes {
            strings.insert(&scope.name, 0);
        }
        for rule in &profile.rules {
            match &rule.target {
                Target::Path(path) | Target::Exe(Some(path)) => {
                    strings.insert(path, 0);
                }
                Target::Exe(None) | Target::Family(_) | Target::Capability(_) | Target::Nothing => {
                }
            }
        }
    }
    let mut string_bytes = Vec::new();
    let mut previous: &str = "";
    for (index, (s, slot)) in strings.iter_mut().enumerate() {
        *slot = index as u32;
        let shared = common_prefix(previous, s);
        write_varint(&mut string_bytes, shared as u32);
        write_varint(&mut string_bytes, (s.len() - shared) as u32);
        string_bytes.extend_from_slice(&s.as_bytes()[shared..]);
        previous = s;
    }

    let mut profiles = Vec::with_capacity(image.profiles.len());
    let mut scopes = Vec::new();
    // Per rule record, its values in RULE_COLUMNS order.
    let mut rules: Vec<[u32; RULE_COLUMNS.len()]> = Vec::new();
    for profile in &image.profiles {
        let (identity_kind, identity_bytes): (u8, &[u8]) = match &profile.identity {
            None => (IDENTITY_NONE, &[]),
            Some(Identity::BuildId(id)) => (IDENTITY_BUILD_ID, id),
            Some(Identity::Sha256(hash)) => (IDENTITY_SHA256, hash),
        };
        let mut identity = [0u8; 32];
        let identity_len = identity_bytes.len().min(32);
        identity[..identity_len].copy_from_slice(&identity_bytes[..identity_len]);
        profiles.push(ProfileRecord {
            exe: strings[profile.exe.as_str()].into(),
            flags: profile.flags().into(),
            rule_start: (rules.len() as u32).into(),
            rule_count: (profile.rules.len() as u32).into(),
            scope_start: (scopes.len() as u32).into(),
            scope_count: (profile.scopes.len() as u32).into(),
            identity_kind,
            identity_len: identity_len as u8,
            reserved: [0; 6],
            identity,
        });
        for scope in &profile.scopes {
            scopes.push(ScopeRecord {
                name: strings[scope.name.as_str()].into(),
                kind: scope.kind.code().into(),
                offset: scope.offset.into(),
            });
        }
        for rule in &profile.rules {
            let object = match &rule.target {
                Target::Path(path) | Target::Exe(Some(path)) => strings[path.as_str()],
                Target::Exe(None) => OBJECT_SELF,
                Target::Family(family) => u32::from(*family),
                Target::Capability(cap) => u32::from(*cap),
                Target::Nothing => 0,
            };
            rules.push([
                object,
                rule.scope.into(),
                rule.kind.code().into(),
                rule.masks.allow.into(),
                rule.masks.taint.into(),
                rule.masks.audit.into(),
                rule.masks.deny.into(),
                rule.masks.quiet.into(),
                rule.lines.line,
                rule.lines.deny_line,
            ]);
        }
    }
    let mut columns = Vec::new();
    for (index, (_, column)) in RULE_COLUMNS.iter().enumerate() {
        let mut previous = 0;
        for rule in &rules {
            write_varint(&mut columns, column_encode(*column, rule[index], previous));
            previous = rule[index];
        }
    }

    let source: Vec<U32> = image
        .source
        .iter()
        .map(|s| strings[s.as_str()].into())
        .collect();
    let mut sections: Vec<(u32, u32, &[u8])> = vec![
        (SECTION_STRINGS, strings.len() as u32, &string_bytes),
        (SECTION_PROFILES, profiles.len() as u32, profiles.as_bytes()),
        (SECTION_SCOPES, scopes.len() as u32, scopes.as_bytes()),
        (SECTION_RULE_COLUMNS, rules.len() as u32, &columns),
    ];
    if !source.is_empty() {
        sections.push((SECTION_SOURCE, 1, source.as_bytes()));
    }
    let header_len = size_of::<Header>();
    let mut offset = header_len + sections.len() * size_of::<SectionEntry>();
    let mut body = Vec::new();
    for (kind, count, bytes) in &sections {
        let entry = SectionEntry {
            kind: (*kind).into(),
            count: (*count).into(),
            offset: (offset as u32).into(),
            len: (bytes.len() as u32).into(),
        };
        body.extend_from_slice(entry.as_bytes());
        offset += bytes.len();
    }
    for (_, _, bytes) in &sections {
        body.extend_from_slice(bytes);
    }
    // Level 6, deflate's default: level 9 makes a 10,000-rule image 2%
    // smaller and the compile slower; inflating costs the same.
    let body = miniz_oxide::deflate::compress_to_vec(&body, 6);
    let header = Header {
        magic: MAGIC,
        major: MAJOR.into(),
        minor: MINOR.into(),
        header_len: (header_len as u32).into(),
        section_count: (sections.len() as u32).into(),
        flags: 0.into(),
        body_len: (body.len() as u64).into(),
        sha256: [0; 32],
    };
    let mut out = Vec::with_capacity(header_len + body.len());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&body);
    let sum = checksum(&out);
    let field = std::mem::offset_of!(Header, sha256);
    out[field..field + 32].copy_from_slice(&sum);
    out
}

fn common_prefix(a: &str, b: &str) -> usize {
    let mut n = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    // Keep the suffix valid UTF-8 on its own.
    while !b.is_char_boundary(n) {
        n -= 1;
    }
    n
}
