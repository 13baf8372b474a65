//! BLAKE3 of one large file on several threads.
//!
//! SHA-1 and SHA-2 of one file are sequential; BLAKE3 is not. Its input is a tree of
//! 1 KiB chunks, and a subtree's chaining value can be computed apart from the rest
//! and merged later (the crate's `hazmat` API, after section 2.1 of the BLAKE3 paper).
//! So a large file is cut into subtrees exactly where BLAKE3's own tree splits
//! (`left_subtree_len`: every left subtree a power of two of chunks), each thread
//! claims the next subtree in file order, reads it with `pread` into its own buffer
//! and hashes it on the core that read it, and the chaining values are merged up to
//! the root. The result is bit for bit `blake3::hash` of the file (tested against it
//! at many lengths).
//!
//! A file not in the page cache is read around it ([`Reads::AroundCache`]): each thread
//! reads its subtrees in pieces of one huge page with `O_DIRECT`, as the pool reads a
//! cold SHA file, so that the kernel neither fills nor copies out its page cache, and
//! more threads than cores keep reads in flight while others hash.
//!
//! Why not the crate's `update_rayon`: rayon keeps a global pool of threads alive
//! after the call, and checksig promises that no thread outlives a call (a process may
//! fork after a check). Why not `mmap` (what `b3sum` does): a file truncated under a
//! mapping kills the whole host process with SIGBUS.

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;

use blake3::hazmat::{
    left_subtree_len, merge_subtrees_non_root, merge_subtrees_root, ChainingValue, HasherExt, Mode,
};

use crate::algorithm::Digest;
use crate::control::Control;
use crate::os::{
    fill_at, try_zeroed_buffer, AlignedBuffer, ReadAhead, DIRECT_ALIGN, HUGE_PAGE_LEN,
};

/// The smallest subtree a thread claims: large enough that claiming and merging cost
/// nothing next to hashing it.
const MIN_SUBTREE_LEN: u64 = 4 * 1024 * 1024;

/// Subtrees per thread, about: enough that threads finish together whatever the split.
const SUBTREES_PER_THREAD: u64 = 8;

/// Each thread's read buffer: large enough for BLAKE3's widest SIMD (16 chunks at a
/// time), small enough to stay in the core's cache while it is hashed. The kernel's
/// copy out of the page cache is half the time here (a profile of 1 GiB: 46 % in
/// `_copy_to_iter`, 39 % in BLAKE3's AVX-512 code); measured on 1 GiB in the page
/// cache: 32 KiB 0.16 s, 64 KiB 0.15 s, 128 KiB 0.15 s, 256 KiB 0.19 s, 512 KiB
/// 0.20 s, 2 MiB 0.20 s.
const READ_LEN: usize = 128 * 1024;

/// How [`hash_blake3`] reads the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reads {
    /// Through the page cache, [`READ_LEN`] at a time, the kernel asked to read ahead.
    ThroughCache,
    /// Around the page cache (`O_DIRECT`), a huge page at a time into buffers of huge
    /// pages ([`AlignedBuffer`]): for a file not in the page cache. Where the file
    /// system refuses such reads, or no buffer can be mapped, through the cache.
    AroundCache,
}

/// The BLAKE3 digest of the first `len` bytes of `file` (its size when opened), hashed
/// by `threads` threads (the calling one among them), read as `reads` says. Fails if
/// the file is shorter than `len` when read, or has changed size by the end (a file
/// being written is not the file to vouch for); stops with `Interrupted` when
/// `control` is cancelled. `buffer`: the calling thread's own, for its reads through
/// the page cache, so that a file is hashed even when no other buffer can be had.
pub(crate) fn hash_blake3(
    file: &File,
    len: u64,
    threads: usize,
    reads: Reads,
    control: &Control,
    buffer: &mut [u8],
) -> io::Result<Digest> {
    if len <= MIN_SUBTREE_LEN {
        // One subtree: the plain hasher, no merge (a single chunk has no parent).
        let mut hasher = blake3::Hasher::new();
        read_into(
            file,
            (0, len),
            &mut hasher,
            buffer,
            false,
            control,
            &AtomicU64::new(0),
        )?;
        return Ok(Digest::new(hasher.finalize().as_bytes()));
    }
    let threads = threads.max(1);
    if reads == Reads::AroundCache {
        let counted = AtomicU64::new(0);
        match hash_subtrees_around_cache(file, len, threads, control, &counted, buffer) {
            // Refused by a file system that took the flag but not a read: every byte
            // again, through the cache, the progress put back as it was.
            Err(error) if error.kind() == io::ErrorKind::InvalidInput => {
                let counted = counted.into_inner();
                control.bytes_done.fetch_sub(counted, Ordering::Relaxed);
            }
            Ok(None) => {}
            Ok(Some(digest)) => return Ok(digest),
            Err(error) => return Err(error),
        }
    }
    let counted = AtomicU64::new(0);
    hash_subtrees(file, len, threads, Vec::new(), control, &counted, buffer)
}

/// [`hash_blake3`] around the page cache: `None` where the file system refuses the
/// flag or no buffer can be mapped (nothing read yet). The file is left as it was
/// opened, reading through the page cache.
fn hash_subtrees_around_cache(
    file: &File,
    len: u64,
    threads: usize,
    control: &Control,
    counted: &AtomicU64,
    own: &mut [u8],
) -> io::Result<Option<Digest>> {
    let buffers = (0..threads).map(|_| AlignedBuffer::new(HUGE_PAGE_LEN));
    let Ok(buffers) = buffers.collect::<io::Result<Vec<_>>>() else {
        return Ok(None);
    };
    if !crate::os::set_direct_reads(file, true) {
        return Ok(None);
    }
    let hashed = hash_subtrees(file, len, threads, buffers, control, counted, own);
    // Back as it was opened, for whoever reads the file next.
    crate::os::set_direct_reads(file, false);
    hashed.map(Some)
}

/// [`hash_blake3`] of a file longer than one subtree: `threads` threads each claim the
/// next subtree; each reads into its own buffer from `direct` (around the page cache,
/// the file's flag set), or, none left there, through the page cache into `own` (the
/// calling thread) or a new one. The bytes hashed are counted into the progress and
/// into `counted`.
fn hash_subtrees(
    file: &File,
    len: u64,
    threads: usize,
    mut direct: Vec<AlignedBuffer>,
    control: &Control,
    counted: &AtomicU64,
    own: &mut [u8],
) -> io::Result<Digest> {
    let max_subtree = MIN_SUBTREE_LEN.max(len / (threads as u64 * SUBTREES_PER_THREAD));
    let mut subtrees = Vec::new();
    let root = Node::plan(0, len, max_subtree, &mut subtrees);

    let values: Vec<Mutex<Option<ChainingValue>>> =
        subtrees.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    // `own`: the calling thread's buffer (helpers have none). A helper with no buffer
    // to be had leaves its subtrees to the others; the calling thread always has one.
    let work = |direct: Option<AlignedBuffer>, own: Option<&mut [u8]>| -> io::Result<()> {
        let around_cache = direct.is_some();
        let mut direct = direct;
        let mut cached: Vec<u8>;
        let buffer = match (&mut direct, own) {
            (Some(direct), _) => direct.as_mut_slice(),
            (None, Some(own)) => own,
            (None, None) => match try_zeroed_buffer(READ_LEN) {
                Ok(buffer) => {
                    cached = buffer;
                    &mut cached[..]
                }
                Err(_) => return Ok(()),
            },
        };
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(&(offset, length)) = subtrees.get(index) else {
                return Ok(());
            };
            let mut hasher = blake3::Hasher::new();
            hasher.set_input_offset(offset);
            let part = (offset, length);
            let read = read_into(
                file,
                part,
                &mut hasher,
                buffer,
                around_cache,
                control,
                counted,
            );
            if let Err(error) = read {
                // The others stop at their next subtree.
                next.store(subtrees.len(), Ordering::Relaxed);
                return Err(error);
            }
            *values[index].lock().unwrap_or_else(|e| e.into_inner()) =
                Some(hasher.finalize_non_root());
        }
    };
    thread::scope(|scope| {
        // A thread that cannot be had (a process or user limit) leaves its subtrees to
        // the others: they claim until none is left.
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| {
                let buffer = direct.pop();
                let helper = move || work(buffer, None);
                thread::Builder::new().spawn_scoped(scope, helper).ok()
            })
            .collect();
        let mine = work(direct.pop(), Some(own));
        let theirs = helpers
            .into_iter()
            .map(|helper| helper.join().expect("hashing helper panicked"));
        // The first error in thread order; all threads have stopped by now.
        std::iter::once(mine)
            .chain(theirs)
            .collect::<io::Result<()>>()
    })?;
    if file.metadata()?.len() != len {
        return Err(io::Error::other("the file changed size while it was read"));
    }
    let values: Vec<ChainingValue> = values
        .into_iter()
        .map(|value| {
            value
                .into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every subtree was hashed")
        })
        .collect();
    Ok(Digest::new(root.root_hash(&values).as_bytes()))
}

/// Feeds `len` bytes of `file` from `offset` to `hasher` through `buffer`, counting
/// them into the progress and into `counted`. `around_cache`: the file is read around
/// the page cache (`offset` and the buffer aligned): each read asks for a whole number
/// of blocks, which only the end of the file cuts short.
fn read_into(
    file: &File,
    (offset, len): (u64, u64),
    hasher: &mut blake3::Hasher,
    buffer: &mut [u8],
    around_cache: bool,
    control: &Control,
    counted: &AtomicU64,
) -> io::Result<()> {
    let shrank = || io::Error::other("the file shrank while it was read");
    let mut done = 0u64;
    let mut ahead = (!around_cache).then(|| ReadAhead::new(file, offset, offset + len));
    while done < len {
        if control.is_cancelled() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "cancelled"));
        }
        if let Some(ahead) = &mut ahead {
            ahead.at(offset + done);
        }
        let left = usize::try_from(len - done).unwrap_or(usize::MAX);
        let want = if around_cache {
            buffer.len().min(left.next_multiple_of(DIRECT_ALIGN))
        } else {
            buffer.len().min(left)
        };
        // (A file grown since it was sized: only its first `len` bytes.)
        let read = fill_at(file, &mut buffer[..want], offset + done, around_cache)?.min(left);
        if read < want.min(left) {
            // Short before `len`: the end of the file came first.
            return Err(shrank());
        }
        hasher.update(&buffer[..read]);
        control.bytes_done.fetch_add(read as u64, Ordering::Relaxed);
        counted.fetch_add(read as u64, Ordering::Relaxed);
        done += read as u64;
    }
    Ok(())
}

/// BLAKE3's tree over the file, down to the subtrees the threads hash.
enum Node {
    /// Subtree number `n` in file order.
    Subtree(usize),
    Parent(Box<Node>, Box<Node>),
}

impl Node {
    /// The tree over `len` bytes from `offset`, split where BLAKE3 splits until no
    /// part is longer than `max_subtree`; the parts are appended to `subtrees` as
    /// (offset, length), in file order.
    fn plan(offset: u64, len: u64, max_subtree: u64, subtrees: &mut Vec<(u64, u64)>) -> Node {
        if len <= max_subtree {
            subtrees.push((offset, len));
            return Node::Subtree(subtrees.len() - 1);
        }
        let left = left_subtree_len(len);
        Node::Parent(
            Box::new(Node::plan(offset, left, max_subtree, subtrees)),
            Box::new(Node::plan(offset + left, len - left, max_subtree, subtrees)),
        )
    }

    /// This subtree's chaining value, from its parts'.
    fn chaining_value(&self, values: &[ChainingValue]) -> ChainingValue {
        match self {
            Node::Subtree(index) => values[*index],
            Node::Parent(left, right) => merge_subtrees_non_root(
                &left.chaining_value(values),
                &right.chaining_value(values),
                Mode::Hash,
            ),
        }
    }

    /// The hash of the whole input, this node being its root (a parent: the input is
    /// longer than one part).
    fn root_hash(&self, values: &[ChainingValue]) -> blake3::Hash {
        match self {
            Node::Parent(left, right) => merge_subtrees_root(
                &left.chaining_value(values),
                &right.chaining_value(values),
                Mode::Hash,
            ),
            Node::Subtree(_) => unreachable!("inputs of one part are hashed whole"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `len` bytes of varied content in a temporary file.
    fn file_of(len: usize) -> (File, Vec<u8>) {
        let contents: Vec<u8> = (0..len).map(|i| (i * 7 + i / 1031) as u8).collect();
        let path = std::env::temp_dir().join(format!("checksig-tree-{}-{len}", std::process::id()));
        std::fs::write(&path, &contents).unwrap();
        let file = File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        (file, contents)
    }

    #[test]
    fn subtrees_merge_to_the_hash_of_the_whole() {
        let mib = 1024 * 1024;
        let lengths = [
            0,
            1,
            1024,
            1025,
            4 * mib,
            4 * mib + 1,
            8 * mib,
            8 * mib + 1024,
            9 * mib + 777,
            33 * mib + 3,
            64 * mib,
        ];
        for len in lengths {
            let (file, contents) = file_of(len);
            let expected = blake3::hash(&contents);
            for (threads, reads) in [1, 2, 3, 8].into_iter().flat_map(|threads| {
                [
                    (threads, Reads::ThroughCache),
                    (threads, Reads::AroundCache),
                ]
            }) {
                let control = Control::default();
                let digest =
                    hash_blake3(&file, len as u64, threads, reads, &control, &mut [0; 4096])
                        .unwrap();
                let label = format!("{len} {threads} {reads:?}");
                assert_eq!(digest.as_bytes(), expected.as_bytes(), "{label}");
                assert_eq!(control.progress().bytes_done, len as u64, "{label}");
            }
        }
    }

    #[test]
    fn a_file_shorter_than_its_size_fails() {
        // (ending on a block, and mid-block)
        for real_len in [5 * 1024 * 1024, 5 * 1024 * 1024 + 100] {
            let (file, _) = file_of(real_len);
            for reads in [Reads::ThroughCache, Reads::AroundCache] {
                let result = hash_blake3(
                    &file,
                    9 << 20,
                    2,
                    reads,
                    &Control::default(),
                    &mut [0; 4096],
                );
                let error = result.unwrap_err().to_string();
                assert!(error.contains("shrank"), "{real_len} {reads:?}: {error}");
            }
        }
    }

    #[test]
    fn a_cancelled_hash_stops() {
        let (file, _) = file_of(16 * 1024 * 1024);
        let control = Control::default();
        control.cancel();
        for reads in [Reads::ThroughCache, Reads::AroundCache] {
            let result = hash_blake3(&file, 16 << 20, 2, reads, &control, &mut [0; 4096]);
            assert_eq!(
                result.unwrap_err().kind(),
                io::ErrorKind::Interrupted,
                "{reads:?}"
            );
        }
    }
}
