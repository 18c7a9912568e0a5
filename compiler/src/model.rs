//! The checked policy: profiles, their function scopes and rules, with the
//! spans that diagnostics and the language server point at.

use bpfbox_grammar::Span;
use bpfbox_image::{RuleKind, ScopeKind, Target};

use crate::elf::Symbol;

#[derive(Clone, Debug, Default)]
pub struct Policy {
    pub profiles: Vec<Profile>,
}

#[derive(Clone, Debug)]
pub struct Profile {
    pub exe: String,
    /// The path string in the profile line.
    pub exe_span: Span,
    /// The whole `#![profile "..."]` line.
    pub header_span: Span,
    pub complain: bool,
    pub scopes: Vec<ScopeDef>,
    pub rules: Vec<RuleDef>,
    /// From the profile line to the end of its last item.
    pub span: Span,
}

/// A function named by `#[func]` or `#[kfunc]` in a profile.
#[derive(Clone, Debug)]
pub struct ScopeDef {
    pub kind: ScopeKind,
    pub name: String,
    /// Every place the name is written.
    pub uses: Vec<Span>,
    /// The function in the profiled binary, once resolved.
    pub symbol: Option<Symbol>,
}

/// What the attributes in force give a rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Actions {
    pub allow: bool,
    pub deny: bool,
    /// `#[quiet]`: deny with no event.
    pub quiet: bool,
    pub audit: bool,
    pub taint: bool,
}

impl Actions {
    pub fn describe(self) -> String {
        let mut words = Vec::new();
        for (on, word) in [
            (self.allow, "allow"),
            (self.deny && !self.quiet, "deny"),
            (self.quiet, "quiet"),
            (self.audit, "audit"),
            (self.taint, "taint"),
        ] {
            if on {
                words.push(format!("#[{word}]"));
            }
        }
        words.join(" ")
    }
}

#[derive(Clone, Debug)]
pub struct RuleDef {
    pub kind: RuleKind,
    pub target: Target,
    /// Access bits of the kind.
    pub access: u16,
    pub actions: Actions,
    /// Indices into the profile's scopes; empty: always in force.
    pub scopes: Vec<usize>,
    /// The rule as written (without its attributes).
    pub span: Span,
    pub target_span: Span,
    /// The line the rule starts on, counted from 1: what events cite.
    pub line: u32,
}
