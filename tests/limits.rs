//! Resource bounds: the check holds at most `jobs` files open, so it passes where the Go
//! version failed with "too many open files". This test lowers the open-file limit of
//! its own process, so it lives alone in this test binary (which also makes its count of
//! open descriptors trustworthy).

mod common;

use std::num::NonZeroUsize;

use checksig::{check, Options};
use common::{c_verify, TempDir};

#[test]
fn twenty_thousand_files_with_an_open_file_limit_of_64() {
    let dir = TempDir::new("nofile");
    let mut manifest = String::with_capacity(20_000 * 60);
    for i in 0..20_000 {
        let name = format!("d{:02}/f{i:05}.txt", i % 50);
        let contents = format!("file {i}\n");
        dir.write(name.as_bytes(), contents.as_bytes());
        manifest.push_str(&format!(
            "{}  {name}\n",
            common::sha1_hex(contents.as_bytes())
        ));
    }
    dir.manifest(manifest.as_bytes());
    dir.write(b"d07/f00007.txt", b"changed\n");

    let limit = libc::rlimit {
        rlim_cur: 64,
        rlim_max: 64,
    };
    // SAFETY: setrlimit with a valid struct; only this process (this test binary) is affected.
    let status = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    assert_eq!(status, 0, "setrlimit failed");
    let open_before = open_descriptors();
    let message = c_verify(dir.path());
    assert_eq!(
        message,
        Some(format!("\"{}/d07/f00007.txt\" - mismatch", dir.display()))
    );
    // Every descriptor the check opened (files, the root, the workers' roots) is closed.
    assert_eq!(open_descriptors(), open_before);

    // Asking for far more reads in flight than the limit allows: the readers are
    // bounded by it, and the check still passes where it should.
    for readers in [64, 1000] {
        let options = Options {
            readers: NonZeroUsize::new(readers),
            ..Options::default()
        };
        let report = check(dir.path(), &options).unwrap();
        assert_eq!(report.matched, 19_999, "readers {readers}");
        assert_eq!(report.failures.len(), 1);
        assert_eq!(open_descriptors(), open_before);
    }

    // Checks at once in one process: each bounds its readers by the whole limit, so
    // together they ask for more descriptors than there are; an open waits for one
    // another reader closes, and no file fails for want of a descriptor.
    std::thread::scope(|scope| {
        let checks: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    let options = Options {
                        readers: NonZeroUsize::new(24),
                        ..Options::default()
                    };
                    check(dir.path(), &options).unwrap()
                })
            })
            .collect();
        for check in checks {
            let report = check.join().unwrap();
            assert_eq!(report.matched, 19_999, "{} failures", report.failures.len());
            assert_eq!(report.failures.len(), 1);
        }
    });
    assert_eq!(open_descriptors(), open_before);
}

/// The number of descriptors this process has open.
fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}
