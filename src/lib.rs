//! checksig: verify a directory against its checksum manifest (`sha1sum.txt`,
//! `sha256sum.txt`, `MD5SUMS`, `b2sums.txt`, `b3sums.txt`, `cksum` output...), fast and
//! safely, and write such manifests.
//!
//! The Rust API is the library: [`check`] and [`create`] (with a [`Control`] to watch
//! progress and cancel: [`check_with`], [`create_with`]). The C ABI ([`ffi`]) and the
//! Python module wrap it and add no logic of their own.
//!
//! ```no_run
//! use checksig::{check, Options};
//! let report = check("/data".as_ref(), &Options::default())?;
//! for failure in &report.failures {
//!     eprintln!("{}", String::from_utf8_lossy(&failure.message()));
//! }
//! # Ok::<(), checksig::Error>(())
//! ```
//!
//! Modules, in layers, each using only those above it in this list:
//! [`algorithm`] names the hashes; `text` escapes names and words errors; `paths`
//! tells which names stay inside the root; `os` is the OS layer (the root directory,
//! opening regular files, `stat`, listing directories by descriptor); `control`
//! holds the cancel flag and progress ([`Control`]); [`manifest`] parses; [`report`] holds outcomes
//! and errors; `tree` hashes one large BLAKE3 file on several threads; `pool` is the
//! worker pool; [`verify`] checks and [`create`] writes
//! manifests; `lines` formats verdicts as output lines ([`push_line`]); [`ffi`] is the
//! C boundary. `unsafe` is allowed in `os` and `ffi` only.

#![deny(unsafe_code)]

pub mod algorithm;
mod control;
pub mod create;
#[allow(unsafe_code)]
pub mod ffi;
mod lines;
pub mod manifest;
#[allow(unsafe_code)]
mod os;
mod paths;
mod pool;
pub mod report;
mod text;
mod tree;
pub mod verify;

pub use algorithm::{Algorithm, Digest};
pub use control::{Control, Progress};
pub use create::{create, create_with, CreateOptions, Created};
pub use lines::{push_line, LineFormat};
pub use manifest::{ManifestStamp, Parser, Part, Split};
pub use report::{Error, Failure, Match, Reason, Report, Status, Summary, Verdict};
pub use verify::{
    check, check_each, check_with, nothing_verified, split, ManifestPart, Options,
    DEFAULT_MANIFEST, DEFAULT_READERS,
};
