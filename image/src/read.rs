use zerocopy::little_endian::{U16, U32};
use zerocopy::FromBytes;

use crate::format::*;
use crate::model::*;
use crate::ImageError;

fn malformed(what: impl Into<String>) -> ImageError {
    ImageError::Malformed(what.into())
}

/// Decodes and validates an image. Nothing is trusted: magic, version,
/// lengths, offsets, checksum, indices and flag bits are all checked before
/// anything is returned.
pub fn read(bytes: &[u8]) -> Result<Image, ImageError> {
    let (header, _) = Header::read_from_prefix(bytes).map_err(|_| {
        if bytes.len() >= 8 && bytes[..8] != MAGIC {
            ImageError::NotAnImage
        } else {
            ImageError::TooShort { len: bytes.len() }
        }
    })?;
    if header.magic != MAGIC {
        return Err(ImageError::NotAnImage);
    }
    if !(OLDEST_MAJOR..=MAJOR).contains(&header.major.get()) {
        return Err(ImageError::Version {
            major: header.major.get(),
            minor: header.minor.get(),
        });
    }
    let header_len = header.header_len.get() as usize;
    if header_len < size_of::<Header>() || header_len > bytes.len() {
        return Err(malformed(format!(
            "header length {header_len} is out of range"
        )));
    }
    let expected = (header_len as u64).checked_add(header.body_len.get());
    if expected != Some(bytes.len() as u64) {
        return Err(ImageError::Truncated {
            expected: expected.unwrap_or(u64::MAX),
            actual: bytes.len() as u64,
        });
    }
    if checksum(bytes) != header.sha256 {
        return Err(ImageError::Checksum);
    }
    if header.flags.get() != 0 {
        return Err(malformed(format!(
            "unknown header flags {:#x}",
            header.flags.get()
        )));
    }
    // 2.x: the body is deflated. Offsets count in the header followed by
    // the inflated body, so the rest reads both versions alike.
    let inflated;
    let bytes = if header.major.get() >= 2 {
        let body =
            miniz_oxide::inflate::decompress_to_vec_with_limit(&bytes[header_len..], MAX_BODY)
                .map_err(|e| match e.status {
                    miniz_oxide::inflate::TINFLStatus::HasMoreOutput => malformed(format!(
                        "the body inflates to more than {} MiB",
                        MAX_BODY >> 20
                    )),
                    _ => malformed(format!("the body does not inflate: {e}")),
                })?;
        let mut logical = bytes[..header_len].to_vec();
        logical.extend_from_slice(&body);
        inflated = logical;
        &inflated[..]
    } else {
        bytes
    };
    let body = &bytes[header_len..];

    let section_count = header.section_count.get() as usize;
    let table_len = section_count
        .checked_mul(size_of::<SectionEntry>())
        .filter(|len| *len <= body.len())
        .ok_or_else(|| malformed("section table runs past the end of the file"))?;
    let table = <[SectionEntry]>::ref_from_bytes(&body[..table_len])
        .map_err(|_| malformed("section table"))?;
    let data_start = header_len + table_len;
    let mut found: [Option<(&[u8], usize)>; 9] = [None; 9];
    let mut extents: Vec<(usize, usize)> = Vec::new();
    for entry in table {
        let (offset, len) = (entry.offset.get() as usize, entry.len.get() as usize);
        let end = offset
            .checked_add(len)
            .filter(|end| offset >= data_start && *end <= bytes.len())
            .ok_or_else(|| {
                malformed(format!(
                    "section {} lies outside the file",
                    entry.kind.get()
                ))
            })?;
        if extents.iter().any(|&(s, e)| offset < e && s < end) {
            return Err(malformed(format!(
                "section {} overlaps another",
                entry.kind.get()
            )));
        }
        extents.push((offset, end));
        let kind = entry.kind.get() as usize;
        // Kinds this version does not know come from a newer minor version and
        // are skipped; known ones must appear once.
        if (1..found.len()).contains(&kind) {
            if found[kind].is_some() {
                return Err(malformed(format!("section {kind} appears twice")));
            }
            found[kind] = Some((&bytes[offset..end], entry.count.get() as usize));
        }
    }
    let section = |kind: u32| {
        found[kind as usize].ok_or_else(|| malformed(format!("section {kind} is missing")))
    };

    let strings = read_strings(section(SECTION_STRINGS)?)?;
    let profiles = records::<ProfileRecord>(section(SECTION_PROFILES)?, "profile")?;
    let scopes = records::<ScopeRecord>(section(SECTION_SCOPES)?, "scope")?;
    let (rules, lines, quiet) = match found[SECTION_RULE_COLUMNS as usize] {
        Some(_) if found[SECTION_RULES as usize].is_some() => {
            return Err(malformed("the rules are stored twice (sections 4 and 8)"))
        }
        Some(columns) => read_rule_columns(columns)?,
        None => {
            let rules = records::<RuleRecord>(section(SECTION_RULES)?, "rule")?;
            let lines =
                per_rule::<LinesRecord>(found[SECTION_LINES as usize], "lines", rules.len())?;
            let quiet = per_rule::<U16>(found[SECTION_QUIET as usize], "quiet", rules.len())?;
            (rules.to_vec(), lines.to_vec(), quiet.to_vec())
        }
    };

    let string = |index: u32, what: &str| -> Result<String, ImageError> {
        strings.get(index as usize).cloned().ok_or_else(|| {
            malformed(format!(
                "{what} names string {index}, but there are {}",
                strings.len()
            ))
        })
    };
    let absolute = |path: String, what: &str| -> Result<String, ImageError> {
        if path.starts_with('/') {
            Ok(path)
        } else {
            Err(malformed(format!(
                "{what} {path:?} is not an absolute path"
            )))
        }
    };
    let range = |start: u32,
                 count: u32,
                 total: usize,
                 what: &str|
     -> Result<std::ops::Range<usize>, ImageError> {
        let (start, count) = (start as usize, count as usize);
        start
            .checked_add(count)
            .filter(|end| *end <= total)
            .map(|end| start..end)
            .ok_or_else(|| malformed(format!("a profile's {what} run past the {what} section")))
    };

    let mut image = Image::default();
    if let Some(found) = found[SECTION_SOURCE as usize] {
        let source = records::<U32>(found, "source")?;
        let [index] = source else {
            return Err(malformed("the source section holds more than one name"));
        };
        image.source = Some(string(index.get(), "the source section")?);
    }
    for record in profiles {
        let exe = absolute(
            string(record.exe.get(), "a profile")?,
            "profiled executable",
        )?;
        let flags = record.flags.get();
        if flags & !Profile::IMAGE_FLAGS != 0 {
            return Err(malformed(format!(
                "profile {exe} has unknown flags {flags:#x}"
            )));
        }
        if record.reserved != [0; 6] {
            return Err(malformed(format!(
                "profile {exe} has non-zero reserved bytes"
            )));
        }
        let identity_len = record.identity_len as usize;
        if record
            .identity
            .get(identity_len..)
            .is_some_and(|rest| rest.iter().any(|b| *b != 0))
        {
            return Err(malformed(format!(
                "profile {exe} has bytes after its identity"
            )));
        }
        let identity_bytes = &record.identity[..identity_len.min(32)];
        let identity = match (record.identity_kind, identity_len) {
            (IDENTITY_NONE, 0) => None,
            (IDENTITY_BUILD_ID, 1..=32) => Some(Identity::BuildId(identity_bytes.to_vec())),
            (IDENTITY_SHA256, 32) => Some(Identity::Sha256(record.identity)),
            (kind, len) => {
                return Err(malformed(format!(
                    "profile {exe} has a bad identity (kind {kind}, {len} bytes)"
                )))
            }
        };
        let mut profile = Profile {
            exe,
            complain: flags & bpfbox_abi::bpfbox_profile_flags::BPFBOX_PROFILE_COMPLAIN != 0,
            taint_rules: flags & bpfbox_abi::bpfbox_profile_flags::BPFBOX_PROFILE_TAINT_RULES != 0,
            identity,
            scopes: Vec::new(),
            rules: Vec::new(),
        };
        for scope in &scopes[range(
            record.scope_start.get(),
            record.scope_count.get(),
            scopes.len(),
            "scopes",
        )?] {
            let kind = ScopeKind::from_code(scope.kind.get())
                .ok_or_else(|| malformed(format!("scope kind {} is unknown", scope.kind.get())))?;
            profile.scopes.push(Scope {
                kind,
                name: string(scope.name.get(), "a scope")?,
                offset: scope.offset.get(),
            });
        }
        if profile.scopes.len() > usize::from(u16::MAX) {
            return Err(malformed("a profile has more than 65535 scopes"));
        }
        let rule_range = range(
            record.rule_start.get(),
            record.rule_count.get(),
            rules.len(),
            "rules",
        )?;
        for (index, rule) in rule_range.clone().zip(&rules[rule_range]) {
            if rule.reserved != 0 {
                return Err(malformed("a rule has a non-zero reserved byte"));
            }
            let kind = RuleKind::from_code(rule.kind)
                .ok_or_else(|| malformed(format!("rule kind {} is unknown", rule.kind)))?;
            let object = rule.object.get();
            let target = match kind {
                RuleKind::File | RuleKind::Subtree | RuleKind::Glob => {
                    Target::Path(absolute(string(object, "a rule")?, "rule path")?)
                }
                RuleKind::Proc | RuleKind::Signal | RuleKind::Ptrace if object == OBJECT_SELF => {
                    Target::Exe(None)
                }
                RuleKind::Proc | RuleKind::Signal | RuleKind::Ptrace => Target::Exe(Some(
                    absolute(string(object, "a rule")?, "rule executable")?,
                )),
                RuleKind::Net => Target::Family(
                    u16::try_from(object)
                        .ok()
                        .filter(|family| *family < 64)
                        .ok_or_else(|| {
                            malformed(format!("address family {object} is out of range"))
                        })?,
                ),
                RuleKind::Cap => Target::Capability(
                    u16::try_from(object)
                        .ok()
                        .filter(|cap| capability_name(*cap).is_some())
                        .ok_or_else(|| malformed(format!("capability {object} is unknown")))?,
                ),
                RuleKind::Sys if object == 0 => Target::Nothing,
                RuleKind::Sys => {
                    return Err(malformed(format!("a sys rule names object {object}")))
                }
            };
            let scope = rule.scope.get();
            if usize::from(scope) > profile.scopes.len() {
                return Err(malformed(format!(
                    "a rule of {} names scope {scope}, but it has {}",
                    profile.exe,
                    profile.scopes.len()
                )));
            }
            let masks = Masks {
                allow: rule.allow.get(),
                taint: rule.taint.get(),
                audit: rule.audit.get(),
                deny: rule.deny.get(),
                quiet: quiet.get(index).map_or(0, |q| q.get()),
            };
            if masks.quiet & !masks.deny != 0 {
                return Err(malformed(format!(
                    "a {} rule is quiet about access it does not deny ({:#x})",
                    kind.name(),
                    masks.quiet & !masks.deny
                )));
            }
            if u32::from(masks.all()) & !kind.all_bits() != 0 {
                return Err(malformed(format!(
                    "a {} rule has access bits it cannot have ({:#x})",
                    kind.name(),
                    masks.all()
                )));
            }
            let lines = lines.get(index).map_or(Lines::default(), |l| Lines {
                line: l.line.get(),
                deny_line: l.deny_line.get(),
            });
            profile.rules.push(Rule {
                scope,
                kind,
                target,
                masks,
                lines,
            });
        }
        image.profiles.push(profile);
    }
    Ok(image)
}

/// The rules, lines and quiet bits of a 2.x image, from its columns.
type RuleTables = (Vec<RuleRecord>, Vec<LinesRecord>, Vec<U16>);

fn read_rule_columns((bytes, count): (&[u8], usize)) -> Result<RuleTables, ImageError> {
    // Every number takes at least one byte, which bounds the allocation.
    if count > bytes.len() / RULE_COLUMNS.len() {
        return Err(malformed("the rule columns are shorter than their count"));
    }
    let mut values = vec![[0u32; RULE_COLUMNS.len()]; count];
    let mut pos = 0;
    for (index, (name, column)) in RULE_COLUMNS.iter().enumerate() {
        let mut previous = 0;
        for rule in values.iter_mut() {
            let stored = read_varint(bytes, &mut pos)
                .ok_or_else(|| malformed(format!("the rule column {name} is malformed")))?;
            rule[index] = column_decode(*column, stored, previous);
            previous = rule[index];
        }
    }
    if pos != bytes.len() {
        return Err(malformed("the rule columns have trailing bytes"));
    }
    let small = |value: u32, name: &str| {
        u16::try_from(value)
            .map_err(|_| malformed(format!("a rule's {name} {value} is out of range")))
    };
    let mut rules = Vec::with_capacity(count);
    let mut lines = Vec::with_capacity(count);
    let mut quiet = Vec::with_capacity(count);
    for [object, scope, kind, allow, taint, audit, deny, quiet_bits, line, deny_line] in values {
        rules.push(RuleRecord {
            object: object.into(),
            scope: small(scope, "scope")?.into(),
            kind: u8::try_from(kind)
                .map_err(|_| malformed(format!("rule kind {kind} is unknown")))?,
            reserved: 0,
            allow: small(allow, "allow mask")?.into(),
            taint: small(taint, "taint mask")?.into(),
            audit: small(audit, "audit mask")?.into(),
            deny: small(deny, "deny mask")?.into(),
        });
        quiet.push(small(quiet_bits, "quiet mask")?.into());
        lines.push(LinesRecord {
            line: line.into(),
            deny_line: deny_line.into(),
        });
    }
    Ok((rules, lines, quiet))
}

/// An optional section with one record per rule record (lines, quiet):
/// empty when absent, refused when its count differs.
fn per_rule<
    'a,
    T: FromBytes + zerocopy::KnownLayout + zerocopy::Immutable + zerocopy::Unaligned,
>(
    found: Option<(&'a [u8], usize)>,
    what: &str,
    rules: usize,
) -> Result<&'a [T], ImageError> {
    let Some(found) = found else {
        return Ok(&[]);
    };
    let records = records::<T>(found, what)?;
    if records.len() != rules {
        return Err(malformed(format!(
            "the {what} section has {} records for {rules} rules",
            records.len()
        )));
    }
    Ok(records)
}

fn records<'a, T: FromBytes + zerocopy::KnownLayout + zerocopy::Immutable + zerocopy::Unaligned>(
    (bytes, count): (&'a [u8], usize),
    what: &str,
) -> Result<&'a [T], ImageError> {
    if count.checked_mul(size_of::<T>()) != Some(bytes.len()) {
        return Err(malformed(format!(
            "the {what} section holds {} bytes, not {count} records",
            bytes.len()
        )));
    }
    <[T]>::ref_from_bytes(bytes).map_err(|_| malformed(format!("the {what} section")))
}

fn read_strings((bytes, count): (&[u8], usize)) -> Result<Vec<String>, ImageError> {
    // Each string needs at least two bytes, which bounds the allocation.
    if count > bytes.len() / 2 {
        return Err(malformed("the string table is shorter than its count"));
    }
    let mut strings: Vec<String> = Vec::with_capacity(count);
    let mut pos = 0;
    for index in 0..count {
        let bad = || malformed(format!("string {index} is malformed"));
        let shared = read_varint(bytes, &mut pos).ok_or_else(bad)? as usize;
        let len = read_varint(bytes, &mut pos).ok_or_else(bad)? as usize;
        let previous = strings.last().map_or("", |s| s.as_str());
        if shared > previous.len() || !previous.is_char_boundary(shared) {
            return Err(bad());
        }
        let suffix = pos
            .checked_add(len)
            .and_then(|end| bytes.get(pos..end))
            .ok_or_else(bad)?;
        let suffix = std::str::from_utf8(suffix).map_err(|_| bad())?;
        pos += len;
        let mut s = String::with_capacity(shared + len);
        s.push_str(&previous[..shared]);
        s.push_str(suffix);
        if strings.last().is_some_and(|p| p.as_str() >= s.as_str()) {
            return Err(malformed("the string table is not sorted"));
        }
        strings.push(s);
    }
    if pos != bytes.len() {
        return Err(malformed("the string table has trailing bytes"));
    }
    Ok(strings)
}
