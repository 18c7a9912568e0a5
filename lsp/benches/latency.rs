//! Editing latency and memory of bpfbox-lsp, in process over JSON-RPC:
//! the time from a didChange of a 5,000-line policy to its
//! publishDiagnostics (median and 95th percentile of 100 edits, the profiled
//! binary's symbols already cached), and the resident memory with 20 such
//! files open.
//!
//!     cargo bench -p bpfbox-lsp --bench latency

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::json;
use tower::{Service, ServiceExt};
use tower_lsp_server::jsonrpc::Request;

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

/// CPU time the process has used, all threads, in milliseconds: steadier
/// than wall time on a shared machine. (/proc counts in USER_HZ, 100 a
/// second on Linux.)
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
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

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
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

/// On the runtime bpfbox-lsp serves on.
fn main() {
    bpfbox_lsp::runtime().unwrap().block_on(bench());
}

async fn bench() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("login");
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/../testsuite/fixtures/login.c");
    assert!(std::process::Command::new("cc")
        .args(["-O1", "-g", "-pthread", "-o"])
        .arg(&binary)
        .arg(source)
        .status()
        .unwrap()
        .success());
    let binary = binary.to_str().unwrap().to_string();

    let (mut service, socket) = bpfbox_lsp::service();
    let (tx, mut published) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut socket = socket;
        while let Some(message) = socket.next().await {
            if message.method() == "textDocument/publishDiagnostics" {
                let _ = tx.send((
                    Instant::now(),
                    message.params().unwrap()["uri"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                ));
            }
        }
    });
    let mut id = 0;
    let mut call = |method: &'static str, params: serde_json::Value, request: bool| {
        id += 1;
        let builder = Request::build(method).params(params);
        if request {
            builder.id(id).finish()
        } else {
            builder.finish()
        }
    };
    let init = call("initialize", json!({ "capabilities": {} }), true);
    service.ready().await.unwrap().call(init).await.unwrap();
    let initialized = call("initialized", json!({}), false);
    service
        .ready()
        .await
        .unwrap()
        .call(initialized)
        .await
        .unwrap();

    let rss_before = rss_kib();
    let files = dir.path().join("files");
    let mut uri = String::new();
    let mut version = 1;
    for (label, root) in [
        ("paths that exist", Some(files.as_path())),
        ("4,000 missing-path warnings", None),
    ] {
        uri = format!(
            "file:///bench/{}.policy",
            if root.is_some() { "p0" } else { "warnings" }
        );
        let mut text = policy(&binary, 0, root);
        let open = call(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "bpfbox", "version": version, "text": text } }),
            false,
        );
        service.ready().await.unwrap().call(open).await.unwrap();
        published.recv().await.unwrap();
        if root.is_some() {
            // The binary is read in the background; wait for the second publish.
            tokio::time::timeout(Duration::from_secs(10), published.recv())
                .await
                .unwrap();
        }
        let mut latencies = Vec::new();
        let cpu_before = cpu_ms();
        for edit in 0..100 {
            version += 1;
            // A keystroke: one more character in a comment.
            let at = text.find("variant").unwrap();
            text.insert(at, if edit % 2 == 0 { 'x' } else { 'y' });
            let change = call(
                "textDocument/didChange",
                json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": text }] }),
                false,
            );
            let start = Instant::now();
            service.ready().await.unwrap().call(change).await.unwrap();
            let (at, _) = published.recv().await.unwrap();
            latencies.push(at - start);
        }
        let cpu_per_edit = (cpu_ms() - cpu_before) / 100.0;
        latencies.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "didChange -> publishDiagnostics, 5,000-line policy ({label}), 100 edits: median {:.1} ms, p95 {:.1} ms, max {:.1} ms; CPU {:.1} ms per edit (all threads)",
            ms(latencies[50]),
            ms(latencies[95]),
            ms(latencies[99]),
            cpu_per_edit
        );
    }
    let _ = uri;

    for n in 1..19 {
        let uri = format!("file:///bench/p{n}.policy");
        let open = call(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "bpfbox", "version": 1, "text": policy(&binary, n, Some(&files)) } }),
            false,
        );
        service.ready().await.unwrap().call(open).await.unwrap();
        published.recv().await.unwrap();
    }
    // At rest: the memory edits freed is handed back after AT_REST.
    tokio::time::sleep(bpfbox_lsp::AT_REST + Duration::from_millis(300)).await;
    let rss_after = rss_kib();
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
        let change = call(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": edit + 2 }, "contentChanges": [{ "text": text }] }),
            false,
        );
        service.ready().await.unwrap().call(change).await.unwrap();
        published.recv().await.unwrap();
        if edit % 250 == 249 {
            rss_at.push(format!("{:.1}", rss_kib() as f64 / 1024.0));
        }
    }
    tokio::time::sleep(bpfbox_lsp::AT_REST + Duration::from_millis(300)).await;
    println!(
        "memory over 1,000 edits of one file: {} MiB after each 250 while typing, {:.1} MiB at rest after them (was {:.1} MiB)",
        rss_at.join(", "),
        rss_kib() as f64 / 1024.0,
        rss_after as f64 / 1024.0
    );
}
