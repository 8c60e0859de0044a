//! Stopping a long maintenance run cleanly, between commits.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A request to stop, shared between whoever asks (a signal handler, a time budget) and the
/// operations that honour it. An operation that sees it finishes the work in flight, commits
/// it, starts nothing new and returns what it did: compaction after its running bins, vacuum
/// after its running batch of deletions. Clones share the request.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    requested: Arc<AtomicBool>,
}

impl Stop {
    /// A stop not yet requested.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every operation holding a clone to stop at its next commit.
    pub fn request(&self) {
        self.requested.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was requested.
    pub fn is_requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }
}
