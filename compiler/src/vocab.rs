//! The words of the language that the compiler checks names against. Access
//! flags come from the shared BPF header (via bpfbox-image); this file only
//! lists rule kinds and attributes.

use bpfbox_image::RuleKind;

/// A rule kind as written, with its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleShape {
    /// `fs(PATH, ACCESS)`
    Fs,
    /// `read(PATH)` and the other one-flag sugars: `fs(PATH, flag)`.
    FsSugar(u32),
    /// `proc(EXE | self, ACCESS)`
    Proc,
    /// `signal(EXE | self, SIGNALS)`
    Signal,
    /// `ptrace(EXE | self)`
    Ptrace,
    /// `net(FAMILY, ACCESS)`
    Net,
    /// `cap(CAPABILITIES)`
    Cap,
    /// `sys(OPERATIONS)`
    Sys,
}

impl RuleShape {
    pub fn signature(self, name: &str) -> String {
        match self {
            RuleShape::Fs => "fs(PATH, ACCESS)".into(),
            RuleShape::FsSugar(_) => format!("{name}(PATH)"),
            RuleShape::Proc => "proc(EXE | self, ACCESS)".into(),
            RuleShape::Signal => "signal(EXE | self, SIGNALS)".into(),
            RuleShape::Ptrace => "ptrace(EXE | self)".into(),
            RuleShape::Net => "net(FAMILY, ACCESS)".into(),
            RuleShape::Cap => "cap(CAPABILITIES)".into(),
            RuleShape::Sys => "sys(OPERATIONS)".into(),
        }
    }

    pub fn example(self, name: &str) -> String {
        match self {
            RuleShape::Fs => "fs(\"/var/www/**\", read)".into(),
            RuleShape::FsSugar(_) => format!("{name}(\"/etc/hosts\")"),
            RuleShape::Proc => "proc(\"/usr/bin/ps\", read|getattr)".into(),
            RuleShape::Signal => "signal(self, sigchld|sigkill)".into(),
            RuleShape::Ptrace => "ptrace(\"/usr/bin/gdb\")".into(),
            RuleShape::Net => "net(inet, bind|accept)".into(),
            RuleShape::Cap => "cap(net_bind_service|setuid|setgid)".into(),
            RuleShape::Sys => "sys(sysvipc)".into(),
        }
    }

    /// The kind whose access flags the rule takes.
    pub fn flag_kind(self) -> RuleKind {
        match self {
            RuleShape::Fs | RuleShape::FsSugar(_) => RuleKind::File,
            RuleShape::Proc => RuleKind::Proc,
            RuleShape::Signal => RuleKind::Signal,
            RuleShape::Ptrace => RuleKind::Ptrace,
            RuleShape::Net => RuleKind::Net,
            RuleShape::Cap => RuleKind::Cap,
            RuleShape::Sys => RuleKind::Sys,
        }
    }
}

/// The rule names other than the file-access sugar (`read(...)`, ...).
const RULE_KINDS: [(&str, RuleShape); 7] = [
    ("fs", RuleShape::Fs),
    ("proc", RuleShape::Proc),
    ("signal", RuleShape::Signal),
    ("ptrace", RuleShape::Ptrace),
    ("net", RuleShape::Net),
    ("cap", RuleShape::Cap),
    ("sys", RuleShape::Sys),
];

/// Every rule name with its shape: the kinds, then the file-access flags,
/// each also a rule name (`read(PATH)`).
fn rules() -> impl Iterator<Item = (&'static str, RuleShape)> {
    RULE_KINDS.into_iter().chain(
        RuleKind::File
            .flags()
            .iter()
            .map(|(name, bit)| (*name, RuleShape::FsSugar(*bit))),
    )
}

/// Every rule name, with its shape.
pub fn rule_names() -> Vec<(&'static str, RuleShape)> {
    rules().collect()
}

/// The shape of the rule named `name` (asked for every rule of a policy,
/// so no list is built).
pub fn rule_shape(name: &str) -> Option<RuleShape> {
    rules().find(|(n, _)| *n == name).map(|(_, shape)| shape)
}

/// The word that grants every access of a kind.
pub const ANY: &str = "any";

/// `self`: the profile's own executable.
pub const SELF: &str = "self";

/// Outer attributes: (name, takes a NAME argument).
pub const ATTRIBUTES: &[(&str, bool)] = &[
    ("allow", false),
    ("audit", false),
    ("deny", false),
    ("quiet", false),
    ("taint", false),
    ("func", true),
    ("kfunc", true),
];

/// Inner attributes (`#![...]`): (name, takes an argument).
pub const INNER_ATTRIBUTES: &[(&str, bool)] = &[
    ("profile", true),
    ("complain", false),
    ("enforce", false),
    ("include", true),
];
