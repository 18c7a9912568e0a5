//! The server driven in-process over JSON-RPC, as an editor drives it:
//! requests in, responses and publishDiagnostics notifications out.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tower::{Service, ServiceExt};
use tower_lsp_server::jsonrpc::Request;
use tower_lsp_server::LspService;

struct Harness {
    service: LspService<bpfbox_lsp::Backend>,
    notifications: mpsc::UnboundedReceiver<Request>,
    next_id: i64,
}

impl Harness {
    async fn start(position_encodings: &[&str]) -> (Harness, Value) {
        Harness::start_with(
            json!({ "capabilities": { "general": { "positionEncodings": position_encodings } } }),
        )
        .await
    }

    /// Initializes with `params` (the client's capabilities, workspace).
    async fn start_with(params: Value) -> (Harness, Value) {
        let (service, socket) = bpfbox_lsp::service();
        let (tx, rx) = mpsc::unbounded_channel();
        // Drain the server's messages as they come, or its handlers block.
        tokio::spawn(async move {
            let mut socket = socket;
            while let Some(message) = socket.next().await {
                if tx.send(message).is_err() {
                    break;
                }
            }
        });
        let mut h = Harness {
            service,
            notifications: rx,
            next_id: 1,
        };
        let result = h.request("initialize", params).await;
        h.notify("initialized", json!({})).await;
        (h, result)
    }

    /// Sends a request and returns the whole response.
    async fn call(
        &mut self,
        method: &'static str,
        params: Value,
    ) -> tower_lsp_server::jsonrpc::Response {
        let id = self.next_id;
        self.next_id += 1;
        let request = Request::build(method).params(params).id(id).finish();
        self.service
            .ready()
            .await
            .unwrap()
            .call(request)
            .await
            .unwrap()
            .unwrap()
    }

    async fn request(&mut self, method: &'static str, params: Value) -> Value {
        let (_, result) = self.call(method, params).await.into_parts();
        result.unwrap_or_else(|e| panic!("{method}: {e:?}"))
    }

    async fn request_error(&mut self, method: &'static str, params: Value) -> bool {
        self.call(method, params).await.error().is_some()
    }

    async fn notify(&mut self, method: &'static str, params: Value) {
        let request = Request::build(method).params(params).finish();
        self.service
            .ready()
            .await
            .unwrap()
            .call(request)
            .await
            .unwrap();
    }

    /// The next message the server shows (window/showMessage).
    async fn shown_message(&mut self) -> String {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(10), self.notifications.recv())
                .await
                .expect("no message within 10 s")
                .expect("server gone");
            if message.method() == "window/showMessage" {
                return message.params().unwrap()["message"]
                    .as_str()
                    .unwrap()
                    .to_string();
            }
        }
    }

    /// The next diagnostics published for `uri`.
    async fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let message = tokio::time::timeout_at(deadline, self.notifications.recv())
                .await
                .expect("no diagnostics within 10 s")
                .expect("server gone");
            if message.method() == "textDocument/publishDiagnostics" {
                let params = message.params().unwrap();
                if params["uri"] == uri {
                    return params["diagnostics"].as_array().unwrap().clone();
                }
            }
        }
    }

    async fn open(&mut self, uri: &str, text: &str) -> Vec<Value> {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "bpfbox", "version": 1, "text": text } }),
        )
        .await;
        self.diagnostics(uri).await
    }

    async fn change(&mut self, uri: &str, version: i32, text: &str) -> Vec<Value> {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": text }] }),
        )
        .await;
        self.diagnostics(uri).await
    }
}

fn at(uri: &str, line: u32, character: u32) -> Value {
    json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": character } })
}

/// The labels of a completion response.
fn labels_of(items: &Value) -> Vec<&str> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect()
}

fn codes(diagnostics: &[Value]) -> Vec<String> {
    diagnostics
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect()
}

/// testsuite/fixtures/login.c, compiled with debug info, in `dir`.
fn login_binary(dir: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let out = dir.join("login");
    let status = std::process::Command::new("cc")
        .args(["-O1", "-g", "-pthread", "-o"])
        .arg(&out)
        .arg(root.join("testsuite/fixtures/login.c"))
        .status()
        .expect("cc");
    assert!(status.success());
    out
}

#[tokio::test]
async fn diagnostics_with_positions_in_utf16_and_utf8() {
    // é and an emoji before the error; UTF-16 counts the emoji as 2.
    let text = "#![profile \"/usr/bin/env\"]\nread(\"/tmp/é😀\") fs(\"/etc/hosts\", raed)\n";
    for (encodings, column) in [(&["utf-16"][..], 34), (&["utf-8", "utf-16"][..], 37)] {
        let (mut h, init) = Harness::start(encodings).await;
        let expected_encoding = if column == 37 { "utf-8" } else { "utf-16" };
        assert_eq!(init["capabilities"]["positionEncoding"], expected_encoding);
        let diagnostics = h.open("file:///w/a.policy", text).await;
        let flag = diagnostics
            .iter()
            .find(|d| d["code"] == "E0104")
            .expect("E0104");
        assert_eq!(
            flag["range"]["start"],
            json!({ "line": 1, "character": column })
        );
        assert_eq!(
            flag["range"]["end"],
            json!({ "line": 1, "character": column + 4 })
        );
        assert!(flag["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `read`?"));
        assert_eq!(flag["severity"], 1);
        assert_eq!(flag["source"], "bpfbox");
    }
}

#[tokio::test]
async fn crlf_text() {
    let (mut h, _) = Harness::start(&["utf-16"]).await;
    let text =
        "#![profile \"/usr/bin/env\"]\r\nread(\"/etc/hosts\")\r\nfs(\"/etc/hosts\", wirte)\r\n";
    let diagnostics = h.open("file:///w/crlf.policy", text).await;
    let flag = diagnostics.iter().find(|d| d["code"] == "E0104").unwrap();
    assert_eq!(
        flag["range"]["start"],
        json!({ "line": 2, "character": 17 })
    );
    assert_eq!(flag["range"]["end"], json!({ "line": 2, "character": 22 }));
    // Formatting keeps working on CRLF text (and writes LF).
    h.change(
        "file:///w/crlf.policy",
        2,
        "#![profile \"/usr/bin/env\"]\r\n  read( '/etc/hosts' )\r\n",
    )
    .await;
    let edits = h.request("textDocument/formatting", json!({ "textDocument": { "uri": "file:///w/crlf.policy" }, "options": { "tabSize": 4, "insertSpaces": true } })).await;
    assert_eq!(
        edits[0]["newText"],
        "#![profile \"/usr/bin/env\"]\nread(\"/etc/hosts\")\n"
    );
    assert_eq!(
        edits[0]["range"]["end"],
        json!({ "line": 2, "character": 0 })
    );
}

#[tokio::test]
async fn hover_completion_actions_format_symbols_tokens() {
    let (mut h, _) = Harness::start(&["utf-16"]).await;
    let uri = "file:///w/b.policy";
    let text = "#![profile \"/usr/bin/env\"]\n#[allow] {\n    fs(\"/etc/hosts\", read|raed)\n    net(inet, bind)\n}\n";
    let diagnostics = h.open(uri, text).await;
    assert_eq!(codes(&diagnostics), vec!["E0104"]);

    let hover = h.request("textDocument/hover", at(uri, 2, 23)).await;
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("open for reading"),
        "{hover}"
    );
    let hover = h.request("textDocument/hover", at(uri, 3, 9)).await;
    assert_eq!(hover["contents"]["value"], "address family `AF_INET` (2)");
    let hover = h.request("textDocument/hover", at(uri, 1, 3)).await;
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("allow the access"),
        "{hover}"
    );
    let hover = h.request("textDocument/hover", at(uri, 2, 10)).await;
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("`/etc/hosts` is a file"),
        "{hover}"
    );

    // Flags after `|`, filtered to the rule kind.
    let items = h.request("textDocument/completion", at(uri, 2, 27)).await;
    let labels = labels_of(&items);
    assert!(
        labels.contains(&"getattr") && !labels.contains(&"bind"),
        "{labels:?}"
    );
    // Families in net's first argument.
    let items = h.request("textDocument/completion", at(uri, 3, 8)).await;
    let labels = labels_of(&items);
    assert!(
        labels.contains(&"inet6") && labels.contains(&"unix"),
        "{labels:?}"
    );
    // Rule kinds and attributes at the start of a line.
    let items = h.request("textDocument/completion", at(uri, 4, 1)).await;
    let labels = labels_of(&items);
    assert!(
        labels.contains(&"fs") && labels.contains(&"#[taint]") && labels.contains(&"ptrace"),
        "{labels:?}"
    );

    // The did-you-mean as a quick fix.
    let actions = h
        .request(
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": uri }, "range": { "start": { "line": 2, "character": 28 }, "end": { "line": 2, "character": 28 } }, "context": { "diagnostics": [] } }),
        )
        .await;
    let action = &actions[0];
    assert_eq!(action["title"], "did you mean `read`?");
    assert_eq!(action["kind"], "quickfix");
    let edit = &action["edit"]["changes"][uri][0];
    assert_eq!(edit["newText"], "read");
    assert_eq!(
        edit["range"]["start"],
        json!({ "line": 2, "character": 26 })
    );

    let symbols = h
        .request(
            "textDocument/documentSymbol",
            json!({ "textDocument": { "uri": uri } }),
        )
        .await;
    assert_eq!(symbols[0]["name"], "/usr/bin/env");
    assert_eq!(symbols[0]["children"][0]["name"], "#[allow]");
    assert_eq!(
        symbols[0]["children"][0]["children"][1]["name"],
        "net(inet, bind)"
    );

    let tokens = h
        .request(
            "textDocument/semanticTokens/full",
            json!({ "textDocument": { "uri": uri } }),
        )
        .await;
    let data = tokens["data"].as_array().unwrap();
    assert_eq!(data.len() % 5, 0);
    // The first token is `#![profile` (a macro, type 4) at 0:0.
    assert_eq!(
        &data[..5],
        &[json!(0), json!(0), json!(10), json!(4), json!(0)]
    );

    h.change(
        uri,
        2,
        "#![profile  '/usr/bin/env']\nread( \"/etc/hosts\" ) // why\n",
    )
    .await;
    let edits = h.request("textDocument/formatting", json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 4, "insertSpaces": true } })).await;
    assert_eq!(
        edits[0]["newText"],
        "#![profile \"/usr/bin/env\"]\nread(\"/etc/hosts\") // why\n"
    );
}

#[tokio::test]
async fn a_missing_profile_line_has_a_fix() {
    let (mut h, _) = Harness::start(&["utf-16"]).await;
    let diagnostics = h.open("file:///w/c.policy", "read(\"/etc/hosts\")\n").await;
    assert_eq!(codes(&diagnostics), vec!["E0100"]);
    let actions = h
        .request(
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": "file:///w/c.policy" }, "range": { "start": { "line": 0, "character": 2 }, "end": { "line": 0, "character": 2 } }, "context": { "diagnostics": [] } }),
        )
        .await;
    let edit = &actions[0]["edit"]["changes"]["file:///w/c.policy"][0];
    assert_eq!(edit["newText"], "#![profile \"/path/to/executable\"]\n\n");
    assert_eq!(edit["range"]["start"], json!({ "line": 0, "character": 0 }));
}

#[tokio::test]
async fn func_symbols_resolve_in_the_background_with_hover_completion_definition() {
    let dir = tempfile::tempdir().unwrap();
    let binary = login_binary(dir.path());
    let (mut h, _) = Harness::start(&["utf-16"]).await;
    let uri = "file:///w/login.policy";
    let text = format!("#![profile \"{}\"]\n#[func check_password]\nread(\"/etc/shadow\")\n#[func chek_password] read(\"/etc/shadow\")\n#[func ", binary.display());
    // First analysis: the binary is not read yet, so no symbol errors...
    let first = h.open(uri, &text).await;
    assert!(!codes(&first).contains(&"E0115".to_string()), "{first:?}");
    // ...then it is read off the typing path, and the diagnostics follow.
    let second = h.diagnostics(uri).await;
    let unknown = second
        .iter()
        .find(|d| d["code"] == "E0115")
        .expect("E0115 once the binary is read");
    assert_eq!(
        unknown["range"]["start"],
        json!({ "line": 3, "character": 7 })
    );
    assert!(unknown["message"]
        .as_str()
        .unwrap()
        .contains("did you mean `check_password`?"));

    let hover = h.request("textDocument/hover", at(uri, 1, 10)).await;
    let value = hover["contents"]["value"].as_str().unwrap();
    assert!(
        value.contains("**`check_password`**") && value.contains("file offset `0x"),
        "{value}"
    );

    let items = h.request("textDocument/completion", at(uri, 4, 7)).await;
    let labels = labels_of(&items);
    assert!(
        labels.contains(&"add_user") && labels.contains(&"recurse"),
        "{labels:?}"
    );

    // To the function's source line, from the binary's DWARF line table.
    let definition = h.request("textDocument/definition", at(uri, 1, 10)).await;
    assert!(
        definition["uri"]
            .as_str()
            .unwrap()
            .ends_with("testsuite/fixtures/login.c"),
        "{definition}"
    );
    let line = definition["range"]["start"]["line"].as_u64().unwrap() as usize;
    let source = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../testsuite/fixtures/login.c"),
    )
    .unwrap();
    let defined_at = source
        .lines()
        .position(|l| l.contains("int check_password("))
        .unwrap();
    assert!(
        line.abs_diff(defined_at) <= 1,
        "line {line}, defined at {defined_at}"
    );
}

#[tokio::test]
async fn definition_of_an_executable_is_its_profile_line_in_another_file() {
    let (mut h, _) = Harness::start(&["utf-16"]).await;
    h.open(
        "file:///w/gdb.policy",
        "// the debugger\n#![profile \"/usr/bin/gdb\"]\nread(\"/etc/hosts\")\n",
    )
    .await;
    h.open(
        "file:///w/app.policy",
        "#![profile \"/usr/bin/env\"]\nptrace(\"/usr/bin/gdb\")\nsignal(self, sigkill)\n",
    )
    .await;
    let definition = h
        .request("textDocument/definition", at("file:///w/app.policy", 1, 10))
        .await;
    assert_eq!(definition[0]["uri"], "file:///w/gdb.policy");
    assert_eq!(
        definition[0]["range"]["start"],
        json!({ "line": 1, "character": 11 })
    );
    let definition = h
        .request("textDocument/definition", at("file:///w/app.policy", 2, 8))
        .await;
    assert_eq!(definition["uri"], "file:///w/app.policy");
    assert_eq!(
        definition["range"]["start"],
        json!({ "line": 0, "character": 11 })
    );
}

/// Random edits with every kind of request between them: no request fails
/// (a panic would answer with an error), and the whole run ends in bounded
/// time (no request hangs).
#[tokio::test]
async fn no_edit_sequence_crashes_the_server() {
    tokio::time::timeout(std::time::Duration::from_secs(300), random_edits())
        .await
        .expect("the server stopped answering");
}

async fn random_edits() {
    let (mut h, _) = Harness::start(&["utf-16"]).await;
    let uri = "file:///w/fuzz.policy";
    let mut text =
        String::from("#![profile \"/usr/bin/env\"]\n#[allow] { fs(\"/etc/hosts\", read) }\n");
    h.open(uri, &text).await;
    let pieces = [
        "#[",
        "\"",
        "(",
        ")",
        "{",
        "}",
        "é",
        "😀",
        "\r\n",
        "|",
        ",",
        "#![",
        "read",
        "/*",
        "*/",
        "\\",
        " ",
        "fs(\"",
        "\r",
        "\n",
        "cap(",
        "sys(",
        "net_admin|",
        "memfd_exec",
        "any",
    ];
    let mut seed = 7u64;
    for version in 2..300 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let piece = pieces[(seed >> 33) as usize % pieces.len()];
        let mut cut = (seed >> 13) as usize % (text.len() + 1);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        if seed.is_multiple_of(5) && cut < text.len() {
            let mut end = (cut + 3).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            text.replace_range(cut..end, "");
        } else {
            text.insert_str(cut, piece);
        }
        h.change(uri, version, &text).await;
        let line = (seed >> 40) as u32 % 6;
        let character = (seed >> 20) as u32 % 50;
        for method in [
            "textDocument/hover",
            "textDocument/completion",
            "textDocument/definition",
        ] {
            h.request(method, at(uri, line, character)).await;
        }
        h.request(
            "textDocument/semanticTokens/full",
            json!({ "textDocument": { "uri": uri } }),
        )
        .await;
        h.request(
            "textDocument/documentSymbol",
            json!({ "textDocument": { "uri": uri } }),
        )
        .await;
        h.request(
            "textDocument/formatting",
            json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 4, "insertSpaces": true } }),
        )
        .await;
        let range = json!({ "start": { "line": line, "character": 0 }, "end": { "line": line + 1, "character": character } });
        h.request(
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": uri }, "range": range, "context": { "diagnostics": [] } }),
        )
        .await;
    }
    // Still answering, and a stale change is ignored.
    let diagnostics = h
        .change(
            uri,
            400,
            "#![profile \"/usr/bin/env\"]\nread(\"/etc/hosts\")\n",
        )
        .await;
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    h.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 350 }, "contentChanges": [{ "text": "garbage(" }] }),
    )
    .await;
    let symbols = h
        .request(
            "textDocument/documentSymbol",
            json!({ "textDocument": { "uri": uri } }),
        )
        .await;
    assert_eq!(
        symbols[0]["name"], "/usr/bin/env",
        "the newer version stays"
    );
}

/// Paths are checked where the settings say, as bpfboxc's --root and
/// --no-path-check: on the target's root from initializationOptions, not at
/// all after a configuration change, and a bad root is said in the editor.
#[tokio::test]
async fn path_checks_follow_the_settings() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("srv/app")).unwrap();
    std::fs::write(root.path().join("srv/app/config"), "").unwrap();
    let (mut h, _) = Harness::start_with(json!({
        "capabilities": {},
        "initializationOptions": { "paths": { "root": root.path() } },
    }))
    .await;
    let uri = "file:///tmp/rooted.policy";
    // /etc/hostname exists here and not under the root; the config the
    // other way round.
    let text = "#![profile \"/usr/bin/app\"]\nread(\"/srv/app/config\")\nread(\"/etc/hostname\")\n";
    let diagnostics = h.open(uri, text).await;
    let messages: Vec<&str> = diagnostics
        .iter()
        .map(|d| d["message"].as_str().unwrap().lines().next().unwrap())
        .collect();
    assert_eq!(
        messages,
        [format!(
            "/etc/hostname does not exist under {}",
            root.path().display()
        )],
        "{diagnostics:?}"
    );

    h.notify(
        "workspace/didChangeConfiguration",
        json!({ "settings": { "bpfbox": { "paths": { "check": false } } } }),
    )
    .await;
    assert_eq!(h.diagnostics(uri).await, Vec::<Value>::new());

    h.notify(
        "workspace/didChangeConfiguration",
        json!({ "settings": { "bpfbox": { "paths": { "root": "/nonexistent/root" } } } }),
    )
    .await;
    let shown = h.shown_message().await;
    assert!(
        shown.contains("paths.root /nonexistent/root is not a directory"),
        "{shown}"
    );
    // Back to this machine: the config is missing here.
    let diagnostics = h.diagnostics(uri).await;
    assert_eq!(codes(&diagnostics), ["W0004"], "{diagnostics:?}");
    assert!(
        diagnostics[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("/srv/app/config does not exist on this machine\n"),
        "{diagnostics:?}"
    );
}

/// A root in initializationOptions that is not a directory is said too.
#[tokio::test]
async fn a_bad_root_at_start_is_said() {
    let (mut h, _) = Harness::start_with(json!({
        "capabilities": {},
        "initializationOptions": { "paths": { "root": "relative/root" } },
    }))
    .await;
    let shown = h.shown_message().await;
    assert!(
        shown.contains("paths.root relative/root is not a directory"),
        "{shown}"
    );
}

#[tokio::test]
async fn shutdown_and_exit() {
    let (mut h, _) = Harness::start(&["utf-16"]).await;
    assert_eq!(h.request("shutdown", json!(null)).await, Value::Null);
    assert!(
        h.request_error("textDocument/hover", at("file:///w/x.policy", 0, 0))
            .await,
        "requests after shutdown are refused"
    );
    h.notify("exit", json!(null)).await;
}

#[tokio::test]
async fn paths_complete_inside_strings_and_definitions_reach_workspace_files() {
    let workspace = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(workspace.path().join("policies")).unwrap();
    std::fs::write(
        workspace.path().join("policies/gdb.policy"),
        "#![profile \"/usr/bin/gdb\"]\nread(\"/etc/hosts\")\n",
    )
    .unwrap();
    std::fs::create_dir_all(workspace.path().join("files/sub")).unwrap();
    std::fs::write(workspace.path().join("files/alpha.conf"), "").unwrap();
    let root = format!("file://{}", workspace.path().display());
    let (mut h, _) = Harness::start_with(
        json!({ "capabilities": {}, "workspaceFolders": [{ "uri": root, "name": "w" }] }),
    )
    .await;

    let uri = "file:///w/app.policy";
    let files = workspace.path().join("files");
    let text = format!(
        "#![profile \"/usr/bin/env\"]\nread(\"{}/a\")\nptrace(\"/usr/bin/gdb\")\n",
        files.display()
    );
    h.open(uri, &text).await;
    let column = 6 + files.display().to_string().len() as u32 + 2;
    let items = h
        .request("textDocument/completion", at(uri, 1, column))
        .await;
    let labels = labels_of(&items);
    assert_eq!(labels, vec!["alpha.conf"], "entries starting with `a`");
    let edit = &items[0]["textEdit"];
    assert_eq!(edit["newText"], "alpha.conf");
    assert_eq!(edit["range"]["start"]["character"], column - 1);
    let items = h
        .request("textDocument/completion", at(uri, 1, column - 1))
        .await;
    let labels = labels_of(&items);
    assert_eq!(labels, vec!["alpha.conf", "sub/"]);

    // gdb's profile is in a workspace file that is not open.
    let definition = h.request("textDocument/definition", at(uri, 2, 10)).await;
    assert!(
        definition[0]["uri"]
            .as_str()
            .unwrap()
            .ends_with("/policies/gdb.policy"),
        "{definition}"
    );
    assert_eq!(
        definition[0]["range"]["start"],
        json!({ "line": 0, "character": 11 })
    );
}

/// `#![include]`: an error in the fragment shows at the include line with
/// the fragment's place; hover lists what it adds; definition opens it.
#[tokio::test]
async fn an_include_is_followed_for_diagnostics_hover_and_definition() {
    let dir = tempfile::tempdir().unwrap();
    let fragment = dir.path().join("base.policy");
    std::fs::write(&fragment, "read(\"/etc/hosts\")\nreed(\"/etc/passwd\")\n").unwrap();
    let policy = dir.path().join("app.policy");
    let uri = format!("file://{}", policy.display());
    let text = "#![profile \"/usr/bin/env\"]\n#![include \"base.policy\"]\n#![include tls_trust]\n";
    let (mut h, _) = Harness::start(&["utf-16"]).await;
    let diagnostics = h.open(&uri, text).await;
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0]["code"], "E0120");
    assert_eq!(
        diagnostics[0]["range"]["start"],
        json!({ "line": 1, "character": 11 })
    );
    let message = diagnostics[0]["message"].as_str().unwrap();
    assert!(
        message.contains("base.policy:2:1: unknown rule `reed`"),
        "{message}"
    );

    // Fixed and saved (in the editor, as another document): the policy
    // that includes it is analysed again, unchanged itself.
    std::fs::write(&fragment, "read(\"/etc/hosts\")\n").unwrap();
    let fragment_uri = format!("file://{}", fragment.display());
    h.notify(
        "textDocument/didSave",
        json!({ "textDocument": { "uri": fragment_uri } }),
    )
    .await;
    assert_eq!(h.diagnostics(&uri).await, Vec::<Value>::new());
    let hover = h.request("textDocument/hover", at(&uri, 1, 14)).await;
    let shown = hover["contents"]["value"].as_str().unwrap();
    assert!(shown.contains("`/etc/hosts` read"), "{shown}");
    let hover = h.request("textDocument/hover", at(&uri, 2, 13)).await;
    let shown = hover["contents"]["value"].as_str().unwrap();
    assert!(
        shown.contains("TLS trust store") && shown.contains("/etc/ssl/certs"),
        "{shown}"
    );
    let definition = h.request("textDocument/definition", at(&uri, 1, 14)).await;
    assert_eq!(definition["uri"], format!("file://{}", fragment.display()));

    // After `#![include `, the fragments bpfbox ships.
    let typing = format!("{text}#![include ");
    h.change(&uri, 2, &typing).await;
    let completion = h.request("textDocument/completion", at(&uri, 3, 11)).await;
    let labels: Vec<&str> = completion
        .as_array()
        .or_else(|| completion["items"].as_array())
        .unwrap()
        .iter()
        .filter_map(|i| i["label"].as_str())
        .collect();
    assert_eq!(labels, ["c_runtime", "locale", "name_service", "tls_trust"]);
}
