//! Where the server runs and how it gives memory back.
//!
//! One thread does all the work (a current-thread runtime): the analysis,
//! the conversion to LSP and the writing of every message allocate and free
//! on the same thread, so mimalloc frees locally instead of handing blocks
//! back across threads. Handlers compute without awaiting, so a second
//! thread only let two of them run at once; reading `#[func]` binaries
//! still goes to tokio's blocking threads. Measured with `cargo bench -p
//! bpfbox-lsp --bench latency` against the multi-threaded runtime it
//! replaced: about 30% less CPU time per edit, and no growth over a
//! thousand edits.
//!
//! Memory an edit freed is kept for the next edit while the user types
//! (purging it at once and faulting it in again doubled the latency of an
//! edit), and handed back to the system once no edit has come for
//! `AT_REST`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long without an edit before the memory edits freed is handed back:
/// longer than mimalloc's purge delay (1 s in its v3), since it purges a
/// page only once the page has been free that long, even when told to
/// collect with force (measured: 2.4 MiB per open 5,000-line policy stayed
/// resident 0.6 s after the last edit, 1.6 MiB after this).
pub const AT_REST: Duration = Duration::from_millis(1200);

/// The runtime bpfbox-lsp serves on (the benchmarks use it too).
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Counts edits, so that a release scheduled after one edit is dropped when
/// another came meanwhile.
#[derive(Clone, Default)]
pub struct Release {
    edits: Arc<AtomicU64>,
}

impl Release {
    /// After an edit's diagnostics are out: returns its emptied pages to
    /// mimalloc for the next edit now, and hands everything freed back to
    /// the system once the server is at rest.
    pub fn after_edit(&self) {
        collect();
        let edit = self.edits.fetch_add(1, Ordering::Relaxed) + 1;
        let edits = self.edits.clone();
        tokio::spawn(async move {
            tokio::time::sleep(AT_REST).await;
            if edits.load(Ordering::Relaxed) == edit {
                collect();
            }
        });
    }
}

/// Frees the pages no longer used, and purges those free for longer than
/// mimalloc's purge delay.
fn collect() {
    // SAFETY: mi_collect takes no pointers.
    unsafe { libmimalloc_sys::mi_collect(true) }
}
