//! The worker pool: open, size and hash a list of files under a root, with many reads in
//! flight, bounded memory and open files. Used by the check ([`crate::verify`]) and by
//! manifest creation ([`crate::create`]), which differ only in where the names come
//! from.
//!
//! One pass over the files, on scoped reader threads (one per core, more when reads
//! wait for the storage: see `Readers`):
//!
//! - **Small files** (under [`DEFER_MIN_LEN`]) are opened, `fstat`ed, read and hashed
//!   at once by the thread that claimed them, in batches taken from both ends of the
//!   list (one reader, or a stream of outcomes: in list order). Each name is looked up
//!   once (no separate `stat` pass: on a million tiny files the second path walk was a
//!   sixth of the time).
//! - **Large files** are only opened and sized on that pass, then put on a shared
//!   heap and hashed largest first: between batches while a core is left for the small
//!   files, so that a big file runs beside them rather than alone after them, then by
//!   whichever thread is free. When no small file is left to start and a core is free,
//!   or at once when it is not in the page cache, a large file is hashed by more than
//!   one thread: two taking turns ([`hash_alternating`]), or, for BLAKE3, its share of
//!   the cores, each hashing its own subtrees ([`crate::tree`]). One begun on a single
//!   thread is handed over to two when a core comes free ([`hash_contents`]). One not
//!   in the page cache is read around it, into buffers backed by huge pages, up to 8
//!   pieces in flight on threads of its own ([`hash_direct`]; BLAKE3: up to 8
//!   threads, each reading and hashing its subtrees). Large files read
//!   through the page cache are read with the kernel asked to read ahead
//!   ([`ReadAhead`]).
//!
//! Why many threads, more than cores: on storage that is not in the page cache, a
//! thread waiting for its read sleeps in the kernel, not on a core, and SSDs and NVMe
//! drives need many reads outstanding to reach their speed (measured in the README's
//! cold rows: 50,000 files of 4 KiB, 1.83 s with 2 threads, 0.73 s with 32). Each
//! thread hashes what it read, on the core that read it (handing buffers to hashing
//! threads was measured slower: the hashing core then reads every byte out of another
//! core's cache). `io_uring` would keep the reads in flight with fewer threads; threads
//! were chosen because they reach the storage's limit here with no unsafe code and no
//! kernel or seccomp dependence, and `io_uring` measured no better. A prototype with
//! 4 to 128 reads of each cold file in flight, hashed in order, took 0.71-1.82 s on
//! 2 x 512 MiB through the page cache and 0.90-1.27 s around it (`O_DIRECT`), against
//! this pool's 0.80-1.21 s in the same series; the same reads around the page cache
//! on 16 threads of a file's own took 1.032 s, io_uring's 16 in flight 1.271 s, in
//! one series. Those reads went into buffers of small pages, which the disk here
//! serves three times slower than huge pages ([`crate::os::AlignedBuffer`]); into huge
//! pages, the pool's threads take 0.49-0.51 s (see the README and [`hash_direct`]).
//!
//! Each thread holds at most one file open (besides its own descriptor of the root),
//! reuses one read buffer, and sends each outcome tagged with its file's index to the
//! calling thread, so results are tied to the file whatever thread finished first. Threads are
//! joined before the pass returns: no thread outlives a call, so a process may fork
//! after a check, and nothing is left running at exit.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::ffi::CStr;
use std::fs::File;
use std::io::{self, Read};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender, TryRecvError};

use crate::algorithm::{Algorithm, Digests, Hashers};
use crate::control::Control;
use crate::os::{
    fill_at, try_zeroed_buffer, AlignedBuffer, FileStat, OpenError, ReadAhead, RootDir,
};
use crate::report::Reason;
use crate::text::os_reason;
use crate::tree::Reads;

/// The read error of a file that is not the one a walk of the tree listed.
const REPLACED: &str = "replaced since the tree was listed";

/// Size of each thread's read buffer: large enough that per-read overhead vanishes on
/// big files, small enough to stay in the core's cache between the kernel's copy into
/// it and the hash reading it (measured, 2 x 512 MiB in the page cache, SHA-1: 64 and
/// 128 KiB 0.34 s, 256 KiB 0.39 s).
const READ_BUFFER_LEN: usize = 128 * 1024;

/// A reader's buffer where [`READ_BUFFER_LEN`] cannot be had: on its stack.
const STACK_BUFFER_LEN: usize = 16 * 1024;

/// Files at least this large are not hashed by the thread that opened them but put on
/// the heap of large files (see the module's doc). Small enough that a batch of small
/// files is at most a fraction of a second of hashing, however it falls.
pub(crate) const DEFER_MIN_LEN: u64 = 1024 * 1024;

/// Files at least this large are hashed by more than one thread when a core would
/// otherwise idle (see [`Shared::hash`]); below it, starting a thread costs more than
/// the overlap gains.
const ALTERNATE_MIN_LEN: u64 = 32 * 1024 * 1024;

/// The chunk each of the two threads reads and hashes per turn: large enough that
/// handing the hash state over is rare, small enough to stay in the core's cache
/// (measured on 1 GiB: 2 and 4 MiB 0.53-0.54 s, 1 MiB 0.57 s, 16 MiB 0.81 s).
const ALTERNATE_CHUNK_LEN: usize = 4 * 1024 * 1024;

/// How long a side of [`hash_alternating`] spins for its turn before sleeping, at most
/// (at first; then about as long as hashing its last chunk took): longer than hashing
/// one chunk takes.
const TURN_SPIN: Duration = Duration::from_millis(20);

/// How often (in bytes hashed) a large file hashed on one thread asks whether a core
/// has come free to help ([`hash_contents`]): an atomic load or three, every few
/// milliseconds.
const HAND_OVER_CHECK: u64 = 8 * 1024 * 1024;

/// Less than this left of a file, a second thread is not worth starting.
const HAND_OVER_MIN_REST: u64 = 2 * ALTERNATE_CHUNK_LEN as u64;

/// The pieces a large file not in the page cache is read in, around the page cache
/// ([`hash_direct`]): each is one read, into a buffer of one huge page (a smaller
/// piece could not have a huge page of its own), so this is also the unit of memory
/// per read in flight.
const DIRECT_PIECE_LEN: usize = crate::os::HUGE_PAGE_LEN;

/// Reads in flight on one large file read around the page cache, at most: 16 MiB.
/// Measured on 2 x 512 MiB evicted, medians of 6 interleaved runs: 8 0.510 s (peak
/// RSS 46 MiB), 10 0.495 s, 12 0.490 s (62 MiB), 16 0.485 s (78 MiB): more buys
/// little and costs the memory bound.
const DIRECT_READS_PER_FILE: usize = 8;

/// The address space a read in flight around the page cache may map: its reader
/// thread ([`THREAD_MAPS`]) and its piece.
const DIRECT_READ_COST: u64 = THREAD_MAPS + DIRECT_PIECE_LEN as u64;

/// Reads in flight around the page cache across a run, at most (each holds a
/// [`DIRECT_PIECE_LEN`] buffer and a thread): bounds the memory whatever the cores.
const DIRECT_READS_BUDGET: usize = 2 * DIRECT_READS_PER_FILE;

/// Bytes read from the start of a large file to learn whether it is in the page cache
/// (see [`Shared::hash`]): one page.
const COLD_PROBE_LEN: usize = 4096;

/// Most files a thread claims at once: large enough that claiming (one lock) costs
/// nothing next to the files, on a million tiny files.
const BATCH_FILES: usize = 256;

/// Reads in flight by default once reads wait for the storage (see `Readers`): enough
/// for the storage measured here to come near its limit on small cold files, and what
/// NVMe drives need to reach their rated speed. Measured on 50,000 files of 4 KiB
/// evicted from the page cache: 16 readers 1.07 s, 32 0.84 s, 64 0.81 s, 128 0.71 s,
/// against plain reads by 128 threads 0.74 s; since readers start only when reads
/// wait, 64 against 128 by default, interleaved: 0.789 and 0.774 s, and 20,000 x
/// 16 KiB with 1 GiB 1.323 and 1.302 s. (Read-ahead of 64 or 128 MiB instead of
/// 32 on large cold files: no better, 2 x 512 MiB 0.898 and 0.960 s against 0.884.)
pub const DEFAULT_READERS: usize = 128;

/// A read that takes longer than this, plus its bytes at [`CACHED_READ_BYTES_PER_US`],
/// waited for the storage: a read from the page cache takes a few microseconds
/// (measured here: 1-2 µs for 4 KiB, 10-20 µs for 128 KiB), one from an NVMe drive
/// 50-100 µs and more, from a network file system a millisecond.
const SLOW_READ: Duration = Duration::from_micros(40);

/// Bytes a read from the page cache copies per microsecond, at the least.
const CACHED_READ_BYTES_PER_US: u128 = 4 * 1024;

/// Files a reader opens and reads before it judges the storage (see [`ReadWatch`]).
const WATCH_WINDOW: u32 = 16;

/// Descriptors left to the host process when the open-file limit bounds the readers.
const RESERVED_DESCRIPTORS: u64 = 32;

/// Address space a run leaves unspent under a limit on it (`RLIMIT_AS`, `ulimit -v`;
/// [`affordable`]): for what cannot fail gracefully. Every thread allocates as it
/// starts (its thread-local data; C's allocator maps an arena of 64 MiB for it when it
/// can), and where that fails the C library ends the process ("cannot allocate memory
/// for thread-local data"), which no caller can catch.
const ADDRESS_SPACE_RESERVE: u64 = 96 * 1024 * 1024;

/// The address space a thread of ours may map before any buffer: its stack (Rust's
/// default for a spawned thread, 2 MiB) and the C allocator's arena for it (64 MiB,
/// glibc's size on 64-bit systems; it maps one per thread up to 8 per core, so not
/// every thread does, but when they do is not ours to know).
const THREAD_MAPS: u64 = (2 + 64) * 1024 * 1024;

/// The address space a reader thread may map: [`THREAD_MAPS`] and a read buffer.
const THREAD_COST: u64 = THREAD_MAPS + READ_BUFFER_LEN as u64;

/// How many of `wanted` more threads or buffers, each mapping `cost` bytes, the run
/// may start: all of them without a limit on the address space; under one, as many
/// as fit in half of what is left beyond [`ADDRESS_SPACE_RESERVE`] (the other half
/// for a large file deciding at the same moment), which may be none. Asked when more
/// threads are wanted, not once per run: what is left moves with the C allocator's
/// arenas, which are mapped as threads first allocate.
///
/// Why: each extra thread and buffer is fallible on its own (a failed one means the
/// file is read another way, on fewer threads), but a thread that starts with too
/// little left ends the whole process. Measured, the CLI on six files of 33-100 MiB
/// evicted, `ulimit -v` swept from 28 to 240 MiB in 6 MiB steps: before, the process
/// was ended at 64, 148 and 196 MiB (BLAKE3) and 76 and 82 MiB (SHA-1 and BLAKE3),
/// and at 301 MiB in a finer sweep; with this, not once in 273 runs from 40 to 400
/// MiB, nor in 101 on 5,000 small files and 2 x 64 MiB up to 640 MiB.
fn affordable(wanted: usize, cost: u64) -> usize {
    match crate::os::address_space_left() {
        None => wanted,
        Some(left) => {
            let spare = left.saturating_sub(ADDRESS_SPACE_RESERVE) / 2;
            wanted.min(usize::try_from(spare / cost).unwrap_or(usize::MAX))
        }
    }
}

/// The files a pool works on: `count()` of them, each named relative to the root.
pub(crate) trait FileNames: Sync {
    fn count(&self) -> usize;

    /// File `file`'s name relative to the root, NUL-terminated in `buffer` (reused, so
    /// no allocation per file).
    fn c_name<'b>(&self, file: u32, buffer: &'b mut Vec<u8>) -> &'b CStr;

    /// The algorithms to hash file `file` with (one, unless tagged manifest lines name
    /// it under several), in the order its digests are wanted.
    fn algorithms(&self, file: u32) -> &[Algorithm];

    /// What a walk of the tree learned of file `file`: which file it is, so that a
    /// file replaced since (a directory of its path swapped for a symlink to another
    /// tree, say) fails instead of being hashed in its place. `None` for names from a
    /// manifest.
    fn listed(&self, _file: u32) -> Option<FileStat> {
        None
    }
}

/// One run of the pool over a list of files: where, how, and who watches.
pub(crate) struct Run<'a> {
    pub root: &'a RootDir,
    /// Cores to use; `None` for every available one. `Some` also turns off lending more
    /// threads to one large file (1 is for a spinning disk: one reader).
    pub jobs: Option<NonZeroUsize>,
    /// Files read at once; `None` for the default: `DEFAULT_READERS`, or `jobs` when
    /// the caller chose that.
    pub readers: Option<NonZeroUsize>,
    /// A missing file is `Outcome::Skipped` rather than a failure.
    pub ignore_missing: bool,
    /// Claim the files in list order, whatever the readers (for outcomes consumed as
    /// they come); else many readers claim from both ends (see `batch_of_claim`).
    pub list_order: bool,
    pub control: &'a Control,
}

/// What became of one file.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// The file's digests, in the order of its `FileNames::algorithms`.
    Digests(Digests),
    Failed(Reason),
    /// Missing, and the caller said to ignore missing files.
    Skipped,
}

impl Run<'_> {
    /// Opens, sizes and hashes every file, calling `on_decided` on the calling thread
    /// with each file's outcome (a digest, a failure, or, missing when ignored,
    /// skipped) as soon as it is known, in no particular order. False when cancelled.
    pub(crate) fn hash_all(
        &self,
        files: &impl FileNames,
        mut on_decided: impl FnMut(u32, Outcome),
    ) -> bool {
        let count = files.count();
        self.control
            .files_total
            .store(count as u64, Ordering::Relaxed);
        if count > 0 {
            // Read once: the standard library reads the cgroup's CPU quota for it.
            let cores = thread::available_parallelism().map_or(1, NonZeroUsize::get);
            let Readers { first, most } = self.reader_count(count, cores);
            // Under a limit on the address space, the readers beyond the first only
            // where they fit ([`affordable`]), a number the caller chose as well.
            let first = 1 + affordable(first - 1, THREAD_COST);
            // One reader (a spinning disk) reads for long: a `stat` pass first gives
            // progress its byte total from the start, at the price of a second lookup
            // of each name. Many readers count sizes as they open the files.
            let sized = most == 1 && self.size_all(files);
            // Batches small enough that every reader gets several.
            let batch = (count / (most * 4)).clamp(1, BATCH_FILES);
            let defer = most > 1;
            let (sender, receiver) = bounded::<Message>(most * 2);
            let shared = Shared {
                run: self,
                files,
                count,
                next_batch: AtomicUsize::new(0),
                batch,
                batches: count.div_ceil(batch),
                both_ends: defer && !self.list_order,
                large: Mutex::new(BinaryHeap::new()),
                large_added: Condvar::new(),
                claiming: AtomicUsize::new(first),
                cores,
                hashing_large: AtomicUsize::new(0),
                may_grow: first < most,
                grown: AtomicBool::new(false),
                // Not bounded by the files, as the readers are: one file takes many.
                direct_reads_left: AtomicUsize::new(
                    self.readers
                        .map_or(DIRECT_READS_BUDGET, |readers| readers.get())
                        .min(DIRECT_READS_BUDGET),
                ),
            };
            thread::scope(|scope| {
                // A reader that cannot be had (a process or address-space limit) is no
                // longer counted as claiming, else the others would wait for the large
                // files it might add, and the run would never end: the others read its
                // share. (Its sender is dropped with the closure.)
                let spawn = |sender: Sender<Message>, own_root: bool| {
                    let shared = &shared;
                    let reader =
                        move || shared.reader(defer, !sized, own_root, &Deliver::Channel(sender));
                    let spawned = thread::Builder::new().spawn_scoped(scope, reader);
                    if spawned.is_err() {
                        shared.claiming.fetch_sub(1, Ordering::AcqRel);
                        shared.large_added.notify_all();
                    }
                    spawned
                };
                // A root descriptor of its own for one reader per core (see `reader`).
                let mut threads: Vec<_> = (0..first)
                    .filter_map(|reader| spawn(sender.clone(), reader < cores).ok())
                    .collect();
                if threads.is_empty() {
                    // Not one reader thread could be started (a process limit, or an
                    // address-space limit that left no room for a stack): this thread
                    // reads, alone. Slower, but every file is decided.
                    shared.claiming.fetch_add(1, Ordering::AcqRel);
                    let inline = Deliver::Inline(RefCell::new(&mut on_decided));
                    shared.reader(defer, !sized, true, &inline);
                    return;
                }
                #[cfg(test)]
                tests::STARTED_READERS.with(|started| started.set(started.get() + first));
                // Only the readers hold senders: the loop ends when they all have.
                drop(sender);
                for message in receiver {
                    match message {
                        Message::Decided(decided) => {
                            for (file, outcome) in decided {
                                on_decided(file, outcome);
                            }
                        }
                        Message::Grow(sender) => {
                            let more = affordable(most - threads.len(), THREAD_COST);
                            // Counted as claiming before they start, so that no reader
                            // stops waiting for large files they may add. If every
                            // batch is claimed already, they find none and stop.
                            shared.claiming.fetch_add(more, Ordering::AcqRel);
                            threads.extend(
                                (0..more).filter_map(|_| spawn(sender.clone(), false).ok()),
                            );
                            #[cfg(test)]
                            tests::STARTED_READERS
                                .with(|started| started.set(started.get() + more));
                        }
                    }
                }
                // Joined one by one, not just left to the scope: the scope waits for
                // the closures, `join` also for the OS threads to be gone.
                for thread in threads {
                    thread.join().expect("reader panicked");
                }
            });
        }
        !self.control.is_cancelled()
    }

    /// Adds the size of every regular file to the progress total; false when cancelled.
    fn size_all(&self, files: &impl FileNames) -> bool {
        let mut name = Vec::new();
        for file in 0..files.count() as u32 {
            if self.control.is_cancelled() {
                return false;
            }
            if let Ok(stat) = self.root.stat(files.c_name(file, &mut name)) {
                if stat.is_regular {
                    self.control
                        .bytes_total
                        .fetch_add(stat.len, Ordering::Relaxed);
                }
            }
        }
        true
    }

    /// The readers for `count` files: the caller's, else `jobs` when given (1 for a
    /// spinning disk), else the default: one per core at first, and
    /// [`DEFAULT_READERS`] once reads wait for the storage (`Readers`); never more
    /// than files, nor than the open-file limit allows (each reader holds a file and
    /// its own root descriptor).
    fn reader_count(&self, count: usize, cores: usize) -> Readers {
        let descriptors = crate::os::open_file_limit().saturating_sub(RESERVED_DESCRIPTORS);
        let allowed = usize::try_from(descriptors / 2)
            .unwrap_or(usize::MAX)
            .max(1);
        let bound = |wanted: usize| wanted.min(allowed).min(count).max(1);
        match (self.readers, self.jobs) {
            (Some(readers), _) => Readers::fixed(bound(readers.get())),
            (None, Some(jobs)) => Readers::fixed(bound(jobs.get())),
            (None, None) => Readers {
                first: bound(cores),
                most: bound(DEFAULT_READERS),
            },
        }
    }
}

/// How many readers a run starts with, and how many it may grow to.
///
/// With the data in the page cache, more readers than cores only compete for the
/// cores: each costs a thread, a buffer and its root descriptor, and a large file
/// hashed among 64 runnable readers gets a 64th of a core. On storage that makes reads
/// wait, many reads in flight are what keeps it busy. So the default starts one reader
/// per core and starts the others as soon as a reader sees most of a window of its
/// reads wait for the storage ([`ReadWatch`]); a number the caller chose is started at
/// once. Measured, medians of interleaved runs: 20,000 x 16 KiB and 1 GiB in the page
/// cache 0.96 s with 64 readers from the start, 0.77 s with this (and the large file
/// hashed beside the small ones); 50,000 x 4 KiB evicted from the page cache 0.77 s
/// and 0.78 s (the readers start after the first 16 files of a reader).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Readers {
    first: usize,
    most: usize,
}

impl Readers {
    fn fixed(readers: usize) -> Readers {
        Readers {
            first: readers,
            most: readers,
        }
    }
}

/// Where [`Shared::hash`] is called from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// A reader's batch loop: a small file, or any file of a lone reader (which reads
    /// in list order).
    Batch,
    /// The heap of large files: by a reader between its batches, or after them.
    Heap { in_batch_loop: bool },
}

/// What a reader sends the calling thread.
enum Message {
    /// Outcomes of a batch, or of one large file.
    Decided(Decided),
    /// Reads wait for the storage: start the other readers (with clones of this
    /// sender, since the calling thread holds none, so that the channel closes when
    /// the last reader stops).
    Grow(Sender<Message>),
}

/// Where a reader hands over what it decided.
enum Deliver<'a> {
    /// To the calling thread, through the run's channel: a reader on a thread of its own.
    Channel(Sender<Message>),
    /// Straight to the caller's `on_decided`: the one reader, on the calling thread,
    /// where not one reader thread could be started.
    Inline(RefCell<&'a mut dyn FnMut(u32, Outcome)>),
}

impl Deliver<'_> {
    /// Hands `outcomes` over; false when nobody takes them any more (the calling
    /// thread has stopped).
    fn decided(&self, outcomes: Decided) -> bool {
        match self {
            Deliver::Channel(sender) => sender.send(Message::Decided(outcomes)).is_ok(),
            Deliver::Inline(on_decided) => {
                let mut on_decided = on_decided.borrow_mut();
                for (file, outcome) in outcomes {
                    on_decided(file, outcome);
                }
                true
            }
        }
    }

    /// Asks for the other readers to be started ([`Message::Grow`]). A reader on the
    /// calling thread has no one to ask: no thread could be started before.
    fn grow(&self) {
        if let Deliver::Channel(sender) = self {
            // Failing to send means the calling thread is gone: the next batch's
            // hand-over fails too.
            let _ = sender.send(Message::Grow(sender.clone()));
        }
    }
}

/// A large file waiting to be hashed: its size (the heap's key: largest first, then
/// the lower index).
type LargeFile = (u64, Reverse<u32>);

/// Outcomes a reader sends at once: a batch's, or one large file's.
type Decided = Vec<(u32, Outcome)>;

/// What the readers of one run share. Every field is here because more than one
/// reader uses it.
struct Shared<'r, F> {
    run: &'r Run<'r>,
    files: &'r F,
    count: usize,
    /// Claims of batches so far (see `batch_of_claim`); batch `n` is files
    /// `n * batch ..`.
    next_batch: AtomicUsize,
    batch: usize,
    /// Batches in all.
    batches: usize,
    /// Claim batches from both ends of the list (see `batch_of_claim`).
    both_ends: bool,
    /// Large files opened and sized, waiting to be hashed.
    large: Mutex<BinaryHeap<LargeFile>>,
    /// Signalled when a large file is added or a reader stops claiming batches.
    large_added: Condvar,
    /// Readers still claiming batches: they may yet add large files.
    claiming: AtomicUsize,
    /// Cores of the machine: a large file gets more threads while fewer large files
    /// than cores are being hashed and no batch is left to claim.
    cores: usize,
    /// Large files (at least `DEFER_MIN_LEN`) being hashed now, by any path.
    hashing_large: AtomicUsize,
    /// The run started fewer readers than it may have (see `Readers`).
    may_grow: bool,
    /// Set by the reader that asked for the other readers.
    grown: AtomicBool,
    /// Reads around the page cache that may yet be put in flight (see
    /// [`DIRECT_READS_BUDGET`]).
    direct_reads_left: AtomicUsize,
}

impl<F: FileNames> Shared<'_, F> {
    /// One reader: claims batches and hashes their small files, then hashes large files
    /// largest first until none is left and no reader can add one. `defer`: put large
    /// files on the heap (false for a single reader, which reads in list order).
    /// `count_sizes`: add each file's size to the progress total as it is opened.
    /// `own_root`: open a descriptor of the root for this reader alone
    /// ([`RootDir::for_worker`]): for one reader per core, where two cores sharing one
    /// would slow each other; more would each hold a descriptor for the whole run, and
    /// checks run at once in one process could then hold every descriptor left, with
    /// none for the files themselves.
    fn reader(&self, defer: bool, count_sizes: bool, own_root: bool, decided: &Deliver) {
        let control = self.run.control;
        let own_root = own_root
            .then(|| self.run.root.for_worker())
            .and_then(Result::ok);
        let root = own_root.as_ref().unwrap_or(self.run.root);
        // Where no buffer can be had (an address-space limit), a smaller one on this
        // thread's stack, mapped already: slower reads, but every file still decided.
        // (Written only when used: 128 readers would otherwise touch 2 MiB of stack.)
        let mut on_stack;
        let mut on_heap = try_zeroed_buffer(READ_BUFFER_LEN).ok();
        let buffer: &mut [u8] = match &mut on_heap {
            Some(on_heap) => on_heap,
            None => {
                on_stack = [0u8; STACK_BUFFER_LEN];
                &mut on_stack
            }
        };
        let mut name = Vec::new();
        let mut watch = ReadWatch::default();
        loop {
            let claim = self.next_batch.fetch_add(1, Ordering::Relaxed);
            if claim >= self.batches || control.is_cancelled() {
                break;
            }
            let start = self.batch_of_claim(claim) * self.batch;
            let end = (start + self.batch).min(self.count);
            let mut outcomes = Vec::with_capacity(end - start);
            for file in start as u32..end as u32 {
                if control.is_cancelled() {
                    break;
                }
                let timed = self.may_grow.then(Instant::now);
                let outcome = match self.open(root, file, &mut name, count_sizes) {
                    Err(outcome) => outcome,
                    Ok((_, stat)) if defer && stat.len >= DEFER_MIN_LEN => {
                        self.defer(stat.len, file);
                        continue;
                    }
                    Ok((opened, stat)) => {
                        let watch = timed.map(|started| (&mut watch, started));
                        self.hash(file, opened, stat.len, buffer, Caller::Batch, watch)
                    }
                };
                outcomes.push((file, outcome));
                control.files_done.fetch_add(1, Ordering::Relaxed);
                if watch.storage_is_slow && self.should_grow() {
                    decided.grow();
                }
            }
            if !decided.decided(outcomes) {
                break;
            }
            // A large file found while small ones are left is hashed now, if a core
            // is left for the small ones: it then runs beside them, not alone after.
            if let Some(file) = self.large_file_beside_batches() {
                let outcome = self.hash_large(root, file, &mut name, buffer, true);
                if !decided.decided(vec![(file, outcome)]) {
                    break;
                }
            }
        }
        self.claiming.fetch_sub(1, Ordering::AcqRel);
        self.large_added.notify_all();
        while let Some((_, Reverse(file))) = self.next_large() {
            let outcome = self.hash_large(root, file, &mut name, buffer, false);
            if !decided.decided(vec![(file, outcome)]) {
                break;
            }
        }
    }

    /// Opens and hashes a large file taken from the heap (opened again: its size was
    /// counted when it was put there). `in_batch_loop`: by a reader between batches.
    fn hash_large(
        &self,
        root: &RootDir,
        file: u32,
        name: &mut Vec<u8>,
        buffer: &mut [u8],
        in_batch_loop: bool,
    ) -> Outcome {
        let caller = Caller::Heap { in_batch_loop };
        let outcome = match self.open(root, file, name, false) {
            Err(outcome) => outcome,
            Ok((opened, stat)) => self.hash(file, opened, stat.len, buffer, caller, None),
        };
        self.run.control.files_done.fetch_add(1, Ordering::Relaxed);
        outcome
    }

    /// The largest waiting file, if batches of small files are left and fewer large
    /// files than cores less one are being hashed: the small files keep a core.
    fn large_file_beside_batches(&self) -> Option<u32> {
        if !self.batches_left()
            || self.hashing_large.load(Ordering::Acquire) + 1 >= self.cores.max(2)
        {
            return None;
        }
        let mut large = self.large.lock().unwrap_or_else(|e| e.into_inner());
        large.pop().map(|(_, Reverse(file))| file)
    }

    /// Opens file `file` as a regular file, counting its size into the progress total
    /// (when `count`); or its outcome when it cannot be read.
    fn open(
        &self,
        root: &RootDir,
        file: u32,
        name: &mut Vec<u8>,
        count: bool,
    ) -> Result<(File, FileStat), Outcome> {
        let c_name = self.files.c_name(file, name);
        let (opened, stat) = match root.open_regular(c_name) {
            Ok(opened) => opened,
            Err(OpenError::NotRegular) => return Err(Outcome::Failed(Reason::NotRegularFile)),
            Err(OpenError::Io(error))
                if error.kind() == io::ErrorKind::NotFound && self.run.ignore_missing =>
            {
                return Err(Outcome::Skipped)
            }
            Err(OpenError::Io(error)) => return Err(Outcome::Failed(reason_for(&error))),
        };
        let listed = self.files.listed(file);
        if listed.is_some_and(|listed| (listed.dev, listed.ino) != (stat.dev, stat.ino)) {
            return Err(Outcome::Failed(Reason::ReadError(REPLACED.into())));
        }
        if count {
            self.run
                .control
                .bytes_total
                .fetch_add(stat.len, Ordering::Relaxed);
        }
        Ok((opened, stat))
    }

    /// The batch that claim number `claim` takes. Many readers take them from both
    /// ends of the list in turn (0, last, 1, last but one...), so that a large file
    /// listed last (as a data set's archive often is, after its small files) is found
    /// early, and hashed beside the small files rather than alone after them. One
    /// reader (a spinning disk's), or a run whose outcomes are consumed as they come
    /// (`Run::list_order`), takes them in list order.
    fn batch_of_claim(&self, claim: usize) -> usize {
        match (self.both_ends, claim % 2) {
            (true, 1) => self.batches - 1 - claim / 2,
            (true, _) => claim / 2,
            (false, _) => claim,
        }
    }

    /// Whether some batch is not claimed yet.
    fn batches_left(&self) -> bool {
        self.next_batch.load(Ordering::Relaxed) < self.batches
    }

    /// Whether this reader, which found the storage slow, is the one to ask for the
    /// other readers: the first, while batches are left to claim.
    fn should_grow(&self) -> bool {
        !self.grown.load(Ordering::Relaxed)
            && self.batches_left()
            && !self.grown.swap(true, Ordering::AcqRel)
    }

    /// Puts a large file on the heap (its size is counted already: it is opened again
    /// when hashed, and counted then no more).
    fn defer(&self, size: u64, file: u32) {
        let mut large = self.large.lock().unwrap_or_else(|e| e.into_inner());
        large.push((size, Reverse(file)));
        drop(large);
        self.large_added.notify_one();
    }

    /// The largest waiting file; waits while readers may still add one. `None` when
    /// none is left (or the run is cancelled).
    fn next_large(&self) -> Option<LargeFile> {
        let mut large = self.large.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if self.run.control.is_cancelled() {
                return None;
            }
            if let Some(next) = large.pop() {
                return Some(next);
            }
            if self.claiming.load(Ordering::Acquire) == 0 {
                return None;
            }
            // A timeout, so that a cancel is seen even if nothing is signalled.
            large = self
                .large_added
                .wait_timeout(large, Duration::from_millis(20))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Hashes file `file`, open, of `len` bytes: on more than one thread when it is
    /// large and either no small file is left to start and a core is free, or it is
    /// not in the page cache (BLAKE3 alone: each thread hashes its own subtrees,
    /// [`crate::tree`]; otherwise, not in the page cache, reads around it,
    /// [`Shared::hash_cold`]; in it, two threads taking turns, [`hash_alternating`]).
    /// Taken from the heap of large files (`caller`), one begun on one thread is handed
    /// over to two when a core comes free ([`hash_contents`]).
    ///
    /// Why a large file not in the page cache takes more threads at once, whatever
    /// else runs: its reads then wait for the storage, and one thread that reads and
    /// hashes in turn leaves the storage idle while it hashes, and the core idle while
    /// it reads; with reads in flight on other threads, the hash never waits for the
    /// storage to start a read. Readers that wait sleep in the kernel, so the small
    /// files' readers lose little (measured with two threads taking turns through the
    /// page cache on 20,000 x 16 KiB and 1 GiB, evicted, medians of interleaved runs,
    /// three series of 9 to 11: 1.71, 1.44 and 1.55 s before, 1.41, 1.33 and 1.39 s
    /// with them; reads around the page cache: see [`hash_direct`]). With the data in
    /// the page cache nothing changes (one system call tells,
    /// [`crate::os::is_in_page_cache`]): there a core that hashes the small files is
    /// worth more than help on the large one.
    /// `watch`: time the first read, from the instant given (taken before the file was
    /// opened), into this reader's [`ReadWatch`].
    fn hash(
        &self,
        file: u32,
        opened: File,
        len: u64,
        buffer: &mut [u8],
        caller: Caller,
        watch: Option<(&mut ReadWatch, Instant)>,
    ) -> Outcome {
        let control = self.run.control;
        let claiming = match caller {
            Caller::Batch => true,
            Caller::Heap { in_batch_loop } => in_batch_loop,
        };
        // A file opened just before a cancel is not started: a large one would map
        // buffers and start threads and reads first.
        if control.is_cancelled() {
            return Outcome::Failed(reason_for(&cancelled()));
        }
        let algorithms = self.files.algorithms(file);
        let large = len >= DEFER_MIN_LEN;
        let cold = len >= ALTERNATE_MIN_LEN
            && self.run.jobs.is_none()
            && crate::os::is_in_page_cache(&opened, &mut buffer[..COLD_PROBE_LEN]) == Some(false);
        #[cfg(test)]
        tests::COLD_LARGE_FILES.fetch_add(usize::from(cold), Ordering::Relaxed);
        if large {
            crate::os::advise_sequential(&opened);
            self.hashing_large.fetch_add(1, Ordering::AcqRel);
        }
        let hashed = if cold {
            self.hash_cold(&opened, len, algorithms, buffer)
        } else if len >= ALTERNATE_MIN_LEN && self.may_borrow_core(claiming) {
            if algorithms == [Algorithm::Blake3] {
                let threads = self.blake3_threads();
                let reads = Reads::ThroughCache;
                let hashed =
                    crate::tree::hash_blake3(&opened, len, threads, reads, control, buffer);
                hashed.map(Digests::One)
            } else {
                hash_alternating(&opened, len, algorithms, buffer, control)
            }
        } else {
            let core_is_free = || self.core_is_free(claiming);
            let hand_over = (matches!(caller, Caller::Heap { .. })
                && len >= ALTERNATE_MIN_LEN
                && algorithms != [Algorithm::Blake3])
            .then_some(&core_is_free as &dyn Fn() -> bool);
            hash_contents(opened, len, algorithms, buffer, control, watch, hand_over)
        };
        if large {
            self.hashing_large.fetch_sub(1, Ordering::AcqRel);
        }
        match hashed {
            Ok(digests) => Outcome::Digests(digests),
            Err(error) => Outcome::Failed(reason_for(&error)),
        }
    }

    /// Hashes a large file that is not in the page cache: with its reads around the
    /// page cache, as many in flight as the run's budget gives it ([`hash_direct`]);
    /// through the page cache on two threads taking turns ([`hash_alternating`]) when
    /// the budget is spent or the file system refuses such reads, from where it
    /// refused. BLAKE3 alone: its subtrees on as many threads as reads it was given,
    /// each reading around the page cache ([`crate::tree`]); through the page cache on
    /// its share of the cores where the budget is spent.
    ///
    /// Why: read through the page cache, the kernel spends about as long on each byte
    /// as the hash does (allocating and filling the cache's pages, then copying them
    /// out), on the same two cores; read around it, into buffers of huge pages
    /// ([`crate::os::AlignedBuffer`]), the device writes straight into the buffer the
    /// hash reads, and the kernel's share all but vanishes. Measured on this machine,
    /// files evicted, medians of 6-10 interleaved runs: 2 x 512 MiB 0.510 s against
    /// 1.060 s through the page cache (user and system time 0.66 s against 1.18 s);
    /// 20,000 x 16 KiB + 1 GiB 0.960 s against 1.230 s. (Into buffers of small pages
    /// the same reads were slower than through the page cache with large files
    /// alone, and beside small files they took the disk from the small files' reads
    /// unless few were in flight while those lasted: see the README.)
    /// `buffer`: the reader's own, for when nothing more can be had (see
    /// [`hash_alternating`]).
    fn hash_cold(
        &self,
        file: &File,
        len: u64,
        algorithms: &[Algorithm],
        buffer: &mut [u8],
    ) -> io::Result<Digests> {
        let control = self.run.control;
        let wanted = affordable(DIRECT_READS_PER_FILE, DIRECT_READ_COST);
        let reads = self
            .direct_reads_left
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
                Some(left - left.min(wanted))
            })
            .map_or(0, |left| left.min(wanted));
        #[cfg(test)]
        tests::COLD_FILES_READ_AROUND_CACHE.fetch_add(usize::from(reads >= 2), Ordering::Relaxed);
        if algorithms == [Algorithm::Blake3] {
            let (threads, how) = match reads {
                0 | 1 => (self.blake3_threads(), Reads::ThroughCache),
                reads => (reads, Reads::AroundCache),
            };
            let hashed = crate::tree::hash_blake3(file, len, threads, how, control, buffer);
            self.direct_reads_left.fetch_add(reads, Ordering::AcqRel);
            return hashed.map(Digests::One);
        }
        let hashers = Algorithm::hashers(algorithms);
        let direct = if reads >= 2 {
            hash_direct(file, reads, hashers, control)
        } else {
            Direct::Refused { at: 0, hashers }
        };
        self.direct_reads_left.fetch_add(reads, Ordering::AcqRel);
        match direct {
            Direct::Done(hashed) => hashed,
            Direct::Refused { at, hashers } => {
                crate::os::set_direct_reads(file, false);
                hash_alternating_from(file, len, at, hashers, buffer, control)
            }
        }
    }

    /// Threads for a large BLAKE3 file read through the page cache: its share of the
    /// cores among the large files being hashed (this one counts itself), at least 2,
    /// unless the address space left affords no helper ([`affordable`]).
    fn blake3_threads(&self) -> usize {
        let large = self.hashing_large.load(Ordering::Acquire).max(1);
        let helpers = (self.cores / large).max(2) - 1;
        1 + affordable(helpers, THREAD_COST)
    }

    /// Whether a large file may take more threads: only when the caller left the cores
    /// to us, no batch of small files is left to claim nor being worked through by
    /// another reader (`claiming`: the caller is itself in its batch loop, as the one
    /// reader of a one-file manifest is), and fewer large files than cores are being
    /// hashed (this one included).
    fn may_borrow_core(&self, claiming: bool) -> bool {
        if claiming && self.count > 1 {
            // A reader reading in list order (one reader, a spinning disk's or the
            // open-file limit's choice) keeps to one read at a time.
            return false;
        }
        self.core_is_free(claiming)
    }

    /// Whether a large file may take a core more: the caller left the cores to us, no
    /// batch is left to claim nor being worked through by another reader (`claiming`:
    /// the caller is itself in its batch loop), and fewer large files than cores are
    /// being hashed.
    fn core_is_free(&self, claiming: bool) -> bool {
        let others_claiming = self
            .claiming
            .load(Ordering::Acquire)
            .saturating_sub(usize::from(claiming));
        let batches_left = self.batches_left();
        self.run.jobs.is_none()
            && others_claiming == 0
            && !batches_left
            && self.hashing_large.load(Ordering::Acquire) < self.cores
    }
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
///
/// Where the two chunk buffers or the second thread cannot be had (an address-space
/// or thread limit), the calling thread hashes the file alone through `buffer` (the
/// reader's own): slower, but no new memory, so never a process ended for want of it.
fn hash_alternating(
    file: &File,
    len: u64,
    algorithms: &[Algorithm],
    buffer: &mut [u8],
    control: &Control,
) -> io::Result<Digests> {
    hash_alternating_from(
        file,
        len,
        0,
        Algorithm::hashers(algorithms),
        buffer,
        control,
    )
}

/// [`hash_alternating`] of the rest of a file from `start`, with the state `hasher`
/// has of the bytes before it.
fn hash_alternating_from(
    file: &File,
    len: u64,
    start: u64,
    hasher: Hashers,
    buffer: &mut [u8],
    control: &Control,
) -> io::Result<Digests> {
    // A helper thread and a chunk buffer for each side.
    let cost = THREAD_COST + 2 * ALTERNATE_CHUNK_LEN as u64;
    if affordable(1, cost) == 0 {
        return hash_rest(file, start, hasher, buffer, control);
    }
    let chunk = || try_zeroed_buffer(ALTERNATE_CHUNK_LEN);
    let (Ok(my_chunk), Ok(their_chunk)) = (chunk(), chunk()) else {
        return hash_rest(file, start, hasher, buffer, control);
    };
    let (to_helper, helper_turns) = bounded::<Hashers>(1);
    let (to_worker, worker_turns) = bounded::<Hashers>(1);
    // The first turn is this thread's: chunk 0.
    to_worker.send(hasher).expect("the receiver is alive");
    thread::scope(|scope| {
        let helper = move || {
            let turns = (&helper_turns, &to_worker);
            take_turns(file, (start, len), 1, their_chunk, turns, control)
        };
        let Ok(helper) = thread::Builder::new().spawn_scoped(scope, helper) else {
            // The state sent is still in the channel, its sender gone with the helper.
            let hasher = worker_turns.recv().expect("the state was sent");
            return hash_rest(file, start, hasher, buffer, control);
        };
        let turns = (&worker_turns, &to_helper);
        let mine = take_turns(file, (start, len), 0, my_chunk, turns, control);
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

/// One side of [`hash_alternating`]: reads chunks `first`, `first + 2`, ... into
/// `buffer` (a chunk long) and hashes each with the state received from the other side
/// (`turns`), then hands it on (`next`). `Ok(None)` when the other side
/// finished (or failed) first; the side that reads a short chunk (the end of the file)
/// returns the digest. Errors are reported by the side holding the state, so in file
/// order. The first side keeps the kernel reading ahead of both (`start`: where the
/// first chunk starts; `len`: the file's size when opened).
fn take_turns(
    file: &File,
    (start, len): (u64, u64),
    first: u64,
    mut buffer: Vec<u8>,
    (turns, next): (&Receiver<Hashers>, &Sender<Hashers>),
    control: &Control,
) -> io::Result<Option<Digests>> {
    let mut offset = start + first * ALTERNATE_CHUNK_LEN as u64;
    let mut ahead = (first == 0).then(|| ReadAhead::new(file, start, len));
    // How long this side may spin for its turn: about what hashing its own last chunk
    // took, since the other side hashes one as long in the meantime.
    let mut spin = TURN_SPIN;
    loop {
        // Before the read as well as after the wait: a cancel stops a side that has
        // yet to start, not after one more chunk read.
        if control.is_cancelled() {
            return Err(cancelled());
        }
        if let Some(ahead) = &mut ahead {
            ahead.at(offset);
        }
        let filled = fill_at(file, &mut buffer, offset, false);
        let Some(mut hasher) = wait_for_turn(turns, spin) else {
            return Ok(None);
        };
        if control.is_cancelled() {
            return Err(cancelled());
        }
        let filled = filled?;
        let hashing = Instant::now();
        update_unless_cancelled(&mut hasher, &buffer[..filled], control)?;
        spin = (hashing.elapsed() * 5 / 4).min(TURN_SPIN);
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

/// Hashes the rest of `file` from `start` on the calling thread through `buffer`, with
/// the state `hashers` has of the bytes before it: [`hash_alternating`] where it
/// cannot have its own buffers or thread.
fn hash_rest(
    file: &File,
    start: u64,
    mut hashers: Hashers,
    buffer: &mut [u8],
    control: &Control,
) -> io::Result<Digests> {
    let mut offset = start;
    loop {
        if control.is_cancelled() {
            return Err(cancelled());
        }
        let filled = fill_at(file, buffer, offset, false)?;
        update_unless_cancelled(&mut hashers, &buffer[..filled], control)?;
        control
            .bytes_done
            .fetch_add(filled as u64, Ordering::Relaxed);
        if filled < buffer.len() {
            return Ok(hashers.finalize());
        }
        offset += filled as u64;
    }
}

/// What became of [`hash_direct`].
enum Direct {
    /// The file was hashed (or failed) with its reads around the page cache.
    Done(io::Result<Digests>),
    /// Reads around the page cache were refused from byte `at` on (at 0: from the
    /// start); `hashers` holds the state of the bytes before it.
    Refused { at: u64, hashers: Hashers },
}

/// A piece read around the page cache, and how many bytes of it (fewer than
/// [`DIRECT_PIECE_LEN`] only at the end of the file), or the error that stopped it.
type DirectPiece = (AlignedBuffer, io::Result<usize>);

/// Hashes a large file not in the page cache with `reads` reads in flight that
/// bypass the page cache (`O_DIRECT`): `reads` threads read its pieces
/// ([`DIRECT_PIECE_LEN`]) in turn, piece `n` by thread `n % reads`, each into its own
/// buffer (of huge pages: [`AlignedBuffer`]), and the calling thread hashes them in
/// order, handing each buffer back. `hashers`: new, for the file's algorithms.
///
/// Why: on storage that makes reads wait, a checker is bound by the cores as much as
/// by the disk. Through the page cache, the kernel spends as long as the hash itself
/// on each byte (allocating and filling the cache's pages, then copying them out:
/// `perf` of cold 2 x 512 MiB, `_copy_to_iter` 35 % of the samples, SHA-1 32 %);
/// read around it, the device writes straight into the buffer the hash reads (system
/// time 0.06 s against 0.61 s). Many reads in flight keep the device busy while the
/// hash works through what came in. Measured: see [`Shared::hash_cold`], which says
/// when this is used, and the README.
///
/// Every thread is joined before this returns, so no buffer is freed while the kernel
/// writes into it; a cancel is seen between pieces.
fn hash_direct(file: &File, reads: usize, hashers: Hashers, control: &Control) -> Direct {
    // Without memory for the buffers (an address-space limit, say), or where the file
    // system refuses such reads, the file is read through the page cache instead.
    let buffers = (0..reads).map(|_| AlignedBuffer::new(DIRECT_PIECE_LEN));
    let Ok(buffers) = buffers.collect::<io::Result<Vec<_>>>() else {
        return Direct::Refused { at: 0, hashers };
    };
    if !crate::os::set_direct_reads(file, true) {
        return Direct::Refused { at: 0, hashers };
    }
    let (to_hash, read): (Vec<_>, Vec<_>) = (0..reads).map(|_| bounded::<DirectPiece>(1)).unzip();
    let (to_reader, hashed): (Vec<_>, Vec<_>) =
        (0..reads).map(|_| bounded::<AlignedBuffer>(1)).unzip();
    thread::scope(|scope| {
        let readers = to_hash.into_iter().zip(hashed).zip(buffers).enumerate();
        for (first, ((to_hash, hashed), buffer)) in readers {
            let first = first as u64;
            let reader = move || {
                let channels = (&to_hash, &hashed);
                read_pieces(file, (first, reads), buffer, channels, control)
            };
            if thread::Builder::new().spawn_scoped(scope, reader).is_err() {
                // No thread to be had (a process or user limit): through the page
                // cache instead. Returning drops `read` and `to_reader`, which stops
                // the readers started, and the scope joins them.
                return Direct::Refused { at: 0, hashers };
            }
        }
        let direct = hash_pieces(&read, &to_reader, hashers, control);
        // Stops the readers: each is sending a piece or waiting for its buffer.
        drop(read);
        drop(to_reader);
        direct
    })
}

/// One reader of [`hash_direct`]: reads pieces `first`, `first + stride`, ... into
/// `buffer` and sends each to be hashed, then waits for its buffer back. Stops after
/// the end of the file or an error, when the hashing side has stopped, or before a
/// read once the run is cancelled (a read in flight cannot be stopped: the fewer
/// started, the sooner a cancelled check ends).
fn read_pieces(
    file: &File,
    (first, stride): (u64, usize),
    mut buffer: AlignedBuffer,
    (to_hash, hashed): (&Sender<DirectPiece>, &Receiver<AlignedBuffer>),
    control: &Control,
) {
    let mut piece = first;
    loop {
        if control.is_cancelled() {
            return;
        }
        let offset = piece * DIRECT_PIECE_LEN as u64;
        let read = fill_at(file, buffer.as_mut_slice(), offset, true);
        let last = !matches!(read, Ok(DIRECT_PIECE_LEN));
        if to_hash.send((buffer, read)).is_err() || last {
            return;
        }
        match hashed.recv() {
            Ok(returned) => buffer = returned,
            Err(_) => return,
        }
        piece += stride as u64;
    }
}

/// The hashing side of [`hash_direct`]: takes the pieces in order from their readers.
fn hash_pieces(
    read: &[Receiver<DirectPiece>],
    to_reader: &[Sender<AlignedBuffer>],
    mut hashers: Hashers,
    control: &Control,
) -> Direct {
    for piece in 0.. {
        if control.is_cancelled() {
            return Direct::Done(Err(cancelled()));
        }
        let reader = (piece % read.len() as u64) as usize;
        let Ok((buffer, filled)) = read[reader].recv() else {
            return Direct::Done(Err(io::Error::other("a reader stopped early")));
        };
        let filled = match filled {
            Ok(filled) => filled,
            // Refused by a file system that took the flag but not the read: from this
            // piece on, the file is read through the page cache.
            Err(error) if error.kind() == io::ErrorKind::InvalidInput => {
                let at = piece * DIRECT_PIECE_LEN as u64;
                return Direct::Refused { at, hashers };
            }
            Err(error) => return Direct::Done(Err(error)),
        };
        if let Err(error) =
            update_unless_cancelled(&mut hashers, &buffer.as_slice()[..filled], control)
        {
            return Direct::Done(Err(error));
        }
        control
            .bytes_done
            .fetch_add(filled as u64, Ordering::Relaxed);
        if filled < DIRECT_PIECE_LEN {
            return Direct::Done(Ok(hashers.finalize()));
        }
        // The reader may have stopped (cancelled): nothing to hand back to.
        let _ = to_reader[reader].send(buffer);
    }
    unreachable!("a file ends before 2^64 pieces")
}

/// The hash state from the other side, or `None` once it has stopped.
///
/// Spins (yielding) for up to `spin` before sleeping: the other side hands over within
/// the time it takes to hash a chunk (a few milliseconds), this side runs on a core
/// that would otherwise idle, and waking a sleeping thread takes tens of microseconds
/// on the critical path, once per chunk (measured: 1 GiB in 0.54-0.56 s sleeping at
/// once, 0.51-0.53 s spinning first). Longer than that, the other side is not on a
/// core (other processes want the cores too: two Dask workers on one machine, say),
/// and spinning would keep it off; yielding lets it run. Measured, two Dask worker
/// processes each hashing a 512 MiB file on this 2-core machine, against one process
/// hashing both: 1.65 x spinning 20 ms with a spin-loop hint, 1.31 x yielding for
/// 20 ms, 1.13-1.17 x yielding about a chunk's hashing time; one 1 GiB file alone
/// unchanged (0.63-0.64 s).
fn wait_for_turn(turns: &Receiver<Hashers>, spin: Duration) -> Option<Hashers> {
    let spin_until = Instant::now() + spin;
    loop {
        match turns.try_recv() {
            Ok(hasher) => return Some(hasher),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) if Instant::now() < spin_until => thread::yield_now(),
            Err(TryRecvError::Empty) => return turns.recv().ok(),
        }
    }
}

fn cancelled() -> io::Error {
    io::Error::new(io::ErrorKind::Interrupted, "cancelled")
}

/// How much of a chunk is hashed between two looks at the cancel flag: a quarter of a
/// millisecond of SHA-1 on a core with the SHA instructions, and still a few
/// milliseconds where hashing is tens of times slower (SHA-512 and MD5 at once, say,
/// or a program under valgrind, where one 4 MiB chunk took 0.3 s).
const CANCEL_CHECK_LEN: usize = 256 * 1024;

/// Hashes `bytes` into `hashers` a [`CANCEL_CHECK_LEN`] at a time, stopping when the
/// run is cancelled: a chunk of megabytes then delays a cancel by no more than that.
fn update_unless_cancelled(
    hashers: &mut Hashers,
    bytes: &[u8],
    control: &Control,
) -> io::Result<()> {
    for part in bytes.chunks(CANCEL_CHECK_LEN) {
        if control.is_cancelled() {
            return Err(cancelled());
        }
        hashers.update(part);
    }
    Ok(())
}

/// Reads `file` to its end through `buffer`, hashing as it goes.
///
/// `len` is the size `fstat` gave for the open file. A read that comes back short of
/// the buffer exactly at that size has met the end of the file, so the extra `read`
/// that would only return 0 is skipped: one system call less per small file, where
/// system calls are most of the cost. A file that grew is still read to its new end.
///
/// `hand_over`: asked every [`HAND_OVER_CHECK`] bytes whether a core would otherwise
/// idle; when it says so, the rest is hashed on two threads taking turns
/// ([`hash_alternating_from`]). Why: a large file found while small files are left is
/// hashed beside them, on one thread. When they are done, the readers stop and a core
/// idles while that one thread finishes the file alone. Measured on 20,000 x 16 KiB
/// and 1 GiB in the page cache, medians of 11 interleaved runs: 0.777 s finishing it
/// alone, 0.741 s handing over (2 x 512 MiB: 0.408 and 0.397 s; evicted from the page
/// cache, where two threads take the file from the start: 1.810 s both).
fn hash_contents(
    file: File,
    len: u64,
    algorithms: &[Algorithm],
    buffer: &mut [u8],
    control: &Control,
    mut watch: Option<(&mut ReadWatch, Instant)>,
    hand_over: Option<&dyn Fn() -> bool>,
) -> io::Result<Digests> {
    let mut hasher = Algorithm::hashers(algorithms);
    let mut total = 0u64;
    let mut next_check = HAND_OVER_CHECK;
    let mut ahead = (len >= DEFER_MIN_LEN).then(|| ReadAhead::new(&file, 0, len));
    loop {
        if control.is_cancelled() {
            return Err(cancelled());
        }
        if let Some(ahead) = &mut ahead {
            ahead.at(total);
        }
        let read = match (&file).read(buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if let Some((watch, started)) = watch.take() {
            watch.count(started.elapsed(), read);
        }
        hasher.update(&buffer[..read]);
        control.bytes_done.fetch_add(read as u64, Ordering::Relaxed);
        total += read as u64;
        if read < buffer.len() && total == len {
            break;
        }
        if let Some(core_is_free) = hand_over.filter(|_| total >= next_check) {
            next_check = total + HAND_OVER_CHECK;
            if len.saturating_sub(total) >= HAND_OVER_MIN_REST && core_is_free() {
                return hash_alternating_from(&file, len, total, hasher, buffer, control);
            }
        }
    }
    Ok(hasher.finalize())
}

/// What one reader has seen of its small files' first reads, while the run may grow
/// its readers (see `Readers`): in each window of [`WATCH_WINDOW`] files, how many
/// waited for the storage ([`SLOW_READ`]). Per reader, so that timing costs no shared
/// write; by windows, so that a data set cached at first and cold later is seen, and
/// by majority, because with the data cached one read in a few hundred is slow too
/// (its thread preempted mid-read: measured here, 0.2-0.7 % of 50,000 files).
#[derive(Debug, Default)]
struct ReadWatch {
    timed: u32,
    slow: u32,
    /// Most reads of a window waited: the storage, not the cores, is the limit.
    storage_is_slow: bool,
}

impl ReadWatch {
    /// Counts a file opened and read up to `bytes`, taking `elapsed`.
    fn count(&mut self, elapsed: Duration, bytes: usize) {
        let copying = Duration::from_micros((bytes as u128 / CACHED_READ_BYTES_PER_US) as u64);
        let waited = elapsed > SLOW_READ + copying;
        #[cfg(test)]
        let waited = waited || tests::ALL_READS_WAIT.load(Ordering::Relaxed);
        self.timed += 1;
        self.slow += u32::from(waited);
        if self.timed == WATCH_WINDOW {
            self.storage_is_slow |= 2 * self.slow > WATCH_WINDOW;
            self.timed = 0;
            self.slow = 0;
        }
    }
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

    /// Every read counts as having waited for the storage (on a test machine the
    /// files are cached): set by the test of a pool's growth only. Other tests that
    /// run meanwhile may grow too, which changes how fast they run, not what they get.
    pub(super) static ALL_READS_WAIT: AtomicBool = AtomicBool::new(false);

    /// Large files found not in the page cache, by every pool of the test process.
    pub(super) static COLD_LARGE_FILES: AtomicUsize = AtomicUsize::new(0);
    /// Of those, the ones given reads around the page cache ([`Shared::hash_cold`]).
    pub(super) static COLD_FILES_READ_AROUND_CACHE: AtomicUsize = AtomicUsize::new(0);

    thread_local! {
        /// Readers the pools run from this thread started.
        pub(super) static STARTED_READERS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    const MICROS: fn(u64) -> Duration = Duration::from_micros;

    #[test]
    fn the_storage_is_slow_when_most_reads_of_a_window_waited() {
        // (elapsed of each read, bytes, reads, slow after them)
        let cases = [
            (MICROS(3), 4096, 16, false),        // cached 4 KiB reads
            (MICROS(20), 128 * 1024, 16, false), // cached 128 KiB reads
            (MICROS(300), 4096, 15, false),      // cold, but the window is not over
            (MICROS(300), 4096, 16, true),       // cold: a window of waits
            (MICROS(60), 128 * 1024, 32, false), // within a 128 KiB copy's time
            (MICROS(120), 128 * 1024, 16, true), // longer than that
        ];
        for (elapsed, bytes, reads, slow) in cases {
            let mut watch = ReadWatch::default();
            for _ in 0..reads {
                watch.count(elapsed, bytes);
            }
            assert_eq!(watch.storage_is_slow, slow, "{elapsed:?} {bytes} x {reads}");
        }
        // A read preempted now and then is no slow storage; half a window is not a
        // majority, nine reads of sixteen are.
        for (waits_per_window, slow) in [(0, false), (1, false), (8, false), (9, true)] {
            let mut watch = ReadWatch::default();
            for _ in 0..20 {
                for read in 0..WATCH_WINDOW {
                    let elapsed = if read < waits_per_window {
                        MICROS(500)
                    } else {
                        MICROS(2)
                    };
                    watch.count(elapsed, 4096);
                }
            }
            assert_eq!(
                watch.storage_is_slow, slow,
                "{waits_per_window} in a window"
            );
        }
    }

    /// A run under `root` with every option at its default.
    fn default_run<'a>(root: &'a RootDir, control: &'a Control) -> Run<'a> {
        Run {
            root,
            jobs: None,
            readers: None,
            ignore_missing: false,
            list_order: false,
            control,
        }
    }

    /// Files `0..count` under a temp directory, each named by its number.
    struct Numbered(u32);

    impl FileNames for Numbered {
        fn count(&self) -> usize {
            self.0 as usize
        }

        fn c_name<'b>(&self, file: u32, buffer: &'b mut Vec<u8>) -> &'b CStr {
            buffer.clear();
            buffer.extend_from_slice(format!("{file}\0").as_bytes());
            CStr::from_bytes_with_nul(buffer).unwrap()
        }

        fn algorithms(&self, _file: u32) -> &[Algorithm] {
            &[Algorithm::Sha1]
        }
    }

    /// [`Numbered`] files, hashed with another algorithm.
    struct NumberedAs(u32, Algorithm);

    impl FileNames for NumberedAs {
        fn count(&self) -> usize {
            Numbered(self.0).count()
        }

        fn c_name<'b>(&self, file: u32, buffer: &'b mut Vec<u8>) -> &'b CStr {
            Numbered(self.0).c_name(file, buffer)
        }

        fn algorithms(&self, _file: u32) -> &[Algorithm] {
            std::slice::from_ref(&self.1)
        }
    }

    #[test]
    fn a_pool_whose_reads_wait_starts_its_other_readers_and_hashes_every_file_once() {
        let dir = std::env::temp_dir().join(format!("checksig-pool-grow-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let count = 3000u32;
        for file in 0..count {
            std::fs::write(dir.join(file.to_string()), file.to_string()).unwrap();
        }
        let root = RootDir::open(&dir).unwrap();
        for all_wait in [false, true] {
            ALL_READS_WAIT.store(all_wait, Ordering::Relaxed);
            let control = Control::default();
            let run = default_run(&root, &control);
            let mut seen = vec![0u32; count as usize];
            assert!(run.hash_all(&Numbered(count), |file, outcome| {
                seen[file as usize] += 1;
                let Outcome::Digests(digests) = outcome else {
                    panic!("{file}: {outcome:?}");
                };
                let mut expected = Algorithm::Sha1.hasher();
                expected.update(file.to_string().as_bytes());
                assert_eq!(digests.as_slice(), [expected.finalize()], "{file}");
            }));
            assert!(seen.iter().all(|&n| n == 1), "every file decided once");
            let started = STARTED_READERS.with(|started| started.take());
            let cores = thread::available_parallelism().map_or(1, NonZeroUsize::get);
            // Without waits it may still grow on a loaded machine: only the growth is
            // certain.
            assert!(
                started >= cores.min(DEFAULT_READERS),
                "{started} readers started"
            );
            if all_wait {
                let most = run.reader_count(count as usize, cores).most;
                assert_eq!(started, most, "all readers started");
            }
        }
        ALL_READS_WAIT.store(false, Ordering::Relaxed);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A file of `len` bytes of varied content in the temp directory, removed on drop.
    struct TempFile(std::path::PathBuf);

    impl TempFile {
        fn new(len: usize) -> (TempFile, Vec<u8>) {
            let contents: Vec<u8> = (0..len).map(|i| (i * 31 + i / 997) as u8).collect();
            // Numbered: tests run at once, and some ask for the same length.
            static MADE: AtomicUsize = AtomicUsize::new(0);
            let made = MADE.fetch_add(1, Ordering::Relaxed);
            let name = format!("checksig-pool-{}-{made}-{len}", std::process::id());
            let path = std::env::temp_dir().join(name);
            std::fs::write(&path, &contents).unwrap();
            (TempFile(path), contents)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    /// What two threads taking turns fall back to without buffers or a thread: the
    /// rest of the file on one thread, through the reader's buffer.
    #[test]
    fn the_rest_of_a_file_hashed_through_the_readers_buffer_hashes_like_the_whole() {
        let buffer_len = READ_BUFFER_LEN;
        // (file length, where the rest starts: the start, mid-buffer, on a buffer, at
        // the end)
        for (len, start) in [
            (0, 0),
            (3 * buffer_len + 7, 0),
            (3 * buffer_len + 7, 5),
            (3 * buffer_len, buffer_len),
            (2 * buffer_len + 1, 2 * buffer_len + 1),
        ] {
            let (file, contents) = TempFile::new(len);
            let opened = File::open(&file.0).unwrap();
            let mut hashers = Algorithm::hashers(&[Algorithm::Sha1]);
            hashers.update(&contents[..start]);
            let control = Control::default();
            let buffer = &mut vec![0; buffer_len];
            let digests = hash_rest(&opened, start as u64, hashers, buffer, &control).unwrap();
            let mut expected = Algorithm::Sha1.hasher();
            expected.update(&contents);
            assert_eq!(
                digests.as_slice(),
                [expected.finalize()],
                "{len} from {start}"
            );
            assert_eq!(control.progress().bytes_done, (len - start) as u64);
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
                let buffer = &mut vec![0; READ_BUFFER_LEN];
                let hashed = hash_alternating(&opened, len as u64, &[algorithm], buffer, &control);
                let digests = hashed.unwrap();
                let mut expected = algorithm.hasher();
                expected.update(&contents);
                assert_eq!(
                    digests.as_slice(),
                    [expected.finalize()],
                    "{algorithm} {len}"
                );
                assert_eq!(control.progress().bytes_done, len as u64);
            }
            // Two algorithms at once, from one read of the file.
            let both = [Algorithm::Md5, Algorithm::Sha256];
            let control = Control::default();
            let buffer = &mut vec![0; READ_BUFFER_LEN];
            let digests = hash_alternating(&opened, len as u64, &both, buffer, &control).unwrap();
            for (algorithm, digest) in both.iter().zip(digests.as_slice()) {
                let mut expected = algorithm.hasher();
                expected.update(&contents);
                assert_eq!(*digest, expected.finalize(), "{algorithm} {len}");
            }
        }
    }

    /// Drops `path`'s data from the page cache (written back first: dirty pages stay).
    fn evict(path: &std::path::Path) {
        let file = File::open(path).unwrap();
        file.sync_all().unwrap();
        rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed).unwrap();
    }

    /// Drops `path`'s data from the page cache and tells whether a run will then find
    /// it cold: false where the file system keeps evicted files cached (tmpfs) or
    /// cannot tell. The question is put to a scratch file beside it, not to `path`:
    /// asking starts the kernel reading, and pages still being read when they are
    /// evicted stay cached, so the run could find a file that was asked about warm.
    fn evict_and_tell_cold(path: &std::path::Path) -> bool {
        let scratch = path.with_extension("probe");
        std::fs::write(&scratch, [1u8; COLD_PROBE_LEN]).unwrap();
        evict(&scratch);
        let probe = File::open(&scratch).unwrap();
        let cold = crate::os::is_in_page_cache(&probe, &mut [0; COLD_PROBE_LEN]) == Some(false);
        std::fs::remove_file(&scratch).unwrap();
        evict(path);
        cold
    }

    #[test]
    fn a_large_file_not_in_the_page_cache_is_read_around_it_and_hashes_the_same() {
        let dir = std::env::temp_dir().join(format!("checksig-pool-cold-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let len = ALTERNATE_MIN_LEN as usize + 3 * ALTERNATE_CHUNK_LEN / 2;
        let contents: Vec<u8> = (0..len).map(|i| (i * 7 + i / 4093) as u8).collect();
        let path = dir.join("0");
        std::fs::write(&path, &contents).unwrap();
        let root = RootDir::open(&dir).unwrap();
        // (SHA-1 in pieces on threads of its own, BLAKE3 in subtrees; evicted first,
        // reads around the page cache are taken where the file system can tell a file
        // is cold: not on tmpfs, which has no storage to wait for)
        let cases = [Algorithm::Sha1, Algorithm::Blake3]
            .into_iter()
            .flat_map(|algorithm| [(algorithm, false), (algorithm, true)]);
        for (algorithm, evicted) in cases {
            let mut expected = algorithm.hasher();
            expected.update(&contents);
            let expected = expected.finalize();
            let cold = if evicted {
                evict_and_tell_cold(&path)
            } else {
                // Read into the page cache (the case before read it around the cache).
                std::fs::read(&path).unwrap();
                let probe = File::open(&path).unwrap();
                let cached = crate::os::is_in_page_cache(&probe, &mut [0; COLD_PROBE_LEN]);
                assert_ne!(cached, Some(false), "a file just read is in the page cache");
                false
            };
            let cold_before = COLD_LARGE_FILES.load(Ordering::Relaxed);
            let around_before = COLD_FILES_READ_AROUND_CACHE.load(Ordering::Relaxed);
            let control = Control::default();
            let run = default_run(&root, &control);
            let mut decided = Vec::new();
            let files = NumberedAs(1, algorithm);
            assert!(run.hash_all(&files, |file, outcome| decided.push((file, outcome))));
            let [(0, Outcome::Digests(digests))] = decided.as_slice() else {
                panic!("{decided:?}");
            };
            let label = format!("{algorithm:?}, evicted: {evicted}");
            assert_eq!(digests.as_slice(), [expected], "{label}");
            assert_eq!(control.progress().bytes_done, len as u64);
            let found_cold = COLD_LARGE_FILES.load(Ordering::Relaxed) > cold_before;
            if cold {
                assert!(found_cold, "{label}: the evicted file is seen to be cold");
                let around = COLD_FILES_READ_AROUND_CACHE.load(Ordering::Relaxed);
                assert!(
                    around > around_before,
                    "{label}: read around the page cache"
                );
            } else if evicted {
                eprintln!("note: this file system keeps evicted files cached (tmpfs?)");
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_cold_large_file_beside_small_ones_is_read_around_the_page_cache_and_hashes_the_same() {
        let dir = std::env::temp_dir().join(format!("checksig-pool-mixed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // 600 small files, then the large one, listed last: two readers take batches
        // of 75 from both ends, so the large file is read while small ones are.
        let small = 600;
        let len = ALTERNATE_MIN_LEN as usize + 3 * DIRECT_PIECE_LEN + 5;
        let mut expected = Vec::new();
        for file in 0..=small {
            let len = if file == small { len } else { 1000 + file };
            let contents: Vec<u8> = (0..len).map(|i| (i * 13 + file + i / 4093) as u8).collect();
            std::fs::write(dir.join(file.to_string()), &contents).unwrap();
            let mut hasher = Algorithm::Sha1.hasher();
            hasher.update(&contents);
            expected.push(hasher.finalize());
        }
        let large = dir.join(small.to_string());
        let cold = evict_and_tell_cold(&large);
        let around_before = COLD_FILES_READ_AROUND_CACHE.load(Ordering::Relaxed);
        let root = RootDir::open(&dir).unwrap();
        let control = Control::default();
        let run = Run {
            readers: NonZeroUsize::new(2),
            ..default_run(&root, &control)
        };
        let mut decided = vec![None; small + 1];
        assert!(run.hash_all(&Numbered(small as u32 + 1), |file, outcome| {
            let Outcome::Digests(digests) = outcome else {
                panic!("{file}: {outcome:?}");
            };
            decided[file as usize] = Some(digests.as_slice()[0]);
        }));
        let decided: Vec<_> = decided.into_iter().map(Option::unwrap).collect();
        assert_eq!(decided, expected);
        if cold {
            assert!(COLD_FILES_READ_AROUND_CACHE.load(Ordering::Relaxed) > around_before);
        } else {
            eprintln!("note: this file system keeps evicted files cached (tmpfs?)");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_handed_over_to_two_threads_midway_hashes_like_one_thread() {
        let check = HAND_OVER_CHECK as usize;
        let chunk = ALTERNATE_CHUNK_LEN;
        // (too little left to hand over at the first check; handed over with a part
        // chunk at the end; with whole chunks to the end)
        for len in [2 * check - 1, 2 * check + chunk + 3, 3 * check + 2 * chunk] {
            let (file, contents) = TempFile::new(len);
            let mut expected = Algorithm::Sha1.hasher();
            expected.update(&contents);
            let expected = expected.finalize();
            // A core comes free after this many checks said no (never, for MAX).
            for free_after in [0, 1, usize::MAX] {
                let asked = std::cell::Cell::new(0);
                let core_is_free = || {
                    asked.set(asked.get() + 1);
                    asked.get() > free_after
                };
                let control = Control::default();
                let mut buffer = vec![0u8; READ_BUFFER_LEN];
                let digests = hash_contents(
                    File::open(&file.0).unwrap(),
                    len as u64,
                    &[Algorithm::Sha1],
                    &mut buffer,
                    &control,
                    None,
                    Some(&core_is_free),
                )
                .unwrap();
                assert_eq!(digests.as_slice(), [expected], "{len} {free_after}");
                assert_eq!(control.progress().bytes_done, len as u64);
            }
        }
    }

    /// [`hash_direct`], finished through the page cache from where it was refused, as
    /// [`Shared::hash_cold`] does.
    fn hash_direct_or_through_cache(
        file: &File,
        len: usize,
        reads: usize,
        control: &Control,
    ) -> io::Result<Digests> {
        let hashers = Algorithm::hashers(&[Algorithm::Sha1]);
        match hash_direct(file, reads, hashers, control) {
            Direct::Done(hashed) => hashed,
            Direct::Refused { at, hashers } => {
                eprintln!("note: reads around the page cache refused at {at}");
                crate::os::set_direct_reads(file, false);
                let buffer = &mut vec![0; READ_BUFFER_LEN];
                hash_alternating_from(file, len as u64, at, hashers, buffer, control)
            }
        }
    }

    #[test]
    fn reads_around_the_page_cache_hash_like_one_thread() {
        let piece = DIRECT_PIECE_LEN;
        let align = crate::os::DIRECT_ALIGN;
        // (ending mid-block, on a block, mid-piece, on a piece, one past it; fewer
        // pieces than reads, and many more)
        for len in [
            0,
            1,
            align - 1,
            align,
            align + 1,
            piece - 1,
            piece,
            piece + 1,
        ]
        .into_iter()
        .chain([3 * piece + align + 5, 37 * piece + 7])
        {
            let (file, contents) = TempFile::new(len);
            let mut expected = Algorithm::Sha1.hasher();
            expected.update(&contents);
            let expected = expected.finalize();
            for reads in [2, 3, DIRECT_READS_PER_FILE] {
                let opened = File::open(&file.0).unwrap();
                let control = Control::default();
                let digests = hash_direct_or_through_cache(&opened, len, reads, &control);
                assert_eq!(digests.unwrap().as_slice(), [expected], "{len} {reads}");
                assert_eq!(control.progress().bytes_done, len as u64, "{len} {reads}");
            }
        }
    }

    #[test]
    fn reads_around_the_page_cache_stop_when_cancelled_before_or_mid_flight() {
        let len = 64 * DIRECT_PIECE_LEN;
        let (file, _) = TempFile::new(len);
        let opened = File::open(&file.0).unwrap();
        let control = Control::default();
        control.cancel();
        let result = hash_direct_or_through_cache(&opened, len, 4, &control);
        assert_eq!(result.unwrap_err().kind(), io::ErrorKind::Interrupted);
        // Cancelled once two pieces are hashed, with reads in flight: every reader
        // is joined before the call returns (so no buffer is freed under a read).
        let control = Control::default();
        let result = thread::scope(|scope| {
            scope.spawn(|| {
                while control.progress().bytes_done < 2 * DIRECT_PIECE_LEN as u64 {
                    thread::yield_now();
                }
                control.cancel();
            });
            hash_direct_or_through_cache(&opened, len, DIRECT_READS_PER_FILE, &control)
        });
        assert_eq!(result.unwrap_err().kind(), io::ErrorKind::Interrupted);
        assert!(control.progress().bytes_done < len as u64);
    }

    #[test]
    fn alternating_threads_stop_when_cancelled() {
        let (file, _) = TempFile::new(3 * ALTERNATE_CHUNK_LEN);
        let control = Control::default();
        control.cancel();
        let opened = File::open(&file.0).unwrap();
        let len = 3 * ALTERNATE_CHUNK_LEN as u64;
        let buffer = &mut vec![0; READ_BUFFER_LEN];
        let result = hash_alternating(&opened, len, &[Algorithm::Sha1], buffer, &control);
        assert_eq!(result.unwrap_err().kind(), io::ErrorKind::Interrupted);
    }
}
