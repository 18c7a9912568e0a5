//! `bpfbox-push IMAGE oci://REGISTRY/REPOSITORY[:TAG]`: publishes a compiled
//! policy image to an OCI registry and prints the digest reference that
//! `bpfbox-load` loads. Scriptable: that one line on stdout, one-line
//! errors with a hint on stderr, distinct exit statuses.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use bpfbox_image::elf::io_message;
use bpfbox_oci::exit::{REFUSED, USAGE};
use bpfbox_oci::{auth, Options, PolicyRef};

#[derive(Parser)]
#[command(
    name = "bpfbox-push",
    version,
    about = "Publish a compiled bpfbox policy image to an OCI registry",
    after_help = "Examples:\n  bpfbox-push web.bbx oci://registry.example.com/policies/web\n  bpfbox-push web.bbx oci://127.0.0.1:5000/policies/web:v3\n  bpfbox-load \"$(bpfbox-push web.bbx oci://127.0.0.1:5000/policies/web)\"\n\nPrints oci://REGISTRY/REPOSITORY@sha256:DIGEST, the reference to load.\nCredentials come from $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,\n~/.config/containers/auth.json, then Docker's config.json (podman login, docker login).\nA registry on this machine's loopback is reached over plain HTTP, others over HTTPS.\n\nExit status: 0 published; 1 the image is refused (not a valid bpfbox image, or the\nregistry refused it); 2 usage or I/O error; 5 the registry cannot be reached or\nrefused the credentials."
)]
struct Cli {
    /// The image to publish (written by `bpfboxc POLICY -o IMAGE`).
    #[arg(value_name = "IMAGE")]
    image: PathBuf,

    /// Where: oci://REGISTRY/REPOSITORY, or with :TAG to also tag it.
    #[arg(value_name = "REFERENCE")]
    reference: String,

    /// Reach a registry that is not on the loopback over plain HTTP (no TLS).
    #[arg(long)]
    plain_http: bool,

    /// Print nothing but the reference on success.
    #[arg(short, long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message, hint)) => {
            eprintln!("error: {message}\n  hint: {hint}");
            ExitCode::from(code)
        }
    }
}

fn run(cli: &Cli) -> Result<(), (u8, String, String)> {
    let failure = |e: bpfbox_oci::OciError| (e.kind.exit_status(), e.message, e.hint);
    let reference = PolicyRef::parse(&cli.reference).map_err(failure)?;
    let bytes = std::fs::read(&cli.image).map_err(|e| {
        (
            USAGE,
            format!("cannot read {}: {}", cli.image.display(), io_message(&e)),
            "pass the image written by bpfboxc POLICY -o IMAGE".to_string(),
        )
    })?;
    let file_name = cli
        .image
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "policy.bbx".to_string());
    let options = Options {
        plain_http: cli.plain_http,
        allow_tag: false,
        cache: None,
    };
    let pushed = bpfbox_oci::push(
        &bytes,
        &file_name,
        &reference,
        &options,
        &auth::default_files(),
    )
    .map_err(|e| {
        // The image's own faults are named by its file.
        let mut e = failure(e);
        if e.0 == REFUSED {
            e.1 = format!("{}: {}", cli.image.display(), e.1);
        }
        e
    })?;
    if !cli.quiet {
        eprintln!(
            "pushed {} ({} bytes; {})",
            cli.image.display(),
            bytes.len(),
            pushed.config.profiles.join(", ")
        );
        if let Some(tag) = reference.tag() {
            eprintln!("tagged {tag}");
        }
    }
    println!("{}", pushed.reference);
    Ok(())
}
