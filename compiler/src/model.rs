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
    /// Its `#![include ...]` lines, in order; their rules join `rules`
    /// when the policy is analyzed (include.rs).
    pub includes: Vec<IncludeDef>,
    /// From the profile line to the end of its last item.
    pub span: Span,
}

/// An `#![include ...]` line.
#[derive(Clone, Debug)]
pub struct IncludeDef {
    pub fragment: Fragment,
    /// The whole line, and its argument.
    pub span: Span,
    pub arg_span: Span,
    /// The line events cite for the fragment's rules.
    pub line: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fragment {
    /// `#![include "base.policy"]`: a file, relative to the including one.
    File(String),
    /// `#![include c_runtime]`: one bpfbox ships (include.rs, BUNDLED).
    Bundled(String),
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
    /// From a bundled fragment: generic, so paths missing here and rules
    /// the policy repeats are not warned about.
    pub bundled: bool,
}
