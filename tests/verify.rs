//! The check end to end, through the Rust API and the `verify` export: the Go-era
//! contract, every kind of failure, hostile manifests, options, progress, cancel and
//! concurrency.

mod common;

use std::os::unix::fs::symlink;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use checksig::{check, check_with, Control, Error, Options, Reason};
use common::{c_verify, evict, gnu_sha1sum, log_dir, sha1_hex, TempDir};

/// Runs `body` on a thread and fails the test if it takes longer than `limit`: a hang
/// must show up as a failure, not as a test run that never ends.
fn within<T: Send + 'static>(limit: Duration, body: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || sender.send(body()));
    receiver
        .recv_timeout(limit)
        .unwrap_or_else(|_| panic!("did not return within {limit:?}"))
}

fn make_fifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn ten_logs_one_wrong_signature_gives_the_go_message() {
    let (dir, _) = log_dir("go", 10);
    assert_eq!(c_verify(dir.path()), None);

    let manifest = std::fs::read_to_string(dir.join(b"sha1sum.txt")).unwrap();
    let wrong = manifest.replace(
        &format!(
            "{}  app-07.log",
            sha1_hex(&std::fs::read(dir.join(b"app-07.log")).unwrap())
        ),
        &format!("{}  app-07.log", "0".repeat(40)),
    );
    assert_ne!(wrong, manifest);
    dir.manifest(wrong.as_bytes());
    let expected = format!("\"{}/app-07.log\" - mismatch", dir.display());
    assert_eq!(c_verify(dir.path()), Some(expected.clone()));

    // The same with a trailing slash on the root: one slash in the message, as Go's Join.
    let with_slash = PathBuf::from(format!("{}/", dir.display()));
    assert_eq!(c_verify(&with_slash), Some(expected));
}

#[test]
fn several_failures_are_all_listed_in_manifest_order_every_time() {
    let (dir, names) = log_dir("order", 30);
    for name in ["app-29.log", "app-03.log", "app-17.log"] {
        dir.write(name.as_bytes(), b"tampered\n");
    }
    std::fs::remove_file(dir.join(b"app-11.log")).unwrap();
    let root = dir.display();
    let expected = [
        format!("\"{root}/app-03.log\" - mismatch"),
        format!("\"{root}/app-11.log\" - no such file"),
        format!("\"{root}/app-17.log\" - mismatch"),
        format!("\"{root}/app-29.log\" - mismatch"),
    ]
    .join("\n");
    assert_eq!(names.len(), 30);
    for _ in 0..20 {
        assert_eq!(c_verify(dir.path()).as_deref(), Some(expected.as_str()));
    }
}

#[test]
fn every_kind_of_failure_is_reported_with_its_reason() {
    let dir = TempDir::new("reasons");
    dir.write(b"good.txt", b"good");
    dir.write(b"bad.txt", b"changed");
    dir.write(b"sub/inner.txt", b"inner");
    make_fifo(&dir.join(b"pipe"));
    symlink("loop", dir.join(b"loop")).unwrap();
    symlink("good.txt", dir.join(b"link-to-good")).unwrap();
    symlink("/dev/null", dir.join(b"device")).unwrap();
    // A UNIX socket cannot even be opened (ENXIO); it stays after its listener goes.
    drop(UnixListener::bind(dir.join(b"socket")).unwrap());
    let good = sha1_hex(b"good");
    let inner = sha1_hex(b"inner");
    let manifest = format!(
        "{good}  good.txt\n\
         {good}  bad.txt\n\
         {good}  missing.txt\n\
         {good}  sub\n\
         {good}  pipe\n\
         {good}  ../outside\n\
         {good}  /etc/passwd\n\
         {good}  loop\n\
         {good}  link-to-good\n\
         {good}  device\n\
         {inner}  sub/../sub/./inner.txt\n\
         {good}  sub/../../x\n\
         {good}  socket\n"
    );
    dir.manifest(manifest.as_bytes());

    let report = within(Duration::from_secs(20), {
        let root = dir.path().to_path_buf();
        move || check(&root, &Options::default()).unwrap()
    });
    let got: Vec<(u32, Reason)> = report
        .failures
        .iter()
        .map(|f| (f.line, f.reason.clone()))
        .collect();
    let loop_error = "Too many levels of symbolic links".to_string();
    assert_eq!(
        got,
        [
            (2, Reason::Mismatch),
            (3, Reason::NoSuchFile),
            (4, Reason::NotRegularFile),
            (5, Reason::NotRegularFile),
            (6, Reason::OutsideRoot),
            (7, Reason::OutsideRoot),
            (8, Reason::ReadError(loop_error)),
            (10, Reason::NotRegularFile),
            (12, Reason::OutsideRoot),
            (13, Reason::NotRegularFile),
        ]
    );
    assert_eq!((report.entries, report.matched, report.skipped), (13, 3, 0));
    let mismatch = &report.failures[0];
    assert_eq!(
        mismatch.actual.map(|d| d.to_hex()),
        Some(sha1_hex(b"changed"))
    );
    assert_eq!(mismatch.expected.to_hex(), good);
    assert!(report.failures[1..].iter().all(|f| f.actual.is_none()));

    let message = c_verify(dir.path()).unwrap();
    let root = dir.display();
    assert_eq!(
        message.lines().collect::<Vec<_>>(),
        [
            format!("\"{root}/bad.txt\" - mismatch"),
            format!("\"{root}/missing.txt\" - no such file"),
            format!("\"{root}/sub\" - not a regular file"),
            format!("\"{root}/pipe\" - not a regular file"),
            format!("\"{root}/../outside\" - outside the root directory"),
            "\"/etc/passwd\" - outside the root directory".to_string(),
            format!("\"{root}/loop\" - read error: Too many levels of symbolic links"),
            format!("\"{root}/device\" - not a regular file"),
            format!("\"{root}/sub/../../x\" - outside the root directory"),
            format!("\"{root}/socket\" - not a regular file"),
        ]
    );
}

#[test]
fn a_file_listed_twice_is_hashed_once_and_every_line_is_checked() {
    let dir = TempDir::new("twice");
    dir.write(b"a", b"alpha");
    let right = sha1_hex(b"alpha");
    let wrong = sha1_hex(b"beta");
    dir.manifest(format!("{right}  a\n{wrong}  ./a\n{right} *a\n").as_bytes());
    let control = Control::default();
    let report = check_with(dir.path(), &Options::default(), &control).unwrap();
    assert_eq!(control.progress().files_total, 1);
    assert_eq!(control.progress().bytes_done, 5, "hashed once");
    assert_eq!(report.matched, 2);
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].line, 2);
    assert_eq!(report.failures[0].reason, Reason::Mismatch);
}

/// Manifests that must stop the check with one clear message naming the manifest.
#[test]
fn hostile_and_broken_manifests_give_one_clear_error() {
    let hex = sha1_hex(b"x");
    let mut random = Vec::new();
    let mut state: u64 = 0x9e3779b97f4a7c15;
    for _ in 0..100_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        random.push(state as u8);
    }
    let mut long_line = format!("{hex}  x\n").into_bytes();
    long_line.extend(std::iter::repeat(b'y').take(2 * 1024 * 1024));
    let cases: Vec<(&str, Vec<u8>, String)> = vec![
        (
            "bad line",
            format!("{hex}  x\n\nthis is not a checksum\n").into_bytes(),
            "line 3: not a SHA-1 checksum line".into(),
        ),
        (
            "two MB line",
            long_line,
            "line 2: longer than 65536 bytes".into(),
        ),
        ("random bytes", random, "line 1: ".into()),
        (
            "NUL bytes",
            format!("{hex}  x\0y\n").into_bytes(),
            "line 1: contains a NUL byte".into(),
        ),
        ("empty", Vec::new(), "no checksum lines in manifest".into()),
        (
            "comments only",
            b"# nothing\n\n".to_vec(),
            "no checksum lines in manifest".into(),
        ),
        (
            "short digest",
            format!("{}  x\n", &hex[..38]).into_bytes(),
            "line 1: the checksum is not 40 hex digits".into(),
        ),
        (
            // A tagged line names its own algorithm, even in a sha1sum.txt, and its
            // digest must be of that algorithm.
            "sha256 tag, SHA-1 digest",
            format!("SHA256 (x) = {hex}\n").into_bytes(),
            "line 1: the SHA-256 checksum is neither 64 hex digits nor 44 base64 characters".into(),
        ),
    ];
    for (what, manifest, reason) in cases {
        let dir = TempDir::new("hostile");
        dir.write(b"x", b"x");
        dir.manifest(&manifest);
        let expected = format!("\"{}/sha1sum.txt\" - {reason}", dir.display());
        let message = within(Duration::from_secs(20), {
            let root = dir.path().to_path_buf();
            move || c_verify(&root)
        })
        .unwrap_or_else(|| panic!("{what}: passed"));
        assert!(message.starts_with(&expected), "{what}: {message}");
        assert_eq!(message.lines().count(), 1, "{what}: {message}");
    }
}

#[test]
fn missing_or_unusable_root_and_manifest_give_one_clear_error() {
    let dir = TempDir::new("missing");
    dir.write(b"file", b"f");
    let root = dir.display();
    let no_manifest = TempDir::new("nomanifest");
    let fifo_manifest = TempDir::new("fifomanifest");
    make_fifo(&fifo_manifest.join(b"sha1sum.txt"));
    let dir_manifest = TempDir::new("dirmanifest");
    std::fs::create_dir(dir_manifest.join(b"sha1sum.txt")).unwrap();
    let socket_manifest = TempDir::new("socketmanifest");
    drop(UnixListener::bind(socket_manifest.join(b"sha1sum.txt")).unwrap());
    let cases: Vec<(PathBuf, String)> = vec![
        (
            dir.join(b"nope"),
            format!("\"{root}/nope\" - cannot open root directory: No such file or directory"),
        ),
        (
            dir.join(b"file"),
            format!("\"{root}/file\" - cannot open root directory: Not a directory"),
        ),
        (
            no_manifest.path().to_path_buf(),
            format!(
                "\"{}/sha1sum.txt\" - cannot read manifest: No such file or directory",
                no_manifest.display()
            ),
        ),
        (
            fifo_manifest.path().to_path_buf(),
            format!(
                "\"{}/sha1sum.txt\" - cannot read manifest: not a regular file",
                fifo_manifest.display()
            ),
        ),
        (
            dir_manifest.path().to_path_buf(),
            format!(
                "\"{}/sha1sum.txt\" - cannot read manifest: not a regular file",
                dir_manifest.display()
            ),
        ),
        (
            socket_manifest.path().to_path_buf(),
            format!(
                "\"{}/sha1sum.txt\" - cannot read manifest: not a regular file",
                socket_manifest.display()
            ),
        ),
    ];
    for (root, expected) in cases {
        let message = within(Duration::from_secs(20), move || c_verify(&root));
        assert_eq!(message.as_deref(), Some(expected.as_str()));
    }
}

#[test]
fn a_null_root_is_an_error_message_not_a_crash() {
    // SAFETY: NULL is a documented input; the message is freed with the library's free.
    unsafe {
        let message = checksig::ffi::verify(std::ptr::null());
        assert!(!message.is_null());
        let text = std::ffi::CStr::from_ptr(message)
            .to_str()
            .unwrap()
            .to_string();
        checksig::ffi::checksig_free(message);
        assert_eq!(text, "invalid argument: root_dir is NULL");
        checksig::ffi::checksig_free(std::ptr::null_mut());
    }
}

#[test]
fn options_ignore_missing_manifest_name_and_jobs() {
    let (dir, _) = log_dir("options", 6);
    std::fs::remove_file(dir.join(b"app-02.log")).unwrap();

    let default = check(dir.path(), &Options::default()).unwrap();
    assert_eq!(default.failures.len(), 1);
    assert_eq!(default.failures[0].reason, Reason::NoSuchFile);

    let ignoring = Options {
        ignore_missing: true,
        ..Options::default()
    };
    let report = check(dir.path(), &ignoring).unwrap();
    assert!(report.is_ok());
    assert_eq!((report.matched, report.skipped), (5, 1));

    for jobs in [1, 2, 7] {
        let options = Options {
            jobs: std::num::NonZeroUsize::new(jobs),
            ..Options::default()
        };
        let report = check(dir.path(), &options).unwrap();
        assert_eq!(report.failures.len(), 1, "jobs={jobs}");
    }

    // Another manifest name, and one in a subdirectory: names stay relative to the root.
    let listing = gnu_sha1sum(dir.path(), &[], &[b"app-01.log", b"app-03.log"]);
    dir.write(b"checksums/SHA1SUMS", &listing);
    for manifest in [
        PathBuf::from("checksums/SHA1SUMS"),
        dir.join(b"checksums/SHA1SUMS"),
    ] {
        let options = Options {
            manifest: Some(manifest),
            ..Options::default()
        };
        let report = check(dir.path(), &options).unwrap();
        assert!(report.is_ok());
        assert_eq!(report.matched, 2);
    }
}

#[test]
fn ignore_missing_still_fails_when_nothing_was_verified() {
    let dir = TempDir::new("nothing");
    dir.manifest(format!("{}  gone\n{}  also-gone\n", sha1_hex(b"a"), sha1_hex(b"b")).as_bytes());
    let options = Options {
        ignore_missing: true,
        ..Options::default()
    };
    let error = check(dir.path(), &options).unwrap_err();
    assert!(matches!(error, Error::NothingVerified { .. }), "{error}");
    assert_eq!(
        error.to_string(),
        format!(
            "\"{}/sha1sum.txt\" - no file was verified (every listed file is missing)",
            dir.display()
        )
    );
}

/// A data set large enough that a check takes a while: `count` files of `size` bytes.
fn big_dir(tag: &str, count: usize, size: usize) -> TempDir {
    let dir = TempDir::new(tag);
    let mut manifest = String::new();
    for i in 0..count {
        let contents: Vec<u8> = (0..size).map(|b| (b * 31 + i) as u8).collect();
        let name = format!("big-{i}.bin");
        dir.write(name.as_bytes(), &contents);
        manifest.push_str(&format!("{}  {name}\n", sha1_hex(&contents)));
    }
    dir.manifest(manifest.as_bytes());
    dir
}

#[test]
fn progress_is_monotonic_and_ends_at_the_totals() {
    let dir = big_dir("progress", 40, 1 << 20);
    let control = Arc::new(Control::default());
    let watcher = {
        let control = Arc::clone(&control);
        thread::spawn(move || {
            let mut seen = Vec::new();
            for _ in 0..2000 {
                seen.push(control.progress());
                thread::sleep(Duration::from_micros(200));
            }
            seen
        })
    };
    let report = check_with(dir.path(), &Options::default(), &control).unwrap();
    assert!(report.is_ok());
    let seen = watcher.join().unwrap();
    for pair in seen.windows(2) {
        assert!(pair[0].files_done <= pair[1].files_done);
        assert!(pair[0].bytes_done <= pair[1].bytes_done);
    }
    let last = control.progress();
    assert_eq!((last.files_done, last.files_total), (40, 40));
    assert_eq!((last.bytes_done, last.bytes_total), (40 << 20, 40 << 20));
}

#[test]
fn cancel_from_another_thread_stops_promptly() {
    // Far longer to hash than the time allowed after cancelling: several files (one
    // worker each), and one large file (hashed by two threads taking turns when a
    // core is spare); each in the page cache, then evicted from it, where a large
    // file has many reads in flight around the cache, on threads of their own.
    for (count, size) in [(4, 96 << 20), (1, 256 << 20)] {
        let dir = big_dir("cancel", count, size);
        for evicted in [false, true] {
            if evicted {
                for i in 0..count {
                    evict(&dir.join(format!("big-{i}.bin").as_bytes()));
                }
            }
            let label = format!("{count} x {size} bytes, evicted: {evicted}");
            let control = Arc::new(Control::default());
            let canceller = {
                let control = Arc::clone(&control);
                thread::spawn(move || {
                    while control.progress().bytes_done == 0 {
                        thread::sleep(Duration::from_millis(1));
                    }
                    control.cancel();
                    Instant::now()
                })
            };
            let result = check_with(dir.path(), &Options::default(), &control);
            let returned = Instant::now();
            let cancelled_at = canceller.join().unwrap();
            assert!(
                matches!(result, Err(Error::Cancelled)),
                "{label}: {result:?}"
            );
            let delay = returned - cancelled_at;
            assert!(
                delay < Duration::from_millis(500),
                "{label}: took {delay:?} to stop"
            );
            assert!(
                control.progress().bytes_done < (count * size) as u64,
                "{label}"
            );
        }
    }
}

#[test]
fn verify_from_eight_threads_at_once() {
    let dirs: Vec<(TempDir, Option<String>)> = (0..8)
        .map(|i| {
            let (dir, _) = log_dir("threads", 20 + i);
            let expected = if i % 2 == 1 {
                dir.write(b"app-05.log", b"broken\n");
                Some(format!("\"{}/app-05.log\" - mismatch", dir.display()))
            } else {
                None
            };
            (dir, expected)
        })
        .collect();
    thread::scope(|scope| {
        for (dir, expected) in &dirs {
            scope.spawn(move || {
                for _ in 0..10 {
                    assert_eq!(&c_verify(dir.path()), expected);
                }
            });
        }
    });
}

#[test]
fn names_are_taken_byte_for_byte() {
    let dir = TempDir::new("bytes");
    let names: &[&[u8]] = &[
        b"with space",
        b"trailing  ",
        b" leading",
        b"tab\tname",
        b"back\\slash",
        b"new\nline",
        b"caf\xc3\xa9",
        b"latin1-\xe9\xff",
        b"paren (1).txt",
    ];
    for name in names {
        dir.write(name, name);
    }
    dir.manifest(&gnu_sha1sum(dir.path(), &[], names));
    assert_eq!(c_verify(dir.path()), None);
    dir.write(b"latin1-\xe9\xff", b"changed");
    dir.write(b"new\nline", b"changed");
    let message = checksig::ffi::verify_path(dir.path()).unwrap();
    let root = dir.path().to_str().unwrap().as_bytes();
    let mut expected = Vec::new();
    // Escaped, and marked so as GNU marks an escaped name: a leading backslash.
    expected.extend_from_slice(b"\\\"");
    expected.extend_from_slice(root);
    expected.extend_from_slice(b"/new\\nline\" - mismatch\n\"");
    expected.extend_from_slice(root);
    expected.extend_from_slice(b"/latin1-\xe9\xff\" - mismatch");
    assert_eq!(message, expected);
}

#[test]
fn matches_are_listed_in_manifest_order_only_when_asked() {
    let (dir, names) = log_dir("matches", 5);
    dir.write(b"app-02.log", b"changed\n");
    let report = check(dir.path(), &Options::default()).unwrap();
    assert!(report.matches.is_empty());
    let listing = Options {
        list_matches: true,
        ..Options::default()
    };
    let report = check(dir.path(), &listing).unwrap();
    let got: Vec<(String, u32)> = report
        .matches
        .iter()
        .map(|m| (String::from_utf8(m.path.clone()).unwrap(), m.line))
        .collect();
    let root = dir.display();
    let expected: Vec<(String, u32)> = [0, 2, 3, 4]
        .iter()
        .map(|&i| (format!("{root}/{}", names[i]), i as u32 + 1))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(report.failures.len(), 1);
}

#[test]
fn a_large_file_alone_matches_gnu_sha1sum() {
    // One file above the size where a spare core helps hash it (two threads taking
    // turns), not a whole number of their chunks; the manifest is GNU's.
    let dir = TempDir::new("large-alone");
    let contents: Vec<u8> = (0..(40usize << 20) + 3).map(|i| (i % 251) as u8).collect();
    dir.write(b"large.bin", &contents);
    dir.manifest(&gnu_sha1sum(dir.path(), &[], &[b"large.bin"]));
    let report = check(dir.path(), &Options::default()).unwrap();
    assert!(report.is_ok());

    let mut changed = contents;
    let last = changed.len() - 1;
    changed[last] ^= 1;
    dir.write(b"large.bin", &changed);
    let report = check(dir.path(), &Options::default()).unwrap();
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].reason, Reason::Mismatch);
    assert_eq!(
        report.failures[0].actual.map(|d| d.to_hex()),
        Some(sha1_hex(&changed))
    );
}

/// Many reads in flight, and a read error among them (reading `/proc/self/mem` at
/// offset 0 fails with EIO; a symlink inside the root leads there): each erroring
/// entry fails with the OS's reason, every other file is verified, in manifest order,
/// whatever the number of readers.
#[test]
fn a_read_error_in_flight_fails_its_own_file_only() {
    let dir = TempDir::new("read-error");
    let mut manifest = String::new();
    let broken = [7usize, 500, 1999];
    for i in 0..2000 {
        let name = format!("f{i:04}");
        if broken.contains(&i) {
            symlink("/proc/self/mem", dir.join(name.as_bytes())).unwrap();
            manifest.push_str(&format!("{}  {name}\n", sha1_hex(b"")));
            continue;
        }
        let contents = format!("file {i}\n").repeat(i % 50 + 1);
        dir.write(name.as_bytes(), contents.as_bytes());
        manifest.push_str(&format!("{}  {name}\n", sha1_hex(contents.as_bytes())));
    }
    dir.manifest(manifest.as_bytes());
    for readers in [1, 3, 64, 256] {
        let options = Options {
            readers: std::num::NonZeroUsize::new(readers),
            ..Options::default()
        };
        let report = check(dir.path(), &options).unwrap();
        let got: Vec<(u32, Reason)> = report
            .failures
            .iter()
            .map(|f| (f.line, f.reason.clone()))
            .collect();
        let io_error = Reason::ReadError("Input/output error".into());
        let expected: Vec<(u32, Reason)> = broken
            .iter()
            .map(|&i| (i as u32 + 1, io_error.clone()))
            .collect();
        assert_eq!(got, expected, "readers {readers}");
        assert_eq!(report.matched, 1997, "readers {readers}");
    }
}

/// A file named by many lines decides them all at once: once the check is cancelled,
/// no more of them are delivered (a cancelled stream of 2,000,000 such lines went on
/// queueing every verdict, for a second and 380 MB, before it ended).
#[test]
fn a_cancelled_check_stops_delivering_verdicts_decided_at_once() {
    let dir = TempDir::new("cancel-many-lines");
    dir.write(b"a", b"a\n");
    let line = format!("{}  a\n", sha1_hex(b"a\n"));
    let lines = 200_000;
    dir.manifest(line.repeat(lines).as_bytes());
    let control = Control::default();
    let mut delivered = 0usize;
    let result = checksig::check_each(dir.path(), &Options::default(), &control, |_| {
        delivered += 1;
        control.cancel();
    });
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    assert!(
        (1..=4096).contains(&delivered),
        "{delivered} of {lines} verdicts delivered after the cancel"
    );
}
