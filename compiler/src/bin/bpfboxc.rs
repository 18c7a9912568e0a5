//! `bpfboxc`: compile a bpfbox policy into a binary image, check it, format
//! it, or dump a compiled image. A thin CLI over the bpfbox-compiler library.
//!
//! Exit status: 0 compiled (warnings allowed); 1 the policy or image is
//! invalid; 2 usage or I/O error.

use std::collections::HashMap;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use bpfbox_compiler::elf::{io_message, ElfError, ElfInfo};
use bpfbox_compiler::render::{self, counts, plural};
use bpfbox_compiler::{
    analyze, exists_on_root, on_root, BinarySource, Code, Diagnostic, Options, Span,
};
use clap::{Parser, ValueEnum};
use codespan_reporting::term::termcolor::ColorChoice;

/// A policy of 10,000 rules is some 200,000 small allocations (tokens,
/// syntax nodes, strings): glibc's allocator was a fifth of the compile.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "bpfboxc",
    version,
    about = "Compile a bpfbox policy into a binary policy image for bpfbox-load",
    after_help = "Examples:\n  bpfboxc web.policy -o web.bbx        compile\n  bpfboxc --check web.policy           report problems, write nothing\n  bpfboxc web.policy --emit json -o -  print the compiled image as JSON\n  bpfboxc --dump web.bbx               print a compiled image as JSON\n  bpfboxc --fmt --write web.policy     rewrite in the canonical layout\n\nExit status: 0 success (warnings allowed), 1 errors in the policy or image, 2 usage or I/O error."
)]
struct Cli {
    /// The policy to compile, check or format (`-` reads standard input).
    #[arg(value_name = "FILE", required_unless_present = "dump")]
    file: Option<PathBuf>,

    /// Where to write the output (`-` for standard output). Default: FILE with
    /// the extension .bbx (or .json with --emit json).
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,

    /// What to write: the binary image, or its content as JSON.
    #[arg(long, value_enum, default_value_t = Emit::Image)]
    emit: Emit,

    /// Report diagnostics only; write nothing. With --fmt: exit 1 if FILE is
    /// not in the canonical layout.
    #[arg(long)]
    check: bool,

    /// Print the content of a compiled image as JSON, after validating it.
    #[arg(long, value_name = "IMAGE", conflicts_with_all = ["file", "fmt", "check"])]
    dump: Option<PathBuf>,

    /// Read the ELF binary for #[func] from PATH instead of the profile's own
    /// path, for compiling on a build machine. `EXE=PATH` applies to the
    /// profile of EXE only; repeatable.
    #[arg(long, value_name = "[EXE=]PATH")]
    binary: Vec<String>,

    /// How to print diagnostics: for people, or one JSON object per line
    /// (on standard output, or standard error when the output goes there).
    #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
    message_format: MessageFormat,

    /// Print FILE in the canonical layout instead of compiling it.
    #[arg(long)]
    fmt: bool,

    /// With --fmt: rewrite FILE in place.
    #[arg(long, requires = "fmt")]
    write: bool,

    /// Do not warn about paths that do not exist on this machine.
    #[arg(long)]
    no_path_check: bool,

    /// The root directory of the machine the policy is for (an extracted
    /// image, a chroot): paths are checked there, profiled binaries (unless
    /// --binary) and `#![include c_runtime]`'s libraries are read there.
    #[arg(long, value_name = "DIR", default_value = "/")]
    root: PathBuf,

    /// When to colour diagnostics.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,

    /// Print no summary line.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Emit {
    Image,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum MessageFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

const EXIT_INVALID: u8 = 1;
const EXIT_USAGE: u8 = 2;

/// A usage or I/O failure: one line of cause, one of hint.
struct Failure {
    message: String,
    hint: Option<String>,
    code: u8,
}

impl Failure {
    fn io(message: String, hint: impl Into<String>) -> Failure {
        Failure {
            message,
            hint: Some(hint.into()),
            code: EXIT_USAGE,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            if let Some(hint) = failure.hint {
                eprintln!("  hint: {hint}");
            }
            ExitCode::from(failure.code)
        }
    }
}

fn run(cli: &Cli) -> Result<u8, Failure> {
    if let Some(image) = &cli.dump {
        return dump(cli, image);
    }
    let file = cli
        .file
        .as_ref()
        .expect("clap requires FILE without --dump");
    let (name, bytes) = read_input(file)?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let at = error.utf8_error().valid_up_to();
            let lossy = String::from_utf8_lossy(error.as_bytes()).into_owned();
            let lossy_at = String::from_utf8_lossy(&error.as_bytes()[..at]).len();
            let end = lossy[lossy_at..]
                .chars()
                .next()
                .map_or(lossy_at, |c| lossy_at + c.len_utf8());
            let diagnostic = Diagnostic::new(
                Code::InvalidUtf8,
                Span::new(lossy_at, end),
                format!("invalid UTF-8 at byte {at}"),
            )
            .with_label("not UTF-8")
            .with_help("policies are UTF-8 text; is this the right file?");
            report(cli, &name, &lossy, &[diagnostic]);
            return Ok(EXIT_INVALID);
        }
    };
    if cli.fmt {
        return format(cli, file, &name, &text);
    }

    if !cli.root.is_dir() {
        return Err(Failure {
            message: format!("--root {}: not a directory", cli.root.display()),
            hint: Some("give the target's root directory: an extracted image or a chroot".into()),
            code: EXIT_USAGE,
        });
    }
    let binaries = CliBinaries::new(&cli.binary, &cli.root)?;
    let exists = |path: &str| exists_on_root(&cli.root, path);
    let options = Options {
        binaries: &binaries,
        check_paths: !cli.no_path_check,
        path_exists: &exists,
        path_root: Some(&cli.root),
        // Includes are relative to the policy's file (stdin: here).
        source: (file.as_os_str() != "-").then_some(file.as_path()),
        ..Options::default()
    };
    let analysis = analyze(&text, &options);
    report(cli, &name, &text, &analysis.diagnostics);
    let (errors, warnings) = counts(&analysis.diagnostics);
    let Some(mut image) = analysis.image() else {
        if !cli.quiet && cli.message_format == MessageFormat::Human {
            eprintln!(
                "error: could not compile `{name}`: {errors} error{}{}",
                plural(errors),
                if warnings > 0 {
                    format!(", {warnings} warning{}", plural(warnings))
                } else {
                    String::new()
                }
            );
        }
        return Ok(EXIT_INVALID);
    };
    // Events cite rules as `file:line`: the file as the user named it.
    image.source = Some(name.clone());
    if cli.check {
        if !cli.quiet && cli.message_format == MessageFormat::Human {
            eprintln!(
                "checked `{name}`: {} profile{}, no errors, {warnings} warning{}",
                image.profiles.len(),
                plural(image.profiles.len()),
                plural(warnings)
            );
        }
        return Ok(0);
    }
    let bytes = bpfbox_image::write(&image);
    let (out_path, contents) = match cli.emit {
        Emit::Image => (
            cli.output
                .clone()
                .unwrap_or_else(|| default_output(file, "bbx")),
            bytes.clone(),
        ),
        Emit::Json => {
            let mut json =
                serde_json::to_string_pretty(&bpfbox_image::to_json(&image, &bytes)).unwrap();
            json.push('\n');
            (
                cli.output
                    .clone()
                    .unwrap_or_else(|| default_output(file, "json")),
                json.into_bytes(),
            )
        }
    };
    write_output(&out_path, &contents)?;
    if !cli.quiet && cli.message_format == MessageFormat::Human {
        let rules = image.rule_count();
        let per_rule = if rules == 0 {
            0.0
        } else {
            bytes.len() as f64 / rules as f64
        };
        eprintln!(
            "compiled `{name}` -> {}: {} profile{}, {rules} rule{}, {} bytes ({per_rule:.1} bytes/rule){}",
            if out_path.as_os_str() == "-" { "<stdout>".to_string() } else { out_path.display().to_string() },
            image.profiles.len(),
            plural(image.profiles.len()),
            plural(rules),
            bytes.len(),
            if warnings > 0 { format!(", {warnings} warning{}", plural(warnings)) } else { String::new() }
        );
    }
    // The process ends here: freeing the syntax tree and the model node by
    // node would cost a tenth of the compile, for nothing.
    std::mem::forget((analysis, image, text));
    Ok(0)
}

fn report(cli: &Cli, name: &str, text: &str, diagnostics: &[Diagnostic]) {
    match cli.message_format {
        MessageFormat::Human => {
            let choice = match cli.color {
                Color::Always => ColorChoice::Always,
                Color::Never => ColorChoice::Never,
                Color::Auto
                    if std::io::stderr().is_terminal()
                        && std::env::var_os("NO_COLOR").is_none() =>
                {
                    ColorChoice::Auto
                }
                Color::Auto => ColorChoice::Never,
            };
            render::emit_stderr(name, text, diagnostics, choice);
        }
        MessageFormat::Json => {
            let index = render::Lines::new(text);
            let lines: String = diagnostics
                .iter()
                .map(|d| {
                    let json = render::to_json(name, &index, d);
                    format!("{}\n", serde_json::to_string(&json).unwrap_or_default())
                })
                .collect();
            if cli.output.as_deref() == Some(Path::new("-")) || cli.fmt {
                eprint!("{lines}");
            } else {
                print!("{lines}");
            }
        }
    }
}

fn format(cli: &Cli, file: &Path, name: &str, text: &str) -> Result<u8, Failure> {
    let formatted = match bpfbox_compiler::format::format(text) {
        Ok(formatted) => formatted,
        Err(errors) => {
            report(cli, name, text, &errors);
            if !cli.quiet && cli.message_format == MessageFormat::Human {
                eprintln!("error: cannot format `{name}` until its syntax errors are fixed");
            }
            return Ok(EXIT_INVALID);
        }
    };
    if cli.check {
        if formatted != text {
            if !cli.quiet {
                eprintln!("`{name}` is not formatted; run `bpfboxc --fmt --write {name}`");
            }
            return Ok(EXIT_INVALID);
        }
        return Ok(0);
    }
    if cli.write {
        if file.as_os_str() == "-" {
            return Err(Failure::io(
                "--write needs a file, not standard input".into(),
                "pass the policy's path",
            ));
        }
        if formatted != text {
            write_output(file, formatted.as_bytes())?;
        }
        return Ok(0);
    }
    let target = cli.output.clone().unwrap_or_else(|| PathBuf::from("-"));
    write_output(&target, formatted.as_bytes())?;
    Ok(0)
}

fn dump(cli: &Cli, path: &Path) -> Result<u8, Failure> {
    let (name, bytes) = read_input(path)?;
    let image = match bpfbox_image::read(&bytes) {
        Ok(image) => image,
        Err(error) => {
            return Err(Failure {
                message: format!("{name}: {error}"),
                hint: Some(error.hint().into()),
                code: EXIT_INVALID,
            })
        }
    };
    let mut json = serde_json::to_string_pretty(&bpfbox_image::to_json(&image, &bytes)).unwrap();
    json.push('\n');
    write_output(
        cli.output.as_deref().unwrap_or(Path::new("-")),
        json.as_bytes(),
    )?;
    Ok(0)
}

fn read_input(path: &Path) -> Result<(String, Vec<u8>), Failure> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes).map_err(|e| {
            Failure::io(
                format!("cannot read standard input: {}", io_message(&e)),
                "check the pipe feeding bpfboxc",
            )
        })?;
        return Ok(("<stdin>".into(), bytes));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::NotFound => {
                "check the path; bpfboxc takes the policy file as its argument"
            }
            std::io::ErrorKind::PermissionDenied => "check the file's permissions",
            _ if path.is_dir() => "pass a policy file, not a directory",
            _ => "check that the path is a readable file",
        };
        Failure::io(
            format!("cannot read {}: {}", path.display(), io_message(&e)),
            hint,
        )
    })?;
    Ok((path.display().to_string(), bytes))
}

fn default_output(input: &Path, extension: &str) -> PathBuf {
    if input.as_os_str() == "-" {
        PathBuf::from("-")
    } else {
        input.with_extension(extension)
    }
}

/// Writes `contents` to `path` all at once: to a temporary file beside it,
/// then renamed over it, so a reader never sees half an image. A device or
/// FIFO is written into instead.
fn write_output(path: &Path, contents: &[u8]) -> Result<(), Failure> {
    if path.as_os_str() == "-" {
        let mut stdout = std::io::stdout().lock();
        return stdout
            .write_all(contents)
            .and_then(|_| stdout.flush())
            .map_err(|e| {
                Failure::io(
                    format!("cannot write to standard output: {}", io_message(&e)),
                    "check the pipe",
                )
            });
    }
    let failure = |e: std::io::Error| {
        Failure::io(
            format!("cannot write {}: {}", path.display(), io_message(&e)),
            "check that the directory exists and is writable",
        )
    };
    // A device or FIFO (`-o /dev/null`, a pipe) is written into: renaming
    // a file over it would replace the device node itself (as root,
    // /dev/null became a regular file that way).
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        return std::fs::write(path, contents).map_err(failure);
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| failure(std::io::Error::other("not a file name")))?;
    let temporary = dir.join(format!(
        ".{}.{}.tmp",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result =
        std::fs::write(&temporary, contents).and_then(|_| std::fs::rename(&temporary, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result.map_err(failure)
}

/// Profiled binaries from disk, with `--binary` overrides.
struct CliBinaries {
    by_exe: HashMap<String, PathBuf>,
    default: Option<PathBuf>,
    /// --root: where the target's files are.
    root: PathBuf,
}

impl CliBinaries {
    fn new(specs: &[String], root: &Path) -> Result<CliBinaries, Failure> {
        let mut binaries = CliBinaries {
            by_exe: HashMap::new(),
            default: None,
            root: root.to_path_buf(),
        };
        for spec in specs {
            match spec.split_once('=') {
                Some((exe, path)) if exe.starts_with('/') => {
                    binaries.by_exe.insert(exe.to_string(), PathBuf::from(path));
                }
                _ if binaries.default.is_some() => {
                    return Err(Failure {
                        message: "--binary PATH given twice".into(),
                        hint: Some(
                            "with several profiles, name each: --binary /usr/bin/app=build/app"
                                .into(),
                        ),
                        code: EXIT_USAGE,
                    })
                }
                _ => binaries.default = Some(PathBuf::from(spec)),
            }
        }
        Ok(binaries)
    }
}

impl BinarySource for CliBinaries {
    fn binary(&self, exe: &str) -> Option<Result<Arc<ElfInfo>, ElfError>> {
        let path = self
            .by_exe
            .get(exe)
            .or(self.default.as_ref())
            .map_or_else(|| on_root(&self.root, exe).into_owned(), Clone::clone);
        Some(ElfInfo::load(&path).map(Arc::new))
    }

    fn library(&self, path: &str) -> Option<Result<Arc<ElfInfo>, ElfError>> {
        Some(ElfInfo::load(&on_root(&self.root, path)).map(Arc::new))
    }
}
