//! `bpfbox-learn`: write the policy that allows what audit events show a
//! program doing. A thin CLI over bpfbox_compiler::learn.
//!
//! Exit status: 0 success; 1 the policy given with --against has errors;
//! 2 usage or I/O error.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bpfbox_compiler::format;
use bpfbox_compiler::learn::{
    analyze_on_target, not_in, scope_name, write_policy, LearnOptions, Learned, Learner, Report,
    Scoping,
};
use bpfbox_compiler::render::plural;
use clap::Parser;

#[derive(Parser)]
#[command(
    name = "bpfbox-learn",
    version,
    about = "Write the bpfbox policy that allows what audit events show (bpfbox-load --follow --json, from a complain-mode run)",
    after_help = "Examples:\n  bpfbox-load --follow --json > run1.json        record (a #![complain] profile loaded)\n  bpfbox-learn run1.json run2.json -o app.policy  learn from one or more runs\n  bpfbox-learn --against app.policy run3.json     print only what app.policy lacks\n  bpfbox-learn --against app.policy --write run3.json   add it to app.policy\n\nEvents decided `complain` or `deny` are learned; audit and taint events were allowed already.\nExit status: 0 success, 1 the --against policy has errors, 2 usage or I/O error."
)]
struct Cli {
    /// Files of JSON events, one per line (`-` or none: standard input).
    #[arg(value_name = "EVENTS")]
    events: Vec<PathBuf>,

    /// Where to write the learned policy (default: standard output).
    #[arg(short, long, value_name = "OUT", conflicts_with = "against")]
    output: Option<PathBuf>,

    /// Learn only what POLICY does not grant yet: print the rules to add
    /// (with how many events asked for each, and which process first).
    #[arg(long, value_name = "POLICY")]
    against: Option<PathBuf>,

    /// With --against: add the new rules to POLICY in place, formatted.
    #[arg(long, requires = "against")]
    write: bool,

    /// The root directory of the machine the policy is for (an extracted
    /// image, a chroot): learned paths must exist there, and widened rules
    /// are counted there.
    #[arg(long, value_name = "DIR", default_value = "/")]
    root: PathBuf,

    /// Which rules to put in a `#[func NAME]` block when all their events
    /// came from inside function NAME of the program (and most of the
    /// program's did not): none, those naming keys and other secrets, or all.
    /// The others are suggested on standard error.
    #[arg(long, value_name = "RULES", default_value = "secrets")]
    scope: ScopeArg,

    /// Print no report on standard error.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ScopeArg {
    None,
    Secrets,
    All,
}

const EXIT_INVALID: u8 = 1;
const EXIT_USAGE: u8 = 2;

struct Failure {
    message: String,
    hint: String,
    code: u8,
}

fn io_failure(what: &str, path: &Path, error: std::io::Error) -> Failure {
    Failure {
        message: format!("cannot {what} {}: {error}", path.display()),
        hint: "check the path and its permissions".into(),
        code: EXIT_USAGE,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            eprintln!("  hint: {}", failure.hint);
            ExitCode::from(failure.code)
        }
    }
}

fn run(cli: &Cli) -> Result<(), Failure> {
    if !cli.root.is_dir() {
        return Err(Failure {
            message: format!("--root {} is not a directory", cli.root.display()),
            hint: "give the root of the target's file system, e.g. an extracted image".into(),
            code: EXIT_USAGE,
        });
    }
    let mut learner = Learner::default();
    let inputs: Vec<PathBuf> = if cli.events.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        cli.events.clone()
    };
    for input in &inputs {
        let reader: Box<dyn Read> = if input == Path::new("-") {
            Box::new(std::io::stdin())
        } else {
            Box::new(std::fs::File::open(input).map_err(|e| io_failure("read", input, e))?)
        };
        for line in BufReader::new(reader).split(b'\n') {
            let line = line.map_err(|e| io_failure("read", input, e))?;
            learner.line(&String::from_utf8_lossy(&line));
        }
    }
    let options = LearnOptions {
        root: cli.root.clone(),
        scope: match cli.scope {
            ScopeArg::None => Scoping::None,
            ScopeArg::Secrets => Scoping::Secrets,
            ScopeArg::All => Scoping::All,
        },
    };
    let (rules, report) = learner.rules(&options);
    match &cli.against {
        None => {
            let policy = write_policy(&rules, &options);
            write_out(cli.output.as_deref(), &policy)?;
            if !cli.quiet {
                print_report(&report, rules.len(), "");
            }
        }
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| io_failure("read", path, e))?;
            let analysis = analyze_on_target(&text, &cli.root, Some(path), false);
            if analysis.has_errors() {
                return Err(Failure {
                    message: format!(
                        "{} has errors, so what it grants is unclear",
                        path.display()
                    ),
                    hint: format!(
                        "run `bpfboxc --check {}` and fix them first",
                        path.display()
                    ),
                    code: EXIT_INVALID,
                });
            }
            let new = not_in(rules, &analysis.policy);
            if cli.write {
                if !new.is_empty() {
                    let updated = add_rules(&text, &analysis.policy, &new, &options);
                    std::fs::write(path, updated).map_err(|e| io_failure("write", path, e))?;
                }
            } else {
                print!("{}", as_additions(&new));
            }
            if !cli.quiet {
                let into = if cli.write {
                    format!(" added to {}", path.display())
                } else {
                    format!(" not in {}", path.display())
                };
                print_report(&report, new.len(), &into);
            }
        }
    }
    Ok(())
}

fn write_out(output: Option<&Path>, text: &str) -> Result<(), Failure> {
    match output {
        None => {
            print!("{text}");
            Ok(())
        }
        Some(path) if path == Path::new("-") => {
            print!("{text}");
            Ok(())
        }
        Some(path) => std::fs::write(path, text).map_err(|e| io_failure("write", path, e)),
    }
}

fn print_report(report: &Report, rules: usize, into: &str) {
    eprintln!(
        "learned {rules} rule{}{into} from {} event{}",
        plural(rules),
        report.events,
        plural(report.events)
    );
    for line in &report.widened {
        eprintln!("  widened: {line}");
    }
    for line in &report.skipped {
        eprintln!("  not learned: {line}");
    }
    for line in &report.suggested {
        eprintln!("  scope suggested: {line}");
    }
    if report.lines_not_events > 0 {
        eprintln!(
            "  {} line{} were not JSON events (record with `bpfbox-load --follow --json`)",
            report.lines_not_events,
            plural(report.lines_not_events)
        );
    }
}

/// The new rules as lines to add, under their profile and scope, each
/// with how many events asked for it and which process first.
fn as_additions(rules: &[Learned]) -> String {
    let mut out = String::new();
    let mut last: Option<(&str, &Option<String>)> = None;
    for rule in rules {
        if last.map(|(p, _)| p) != Some(rule.profile.as_str()) {
            out.push_str(&format!(" #![profile \"{}\"]\n", rule.profile));
        }
        if last != Some((rule.profile.as_str(), &rule.scope)) {
            if let Some(scope) = &rule.scope {
                out.push_str(&format!(" #[func {}]\n", scope_name(scope)));
            }
        }
        last = Some((&rule.profile, &rule.scope));
        out.push_str(&format!(
            "+{}    // {} event{}, first {}\n",
            rule.rule,
            rule.events,
            plural(rule.events),
            rule.first
        ));
    }
    out
}

/// `text` with `rules` added at the end of their profiles (new profiles at
/// the end), in the formatter's layout.
fn add_rules(
    text: &str,
    policy: &bpfbox_compiler::model::Policy,
    rules: &[Learned],
    options: &LearnOptions,
) -> String {
    let mut inserts: Vec<(usize, String)> = Vec::new();
    let mut new_profiles: Vec<Learned> = Vec::new();
    for profile in &policy.profiles {
        let mine: Vec<Learned> = rules
            .iter()
            .filter(|r| r.profile == profile.exe)
            .cloned()
            .collect();
        if mine.is_empty() {
            continue;
        }
        let block = write_policy(&mine, options);
        let body: String = block.lines().skip(1).map(|l| format!("{l}\n")).collect();
        inserts.push((profile.span.end, format!("\n{body}")));
    }
    for rule in rules {
        if !policy.profiles.iter().any(|p| p.exe == rule.profile) {
            new_profiles.push(rule.clone());
        }
    }
    let mut out = text.to_string();
    inserts.sort_by_key(|(at, _)| *at);
    for (at, insert) in inserts.into_iter().rev() {
        out.insert_str(at, &insert);
    }
    if !new_profiles.is_empty() {
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&write_policy(&new_profiles, options));
    }
    format::format(&out).unwrap_or(out)
}
