//! Diagnostics as data: what is wrong, where (byte spans), how to fix it.
//! Rendering (codespan, JSON, LSP) happens at the edges.

use std::borrow::Cow;

use crate::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

macro_rules! codes {
    ($($variant:ident = $code:literal, $severity:ident, $summary:literal;)*) => {
        /// A stable code per kind of diagnostic. Codes are never reused; the
        /// list with explanations is in spec.md ("Diagnostics").
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }

            /// One line on what the code means.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }
        }
    };
}

codes! {
    InvalidUtf8 = "E0001", Error, "the file is not valid UTF-8";
    UnexpectedChar = "E0002", Error, "a character that starts no token";
    UnterminatedString = "E0003", Error, "a string without its closing quote on the same line";
    UnterminatedComment = "E0004", Error, "a /* comment without */";
    Syntax = "E0005", Error, "a token where the grammar expects something else";
    UnclosedDelimiter = "E0006", Error, "a ( or { that is never closed";
    UnmatchedDelimiter = "E0007", Error, "a ) or } with no opening partner";
    UnquotedPath = "E0008", Error, "a path written without quotes";
    InvalidEscape = "E0009", Error, "an unknown escape sequence in a string";
    RuleOutsideProfile = "E0100", Error, "a rule before any #![profile] line";
    UnknownRule = "E0101", Error, "a rule kind that does not exist";
    ArgumentCount = "E0102", Error, "a rule with the wrong number of arguments";
    ArgumentType = "E0103", Error, "a path where flags are expected, or the reverse";
    UnknownFlag = "E0104", Error, "an access flag that the rule kind does not have";
    UnknownFamily = "E0105", Error, "an address family that does not exist";
    UnknownAttribute = "E0106", Error, "an attribute that does not exist";
    AttributeArgument = "E0107", Error, "an attribute missing its argument, or given one it does not take";
    DanglingAttribute = "E0108", Error, "an attribute with no rule or block after it";
    InvalidPath = "E0109", Error, "a path that is not absolute and normal";
    InvalidGlob = "E0110", Error, "a wildcard that is not a whole-component ** or a * inside one component";
    DuplicateProfile = "E0111", Error, "two profiles for the same executable";
    MisplacedProfile = "E0112", Error, "a #![...] line inside a block";
    UnknownInnerAttribute = "E0113", Error, "a #![...] line that does not exist";
    ConflictingActions = "E0114", Error, "#[allow] with #[deny] or #[quiet], or #[audit] with #[quiet], on the same rule";
    UnknownSymbol = "E0115", Error, "a #[func] naming no function of the profiled binary";
    UnreadableBinary = "E0116", Error, "the profiled binary cannot be read as ELF";
    TooManyScopes = "E0117", Error, "more function scopes than the image can number";
    UnknownCapability = "E0118", Error, "a capability that does not exist";
    UnknownFragment = "E0119", Error, "an #![include] of a bundled fragment that does not exist";
    FragmentError = "E0120", Error, "an #![include] whose file cannot be read, includes itself, or has errors";
    DuplicateRule = "W0001", Warning, "the same rule twice";
    ShadowedRule = "W0002", Warning, "a rule already granted by a ** rule";
    DenyCancelsAllow = "W0003", Warning, "a #[deny] that takes back an #[allow]";
    MissingPath = "W0004", Warning, "a path that does not exist on this machine";
    EmptyProfile = "W0005", Warning, "a profile with no rules: it denies everything";
    AmbiguousSymbol = "W0006", Warning, "a #[func] name that matches several functions";
    ReplacedFile = "W0007", Warning, "a rule that writes one `.log`, `.pid` or `.lock` file";
}

/// A diagnostic's words: most are fixed texts, borrowed rather than
/// copied (a large policy draws thousands of the same warning, each
/// analysed again on every keystroke in the editor).
pub type Words = Cow<'static, str>;

/// A secondary place the diagnostic points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: Words,
}

/// A machine-applicable fix: replace each span with its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    pub title: Words,
    pub edits: Vec<(Span, Words)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub message: Words,
    /// The exact place of the problem, with a short label.
    pub span: Span,
    pub label: Words,
    pub related: Vec<Label>,
    /// What to do about it, in words.
    pub help: Option<Words>,
    pub fix: Option<Fix>,
}

impl Diagnostic {
    pub fn new(code: Code, span: Span, message: impl Into<Words>) -> Diagnostic {
        Diagnostic {
            code,
            message: message.into(),
            span,
            label: Cow::Borrowed(""),
            related: Vec::new(),
            help: None,
            fix: None,
        }
    }

    pub fn severity(&self) -> Severity {
        self.code.severity()
    }

    pub fn with_label(mut self, label: impl Into<Words>) -> Diagnostic {
        self.label = label.into();
        self
    }

    pub fn with_related(mut self, span: Span, message: impl Into<Words>) -> Diagnostic {
        self.related.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    pub fn with_help(mut self, help: impl Into<Words>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// A fix that replaces one span; its title doubles as the help text when
    /// there is none.
    pub fn with_fix(
        mut self,
        title: impl Into<Words>,
        span: Span,
        text: impl Into<Words>,
    ) -> Diagnostic {
        let title = title.into();
        if self.help.is_none() {
            self.help = Some(title.clone());
        }
        self.fix = Some(Fix {
            title,
            edits: vec![(span, text.into())],
        });
        self
    }

    /// The fix for a misspelling: "did you mean `best`?", writing `best`
    /// at `span` (`best` from [`did_you_mean`]).
    pub fn with_suggestion(self, span: Span, best: &str) -> Diagnostic {
        self.with_fix(format!("did you mean `{best}`?"), span, best.to_string())
    }
}

/// The closest candidate to a misspelt word, if one is close enough to be
/// what was meant.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word_lower = word.to_lowercase();
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        let distance = strsim::osa_distance(&word_lower, &candidate.to_lowercase());
        // One edit for short words, about a third of the letters for longer ones.
        let limit = (candidate.chars().count().max(word.chars().count()) / 3).max(1);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}
