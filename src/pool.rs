//! The worker pool: size and hash a list of files under a root, in parallel, with
//! bounded memory and open files. Used by the check ([`crate::verify`]) and by manifest
//! creation ([`crate::create`]), which differ only in where the names come from.
//!
//! Two phases, each on `jobs` scoped workers:
//!
//! 1. **Size.** `stat` every file. Missing files, directories and other non-regular
//!    files fail here without ever being opened; the sizes give the byte total for
//!    progress and the order of phase 2.
//! 2. **Hash.** Send batches of files, largest first, through a bounded channel.
//!    Largest first keeps one big file listed last from running alone at the end while
//!    the other cores idle. Each worker holds one file open at a time (besides its
//!    own descriptor of the root), reuses one read buffer, and writes each outcome
//!    into that file's own slot, so results are tied to the file index whatever
//!    thread finished first.
//!
//! Workers are joined before either phase returns: no thread outlives a call, so a
//! process may fork after a check, and nothing is left running at exit.

use std::ffi::CStr;
use std::fs::File;
use std::io::{self, Read};
use std::num::NonZeroUsize;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender, TryRecvError};

use crate::algorithm::{Algorithm, Digest, Hasher};
use crate::control::Control;
use crate::os::{FileStat, OpenError, RootDir};
use crate::report::Reason;
use crate::text::os_reason;

/// The read error of a file that is not the one a walk of the tree listed.
const REPLACED: &str = "replaced since the tree was listed";

/// Size of each worker's read buffer: large enough that per-read overhead vanishes on
/// big files, small enough to stay in L2 while it is hashed.
const READ_BUFFER_LEN: usize = 256 * 1024;

/// Files at least this large are hashed by two threads taking turns when a core would
/// otherwise idle (see [`hash_alternating`]); below it, starting a thread costs more
/// than the overlap gains.
const ALTERNATE_MIN_LEN: u64 = 32 * 1024 * 1024;

/// The chunk each of the two threads reads and hashes per turn: large enough that
/// handing the hash state over is rare, small enough to stay in the core's cache
/// (measured on 1 GiB: 2 and 4 MiB 0.53-0.54 s, 1 MiB 0.57 s, 16 MiB 0.81 s).
const ALTERNATE_CHUNK_LEN: usize = 4 * 1024 * 1024;

/// How long a side of [`hash_alternating`] spins for its turn before sleeping: longer
/// than hashing one chunk takes.
const TURN_SPIN: Duration = Duration::from_millis(20);

/// Most files and bytes in one batch of work sent to a hashing worker. Large enough
/// that, on a million tiny files, handing out batches (a channel operation, and a
/// wake-up of the feeding thread) costs next to nothing (64 cost 7 % of a one-worker
/// check of a million empty files).
const BATCH_FILES: usize = 1024;
const BATCH_BYTES: u64 = 1024 * 1024;

/// How many files a worker sizes per grab in phase 1: amortises the shared lock.
const SIZE_BATCH: usize = 256;

/// The files a pool works on: `count()` of them, each named relative to the root.
pub(crate) trait FileNames: Sync {
    fn count(&self) -> usize;

    /// File `file`'s name relative to the root, NUL-terminated in `buffer` (reused, so
    /// no allocation per file).
    fn c_name<'b>(&self, file: u32, buffer: &'b mut Vec<u8>) -> &'b CStr;

    /// What a walk of the tree already learned of file `file`: its size, so it is not
    /// `stat`ed again, and which file it is, so that a file replaced since (a directory
    /// of its path swapped for a symlink to another tree, say) fails instead of
    /// being hashed in its place. `None` for names from a manifest.
    fn listed(&self, _file: u32) -> Option<FileStat> {
        None
    }
}

/// One run of the pool over a list of files: where, how, and who watches.
pub(crate) struct Run<'a> {
    pub root: &'a RootDir,
    pub algorithm: Algorithm,
    /// Workers; `None` for one per available core.
    pub jobs: Option<NonZeroUsize>,
    /// A missing file is `Outcome::Skipped` rather than a failure.
    pub ignore_missing: bool,
    pub control: &'a Control,
}

impl Run<'_> {
    /// Sizes, then hashes, every file: each outcome is then a digest, a failure, or
    /// (missing, when ignored) skipped. `None` when cancelled.
    pub(crate) fn size_and_hash(&self, files: &impl FileNames) -> Option<Vec<Outcome>> {
        let cores = thread::available_parallelism().map_or(1, NonZeroUsize::get);
        self.control
            .files_total
            .store(files.count() as u64, Ordering::Relaxed);
        // Never more workers than files, and at least one.
        let jobs = self
            .jobs
            .map_or(cores, NonZeroUsize::get)
            .clamp(1, files.count().max(1));
        // Cores left idle by too few files are lent to the largest ones; not when the
        // caller chose `jobs` (1 is for a spinning disk, which wants one reader).
        let spare_cores = match self.jobs {
            None => cores.saturating_sub(jobs),
            Some(_) => 0,
        };
        let mut outcomes = size_files(self.root, files, jobs, self.ignore_missing, self.control);
        if !self.control.is_cancelled() {
            let workers = Workers {
                jobs,
                spare_cores: AtomicUsize::new(spare_cores),
            };
            hash_files(
                self.root,
                files,
                self.algorithm,
                &workers,
                &mut outcomes,
                self.control,
            );
        }
        (!self.control.is_cancelled()).then_some(outcomes)
    }
}

/// The hashing workers, and the spare cores they may borrow for large files.
struct Workers {
    jobs: usize,
    /// Cores no worker uses, each lendable to one large file at a time.
    spare_cores: AtomicUsize,
}

impl Workers {
    /// Takes a spare core if one is free.
    fn borrow_core(&self) -> bool {
        self.spare_cores
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok()
    }

    fn return_core(&self) {
        self.spare_cores.fetch_add(1, Ordering::AcqRel);
    }
}

/// What is known of one file.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// A regular file of this size, not hashed yet.
    Size(u64),
    Digest(Digest),
    Failed(Reason),
    /// Missing, and the caller said to ignore missing files.
    Skipped,
}

/// Phase 1: `stat` every file, on `jobs` workers taking batches of slots to fill.
fn size_files(
    root: &RootDir,
    files: &impl FileNames,
    jobs: usize,
    ignore_missing: bool,
    control: &Control,
) -> Vec<Outcome> {
    let mut outcomes = vec![Outcome::Skipped; files.count()];
    // Workers take disjoint batches of the outcome slots and fill them in place.
    let batches = Mutex::new(outcomes.chunks_mut(SIZE_BATCH).enumerate());
    thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs)
            .map(|_| {
                scope.spawn(|| {
                    let own_root = root.for_worker();
                    let root = own_root.as_ref().unwrap_or(root);
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
                            *slot = match files.listed(file) {
                                Some(stat) => Outcome::Size(stat.len),
                                None => {
                                    size_file(root, files.c_name(file, &mut name), ignore_missing)
                                }
                            };
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

/// A file to hash: its size (the sort key), its index, and its outcome slot.
type Job<'a> = (u64, u32, &'a mut Outcome);

/// Phase 2: hash every file phase 1 sized, largest first, on `jobs` workers; each
/// `Outcome::Size` becomes a digest or a failure.
fn hash_files(
    root: &RootDir,
    files: &impl FileNames,
    algorithm: Algorithm,
    workers: &Workers,
    outcomes: &mut [Outcome],
    control: &Control,
) {
    let jobs = workers.jobs;
    let mut order: Vec<Job> = outcomes
        .iter_mut()
        .enumerate()
        .filter_map(|(file, outcome)| match *outcome {
            Outcome::Size(size) => Some((size, file as u32, outcome)),
            _ => None,
        })
        .collect();
    if order.is_empty() {
        return;
    }
    // Largest first; equal sizes keep file order.
    order.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let batch_lens = batch_lens(&order);

    let (job_sender, job_receiver) = bounded::<&mut [Job]>(jobs * 2);
    thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs.min(order.len()))
            .map(|_| {
                let job_receiver = job_receiver.clone();
                scope.spawn(move || {
                    let own_root = root.for_worker();
                    let root = own_root.as_ref().unwrap_or(root);
                    let mut buffer = vec![0u8; READ_BUFFER_LEN];
                    let mut name = Vec::new();
                    for batch in job_receiver {
                        for (_, file, slot) in batch.iter_mut() {
                            if control.is_cancelled() {
                                return;
                            }
                            let listed = files.listed(*file);
                            let name = files.c_name(*file, &mut name);
                            let hashed = hash_file(
                                root,
                                name,
                                listed,
                                algorithm,
                                &mut buffer,
                                workers,
                                control,
                            );
                            **slot = match hashed {
                                Ok(digest) => Outcome::Digest(digest),
                                Err(reason) => Outcome::Failed(reason),
                            };
                            control.files_done.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        // Only the workers may hold receivers: if they all stop early (cancel), a send
        // then fails instead of blocking forever.
        drop(job_receiver);
        let mut rest: &mut [Job] = &mut order;
        for len in batch_lens {
            let (batch, tail) = std::mem::take(&mut rest).split_at_mut(len);
            rest = tail;
            if control.is_cancelled() || job_sender.send(batch).is_err() {
                break;
            }
        }
        // Closing the job channel lets the workers leave their loop once it is empty.
        drop(job_sender);
        for worker in workers {
            worker.join().expect("hashing worker panicked");
        }
    });
}

/// Cuts the largest-first `order` into batches, the units sent to workers: a channel
/// operation per small file would cost more than hashing it, so small files travel in
/// groups of up to `BATCH_FILES` files or `BATCH_BYTES` bytes; a large file goes alone.
fn batch_lens(order: &[Job]) -> Vec<usize> {
    let mut lens = Vec::new();
    let mut len = 0;
    let mut bytes = 0u64;
    for &(size, _, _) in order {
        len += 1;
        bytes += size;
        if len >= BATCH_FILES || bytes >= BATCH_BYTES {
            lens.push(len);
            len = 0;
            bytes = 0;
        }
    }
    if len > 0 {
        lens.push(len);
    }
    lens
}

/// The digest of the file `name` under the root. Whatever is read now is hashed; a
/// file removed since it was sized fails as missing, and one that is not the `listed`
/// file any more fails as replaced.
fn hash_file(
    root: &RootDir,
    name: &CStr,
    listed: Option<FileStat>,
    algorithm: Algorithm,
    buffer: &mut [u8],
    workers: &Workers,
    control: &Control,
) -> Result<Digest, Reason> {
    let (file, stat) = root.open_regular(name).map_err(|error| match error {
        OpenError::Io(error) => reason_for(&error),
        OpenError::NotRegular => Reason::NotRegularFile,
    })?;
    if listed.is_some_and(|listed| (listed.dev, listed.ino) != (stat.dev, stat.ino)) {
        return Err(Reason::ReadError(REPLACED.into()));
    }
    let len = stat.len;
    let hashed = if len >= ALTERNATE_MIN_LEN && workers.borrow_core() {
        let hashed = hash_alternating(&file, algorithm, control);
        workers.return_core();
        hashed
    } else {
        hash_contents(file, len, algorithm, buffer, control)
    };
    hashed.map_err(|error| reason_for(&error))
}

/// Hashes a large file on two threads taking turns, for when a core would otherwise
/// idle (one large file left, or fewer files than cores).
///
/// SHA of one file is sequential, but reading it is not: while one thread hashes its
/// chunk, the other reads the next one into its own buffer; then the hash state (a few
/// hundred bytes) is handed over, never the data, which stays in the cache of the core
/// that read it. Measured on 1 GiB in the page cache: 0.53 s, against 0.61 s reading
/// and hashing on one thread, and 0.61-0.91 s for a reader thread feeding a hashing
/// thread (the hashing core then reads every chunk out of the other core's cache).
fn hash_alternating(file: &File, algorithm: Algorithm, control: &Control) -> io::Result<Digest> {
    let (to_helper, helper_turns) = bounded::<Hasher>(1);
    let (to_worker, worker_turns) = bounded::<Hasher>(1);
    to_worker
        .send(algorithm.hasher())
        .expect("the receiver is alive");
    thread::scope(|scope| {
        let helper = scope.spawn(move || take_turns(file, 1, &helper_turns, &to_worker, control));
        let mine = take_turns(file, 0, &worker_turns, &to_helper, control);
        // Whichever side stops first drops its sender, which stops the other.
        drop(to_helper);
        drop(worker_turns);
        let theirs = helper.join().expect("hashing helper panicked");
        match (mine, theirs) {
            (Err(error), _) | (_, Err(error)) => Err(error),
            (Ok(Some(digest)), _) | (_, Ok(Some(digest))) => Ok(digest),
            (Ok(None), Ok(None)) => unreachable!("one side hashes the last chunk"),
        }
    })
}

/// One side of [`hash_alternating`]: reads chunks `first`, `first + 2`, ... and hashes
/// each with the state received from the other side. `Ok(None)` when the other side
/// finished (or failed) first; the side that reads a short chunk (the end of the file)
/// returns the digest. Errors are reported by the side holding the state, so in file
/// order.
fn take_turns(
    file: &File,
    first: u64,
    turns: &Receiver<Hasher>,
    next: &Sender<Hasher>,
    control: &Control,
) -> io::Result<Option<Digest>> {
    let mut buffer = vec![0u8; ALTERNATE_CHUNK_LEN];
    let mut offset = first * ALTERNATE_CHUNK_LEN as u64;
    loop {
        let filled = read_chunk(file, &mut buffer, offset);
        let Some(mut hasher) = wait_for_turn(turns) else {
            return Ok(None);
        };
        if control.is_cancelled() {
            return Err(cancelled());
        }
        let filled = filled?;
        hasher.update(&buffer[..filled]);
        control
            .bytes_done
            .fetch_add(filled as u64, Ordering::Relaxed);
        if filled < buffer.len() {
            return Ok(Some(hasher.finalize()));
        }
        if next.send(hasher).is_err() {
            return Ok(None);
        }
        offset += 2 * ALTERNATE_CHUNK_LEN as u64;
    }
}

/// The hash state from the other side, or `None` once it has stopped.
///
/// Spins before sleeping: the other side hands over within the time it takes to hash
/// a chunk (a few milliseconds), this side runs on a core that would otherwise idle,
/// and waking a sleeping thread takes tens of microseconds on the critical path, once
/// per chunk (measured: 1 GiB in 0.54-0.56 s sleeping at once, 0.51-0.53 s spinning first).
fn wait_for_turn(turns: &Receiver<Hasher>) -> Option<Hasher> {
    let spin_until = Instant::now() + TURN_SPIN;
    loop {
        match turns.try_recv() {
            Ok(hasher) => return Some(hasher),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) if Instant::now() < spin_until => std::hint::spin_loop(),
            Err(TryRecvError::Empty) => return turns.recv().ok(),
        }
    }
}

/// Fills `buffer` from `offset`, short only at the end of the file.
fn read_chunk(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read_at(&mut buffer[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

fn cancelled() -> io::Error {
    io::Error::new(io::ErrorKind::Interrupted, "cancelled")
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
    algorithm: Algorithm,
    buffer: &mut [u8],
    control: &Control,
) -> io::Result<Digest> {
    let mut hasher = algorithm.hasher();
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
    Ok(hasher.finalize())
}

/// The failure reason for an I/O error on a listed file.
pub(crate) fn reason_for(error: &io::Error) -> Reason {
    match error.raw_os_error() {
        Some(libc::ENOENT) => Reason::NoSuchFile,
        _ => Reason::ReadError(os_reason(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of `len` bytes of varied content in the temp directory, removed on drop.
    struct TempFile(std::path::PathBuf);

    impl TempFile {
        fn new(len: usize) -> (TempFile, Vec<u8>) {
            let contents: Vec<u8> = (0..len).map(|i| (i * 31 + i / 997) as u8).collect();
            let path =
                std::env::temp_dir().join(format!("checksig-pool-{}-{len}", std::process::id()));
            std::fs::write(&path, &contents).unwrap();
            (TempFile(path), contents)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn alternating_threads_hash_like_one_thread() {
        let chunk = ALTERNATE_CHUNK_LEN;
        for len in [0, 1, chunk - 1, chunk, chunk + 1, 2 * chunk, 3 * chunk + 5] {
            let (file, contents) = TempFile::new(len);
            let opened = File::open(&file.0).unwrap();
            for algorithm in Algorithm::ALL {
                let control = Control::default();
                let digest = hash_alternating(&opened, algorithm, &control).unwrap();
                let mut expected = algorithm.hasher();
                expected.update(&contents);
                assert_eq!(digest, expected.finalize(), "{algorithm} {len}");
                assert_eq!(control.progress().bytes_done, len as u64);
            }
        }
    }

    #[test]
    fn alternating_threads_stop_when_cancelled() {
        let (file, _) = TempFile::new(3 * ALTERNATE_CHUNK_LEN);
        let control = Control::default();
        control.cancel();
        let result = hash_alternating(&File::open(&file.0).unwrap(), Algorithm::Sha1, &control);
        assert_eq!(result.unwrap_err().kind(), io::ErrorKind::Interrupted);
    }
}
