//! What a running check or manifest creation shares with whoever watches it: the
//! cancel flag and the progress counters.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Shared between a running check and whoever watches it: progress counters and the
/// cancel flag. Every field is an atomic so another thread may read or set it at any
/// time without locking the workers.
#[derive(Debug, Default)]
pub struct Control {
    /// Set to stop: workers look at it between files and between reads.
    pub(crate) cancel: AtomicBool,
    /// Files (after grouping duplicate names) whose outcome is known.
    pub(crate) files_done: AtomicU64,
    /// Files to check; known once the manifest is read (or the tree walked).
    pub(crate) files_total: AtomicU64,
    /// Bytes hashed so far.
    pub(crate) bytes_done: AtomicU64,
    /// Bytes of the regular files opened so far: final once every file has been
    /// opened (with one reader, before hashing starts: it sizes every file first).
    pub(crate) bytes_total: AtomicU64,
}

/// A snapshot of a check's progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub files_done: u64,
    pub files_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

impl Control {
    /// Asks the check to stop as soon as it can; it then returns `Error::Cancelled`.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// The counters now. Each is read on its own, so `done <= total` may lag by a file.
    pub fn progress(&self) -> Progress {
        Progress {
            files_done: self.files_done.load(Ordering::Relaxed),
            files_total: self.files_total.load(Ordering::Relaxed),
            bytes_done: self.bytes_done.load(Ordering::Relaxed),
            bytes_total: self.bytes_total.load(Ordering::Relaxed),
        }
    }
}
