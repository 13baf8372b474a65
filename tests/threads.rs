//! A thread that cannot be started (a process or address-space limit) ends no check
//! in a hang or a pass: each thread the check starts is made to fail in turn, then
//! every one, by a `pthread_create` preloaded from `tests/c/fail_nth_thread.c`, in a
//! child process (this test binary run again) checking a large file beside a small one.

mod common;

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use checksig::{check, Options};
use common::{c_verify, child_outcome, sha1_hex, TempDir};

/// In the child: checks `CHECKSIG_CHILD_ROOT` and prints the outcome.
#[test]
fn child_checks_the_root_it_is_given() {
    let Some(root) = std::env::var_os("CHECKSIG_CHILD_ROOT") else {
        return;
    };
    println!("outcome: {:?}", c_verify(Path::new(&root)));
}

/// In the child: from now on no thread can be started (the shim reads the variable at
/// each call); checks `CHECKSIG_CHILD_ROOT` with the Rust API, which runs on this
/// thread, and prints the failures.
#[test]
fn child_checks_the_root_with_no_thread_to_be_had() {
    let Some(root) = std::env::var_os("CHECKSIG_CHILD_ROOT") else {
        return;
    };
    std::env::set_var("FAIL_THREAD_FROM", "1");
    let failures: Vec<String> = match check(Path::new(&root), &Options::default()) {
        Ok(report) => report
            .failures
            .iter()
            .map(|failure| String::from_utf8_lossy(&failure.message()).into_owned())
            .collect(),
        Err(error) => vec![error.to_string()],
    };
    println!("outcome: {failures:?}");
}

#[test]
fn a_thread_that_cannot_be_started_ends_the_check_with_its_verdict_or_an_error() {
    let shim_dir = TempDir::new("thread-shim");
    let shim = shim_dir.path().join("fail_nth_thread.so");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/fail_nth_thread.c");
    let status = Command::new("gcc")
        .args(["-shared", "-fPIC", "-Wall", "-Werror", "-o"])
        .arg(&shim)
        .arg(&source)
        .arg("-ldl")
        .status()
        .expect("gcc is installed");
    assert!(status.success(), "the shim does not compile");

    // 40 MiB (a large file, waited for by the readers of small ones) and a small file.
    let big: Vec<u8> = (0..40u32 << 20).map(|i| (i * 7 + i / 4093) as u8).collect();
    let good = TempDir::new("thread-good");
    good.write(b"big", &big);
    good.write(b"small", b"small\n");
    let manifest = format!("{}  big\n{}  small\n", sha1_hex(&big), sha1_hex(b"small\n"));
    good.manifest(manifest.as_bytes());
    let bad = TempDir::new("thread-bad");
    bad.write(b"big", &big);
    bad.write(b"small", b"SMALL\n");
    bad.manifest(manifest.as_bytes());

    for failing in 1..=12 {
        for (root, intact) in [(&good, true), (&bad, false)] {
            let label = format!("thread {failing} failing, intact: {intact}");
            let failing = failing.to_string();
            let envs = [
                ("CHECKSIG_CHILD_ROOT", root.path().as_os_str()),
                ("FAIL_THREAD_N", OsStr::new(&failing)),
                ("LD_PRELOAD", shim.as_os_str()),
            ];
            let outcome = child_outcome("child_checks_the_root_it_is_given", &[], &envs, &label);
            if intact {
                // Passed, or an error saying why it could not run: never a mismatch.
                assert!(!outcome.contains("mismatch"), "{label}: {outcome}");
            } else {
                assert_ne!(outcome, "None", "{label}: a tampered file passed");
            }
        }
    }

    // No thread at all to be had: the thread that runs the check reads alone, and the
    // verdict is exact.
    let expected_bad = format!("{:?}", [format!("\"{}/small\" - mismatch", bad.display())]);
    for (root, expected) in [(&good, "[]".to_string()), (&bad, expected_bad)] {
        let label = format!("no thread, {}", root.display());
        let envs = [
            ("CHECKSIG_CHILD_ROOT", root.path().as_os_str()),
            ("LD_PRELOAD", shim.as_os_str()),
        ];
        let child = "child_checks_the_root_with_no_thread_to_be_had";
        let outcome = child_outcome(child, &[], &envs, &label);
        assert_eq!(outcome, expected, "{label}");
    }
}
