//! `bpfbox-load`: puts a compiled bpfbox image in force in the kernel, where
//! it stays after the command returns; lists, unloads, and follows audit
//! events. Scriptable: one line per profile on stdout, one-line errors with a
//! hint on stderr, distinct exit statuses.

mod checks;
mod decided;
mod events;
mod failure;
mod kernel;
mod libbpf_log;
mod lock;
mod map_scan;
mod mountns;
mod mounts;
mod plan;
mod resolve;
mod shortfalls;
mod signals;
mod skel;
mod sources;
mod switch;
mod watch;

use std::process::ExitCode;

use clap::Parser;

use failure::{exit, Failure};
use kernel::{Maps, Outcome};

/// Reading a 10,000-rule image and planning it is some 60,000 small
/// allocations: glibc's allocator was a fifth of the loader's own
/// instructions there (a reload, on every node of a fleet).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "bpfbox-load",
    version,
    about = "Load a compiled bpfbox policy image into the kernel and keep it enforced",
    after_help = "Examples:\n  bpfbox-load web.bbx              load (again: a no-op; changed: replaced atomically)\n  bpfbox-load oci://registry.example.com/policies/web@sha256:…   pull by digest, then load\n  bpfbox-load --prune /etc/bpfbox  load a directory's images; unload profiles it does not hold\n  bpfbox-load --dry-run web.bbx    check the image and show what would be loaded\n  bpfbox-load --list               profiles in force\n  bpfbox-load --follow             audit events as JSON lines\n  bpfbox-load --unload /usr/local/bin/webd\n  bpfbox-load --unload             remove everything bpfbox loaded\n\nExit status: 0 success; 1 the image or a binary it names is refused; 2 usage or I/O error;\n3 this kernel cannot enforce bpfbox policies; 4 not root;\n5 an OCI registry cannot be reached or refused the credentials.\n\nRegistry credentials come from $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,\n~/.config/containers/auth.json, then Docker's config.json. A registry on the loopback is\nreached over plain HTTP, others over HTTPS."
)]
struct Cli {
    /// The images to load, together: files written by `bpfboxc POLICY -o
    /// IMAGE`, directories of them (*.bbx, and *.oci files listing
    /// references), or oci://REGISTRY/REPOSITORY@sha256:DIGEST references
    /// (published by bpfbox-push).
    #[arg(value_name = "IMAGE")]
    images: Vec<String>,

    /// Check the images and resolve their paths; print what would be loaded and change nothing.
    #[arg(long, requires = "images")]
    dry_run: bool,

    /// Also unload the profiles that none of the IMAGEs holds: what is in
    /// force becomes exactly what they hold.
    #[arg(long, requires = "images")]
    prune: bool,

    /// After loading, look at the IMAGE files and directories every SECONDS
    /// and load again when they change (a failed load is reported and
    /// leaves what is in force); for a DaemonSet following a ConfigMap.
    #[arg(long, value_name = "SECONDS", requires = "images", conflicts_with_all = ["dry_run", "follow"], value_parser = clap::value_parser!(u64).range(1..=86400))]
    watch: Option<u64>,

    /// Load oci:// references by tag (a tag can be moved to other content:
    /// prefer digests).
    #[arg(long)]
    allow_tag: bool,

    /// Reach a registry that is not on the loopback over plain HTTP (no TLS).
    #[arg(long)]
    plain_http: bool,

    /// Resolve the paths the images name, and load, in the mount namespace
    /// FILE: the host's (/proc/1/ns/mnt) when bpfbox-load runs in a
    /// container with the host's PID namespace. The IMAGEs are read first,
    /// where bpfbox-load runs.
    #[arg(long, value_name = "FILE")]
    mount_ns: Option<std::path::PathBuf>,

    /// Keep images pulled from registries in DIR by digest, and load a
    /// digest found there (checked again) without the network: for loading
    /// at boot, before the network is up.
    #[arg(long, value_name = "DIR")]
    cache: Option<std::path::PathBuf>,

    /// List the profiles in force, with rule, scope and process counts; on
    /// stderr, what bpfbox refused or lost since it was loaded, with the fix.
    #[arg(long, conflicts_with_all = ["images", "unload", "follow"])]
    list: bool,

    /// Remove the profile of EXE, or without EXE everything bpfbox loaded.
    #[arg(long, value_name = "EXE", num_args = 0..=1, default_missing_value = "", conflicts_with_all = ["images", "follow"])]
    unload: Option<String>,

    /// Print audit events as JSON lines until interrupted (after loading IMAGE, if given);
    /// on stderr, what bpfbox refuses or loses meanwhile (dropped events among it).
    #[arg(long)]
    follow: bool,

    /// With --list or --follow: print JSON (--follow prints JSON lines when
    /// its output is not a terminal anyway).
    #[arg(long)]
    json: bool,

    /// Track at most N confined processes (1 to 65536); a confined process's
    /// fork beyond that fails with EAGAIN. Takes effect when the programs are
    /// first loaded (after a boot or --unload).
    #[arg(long, value_name = "N", requires = "images", value_parser = clap::value_parser!(u32).range(1..=i64::from(bpfbox_abi::bpfbox_limits::BPFBOX_MAX_PROCS)))]
    max_procs: Option<u32>,

    /// Print libbpf's log as it comes, with the verifier's statistics for
    /// each program and, on a first load, how long each phase took.
    #[arg(short, long)]
    verbose: bool,

    /// Print nothing on success.
    #[arg(short, long)]
    quiet: bool,
}

/// No transparent huge pages: mimalloc reserves its arenas 2 MiB-aligned,
/// so with THP on (Debian's default is `always`) the first allocation makes
/// the kernel zero a whole huge page, more work than a reload's reading of
/// a 10,000-rule image. A short-lived loader gains nothing from them. Run
/// from .init_array, before the Rust runtime's first allocation (which
/// comes before main).
extern "C" fn no_transparent_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and only sets a flag
    // on this process.
    unsafe {
        libc::prctl(
            libc::PR_SET_THP_DISABLE,
            1 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
}
#[used]
#[link_section = ".init_array"]
static NO_TRANSPARENT_HUGE_PAGES: extern "C" fn() = no_transparent_huge_pages;

fn main() -> ExitCode {
    let cli = Cli::parse();
    libbpf_log::install(cli.verbose);
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{failure}");
            ExitCode::from(failure.code)
        }
    }
}

fn run(cli: &Cli) -> Result<(), Failure> {
    if cli.json && !cli.list && !cli.follow {
        return Err(Failure::new(
            exit::USAGE,
            "--json goes with --list or --follow",
            "see bpfbox-load --help",
        ));
    }
    if cli.images.is_empty() && !cli.list && cli.unload.is_none() && !cli.follow {
        return Err(Failure::new(
            exit::USAGE,
            "nothing to do: give an IMAGE, or --list, --unload or --follow",
            "see bpfbox-load --help",
        ));
    }
    if let Some(seconds) = cli.watch {
        return watch::watch(&cli.images, std::time::Duration::from_secs(seconds), || {
            load(cli)
        });
    }
    if !cli.images.is_empty() {
        load(cli)?;
    }
    let _host = match &cli.mount_ns {
        Some(ns) if cli.list || cli.unload.is_some() || cli.follow => Some(mountns::enter(ns)?),
        _ => None,
    };
    if cli.list {
        return list(cli);
    }
    if let Some(exe) = &cli.unload {
        return unload(cli, exe);
    }
    if cli.follow {
        checks::privileges()?;
        require_loaded()?;
        use std::io::IsTerminal;
        let json = cli.json || !std::io::stdout().is_terminal();
        return events::follow(&Maps::open()?, json);
    }
    Ok(())
}

fn require_loaded() -> Result<(), Failure> {
    if kernel::is_loaded() {
        Ok(())
    } else {
        Err(Failure::refused(
            "no bpfbox policy is loaded",
            "load one first: bpfbox-load IMAGE",
        ))
    }
}

fn load(cli: &Cli) -> Result<(), Failure> {
    let options = bpfbox_oci::Options {
        plain_http: cli.plain_http,
        allow_tag: cli.allow_tag,
        cache: cli.cache.clone(),
    };
    let sources = sources::read_all(&cli.images, &options, cli.quiet)?;
    let _host = cli.mount_ns.as_deref().map(mountns::enter).transpose()?;
    if !cli.dry_run {
        checks::privileges()?;
        checks::kernel()?;
    }
    let images: Vec<(String, bpfbox_image::Image)> = sources
        .into_iter()
        .map(|source| (source.label, source.image))
        .collect();
    let planned = plan::plan(&images)?;
    for profile in &planned {
        for missing in &profile.missing {
            eprintln!("warning: {}: {missing} does not exist here; its rules have no effect until it does and the image is loaded again", profile.exe);
        }
    }
    if cli.dry_run {
        return show_plan(cli, &planned);
    }
    if planned.is_empty() && !kernel::is_loaded() {
        // Nothing to load, nothing to prune: no programs to attach either.
        if !cli.quiet {
            println!("nothing to load");
        }
        return Ok(());
    }
    let _lock = lock::take(checks::BPF_FS)?;
    // Held back from here to the end of the load (after the wait for the
    // lock, which an interrupt should still end).
    let _deferred = signals::defer_termination();
    kernel::ensure_programs(cli.max_procs)?;
    let maps = Maps::open()?;
    let outcomes = kernel::apply(&maps, &planned)?;
    if !cli.quiet {
        report(&planned, &outcomes);
    }
    if cli.prune {
        for exe in pruned(&maps, &planned) {
            kernel::unload_profile(&maps, &exe)?;
            if !cli.quiet {
                println!("unloaded {exe}");
            }
        }
    }
    Ok(())
}

/// --dry-run: what would be loaded, and with --prune unloaded.
fn show_plan(cli: &Cli, planned: &[plan::PlannedProfile]) -> Result<(), Failure> {
    for profile in planned {
        println!(
            "would load {}: {} map entries ({} file, {} subtree, {} process, {} net, {} privilege), {} function scope{}{}",
            profile.exe,
            profile.entries(),
            profile.file.len(),
            profile.tree.len(),
            profile.task.len(),
            profile.net.len(),
            profile.privileged.len(),
            profile.scopes.len(),
            if profile.scopes.len() == 1 { "" } else { "s" },
            if profile.flags & bpfbox_abi::bpfbox_profile_flags::BPFBOX_PROFILE_COMPLAIN != 0 { ", complain mode" } else { "" }
        );
    }
    if cli.prune && kernel::is_loaded() {
        let maps = Maps::open()?;
        for exe in pruned(&maps, planned) {
            println!("would unload {exe}");
        }
    }
    Ok(())
}

/// One line per profile loaded: added, replaced or unchanged.
fn report(planned: &[plan::PlannedProfile], outcomes: &[Outcome]) {
    for (profile, outcome) in planned.iter().zip(outcomes) {
        let what = format!(
            "{} rules, {} function scopes",
            profile.entries(),
            profile.scopes.len()
        );
        match outcome {
            Outcome::Added { version } => {
                println!("loaded {} (version {version}): {what}", profile.exe)
            }
            Outcome::Replaced { old, version } => println!(
                "replaced {} (version {old} -> {version}): {what}",
                profile.exe
            ),
            Outcome::Unchanged { version } => {
                println!("unchanged {} (version {version})", profile.exe)
            }
        }
    }
}

/// The profiles in force that none of `planned` replaces.
fn pruned(maps: &Maps, planned: &[plan::PlannedProfile]) -> Vec<String> {
    maps.registry()
        .values()
        .map(kernel::registry_exe)
        .filter(|exe| !planned.iter().any(|p| &p.exe == exe))
        .collect()
}

/// A loaded profile as `--list --json` prints it, keys in this order.
#[derive(serde::Serialize)]
struct ListRow {
    profile: String,
    mode: &'static str,
    version: u32,
    rules: u32,
    scopes: u32,
    processes: usize,
}

fn list(cli: &Cli) -> Result<(), Failure> {
    checks::privileges()?;
    if !kernel::is_loaded() {
        if cli.json {
            println!("[]");
        } else if !cli.quiet {
            println!("no bpfbox policy is loaded");
        }
        return Ok(());
    }
    let maps = Maps::open()?;
    // On stderr, before the table: what bpfbox had to refuse or lose.
    for line in shortfalls::standing(&maps.stats()) {
        eprintln!("{line}");
    }
    let processes = kernel::processes_per_slot(&maps);
    let rows: Vec<ListRow> = maps
        .registry()
        .iter()
        .map(|(slot, entry)| ListRow {
            profile: kernel::registry_exe(entry),
            mode: if entry.flags & bpfbox_abi::bpfbox_profile_flags::BPFBOX_PROFILE_COMPLAIN != 0 {
                "complain"
            } else {
                "enforce"
            },
            version: entry.version,
            rules: entry.rules,
            scopes: entry.scopes,
            processes: processes.get(slot).copied().unwrap_or(0),
        })
        .collect();
    if cli.json {
        println!("{}", serde_json::to_string(&rows).unwrap_or_default());
        return Ok(());
    }
    println!(
        "{:<40} {:<8} {:>7} {:>6} {:>6} {:>9}",
        "PROFILE", "MODE", "VERSION", "RULES", "SCOPES", "PROCESSES"
    );
    for row in rows {
        println!(
            "{:<40} {:<8} {:>7} {:>6} {:>6} {:>9}",
            row.profile, row.mode, row.version, row.rules, row.scopes, row.processes
        );
    }
    Ok(())
}

fn unload(cli: &Cli, exe: &str) -> Result<(), Failure> {
    checks::privileges()?;
    // Without a BPF file system nothing can be loaded: said below.
    let _lock = if std::path::Path::new(checks::BPF_FS).exists() {
        Some(lock::take(checks::BPF_FS)?)
    } else {
        None
    };
    let _deferred = signals::defer_termination();
    if exe.is_empty() {
        let removed = kernel::unload_all()?;
        if !cli.quiet {
            println!(
                "{}",
                if removed {
                    "unloaded everything"
                } else {
                    "nothing was loaded"
                }
            );
        }
        return Ok(());
    }
    if !kernel::is_loaded() {
        return Err(Failure::refused(
            format!("no profile for {exe} is loaded"),
            "see bpfbox-load --list",
        ));
    }
    let maps = Maps::open()?;
    if !kernel::unload_profile(&maps, exe)? {
        return Err(Failure::refused(
            format!("no profile for {exe} is loaded"),
            "see bpfbox-load --list",
        ));
    }
    if !cli.quiet {
        println!("unloaded {exe}");
    }
    Ok(())
}
