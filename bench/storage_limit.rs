//! The storage's limit for the benchmark: plain reads of the files a manifest lists,
//! no hashing, on N threads at once. The work is cut into pieces taken in manifest
//! order: a small file whole, a large one in stretches of 8 MiB (read with `pread`),
//! so that N reads are in flight whether the set is many small files or two large
//! ones. What checksig's cold rows are compared with: no checker can read the same
//! files faster than this.
//!
//!     cargo run --release --example storage_limit -- MANIFEST THREADS
//!
//! Prints the seconds its reads took and the bytes read. bench/bench.py times the
//! whole process instead, as it times every tool, and evicts the files from the page
//! cache first (posix_fadvise DONTNEED).

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

/// Large files are read in stretches of this many bytes, each by whichever thread is
/// free.
const PIECE: u64 = 8 * 1024 * 1024;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: storage_limit MANIFEST THREADS");
        std::process::exit(2);
    }
    let manifest = Path::new(&args[1]);
    let threads: usize = args[2].parse().expect("THREADS is a number");
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
    // The pieces: (file, offset, length); `u64::MAX` reads a small file to its end.
    let mut pieces: Vec<(usize, u64, u64)> = Vec::new();
    let paths: Vec<std::path::PathBuf> = names
        .iter()
        .map(|name| root.join(std::str::from_utf8(name).expect("ASCII names")))
        .collect();
    for (index, path) in paths.iter().enumerate() {
        let len = std::fs::metadata(path).expect("listed files exist").len();
        if len <= PIECE {
            pieces.push((index, 0, u64::MAX));
        } else {
            pieces.extend(
                (0..len)
                    .step_by(PIECE as usize)
                    .map(|at| (index, at, PIECE)),
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
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(file, offset, len)) = pieces.get(i) else {
                        return;
                    };
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
