//! What the editor features know about a policy, in the compiler's terms:
//! byte offsets and spans in, plain data out. Nothing here speaks LSP;
//! `to_proto` is the one place that turns these answers into protocol
//! types and positions (UTF-16 there). The layering follows
//! rust-analyzer's `ide` crate and nil's: syntax -> ide -> protocol.

mod at;
mod completion;
mod definition;
mod highlight;
mod hover;
mod symbols;

pub use completion::{completions, Completion, CompletionKind, Insert};
pub use definition::{definition, workspace_profiles, Definition};
pub use highlight::{highlights, Highlight};
pub use hover::{hover, HoverInfo};
pub use symbols::{symbols, Symbol, SymbolKind};

use bpfbox_compiler::{Analysis, Diagnostic, Span};

/// One document as the features read it: its text and what the compiler
/// made of it.
#[derive(Clone, Copy)]
pub struct File<'a> {
    pub text: &'a str,
    pub analysis: &'a Analysis,
}

/// The diagnostics with a fix whose span touches `wanted`.
pub fn fixes_touching(file: File<'_>, wanted: Span) -> impl Iterator<Item = &Diagnostic> {
    file.analysis.diagnostics.iter().filter(move |d| {
        d.fix.is_some() && d.span.start <= wanted.end && wanted.start <= d.span.end
    })
}

/// The document formatted, or None when it does not parse.
pub fn formatted(file: File<'_>) -> Option<String> {
    bpfbox_compiler::format::format(file.text).ok()
}

#[cfg(test)]
mod tests;
