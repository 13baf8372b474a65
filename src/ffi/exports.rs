//! The exported functions: each a thin wrapper over the Rust API ([`crate::verify`],
//! [`crate::create`]) through the job ([`crate::ffi::job`]); no checking logic lives
//! here.

use std::ffi::{c_char, CStr, CString, OsStr};
use std::num::NonZeroUsize;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::ptr;
use std::time::Duration;

use crate::algorithm::Algorithm;
use crate::create::CreateOptions;
use crate::ffi::boundary::c_string;
use crate::ffi::boundary::{argument_bytes, guard, malloc_string, write_out};
use crate::ffi::job::{checksig_job, Finished, VerdictView, Work};
use crate::ffi::types::{
    algorithm_code, algorithm_from_code, checksig_counts, checksig_created, checksig_failure,
    checksig_form, checksig_line_format, checksig_match, checksig_options, checksig_part,
    checksig_progress, checksig_reason, checksig_status, checksig_verdict, checksig_verdict_status,
    hex_field, CHECKSIG_HEX_CAPACITY, CHECKSIG_LINES_MIN_CAPACITY,
};
use crate::lines::{push_line, LineFormat};
use crate::manifest::{ManifestStamp, Parser, Part};
use crate::paths::display_join;
use crate::report::{Error, Status, Summary};
use crate::text::push_display_name;
use crate::verify::{manifest_name, nothing_verified, split, ManifestPart, Options};

/// Borrows the job behind a pointer, or `None` for NULL.
///
/// # Safety
/// `job` is NULL or a live job.
unsafe fn live<'a>(job: *const checksig_job) -> Option<&'a checksig_job> {
    job.as_ref()
}

/// Starts checking `root_dir` against its manifest on a background thread, and returns
/// at once.
///
/// `root_dir`: a NUL-terminated path, bytes (need not be UTF-8); copied. NULL gives a
/// job that has failed with `CHECKSIG_ERROR`. `options`: NULL for the defaults;
/// copied.
///
/// Returns a job the caller owns and must release with `checksig_job_free` (which
/// also cancels a job still running). Never NULL.
///
/// Thread safety: every function taking the job, except `checksig_job_free`, may be
/// called from any thread at any time, also concurrently; `checksig_next_verdicts`
/// and `checksig_next_lines` from one thread at a time (each call frees what the one
/// before it handed out).
///
/// # Safety
/// `root_dir` and `options.manifest` are NULL or valid NUL-terminated strings;
/// `options` is NULL or points to a valid `checksig_options`.
#[no_mangle]
pub unsafe extern "C" fn checksig_start(
    root_dir: *const c_char,
    options: *const checksig_options,
) -> *mut checksig_job {
    start_job(root_dir, options, |given| match given {
        None => Ok(Work::Check(Options::default())),
        Some(given) if given.stream => options_from_c(given).map(Work::StreamedCheck),
        Some(given) => options_from_c(given).map(Work::Check),
    })
}

/// Starts writing the manifest of `root_dir` on a background thread, and returns at
/// once: every regular file under the root (and symlink to one), recursively, the
/// manifest itself excluded, sorted by name, hashed in parallel, written as the
/// algorithm's tool writes it (`hex  name`, escaped names; with `options.tag`,
/// `SHA256 (name) = hex`) through a temporary file renamed into place.
/// FIFOs, sockets, devices, dangling links and links to directories are skipped.
///
/// `options`: NULL for SHA-1 into "sha1sum.txt"; `manifest`, `jobs`, `readers`,
/// `algorithm` (AUTO is SHA-1), `blake2b_bits` and `tag` are used, the rest ignored. Then as a check: wait, progress, cancel
/// (nothing is written), status `CHECKSIG_OK` or `CHECKSIG_ERROR` with a message,
/// `checksig_get_created` and `checksig_get_manifest_path` for what was written, and
/// `checksig_job_free`.
///
/// # Safety
/// As `checksig_start`.
#[no_mangle]
pub unsafe extern "C" fn checksig_create_start(
    root_dir: *const c_char,
    options: *const checksig_options,
) -> *mut checksig_job {
    start_job(root_dir, options, |options| {
        create_options_from_c(options).map(Work::Create)
    })
}

/// The options of a manifest creation, from C's (NULL: the defaults).
///
/// # Safety
/// As `checksig_start`.
unsafe fn create_options_from_c(
    options: Option<&checksig_options>,
) -> Result<CreateOptions, &'static str> {
    match options {
        None => Ok(CreateOptions::default()),
        Some(given) => options_from_c(given).map(|options| CreateOptions {
            algorithm: options.algorithm.unwrap_or(Algorithm::Sha1),
            manifest: options.manifest,
            tag: given.tag,
            jobs: options.jobs,
            readers: options.readers,
        }),
    }
}

/// What `checksig_start` and `checksig_create_start` share: the root and options read
/// from C, the work started on its thread, and a job returned whatever happens (a
/// panic gives a job that failed).
///
/// # Safety
/// As `checksig_start`.
unsafe fn start_job(
    root_dir: *const c_char,
    options: *const checksig_options,
    work: impl FnOnce(Option<&checksig_options>) -> Result<Work, &'static str>,
) -> *mut checksig_job {
    let started = guard(None, || {
        let root = argument_bytes(root_dir).map(|bytes| PathBuf::from(OsStr::from_bytes(bytes)));
        Some(checksig_job::start(root, work(options.as_ref())))
    });
    let job =
        started.unwrap_or_else(|| checksig_job::finished(Finished::error("panic while starting")));
    Box::into_raw(Box::new(job))
}

/// # Safety
/// As `checksig_start`.
unsafe fn options_from_c(given: &checksig_options) -> Result<Options, &'static str> {
    let algorithm = match algorithm_from_code(given.algorithm).ok_or("unknown algorithm")? {
        Some(Algorithm::Blake2b(_)) if given.blake2b_bits != 0 => Some(
            Algorithm::blake2b_bits(given.blake2b_bits)
                .ok_or("a BLAKE2b length is a multiple of 8 from 8 to 512 bits")?,
        ),
        _ if given.blake2b_bits != 0 => {
            return Err("a digest length is for BLAKE2b only (as b2sum -l)")
        }
        algorithm => algorithm,
    };
    let mut options = Options {
        algorithm,
        jobs: NonZeroUsize::new(given.jobs),
        readers: NonZeroUsize::new(given.readers),
        ignore_missing: given.ignore_missing,
        list_matches: given.list_matches,
        stream: given.stream,
        ..Options::default()
    };
    if let Some(shown_root) = argument_bytes(given.shown_root) {
        options.shown_root = Some(PathBuf::from(OsStr::from_bytes(shown_root)));
    }
    if let Some(manifest) = argument_bytes(given.manifest) {
        if manifest.is_empty() {
            return Err("the manifest name is empty");
        }
        options.manifest = Some(PathBuf::from(OsStr::from_bytes(manifest)));
    }
    if given.part_end > 0 {
        let form = checksig_form::to_form(given.part_form).ok_or("unknown part_form")?;
        let first_line = u32::try_from(given.part_first_line)
            .ok()
            .filter(|&line| line > 0)
            .ok_or("part_first_line is not a line number")?;
        if given.part_start > given.part_end || algorithm.is_none() {
            return Err("a part needs part_start <= part_end and the manifest's algorithm");
        }
        options.part = Some(ManifestPart {
            part: Part {
                start: given.part_start,
                end: given.part_end,
                first_line,
            },
            parser: Parser { algorithm, form },
            stamp: (given.part_manifest_len > 0).then_some(ManifestStamp {
                len: given.part_manifest_len,
                modified_ns: given.part_manifest_mtime_ns,
            }),
        });
    }
    Ok(options)
}

/// Cuts the manifest of `root_dir` (as `options` name it; NULL for the defaults) into
/// at most `parts` parts (at least 1: 0 is an error, since a merge of no parts would
/// stand as a check) of about equal bytes at line starts, for checking them apart
/// (on a cluster): writes them into `out` (room for `parts`), their number into
/// `*count`, and what the whole manifest decided into `*algorithm` (a
/// `checksig_algorithm`) and `*form` (a `checksig_form`) — each part is checked with
/// those, its `start`, `end`, `first_line`, `manifest_len` and `manifest_mtime_ns` in
/// the options' `part_*` fields. Parses only the manifest's first lines (and counts
/// the others' newlines): an empty
/// manifest or a bad line among the first is the error a check gives; a later bad
/// line is the error of the part that holds it, and the first such error in part
/// order is the whole manifest's. Returns NULL on success, else that error's message
/// (the caller's: release it with `checksig_free`). Reentrant.
///
/// # Safety
/// `root_dir` as for `checksig_start`; `out` valid for writes of `parts` parts;
/// `count`, `algorithm` and `form` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn checksig_split(
    root_dir: *const c_char,
    options: *const checksig_options,
    parts: usize,
    out: *mut checksig_part,
    count: *mut usize,
    algorithm: *mut u32,
    form: *mut u32,
) -> *mut c_char {
    if [
        out.is_null(),
        count.is_null(),
        algorithm.is_null(),
        form.is_null(),
    ]
    .contains(&true)
    {
        return malloc_string(b"invalid argument: NULL output");
    }
    let result = guard(Err(b"internal error: panic".to_vec()), || {
        let root =
            argument_bytes(root_dir).ok_or(b"invalid argument: root_dir is NULL".to_vec())?;
        let options = match options.as_ref() {
            None => Options::default(),
            Some(given) => options_from_c(given)
                .map_err(|why| format!("invalid argument: {why}").into_bytes())?,
        };
        let root = Path::new(OsStr::from_bytes(root));
        split(root, &options, parts).map_err(|error| error.message())
    });
    match result {
        Ok(split) => {
            for (i, part) in split.parts.iter().take(parts).enumerate() {
                *out.add(i) = checksig_part {
                    start: part.start,
                    end: part.end,
                    first_line: u64::from(part.first_line),
                    manifest_len: split.stamp.len,
                    manifest_mtime_ns: split.stamp.modified_ns,
                };
            }
            *count = split.parts.len().min(parts);
            *algorithm = split.parser.algorithm.map_or(0, algorithm_code);
            *form = checksig_form::from_form(split.parser.form) as u32;
            ptr::null_mut()
        }
        Err(message) => malloc_string(&message),
    }
}

/// Why `checksig_create_start` (and `checksig_create`) would refuse `options` before
/// reading anything: an unknown algorithm, a BLAKE2b length that is not a multiple of 8
/// from 8 to 512 bits, a length for another algorithm, BLAKE3 with `tag`, an empty
/// manifest name. The message the job would fail with (`invalid argument: ...`; the
/// caller's: `checksig_free`), or NULL when they would be taken (and for NULL
/// `options`). Lets a caller tell a bad argument from a creation that failed, before
/// starting one: the command line exits 2 for the first, 1 for the second.
/// Thread-safe.
///
/// # Safety
/// `options` NULL or valid for reads, its strings NUL-terminated or NULL.
#[no_mangle]
pub unsafe extern "C" fn checksig_create_options_error(
    options: *const checksig_options,
) -> *mut c_char {
    let panicked = Some(Error::Internal("panic while reading the options".into()).message());
    let refused = guard(panicked, || {
        let options = options.as_ref()?;
        let refusal = match create_options_from_c(Some(options)) {
            Err(why) => Error::InvalidArgument(why.to_string()),
            Ok(options) => options.validate().err()?,
        };
        Some(refusal.message())
    });
    match refused {
        Some(message) => malloc_string(&message),
        None => ptr::null_mut(),
    }
}

/// The error of a check merged from parts, given the sums of their counts: GNU's rule
/// that a check with `ignore_missing` which verified nothing at all fails, with its
/// message (the caller's: `checksig_free`); NULL when the merged check stands.
///
/// # Safety
/// `root_dir` and `options` as for `checksig_start`; `counts` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn checksig_merged_error(
    root_dir: *const c_char,
    options: *const checksig_options,
    counts: *const checksig_counts,
) -> *mut c_char {
    let (Some(root), Some(counts)) = (argument_bytes(root_dir), counts.as_ref()) else {
        return malloc_string(b"invalid argument: NULL");
    };
    let message = guard(None, || {
        let options = match options.as_ref() {
            None => Options::default(),
            Some(given) => options_from_c(given).ok()?,
        };
        let summary = Summary {
            entries: counts.entries,
            matched: counts.matched,
            failed: counts.failed,
            skipped: counts.skipped,
        };
        if !nothing_verified(&options, &summary) {
            return None;
        }
        let root = Path::new(OsStr::from_bytes(root));
        let path = root.join(manifest_name(&options));
        let path = path.as_os_str().as_bytes().to_vec();
        Some(Error::NothingVerified { path }.message())
    });
    message.map_or(ptr::null_mut(), |message| malloc_string(&message))
}

/// Waits for the job to finish, at most `timeout_ms` milliseconds (negative: no
/// limit). Returns true when it has finished (also for a NULL job), false on timeout.
///
/// Waiting in short slices lets a caller stay responsive: Python waits 100 ms at a time
/// so Ctrl-C is handled promptly.
///
/// # Safety
/// `job` is NULL or a live job.
#[no_mangle]
pub unsafe extern "C" fn checksig_wait(job: *const checksig_job, timeout_ms: i64) -> bool {
    let Some(job) = live(job) else {
        return true;
    };
    guard(true, || {
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        job.wait(timeout)
    })
}

/// Asks the job to stop. Workers notice between files and between reads (every
/// 256 KiB), so it ends within milliseconds; its status becomes `CHECKSIG_CANCELLED`
/// unless it had already finished. NULL is ignored.
///
/// # Safety
/// `job` is NULL or a live job.
#[no_mangle]
pub unsafe extern "C" fn checksig_cancel(job: *const checksig_job) {
    if let Some(job) = live(job) {
        guard((), || job.shared.control.cancel());
    }
}

/// Writes the current progress into `*out`. Returns false (and writes nothing) when
/// either pointer is NULL.
///
/// # Safety
/// `job` is NULL or a live job; `out` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn checksig_get_progress(
    job: *const checksig_job,
    out: *mut checksig_progress,
) -> bool {
    let Some(job) = live(job) else {
        return false;
    };
    write_out(out, || {
        let progress = job.shared.control.progress();
        Some(checksig_progress {
            files_done: progress.files_done,
            files_total: progress.files_total,
            bytes_done: progress.bytes_done,
            bytes_total: progress.bytes_total,
        })
    })
}

/// The job's status: `CHECKSIG_RUNNING` until it has finished. A NULL job is
/// `CHECKSIG_ERROR`.
///
/// # Safety
/// `job` is NULL or a live job.
#[no_mangle]
pub unsafe extern "C" fn checksig_get_status(job: *const checksig_job) -> checksig_status {
    let Some(job) = live(job) else {
        return checksig_status::CHECKSIG_ERROR;
    };
    guard(checksig_status::CHECKSIG_ERROR, || {
        job.with_outcome(checksig_status::CHECKSIG_RUNNING, |f| f.status)
    })
}

/// The job's message: NULL when every entry matched (or the manifest was written);
/// otherwise every failure on its own line in manifest order (`"<path>" - <reason>`),
/// or the one error that stopped the job. While running: "still running". NULL job:
/// an error message.
///
/// The string is the caller's: release it with `checksig_free` (or libc `free`).
///
/// # Safety
/// `job` is NULL or a live job.
#[no_mangle]
pub unsafe extern "C" fn checksig_get_message(job: *const checksig_job) -> *mut c_char {
    let Some(job) = live(job) else {
        return malloc_string(b"job is NULL");
    };
    let message = guard(Some(b"internal error: panic".to_vec()), || {
        job.with_outcome(Some(b"still running".to_vec()), Finished::message)
    });
    message.map_or(ptr::null_mut(), |m| malloc_string(&m))
}

/// Writes the finished check's counts into `*out` (zeros when it stopped on an error:
/// a manifest or root that cannot be used, a cancel). Returns false (writing nothing)
/// when a pointer is NULL, the job is still running, it is a manifest creation (see
/// `checksig_get_created`), or it was refused before it started (a NULL root, an
/// invalid option: `checksig_get_message` says which).
///
/// # Safety
/// `job` is NULL or a live job; `out` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn checksig_get_counts(
    job: *const checksig_job,
    out: *mut checksig_counts,
) -> bool {
    let Some(job) = live(job) else {
        return false;
    };
    write_out(out, || job.with_outcome(None, |f| f.counts))
}

/// Writes what a finished manifest creation wrote into `*out`. Returns false (writing
/// nothing) when a pointer is NULL, the job is still running, is a check, or failed.
///
/// # Safety
/// `job` is NULL or a live job; `out` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn checksig_get_created(
    job: *const checksig_job,
    out: *mut checksig_created,
) -> bool {
    let Some(job) = live(job) else {
        return false;
    };
    write_out(out, || {
        job.with_outcome(None, |f| f.created.as_ref().map(|(created, _)| *created))
    })
}

/// The path of the manifest a finished creation wrote; NULL for a check, a running or
/// failed job, or NULL. The string is the caller's: release it with `checksig_free`.
///
/// # Safety
/// `job` is NULL or a live job.
#[no_mangle]
pub unsafe extern "C" fn checksig_get_manifest_path(job: *const checksig_job) -> *mut c_char {
    let Some(job) = live(job) else {
        return ptr::null_mut();
    };
    let path = guard(None, || {
        job.with_outcome(None, |f| f.created.as_ref().map(|(_, path)| path.clone()))
    });
    path.map_or(ptr::null_mut(), |path| malloc_string(&path))
}

/// The number of failing entries of a finished check; 0 while running or for NULL.
///
/// # Safety
/// `job` is NULL or a live job.
#[no_mangle]
pub unsafe extern "C" fn checksig_failure_count(job: *const checksig_job) -> usize {
    let Some(job) = live(job) else {
        return 0;
    };
    guard(0, || job.with_outcome(0, |f| f.failures.len()))
}

/// Writes failure number `index` (0-based, manifest order) into `*out`. Returns false
/// (writing nothing) for a NULL pointer, a running job or an index out of range. The
/// strings `*out` points to belong to the job and live until `checksig_job_free`.
///
/// # Safety
/// `job` is NULL or a live job; `out` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn checksig_failure_at(
    job: *const checksig_job,
    index: usize,
    out: *mut checksig_failure,
) -> bool {
    let Some(job) = live(job) else {
        return false;
    };
    write_out(out, || {
        job.with_outcome(None, |finished| finished.failures.failure(index))
    })
}

/// The number of matching entries kept (see `options.list_matches`); 0 while running,
/// for NULL, or when matches were not asked for.
///
/// # Safety
/// `job` is NULL or a live job.
#[no_mangle]
pub unsafe extern "C" fn checksig_match_count(job: *const checksig_job) -> usize {
    let Some(job) = live(job) else {
        return 0;
    };
    guard(0, || job.with_outcome(0, |f| f.matches.len()))
}

/// Writes matching entry number `index` (0-based, manifest order) into `*out`. Returns
/// false (writing nothing) for a NULL pointer, a running job or an index out of
/// range. The path belongs to the job and lives until `checksig_job_free`.
///
/// # Safety
/// `job` is NULL or a live job; `out` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn checksig_match_at(
    job: *const checksig_job,
    index: usize,
    out: *mut checksig_match,
) -> bool {
    let Some(job) = live(job) else {
        return false;
    };
    write_out(out, || {
        job.with_outcome(None, |finished| {
            let matches = &finished.matches;
            (index < matches.len()).then(|| {
                let path = matches.path(index);
                checksig_match {
                    path: path.as_ptr(),
                    path_len: path.as_bytes().len(),
                    line: matches.line(index),
                }
            })
        })
    })
}

/// Releases a job: cancels it if it is still running, waits for its thread to end,
/// and frees everything, including the strings `checksig_failure_at` handed out. NULL
/// is ignored. Call it once, when no other thread is using the job.
///
/// # Safety
/// `job` is NULL or a live job, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn checksig_job_free(job: *mut checksig_job) {
    if job.is_null() {
        return;
    }
    let job = Box::from_raw(job);
    guard((), || {
        job.shared.control.cancel();
        job.join();
    });
}

/// Fetches the next verdicts of a streamed check (`options.stream`), in manifest
/// order: waits up to `timeout_ms` milliseconds (negative: no limit) for at least
/// one, then writes up to `max` into `out` and returns how many. Returns 0 when the
/// time ran out, and for good once `checksig_stream_done` is true; also for a check
/// that is not streamed, NULL pointers, or `max` 0. The strings the verdicts point to
/// belong to the job and live until the next call on it (or `checksig_job_free`).
///
/// Thread safety: one thread at a time should fetch from a job.
///
/// # Safety
/// `job` is NULL or a live job; `out` is NULL or valid for writes of `max` verdicts.
#[no_mangle]
pub unsafe extern "C" fn checksig_next_verdicts(
    job: *const checksig_job,
    out: *mut checksig_verdict,
    max: usize,
    timeout_ms: i64,
) -> usize {
    let Some(job) = live(job) else {
        return 0;
    };
    if out.is_null() || max == 0 {
        return 0;
    }
    let views = guard(None, || {
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        let mut count = 0;
        let taken = job.shared.stream.take_while(timeout, |_| {
            count += 1;
            count <= max
        });
        let root = &job.shared.root;
        let views: Vec<VerdictView> = taken
            .into_iter()
            .map(|verdict| VerdictView {
                path: c_string(display_join(root, &verdict.name)),
                detail: c_string(match &verdict.status {
                    Status::Failed(reason) => reason.detail().as_bytes().to_vec(),
                    _ => Vec::new(),
                }),
                verdict,
            })
            .collect();
        Some(views)
    });
    let Some(views) = views else { return 0 };
    let mut handed_out = job
        .shared
        .handed_out
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    *handed_out = views;
    for (i, view) in handed_out.iter().enumerate() {
        let verdict = &view.verdict;
        let (status, reason) = match &verdict.status {
            Status::Ok => (checksig_verdict_status::CHECKSIG_VERDICT_OK, 0),
            Status::Skipped => (checksig_verdict_status::CHECKSIG_VERDICT_SKIPPED, 0),
            Status::Failed(reason) => (
                checksig_verdict_status::CHECKSIG_VERDICT_FAILED,
                checksig_reason::from_reason(reason) as u32,
            ),
        };
        *out.add(i) = checksig_verdict {
            path: view.path.as_ptr(),
            path_len: view.path.as_bytes().len(),
            line: u64::from(verdict.line),
            status,
            reason,
            detail: view.detail.as_ptr(),
            expected_hex: hex_field(Some(&verdict.expected)),
            actual_hex: hex_field(verdict.actual.as_ref()),
        };
    }
    handed_out.len()
}

/// Writes the next verdicts of a streamed check (`options.stream`) as whole lines in
/// `format` (a `checksig_line_format`) into `buffer`, at most `capacity` bytes (no
/// NUL added): waits up to `timeout_ms` milliseconds (negative: no limit) for at least
/// one verdict, then writes as many lines as fit. Returns the bytes written: 0 when the
/// time ran out, when the verdicts that came have no line (OK lines in FAILURES), and
/// for good once `checksig_stream_done` is true; also for a check that is not
/// streamed, NULL pointers, an unknown format, or `capacity` below
/// `CHECKSIG_LINES_MIN_CAPACITY`.
///
/// # Safety
/// `job` is NULL or a live job; `buffer` is NULL or valid for writes of `capacity`
/// bytes.
#[no_mangle]
pub unsafe extern "C" fn checksig_next_lines(
    job: *const checksig_job,
    format: u32,
    buffer: *mut c_char,
    capacity: usize,
    timeout_ms: i64,
) -> usize {
    let Some(job) = live(job) else {
        return 0;
    };
    let format = match format {
        f if f == checksig_line_format::CHECKSIG_LINES_TEXT as u32 => LineFormat::Text,
        f if f == checksig_line_format::CHECKSIG_LINES_FAILURES as u32 => LineFormat::Failures,
        f if f == checksig_line_format::CHECKSIG_LINES_JSON as u32 => LineFormat::Json,
        _ => return 0,
    };
    if buffer.is_null() || capacity < CHECKSIG_LINES_MIN_CAPACITY {
        return 0;
    }
    let lines = guard(None, || {
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        let root = &job.shared.root;
        let mut lines = Vec::with_capacity(64 * 1024);
        let mut line = Vec::new();
        let _ = job.shared.stream.take_while(timeout, |verdict| {
            line.clear();
            push_line(&mut line, format, root, &verdict.borrow());
            if lines.len() + line.len() > capacity {
                return false;
            }
            lines.extend_from_slice(&line);
            true
        });
        Some(lines)
    });
    let Some(lines) = lines else { return 0 };
    ptr::copy_nonoverlapping(lines.as_ptr(), buffer as *mut u8, lines.len());
    lines.len()
}

/// True once a streamed check has ended and every verdict has been fetched (also for
/// a check that is not streamed once it has ended, and for NULL): the end of a
/// `checksig_next_verdicts` / `checksig_next_lines` loop. Then `checksig_get_status`
/// and `checksig_get_counts` tell how it ended.
///
/// # Safety
/// `job` is NULL or a live job.
#[no_mangle]
pub unsafe extern "C" fn checksig_stream_done(job: *const checksig_job) -> bool {
    let Some(job) = live(job) else {
        return true;
    };
    guard(true, || job.shared.stream.is_done())
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

/// Waits for `job`, frees it, and returns its message (NULL on success): the
/// synchronous calls `verify` and `checksig_create` are their job API and this.
///
/// # Safety
/// `job` is a live job from `checksig_start` or `checksig_create_start`.
unsafe fn finish_with_message(job: *mut checksig_job) -> *mut c_char {
    checksig_wait(job, -1);
    let message = checksig_get_message(job);
    checksig_job_free(job);
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

/// Releases a string returned by this library (`verify`, `checksig_get_message`, ...).
/// NULL is ignored. Thread-safe.
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

/// The words of a failure reason (`"mismatch"`, `"no such file"`, `"not a regular
/// file"`, `"outside the root directory"`, `"read error"`), as the messages use them;
/// NULL for a number that is no reason. Static: do not free. Thread-safe.
#[no_mangle]
pub extern "C" fn checksig_reason_name(reason: u32) -> *const c_char {
    checksig_reason::ALL
        .into_iter()
        .find(|r| *r as u32 == reason)
        .map_or(ptr::null(), |r| r.word().as_ptr())
}

/// The name of algorithm number `algorithm` (`"sha1"`, `"sha256"`, `"sha512"`, `"md5"`,
/// `"sha224"`, `"sha384"`, `"blake2b"`, `"blake3"`); NULL for AUTO or a number that is
/// no algorithm. The numbers run from 1 without gaps. Static: do not free.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn checksig_algorithm_name(algorithm: u32) -> *const c_char {
    match algorithm_from_code(algorithm) {
        Some(Some(algorithm)) => algorithm.c_name().as_ptr(),
        _ => ptr::null(),
    }
}

/// The number of the algorithm called `name` (`"sha256"`, `"SHA-256"`, `"blake2b"`...:
/// case and dashes ignored); `CHECKSIG_ALGORITHM_AUTO` (0) for NULL, an unknown name,
/// or a name with a length (`"blake2b-256"`: a number cannot carry it; give BLAKE2B
/// and `options.blake2b_bits`).
///
/// # Safety
/// `name` is NULL or a valid NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn checksig_algorithm_from_name(name: *const c_char) -> u32 {
    guard(0, || {
        argument_bytes(name)
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .and_then(Algorithm::from_name)
            .filter(|&algorithm| Algorithm::ALL.contains(&algorithm))
            .map_or(0, algorithm_code)
    })
}

/// The length in hex digits of algorithm number `algorithm`'s digest (40 for SHA-1;
/// 128 for BLAKE2b at its default length); 0 for AUTO or a number that is no
/// algorithm. Thread-safe.
#[no_mangle]
pub extern "C" fn checksig_algorithm_hex_len(algorithm: u32) -> usize {
    match algorithm_from_code(algorithm) {
        Some(Some(algorithm)) => algorithm.digest_len() * 2,
        _ => 0,
    }
}

/// The manifest name looked for or written for algorithm number `algorithm` when the
/// caller names none (`"sha1sum.txt"`; AUTO is SHA-1's); NULL for a number that is no
/// algorithm. Static: do not free. Thread-safe.
#[no_mangle]
pub extern "C" fn checksig_algorithm_default_manifest(algorithm: u32) -> *const c_char {
    match algorithm_from_code(algorithm) {
        Some(algorithm) => algorithm
            .unwrap_or(Algorithm::Sha1)
            .c_default_manifest()
            .as_ptr(),
        None => ptr::null(),
    }
}

/// The size of the hex fields of `checksig_failure`: `CHECKSIG_HEX_CAPACITY`, for
/// callers that cannot read the header's constants (ctypes).
#[no_mangle]
pub extern "C" fn checksig_hex_capacity() -> usize {
    CHECKSIG_HEX_CAPACITY
}

/// `name` (`len` bytes, need not be UTF-8 nor NUL-terminated) as checksig's verdict
/// lines show it, in `sha1sum -c`'s form: unchanged, or, when it holds a backslash, LF
/// or CR, a leading `\` and those escaped as `\\`, `\n`, `\r`, as `sha1sum` writes
/// such a name in a manifest (`sha1sum -c` 9.1 escapes only an LF on its verdict lines). NULL for a NULL `name`. The string is the
/// caller's: release it with `checksig_free`.
///
/// # Safety
/// `name` is NULL or valid for reads of `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn checksig_display_name(name: *const c_char, len: usize) -> *mut c_char {
    if name.is_null() {
        return ptr::null_mut();
    }
    let name = std::slice::from_raw_parts(name as *const u8, len);
    let shown = guard(None, || {
        let mut shown = Vec::with_capacity(len + 1);
        push_display_name(&mut shown, name);
        Some(shown)
    });
    shown.map_or(ptr::null_mut(), |shown| malloc_string(&shown))
}

/// Checks a path without going through C strings, for the Rust tests of the C ABI.
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
