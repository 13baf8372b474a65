//! The OS layer: the root directory, opening regular files and `stat` relative to a
//! directory descriptor, listing directories by descriptor, and reading files, through
//! the page cache or around it into buffers of its own. The bottom of the crate's I/O:
//! everything above asks it, and nothing here knows about manifests.
//!
//! Built on `rustix`, whose safe wrappers of `openat`, `fstatat`, `fstat` and
//! `getdents` need no `unsafe` here, and which makes each of them one plain system
//! call (std's `File::metadata` is a `statx` with more fields than needed). Measured
//! on the hot loop (a million empty files) against the earlier raw `libc` calls: see
//! the README's benchmark.
//!
//! Opening `name` relative to a descriptor of the root, rather than `root/name` from
//! `/`, saves the kernel walking the root's own components again for every file, a
//! large share of the cost on a manifest of a million small files.

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::num::NonZeroU64;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, Stat};

/// The soft limit on open files (`RLIMIT_NOFILE`), which bounds the readers of a run;
/// `u64::MAX` when there is none.
pub(crate) fn open_file_limit() -> u64 {
    rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX)
}

/// Bytes of address space this process may still map under its limit (`RLIMIT_AS`,
/// `ulimit -v`, common on shared compute clusters): the limit less what is mapped now
/// (`/proc/self/statm`). `None` where there is no limit; where what is mapped cannot
/// be read, none is taken to be left.
pub(crate) fn address_space_left() -> Option<u64> {
    let limit = rustix::process::getrlimit(rustix::process::Resource::As).current?;
    let statm = std::fs::read_to_string("/proc/self/statm").ok();
    let pages = statm.and_then(|statm| statm.split(' ').next()?.parse::<u64>().ok());
    let mapped = pages.map_or(limit, |pages| pages * rustix::param::page_size() as u64);
    Some(limit.saturating_sub(mapped))
}

/// Tells the kernel that `file` will be read from start to end
/// (`POSIX_FADV_SEQUENTIAL`): it then reads ahead twice as far, which keeps a cold
/// large file streaming while its last chunk is hashed. Only a hint: errors are
/// ignored.
pub(crate) fn advise_sequential(file: &File) {
    let _ = rustix::fs::fadvise(file, 0, None, rustix::fs::Advice::Sequential);
}

/// Whether `file`'s first `buffer.len()` bytes are in the page cache. `None` where
/// the kernel cannot tell.
///
/// Asked first with `cachestat` (Linux 6.5), which only counts the cached pages of a
/// range. Where that cannot be had (an older kernel, a seccomp policy that refuses it,
/// an architecture not listed at [`cached_pages`]), with a read that may not wait for
/// the storage (`preadv2` with `RWF_NOWAIT`, Linux 4.14): it returns them all only if
/// they are cached, and what lands in `buffer` is not used. Why not that read alone:
/// it starts the kernel reading the pages it did not find, and a thread that is
/// preempted before the kernel looks again finds them read: a cold file taken for a
/// cached one (seen in 2 of 15 runs of the cold-file tests beside a disk-bound job).
pub(crate) fn is_in_page_cache(file: &File, buffer: &mut [u8]) -> Option<bool> {
    let wanted = buffer.len();
    match cached_pages(file, wanted as u64) {
        Some(cached) => Some(cached >= wanted.div_ceil(rustix::param::page_size()) as u64),
        None => is_read_without_waiting(file, buffer),
    }
}

/// Whether a read of `buffer.len()` bytes from `file`'s start that may not wait for
/// the storage returns them all; `None` where such reads cannot be had.
fn is_read_without_waiting(file: &File, buffer: &mut [u8]) -> Option<bool> {
    let wanted = buffer.len();
    let mut slices = [io::IoSliceMut::new(buffer)];
    match rustix::io::preadv2(file, &mut slices, 0, rustix::io::ReadWriteFlags::NOWAIT) {
        Ok(read) => Some(read == wanted),
        Err(rustix::io::Errno::AGAIN) => Some(false),
        Err(_) => None,
    }
}

/// How many pages of `file`'s first `len` bytes are in the page cache, by `cachestat`
/// (Linux 6.5; neither `libc` nor `rustix` wraps it yet). `None` where the call fails,
/// or on an architecture whose number for it is not 451.
fn cached_pages(file: &File, len: u64) -> Option<u64> {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        use std::os::fd::AsRawFd;
        /// `struct cachestat_range` of `<linux/mman.h>`.
        #[repr(C)]
        struct Range {
            off: u64,
            len: u64,
        }
        /// `struct cachestat`: pages cached, dirty, under writeback, evicted, and
        /// evicted recently.
        #[repr(C)]
        #[derive(Default)]
        struct Counts {
            cached: u64,
            dirty: u64,
            writeback: u64,
            evicted: u64,
            recently_evicted: u64,
        }
        const SYS_CACHESTAT: libc::c_long = 451;
        let range = Range { off: 0, len };
        let mut counts = Counts::default();
        // SAFETY: the descriptor is open for the call; `range` and `counts` are live,
        // laid out as the kernel's structs, and only `counts` is written; flags are 0.
        let result = unsafe {
            libc::syscall(
                SYS_CACHESTAT,
                file.as_raw_fd(),
                &range as *const Range,
                &mut counts as *mut Counts,
                0u32,
            )
        };
        (result == 0).then_some(counts.cached)
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        let _ = (file, len);
        None
    }
}

/// Alignment of a read that bypasses the page cache: its buffer, offset and length
/// must be multiples of the device's logical block (512 bytes or 4 KiB).
pub(crate) const DIRECT_ALIGN: usize = 4096;

/// Fills `buffer` with `file`'s bytes from `offset`: short only at the end of the file.
///
/// `around_cache`: `file` is read around the page cache ([`set_direct_reads`]), and
/// `offset` and the buffer are aligned to [`DIRECT_ALIGN`]. Such a read ends off the
/// block alignment only at the end of the file, where reading on from an unaligned
/// offset would be refused, so a read that ends there ends the buffer. Anywhere else
/// (a file system with no alignment rule) it is read on; a refusal there is an
/// `InvalidInput` error, on which the callers read the rest through the page cache.
pub(crate) fn fill_at(
    file: &File,
    buffer: &mut [u8],
    offset: u64,
    around_cache: bool,
) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read_at(&mut buffer[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
        if around_cache
            && filled % DIRECT_ALIGN != 0
            && file.metadata()?.len() <= offset + filled as u64
        {
            break;
        }
    }
    Ok(filled)
}

/// Makes reads of `file` bypass the page cache from now on (`on`: `O_DIRECT` on its
/// open file description, which only this process holds), or go through it again, as
/// when it was opened. Returns whether the flag could be changed: some file systems
/// refuse it (tmpfs before Linux 6.6, some FUSE and network ones).
pub(crate) fn set_direct_reads(file: &File, on: bool) -> bool {
    let Ok(flags) = rustix::fs::fcntl_getfl(file) else {
        return false;
    };
    let flags = if on {
        flags | OFlags::DIRECT
    } else {
        flags - OFlags::DIRECT
    };
    rustix::fs::fcntl_setfl(file, flags).is_ok()
}

/// Size of a huge page (x86-64, and arm64 with 4 KiB pages): what an [`AlignedBuffer`]
/// is aligned to, so that the kernel can back it with huge pages.
pub(crate) const HUGE_PAGE_LEN: usize = 2 * 1024 * 1024;

/// A buffer for reads that bypass the page cache: `len` bytes of an anonymous mapping
/// of its own, starting at a multiple of [`HUGE_PAGE_LEN`] and advised to be backed by
/// huge pages (`MADV_HUGEPAGE`; transparent huge pages are on in that mode on most
/// distributions).
///
/// Why huge pages: a read around the page cache goes to the device as the list of the
/// buffer's physical pages, one segment each, and a device takes a bounded number of
/// segments per request (254 for the virtio disk here): with 4 KiB pages a read of
/// 1 MiB is two requests of 1016 and 8 KiB, and a device that pays per request or per
/// segment reads far slower. Measured on this machine, 2 x 512 MiB evicted, plain reads
/// around the page cache, medians of 5: 0.95-0.98 s into 4 KiB pages (1 and 4 MiB
/// reads, 8 to 32 in flight), 0.34-0.41 s into huge pages (512 KiB to 4 MiB, 2 to 16 in
/// flight), against 0.6-0.7 s through the page cache. Where huge pages cannot be had the
/// buffer is still a buffer, only backed by small pages.
pub(crate) struct AlignedBuffer {
    /// `len` bytes from `start`: a mapping of its own (what was mapped around it to
    /// find an aligned start is unmapped again).
    start: *mut u8,
    len: usize,
}

// SAFETY: the buffer owns its mapping alone, as a `Vec<u8>` owns its allocation; it is
// reached only through `&self` or `&mut self`.
unsafe impl Send for AlignedBuffer {}

impl AlignedBuffer {
    /// `len`: a multiple of [`DIRECT_ALIGN`]. Fails when the kernel gives no mapping
    /// (out of memory or address space).
    pub(crate) fn new(len: usize) -> io::Result<AlignedBuffer> {
        use rustix::mm::{Advice, MapFlags, ProtFlags};
        debug_assert_eq!(len % DIRECT_ALIGN, 0);
        // One huge page longer than the buffer, so that an aligned start lies within.
        let mapped_len = len + HUGE_PAGE_LEN;
        // SAFETY: a new anonymous private mapping, at an address of the kernel's choice:
        // no memory of anyone else's is touched.
        let mapping = unsafe {
            rustix::mm::mmap_anonymous(
                std::ptr::null_mut(),
                mapped_len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE,
            )
        }?
        .cast::<u8>();
        let head = mapping.align_offset(HUGE_PAGE_LEN);
        let tail = mapped_len - head - len;
        // SAFETY: `head < HUGE_PAGE_LEN`, so the start and its `len` bytes lie within
        // the mapping, and so do the stretches before and after them.
        let (start, end) = unsafe { (mapping.add(head), mapping.add(head + len)) };
        // SAFETY: the stretches before and after the buffer are ours, page-aligned (the
        // mapping, the start and `len` are) and not used: unmapped, so that the buffer
        // takes no more address space than its length. A failure leaves them mapped.
        unsafe {
            if head > 0 {
                let _ = rustix::mm::munmap(mapping.cast(), head);
            }
            if tail > 0 {
                let _ = rustix::mm::munmap(end.cast(), tail);
            }
        }
        // SAFETY: the range lies within our own mapping, not touched yet; the advice
        // changes no contents. Only a hint: where the kernel refuses it (no transparent
        // huge pages), small pages back the buffer.
        let _ = unsafe { rustix::mm::madvise(start.cast(), len, Advice::LinuxHugepage) };
        Ok(AlignedBuffer { start, len })
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: `len` bytes from `start` are mapped, readable and writable, filled with
        // zeros by the kernel at first, so initialised; `&mut self` makes the slice the
        // only reference to them.
        unsafe { std::slice::from_raw_parts_mut(self.start, self.len) }
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: as in `as_mut_slice`; `&self` allows no writer meanwhile.
        unsafe { std::slice::from_raw_parts(self.start, self.len) }
    }
}

impl Drop for AlignedBuffer {
    fn drop(&mut self) {
        // SAFETY: the mapping is ours, and no slice of it outlives `self`. Failing to
        // unmap would only leave it mapped.
        let _ = unsafe { rustix::mm::munmap(self.start.cast(), self.len) };
    }
}

/// A zeroed buffer of `len` bytes, or `OutOfMemory` where it cannot be had (an
/// address-space limit): for buffers a read can do without, so that the caller goes on
/// another way, or fails one file, instead of the process ended by a failed `Vec`.
///
/// Allocated zeroed (`calloc`), as `vec![0; len]` is, not reserved and then filled:
/// a buffer of megabytes comes as fresh pages the kernel zeroes when first touched,
/// so filling it writes every page once more before the first read does. That cost
/// 35-70 ms a 4 MiB buffer in a debug build (a byte loop; minutes under valgrind),
/// during which a cancelled check could not stop (a C test under valgrind saw 1.7 s).
pub(crate) fn try_zeroed_buffer(len: usize) -> io::Result<Vec<u8>> {
    if len == 0 {
        return Ok(Vec::new());
    }
    let out_of_memory = || io::Error::from(io::ErrorKind::OutOfMemory);
    let layout = std::alloc::Layout::array::<u8>(len).map_err(|_| out_of_memory())?;
    // SAFETY: `layout` has a non-zero size. The memory comes from the global
    // allocator with the layout a `Vec<u8>` of capacity `len` has, zeroed, so all its
    // `len` bytes are initialised, and the `Vec` frees it with that same layout.
    let start = unsafe { std::alloc::alloc_zeroed(layout) };
    if start.is_null() {
        return Err(out_of_memory());
    }
    // SAFETY: `start` is a live allocation of `len` initialised bytes with the layout
    // of a `Vec<u8>` of capacity `len` (above), owned by nothing else.
    Ok(unsafe { Vec::from_raw_parts(start, len, len) })
}

/// How far ahead of a large file's reader [`ReadAhead`] keeps the kernel reading.
const READ_AHEAD: u64 = 32 * 1024 * 1024;

/// The stretch [`ReadAhead`] asks for at a time.
const READ_AHEAD_STEP: u64 = 8 * 1024 * 1024;

/// Keeps the kernel reading a large file ahead of whoever reads and hashes it
/// (`POSIX_FADV_WILLNEED` on the next stretches): on storage that is not cached,
/// several reads are then in flight while the hash works through what came in, where
/// the kernel's own read-ahead keeps one window. On cached data it costs a lookup of
/// pages already there. Only hints: errors are ignored.
pub(crate) struct ReadAhead<'f> {
    file: &'f File,
    /// Where the part read ends.
    end: u64,
    /// Everything before this has been asked for.
    advised: u64,
}

impl<'f> ReadAhead<'f> {
    /// For reading `file` from `start` to `end`.
    pub(crate) fn new(file: &'f File, start: u64, end: u64) -> ReadAhead<'f> {
        ReadAhead {
            file,
            end,
            advised: start,
        }
    }

    /// The reader is at `position`: asks for what follows, up to `READ_AHEAD` past it.
    pub(crate) fn at(&mut self, position: u64) {
        while self.advised < self.end && self.advised < position.saturating_add(READ_AHEAD) {
            let len = READ_AHEAD_STEP.min(self.end - self.advised);
            let _ = rustix::fs::fadvise(
                self.file,
                self.advised,
                NonZeroU64::new(len),
                rustix::fs::Advice::WillNeed,
            );
            self.advised += len;
        }
    }
}

/// How long an open waits, at most, for a descriptor while the process has none left.
const DESCRIPTOR_WAIT: Duration = Duration::from_millis(500);

/// `openat`, tried again while the process (or the system) is out of descriptors, for
/// up to [`DESCRIPTOR_WAIT`]. Why: a check bounds its readers by the process's
/// open-file limit, but cannot know what other checks running at once, or the host
/// program, hold; the readers of another check close their files within a read or
/// two, so such a shortage passes (four threads of checks of 400 files, 100 readers
/// each, under a limit of 256: 3 of 12 checks failed files with "Too many open files"
/// before). A shortage that lasts is the error it was, and for a second after such a
/// wait has failed, opens fail at once instead of waiting again: a process that holds
/// every descriptor itself gets its files' errors in seconds, not half a second each.
fn openat_waiting<P: rustix::path::Arg + Copy>(
    dir: BorrowedFd<'_>,
    name: P,
    flags: OFlags,
) -> io::Result<OwnedFd> {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    /// When a wait last failed: milliseconds since `EPOCH`, plus one (0: never).
    static LAST_FAILED_WAIT: AtomicU64 = AtomicU64::new(0);
    let now_ms = || EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1;
    let may_wait = || match LAST_FAILED_WAIT.load(Ordering::Relaxed) {
        0 => true,
        failed => now_ms().saturating_sub(failed) > 1000,
    };
    // Read the clock only once short of descriptors: this is every file's open.
    let mut started: Option<Instant> = None;
    let mut pause = Duration::from_millis(1);
    loop {
        match rustix::fs::openat(dir, name, flags, Mode::empty()) {
            Err(error @ (rustix::io::Errno::MFILE | rustix::io::Errno::NFILE)) => {
                let waited = started.get_or_insert_with(Instant::now).elapsed();
                if waited >= DESCRIPTOR_WAIT {
                    LAST_FAILED_WAIT.store(now_ms(), Ordering::Relaxed);
                    return Err(error.into());
                }
                if !may_wait() {
                    return Err(error.into());
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(32));
            }
            result => return result.map_err(io::Error::from),
        }
    }
}

/// The longest name the kernel resolves in one call (`PATH_MAX`, with its NUL).
/// Longer names are opened one directory at a time.
const PATH_MAX: usize = 4096;

/// An open directory: the root of a check, or a directory met while walking a tree.
/// Names are opened and `stat`ed relative to its descriptor. For the root it also
/// keeps the check on the directory it started with, should the path be renamed.
#[derive(Debug)]
pub(crate) struct RootDir {
    fd: OwnedFd,
}

/// What `stat` tells of a file (symlinks followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileStat {
    pub is_regular: bool,
    pub len: u64,
    /// Device and inode: which file it is, to tell a file from its replacement.
    pub dev: u64,
    pub ino: u64,
}

impl FileStat {
    fn new(stat: &Stat) -> FileStat {
        FileStat {
            is_regular: FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile,
            len: stat.st_size as u64,
            dev: stat.st_dev,
            ino: stat.st_ino,
        }
    }
}

/// Why a name could not be opened as a regular file.
#[derive(Debug)]
pub(crate) enum OpenError {
    Io(io::Error),
    /// A directory, FIFO, socket or device: opened without blocking, never read.
    NotRegular,
}

/// The kind of a directory entry, as the directory itself tells it (no `stat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    Directory,
    RegularFile,
    Symlink,
    /// FIFO, socket, device.
    Special,
    /// The file system does not say (`DT_UNKNOWN`): ask `stat`.
    Unknown,
}

/// One entry of a listed directory (never `.` or `..`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DirEntry {
    pub name: CString,
    pub kind: EntryKind,
}

impl RootDir {
    /// Opens `path`, which must be a directory (`O_DIRECTORY`: anything else fails with
    /// `ENOTDIR`).
    pub(crate) fn open(path: &Path) -> io::Result<RootDir> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = openat_waiting(rustix::fs::CWD, path, flags)?;
        Ok(RootDir { fd })
    }

    /// A new open file description of the same directory, for one worker: every
    /// `openat`/`fstatat` through a descriptor shared by threads makes the kernel count
    /// a reference on its `struct file`, and two cores counting on one slow each other
    /// down (measured: 7 % of a check of a million empty files). The caller falls back
    /// to sharing when this fails.
    pub(crate) fn for_worker(&self) -> io::Result<RootDir> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&self.fd, c".", flags, Mode::empty())?;
        Ok(RootDir { fd })
    }

    /// Opens the subdirectory `name` (one component) for a walk: `O_NOFOLLOW`, so a
    /// symlink, even one swapped in since the directory was listed, is never entered.
    pub(crate) fn open_subdirectory(&self, name: &CStr) -> io::Result<RootDir> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = openat_waiting(self.fd.as_fd(), name, flags)?;
        Ok(RootDir { fd })
    }

    /// `fstatat(dir, name)`, following symlinks.
    pub(crate) fn stat(&self, name: &CStr) -> io::Result<FileStat> {
        self.in_parent(name, |dir, leaf| {
            let stat = rustix::fs::statat(dir, leaf, AtFlags::empty())?;
            Ok(FileStat::new(&stat))
        })
    }

    /// `openat(dir, name)` for reading: `O_NONBLOCK`, so that a FIFO opens at once
    /// instead of waiting for a writer; `O_NOCTTY`, so that a terminal never becomes
    /// the process's controlling one; `O_CLOEXEC`, as std does.
    pub(crate) fn open_file(&self, name: &CStr) -> io::Result<File> {
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        self.in_parent(name, |dir, leaf| {
            Ok(File::from(openat_waiting(dir, leaf, flags)?))
        })
    }

    /// Opens `name` (relative to this directory, or absolute) for reading, only if it
    /// is a regular file, and never blocking: with `O_NONBLOCK` a FIFO opens at once,
    /// and the type is then checked on the open descriptor, not on the name, which
    /// could have been swapped for a FIFO or a device since it was sized. Returns the
    /// file and what `fstat` says of it. Listed files and the manifest are opened
    /// through it alike.
    ///
    /// A UNIX socket cannot be opened at all (`ENXIO`, as for a device file whose
    /// device is absent): that too is a file that is not regular.
    pub(crate) fn open_regular(&self, name: &CStr) -> Result<(File, FileStat), OpenError> {
        let file = match self.open_file(name) {
            Ok(file) => file,
            Err(error) if error.raw_os_error() == Some(rustix::io::Errno::NXIO.raw_os_error()) => {
                return Err(OpenError::NotRegular)
            }
            Err(error) => return Err(OpenError::Io(error)),
        };
        let stat = rustix::fs::fstat(&file).map_err(|e| OpenError::Io(e.into()))?;
        let stat = FileStat::new(&stat);
        if !stat.is_regular {
            return Err(OpenError::NotRegular);
        }
        Ok((file, stat))
    }

    /// Every entry of this directory, in the order the file system gives them.
    pub(crate) fn entries(&self) -> io::Result<Vec<DirEntry>> {
        let mut entries = Vec::new();
        for entry in Dir::read_from(&self.fd)? {
            let entry = entry?;
            let name = entry.file_name();
            if name == c"." || name == c".." {
                continue;
            }
            let kind = match entry.file_type() {
                FileType::Directory => EntryKind::Directory,
                FileType::RegularFile => EntryKind::RegularFile,
                FileType::Symlink => EntryKind::Symlink,
                FileType::Unknown => EntryKind::Unknown,
                _ => EntryKind::Special,
            };
            entries.push(DirEntry {
                name: name.to_owned(),
                kind,
            });
        }
        Ok(entries)
    }

    /// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`: the entry itself, a symlink as a
    /// symlink. `None` for the kind when it is none of the listed ones.
    pub(crate) fn entry_kind(&self, name: &CStr) -> io::Result<EntryKind> {
        let stat = rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW)?;
        Ok(match FileType::from_raw_mode(stat.st_mode) {
            FileType::Directory => EntryKind::Directory,
            FileType::RegularFile => EntryKind::RegularFile,
            FileType::Symlink => EntryKind::Symlink,
            _ => EntryKind::Special,
        })
    }

    /// Runs `call` with the directory and the name to give it: this directory and
    /// `name` itself, unless `name` is too long for the kernel to resolve in one call
    /// (`PATH_MAX`, as in a tree deeper than that); then its directories are opened one
    /// at a time, following symlinks as one call would, and `call` gets the last one
    /// and the final component.
    fn in_parent<T>(
        &self,
        name: &CStr,
        call: impl FnOnce(BorrowedFd<'_>, &CStr) -> io::Result<T>,
    ) -> io::Result<T> {
        let bytes = name.to_bytes();
        if bytes.len() < PATH_MAX || bytes.first() == Some(&b'/') {
            return call(self.fd.as_fd(), name);
        }
        let (dirs, leaf) = match bytes.iter().rposition(|&b| b == b'/') {
            Some(slash) => (&bytes[..slash], &bytes[slash + 1..]),
            None => (&b""[..], bytes),
        };
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let mut dir: Option<OwnedFd> = None;
        for part in dirs.split(|&b| b == b'/').filter(|p| !p.is_empty()) {
            let part = CString::new(part).expect("a C string's part holds no NUL");
            let parent = dir.as_ref().map_or(self.fd.as_fd(), |fd| fd.as_fd());
            dir = Some(rustix::fs::openat(parent, &part, flags, Mode::empty())?);
        }
        let leaf = CString::new(if leaf.is_empty() { &b"."[..] } else { leaf })
            .expect("a C string's part holds no NUL");
        let parent = dir.as_ref().map_or(self.fd.as_fd(), |fd| fd.as_fd());
        call(parent, &leaf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_cache_is_asked_without_reading_and_answers_like_a_read() {
        let path = std::env::temp_dir().join(format!("checksig-os-cached-{}", std::process::id()));
        let pages = 16;
        std::fs::write(&path, vec![7u8; pages * 4096]).unwrap();
        let file = File::open(&path).unwrap();
        file.sync_all().unwrap();
        let mut probe = [0u8; 4096];
        // Just written: cached, by both ways of asking.
        assert_eq!(is_in_page_cache(&file, &mut probe), Some(true));
        assert_eq!(is_read_without_waiting(&file, &mut probe), Some(true));
        let Some(cached) = cached_pages(&file, (pages * 4096) as u64) else {
            eprintln!("note: no cachestat here (before Linux 6.5, or refused)");
            std::fs::remove_file(&path).unwrap();
            return;
        };
        assert_eq!(
            cached * rustix::param::page_size() as u64,
            (pages * 4096) as u64
        );
        // Evicted (where the file system drops pages: not tmpfs): not cached, and
        // asking reads nothing in.
        rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed).unwrap();
        if cached_pages(&file, (pages * 4096) as u64) == Some(0) {
            for _ in 0..3 {
                std::thread::sleep(std::time::Duration::from_millis(10));
                assert_eq!(is_in_page_cache(&file, &mut probe), Some(false));
            }
            assert_eq!(cached_pages(&file, (pages * 4096) as u64), Some(0));
        } else {
            eprintln!("note: this file system keeps evicted files cached (tmpfs?)");
        }
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn an_aligned_buffer_starts_on_a_huge_page_and_is_zeroed_and_writable() {
        // (one block; one huge page; more than one)
        for len in [DIRECT_ALIGN, HUGE_PAGE_LEN, 3 * HUGE_PAGE_LEN] {
            let mut buffer = AlignedBuffer::new(len).unwrap();
            let slice = buffer.as_mut_slice();
            assert_eq!(slice.len(), len);
            assert_eq!(slice.as_ptr() as usize % HUGE_PAGE_LEN, 0, "{len}");
            assert!(slice.iter().all(|&byte| byte == 0), "{len}");
            slice[0] = 1;
            slice[len - 1] = 2;
            // Moved to another thread and read there, as a piece is handed to the hash.
            let buffer = std::thread::spawn(move || buffer).join().unwrap();
            let slice = buffer.as_slice();
            assert_eq!((slice[0], slice[len - 1]), (1, 2), "{len}");
        }
    }
}
