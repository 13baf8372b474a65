//! The storage's limit for the benchmark: plain reads of the files a manifest lists,
//! no hashing, on N threads at once. The work is cut into pieces taken in manifest
//! order: a small file whole, a large one in stretches of 8 MiB (read with `pread`),
//! so that N reads are in flight whether the set is many small files or two large
//! ones. What checksig's cold rows are compared with: no checker can read the same
//! files faster than this.
//!
//!     cargo run --release --example storage_limit -- MANIFEST THREADS [direct]
//!
//! `direct`: files of 32 MiB or more are read around the page cache (`O_DIRECT`) in
//! stretches of 2 MiB, each thread into a buffer of one huge page, as checksig reads
//! such a file when it is not in the page cache; smaller ones as before. On the virtio disk measured
//! here that is the faster way by far (see the README), so the benchmark reports both.
//!
//! Prints the seconds its reads took and the bytes read. bench/bench.py times the
//! whole process instead, as it times every tool, and evicts the files from the page
//! cache first (posix_fadvise DONTNEED).

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

/// Large files are read in stretches of this many bytes, each by whichever thread is
/// free (through the page cache).
const PIECE: u64 = 8 * 1024 * 1024;

/// A huge page: the stretch and the buffer of a read around the page cache.
const HUGE_PAGE: usize = 2 * 1024 * 1024;

/// Files this large are read around the page cache in `direct` mode (checksig's
/// `ALTERNATE_MIN_LEN`, above which a file not in the page cache is read so).
const DIRECT_MIN_LEN: u64 = 32 * 1024 * 1024;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !(3..=4).contains(&args.len()) || args.get(3).is_some_and(|mode| mode != "direct") {
        eprintln!("usage: storage_limit MANIFEST THREADS [direct]");
        std::process::exit(2);
    }
    let manifest = Path::new(&args[1]);
    let threads: usize = args[2].parse().expect("THREADS is a number");
    let direct = args.len() == 4;
    let root = manifest
        .parent()
        .expect("the manifest is in the data set's root");
    let text = std::fs::read(manifest).expect("the manifest is readable");
    // `<hex>  <name>` lines, as the benchmark writes them (no escapes).
    let names: Vec<&[u8]> = text
        .split(|&b| b == b'\n')
        .filter_map(|line| {
            line.iter()
                .position(|&b| b == b' ')
                .map(|at| &line[at + 2..])
        })
        .collect();
    // The pieces: (file, offset, length, around the page cache); `u64::MAX` reads a
    // small file to its end.
    let mut pieces: Vec<(usize, u64, u64, bool)> = Vec::new();
    let paths: Vec<std::path::PathBuf> = names
        .iter()
        .map(|name| root.join(std::str::from_utf8(name).expect("ASCII names")))
        .collect();
    for (index, path) in paths.iter().enumerate() {
        let len = std::fs::metadata(path).expect("listed files exist").len();
        let around_cache = direct && len >= DIRECT_MIN_LEN;
        let piece = if around_cache {
            HUGE_PAGE as u64
        } else {
            PIECE
        };
        if len <= PIECE {
            pieces.push((index, 0, u64::MAX, false));
        } else {
            pieces.extend(
                (0..len)
                    .step_by(piece as usize)
                    .map(|at| (index, at, piece, around_cache)),
            );
        }
    }
    let next = AtomicUsize::new(0);
    let bytes = AtomicU64::new(0);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut buffer = vec![0u8; 256 * 1024];
                let mut huge = direct.then(HugePage::new);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(file, offset, len, around_cache)) = pieces.get(i) else {
                        return;
                    };
                    if let (Some(huge), true) = (&mut huge, around_cache) {
                        // (Opened for each stretch, as the plain reads are: an open is
                        // nothing next to 2 MiB read.)
                        let opened = OpenOptions::new()
                            .read(true)
                            .custom_flags(libc::O_DIRECT)
                            .open(&paths[file])
                            .expect("the file system reads around the page cache");
                        let read = read_direct(&opened, huge.as_mut_slice(), offset);
                        bytes.fetch_add(read, Ordering::Relaxed);
                        continue;
                    }
                    let mut opened = File::open(&paths[file]).expect("listed files exist");
                    if len == u64::MAX {
                        loop {
                            let read = opened.read(&mut buffer).expect("files are readable");
                            if read == 0 {
                                break;
                            }
                            bytes.fetch_add(read as u64, Ordering::Relaxed);
                        }
                        continue;
                    }
                    let mut done = 0;
                    while done < len {
                        let read = opened
                            .read_at(&mut buffer, offset + done)
                            .expect("files are readable");
                        if read == 0 {
                            break;
                        }
                        bytes.fetch_add(read as u64, Ordering::Relaxed);
                        done += read as u64;
                    }
                }
            });
        }
    });
    println!(
        "{:.3} {}",
        start.elapsed().as_secs_f64(),
        bytes.load(Ordering::Relaxed)
    );
}

/// Reads a stretch of `file` from `offset` into `buffer` around the page cache: short
/// only at the end of the file, where a read ends off the block alignment.
fn read_direct(file: &File, buffer: &mut [u8], offset: u64) -> u64 {
    let mut done = 0;
    while done < buffer.len() {
        let read = file
            .read_at(&mut buffer[done..], offset + done as u64)
            .expect("files are readable");
        done += read;
        if read == 0 || done % 4096 != 0 {
            break;
        }
    }
    done as u64
}

/// One huge page of anonymous memory, aligned and advised to be backed by a huge page
/// (`MADV_HUGEPAGE`), as checksig's buffers for reads around the page cache are.
struct HugePage {
    /// A mapping twice as long, so that an aligned huge page lies within it.
    mapping: *mut libc::c_void,
}

impl HugePage {
    fn new() -> HugePage {
        // SAFETY: a new private anonymous mapping at an address of the kernel's choice.
        let mapping = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                2 * HUGE_PAGE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(mapping, libc::MAP_FAILED, "no memory for a buffer");
        let page = HugePage { mapping };
        // SAFETY: the aligned huge page lies within our mapping, not touched yet; the
        // advice changes no contents.
        unsafe { libc::madvise(page.start().cast(), HUGE_PAGE, libc::MADV_HUGEPAGE) };
        page
    }

    fn start(&self) -> *mut u8 {
        let offset = self.mapping.cast::<u8>().align_offset(HUGE_PAGE);
        // SAFETY: `offset < HUGE_PAGE`: the huge page from there lies within the mapping.
        unsafe { self.mapping.cast::<u8>().add(offset) }
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: one huge page within the mapping, readable, writable and zeroed by the
        // kernel; `&mut self` makes the slice its only reference.
        unsafe { std::slice::from_raw_parts_mut(self.start(), HUGE_PAGE) }
    }
}

impl Drop for HugePage {
    fn drop(&mut self) {
        // SAFETY: the mapping is ours, and no slice of it outlives `self`.
        unsafe { libc::munmap(self.mapping, 2 * HUGE_PAGE) };
    }
}
