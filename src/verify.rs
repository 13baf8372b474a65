//! The check itself: read the manifest, hash every listed file on a pool of workers,
//! compare, and report every failure in manifest order.
//!
//! The phases, each bounded in memory and open files:
//!
//! 1. **Plan.** Parse the manifest, resolve every name (refusing those outside the root)
//!    and group entries naming the same file, so each file is hashed at most once.
//! 2. **Size.** `stat` every file on the workers. Missing files, directories and other
//!    non-regular files fail here without ever being opened; the sizes give the byte
//!    total for progress and the order of phase 3.
//! 3. **Hash.** Feed file indices, largest first, through a bounded channel to `jobs`
//!    scoped workers. Largest first keeps one big file listed last from running alone
//!    at the end while the other cores idle. Each worker holds one file open at a time
//!    and reuses one buffer; results come back tagged with the file index, so the
//!    report's order does not depend on which thread finished first.
//!
//! Scoped threads are joined before `check` returns: no thread outlives a call, so a
//! process may fork after a check, and nothing is left running at exit.

use std::collections::hash_map::RandomState;
use std::ffi::CStr;
use std::fs::{File, OpenOptions};
use std::hash::BuildHasher;
use std::io::{self, Read};
use std::num::NonZeroUsize;
use std::ops::Range;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread;

use crossbeam_channel::bounded;
use sha1::{Digest, Sha1};

use crate::ffi::RootDir;
use crate::manifest::{read_manifest, Entry, ManifestError, DIGEST_LEN};
use crate::paths::{display_join, resolve};
use crate::report::{os_reason, Error, Failure, Match, Reason, Report};

/// The manifest looked for when the caller names none.
pub const DEFAULT_MANIFEST: &str = "sha1sum.txt";

/// Size of each worker's read buffer: large enough that per-read overhead vanishes on
/// big files, small enough to stay in L2 while it is hashed.
const READ_BUFFER_LEN: usize = 256 * 1024;

/// Most files and bytes in one batch of work sent to a hashing worker.
const BATCH_FILES: usize = 64;
const BATCH_BYTES: u64 = 1024 * 1024;

/// How many files a worker sizes per grab in phase 2: amortises the shared counter.
const SIZE_BATCH: usize = 256;

/// What a caller may choose.
#[derive(Debug, Clone)]
pub struct Options {
    /// The manifest's path, relative to the root unless absolute.
    pub manifest: PathBuf,
    /// Worker threads (files read at once); `None` for one per available core. Use 1 on
    /// a spinning disk, where parallel readers make the head seek back and forth.
    pub jobs: Option<NonZeroUsize>,
    /// GNU's `--ignore-missing`: a missing file is skipped, not a failure. A check that
    /// verified nothing at all still fails.
    pub ignore_missing: bool,
    /// Also list every matching entry in `Report::matches`, for output that shows each
    /// file (`name: OK`). Off by default: a million-line manifest would keep a million
    /// paths.
    pub list_matches: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            manifest: PathBuf::from(DEFAULT_MANIFEST),
            jobs: None,
            ignore_missing: false,
            list_matches: false,
        }
    }
}

/// Shared between a running check and whoever watches it: progress counters and the
/// cancel flag. Every field is an atomic so another thread may read or set it at any
/// time without locking the workers.
#[derive(Debug, Default)]
pub struct Control {
    /// Set to stop: workers look at it between files and between reads.
    cancel: AtomicBool,
    /// Files (after grouping duplicate names) whose outcome is known.
    files_done: AtomicU64,
    /// Files to check; known once the manifest is read.
    files_total: AtomicU64,
    /// Bytes hashed so far.
    bytes_done: AtomicU64,
    /// Bytes of all regular files listed; known once phase 2 is over.
    bytes_total: AtomicU64,
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

/// Checks `root` against its manifest with default options.
pub fn check(root: &Path, options: &Options) -> Result<Report, Error> {
    check_with(root, options, &Control::default())
}

/// Checks `root` against its manifest, reporting progress to and obeying `control`.
///
/// `Ok` holds the per-file report (which may list failures); `Err` is a problem with
/// the root or the manifest, or a cancellation.
pub fn check_with(root: &Path, options: &Options, control: &Control) -> Result<Report, Error> {
    let root_bytes = root.as_os_str().as_bytes();
    let root_error = |error| Error::Root {
        root: root_bytes.to_vec(),
        error,
    };
    let root_dir = RootDir::open(root).map_err(root_error)?;

    let manifest_path = root.join(&options.manifest);
    let manifest_error = |error| Error::Manifest {
        path: manifest_path.as_os_str().as_bytes().to_vec(),
        error,
    };
    let manifest =
        open_manifest(&manifest_path).map_err(|error| manifest_error(ManifestError::Io(error)))?;
    let entries = read_manifest(manifest).map_err(manifest_error)?;

    let plan = Plan::new(&entries);
    control
        .files_total
        .store(plan.files.len() as u64, Ordering::Relaxed);
    let jobs = options
        .jobs
        .or_else(|| thread::available_parallelism().ok())
        .map_or(1, NonZeroUsize::get)
        .clamp(1, plan.files.len().max(1));

    let mut outcomes = size_files(&root_dir, &entries, &plan, jobs, options, control);
    if control.is_cancelled() {
        return Err(Error::Cancelled);
    }
    hash_files(&root_dir, &entries, &plan, jobs, &mut outcomes, control);
    if control.is_cancelled() {
        return Err(Error::Cancelled);
    }

    let report = plan.report(root_bytes, &entries, &outcomes, options.list_matches);
    if options.ignore_missing && report.is_ok() && report.matched == 0 {
        return Err(Error::NothingVerified {
            path: manifest_path.as_os_str().as_bytes().to_vec(),
        });
    }
    Ok(report)
}

/// Marks an entry whose name is outside the root in `Plan::entry_file`.
const OUTSIDE: u32 = u32::MAX;

/// Which file each entry names, and the distinct files to hash.
struct Plan {
    /// For each entry, the index into `files`, or `OUTSIDE`. A plain `u32` rather than
    /// an `Option`: half the memory on a million-line manifest.
    entry_file: Vec<u32>,
    /// For each distinct file, the index of the first entry naming it, in manifest order.
    files: Vec<u32>,
}

impl Plan {
    /// Groups entries naming the same file (after resolving `.`, `..` and repeated
    /// slashes), keeping files in manifest order.
    ///
    /// Grouping sorts 64-bit hashes of the names rather than probing a hash map: on a
    /// million entries, a map's random probes miss the cache on every insert, while
    /// sorting (hash, index) pairs streams through memory; it also needs 16 bytes per
    /// entry instead of a map's 40. The hasher is std's randomly keyed SipHash, so a
    /// hostile manifest cannot aim for collisions; equal hashes are still confirmed by
    /// comparing the names.
    fn new(entries: &[Entry]) -> Plan {
        let hasher = RandomState::new();
        let mut keyed: Vec<(u64, u32)> = entries
            .iter()
            .enumerate()
            .filter_map(|(i, entry)| {
                let name = resolve(&entry.name).ok()?;
                Some((hasher.hash_one(&*name), i as u32))
            })
            .collect();
        keyed.sort_unstable();

        // `first[i]`: the first entry naming the same file as entry `i` (itself when it
        // is the first), or OUTSIDE. Runs of equal hashes are tiny, almost always one.
        let mut first = vec![OUTSIDE; entries.len()];
        for run in keyed.chunk_by(|a, b| a.0 == b.0) {
            for (position, &(_, i)) in run.iter().enumerate() {
                let name = resolve(&entries[i as usize].name).ok();
                let earlier = run[..position]
                    .iter()
                    .map(|&(_, j)| j)
                    .find(|&j| resolve(&entries[j as usize].name).ok() == name);
                // The run is sorted by index, so the first match is the first entry.
                first[i as usize] = earlier.map_or(i, |j| first[j as usize]);
            }
        }
        drop(keyed);

        let mut files = Vec::new();
        for i in 0..first.len() {
            let representative = first[i];
            if representative == OUTSIDE {
                continue;
            }
            first[i] = if representative == i as u32 {
                files.push(i as u32);
                files.len() as u32 - 1
            } else {
                // The first entry of the group comes earlier and already holds its file.
                first[representative as usize]
            };
        }
        Plan {
            entry_file: first,
            files,
        }
    }

    /// The name opened for file `file`, relative to the root: the resolved name, NUL
    /// terminated in `buffer` (reused, so no allocation per file). The root itself (a
    /// name like `.` or `a/..`) is `.`.
    fn c_name<'b>(&self, entries: &[Entry], file: u32, buffer: &'b mut Vec<u8>) -> &'b CStr {
        let name = &entries[self.files[file as usize] as usize].name;
        let clean = resolve(name).expect("only resolvable names are planned");
        buffer.clear();
        buffer.extend_from_slice(if clean.is_empty() { b"." } else { &clean });
        buffer.push(0);
        CStr::from_bytes_with_nul(buffer).expect("manifest names hold no NUL byte")
    }

    /// Every entry's verdict, in manifest order.
    fn report(
        &self,
        root: &[u8],
        entries: &[Entry],
        outcomes: &[Outcome],
        list_matches: bool,
    ) -> Report {
        let mut report = Report {
            entries: entries.len() as u64,
            ..Report::default()
        };
        for (entry, &file) in entries.iter().zip(&self.entry_file) {
            let outcome = (file != OUTSIDE).then(|| &outcomes[file as usize]);
            let (reason, actual) = match outcome {
                None => (Reason::OutsideRoot, None),
                Some(Outcome::Skipped) => {
                    report.skipped += 1;
                    continue;
                }
                Some(Outcome::Digest(digest)) if *digest == entry.expected => {
                    report.matched += 1;
                    if list_matches {
                        report.matches.push(Match {
                            path: display_join(root, &entry.name),
                            line: entry.line,
                        });
                    }
                    continue;
                }
                Some(Outcome::Digest(digest)) => (Reason::Mismatch, Some(*digest)),
                Some(Outcome::Failed(reason)) => (reason.clone(), None),
                Some(Outcome::Size(_)) => {
                    unreachable!("every sized file is hashed unless cancelled")
                }
            };
            report.failures.push(Failure {
                path: display_join(root, &entry.name),
                line: entry.line,
                reason,
                expected: entry.expected,
                actual,
            });
        }
        report
    }
}

/// What is known of one file.
#[derive(Debug, Clone)]
enum Outcome {
    /// A regular file of this size, not hashed yet.
    Size(u64),
    Digest([u8; DIGEST_LEN]),
    Failed(Reason),
    /// Missing, and the caller said to ignore missing files.
    Skipped,
}

/// Phase 2: `stat` every file, on `jobs` workers pulling batches off a shared counter.
fn size_files(
    root: &RootDir,
    entries: &[Entry],
    plan: &Plan,
    jobs: usize,
    options: &Options,
    control: &Control,
) -> Vec<Outcome> {
    let mut outcomes = vec![Outcome::Skipped; plan.files.len()];
    // Workers take disjoint batches of the outcome slots and fill them in place.
    let batches = Mutex::new(outcomes.chunks_mut(SIZE_BATCH).enumerate());
    thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs)
            .map(|_| {
                scope.spawn(|| {
                    let mut name = Vec::new();
                    loop {
                        let next = batches.lock().unwrap_or_else(|e| e.into_inner()).next();
                        let Some((batch, slots)) = next else {
                            return;
                        };
                        if control.is_cancelled() {
                            return;
                        }
                        for (offset, slot) in slots.iter_mut().enumerate() {
                            let file = (batch * SIZE_BATCH + offset) as u32;
                            let name = plan.c_name(entries, file, &mut name);
                            *slot = size_file(root, name, options.ignore_missing);
                        }
                    }
                })
            })
            .collect();
        // Joined one by one, not just left to the scope: the scope waits for the
        // closures, `join` also for the OS threads to be gone.
        for worker in workers {
            worker.join().expect("sizing worker panicked");
        }
    });
    let mut bytes_total = 0;
    let mut files_done = 0;
    for outcome in &outcomes {
        match outcome {
            Outcome::Size(size) => bytes_total += size,
            _ => files_done += 1,
        }
    }
    control.bytes_total.store(bytes_total, Ordering::Relaxed);
    control.files_done.fetch_add(files_done, Ordering::Relaxed);
    outcomes
}

fn size_file(root: &RootDir, name: &CStr, ignore_missing: bool) -> Outcome {
    match root.stat(name) {
        Ok(stat) if stat.is_regular => Outcome::Size(stat.len),
        Ok(_) => Outcome::Failed(Reason::NotRegularFile),
        Err(error) if error.kind() == io::ErrorKind::NotFound && ignore_missing => Outcome::Skipped,
        Err(error) => Outcome::Failed(reason_for(&error)),
    }
}

/// Phase 3: hash every regular file, largest first, on `jobs` workers.
fn hash_files(
    root: &RootDir,
    entries: &[Entry],
    plan: &Plan,
    jobs: usize,
    outcomes: &mut [Outcome],
    control: &Control,
) {
    let mut order: Vec<(u64, u32)> = outcomes
        .iter()
        .enumerate()
        .filter_map(|(file, outcome)| match outcome {
            Outcome::Size(size) => Some((*size, file as u32)),
            _ => None,
        })
        .collect();
    if order.is_empty() {
        return;
    }
    // Largest first; equal sizes keep manifest-name order (the tuple's second field).
    order.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));

    let batches = batch_ranges(&order);
    let (job_sender, job_receiver) = bounded::<Range<usize>>(jobs * 2);
    let results: Vec<Vec<(u32, Outcome)>> = thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs.min(order.len()))
            .map(|_| {
                let job_receiver = job_receiver.clone();
                let order = &order;
                scope.spawn(move || {
                    let mut buffer = vec![0u8; READ_BUFFER_LEN];
                    let mut name = Vec::new();
                    let mut hashed = Vec::new();
                    for batch in job_receiver {
                        for &(_, file) in &order[batch] {
                            if control.is_cancelled() {
                                return hashed;
                            }
                            let name = plan.c_name(entries, file, &mut name);
                            let outcome = match hash_file(root, name, &mut buffer, control) {
                                Ok(digest) => Outcome::Digest(digest),
                                Err(reason) => Outcome::Failed(reason),
                            };
                            control.files_done.fetch_add(1, Ordering::Relaxed);
                            hashed.push((file, outcome));
                        }
                    }
                    hashed
                })
            })
            .collect();
        // Only the workers may hold receivers: if they all stop early (cancel), a send
        // then fails instead of blocking forever.
        drop(job_receiver);
        for batch in batches {
            if control.is_cancelled() || job_sender.send(batch).is_err() {
                break;
            }
        }
        // Closing the job channel lets the workers leave their loop once it is empty.
        drop(job_sender);
        workers
            .into_iter()
            .map(|worker| worker.join().expect("hashing worker panicked"))
            .collect()
    });
    for (file, outcome) in results.into_iter().flatten() {
        outcomes[file as usize] = outcome;
    }
}

/// Cuts the largest-first `order` into batches, the units sent to workers: a channel
/// operation per small file would cost more than hashing it, so small files travel in
/// groups of up to `BATCH_FILES` files or `BATCH_BYTES` bytes; a large file goes alone.
fn batch_ranges(order: &[(u64, u32)]) -> Vec<Range<usize>> {
    let mut batches = Vec::new();
    let mut start = 0;
    let mut bytes = 0u64;
    for (i, &(size, _)) in order.iter().enumerate() {
        bytes += size;
        if i + 1 - start >= BATCH_FILES || bytes >= BATCH_BYTES {
            batches.push(start..i + 1);
            start = i + 1;
            bytes = 0;
        }
    }
    if start < order.len() {
        batches.push(start..order.len());
    }
    batches
}

/// Opens the manifest: like a listed file, never blocking on a FIFO, and only if it is
/// a regular file.
fn open_manifest(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    Ok(file)
}

/// The SHA-1 of the file `name` under the root.
///
/// Opened with `O_NONBLOCK` (a FIFO opens at once), then checked on the open
/// descriptor, not on the name, which could have been swapped for a FIFO or a device
/// since it was sized. Whatever is read now is hashed; a file removed in between fails
/// as missing.
fn hash_file(
    root: &RootDir,
    name: &CStr,
    buffer: &mut [u8],
    control: &Control,
) -> Result<[u8; DIGEST_LEN], Reason> {
    let file = root.open_file(name).map_err(|error| reason_for(&error))?;
    let metadata = file.metadata().map_err(|error| reason_for(&error))?;
    if !metadata.is_file() {
        return Err(Reason::NotRegularFile);
    }
    hash_contents(file, metadata.len(), buffer, control).map_err(|error| reason_for(&error))
}

/// Reads `file` to its end through `buffer`, hashing as it goes.
///
/// `len` is the size `fstat` gave for the open file. A read that comes back short of
/// the buffer exactly at that size has met the end of the file, so the extra `read`
/// that would only return 0 is skipped: one system call less per small file, where
/// system calls are most of the cost. A file that grew is still read to its new end.
fn hash_contents(
    mut file: File,
    len: u64,
    buffer: &mut [u8],
    control: &Control,
) -> io::Result<[u8; DIGEST_LEN]> {
    let mut hasher = Sha1::new();
    let mut total = 0u64;
    loop {
        if control.is_cancelled() {
            return Err(cancelled());
        }
        let read = match file.read(buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        hasher.update(&buffer[..read]);
        control.bytes_done.fetch_add(read as u64, Ordering::Relaxed);
        total += read as u64;
        if read < buffer.len() && total == len {
            break;
        }
    }
    Ok(hasher.finalize().into())
}

fn cancelled() -> io::Error {
    io::Error::new(io::ErrorKind::Interrupted, "cancelled")
}

fn reason_for(error: &io::Error) -> Reason {
    match error.raw_os_error() {
        Some(libc::ENOENT) => Reason::NoSuchFile,
        _ => Reason::ReadError(os_reason(error)),
    }
}
