//! Streamed checks: verdicts in manifest order whatever the readers do, and bounded
//! memory whatever the number of failures: a million missing files streamed through
//! the C ABI under an address-space limit. The limit applies to the whole process, so
//! this test binary holds these tests only.

mod common;

use std::ffi::{CStr, CString};
use std::num::NonZeroUsize;
use std::os::unix::ffi::OsStrExt;

use checksig::ffi::{
    checksig_counts, checksig_get_counts, checksig_get_status, checksig_job_free,
    checksig_line_format, checksig_next_lines, checksig_next_verdicts, checksig_options,
    checksig_start, checksig_status, checksig_stream_done, checksig_verdict,
    checksig_verdict_status, CHECKSIG_LINES_MIN_CAPACITY,
};
use checksig::{check, check_each, Control, Options, Status};
use common::{limit_memory, missing_files_manifest, peak_rss, sha1_hex, TempDir};

#[test]
fn verdicts_come_in_manifest_order_under_many_readers() {
    let dir = TempDir::new("stream-order");
    let mut manifest = String::new();
    for i in 0..3000 {
        let name = format!("d{}/f{i:05}", i % 7);
        // Sizes from empty to 3 MiB: large files go to the heap and finish late.
        let len = if i % 500 == 3 { 3 << 20 } else { i % 97 };
        let contents = vec![(i % 251) as u8; len];
        if i % 211 != 5 {
            dir.write(name.as_bytes(), &contents);
        }
        let digest = if i % 173 == 9 {
            sha1_hex(b"other")
        } else {
            sha1_hex(&contents)
        };
        manifest.push_str(&format!("{digest}  {name}\n"));
    }
    manifest.push_str(&format!("{}  d0/f00000\n", sha1_hex(b"")));
    dir.manifest(manifest.as_bytes());
    let report = check(dir.path(), &Options::default()).unwrap();
    assert!(!report.failures.is_empty());
    for readers in [1, 2, 64] {
        let options = Options {
            readers: NonZeroUsize::new(readers),
            ..Options::default()
        };
        let mut seen = Vec::new();
        let summary = check_each(dir.path(), &options, &Control::default(), |verdict| {
            seen.push((verdict.index, verdict.line, verdict.status.clone()));
        })
        .unwrap();
        assert_eq!(seen.len(), 3001);
        assert!(seen
            .iter()
            .enumerate()
            .all(|(i, (index, line, _))| *index == i && *line == i as u32 + 1));
        let failed: Vec<u32> = seen
            .iter()
            .filter(|(_, _, status)| matches!(status, Status::Failed(_)))
            .map(|(_, line, _)| *line)
            .collect();
        let expected: Vec<u32> = report.failures.iter().map(|f| f.line).collect();
        assert_eq!(failed, expected, "readers {readers}");
        assert_eq!(summary.failed as usize, expected.len());
        assert_eq!(summary.matched, report.matched);
    }
}

#[test]
fn a_million_failures_stream_through_the_c_abi_in_bounded_memory() {
    const ENTRIES: usize = 1_000_000;
    let dir = TempDir::new("stream-million");
    missing_files_manifest(&dir, ENTRIES);

    // An address-space limit: a check that kept every failure (a message string, a
    // path and two hex fields each: over 600 bytes) would not fit beside the manifest.
    // The peak starts from what is resident now (the manifest's text is freed).
    let before = limit_memory(1536 << 20);

    let root = CString::new(dir.path().as_os_str().as_bytes()).unwrap();
    let mut options: checksig_options = unsafe { std::mem::zeroed() };
    options.stream = true;
    let mut buffer = vec![0u8; CHECKSIG_LINES_MIN_CAPACITY];
    let mut failed_lines = 0usize;
    let mut last = Vec::new();
    // SAFETY: valid strings and buffers; the job is freed at the end.
    unsafe {
        let job = checksig_start(root.as_ptr(), &options);
        while !checksig_stream_done(job) {
            let written = checksig_next_lines(
                job,
                checksig_line_format::CHECKSIG_LINES_FAILURES as u32,
                buffer.as_mut_ptr().cast(),
                buffer.len(),
                100,
            );
            let lines = &buffer[..written];
            failed_lines += lines.iter().filter(|&&b| b == b'\n').count();
            if let Some(end) = lines.iter().rposition(|&b| b == b'\n') {
                let start = lines[..end]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |s| s + 1);
                last = lines[start..end].to_vec();
            }
        }
        assert_eq!(checksig_get_status(job), checksig_status::CHECKSIG_FAILED);
        let mut counts = checksig_counts::default();
        assert!(checksig_get_counts(job, &mut counts));
        assert_eq!(
            (counts.entries, counts.failed),
            (ENTRIES as u64, ENTRIES as u64)
        );
        checksig_job_free(job);
    }
    assert_eq!(failed_lines, ENTRIES);
    let last = String::from_utf8(last).unwrap();
    assert!(
        last.ends_with("/missing/0999999: FAILED (no such file)"),
        "{last}"
    );
    let grown = peak_rss().saturating_sub(before);
    eprintln!(
        "peak RSS grew by {} MiB for {ENTRIES} failures",
        grown >> 20
    );
    assert!(grown < 300 << 20, "peak RSS grew by {} MiB", grown >> 20);

    // The records, too: a small streamed check, every verdict fetched in order.
    let small = TempDir::new("stream-records");
    small.write(b"a", b"a");
    small.manifest(format!("{}  a\n{}  b\n", sha1_hex(b"a"), sha1_hex(b"b")).as_bytes());
    let root = CString::new(small.path().as_os_str().as_bytes()).unwrap();
    // SAFETY: as above.
    unsafe {
        let job = checksig_start(root.as_ptr(), &options);
        let mut out: [checksig_verdict; 4] = std::mem::zeroed();
        let mut got = Vec::new();
        while !checksig_stream_done(job) {
            let count = checksig_next_verdicts(job, out.as_mut_ptr(), out.len(), 100);
            for verdict in &out[..count] {
                let path = CStr::from_ptr(verdict.path).to_bytes().to_vec();
                got.push((verdict.line, verdict.status, verdict.reason, path));
            }
        }
        checksig_job_free(job);
        let root = small.path().as_os_str().as_bytes();
        let path = |name: &str| [root, b"/", name.as_bytes()].concat();
        assert_eq!(
            got,
            [
                (
                    1,
                    checksig_verdict_status::CHECKSIG_VERDICT_OK,
                    0,
                    path("a")
                ),
                (
                    2,
                    checksig_verdict_status::CHECKSIG_VERDICT_FAILED,
                    2,
                    path("b")
                ),
            ]
        );
    }
}
