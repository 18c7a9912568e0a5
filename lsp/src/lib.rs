//! `bpfbox-lsp`: the language server for bpfbox policies. It speaks LSP
//! (over stdio, with tower-lsp-server; diagnostics it writes itself, see
//! output.rs) and nothing else: parsing, checking,
//! `#[func]` resolution and formatting are bpfbox-compiler's, the same code
//! that bpfboxc runs, so the editor shows exactly what the compiler says.
//!
//! Documents are synced in full; each change is applied (newest version
//! wins) and analysed before the handler's first await, then diagnostics are
//! published. Handlers run one at a time, on the server's one thread
//! (memory.rs says why). Requests read a snapshot of the state (the
//! documents are shared `Arc`s), taken under its lock and read without it,
//! so the lock is never held across a request's work. Every handler runs
//! inside `catch_unwind`: a panic answers the request with an error and
//! leaves the server running.

/// Analysis allocates and frees many small strings per keystroke: mimalloc
/// does that several times faster than glibc's malloc (and see memory.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod binaries;
mod docs;
mod ide;
mod memory;
mod output;
pub mod position;
mod settings;
mod to_proto;

use std::collections::{HashMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bpfbox_compiler::{analyze, Analysis, Options};
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer, LspService, Server};

use binaries::{BinaryCache, PathCache};
use output::{Output, Publisher};
use position::{Encoding, Text};

/// One open document: its text and what the compiler made of it. What a
/// request reads.
#[derive(Clone)]
pub(crate) struct Document {
    pub text: Arc<Text>,
    pub version: i32,
    pub analysis: Arc<Analysis>,
}

impl Document {
    /// What the `ide` layer reads.
    pub fn file(&self) -> ide::File<'_> {
        ide::File {
            text: &self.text.text,
            analysis: &self.analysis,
        }
    }

    /// The executables it profiles and where each `#![profile]` names them.
    pub fn profile_names(&self) -> Vec<(String, bpfbox_compiler::Span)> {
        self.analysis
            .policy
            .profiles
            .iter()
            .map(|p| (p.exe.clone(), p.exe_span))
            .collect()
    }
}

/// How many documents keep their analysis between requests: the ones
/// being edited. An analysis of a 5,000-line policy (syntax tree, checked
/// model, diagnostics) is some 8 MiB; the others keep their text and are
/// analysed again when a request needs them (some 20 ms), as
/// rust-analyzer keeps syntax trees in an LRU.
const KEPT_ANALYSES: usize = 2;

/// An open document as the state keeps it.
#[derive(Clone)]
pub(crate) struct Open {
    pub text: Arc<Text>,
    pub version: i32,
    /// While among the KEPT_ANALYSES most recently analysed.
    pub analysis: Option<Arc<Analysis>>,
    /// The executables it profiles and where each `#![profile]` names it:
    /// what definitions in other documents look for.
    pub profiles: Arc<[(String, bpfbox_compiler::Span)]>,
}

/// The open documents and settings. Cloning it is cheap (the documents are
/// shared), which is how a request gets its snapshot.
#[derive(Clone)]
pub(crate) struct State {
    pub encoding: Encoding,
    pub documents: HashMap<Uri, Open>,
    /// The documents that keep their analysis, most recent first.
    recent: VecDeque<Uri>,
    pub roots: Vec<PathBuf>,
    /// Where the paths the policies name are checked.
    pub path_settings: settings::PathSettings,
}

impl State {
    /// Stores a document's new text and analysis; returns what to publish
    /// and what it replaced (see `keep`).
    fn store(
        &mut self,
        uri: &Uri,
        text: Arc<Text>,
        version: i32,
        analysis: Analysis,
    ) -> (ToPublish, Replaced) {
        let document = Document {
            text,
            version,
            analysis: Arc::new(analysis),
        };
        let published = ToPublish {
            uri: uri.clone(),
            document: document.clone(),
            encoding: self.encoding,
        };
        (published, self.keep(uri, document))
    }

    /// Keeps `document` with its analysis, and forgets the analysis of the
    /// document least recently analysed beyond KEPT_ANALYSES. Returns what
    /// it let go of, for the caller to drop once the diagnostics are out:
    /// freeing a large analysis is not worth a later publish.
    fn keep(&mut self, uri: &Uri, document: Document) -> Replaced {
        let mut replaced = Replaced::default();
        let profiles = document.profile_names().into();
        replaced.0.extend(
            self.documents
                .insert(
                    uri.clone(),
                    Open {
                        text: document.text,
                        version: document.version,
                        analysis: Some(document.analysis),
                        profiles,
                    },
                )
                .and_then(|open| open.analysis),
        );
        self.recent.retain(|u| u != uri);
        self.recent.push_front(uri.clone());
        while self.recent.len() > KEPT_ANALYSES {
            if let Some(open) = self
                .recent
                .pop_back()
                .and_then(|old| self.documents.get_mut(&old))
            {
                replaced.0.extend(open.analysis.take());
            }
        }
        replaced
    }

    fn close(&mut self, uri: &Uri) {
        self.documents.remove(uri);
        self.recent.retain(|u| u != uri);
    }
}

/// Analyses a state let go of, to be dropped after publishing.
#[derive(Default)]
#[must_use]
pub(crate) struct Replaced(Vec<Arc<Analysis>>);

/// A document's diagnostics to publish, serialized once they are sent
/// (outside the state's lock).
pub(crate) struct ToPublish {
    uri: Uri,
    document: Document,
    encoding: Encoding,
}

impl ToPublish {
    fn published(&self) -> to_proto::Published<'_> {
        to_proto::Published {
            uri: &self.uri,
            text: &self.document.text,
            encoding: self.encoding,
            diagnostics: &self.document.analysis.diagnostics,
            version: Some(self.document.version),
        }
    }
}

/// What an edit publishes, and what it replaced.
type Update = (ToPublish, Replaced);

pub struct Backend {
    client: Client,
    publisher: Publisher,
    state: Arc<Mutex<State>>,
    binaries: Arc<BinaryCache>,
    paths: Arc<PathCache>,
    release: memory::Release,
}

/// Runs `f`, turning a panic into an internal error for the client.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let mut error = Error::internal_error();
        error.message = format!("bpfbox-lsp failed on this request: {what}").into();
        error
    })
}

impl Backend {
    /// A server that publishes through the protocol library's client.
    pub fn new(client: Client) -> Backend {
        Backend::with_publisher(client.clone(), Publisher::Client(client))
    }

    fn with_publisher(client: Client, publisher: Publisher) -> Backend {
        Backend {
            client,
            publisher,
            state: Arc::new(Mutex::new(State {
                encoding: Encoding::Utf16,
                documents: HashMap::new(),
                recent: VecDeque::new(),
                roots: Vec::new(),
                path_settings: settings::PathSettings::default(),
            })),
            binaries: Arc::new(BinaryCache::default()),
            paths: Arc::new(PathCache::default()),
            release: memory::Release::default(),
        }
    }

    fn analyze(&self, uri: &Uri, text: &str) -> Analysis {
        let settings = self
            .state
            .lock()
            .map(|state| state.path_settings.clone())
            .unwrap_or_default();
        analyze_with(uri, text, &self.binaries, &self.paths, &settings)
    }

    /// Takes new settings (from initializationOptions or a configuration
    /// change); a bad one is said once, in the editor, and the defaults
    /// hold. Returns whether anything changed.
    async fn configure(&self, value: &serde_json::Value) -> bool {
        let settings = match settings::PathSettings::from_json(value) {
            Ok(settings) => settings,
            Err(message) => {
                self.client.show_message(MessageType::ERROR, message).await;
                settings::PathSettings::default()
            }
        };
        self.binaries.set_root(&settings.root);
        let Ok(mut state) = self.state.lock() else {
            return false;
        };
        let changed = state.path_settings != settings;
        state.path_settings = settings;
        changed
    }

    /// Runs a request on a snapshot of the state, taken under the lock and
    /// read without it: the lock is never held across a request's work.
    fn with_snapshot<T>(
        &self,
        uri: &Uri,
        f: impl FnOnce(&Document, Encoding, &State) -> Option<T>,
    ) -> Result<Option<T>> {
        let Some(snapshot) = self.state.lock().ok().map(|state| state.clone()) else {
            return Ok(None);
        };
        let Some(open) = snapshot.documents.get(uri).cloned() else {
            return Ok(None);
        };
        let analysis = match open.analysis {
            Some(analysis) => analysis,
            // Not kept: analysed again, and kept (unless edited meanwhile).
            None => {
                let analysis = Arc::new(guarded(|| self.analyze(uri, &open.text.text))?);
                if let Ok(mut state) = self.state.lock() {
                    if state
                        .documents
                        .get(uri)
                        .is_some_and(|current| current.version == open.version)
                    {
                        let document = Document {
                            text: open.text.clone(),
                            version: open.version,
                            analysis: analysis.clone(),
                        };
                        drop(state.keep(uri, document));
                    }
                }
                analysis
            }
        };
        let document = Document {
            text: open.text,
            version: open.version,
            analysis,
        };
        guarded(|| f(&document, snapshot.encoding, &snapshot))
    }

    /// Applies a new text (unless an older version arrives late), analyses
    /// it, and returns what to publish.
    fn update(&self, uri: Uri, text: String, version: i32) -> Option<Update> {
        let text = Arc::new(Text::new(text));
        let analysis = guarded(|| self.analyze(&uri, &text.text)).ok()?;
        let mut state = self.state.lock().ok()?;
        if state
            .documents
            .get(&uri)
            .is_some_and(|d| d.version > version)
        {
            return None;
        }
        Some(state.store(&uri, text, version, analysis))
    }

    async fn publish(&self, update: Option<Update>) {
        if let Some((published, replaced)) = update {
            self.publisher.publish(&published.published()).await;
            drop(replaced);
            self.release.after_edit();
        }
        self.load_wanted_binaries();
    }

    /// Analyses the open documents again and publishes.
    async fn reanalyze_open(&self) {
        reanalyze_open(
            &self.state,
            &self.binaries,
            &self.paths,
            &self.publisher,
            &self.release,
        )
        .await;
    }

    /// Reads the binaries that analysis asked for, in the background, then
    /// analyses the open documents again and publishes.
    fn load_wanted_binaries(&self) {
        let wanted = self.binaries.take_wanted();
        if wanted.is_empty() {
            return;
        }
        let binaries = self.binaries.clone();
        let paths = self.paths.clone();
        let state = self.state.clone();
        let publisher = self.publisher.clone();
        let release = self.release.clone();
        tokio::spawn(async move {
            let cache = binaries.clone();
            let loaded = tokio::task::spawn_blocking(move || {
                for path in wanted {
                    cache.load(&path);
                }
            })
            .await;
            if loaded.is_err() {
                return;
            }
            reanalyze_open(&state, &binaries, &paths, &publisher, &release).await;
        });
    }
}

/// Analyses the open documents again and publishes: after binaries were
/// read, or a file was saved that a document may include.
async fn reanalyze_open(
    state: &Arc<Mutex<State>>,
    binaries: &Arc<BinaryCache>,
    paths: &Arc<PathCache>,
    publisher: &Publisher,
    release: &memory::Release,
) {
    let documents: Vec<(Uri, Open)> = match state.lock() {
        Ok(state) => state
            .documents
            .iter()
            .map(|(u, d)| (u.clone(), d.clone()))
            .collect(),
        Err(_) => return,
    };
    let settings = state
        .lock()
        .map(|state| state.path_settings.clone())
        .unwrap_or_default();
    for (uri, document) in documents {
        let analysis =
            guarded(|| analyze_with(&uri, &document.text.text, binaries, paths, &settings));
        let Ok(analysis) = analysis else { continue };
        let published = {
            let Ok(mut state) = state.lock() else { return };
            // Only if the document has not changed meanwhile.
            let unchanged = state
                .documents
                .get(&uri)
                .is_some_and(|current| current.version == document.version);
            unchanged.then(|| state.store(&uri, document.text.clone(), document.version, analysis))
        };
        if let Some((published, replaced)) = published {
            publisher.publish(&published.published()).await;
            drop(replaced);
        }
    }
    release.after_edit();
}

/// `#![include]` paths are relative to the document's file; included
/// files are read from disk (saved text).
fn analyze_with(
    uri: &Uri,
    text: &str,
    binaries: &BinaryCache,
    paths: &PathCache,
    settings: &settings::PathSettings,
) -> Analysis {
    let now = std::time::Instant::now();
    let exists = |path: &str| paths.exists(&settings.on_target(path), now);
    let source = uri.to_file_path().map(|p| p.into_owned());
    let options = Options {
        binaries,
        check_paths: settings.check,
        path_exists: &exists,
        path_root: Some(&settings.root),
        source: source.as_deref(),
        ..Options::default()
    };
    analyze(text, &options)
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let offers_utf8 = params
            .capabilities
            .general
            .as_ref()
            .and_then(|g| g.position_encodings.as_ref())
            .is_some_and(|encodings| encodings.contains(&PositionEncodingKind::UTF8));
        let encoding = if offers_utf8 {
            Encoding::Utf8
        } else {
            Encoding::Utf16
        };
        let mut roots: Vec<PathBuf> = params
            .workspace_folders
            .unwrap_or_default()
            .iter()
            .filter_map(|f| f.uri.to_file_path().map(|p| p.into_owned()))
            .collect();
        #[allow(deprecated)]
        if let Some(root) = params.root_uri.as_ref().and_then(|u| u.to_file_path()) {
            roots.push(root.into_owned());
        }
        if let Ok(mut state) = self.state.lock() {
            state.encoding = encoding;
            state.roots = roots;
        }
        if let Some(options) = &params.initialization_options {
            self.configure(options).await;
        }
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                position_encoding: Some(match encoding {
                    Encoding::Utf8 => PositionEncodingKind::UTF8,
                    Encoding::Utf16 => PositionEncodingKind::UTF16,
                }),
                // Saves too: a saved fragment changes what includes it.
                text_document_sync: Some(TextDocumentSyncCapability::Options(
                    TextDocumentSyncOptions {
                        open_close: Some(true),
                        change: Some(TextDocumentSyncKind::FULL),
                        save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                        ..TextDocumentSyncOptions::default()
                    },
                )),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                completion_provider: Some(CompletionOptions {
                    trigger_characters: Some(vec![
                        "[".into(),
                        "(".into(),
                        ",".into(),
                        "|".into(),
                        "/".into(),
                        " ".into(),
                        "\"".into(),
                    ]),
                    ..CompletionOptions::default()
                }),
                definition_provider: Some(OneOf::Left(true)),
                document_symbol_provider: Some(OneOf::Left(true)),
                document_formatting_provider: Some(OneOf::Left(true)),
                code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
                semantic_tokens_provider: Some(
                    SemanticTokensOptions {
                        legend: to_proto::semantic_legend(),
                        full: Some(SemanticTokensFullOptions::Bool(true)),
                        range: None,
                        ..SemanticTokensOptions::default()
                    }
                    .into(),
                ),
                ..ServerCapabilities::default()
            },
            server_info: Some(ServerInfo {
                name: "bpfbox-lsp".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
            ..InitializeResult::default()
        })
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    /// New settings: the open documents are analysed again under them.
    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        if self.configure(&params.settings).await {
            self.reanalyze_open().await;
            self.load_wanted_binaries();
        }
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let doc = params.text_document;
        let update = self.update(doc.uri, doc.text, doc.version);
        self.publish(update).await;
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        // Full sync: the last change holds the whole text.
        let Some(change) = params.content_changes.into_iter().last() else {
            return;
        };
        let update = self.update(
            params.text_document.uri,
            change.text,
            params.text_document.version,
        );
        self.publish(update).await;
    }

    /// A saved file may be a fragment the open documents include (read
    /// from disk): analyse them again.
    async fn did_save(&self, _: DidSaveTextDocumentParams) {
        self.reanalyze_open().await;
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        if let Ok(mut state) = self.state.lock() {
            state.close(&params.text_document.uri);
        }
        let nothing = to_proto::Published {
            uri: &params.text_document.uri,
            text: &Text::new(String::new()),
            encoding: Encoding::Utf16,
            diagnostics: &[],
            version: None,
        };
        self.publisher.publish(&nothing).await;
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let p = params.text_document_position_params;
        let binaries = self.binaries.clone();
        self.with_snapshot(&p.text_document.uri, |doc, encoding, _| {
            let offset = doc.text.offset(p.position, encoding);
            let info = ide::hover(doc.file(), offset, &binaries)?;
            Some(to_proto::hover(doc, encoding, info))
        })
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        let p = params.text_document_position;
        let binaries = self.binaries.clone();
        self.with_snapshot(&p.text_document.uri, |doc, encoding, _| {
            let offset = doc.text.offset(p.position, encoding);
            let items = ide::completions(doc.file(), offset, &binaries)
                .into_iter()
                .map(|c| to_proto::completion(doc, encoding, c))
                .collect();
            Some(CompletionResponse::Array(items))
        })
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        let p = params.text_document_position_params;
        let uri = p.text_document.uri.clone();
        let binaries = self.binaries.clone();
        self.with_snapshot(&p.text_document.uri, |doc, encoding, state| {
            let offset = doc.text.offset(p.position, encoding);
            let path = uri.to_file_path();
            let found = ide::definition(doc.file(), path.as_deref(), offset, &binaries)?;
            to_proto::definition(&uri, doc, encoding, found, state)
        })
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        self.with_snapshot(&params.text_document.uri, |doc, encoding, _| {
            let symbols = ide::symbols(doc.file())
                .into_iter()
                .map(|s| to_proto::symbol(doc, encoding, s))
                .collect();
            Some(DocumentSymbolResponse::Nested(symbols))
        })
    }

    async fn formatting(&self, params: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        self.with_snapshot(&params.text_document.uri, |doc, encoding, _| {
            to_proto::formatting(doc, encoding)
        })
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let uri = params.text_document.uri.clone();
        self.with_snapshot(&params.text_document.uri, |doc, encoding, _| {
            Some(to_proto::code_actions(&uri, doc, encoding, params.range))
        })
    }

    async fn semantic_tokens_full(
        &self,
        params: SemanticTokensParams,
    ) -> Result<Option<SemanticTokensResult>> {
        self.with_snapshot(&params.text_document.uri, |doc, encoding, _| {
            Some(SemanticTokensResult::Tokens(SemanticTokens {
                result_id: None,
                data: to_proto::semantic_tokens(doc, encoding, ide::highlights(doc.file())),
            }))
        })
    }
}

pub fn service() -> (LspService<Backend>, tower_lsp_server::ClientSocket) {
    LspService::new(Backend::new)
}

pub use memory::{runtime, AT_REST};

/// Serves LSP on stdin/stdout until `exit`, publishing diagnostics
/// straight to stdout (output.rs says why).
pub async fn serve_stdio() {
    output::widen_stdout_pipe();
    let stdout = Output::new(std::io::stdout());
    let publisher = Publisher::Stdout(stdout.clone());
    let (service, socket) =
        LspService::new(move |client| Backend::with_publisher(client, publisher.clone()));
    Server::new(tokio::io::stdin(), stdout, socket)
        .serve(service)
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request reads its snapshot without holding the state's lock, so a
    /// slow one (a workspace walk) leaves every other request and edit free.
    #[test]
    fn requests_run_without_the_lock() {
        let (service, _socket) = service();
        let backend = service.inner();
        let uri: Uri = "file:///tmp/t.policy".parse().unwrap();
        let text = "#![profile \"/bin/true\"]\nread(\"/etc/hosts\")\n";
        assert!(backend.update(uri.clone(), text.into(), 1).is_some());
        let lock_free = backend
            .with_snapshot(&uri, |doc, _, _| {
                let free = backend.state.try_lock().is_ok();
                // An edit stored meanwhile does not change this snapshot.
                backend.update(uri.clone(), "changed".into(), 2);
                Some((free, doc.version))
            })
            .unwrap();
        assert_eq!(lock_free, Some((true, 1)));
        let version = backend.with_snapshot(&uri, |doc, _, _| Some(doc.version));
        assert_eq!(version.unwrap(), Some(2));
    }

    /// Only the documents being edited keep their analysis; a request on
    /// another analyses it again and gets the same answer.
    #[test]
    fn analyses_are_kept_for_the_recent_documents_only() {
        let (service, _socket) = service();
        let backend = service.inner();
        let uris: Vec<Uri> = (0..3)
            .map(|i| format!("file:///tmp/t{i}.policy").parse().unwrap())
            .collect();
        for (i, uri) in uris.iter().enumerate() {
            let text = format!("#![profile \"/bin/p{i}\"]\nread(\"/etc/hosts\")\n");
            assert!(backend.update(uri.clone(), text, 1).is_some());
        }
        let kept = |backend: &Backend| -> Vec<bool> {
            let state = backend.state.lock().unwrap();
            uris.iter()
                .map(|u| state.documents[u].analysis.is_some())
                .collect()
        };
        assert_eq!(kept(backend), [false, true, true]);
        let exe = backend.with_snapshot(&uris[0], |doc, _, _| {
            Some(doc.analysis.policy.profiles[0].exe.clone())
        });
        assert_eq!(exe.unwrap().as_deref(), Some("/bin/p0"));
        assert_eq!(kept(backend), [true, false, true]);
    }
}
