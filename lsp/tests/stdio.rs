//! The server binary over its stdin and stdout, as editors run it: the
//! diagnostics it writes itself (output.rs) are what the protocol
//! library's client publishes in process.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use futures::StreamExt;
use serde_json::{json, Value};
use tower::{Service, ServiceExt};
use tower_lsp_server::jsonrpc::Request;

const URI: &str = "file:///tmp/stdio-test.policy";

/// A missing path with characters UTF-16 counts differently from UTF-8, a
/// duplicate rule (related information), an error with help.
const POLICY: &str = "#![profile \"/bin/true\"]\n\
    // é😀\n\
    read(\"/nonexistent/é😀/x\")\n\
    net(inet, connect)\n\
    net(inet, connect)\n\
    frobnicate(\"/x\")\n";

fn frame(body: &Value) -> Vec<u8> {
    let body = serde_json::to_vec(body).unwrap();
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend(body);
    out
}

fn read_frame(output: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if output.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(n) = line.strip_prefix("Content-Length: ") {
            length = n.parse().ok();
        }
    }
    let mut body = vec![0; length.expect("a Content-Length header")];
    output.read_exact(&mut body).ok()?;
    Some(serde_json::from_slice(&body).expect("a frame's body is JSON"))
}

/// The publishDiagnostics of the binary for an open and a close.
fn over_stdio() -> Vec<Value> {
    let mut server = Command::new(env!("CARGO_BIN_EXE_bpfbox-lsp"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = server.stdin.take().unwrap();
    let mut output = BufReader::new(server.stdout.take().unwrap());
    let mut send = |message: Value| input.write_all(&frame(&message)).unwrap();
    let mut published = Vec::new();
    let next_publish = |output: &mut BufReader<_>, published: &mut Vec<Value>| loop {
        let message = read_frame(output).expect("the server publishes");
        if message["method"] == "textDocument/publishDiagnostics" {
            assert_eq!(message["jsonrpc"], "2.0");
            published.push(message["params"].clone());
            return;
        }
    };
    send(
        json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": { "capabilities": {} } }),
    );
    // As the protocol asks, nothing more until the answer.
    assert_eq!(read_frame(&mut output).expect("an answer")["id"], 1);
    send(json!({ "jsonrpc": "2.0", "method": "initialized", "params": {} }));
    send(
        json!({ "jsonrpc": "2.0", "method": "textDocument/didOpen", "params": { "textDocument": { "uri": URI, "languageId": "bpfbox", "version": 3, "text": POLICY } } }),
    );
    next_publish(&mut output, &mut published);
    send(
        json!({ "jsonrpc": "2.0", "method": "textDocument/didClose", "params": { "textDocument": { "uri": URI } } }),
    );
    next_publish(&mut output, &mut published);
    send(json!({ "jsonrpc": "2.0", "id": 2, "method": "shutdown" }));
    send(json!({ "jsonrpc": "2.0", "method": "exit" }));
    // It exits on `exit`, with its input still open (10 s at most).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            server.kill().unwrap();
            panic!("bpfbox-lsp did not exit on `exit`");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    assert!(status.success());
    published
}

/// The same through the protocol library's client, in process.
async fn in_process() -> Vec<Value> {
    let (mut service, socket) = bpfbox_lsp::service();
    // Drained as it comes, or the handlers wait on it.
    let published = tokio::spawn(
        socket
            .filter(|m| std::future::ready(m.method() == "textDocument/publishDiagnostics"))
            .map(|m| m.params().unwrap().clone())
            .take(2)
            .collect::<Vec<Value>>(),
    );
    for (id, method, params) in [
        (Some(1), "initialize", json!({ "capabilities": {} })),
        (None, "initialized", json!({})),
        (
            None,
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": URI, "languageId": "bpfbox", "version": 3, "text": POLICY } }),
        ),
        (
            None,
            "textDocument/didClose",
            json!({ "textDocument": { "uri": URI } }),
        ),
    ] {
        let builder = Request::build(method).params(params);
        let message = match id {
            Some(id) => builder.id(id).finish(),
            None => builder.finish(),
        };
        service.ready().await.unwrap().call(message).await.unwrap();
    }
    published.await.unwrap()
}

#[test]
fn stdio_publishes_what_the_library_would() {
    let stdio = over_stdio();
    let runtime = bpfbox_lsp::runtime().unwrap();
    let expected = runtime.block_on(in_process());
    assert_eq!(stdio, expected);

    // And what that is: every diagnostic, in UTF-16 columns, then nothing
    // once the document is closed.
    let opened = &stdio[0];
    assert_eq!(opened["uri"], URI);
    assert_eq!(opened["version"], 3);
    let diagnostics = opened["diagnostics"].as_array().unwrap();
    let codes: Vec<&str> = diagnostics
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"W0004"), "{codes:?}");
    assert!(codes.contains(&"W0001"), "{codes:?}");
    let missing = diagnostics.iter().find(|d| d["code"] == "W0004").unwrap();
    // `"/nonexistent/é😀/x"` from column 5: é is one UTF-16 unit, 😀 two.
    assert_eq!(
        missing["range"],
        json!({ "start": { "line": 2, "character": 5 }, "end": { "line": 2, "character": 25 } })
    );
    assert_eq!(missing["severity"], 2);
    assert_eq!(missing["source"], "bpfbox");
    assert!(missing["message"].as_str().unwrap().contains("\nhelp: "));
    let duplicate = diagnostics.iter().find(|d| d["code"] == "W0001").unwrap();
    assert_eq!(
        duplicate["relatedInformation"][0]["location"],
        json!({ "uri": URI, "range": { "start": { "line": 3, "character": 0 }, "end": { "line": 3, "character": 18 } } })
    );
    assert!(diagnostics.iter().any(|d| d["severity"] == 1));
    assert_eq!(stdio[1], json!({ "uri": URI, "diagnostics": [] }));
}
