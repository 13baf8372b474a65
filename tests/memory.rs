//! Under a limit on the address space (`ulimit -v`, common on shared compute
//! clusters), a check of large files not in the page cache ends with its verdict,
//! never with the process ended: each thread and buffer beyond the first reader is
//! started only where the address space left allows it (`pool::affordable`). Swept
//! over limits in a child process (this test binary run again under `prlimit --as`),
//! the files evicted before each run.

mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use checksig::{check, Options};
use common::{child_outcome, evict, sha1_hex, TempDir};
use sha2::{Digest, Sha256};

/// In the child: checks `CHECKSIG_CHILD_ROOT` against `CHECKSIG_CHILD_MANIFEST` and
/// prints the failing names, or the error.
#[test]
fn child_checks_the_root_it_is_given() {
    let (Some(root), Some(manifest)) = (
        std::env::var_os("CHECKSIG_CHILD_ROOT"),
        std::env::var_os("CHECKSIG_CHILD_MANIFEST"),
    ) else {
        return;
    };
    let readers = std::env::var("CHECKSIG_CHILD_READERS").ok();
    let options = Options {
        manifest: Some(PathBuf::from(manifest)),
        readers: readers.and_then(|readers| readers.parse().ok()),
        ..Options::default()
    };
    match check(Path::new(&root), &options) {
        Ok(report) => {
            let failures: Vec<String> = report
                .failures
                .iter()
                .map(|failure| String::from_utf8_lossy(&failure.message()).into_owned())
                .collect();
            println!("outcome: failures {failures:?}");
        }
        Err(error) => println!("outcome: error {error}"),
    }
}

fn blake3_hex(contents: &[u8]) -> String {
    blake3::hash(contents).to_hex().to_string()
}

fn sha256_hex(contents: &[u8]) -> String {
    hex::encode(Sha256::digest(contents))
}

#[test]
fn a_check_under_an_address_space_limit_ends_with_its_verdict_or_an_error() {
    // Three large files (each read on threads of its own when cold), and small files
    // (whose cold reads make the pool start more readers), one of them tampered with.
    let dir = TempDir::new("address-space");
    let mut names = Vec::new();
    for (name, mib) in [("a", 40u32), ("b", 48), ("c", 36)] {
        let contents: Vec<u8> = (0..mib << 20).map(|i| (i * 7 + i / 4093) as u8).collect();
        dir.write(name.as_bytes(), &contents);
        names.push((name.to_string(), contents));
    }
    for i in 0..300 {
        let contents = format!("small file {i}\n").repeat(1000).into_bytes();
        let name = format!("s/{i:03}");
        dir.write(name.as_bytes(), &contents);
        names.push((name, contents));
    }
    let mut b3sums = String::new();
    let mut mixed = String::new();
    for (i, (name, contents)) in names.iter().enumerate() {
        b3sums.push_str(&format!("{}  {name}\n", blake3_hex(contents)));
        let line = match i % 3 {
            0 => format!("SHA1 ({name}) = {}\n", sha1_hex(contents)),
            1 => format!("BLAKE3 ({name}) = {}\n", blake3_hex(contents)),
            _ => format!("SHA256 ({name}) = {}\n", sha256_hex(contents)),
        };
        mixed.push_str(&line);
    }
    dir.write(b"b3sums.txt", b3sums.as_bytes());
    dir.write(b"mixed.txt", mixed.as_bytes());
    dir.write(b"s/007", b"not what was listed\n");
    let tampered = format!("{:?}", format!("\"{}/s/007\" - mismatch", dir.display()));

    // The default readers, and a number chosen by the caller (started at once).
    let cases = [("b3sums.txt", ""), ("mixed.txt", ""), ("b3sums.txt", "64")];
    for (manifest, readers) in cases {
        for limit_mib in (40..=280).step_by(16) {
            for (name, _) in &names[..3] {
                evict(&dir.join(name.as_bytes()));
            }
            let label = format!("{manifest}, readers {readers:?}, limited to {limit_mib} MiB");
            let wrapper = ["prlimit".to_string(), format!("--as={}", limit_mib << 20)];
            let envs = [
                ("CHECKSIG_CHILD_ROOT", dir.path().as_os_str()),
                ("CHECKSIG_CHILD_MANIFEST", OsStr::new(manifest)),
                ("CHECKSIG_CHILD_READERS", OsStr::new(readers)),
            ];
            let child = "child_checks_the_root_it_is_given";
            let outcome = child_outcome(child, &wrapper, &envs, &label);
            // The tampered file alone fails: no file for want of memory.
            assert_eq!(outcome, format!("failures [{tampered}]"), "{label}");
        }
    }
}
