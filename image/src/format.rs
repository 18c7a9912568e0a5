//! The on-disk layout of a `.bbx` image (documented in spec.md, "The image
//! format"). Every multi-byte number is little-endian; records are read in
//! place with zerocopy, so they have no alignment requirement.

use zerocopy::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// `\x89BBX\r\n\x1a\n`: the high byte catches 7-bit transfers, the CR LF and
/// LF catch newline translation, like PNG's signature.
pub const MAGIC: [u8; 8] = *b"\x89BBX\r\n\x1a\n";
/// 2.0: the body is deflated and the rules are stored as columns (see
/// [`SECTION_RULE_COLUMNS`]). Readers of 2.x read 1.x images too.
pub const MAJOR: u16 = 2;
pub const MINOR: u16 = 0;

/// The oldest major version this build reads.
pub const OLDEST_MAJOR: u16 = 1;

/// The body of a 2.x image, inflated, is at most this long: an image that
/// says more is refused before it is inflated further (a small file cannot
/// make the loader allocate gigabytes). 100,000 rules take about 1.5 MiB.
pub const MAX_BODY: usize = 64 << 20;

#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
#[repr(C)]
pub struct Header {
    pub magic: [u8; 8],
    pub major: U16,
    pub minor: U16,
    /// Bytes from the start of the file to the section table.
    pub header_len: U32,
    pub section_count: U32,
    pub flags: U32,
    /// Bytes after the header, as stored: the section table and the
    /// sections (2.x: deflated, RFC 1951).
    pub body_len: U64,
    /// SHA-256 of the whole file with this field zeroed: any changed byte,
    /// header included, is caught.
    pub sha256: [u8; 32],
}

/// The checksum of an encoded image (see [`Header::sha256`]).
pub fn checksum(bytes: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let field = std::mem::offset_of!(Header, sha256);
    let mut hasher = Sha256::new();
    hasher.update(&bytes[..field]);
    hasher.update([0u8; 32]);
    hasher.update(&bytes[field + 32..]);
    hasher.finalize().into()
}

#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
#[repr(C)]
pub struct SectionEntry {
    pub kind: U32,
    /// Number of entries (strings or records).
    pub count: U32,
    /// From the start of the file (2.x: of the header followed by the
    /// inflated body).
    pub offset: U32,
    pub len: U32,
}

pub const SECTION_STRINGS: u32 = 1;
pub const SECTION_PROFILES: u32 = 2;
pub const SECTION_SCOPES: u32 = 3;
pub const SECTION_RULES: u32 = 4;
/// Since 1.2: the policy lines behind each rule record, for events.
pub const SECTION_LINES: u32 = 5;
/// Since 1.2: the policy file's name (one string index).
pub const SECTION_SOURCE: u32 = 6;
/// Since 1.3: per rule record, the deny bits of `#[quiet]` rules (a 1.2
/// reader, ignoring it, would log those denials: the loader of 1.3 is the
/// one that loads such images).
pub const SECTION_QUIET: u32 = 7;
/// Since 2.0, instead of the rules, lines and quiet sections: per rule
/// record, ten columns of LEB128 numbers, each column `count` numbers long,
/// in [`RULE_COLUMNS`] order. Columns of small repeating numbers are what
/// deflate shrinks best: 10,000 rules of 16 + 8 + 2 bytes deflate to about
/// 40 KB as records, to under 1 KB as columns.
pub const SECTION_RULE_COLUMNS: u32 = 8;

/// The columns of [`SECTION_RULE_COLUMNS`]. Delta columns hold the
/// zigzag-encoded difference from the previous rule's value (from 0 for the
/// first): neighbouring rules name neighbouring strings and lines.
pub const RULE_COLUMNS: [(&str, Column); 10] = [
    ("object", Column::Delta),
    ("scope", Column::Plain),
    ("kind", Column::Plain),
    ("allow", Column::Plain),
    ("taint", Column::Plain),
    ("audit", Column::Plain),
    ("deny", Column::Plain),
    ("quiet", Column::Plain),
    ("line", Column::Delta),
    ("deny_line", Column::Delta),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    Plain,
    Delta,
}

/// One column's value for the stream: a delta column's zigzag difference.
pub fn column_encode(column: Column, value: u32, previous: u32) -> u32 {
    match column {
        Column::Plain => value,
        Column::Delta => {
            let delta = value.wrapping_sub(previous) as i32;
            ((delta << 1) ^ (delta >> 31)) as u32
        }
    }
}

/// The inverse of [`column_encode`].
pub fn column_decode(column: Column, stored: u32, previous: u32) -> u32 {
    match column {
        Column::Plain => stored,
        Column::Delta => {
            let delta = ((stored >> 1) as i32) ^ -((stored & 1) as i32);
            previous.wrapping_add(delta as u32)
        }
    }
}

pub const IDENTITY_NONE: u8 = 0;
pub const IDENTITY_BUILD_ID: u8 = 1;
pub const IDENTITY_SHA256: u8 = 2;

#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
#[repr(C)]
pub struct ProfileRecord {
    /// String index of the executable's path.
    pub exe: U32,
    /// enum bpfbox_profile_flags
    pub flags: U32,
    pub rule_start: U32,
    pub rule_count: U32,
    pub scope_start: U32,
    pub scope_count: U32,
    pub identity_kind: u8,
    pub identity_len: u8,
    pub reserved: [u8; 6],
    pub identity: [u8; 32],
}

#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
#[repr(C)]
pub struct ScopeRecord {
    /// String index of the function's name.
    pub name: U32,
    /// enum bpfbox_scope_kind
    pub kind: U32,
    pub offset: U64,
}

/// `object` of a signal/ptrace/proc rule naming the profile's own executable.
pub const OBJECT_SELF: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
#[repr(C)]
pub struct RuleRecord {
    /// String index of the path or executable, `OBJECT_SELF`, or the family.
    pub object: U32,
    pub scope: U16,
    /// enum bpfbox_rule_kind
    pub kind: u8,
    pub reserved: u8,
    pub allow: U16,
    pub taint: U16,
    pub audit: U16,
    pub deny: U16,
}

/// The policy lines behind the rule record of the same index (0: none).
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
#[repr(C)]
pub struct LinesRecord {
    /// The first taint rule, else audit, else allow rule.
    pub line: U32,
    /// The first #[deny] rule.
    pub deny_line: U32,
}

const _: () = {
    assert!(size_of::<LinesRecord>() == 8);
    assert!(size_of::<Header>() == 64);
    assert!(size_of::<SectionEntry>() == 16);
    assert!(size_of::<ProfileRecord>() == 64);
    assert!(size_of::<ScopeRecord>() == 16);
    assert!(size_of::<RuleRecord>() == 16);
};

/// LEB128, for the string table's lengths.
pub fn write_varint(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Reads a LEB128 number at `*pos`; `None` if it runs off the end or
/// overflows 32 bits.
pub fn read_varint(bytes: &[u8], pos: &mut usize) -> Option<u32> {
    let mut value: u32 = 0;
    for shift in (0..35).step_by(7) {
        let byte = *bytes.get(*pos)?;
        *pos += 1;
        let part = u32::from(byte & 0x7f);
        if shift == 28 && part > 0x0f {
            return None;
        }
        value |= part << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}
