//! What a check returns: the per-file outcome as data, and the messages built from it.
//!
//! Messages are bytes, not `String`: paths on Unix are bytes and may not be UTF-8.
//! Every failure reads `"<path>" - <reason>`, one per line, in manifest order; the
//! mismatch line is exactly the Go library's (`"<root_dir>/<name>" - mismatch`).

use std::ffi::CStr;
use std::fmt;
use std::io;

use crate::algorithm::Digest;
use crate::manifest::ManifestError;
use crate::text::{os_reason, quote_path};

/// Why one manifest entry failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The file's digest differs from the manifest's.
    Mismatch,
    /// The file does not exist.
    NoSuchFile,
    /// A directory, FIFO, socket or device: never read.
    NotRegularFile,
    /// Absolute, or climbs out of the root with `..`: never opened.
    OutsideRoot,
    /// Opening or reading failed; the OS's reason.
    ReadError(String),
}

impl Reason {
    /// The reason's words without the OS's detail: `mismatch`, `no such file`, `not a
    /// regular file`, `outside the root directory`, `read error`. The one table of
    /// them: the C ABI hands them out (`checksig_reason_name`).
    pub fn word(&self) -> &'static str {
        self.c_word().to_str().expect("the words are ASCII")
    }

    /// [`Reason::word`] as a C string, for the C ABI.
    pub fn c_word(&self) -> &'static CStr {
        match self {
            Reason::Mismatch => c"mismatch",
            Reason::NoSuchFile => c"no such file",
            Reason::NotRegularFile => c"not a regular file",
            Reason::OutsideRoot => c"outside the root directory",
            Reason::ReadError(_) => c"read error",
        }
    }

    /// The OS's words for a read error, else "".
    pub fn detail(&self) -> &str {
        match self {
            Reason::ReadError(why) => why,
            _ => "",
        }
    }
}

impl fmt::Display for Reason {
    /// `mismatch`, ..., `read error: <the OS's words>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::ReadError(why) => write!(f, "read error: {why}"),
            other => f.write_str(other.word()),
        }
    }
}

/// One failing manifest entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `root_dir` joined with the name as written: what messages show.
    pub path: Vec<u8>,
    /// The manifest line the entry came from (1-based).
    pub line: u32,
    pub reason: Reason,
    /// The digest the manifest lists.
    pub expected: Digest,
    /// The digest computed, when the file could be read (so only for `Mismatch`).
    pub actual: Option<Digest>,
}

impl Failure {
    /// `"<path>" - <reason>`.
    pub fn message(&self) -> Vec<u8> {
        let mut line = quote_path(&self.path);
        line.extend_from_slice(format!(" - {}", self.reason).as_bytes());
        line
    }
}

/// One manifest entry's verdict, as [`crate::verify::check_each`] delivers it: in
/// manifest order, as soon as it and every entry before it are decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict<'a> {
    /// The entry's number among the checksum lines (0-based).
    pub index: usize,
    /// The manifest line (1-based).
    pub line: u32,
    /// The name as written in the manifest (unescaped), relative to the root.
    pub name: &'a [u8],
    pub status: Status,
    /// The digest the manifest lists.
    pub expected: Digest,
    /// The digest computed, when the file was read (so for `Ok` and mismatches).
    pub actual: Option<Digest>,
}

/// What an entry came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The file matched.
    Ok,
    Failed(Reason),
    /// Missing, and `ignore_missing` was set.
    Skipped,
}

/// The counts of a check, per manifest entry (line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub entries: u64,
    pub matched: u64,
    pub failed: u64,
    pub skipped: u64,
}

/// The outcome of a check that ran to the end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Manifest entries (checksum lines).
    pub entries: u64,
    /// Entries whose file was read and matched.
    pub matched: u64,
    /// Entries skipped because the file is missing and `ignore_missing` was set.
    pub skipped: u64,
    /// Every failing entry, in manifest order.
    pub failures: Vec<Failure>,
    /// Every matching entry, in manifest order, when `Options::list_matches` asked for
    /// them (a CLI printing `name: OK` lines); empty otherwise.
    pub matches: Vec<Match>,
}

/// One matching manifest entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// `root_dir` joined with the name as written.
    pub path: Vec<u8>,
    /// The manifest line (1-based).
    pub line: u32,
}

impl Report {
    /// True when every entry that was not skipped matched.
    pub fn is_ok(&self) -> bool {
        self.failures.is_empty()
    }

    /// Every failure's line, joined by `\n`; `None` when the check passed.
    pub fn message(&self) -> Option<Vec<u8>> {
        if self.failures.is_empty() {
            return None;
        }
        let mut message = Vec::new();
        for (i, failure) in self.failures.iter().enumerate() {
            if i > 0 {
                message.push(b'\n');
            }
            message.extend_from_slice(&failure.message());
        }
        Some(message)
    }
}

/// Why a check could not produce a per-file report at all.
#[derive(Debug)]
pub enum Error {
    /// The root directory cannot be used.
    Root { root: Vec<u8>, error: io::Error },
    /// The manifest is missing, unreadable or malformed.
    Manifest { path: Vec<u8>, error: ManifestError },
    /// Every entry was a missing file skipped by `ignore_missing`: nothing was verified,
    /// which GNU also treats as a failure.
    NothingVerified { path: Vec<u8> },
    /// Creating a manifest: a directory of the tree cannot be listed.
    ReadDir { path: Vec<u8>, error: io::Error },
    /// Creating a manifest: files that could not be hashed (each with its reason), so
    /// no manifest was written.
    Unreadable(Vec<(Vec<u8>, Reason)>),
    /// Creating a manifest: writing it failed (nothing was left behind).
    Write { path: Vec<u8>, error: io::Error },
    /// The caller cancelled the check.
    Cancelled,
    /// A caller passed something unusable (a NULL root through the C ABI).
    InvalidArgument(String),
    /// A bug: a panic inside the library, caught at its boundary.
    Internal(String),
}

impl Error {
    /// The message, as bytes (paths need not be UTF-8).
    pub fn message(&self) -> Vec<u8> {
        let (path, reason) = match self {
            Error::Root { root, error } => (
                root,
                format!("cannot open root directory: {}", os_reason(error)),
            ),
            Error::Manifest { path, error } => (path, error.to_string()),
            Error::NothingVerified { path } => (
                path,
                "no file was verified (every listed file is missing)".into(),
            ),
            Error::ReadDir { path, error } => {
                (path, format!("cannot list directory: {}", os_reason(error)))
            }
            Error::Write { path, error } => {
                (path, format!("cannot write manifest: {}", os_reason(error)))
            }
            Error::Unreadable(files) => {
                let lines: Vec<Vec<u8>> = files
                    .iter()
                    .map(|(path, reason)| {
                        let mut line = quote_path(path);
                        line.extend_from_slice(format!(" - {reason}").as_bytes());
                        line
                    })
                    .collect();
                return lines.join(&b'\n');
            }
            Error::Cancelled => return b"cancelled".to_vec(),
            Error::InvalidArgument(why) => return format!("invalid argument: {why}").into_bytes(),
            Error::Internal(why) => return format!("internal error: {why}").into_bytes(),
        };
        let mut message = quote_path(path);
        message.extend_from_slice(b" - ");
        message.extend_from_slice(reason.as_bytes());
        message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.message()))
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_lines() {
        let cases: &[(&[u8], Reason, &[u8])] = &[
            (b"/d/a.log", Reason::Mismatch, b"\"/d/a.log\" - mismatch"),
            (b"/d/x", Reason::NoSuchFile, b"\"/d/x\" - no such file"),
            (
                b"/d/p",
                Reason::NotRegularFile,
                b"\"/d/p\" - not a regular file",
            ),
            (
                b"/d/../x",
                Reason::OutsideRoot,
                b"\"/d/../x\" - outside the root directory",
            ),
            (
                b"/d/r",
                Reason::ReadError("Permission denied".into()),
                b"\"/d/r\" - read error: Permission denied",
            ),
            // A line break: escaped, and marked so with a leading backslash, as GNU
            // marks an escaped name; the same bytes as text are shown as they stand.
            (
                b"/d/a\nb\\c",
                Reason::Mismatch,
                b"\\\"/d/a\\nb\\\\c\" - mismatch",
            ),
            (b"/d/a\\nb", Reason::Mismatch, b"\"/d/a\\nb\" - mismatch"),
            (b"/d/a\\b", Reason::Mismatch, b"\"/d/a\\b\" - mismatch"),
            (b"/d/\xff", Reason::Mismatch, b"\"/d/\xff\" - mismatch"),
        ];
        for (path, reason, expected) in cases {
            let failure = Failure {
                path: path.to_vec(),
                line: 1,
                reason: reason.clone(),
                expected: Digest::new(&[0; 20]),
                actual: None,
            };
            assert_eq!(failure.message(), *expected);
        }
    }
}
