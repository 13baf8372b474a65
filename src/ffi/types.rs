//! The C ABI's `#[repr(C)]` types, and their one mapping to and from the Rust API's.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, CStr};

use crate::algorithm::{Algorithm, Digest};
use crate::manifest::UntaggedForm;
use crate::report::Reason;

/// Room for a digest in lowercase hex and its NUL: the longest digest (SHA-512,
/// BLAKE2b: 128 digits) plus one.
pub const CHECKSIG_HEX_CAPACITY: usize = 129;

// A literal above, so that cbindgen can write it into the header; checked here.
const _: () = assert!(CHECKSIG_HEX_CAPACITY == crate::algorithm::MAX_DIGEST_LEN * 2 + 1);

/// How a job (a check or a manifest creation) ended, or that it has not yet.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum checksig_status {
    /// Still running: call `checksig_wait`.
    CHECKSIG_RUNNING = 0,
    /// Every entry matched (a check), or the manifest was written (a creation).
    CHECKSIG_OK = 1,
    /// The check ran; one or more entries failed (see the failures).
    CHECKSIG_FAILED = 2,
    /// No per-file report: the root or the manifest is unusable, nothing was verified,
    /// or (a creation) a file could not be read or the manifest written.
    CHECKSIG_ERROR = 3,
    /// Stopped by `checksig_cancel`.
    CHECKSIG_CANCELLED = 4,
}

/// Why one manifest entry failed. `checksig_reason_name` gives its words.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum checksig_reason {
    /// The digest differs (`actual_hex` holds the computed one).
    CHECKSIG_REASON_MISMATCH = 1,
    /// The file does not exist.
    CHECKSIG_REASON_NO_SUCH_FILE = 2,
    /// A directory, FIFO, socket or device: never read.
    CHECKSIG_REASON_NOT_REGULAR_FILE = 3,
    /// Absolute, or climbs out of the root with `..`: never opened.
    CHECKSIG_REASON_OUTSIDE_ROOT = 4,
    /// Opening or reading failed (`detail` holds the OS's reason).
    CHECKSIG_REASON_READ_ERROR = 5,
}

impl checksig_reason {
    /// Every reason, in the order of their numbers.
    pub(crate) const ALL: [checksig_reason; 5] = [
        checksig_reason::CHECKSIG_REASON_MISMATCH,
        checksig_reason::CHECKSIG_REASON_NO_SUCH_FILE,
        checksig_reason::CHECKSIG_REASON_NOT_REGULAR_FILE,
        checksig_reason::CHECKSIG_REASON_OUTSIDE_ROOT,
        checksig_reason::CHECKSIG_REASON_READ_ERROR,
    ];

    pub(crate) fn from_reason(reason: &Reason) -> checksig_reason {
        match reason {
            Reason::Mismatch => checksig_reason::CHECKSIG_REASON_MISMATCH,
            Reason::NoSuchFile => checksig_reason::CHECKSIG_REASON_NO_SUCH_FILE,
            Reason::NotRegularFile => checksig_reason::CHECKSIG_REASON_NOT_REGULAR_FILE,
            Reason::OutsideRoot => checksig_reason::CHECKSIG_REASON_OUTSIDE_ROOT,
            Reason::ReadError(_) => checksig_reason::CHECKSIG_REASON_READ_ERROR,
        }
    }

    /// The reason's words, from the one table of them (`Reason::c_word`).
    pub(crate) fn word(self) -> &'static CStr {
        let reason = match self {
            checksig_reason::CHECKSIG_REASON_MISMATCH => Reason::Mismatch,
            checksig_reason::CHECKSIG_REASON_NO_SUCH_FILE => Reason::NoSuchFile,
            checksig_reason::CHECKSIG_REASON_NOT_REGULAR_FILE => Reason::NotRegularFile,
            checksig_reason::CHECKSIG_REASON_OUTSIDE_ROOT => Reason::OutsideRoot,
            checksig_reason::CHECKSIG_REASON_READ_ERROR => Reason::ReadError(String::new()),
        };
        reason.c_word()
    }
}

/// The hash algorithm of a manifest. `checksig_algorithm_name` gives each one's name.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum checksig_algorithm {
    /// Checking: the algorithm of untagged lines from the manifest's name
    /// (`sha256sum.txt`, `MD5SUMS`, `b3sums.txt`...), else from its first line (tagged
    /// lines always name their own). Creating: SHA-1.
    CHECKSIG_ALGORITHM_AUTO = 0,
    CHECKSIG_ALGORITHM_SHA1 = 1,
    CHECKSIG_ALGORITHM_SHA256 = 2,
    CHECKSIG_ALGORITHM_SHA512 = 3,
    CHECKSIG_ALGORITHM_MD5 = 4,
    CHECKSIG_ALGORITHM_SHA224 = 5,
    CHECKSIG_ALGORITHM_SHA384 = 6,
    /// BLAKE2b: 512 bits unless `options.blake2b_bits` says otherwise (creating);
    /// checking reads each untagged line's length from its hex, as `b2sum -c` does.
    CHECKSIG_ALGORITHM_BLAKE2B = 7,
    CHECKSIG_ALGORITHM_BLAKE3 = 8,
}

/// The one table of C numbers for the Rust algorithms (BLAKE2b at its default length
/// stands for every length).
const ALGORITHMS: [(checksig_algorithm, Algorithm); 8] = [
    (checksig_algorithm::CHECKSIG_ALGORITHM_SHA1, Algorithm::Sha1),
    (
        checksig_algorithm::CHECKSIG_ALGORITHM_SHA256,
        Algorithm::Sha256,
    ),
    (
        checksig_algorithm::CHECKSIG_ALGORITHM_SHA512,
        Algorithm::Sha512,
    ),
    (checksig_algorithm::CHECKSIG_ALGORITHM_MD5, Algorithm::Md5),
    (
        checksig_algorithm::CHECKSIG_ALGORITHM_SHA224,
        Algorithm::Sha224,
    ),
    (
        checksig_algorithm::CHECKSIG_ALGORITHM_SHA384,
        Algorithm::Sha384,
    ),
    (
        checksig_algorithm::CHECKSIG_ALGORITHM_BLAKE2B,
        Algorithm::Blake2b(crate::algorithm::BLAKE2B_DEFAULT_LEN),
    ),
    (
        checksig_algorithm::CHECKSIG_ALGORITHM_BLAKE3,
        Algorithm::Blake3,
    ),
];

/// The algorithm numbered `code`: `Some(None)` for AUTO, `None` for no algorithm. A
/// `u32`, not the enum: a C caller may pass any number, and an out-of-range enum would
/// be undefined behaviour on the Rust side.
pub(crate) fn algorithm_from_code(code: u32) -> Option<Option<Algorithm>> {
    if code == checksig_algorithm::CHECKSIG_ALGORITHM_AUTO as u32 {
        return Some(None);
    }
    ALGORITHMS
        .iter()
        .find(|(number, _)| *number as u32 == code)
        .map(|&(_, algorithm)| Some(algorithm))
}

/// The C number of `algorithm` (of any BLAKE2b length: BLAKE2B).
pub(crate) fn algorithm_code(algorithm: Algorithm) -> u32 {
    ALGORITHMS
        .iter()
        .find(|(_, a)| a.same_family(algorithm))
        .map_or(0, |&(number, _)| number as u32)
}

/// Options for `checksig_start` and `checksig_create_start`. Zeroed means the defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct checksig_options {
    /// The manifest's path, relative to the root unless absolute; NULL for the
    /// algorithm's usual name (`checksig_algorithm_default_manifest`). Copied: need
    /// not outlive the call.
    pub manifest: *const c_char,
    /// Cores to use; 0 for every available one. 1 is for a spinning disk: one file at
    /// a time, in manifest order (and, unless `readers` is set, one read in flight).
    pub jobs: usize,
    /// Skip missing files instead of failing them; the check still fails when nothing
    /// at all was verified.
    pub ignore_missing: bool,
    /// Also keep every matching entry, for `checksig_match_at` (a tool printing
    /// `name: OK` lines). Off: only failures are kept.
    pub list_matches: bool,
    /// The manifest's algorithm (AUTO: see `checksig_algorithm`). Any other value than
    /// the enum's gives a `CHECKSIG_ERROR` job.
    pub algorithm: u32,
    /// Files read at once, each by its own thread (reads in flight, for SSDs, NVMe and
    /// network storage on data not in the page cache); 0 for the default: `jobs` when
    /// that is set, else one per core while reads come from the page cache and up to
    /// 128 once they wait for the storage. Bounded by the open-file limit. Also bounds
    /// the reads in flight on a large file not in the page cache, read around it
    /// (8 by default; 16 across a check).
    pub readers: usize,
    /// Stream the verdicts: every entry's verdict is queued, in manifest order, as soon
    /// as it and every entry before it are decided, for `checksig_next_verdicts` or
    /// `checksig_next_lines`; none is kept (`checksig_failure_at` has nothing, the
    /// message only counts the failures). A caller that stops fetching holds the check
    /// back, not its memory. Checks only.
    pub stream: bool,
    /// Check only the part of the manifest whose lines start in bytes
    /// `part_start..part_end` (from `checksig_split`; both 0: the whole manifest), the
    /// first of them line `part_first_line`, in `part_form` (a `checksig_form`) and of
    /// `algorithm`, as the whole manifest decided them. Checks only.
    pub part_start: u64,
    pub part_end: u64,
    pub part_first_line: u64,
    pub part_form: u32,
    /// Creating: write tagged lines (`SHA256 (name) = hex`), as `sha256sum --tag` and
    /// `cksum` write them, instead of `hex  name`. Checks ignore it.
    pub tag: bool,
    /// BLAKE2b's digest length in bits when creating (`b2sum -l`): a multiple of 8
    /// from 8 to 512; 0 for 512. Any other value, or a value with another algorithm,
    /// gives a `CHECKSIG_ERROR` job. Checks read each line's length from the line.
    /// (Added after `part_form`, as `tag` was: a caller built against an older header
    /// passes a shorter struct; recompile against this one.)
    pub blake2b_bits: u32,
    /// The root as failures, matches, verdicts and manifest errors name it, when not
    /// `root_dir` (NULL: `root_dir`): a cluster worker that sees the data at another
    /// path than the client reports the client's paths. Copied. Checks only. (Added
    /// last, as `blake2b_bits` was: recompile against this header.)
    pub shown_root: *const c_char,
    /// The manifest as `checksig_split` found it (its part's `manifest_len` and
    /// `manifest_mtime_ns`): a part of a manifest that has changed since fails with
    /// "changed since it was split into parts", instead of checking lines of another
    /// text. `part_manifest_len` 0: not compared. (Added last, as `shown_root` was:
    /// recompile against this header.)
    pub part_manifest_len: u64,
    pub part_manifest_mtime_ns: i64,
}

/// How a manifest's untagged lines separate digest and name, which its first untagged
/// line decides for all of them (GNU's rule).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum checksig_form {
    /// Not decided (no untagged line yet, or let the part decide: only for a part
    /// that holds the manifest's first untagged line).
    CHECKSIG_FORM_UNDECIDED = 0,
    /// `<hex>  <name>` / `<hex> *<name>`.
    CHECKSIG_FORM_TWO_SPACES = 1,
    /// `<hex> <name>`.
    CHECKSIG_FORM_SINGLE_SPACE = 2,
}

impl checksig_form {
    pub(crate) fn from_form(form: Option<UntaggedForm>) -> checksig_form {
        match form {
            None => checksig_form::CHECKSIG_FORM_UNDECIDED,
            Some(UntaggedForm::Indicator) => checksig_form::CHECKSIG_FORM_TWO_SPACES,
            Some(UntaggedForm::SingleSpace) => checksig_form::CHECKSIG_FORM_SINGLE_SPACE,
        }
    }

    /// The form numbered `code`; `None` for a number that is none.
    pub(crate) fn to_form(code: u32) -> Option<Option<UntaggedForm>> {
        match code {
            0 => Some(None),
            1 => Some(Some(UntaggedForm::Indicator)),
            2 => Some(Some(UntaggedForm::SingleSpace)),
            _ => None,
        }
    }
}

/// One part of a split manifest (`checksig_split`): check it with
/// `options.part_start`, `part_end`, `part_first_line`, `part_manifest_len` and
/// `part_manifest_mtime_ns` set from it.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct checksig_part {
    pub start: u64,
    pub end: u64,
    pub first_line: u64,
    /// The manifest's size and `st_mtime` (nanoseconds since the epoch) when it was
    /// split: a part checked against a manifest changed since fails. (Added after
    /// `first_line`: recompile against this header.)
    pub manifest_len: u64,
    pub manifest_mtime_ns: i64,
}

/// What became of one entry of a streamed check.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum checksig_verdict_status {
    CHECKSIG_VERDICT_OK = 1,
    CHECKSIG_VERDICT_FAILED = 2,
    /// Missing, and `ignore_missing` was set.
    CHECKSIG_VERDICT_SKIPPED = 3,
}

/// One entry's verdict, from `checksig_next_verdicts`. Its pointers are borrowed from
/// the job: valid until the next `checksig_next_verdicts` call on it, or
/// `checksig_job_free`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct checksig_verdict {
    /// `root_dir` joined with the name as written; NUL-terminated, may not be UTF-8.
    pub path: *const c_char,
    /// Length of `path` in bytes, without the NUL.
    pub path_len: usize,
    /// The manifest line (1-based).
    pub line: u64,
    pub status: checksig_verdict_status,
    /// A `checksig_reason` for a failure, else 0.
    pub reason: u32,
    /// The OS's reason for `CHECKSIG_REASON_READ_ERROR`, else "".
    pub detail: *const c_char,
    /// The digest the manifest lists: lowercase hex and a NUL.
    pub expected_hex: [c_char; CHECKSIG_HEX_CAPACITY],
    /// The digest computed (when the file was read: OK or mismatch), else "".
    pub actual_hex: [c_char; CHECKSIG_HEX_CAPACITY],
}

/// How `checksig_next_lines` writes verdicts.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum checksig_line_format {
    /// As `sha1sum -c`: `path: OK`, `path: FAILED (reason)`; names escaped as GNU
    /// escapes them; no line for a missing file skipped under `ignore_missing`.
    CHECKSIG_LINES_TEXT = 1,
    /// As TEXT, failures only (`--quiet`).
    CHECKSIG_LINES_FAILURES = 2,
    /// JSON Lines: `{"path", "line", "status", "reason", "detail", "expected",
    /// "actual"}` per entry; bytes of a path that are not UTF-8 as `\udc80`-`\udcff`.
    CHECKSIG_LINES_JSON = 3,
}

/// The smallest buffer `checksig_next_lines` accepts: room for the longest line (a
/// 64 KiB manifest line's name, escaped, under a `PATH_MAX` root).
pub const CHECKSIG_LINES_MIN_CAPACITY: usize = 1 << 20;

/// A snapshot of a job's progress. `files` counts distinct files (a name listed twice
/// is one file); `bytes_total` counts the files opened so far, and is final once every
/// file has been opened (with `jobs` or `readers` 1, from the start).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct checksig_progress {
    pub files_done: u64,
    pub files_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

/// What a finished check counted, per manifest entry (line).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct checksig_counts {
    /// Checksum lines in the manifest.
    pub entries: u64,
    /// Entries whose file matched.
    pub matched: u64,
    /// Entries that failed.
    pub failed: u64,
    /// Entries skipped as missing under `ignore_missing`.
    pub skipped: u64,
}

/// What a finished manifest creation wrote (its path: `checksig_get_manifest_path`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct checksig_created {
    /// Files listed in the manifest.
    pub files: u64,
    /// Bytes hashed.
    pub bytes: u64,
    /// Entries of the tree not listed: FIFOs, sockets, devices, dangling links, links
    /// to directories.
    pub skipped: u64,
}

/// One failing entry. Its pointers are borrowed from the job: valid until
/// `checksig_job_free`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct checksig_failure {
    /// `root_dir` joined with the name as written; NUL-terminated, may not be UTF-8.
    pub path: *const c_char,
    /// Length of `path` in bytes, without the NUL.
    pub path_len: usize,
    /// The manifest line (1-based).
    pub line: u64,
    pub reason: checksig_reason,
    /// The OS's reason for `CHECKSIG_REASON_READ_ERROR`, else "".
    pub detail: *const c_char,
    /// The digest the manifest lists: lowercase hex and a NUL.
    pub expected_hex: [c_char; CHECKSIG_HEX_CAPACITY],
    /// The digest computed (mismatch only), else "".
    pub actual_hex: [c_char; CHECKSIG_HEX_CAPACITY],
}

/// One matching entry (kept only with `options.list_matches`). Its pointer is borrowed
/// from the job: valid until `checksig_job_free`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct checksig_match {
    /// `root_dir` joined with the name as written; NUL-terminated, may not be UTF-8.
    pub path: *const c_char,
    /// Length of `path` in bytes, without the NUL.
    pub path_len: usize,
    /// The manifest line (1-based).
    pub line: u64,
}

/// A digest as a C hex field: lowercase hex and a NUL, or "" for none.
pub(crate) fn hex_field(digest: Option<&Digest>) -> [c_char; CHECKSIG_HEX_CAPACITY] {
    let mut field = [0 as c_char; CHECKSIG_HEX_CAPACITY];
    if let Some(digest) = digest {
        for (slot, byte) in field.iter_mut().zip(digest.to_hex().bytes()) {
            *slot = byte as c_char;
        }
    }
    field
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_words_are_the_rust_words() {
        let reasons = [
            Reason::Mismatch,
            Reason::NoSuchFile,
            Reason::NotRegularFile,
            Reason::OutsideRoot,
            Reason::ReadError("x".into()),
        ];
        for (reason, code) in reasons.iter().zip(checksig_reason::ALL) {
            assert_eq!(checksig_reason::from_reason(reason), code);
            assert_eq!(code.word().to_str(), Ok(reason.word()));
        }
    }

    #[test]
    fn every_algorithm_has_a_number() {
        for (index, algorithm) in Algorithm::ALL.into_iter().enumerate() {
            let code = algorithm_code(algorithm);
            assert_eq!(code, index as u32 + 1, "{algorithm}: numbered in order");
            assert_eq!(algorithm_from_code(code), Some(Some(algorithm)));
        }
        assert_eq!(
            algorithm_code(Algorithm::Blake2b(32)),
            checksig_algorithm::CHECKSIG_ALGORITHM_BLAKE2B as u32
        );
        assert_eq!(algorithm_from_code(0), Some(None));
        assert_eq!(algorithm_from_code(9), None);
        assert_eq!(algorithm_from_code(99), None);
    }
}
