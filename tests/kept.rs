//! A check that is not streamed keeps its failures for the accessors compactly: a
//! million failures through the C ABI under an address-space limit, the strings made
//! only for the failures asked for. (Its own test binary: the limit is the process's.)

mod common;

use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;

use checksig::ffi::{
    checksig_counts, checksig_failure, checksig_failure_at, checksig_failure_count, checksig_free,
    checksig_get_counts, checksig_get_message, checksig_get_status, checksig_job_free,
    checksig_options, checksig_reason, checksig_start, checksig_status, checksig_wait,
};
use common::{limit_memory, missing_files_manifest, peak_rss, TempDir};

#[test]
fn a_million_failures_are_kept_compactly() {
    const ENTRIES: usize = 1_000_000;
    let dir = TempDir::new("kept-million");
    let digest = missing_files_manifest(&dir, ENTRIES);

    // An address-space limit as in tests/stream.rs (glibc's per-thread arenas reserve
    // much of it), and a bound on the peak: kept as a path string, a detail string and
    // two hex fields each (over 700 bytes a failure, as before this test), a million
    // failures would grow it by 700 MiB.
    let before = limit_memory(1536 << 20);

    let root = CString::new(dir.path().as_os_str().as_bytes()).unwrap();
    // SAFETY: valid strings and out-parameters; the job and message are freed.
    unsafe {
        let options: checksig_options = std::mem::zeroed();
        let job = checksig_start(root.as_ptr(), &options);
        assert!(checksig_wait(job, -1));
        assert_eq!(checksig_get_status(job), checksig_status::CHECKSIG_FAILED);
        let mut counts = checksig_counts::default();
        assert!(checksig_get_counts(job, &mut counts));
        assert_eq!(counts.failed, ENTRIES as u64);
        assert_eq!(checksig_failure_count(job), ENTRIES);
        let grown = peak_rss().saturating_sub(before);
        eprintln!(
            "peak RSS grew by {} MiB for {ENTRIES} kept failures",
            grown >> 20
        );
        assert!(grown < 400 << 20, "peak RSS grew by {} MiB", grown >> 20);

        // Asked for, a failure is whole, and its strings stay until the job is freed.
        let fetch = |index: usize| {
            let mut out = std::mem::MaybeUninit::<checksig_failure>::uninit();
            checksig_failure_at(job, index, out.as_mut_ptr()).then(|| out.assume_init())
        };
        let first = fetch(0).unwrap();
        let last = fetch(ENTRIES - 1).unwrap();
        assert!(fetch(ENTRIES).is_none());
        let path = |failure: &checksig_failure| CStr::from_ptr(failure.path).to_bytes().to_vec();
        assert!(path(&first).ends_with(b"/missing/0000000"));
        assert!(path(&last).ends_with(b"/missing/0999999"));
        assert_eq!(
            path(&last).len(),
            last.path_len,
            "path_len is the path's length"
        );
        assert_eq!(last.line, ENTRIES as u64);
        assert_eq!(last.reason, checksig_reason::CHECKSIG_REASON_NO_SUCH_FILE);
        assert_eq!(CStr::from_ptr(last.detail).to_bytes(), b"");
        assert_eq!(
            CStr::from_ptr(last.expected_hex.as_ptr()).to_str(),
            Ok(digest.as_str())
        );
        assert_eq!(CStr::from_ptr(last.actual_hex.as_ptr()).to_bytes(), b"");
        assert!(path(&first).ends_with(b"/missing/0000000"), "still valid");

        // The message, made when asked: every failure on its line, in manifest order.
        let message = checksig_get_message(job);
        let text = CStr::from_ptr(message).to_bytes();
        assert_eq!(text.split(|&b| b == b'\n').count(), ENTRIES);
        assert!(text.ends_with(b"/missing/0999999\" - no such file"));
        checksig_free(message);
        checksig_job_free(job);
    }
}
