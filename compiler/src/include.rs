//! `#![include ...]`: rules shared between policies. A fragment is a file
//! of rules (blocks and attributes too, no profile line) that joins the
//! profile it is included in; bpfbox ships a few for what most programs
//! need (BUNDLED). `c_runtime` is made for the profile: its binary's
//! dynamic loader and libraries, found on this machine.
//!
//! A fragment's rules take the include line's place: diagnostics about
//! them point there, and events cite its line.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use bpfbox_grammar::{Code, Diagnostic, Severity, Span};

use crate::model::{Fragment, IncludeDef, Policy, Profile, RuleDef, ScopeDef};
use crate::render::line_column;
use crate::Options;

/// A fragment bpfbox ships.
pub struct Bundled {
    pub name: &'static str,
    /// What it allows, for people (hover, --help).
    pub doc: &'static str,
    /// Its rules; `None` for one made for the profile.
    pub text: Option<&'static str>,
}

pub const BUNDLED: &[Bundled] = &[
    Bundled {
        name: "c_runtime",
        doc: "the program's dynamic loader and the libraries it links (PT_INTERP and DT_NEEDED of its binary, and theirs), as found on this machine, with /etc/ld.so.cache",
        text: None,
    },
    Bundled {
        name: "locale",
        doc: "locales and time zones: /etc/localtime, zoneinfo, locale archives and message catalogs",
        text: Some(include_str!("../fragments/locale.policy")),
    },
    Bundled {
        name: "name_service",
        doc: "user, group, host and service names through /etc/nsswitch.conf and its NSS modules (not DNS)",
        text: Some(include_str!("../fragments/name_service.policy")),
    },
    Bundled {
        name: "tls_trust",
        doc: "the system's TLS trust store (/etc/ssl/certs, ca-certificates) and OpenSSL's configuration",
        text: Some(include_str!("../fragments/tls_trust.policy")),
    },
];

pub fn bundled(name: &str) -> Option<&'static Bundled> {
    BUNDLED.iter().find(|b| b.name == name)
}

/// Includes nested deeper than this are refused (a cycle is caught
/// before, by name).
const MAX_DEPTH: usize = 16;

/// Fragments read for one profile, all includes and nesting counted.
const MAX_FRAGMENTS: usize = 256;

/// Multiarch directory of this build's target, for bundled fragments.
const MULTIARCH: &str = if cfg!(target_arch = "aarch64") {
    "aarch64-linux-gnu"
} else {
    "x86_64-linux-gnu"
};

/// Adds each profile's included rules to it, and says what went wrong
/// at the include line.
pub fn expand(policy: &mut Policy, options: &Options, diagnostics: &mut Vec<Diagnostic>) {
    let base = options
        .source
        .and_then(Path::parent)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    for profile in &mut policy.profiles {
        // Fragments read for this profile: a policy that includes the
        // same file many times over (a diamond 16 deep) stops here.
        let mut walk = Walk {
            chain: Vec::new(),
            budget: MAX_FRAGMENTS,
        };
        for include in profile.includes.clone() {
            // The policy itself: a fragment including it is a cycle.
            walk.chain = options.source.map(normal).into_iter().collect();
            match fragment_rules(&profile.exe, &include.fragment, &base, options, &mut walk) {
                Ok(included) => {
                    for warning in &included.warnings {
                        diagnostics.push(
                            Diagnostic::new(warning.0, include.arg_span, warning.1.clone())
                                .with_label("in this fragment"),
                        );
                    }
                    add(profile, &include, included);
                }
                Err(error) => diagnostics.extend(error.at(&include)),
            }
        }
    }
}

/// Where an expansion is: the files being included (for cycles), and how
/// many more fragments one profile may read.
struct Walk {
    chain: Vec<PathBuf>,
    budget: usize,
}

/// A fragment's rules, checked, with the function scopes they name.
struct Included {
    rules: Vec<RuleDef>,
    scopes: Vec<ScopeDef>,
    bundled: bool,
    /// Warnings found in it, as (code, "file:line:col: message").
    warnings: Vec<(Code, String)>,
}

/// Why an include gives no rules: one message per problem.
struct IncludeError {
    messages: Vec<String>,
    help: String,
}

impl IncludeError {
    fn new(message: String, help: impl Into<String>) -> IncludeError {
        IncludeError {
            messages: vec![message],
            help: help.into(),
        }
    }

    fn at(&self, include: &IncludeDef) -> Vec<Diagnostic> {
        self.messages
            .iter()
            .map(|message| {
                Diagnostic::new(Code::FragmentError, include.arg_span, message.clone())
                    .with_label("included here")
                    .with_help(self.help.clone())
            })
            .collect()
    }
}

fn fragment_rules(
    exe: &str,
    fragment: &Fragment,
    base: &Path,
    options: &Options,
    walk: &mut Walk,
) -> Result<Included, IncludeError> {
    if walk.budget == 0 {
        return Err(IncludeError::new(
            format!("more than {MAX_FRAGMENTS} fragments included in one profile"),
            "include each fragment once",
        ));
    }
    walk.budget -= 1;
    let (name, text, dir, bundled) = match fragment {
        Fragment::Bundled(name) => {
            let text = match bundled(name).and_then(|b| b.text) {
                Some(text) => text.replace("{multiarch}", MULTIARCH),
                None => c_runtime(exe, options)?,
            };
            (name.clone(), text, base.to_path_buf(), true)
        }
        Fragment::File(path) => {
            let path = normal(&base.join(path));
            if walk.chain.contains(&path) {
                return Err(IncludeError::new(
                    format!("{} includes itself", path.display()),
                    "remove the include that closes the circle",
                ));
            }
            if walk.chain.len() >= MAX_DEPTH {
                return Err(IncludeError::new(
                    format!(
                        "includes nested more than {MAX_DEPTH} deep, at {}",
                        path.display()
                    ),
                    "include fragments from fewer levels",
                ));
            }
            let text = (options.read_source)(&path).map_err(|e| {
                IncludeError::new(
                    format!(
                        "cannot read {}: {}",
                        path.display(),
                        crate::elf::io_message(&e)
                    ),
                    "a relative path is taken from the including file's directory",
                )
            })?;
            let dir = path
                .parent()
                .map_or_else(|| base.to_path_buf(), Path::to_path_buf);
            walk.chain.push(path.clone());
            (path.display().to_string(), text, dir, false)
        }
    };
    let included = check_fragment(exe, &name, &text, &dir, bundled, options, walk);
    if !bundled {
        walk.chain.pop();
    }
    included
}

/// Checks a fragment as the body of `exe`'s profile.
fn check_fragment(
    exe: &str,
    name: &str,
    text: &str,
    dir: &Path,
    bundled: bool,
    options: &Options,
    walk: &mut Walk,
) -> Result<Included, IncludeError> {
    let header = format!(
        "#![profile \"{}\"]\n",
        exe.replace('\\', "\\\\").replace('"', "\\\"")
    );
    let full = format!("{header}{text}");
    let (ast, mut diagnostics) = crate::parse(&full);
    let (policy, semantic) = crate::check::check(&full, &ast);
    diagnostics.extend(semantic);
    let at = |span: Span| {
        let (line, column) = line_column(&full, span.start);
        format!("{name}:{}:{column}", line - 1)
    };
    if let Some(mode) = ast.items.iter().find_map(|item| match item {
        bpfbox_grammar::Item::Inner(a)
            if matches!(a.name.name.as_str(), "complain" | "enforce") =>
        {
            Some(a)
        }
        _ => None,
    }) {
        return Err(IncludeError::new(
            format!(
                "{}: a fragment cannot set the profile's mode",
                at(mode.span)
            ),
            "`#![complain]` and `#![enforce]` belong in the policy, after its profile line",
        ));
    }
    if let Some(second) = policy.profiles.get(1) {
        return Err(IncludeError::new(
            format!(
                "{}: a fragment cannot start a profile",
                at(second.header_span)
            ),
            "a fragment holds rules for the profile that includes it",
        ));
    }
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.severity() == Severity::Error)
        .map(|d| format!("{}: {}", at(d.span), d.message))
        .collect();
    if !errors.is_empty() {
        return Err(IncludeError {
            messages: errors,
            help: format!("fix {name}: its rules are left out until then"),
        });
    }
    let Some(Profile {
        rules,
        scopes,
        includes,
        ..
    }) = policy.profiles.into_iter().next()
    else {
        return Ok(Included {
            rules: Vec::new(),
            scopes: Vec::new(),
            bundled,
            warnings: Vec::new(),
        });
    };
    let mut included = Included {
        rules,
        scopes,
        bundled,
        warnings: diagnostics
            .iter()
            .map(|d| (d.code, format!("{}: {}", at(d.span), d.message)))
            .collect(),
    };
    // Its own includes, relative to it.
    for include in &includes {
        let inner = fragment_rules(exe, &include.fragment, dir, options, walk).map_err(|e| {
            IncludeError {
                messages: e
                    .messages
                    .iter()
                    .map(|m| format!("{}: {m}", at(include.arg_span)))
                    .collect(),
                help: e.help,
            }
        })?;
        let offset = included.scopes.len();
        included.scopes.extend(inner.scopes);
        included.warnings.extend(inner.warnings);
        included
            .rules
            .extend(inner.rules.into_iter().map(|mut rule| {
                rule.scopes.iter_mut().for_each(|s| *s += offset);
                rule.bundled |= inner.bundled;
                rule
            }));
    }
    Ok(included)
}

/// The fragment's rules join the profile in the include line's place.
fn add(profile: &mut Profile, include: &IncludeDef, included: Included) {
    let scopes: Vec<usize> = included
        .scopes
        .into_iter()
        .map(|scope| {
            match profile
                .scopes
                .iter()
                .position(|s| s.kind == scope.kind && s.name == scope.name)
            {
                Some(position) => position,
                None => {
                    profile.scopes.push(ScopeDef {
                        uses: vec![include.arg_span],
                        symbol: None,
                        ..scope
                    });
                    profile.scopes.len() - 1
                }
            }
        })
        .collect();
    for mut rule in included.rules {
        rule.scopes = rule.scopes.iter().map(|&s| scopes[s]).collect();
        rule.span = include.span;
        rule.target_span = include.arg_span;
        rule.line = include.line;
        rule.bundled |= included.bundled;
        profile.rules.push(rule);
    }
}

/// `path` without `.` and with `..` applied where it can be (a leading
/// `..` of a relative path stays): one name per file, for telling a cycle.
fn normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            other => out.push(other),
        }
    }
    out
}

/// Directories the dynamic loader searches after a binary's own runpath.
const LIBRARY_DIRS: &[&str] = &[
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib/aarch64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
];

/// `c_runtime` for `exe`: read, exec and getattr of its dynamic loader
/// and, transitively, the libraries it needs, found where the loader
/// would find them; read of the loader's cache. Nothing for a static
/// binary, or one the source of binaries does not have yet (an editor).
fn c_runtime(exe: &str, options: &Options) -> Result<String, IncludeError> {
    let files = c_runtime_files(exe, options.binaries, options.path_exists).map_err(|e| {
        let help = match e {
            RuntimeError::Binary(_) => format!(
                "compile where {exe} is installed, or point at a copy: `--binary {exe}=PATH`"
            ),
            RuntimeError::Missing(_) => {
                "compile where the program's libraries are installed".into()
            }
        };
        IncludeError::new(format!("c_runtime: {e}"), help)
    })?;
    let mut text = String::new();
    for file in files {
        let access = if file == LOADER_CACHE {
            "read|getattr"
        } else {
            C_RUNTIME_ACCESS
        };
        text.push_str(&format!("fs(\"{file}\", {access})\n"));
    }
    Ok(text)
}

/// The access `c_runtime` gives the loader and the libraries.
pub const C_RUNTIME_ACCESS: &str = "read|exec|getattr";

/// The dynamic loader's cache, which `c_runtime` lets it read.
pub const LOADER_CACHE: &str = "/etc/ld.so.cache";

/// Why the C runtime of a binary could not be listed.
pub enum RuntimeError {
    Binary(String),
    Missing(Vec<String>),
}

impl std::fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RuntimeError::Binary(e) => write!(f, "{e}"),
            RuntimeError::Missing(names) => {
                write!(f, "not found on this machine: {}", names.join(", "))
            }
        }
    }
}

/// The files `c_runtime` names for `exe`: its dynamic loader, the
/// libraries it needs (transitively) and the loader's cache. Empty for a
/// static binary, or one `binaries` does not have yet.
pub fn c_runtime_files(
    exe: &str,
    binaries: &dyn crate::BinarySource,
    path_exists: &dyn Fn(&str) -> bool,
) -> Result<BTreeSet<String>, RuntimeError> {
    let Some(binary) = binaries.binary(exe) else {
        return Ok(BTreeSet::new());
    };
    let binary = binary.map_err(|e| RuntimeError::Binary(e.to_string()))?;
    let Some(interpreter) = &binary.interpreter else {
        return Ok(BTreeSet::new());
    };
    let mut files: BTreeSet<String> = BTreeSet::from([interpreter.clone()]);
    let mut missing: Vec<String> = Vec::new();
    // (library name, who needs it, that one's runpath)
    let exe_dir = Path::new(exe)
        .parent()
        .unwrap_or(Path::new("/"))
        .to_path_buf();
    let mut queue: Vec<(String, String, Vec<String>, PathBuf)> = binary
        .needed
        .iter()
        .map(|n| {
            (
                n.clone(),
                exe.to_string(),
                binary.runpath.clone(),
                exe_dir.clone(),
            )
        })
        .collect();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    while let Some((name, needer, runpath, origin)) = queue.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let dirs = runpath
            .iter()
            .map(|d| d.replace("$ORIGIN", &origin.to_string_lossy()))
            .chain(LIBRARY_DIRS.iter().map(|d| d.to_string()));
        let found = if name.contains('/') {
            path_exists(&name).then(|| name.clone())
        } else {
            dirs.map(|d| format!("{}/{name}", d.trim_end_matches('/')))
                .find(|p| path_exists(p))
        };
        let Some(path) = found else {
            missing.push(format!("{name} (needed by {needer})"));
            continue;
        };
        if let Some(Ok(library)) = binaries.library(&path) {
            let dir = Path::new(&path)
                .parent()
                .unwrap_or(Path::new("/"))
                .to_path_buf();
            queue.extend(library.needed.iter().map(|n| {
                (
                    n.clone(),
                    path.clone(),
                    library.runpath.clone(),
                    dir.clone(),
                )
            }));
        }
        files.insert(path);
    }
    if !missing.is_empty() {
        return Err(RuntimeError::Missing(missing));
    }
    files.insert(LOADER_CACHE.to_string());
    Ok(files)
}

/// Lints as the policy's text should show them: about a bundled
/// fragment's rules, none (they are generic: a path missing here, a rule
/// the policy repeats); about a file fragment's, without fixes (they would
/// edit the include line) and, for duplicates, none (sharing is the point).
pub fn of_policy_text(policy: &Policy, lints: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let included: Vec<(Span, bool)> = policy
        .profiles
        .iter()
        .flat_map(|p| &p.includes)
        .map(|i| (i.span, matches!(i.fragment, Fragment::Bundled(_))))
        .collect();
    let within = |d: &Diagnostic| {
        included
            .iter()
            .find(|(span, _)| span.contains(d.span.start) && d.span.end <= span.end)
            .map(|(_, bundled)| *bundled)
    };
    lints
        .into_iter()
        .filter_map(|mut d| match within(&d) {
            None => Some(d),
            Some(true) => None,
            Some(false) if matches!(d.code, Code::DuplicateRule | Code::ShadowedRule) => None,
            Some(false) => {
                d.fix = None;
                Some(d)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_applies_dots_and_keeps_a_leading_parent() {
        assert_eq!(
            normal(Path::new("./a/../b.policy")),
            PathBuf::from("b.policy")
        );
        assert_eq!(
            normal(Path::new("../base.policy")),
            PathBuf::from("../base.policy")
        );
        assert_eq!(normal(Path::new("./../../x")), PathBuf::from("../../x"));
        assert_eq!(normal(Path::new("/../etc/x")), PathBuf::from("/etc/x"));
        assert_eq!(normal(Path::new("sub/../../x")), PathBuf::from("../x"));
    }

    #[test]
    fn a_diamond_of_includes_stops_at_the_budget() {
        // Each level includes the next twice: 2^12 reads without a budget.
        let files: std::collections::HashMap<PathBuf, String> = (0..12)
            .map(|i| {
                let next = format!("#![include \"f{}.policy\"]\n", i + 1);
                let text = if i < 11 {
                    format!("{next}{next}")
                } else {
                    "read(\"/etc/hosts\")\n".into()
                };
                (PathBuf::from(format!("./f{i}.policy")), text)
            })
            .collect();
        let read = |path: &Path| {
            files
                .get(&normal(path))
                .or_else(|| files.get(&Path::new(".").join(path)))
                .cloned()
                .ok_or_else(|| std::io::Error::other("no such fragment"))
        };
        let options = Options {
            read_source: &read,
            check_paths: false,
            ..Options::default()
        };
        let analysis = crate::analyze(
            "#![profile \"/usr/bin/env\"]\n#![include \"f0.policy\"]\n",
            &options,
        );
        assert!(
            analysis
                .diagnostics
                .iter()
                .any(|d| d.message.contains("more than 256 fragments")),
            "{:?}",
            analysis.diagnostics
        );
    }
}
