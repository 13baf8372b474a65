//! The storage's limit for the benchmark: plain reads of the files a manifest lists,
//! no hashing, on N threads at once, each opening, reading to the end and closing
//! whole files taken in manifest order. What checksig's cold rows are compared with:
//! no checker can read the same files faster than this.
//!
//!     cargo run --release --example storage_limit -- MANIFEST THREADS
//!
//! Prints the seconds taken and the bytes read. The caller evicts the files from the
//! page cache first (bench/bench.py does, with posix_fadvise DONTNEED).

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

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
    let next = AtomicUsize::new(0);
    let bytes = AtomicU64::new(0);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut buffer = vec![0u8; 256 * 1024];
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(name) = names.get(i) else { return };
                    let path = root.join(std::str::from_utf8(name).expect("ASCII names"));
                    let mut file = File::open(path).expect("listed files exist");
                    loop {
                        let read = file.read(&mut buffer).expect("files are readable");
                        if read == 0 {
                            break;
                        }
                        bytes.fetch_add(read as u64, Ordering::Relaxed);
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
