//! The C boundary, both ways: the only `extern "C"` and `unsafe` code of the crate.
//!
//! - In: the C ABI, thin wrappers over the Rust API in [`crate::verify`]; no checking
//!   logic lives here.
//! - Out: [`RootDir`], the two libc calls std has no safe form of (`openat`, `fstatat`).
//!   Opening `name` relative to a descriptor of the root, rather than `root/name` from
//!   `/`, saves the kernel walking the root's own components twice per file, which is
//!   a large share of the cost on a manifest of a million small files.
//!
//! Rules every export keeps (after rustls-ffi):
//! - panics never cross the boundary: each body runs under [`guard`], and a panic turns
//!   into an error result;
//! - NULL arguments are errors, never crashes;
//! - strings handed to the caller come from libc `malloc`, so libc `free` (what Go-era
//!   Python users call as `so.free`) and [`checksig_free`] both release them; no symbol
//!   named `free` is exported, it would clash with libc's;
//! - ownership and thread safety are stated in each doc comment (copied into the header).

#![allow(non_camel_case_types)]

use std::ffi::{c_char, CStr, CString, OsStr};
use std::fs::{File, OpenOptions};
use std::io;
use std::num::NonZeroUsize;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::algorithm::{Algorithm, Digest};
use crate::create::{create_with, CreateOptions, Created};
use crate::report::{Error, Report};
use crate::verify::{check_with, Control, Options};

/// An open root directory, under which names are opened and `stat`ed relative to its
/// descriptor. Also keeps the check on the directory it started with, should the path
/// be renamed meanwhile.
#[derive(Debug)]
pub(crate) struct RootDir {
    fd: OwnedFd,
}

/// What `stat` tells of a name under the root (symlinks followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileStat {
    pub is_regular: bool,
    pub len: u64,
}

impl RootDir {
    /// Opens `path`, which must be a directory (`O_DIRECTORY`: anything else fails with
    /// `ENOTDIR`).
    pub(crate) fn open(path: &Path) -> io::Result<RootDir> {
        let dir = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(path)?;
        Ok(RootDir { fd: dir.into() })
    }

    /// A new open file description of the same directory, for one worker: every
    /// `openat`/`fstatat` through a descriptor shared by threads makes the kernel count
    /// a reference on its `struct file`, and two cores counting on one slow each other
    /// down (measured: 7 % of a check of a million empty files). The caller falls back
    /// to sharing when this fails.
    pub(crate) fn for_worker(&self) -> io::Result<RootDir> {
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
        // SAFETY: a valid descriptor and a C string literal; the new descriptor is
        // owned by nothing else.
        unsafe {
            let fd = libc::openat(self.fd.as_raw_fd(), c".".as_ptr(), flags);
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(RootDir {
                fd: OwnedFd::from_raw_fd(fd),
            })
        }
    }

    /// `fstatat(root, name)`, following symlinks.
    pub(crate) fn stat(&self, name: &CStr) -> io::Result<FileStat> {
        // SAFETY: `stat` is a plain C struct that fstatat fully writes on success; the
        // descriptor is owned by self and `name` is a valid C string.
        unsafe {
            let mut stat: libc::stat = std::mem::zeroed();
            if libc::fstatat(self.fd.as_raw_fd(), name.as_ptr(), &mut stat, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(FileStat {
                is_regular: stat.st_mode & libc::S_IFMT == libc::S_IFREG,
                len: stat.st_size as u64,
            })
        }
    }

    /// `openat(root, name)` for reading: `O_NONBLOCK`, so that a FIFO opens at once
    /// instead of waiting for a writer; `O_NOCTTY`, so that a terminal never becomes the
    /// process's controlling one; `O_CLOEXEC`, as std does.
    pub(crate) fn open_file(&self, name: &CStr) -> io::Result<File> {
        let flags = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
        // SAFETY: a valid descriptor and C string; a descriptor returned by openat is
        // new and owned by nothing else, so the File may own it.
        unsafe {
            let fd = libc::openat(self.fd.as_raw_fd(), name.as_ptr(), flags);
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(File::from_raw_fd(fd))
        }
    }
}

/// How a check ended, or that it has not yet.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum checksig_status {
    /// Still running: call `checksig_wait`.
    CHECKSIG_RUNNING = 0,
    /// Every entry matched.
    CHECKSIG_OK = 1,
    /// The check ran; one or more entries failed (see the failures).
    CHECKSIG_FAILED = 2,
    /// No per-file report: the root or the manifest is unusable, or nothing was verified.
    CHECKSIG_ERROR = 3,
    /// Stopped by `checksig_cancel`.
    CHECKSIG_CANCELLED = 4,
}

/// Why one manifest entry failed.
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

/// The hash algorithm of a manifest.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum checksig_algorithm {
    /// Checking: from the manifest's name (`sha256sum.txt`, `SHA512SUMS`...), else from
    /// its first line. Creating: SHA-1.
    CHECKSIG_ALGORITHM_AUTO = 0,
    CHECKSIG_ALGORITHM_SHA1 = 1,
    CHECKSIG_ALGORITHM_SHA256 = 2,
    CHECKSIG_ALGORITHM_SHA512 = 3,
}

/// Options for `checksig_start` and `checksig_create_start`. Zeroed means the defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct checksig_options {
    /// The manifest's path, relative to the root unless absolute; NULL for the
    /// algorithm's usual name ("sha1sum.txt", "sha256sum.txt", "sha512sum.txt"). Copied:
    /// need not outlive the call.
    pub manifest: *const c_char,
    /// Files read at once (worker threads); 0 for one per available core. Use 1 on a
    /// spinning disk.
    pub jobs: usize,
    /// Skip missing files instead of failing them; the check still fails when nothing
    /// at all was verified.
    pub ignore_missing: bool,
    /// Also keep every matching entry, for `checksig_match_at` (a tool printing
    /// `name: OK` lines). Off: only failures are kept.
    pub list_matches: bool,
    /// The manifest's algorithm (AUTO: see `checksig_algorithm`). Any other value than
    /// the enum's gives a `CHECKSIG_ERROR` check.
    pub algorithm: u32,
}

/// A snapshot of a check's progress. `files` counts distinct files (a name listed twice
/// is one file); `bytes_total` is known once every file has been sized.
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

/// One failing entry. Its pointers are borrowed from the check handle: valid until
/// `checksig_check_free`.
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
    /// The digest the manifest lists: lowercase hex (40, 64 or 128 digits) and a NUL.
    pub expected_hex: [c_char; 129],
    /// The digest computed (mismatch only), else "".
    pub actual_hex: [c_char; 129],
}

/// One matching entry (kept only with `options.list_matches`). Its pointer is borrowed
/// from the check handle: valid until `checksig_check_free`.
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

/// What a handle's thread does.
enum Job {
    Check(Options),
    Create(CreateOptions),
}

/// A check running in the background, started by `checksig_start`. Opaque.
pub struct checksig_check {
    shared: Arc<Shared>,
    /// The thread running the check; joined by the first wait that sees it finished, or
    /// by `checksig_check_free`.
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// What the check's thread and the handle's callers share.
struct Shared {
    /// Progress counters and the cancel flag, read and set without locks.
    control: Control,
    /// `None` while running, then the outcome; `finished` is signalled when it is set.
    outcome: Mutex<Option<Finished>>,
    finished: Condvar,
}

/// A finished check, kept in the shapes the accessors hand out.
struct Finished {
    status: checksig_status,
    message: Option<Vec<u8>>,
    counts: checksig_counts,
    failures: Vec<FailureView>,
    /// Matching entries' paths and lines, when the options asked for them.
    matches: Vec<(CString, u64)>,
}

/// A failure's owned strings, which `checksig_failure` points into.
struct FailureView {
    path: CString,
    line: u64,
    reason: checksig_reason,
    detail: CString,
    expected_hex: [c_char; 129],
    actual_hex: [c_char; 129],
}

impl Finished {
    fn new(result: Result<Report, Error>) -> Finished {
        match result {
            Ok(report) => Finished {
                status: if report.is_ok() {
                    checksig_status::CHECKSIG_OK
                } else {
                    checksig_status::CHECKSIG_FAILED
                },
                message: report.message(),
                counts: checksig_counts {
                    entries: report.entries,
                    matched: report.matched,
                    failed: report.failures.len() as u64,
                    skipped: report.skipped,
                },
                failures: report.failures.iter().map(FailureView::new).collect(),
                matches: report
                    .matches
                    .iter()
                    .map(|m| (c_string(m.path.clone()), u64::from(m.line)))
                    .collect(),
            },
            Err(error) => Finished {
                status: match error {
                    Error::Cancelled => checksig_status::CHECKSIG_CANCELLED,
                    _ => checksig_status::CHECKSIG_ERROR,
                },
                message: Some(error.message()),
                counts: checksig_counts::default(),
                failures: Vec::new(),
                matches: Vec::new(),
            },
        }
    }

    fn created(result: Result<Created, Error>) -> Finished {
        match result {
            Ok(created) => Finished {
                status: checksig_status::CHECKSIG_OK,
                message: None,
                counts: checksig_counts {
                    entries: created.files,
                    matched: created.files,
                    failed: 0,
                    skipped: created.skipped.len() as u64,
                },
                failures: Vec::new(),
                matches: Vec::new(),
            },
            Err(error) => Finished::new(Err(error)),
        }
    }

    fn error(message: &str) -> Finished {
        Finished::new(Err(Error::Internal(message.to_string())))
    }
}

impl FailureView {
    fn new(failure: &crate::report::Failure) -> FailureView {
        use crate::report::Reason;
        let (reason, detail) = match &failure.reason {
            Reason::Mismatch => (checksig_reason::CHECKSIG_REASON_MISMATCH, String::new()),
            Reason::NoSuchFile => (checksig_reason::CHECKSIG_REASON_NO_SUCH_FILE, String::new()),
            Reason::NotRegularFile => (
                checksig_reason::CHECKSIG_REASON_NOT_REGULAR_FILE,
                String::new(),
            ),
            Reason::OutsideRoot => (checksig_reason::CHECKSIG_REASON_OUTSIDE_ROOT, String::new()),
            Reason::ReadError(why) => (checksig_reason::CHECKSIG_REASON_READ_ERROR, why.clone()),
        };
        FailureView {
            path: c_string(failure.path.clone()),
            line: u64::from(failure.line),
            reason,
            detail: c_string(detail.into_bytes()),
            expected_hex: hex_field(Some(&failure.expected)),
            actual_hex: hex_field(failure.actual.as_ref()),
        }
    }
}

/// Bytes without NULs (paths and messages cannot hold one) as a C string.
fn c_string(mut bytes: Vec<u8>) -> CString {
    bytes.retain(|&b| b != 0);
    CString::new(bytes).expect("NUL bytes were removed")
}

fn hex_field(digest: Option<&Digest>) -> [c_char; 129] {
    let mut field = [0 as c_char; 129];
    if let Some(digest) = digest {
        for (slot, byte) in field.iter_mut().zip(digest.to_hex().bytes()) {
            *slot = byte as c_char;
        }
    }
    field
}

/// Runs `body`, turning a panic into `on_panic`: no unwinding crosses into C.
fn guard<T>(on_panic: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(on_panic)
}

/// Copies `bytes` into a NUL-terminated string from libc `malloc`, so that either
/// `checksig_free` or libc `free` may release it.
fn malloc_message(bytes: &[u8]) -> *mut c_char {
    let bytes: Vec<u8> = bytes.iter().copied().filter(|&b| b != 0).collect();
    // SAFETY: malloc returns NULL or a block of at least len + 1 bytes, which is
    // written only within that length.
    unsafe {
        let block = libc::malloc(bytes.len() + 1) as *mut u8;
        if block.is_null() {
            // Returning NULL would read as "every file matched": never do that.
            std::process::abort();
        }
        ptr::copy_nonoverlapping(bytes.as_ptr(), block, bytes.len());
        *block.add(bytes.len()) = 0;
        block as *mut c_char
    }
}

/// The bytes of a C string argument, or `None` for NULL.
///
/// # Safety
/// `pointer` is NULL or points to a NUL-terminated string valid for the call.
unsafe fn argument_bytes<'a>(pointer: *const c_char) -> Option<&'a [u8]> {
    if pointer.is_null() {
        None
    } else {
        Some(CStr::from_ptr(pointer).to_bytes())
    }
}

/// Borrows the handle behind a pointer, or `None` for NULL.
///
/// # Safety
/// `check` is NULL or a live handle from `checksig_start`.
unsafe fn handle<'a>(check: *const checksig_check) -> Option<&'a checksig_check> {
    check.as_ref()
}

/// Writes what `read` finds in the handle into `*out`. False, writing nothing, when
/// either pointer is NULL, when `read` finds nothing (a running check, an index out of
/// range), or when it panics.
///
/// # Safety
/// `check` is NULL or a live handle; `out` is NULL or valid for writes.
unsafe fn write_out<T>(
    check: *const checksig_check,
    out: *mut T,
    read: impl FnOnce(&checksig_check) -> Option<T>,
) -> bool {
    let (Some(check), false) = (handle(check), out.is_null()) else {
        return false;
    };
    match guard(None, || read(check)) {
        Some(value) => {
            *out = value;
            true
        }
        None => false,
    }
}

impl checksig_check {
    fn start(root: Option<PathBuf>, job: Result<Job, &'static str>) -> checksig_check {
        let shared = Arc::new(Shared {
            control: Control::default(),
            outcome: Mutex::new(None),
            finished: Condvar::new(),
        });
        let early_error = match (&root, &job) {
            (None, _) => Some("root_dir is NULL"),
            (_, Err(why)) => Some(*why),
            _ => None,
        };
        if let Some(why) = early_error {
            *shared.outcome.lock().unwrap() =
                Some(Finished::new(Err(Error::InvalidArgument(why.to_string()))));
            return checksig_check {
                shared,
                thread: Mutex::new(None),
            };
        }
        let (root, job) = (root.unwrap(), job.unwrap());
        let worker_shared = Arc::clone(&shared);
        let spawned = thread::Builder::new()
            .name("checksig".into())
            .spawn(move || {
                let shared = worker_shared;
                let finished = catch_unwind(AssertUnwindSafe(|| match &job {
                    Job::Check(options) => {
                        Finished::new(check_with(&root, options, &shared.control))
                    }
                    Job::Create(options) => {
                        Finished::created(create_with(&root, options, &shared.control))
                    }
                }))
                .unwrap_or_else(|_| Finished::error("panic while checking"));
                *shared.outcome.lock().unwrap_or_else(|e| e.into_inner()) = Some(finished);
                shared.finished.notify_all();
            });
        let thread = match spawned {
            Ok(thread) => Some(thread),
            Err(_) => {
                *shared.outcome.lock().unwrap() = Some(Finished::error("cannot start a thread"));
                None
            }
        };
        checksig_check {
            shared,
            thread: Mutex::new(thread),
        }
    }

    /// Waits up to `timeout` (forever for `None`); true once the check has finished.
    fn wait(&self, timeout: Option<Duration>) -> bool {
        let outcome = self
            .shared
            .outcome
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let running = |outcome: &mut Option<Finished>| outcome.is_none();
        let outcome = match timeout {
            None => self
                .shared
                .finished
                .wait_while(outcome, running)
                .unwrap_or_else(|e| e.into_inner()),
            Some(timeout) => {
                self.shared
                    .finished
                    .wait_timeout_while(outcome, timeout, running)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
        };
        let done = outcome.is_some();
        drop(outcome);
        if done {
            self.join();
        }
        done
    }

    /// Joins the thread once it has stored its outcome (it ends right after).
    fn join(&self) {
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }

    /// Runs `read` on the outcome, or returns `running` when there is none yet.
    fn with_outcome<T>(&self, running: T, read: impl FnOnce(&Finished) -> T) -> T {
        let outcome = self
            .shared
            .outcome
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        outcome.as_ref().map_or(running, read)
    }
}

/// Starts checking `root_dir` against its manifest on a background thread, and returns
/// at once.
///
/// `root_dir`: a NUL-terminated path, bytes (need not be UTF-8); copied. NULL gives a
/// handle whose check has failed with `CHECKSIG_ERROR`. `options`: NULL for the
/// defaults; copied.
///
/// Returns a handle the caller owns and must release with `checksig_check_free`
/// (which also cancels a check still running). Never NULL.
///
/// Thread safety: every function taking the handle, except `checksig_check_free`, may
/// be called from any thread at any time, also concurrently.
///
/// # Safety
/// `root_dir` and `options.manifest` are NULL or valid NUL-terminated strings;
/// `options` is NULL or points to a valid `checksig_options`.
#[no_mangle]
pub unsafe extern "C" fn checksig_start(
    root_dir: *const c_char,
    options: *const checksig_options,
) -> *mut checksig_check {
    start_handle(root_dir, options, |options| {
        let options = match options {
            None => Ok(Options::default()),
            Some(given) => options_from_c(given),
        };
        options.map(Job::Check)
    })
}

/// What `checksig_start` and `checksig_create_start` share: the root and options read
/// from C, the job started on its thread, and a handle returned whatever happens
/// (a panic gives a handle whose check failed).
///
/// # Safety
/// As `checksig_start`.
unsafe fn start_handle(
    root_dir: *const c_char,
    options: *const checksig_options,
    job: impl FnOnce(Option<&checksig_options>) -> Result<Job, &'static str>,
) -> *mut checksig_check {
    let started = guard(None, || {
        let root = argument_bytes(root_dir).map(|bytes| PathBuf::from(OsStr::from_bytes(bytes)));
        Some(checksig_check::start(root, job(options.as_ref())))
    });
    Box::into_raw(Box::new(started.unwrap_or_else(panicked_handle)))
}

/// A handle whose check failed because starting it panicked.
fn panicked_handle() -> checksig_check {
    checksig_check {
        shared: Arc::new(Shared {
            control: Control::default(),
            outcome: Mutex::new(Some(Finished::error("panic while starting"))),
            finished: Condvar::new(),
        }),
        thread: Mutex::new(None),
    }
}

/// Starts writing the manifest of `root_dir` on a background thread, and returns at
/// once: every regular file under the root (and symlink to one), recursively, the
/// manifest itself excluded, sorted by name, hashed in parallel, written in GNU's
/// format (`hex  name`, escaped names) through a temporary file renamed into place.
/// FIFOs, sockets, devices, dangling links and links to directories are skipped
/// (counted as `skipped`).
///
/// `options`: NULL for SHA-1 into "sha1sum.txt"; `manifest`, `jobs` and `algorithm`
/// are used (AUTO is SHA-1), the rest ignored. Then as a check: wait, progress, cancel
/// (nothing is written), status `CHECKSIG_OK` or `CHECKSIG_ERROR` with a message, counts
/// (`entries`: files written, `skipped`), and `checksig_check_free`.
///
/// # Safety
/// As `checksig_start`.
#[no_mangle]
pub unsafe extern "C" fn checksig_create_start(
    root_dir: *const c_char,
    options: *const checksig_options,
) -> *mut checksig_check {
    start_handle(root_dir, options, |options| {
        let options = match options {
            None => Ok(CreateOptions::default()),
            Some(given) => options_from_c(given).map(|options| CreateOptions {
                algorithm: options.algorithm.unwrap_or(Algorithm::Sha1),
                manifest: options.manifest,
                jobs: options.jobs,
            }),
        };
        options.map(Job::Create)
    })
}

/// # Safety
/// As `checksig_start`.
unsafe fn options_from_c(given: &checksig_options) -> Result<Options, &'static str> {
    // A `u32` in the struct, not the enum: a C caller may pass any number, and an
    // out-of-range enum would be undefined behaviour on the Rust side.
    use checksig_algorithm::*;
    let algorithm = match given.algorithm {
        n if n == CHECKSIG_ALGORITHM_AUTO as u32 => None,
        n if n == CHECKSIG_ALGORITHM_SHA1 as u32 => Some(Algorithm::Sha1),
        n if n == CHECKSIG_ALGORITHM_SHA256 as u32 => Some(Algorithm::Sha256),
        n if n == CHECKSIG_ALGORITHM_SHA512 as u32 => Some(Algorithm::Sha512),
        _ => return Err("unknown algorithm"),
    };
    let mut options = Options {
        algorithm,
        jobs: NonZeroUsize::new(given.jobs),
        ignore_missing: given.ignore_missing,
        list_matches: given.list_matches,
        ..Options::default()
    };
    if let Some(manifest) = argument_bytes(given.manifest) {
        if manifest.is_empty() {
            return Err("the manifest name is empty");
        }
        options.manifest = Some(PathBuf::from(OsStr::from_bytes(manifest)));
    }
    Ok(options)
}

/// Waits for the check to finish, at most `timeout_ms` milliseconds (negative: no
/// limit). Returns true when it has finished (also for a NULL handle), false on timeout.
///
/// Waiting in short slices lets a caller stay responsive: Python waits 100 ms at a time
/// so Ctrl-C is handled promptly.
///
/// # Safety
/// `check` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn checksig_wait(check: *const checksig_check, timeout_ms: i64) -> bool {
    let Some(check) = handle(check) else {
        return true;
    };
    guard(true, || {
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        check.wait(timeout)
    })
}

/// Asks the check to stop. Workers notice between files and between reads (every
/// 256 KiB), so it ends within milliseconds; its status becomes `CHECKSIG_CANCELLED`
/// unless it had already finished. NULL is ignored.
///
/// # Safety
/// `check` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn checksig_cancel(check: *const checksig_check) {
    if let Some(check) = handle(check) {
        guard((), || check.shared.control.cancel());
    }
}

/// Writes the current progress into `*out`. Returns false (and writes nothing) when
/// either pointer is NULL.
///
/// # Safety
/// `check` is NULL or a live handle; `out` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn checksig_get_progress(
    check: *const checksig_check,
    out: *mut checksig_progress,
) -> bool {
    write_out(check, out, |check| {
        let progress = check.shared.control.progress();
        Some(checksig_progress {
            files_done: progress.files_done,
            files_total: progress.files_total,
            bytes_done: progress.bytes_done,
            bytes_total: progress.bytes_total,
        })
    })
}

/// The check's status: `CHECKSIG_RUNNING` until it has finished. A NULL handle is
/// `CHECKSIG_ERROR`.
///
/// # Safety
/// `check` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn checksig_get_status(check: *const checksig_check) -> checksig_status {
    let Some(check) = handle(check) else {
        return checksig_status::CHECKSIG_ERROR;
    };
    guard(checksig_status::CHECKSIG_ERROR, || {
        check.with_outcome(checksig_status::CHECKSIG_RUNNING, |f| f.status)
    })
}

/// The check's message: NULL when every entry matched; otherwise every failure on its
/// own line in manifest order (`"<path>" - <reason>`), or the one error that stopped the
/// check. While running: "check still running". NULL handle: an error message.
///
/// The string is the caller's: release it with `checksig_free` (or libc `free`).
///
/// # Safety
/// `check` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn checksig_get_message(check: *const checksig_check) -> *mut c_char {
    let Some(check) = handle(check) else {
        return malloc_message(b"check handle is NULL");
    };
    let message = guard(Some(b"internal error: panic".to_vec()), || {
        check.with_outcome(Some(b"check still running".to_vec()), |f| f.message.clone())
    });
    message.map_or(ptr::null_mut(), |m| malloc_message(&m))
}

/// Writes the finished check's counts into `*out`. Returns false (writing nothing) when
/// a pointer is NULL or the check is still running.
///
/// # Safety
/// `check` is NULL or a live handle; `out` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn checksig_get_counts(
    check: *const checksig_check,
    out: *mut checksig_counts,
) -> bool {
    write_out(check, out, |check| {
        check.with_outcome(None, |f| Some(f.counts))
    })
}

/// The number of failing entries of a finished check; 0 while running or for NULL.
///
/// # Safety
/// `check` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn checksig_failure_count(check: *const checksig_check) -> usize {
    let Some(check) = handle(check) else {
        return 0;
    };
    guard(0, || check.with_outcome(0, |f| f.failures.len()))
}

/// Writes failure number `index` (0-based, manifest order) into `*out`. Returns false
/// (writing nothing) for a NULL pointer, a running check or an index out of range. The
/// strings `*out` points to belong to the handle and live until `checksig_check_free`.
///
/// # Safety
/// `check` is NULL or a live handle; `out` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn checksig_failure_at(
    check: *const checksig_check,
    index: usize,
    out: *mut checksig_failure,
) -> bool {
    write_out(check, out, |check| {
        check.with_outcome(None, |finished| {
            finished.failures.get(index).map(|view| checksig_failure {
                path: view.path.as_ptr(),
                path_len: view.path.as_bytes().len(),
                line: view.line,
                reason: view.reason,
                detail: view.detail.as_ptr(),
                expected_hex: view.expected_hex,
                actual_hex: view.actual_hex,
            })
        })
    })
}

/// The number of matching entries kept (see `options.list_matches`); 0 while running,
/// for NULL, or when matches were not asked for.
///
/// # Safety
/// `check` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn checksig_match_count(check: *const checksig_check) -> usize {
    let Some(check) = handle(check) else {
        return 0;
    };
    guard(0, || check.with_outcome(0, |f| f.matches.len()))
}

/// Writes matching entry number `index` (0-based, manifest order) into `*out`. Returns
/// false (writing nothing) for a NULL pointer, a running check or an index out of
/// range. The path belongs to the handle and lives until `checksig_check_free`.
///
/// # Safety
/// `check` is NULL or a live handle; `out` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn checksig_match_at(
    check: *const checksig_check,
    index: usize,
    out: *mut checksig_match,
) -> bool {
    write_out(check, out, |check| {
        check.with_outcome(None, |finished| {
            finished
                .matches
                .get(index)
                .map(|(path, line)| checksig_match {
                    path: path.as_ptr(),
                    path_len: path.as_bytes().len(),
                    line: *line,
                })
        })
    })
}

/// Releases a handle: cancels the check if it is still running, waits for its thread
/// to end, and frees everything, including the strings `checksig_failure_at` handed
/// out. NULL is ignored. Call it once, when no other thread is using the handle.
///
/// # Safety
/// `check` is NULL or a live handle, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn checksig_check_free(check: *mut checksig_check) {
    if check.is_null() {
        return;
    }
    let check = Box::from_raw(check);
    guard((), || {
        check.shared.control.cancel();
        check.join();
    });
}

/// Checks `root_dir` against `root_dir/sha1sum.txt` and waits for the result: the
/// Go library's entry point, kept verbatim.
///
/// Returns NULL when every listed file matches. Otherwise a message the caller owns:
/// every failing entry on its own line in manifest order, `"<root_dir>/<name>" -
/// mismatch` (the Go text) or `"<path>" - <reason>`; or the one error that stopped the
/// check (missing root, bad manifest line N, ...). A NULL `root_dir` gives an error
/// message, not a crash.
///
/// Ownership: the message comes from libc `malloc`; release it with `checksig_free` or
/// libc `free`.
///
/// Thread safety: reentrant; may be called from many threads at once.
///
/// # Safety
/// `root_dir` is NULL or a valid NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn verify(root_dir: *const c_char) -> *mut c_char {
    finish_with_message(checksig_start(root_dir, ptr::null()))
}

/// Waits for `check`, frees it, and returns its message (NULL on success): the
/// synchronous calls `verify` and `checksig_create` are their handle API and this.
///
/// # Safety
/// `check` is a live handle from `checksig_start` or `checksig_create_start`.
unsafe fn finish_with_message(check: *mut checksig_check) -> *mut c_char {
    checksig_wait(check, -1);
    let message = checksig_get_message(check);
    checksig_check_free(check);
    message
}

/// Writes the manifest of `root_dir` and waits: `checksig_create_start`, then the
/// result. Returns NULL on success, else the error message (the caller's: release it
/// with `checksig_free` or libc `free`). Reentrant.
///
/// # Safety
/// As `checksig_start`.
#[no_mangle]
pub unsafe extern "C" fn checksig_create(
    root_dir: *const c_char,
    options: *const checksig_options,
) -> *mut c_char {
    finish_with_message(checksig_create_start(root_dir, options))
}

/// Releases a string returned by this library (`verify`, `checksig_get_message`). NULL
/// is ignored. Thread-safe.
///
/// # Safety
/// `message` is NULL or a string from this library, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn checksig_free(message: *mut c_char) {
    if !message.is_null() {
        libc::free(message as *mut libc::c_void);
    }
}

/// The library's version, e.g. "0.1.0". Static: do not free.
#[no_mangle]
pub extern "C" fn checksig_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}

/// Checks a path without going through C strings, for the Rust tests of this module.
#[doc(hidden)]
pub fn verify_path(root: &Path) -> Option<Vec<u8>> {
    let root = CString::new(root.as_os_str().as_bytes()).expect("no NUL in test paths");
    // SAFETY: a valid C string in, and the returned message is freed here.
    unsafe {
        let message = verify(root.as_ptr());
        if message.is_null() {
            return None;
        }
        let bytes = CStr::from_ptr(message).to_bytes().to_vec();
        checksig_free(message);
        Some(bytes)
    }
}
