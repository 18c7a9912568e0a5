//! bpfbox-lsp: the bpfbox language server, over stdin and stdout.

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("--version") => println!("bpfbox-lsp {}", env!("CARGO_PKG_VERSION")),
        Some("--help" | "-h") => {
            println!("bpfbox-lsp: language server for bpfbox policies (*.policy).\n\nUsage: bpfbox-lsp [--stdio]\n\nSpeaks the Language Server Protocol on standard input and output; editors start it\n(see editors/README.md). --version prints the version.");
        }
        _ => match bpfbox_lsp::runtime() {
            Ok(runtime) => {
                runtime.block_on(bpfbox_lsp::serve_stdio());
                // Exit now, as `exit` asks: tokio reads stdin with a blocking
                // read on another thread that a runtime's drop would wait
                // for until the editor closed the pipe.
                runtime.shutdown_background();
            }
            Err(e) => {
                eprintln!("bpfbox-lsp: cannot start: {e}");
                std::process::exit(1);
            }
        },
    }
}
