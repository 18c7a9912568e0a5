//! The decoded image: what a policy compiles to, and what the loader needs.

use bpfbox_abi as abi;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Image {
    /// Sorted by executable path.
    pub profiles: Vec<Profile>,
    /// The policy file it was compiled from, as given to the compiler.
    pub source: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    /// Absolute path of the executable the profile confines.
    pub exe: String,
    /// Log and allow instead of denying.
    pub complain: bool,
    /// The profile has taint rules, so processes start untainted.
    pub taint_rules: bool,
    /// What the binary was when `#[func]` offsets were computed.
    pub identity: Option<Identity>,
    /// Function scopes; a rule's scope `n > 0` is `scopes[n - 1]`.
    pub scopes: Vec<Scope>,
    pub rules: Vec<Rule>,
}

impl Profile {
    /// The flags bpfbox.h's `enum bpfbox_profile_flags` gives this
    /// profile: what the image stores and the kernel reads.
    pub fn flags(&self) -> u32 {
        use abi::bpfbox_profile_flags::*;
        let mut flags = 0;
        if self.complain {
            flags |= BPFBOX_PROFILE_COMPLAIN;
        }
        if self.taint_rules {
            flags |= BPFBOX_PROFILE_TAINT_RULES;
        }
        flags
    }

    /// The flags an image may hold (the loader adds others).
    pub const IMAGE_FLAGS: u32 = abi::bpfbox_profile_flags::BPFBOX_PROFILE_COMPLAIN
        | abi::bpfbox_profile_flags::BPFBOX_PROFILE_TAINT_RULES;
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Identity {
    /// The GNU build-id note.
    BuildId(Vec<u8>),
    /// SHA-256 of the whole file, for binaries without a build-id.
    Sha256([u8; 32]),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScopeKind {
    /// `#[func]`: a userspace function of the profiled binary.
    User,
    /// `#[kfunc]`: a kernel function.
    Kernel,
}

impl ScopeKind {
    /// bpfbox.h's `enum bpfbox_scope_kind`.
    pub fn code(self) -> u32 {
        use abi::bpfbox_scope_kind::*;
        match self {
            ScopeKind::User => BPFBOX_SCOPE_USER,
            ScopeKind::Kernel => BPFBOX_SCOPE_KERNEL,
        }
    }

    pub fn from_code(code: u32) -> Option<ScopeKind> {
        [ScopeKind::User, ScopeKind::Kernel]
            .into_iter()
            .find(|k| k.code() == code)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope {
    pub kind: ScopeKind,
    /// The name as written in the policy.
    pub name: String,
    /// File offset of the function's entry (user scopes; 0 for kernel ones).
    pub offset: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleKind {
    File,
    Subtree,
    Glob,
    Proc,
    Signal,
    Ptrace,
    Net,
    /// One capability: `cap(net_bind_service)`.
    Cap,
    /// Privileged operations that are not one capability: `sys(sysvipc)`.
    Sys,
}

impl RuleKind {
    pub const ALL: [RuleKind; 9] = [
        RuleKind::File,
        RuleKind::Subtree,
        RuleKind::Glob,
        RuleKind::Proc,
        RuleKind::Signal,
        RuleKind::Ptrace,
        RuleKind::Net,
        RuleKind::Cap,
        RuleKind::Sys,
    ];

    pub fn code(self) -> u8 {
        use abi::bpfbox_rule_kind::*;
        (match self {
            RuleKind::File => BPFBOX_RULE_FILE,
            RuleKind::Subtree => BPFBOX_RULE_SUBTREE,
            RuleKind::Glob => BPFBOX_RULE_GLOB,
            RuleKind::Proc => BPFBOX_RULE_PROC,
            RuleKind::Signal => BPFBOX_RULE_SIGNAL,
            RuleKind::Ptrace => BPFBOX_RULE_PTRACE,
            RuleKind::Net => BPFBOX_RULE_NET,
            RuleKind::Cap => BPFBOX_RULE_CAP,
            RuleKind::Sys => BPFBOX_RULE_SYS,
        }) as u8
    }

    pub fn from_code(code: u8) -> Option<RuleKind> {
        RuleKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The kind's name, as bpfbox.h's `enum bpfbox_rule_kind` gives it.
    pub fn name(self) -> &'static str {
        let code = u32::from(self.code());
        abi::vocabulary::RULE_KIND_NAMES
            .iter()
            .find(|(_, c)| *c == code)
            .map(|(name, _)| *name)
            .expect("bpfbox.h names every rule kind")
    }

    /// The access flags of this kind of rule, as (name, bit).
    pub fn flags(self) -> &'static [(&'static str, u32)] {
        use abi::vocabulary::*;
        match self {
            RuleKind::File | RuleKind::Subtree | RuleKind::Glob | RuleKind::Proc => FS_FLAGS,
            RuleKind::Signal => SIGNAL_FLAGS,
            RuleKind::Ptrace => PTRACE_FLAGS,
            RuleKind::Net => NET_FLAGS,
            RuleKind::Cap => CAP_FLAGS,
            RuleKind::Sys => SYS_FLAGS,
        }
    }

    /// Every bit this kind of rule may use.
    pub fn all_bits(self) -> u32 {
        self.flags().iter().fold(0, |acc, (_, bit)| acc | bit)
    }

    /// What `any` grants: every flag but fs `connect`, which reaches the
    /// server behind a socket file (`fs("/tmp/**", any)` must not connect
    /// to every X11 or tmux socket there): a socket is granted by name.
    pub fn any_bits(self) -> u32 {
        match self {
            RuleKind::File | RuleKind::Subtree | RuleKind::Glob | RuleKind::Proc => {
                self.all_bits() & !bpfbox_abi::bpfbox_fs_access::BPFBOX_FS_CONNECT
            }
            _ => self.all_bits(),
        }
    }
}

/// What a rule is about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// A path (file), directory (subtree) or pattern (glob).
    Path(String),
    /// Processes running an executable: `None` is the profile's own (`self`).
    Exe(Option<String>),
    /// An address family number (AF_*).
    Family(u16),
    /// A capability number (CAP_*).
    Capability(u16),
    /// No object: the rule is about the process itself (`sys`).
    Nothing,
}

/// Rule records store access masks in 16 bits (spec.md, "The image
/// format"); the header's enums are wider. A flag past bit 15 must change
/// the format, so it stops the build instead of being cut silently.
const fn fits_in_a_record(flags: &[(&str, u32)]) -> bool {
    let mut i = 0;
    while i < flags.len() {
        if flags[i].1 > u16::MAX as u32 {
            return false;
        }
        i += 1;
    }
    true
}

const _: () = {
    use abi::vocabulary::*;
    assert!(
        fits_in_a_record(FS_FLAGS),
        "an fs flag does not fit a rule record's u16"
    );
    assert!(
        fits_in_a_record(SIGNAL_FLAGS),
        "a signal does not fit a rule record's u16"
    );
    assert!(
        fits_in_a_record(PTRACE_FLAGS),
        "a ptrace flag does not fit a rule record's u16"
    );
    assert!(
        fits_in_a_record(NET_FLAGS),
        "a net flag does not fit a rule record's u16"
    );
    assert!(
        fits_in_a_record(SYS_FLAGS),
        "a sys flag does not fit a rule record's u16"
    );
    assert!(
        fits_in_a_record(CAP_FLAGS),
        "the cap flag does not fit a rule record's u16"
    );
    assert!(
        fits_in_a_record(CAPABILITY_NAMES),
        "a capability number does not fit a rule record's object"
    );
};

/// The one access a `cap` rule's record grants: using the capability.
pub const CAP_FLAGS: &[(&str, u32)] = &[("use", bpfbox_abi::BPFBOX_CAP_USE)];

/// Capability names (`net_bind_service`) and numbers, from the shared header.
pub fn capability_names() -> &'static [(&'static str, u32)] {
    abi::vocabulary::CAPABILITY_NAMES
}

pub fn capability_name(number: u16) -> Option<&'static str> {
    capability_names()
        .iter()
        .find(|(_, n)| *n == u32::from(number))
        .map(|(name, _)| *name)
}

/// The four sets of a rule, as access bitmasks of its kind, and which of
/// the denials are not logged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Masks {
    pub allow: u16,
    pub taint: u16,
    pub audit: u16,
    pub deny: u16,
    /// The deny bits of `#[quiet]` rules only: denied with no event.
    pub quiet: u16,
}

impl Masks {
    /// Both rules' sets. A denial is quiet only if every rule denying it
    /// is: a loud `#[deny]` on the same access wins.
    pub fn union(self, other: Masks) -> Masks {
        let loud = self.loud() | other.loud();
        Masks {
            allow: self.allow | other.allow,
            taint: self.taint | other.taint,
            audit: self.audit | other.audit,
            deny: self.deny | other.deny,
            quiet: (self.quiet | other.quiet) & !loud,
        }
    }

    /// The deny bits whose denials are logged.
    pub fn loud(self) -> u16 {
        self.deny & !self.quiet
    }

    pub fn all(self) -> u16 {
        self.allow | self.taint | self.audit | self.deny
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rule {
    /// 0: always in force; n: only inside the profile's `scopes[n - 1]`.
    pub scope: u16,
    pub kind: RuleKind,
    pub target: Target,
    pub masks: Masks,
    pub lines: Lines,
}

/// Where in the policy a rule record's sets come from, for saying in an
/// event which rule decided. Lines count from 1; 0 is none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lines {
    /// The first taint rule, else audit, else allow rule.
    pub line: u32,
    /// The first loud `#[deny]` rule, else the first `#[quiet]` one.
    pub deny_line: u32,
}

impl Lines {
    /// The lines of one rule at `line` with sets `masks`.
    pub fn of_rule(line: u32, masks: Masks) -> Lines {
        Lines {
            line,
            deny_line: if masks.deny != 0 { line } else { 0 },
        }
    }

    /// Takes in the lines of sets `masks` joining sets `merged` so far, in
    /// order (source order in the compiler, image order in the loader): the
    /// first deny rule, and the first taint or audit rule, else the first.
    pub fn merge(&mut self, other: Lines, masks: Masks, merged: Masks) {
        // A logged denial cites a loud #[deny], not a #[quiet] one.
        if self.deny_line == 0 || (masks.loud() != 0 && merged.loud() == 0) {
            self.deny_line = other.deny_line;
        }
        let marks = |m: Masks| (m.taint | m.audit) != 0;
        if self.line == 0 || (marks(masks) && !marks(merged)) {
            self.line = other.line;
        }
    }
}

impl Image {
    pub fn rule_count(&self) -> usize {
        self.profiles.iter().map(|p| p.rules.len()).sum()
    }
}
