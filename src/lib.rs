//! checksig: verify a directory against its checksum manifest (`sha1sum.txt`,
//! `sha256sum.txt`, `sha512sum.txt`), fast and safely, and write such manifests.
//!
//! The Rust API is the library; the C ABI ([`ffi`]) and the Python module wrap it and
//! add no logic of their own.
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
//! Modules, one concern each: [`algorithm`] names the hashes, [`manifest`] parses,
//! [`paths`] resolves names inside the root, [`verify`] checks, [`create`] writes
//! manifests, `pool` is the worker pool both use, [`report`] holds the outcome and its
//! messages, [`ffi`] is the C boundary (the only `unsafe` code).

pub mod algorithm;
pub mod create;
pub mod ffi;
pub mod manifest;
pub mod paths;
mod pool;
pub mod report;
pub mod verify;

pub use algorithm::{Algorithm, Digest};
pub use create::{create, create_with, CreateOptions, Created};
pub use report::{Error, Failure, Match, Reason, Report};
pub use verify::{check, check_with, Control, Options, Progress, DEFAULT_MANIFEST};
