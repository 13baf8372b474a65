//! The C boundary: the C ABI over the Rust API, split by concern as rustls-ffi splits
//! its own: [`types`] (the `#[repr(C)]` types and their one mapping to the Rust
//! types), [`boundary`] (panics, NULLs, out-parameters, malloc'd strings), [`job`] (the
//! background job behind a `checksig_job *`) and [`exports`] (the functions).
//!
//! Rules every export keeps (after rustls-ffi):
//! - panics never cross the boundary: each body runs under `guard`, and a panic turns
//!   into an error result;
//! - NULL arguments are errors, never crashes;
//! - strings handed to the caller come from libc `malloc`, so libc `free` (what Go-era
//!   Python users call as `so.free`) and `checksig_free` both release them; no symbol
//!   named `free` is exported, it would clash with libc's;
//! - ownership and thread safety are stated in each doc comment (copied into the header).

pub(crate) mod boundary;
pub mod exports;
pub(crate) mod job;
pub mod types;

pub use exports::*;
pub use job::checksig_job;
pub use types::*;
