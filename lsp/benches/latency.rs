//! Editing latency and memory of bpfbox-lsp as an editor sees them: the
//! server binary is started and spoken to over its stdin and stdout. The
//! time from writing a didChange of a 5,000-line policy to having read its
//! publishDiagnostics (median and 95th percentile of 100 edits, the
//! profiled binary's symbols already cached), the server's CPU time per
//! edit, and its resident memory with 20 such files open.
//!
//!     cargo bench -p bpfbox-lsp --bench latency
//!
//! `BPFBOX_LSP=path` measures another build of the server (an older commit's)
//! with the same client.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{json, Value};

/// A 5,000-line policy. With `root`, every path it names exists (as in a
/// real policy); without, each one draws a "does not exist" warning.
fn policy(binary: &str, variant: usize, root: Option<&std::path::Path>) -> String {
    let base = root.map_or("/nonexistent".to_string(), |r| r.display().to_string());
    let mut text =
        format!("#![profile \"{binary}\"]\n// generated: 5,000 lines, variant {variant}\n");
    let mut lines = 2;
    let mut i = 0;
    while lines < 5000 {
        let line = match i % 5 {
            0 => format!(
                "#[func check_password] read(\"{base}/data/d{:03}/f{i:05}\")\n",
                i % 100
            ),
            1 => format!("fs(\"{base}/www/site{i}/**\", read|getattr)\n"),
            2 => format!("#[audit] append(\"{base}/log/app{i}.log\")\n"),
            3 => "net(inet|inet6, connect|send|recv)\n".to_string(),
            _ => format!("signal(\"{base}/bin/worker{i}\", sigkill|sigcheck)\n"),
        };
        if let Some(root) = root {
            let path = line
                .split('"')
                .nth(1)
                .unwrap_or_default()
                .trim_end_matches("/**")
                .to_string();
            if path.starts_with(&*root.display().to_string()) {
                let path = std::path::Path::new(&path);
                if line.contains("/**") {
                    std::fs::create_dir_all(path).unwrap();
                } else {
                    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                    std::fs::write(path, b"").unwrap();
                }
            }
        }
        text.push_str(&line);
        lines += 1;
        i += 1;
    }
    text
}

/// The server's CPU time so far, in milliseconds. (/proc counts in
/// USER_HZ, 100 a second on Linux.)
fn cpu_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    (ticks(11) + ticks(12)) * 10.0
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse()
                    .unwrap_or(0)
            })
        })
        .unwrap_or(0)
}

/// What the bench reads of a message from the server.
#[derive(Deserialize)]
struct Message {
    id: Option<Value>,
    method: Option<String>,
    params: Option<Published>,
}

/// Of a publishDiagnostics: which document, which version, how many.
#[derive(Deserialize)]
struct Published {
    uri: Option<String>,
    version: Option<i32>,
    diagnostics: Option<Vec<IgnoredAny>>,
}

/// A message from the server and when its last byte was read.
struct Received {
    at: Instant,
    message: Message,
}

/// bpfbox-lsp running as an editor runs it.
struct Server {
    child: Child,
    input: ChildStdin,
    received: mpsc::Receiver<Received>,
    id: i64,
}

impl Server {
    fn start() -> Server {
        let program = std::env::var_os("BPFBOX_LSP")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_bpfbox-lsp").into());
        let mut child = Command::new(program)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let input = child.stdin.take().unwrap();
        let mut output = BufReader::new(child.stdout.take().unwrap());
        let (tx, received) = mpsc::channel();
        std::thread::spawn(move || loop {
            let mut length = 0;
            loop {
                let mut line = String::new();
                if output.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some(n) = line.strip_prefix("Content-Length: ") {
                    length = n.parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            output.read_exact(&mut body).unwrap();
            let at = Instant::now();
            let message = serde_json::from_slice(&body).unwrap();
            if tx.send(Received { at, message }).is_err() {
                return;
            }
        });
        Server {
            child,
            input,
            received,
            id: 0,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Writes one message; returns when it was written.
    fn send(&mut self, message: Value) -> Instant {
        let body = serde_json::to_vec(&message).unwrap();
        write!(self.input, "Content-Length: {}\r\n\r\n", body.len()).unwrap();
        self.input.write_all(&body).unwrap();
        self.input.flush().unwrap();
        Instant::now()
    }

    fn notify(&mut self, method: &str, params: Value) -> Instant {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }))
    }

    /// Sends a request and waits for its answer.
    fn request(&mut self, method: &str, params: Value) {
        self.id += 1;
        let id = self.id;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        while self.next().message.id != Some(json!(id)) {}
    }

    fn next(&mut self) -> Received {
        self.received
            .recv_timeout(Duration::from_secs(30))
            .expect("the server answers within 30 s")
    }

    /// Waits for the diagnostics of `uri` at `version`; returns when they
    /// were read and how many there were.
    fn published(&mut self, uri: &str, version: i32) -> (Instant, usize) {
        loop {
            let received = self.next();
            if received.message.method.as_deref() != Some("textDocument/publishDiagnostics") {
                continue;
            }
            let Some(params) = received.message.params else {
                continue;
            };
            if params.uri.as_deref() == Some(uri) && params.version == Some(version) {
                return (received.at, params.diagnostics.map_or(0, |d| d.len()));
            }
        }
    }

    fn stop(mut self) {
        self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        self.child.wait().unwrap();
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("login");
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/../testsuite/fixtures/login.c");
    assert!(Command::new("cc")
        .args(["-O1", "-g", "-pthread", "-o"])
        .arg(&binary)
        .arg(source)
        .status()
        .unwrap()
        .success());
    let binary = binary.to_str().unwrap().to_string();

    let mut server = Server::start();
    let pid = server.pid();
    server.request("initialize", json!({ "capabilities": {} }));
    server.notify("initialized", json!({}));

    let rss_before = rss_kib(pid);
    let files = dir.path().join("files");
    for (label, root) in [
        ("paths that exist", Some(files.as_path())),
        ("4,000 missing-path warnings", None),
    ] {
        let uri = format!(
            "file:///bench/{}.policy",
            if root.is_some() { "p0" } else { "warnings" }
        );
        let mut text = policy(&binary, 0, root);
        let mut version = 1;
        server.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "bpfbox", "version": version, "text": text } }),
        );
        server.published(&uri, version);
        if root.is_some() {
            // The binary is read in the background; wait for the second publish.
            server.published(&uri, version);
        }
        let mut latencies = Vec::new();
        let mut count = 0;
        let cpu_before = cpu_ms(pid);
        for edit in 0..100 {
            version += 1;
            // A keystroke: one more character in a comment.
            let at = text.find("variant").unwrap();
            text.insert(at, if edit % 2 == 0 { 'x' } else { 'y' });
            let start = server.notify(
                "textDocument/didChange",
                json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": text }] }),
            );
            let (at, n) = server.published(&uri, version);
            latencies.push(at - start);
            count = n;
        }
        let cpu_per_edit = (cpu_ms(pid) - cpu_before) / 100.0;
        latencies.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "didChange -> publishDiagnostics, 5,000-line policy ({label}, {count} diagnostics), 100 edits: median {:.1} ms, p95 {:.1} ms, max {:.1} ms; server CPU {:.1} ms per edit",
            ms(latencies[50]),
            ms(latencies[95]),
            ms(latencies[99]),
            cpu_per_edit
        );
    }

    for n in 1..19 {
        let uri = format!("file:///bench/p{n}.policy");
        server.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "bpfbox", "version": 1, "text": policy(&binary, n, Some(&files)) } }),
        );
        server.published(&uri, 1);
    }
    // At rest: the memory edits freed is handed back after AT_REST.
    std::thread::sleep(bpfbox_lsp::AT_REST + Duration::from_millis(300));
    let rss_after = rss_kib(pid);
    println!(
        "memory at rest: {:.1} MiB resident with 20 such files open ({:.1} MiB before opening any; {:.1} MiB per file)",
        rss_after as f64 / 1024.0,
        rss_before as f64 / 1024.0,
        (rss_after - rss_before) as f64 / 1024.0 / 20.0
    );

    // 1,000 more keystrokes in one of them: memory stays where it was.
    let uri = "file:///bench/p1.policy";
    let mut text = policy(&binary, 1, Some(&files));
    let mut rss_at = Vec::new();
    for edit in 0..1000 {
        let at = text.find("variant").unwrap();
        text.insert(at, if edit % 2 == 0 { 'x' } else { 'y' });
        server.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": edit + 2 }, "contentChanges": [{ "text": text }] }),
        );
        server.published(uri, edit + 2);
        if edit % 250 == 249 {
            rss_at.push(format!("{:.1}", rss_kib(pid) as f64 / 1024.0));
        }
    }
    std::thread::sleep(bpfbox_lsp::AT_REST + Duration::from_millis(300));
    println!(
        "memory over 1,000 edits of one file: {} MiB after each 250 while typing, {:.1} MiB at rest after them (was {:.1} MiB)",
        rss_at.join(", "),
        rss_kib(pid) as f64 / 1024.0,
        rss_after as f64 / 1024.0
    );
    server.stop();
}
