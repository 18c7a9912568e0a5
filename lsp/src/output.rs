//! How diagnostics reach the editor.
//!
//! The protocol library turns every message it sends into a
//! `serde_json::Value` tree before writing it as text. For a publish of a
//! 5,000-line policy's 7,000 diagnostics that tree is most of the work:
//! measured, building it took 8 ms, writing it out 3.5 ms and freeing it
//! 4 ms, where writing the same diagnostics straight to text took 0.9 ms.
//! So the stdio server writes `textDocument/publishDiagnostics` itself, as
//! one frame serialized straight from the compiler's diagnostics
//! (`to_proto::Published`), on the same standard output as the library's
//! frames; everything else still goes through the library. The in-process
//! service (tests, embedding) publishes through the library.

use std::io::Write;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use serde::Serialize;
use tower_lsp_server::ls_types::notification::{Notification, PublishDiagnostics};
use tower_lsp_server::Client;

use crate::to_proto::Published;

/// A byte stream frames are written to whole: the library's (through
/// `AsyncWrite`) and ours (`notify`) each hold the lock for a whole write,
/// so they never interleave. The library encodes a message completely
/// before it writes, and `poll_write` here writes everything it is given,
/// so each of its writes is whole frames too.
///
/// Writes block the server's one thread until the editor has read them;
/// editors read their server's output as it comes, and nothing else is
/// waiting on that thread meanwhile.
pub struct Output<W> {
    writer: Arc<Mutex<W>>,
    /// The size of the last frame we wrote: the next body is serialized
    /// into a buffer that large from the start (a document's publishes are
    /// about the same size), not one grown and copied a dozen times.
    last_size: Arc<AtomicUsize>,
}

impl<W> Clone for Output<W> {
    fn clone(&self) -> Self {
        Output {
            writer: self.writer.clone(),
            last_size: self.last_size.clone(),
        }
    }
}

impl<W: Write> Output<W> {
    pub fn new(writer: W) -> Self {
        Output {
            writer: Arc::new(Mutex::new(writer)),
            last_size: Arc::default(),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut W) -> std::io::Result<T>) -> std::io::Result<T> {
        let mut writer = self
            .writer
            .lock()
            .map_err(|_| std::io::Error::other("the output's lock is poisoned"))?;
        f(&mut writer)
    }

    /// Writes the notification `N`, with `params` serialized as its
    /// parameters are, as one frame of the LSP base protocol.
    pub fn notify<N: Notification>(&self, params: &impl Serialize) -> std::io::Result<()> {
        #[derive(Serialize)]
        struct Message<'a, P> {
            jsonrpc: &'static str,
            method: &'static str,
            params: &'a P,
        }
        let mut body = Vec::with_capacity(self.last_size.load(Ordering::Relaxed) + 4096);
        serde_json::to_writer(
            &mut body,
            &Message {
                jsonrpc: "2.0",
                method: N::METHOD,
                params,
            },
        )?;
        self.last_size.store(body.len(), Ordering::Relaxed);
        self.with(|out| {
            write!(out, "Content-Length: {}\r\n\r\n", body.len())?;
            out.write_all(&body)?;
            out.flush()
        })
    }
}

impl<W: Write> tokio::io::AsyncWrite for Output<W> {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(self.with(|out| out.write_all(buf)).map(|()| buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(self.with(|out| out.flush()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.poll_flush(cx)
    }
}

/// Lets a publish of a large policy's diagnostics (2 MB for 7,000) into
/// the pipe to the editor in a few writes rather than one per 64 KiB the
/// editor reads: up to the system's limit for a pipe (1 MiB by default).
/// Only ever grows it: nothing changes when stdout is not a pipe, the
/// limit cannot be read, or the pipe is that large already.
pub fn widen_stdout_pipe() {
    let Some(limit) = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
        .ok()
        .and_then(|s| s.trim().parse::<libc::c_int>().ok())
    else {
        return;
    };
    let wanted = limit.min(1 << 20);
    // SAFETY: fcntl on our own stdout; F_GETPIPE_SZ fails (-1) on anything
    // but a pipe, and F_SETPIPE_SZ changes only the pipe's capacity.
    unsafe {
        let now = libc::fcntl(libc::STDOUT_FILENO, libc::F_GETPIPE_SZ);
        if now > 0 && wanted > now {
            libc::fcntl(libc::STDOUT_FILENO, libc::F_SETPIPE_SZ, wanted);
        }
    }
}

/// Where a document's diagnostics are published.
#[derive(Clone)]
pub enum Publisher {
    /// Through the protocol library's client: the in-process service.
    Client(Client),
    /// Straight to the stdio server's output. The library answers nothing
    /// but `initialize` before it, so no handler publishes before the
    /// client is initialized, as the library's own client ensures.
    Stdout(Output<std::io::Stdout>),
}

impl Publisher {
    pub async fn publish(&self, published: &Published<'_>) {
        match self {
            Publisher::Client(client) => {
                let params = published.to_params();
                client
                    .publish_diagnostics(params.uri, params.diagnostics, params.version)
                    .await
            }
            // An editor that has gone away: the server ends when its input
            // does.
            Publisher::Stdout(output) => drop(output.notify::<PublishDiagnostics>(published)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tower_lsp_server::ls_types::{Diagnostic, PublishDiagnosticsParams, Uri};

    /// The library's frames and ours, written in turn, read back as whole
    /// frames with the bodies each meant.
    #[test]
    fn frames_stay_whole() {
        let output = Output::new(Vec::new());
        let library = b"Content-Length: 2\r\n\r\n{}";
        let runtime = crate::runtime().unwrap();
        let uri: Uri = "file:///p.policy".parse().unwrap();
        runtime.block_on(async {
            let mut writer = output.clone();
            writer.write_all(library).await.unwrap();
            output
                .notify::<PublishDiagnostics>(&PublishDiagnosticsParams::new(
                    uri.clone(),
                    vec![Diagnostic::new_simple(Default::default(), "é\"".into())],
                    Some(7),
                ))
                .unwrap();
            writer.write_all(library).await.unwrap();
        });
        let bytes = output.writer.lock().unwrap().clone();
        let mut rest = &bytes[..];
        let mut bodies = Vec::new();
        while !rest.is_empty() {
            let text = std::str::from_utf8(rest).unwrap();
            let (header, after) = text.split_once("\r\n\r\n").unwrap();
            let length: usize = header
                .strip_prefix("Content-Length: ")
                .unwrap()
                .parse()
                .unwrap();
            let body: serde_json::Value =
                serde_json::from_slice(&after.as_bytes()[..length]).unwrap();
            bodies.push(body);
            rest = &after.as_bytes()[length..];
        }
        assert_eq!(bodies.len(), 3);
        assert_eq!(bodies[0], serde_json::json!({}));
        assert_eq!(bodies[1]["jsonrpc"], "2.0");
        assert_eq!(bodies[1]["method"], "textDocument/publishDiagnostics");
        assert_eq!(bodies[1]["params"]["uri"], "file:///p.policy");
        assert_eq!(bodies[1]["params"]["version"], 7);
        assert_eq!(bodies[1]["params"]["diagnostics"][0]["message"], "é\"");
        assert_eq!(bodies[2], serde_json::json!({}));
    }
}
