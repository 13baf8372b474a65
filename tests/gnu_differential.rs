//! Differential test against GNU `sha1sum -c`, the oracle: on directories with awkward
//! names and manifests that GNU itself wrote (`sha1sum`, `sha1sum -b`, `sha1sum --tag`),
//! after altering and removing some files, every entry must pass or fail with us
//! exactly as it does with `sha1sum -c`.
//!
//! Each manifest line is given to `sha1sum -c` on its own (run in the root, since GNU
//! resolves names against the current directory) so that its verdict is known per line
//! without parsing GNU's escaped output.

mod common;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use checksig::{check, Options};
use common::{gnu_sha1sum, TempDir};

/// Names that break naive parsers: blanks in every position, escapes, non-UTF-8.
const NAMES: &[&[u8]] = &[
    b"plain.log",
    b"with space.log",
    b"two  spaces",
    b"trailing ",
    b"trailing tab\t",
    b" leading",
    b"  two leading",
    b"\tleading tab",
    b"tab\tinside",
    b"back\\slash",
    b"ends with backslash\\",
    b"new\nline",
    b"carriage\rreturn",
    b"*star",
    b"star*",
    b"paren (1).txt",
    b"SHA1 (looks like a tag)",
    b"unicode-\xc3\xa9\xe2\x82\xac\xf0\x9f\x93\x81",
    b"latin1-\xe9",
    b"invalid-\xff\xfe",
    b"dir/sub dir/nested file",
    b"x",
];

/// Entries whose line fails with GNU, by 1-based line number.
fn gnu_failing_lines(root: &std::path::Path, manifest: &[u8]) -> BTreeSet<u32> {
    let mut failing = BTreeSet::new();
    // Split on '\n': escaped names hold no raw newline, so this is GNU's own split.
    for (i, line) in manifest.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let single = root.join(".single-line.sha1");
        let mut contents = line.to_vec();
        contents.push(b'\n');
        std::fs::write(&single, contents).unwrap();
        let status = Command::new("sha1sum")
            .args(["-c", "--quiet", "--strict"])
            .arg(&single)
            .current_dir(root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        std::fs::remove_file(&single).unwrap();
        if !status.success() {
            failing.insert(i as u32 + 1);
        }
    }
    failing
}

#[test]
fn per_entry_verdicts_match_gnu_sha1sum() {
    for format in [&[][..], &["-b"][..], &["--tag"][..]] {
        let dir = TempDir::new("gnu");
        for (i, name) in NAMES.iter().enumerate() {
            dir.write(name, format!("contents of file {i}\n").as_bytes());
        }
        let manifest = gnu_sha1sum(dir.path(), format, NAMES);
        dir.manifest(&manifest);

        // Untouched, everything passes with both tools.
        assert!(
            gnu_failing_lines(dir.path(), &manifest).is_empty(),
            "{format:?}"
        );
        let report = check(dir.path(), &Options::default()).unwrap();
        assert!(
            report.is_ok(),
            "{format:?}: {:?}",
            report
                .message()
                .map(|m| String::from_utf8_lossy(&m).into_owned())
        );
        assert_eq!(report.matched, NAMES.len() as u64);

        // Alter some files, truncate one, remove some.
        for name in [
            &b"with space.log"[..],
            b"new\nline",
            b"latin1-\xe9",
            b"trailing ",
        ] {
            dir.write(name, b"tampered\n");
        }
        dir.write(b"tab\tinside", b"");
        for name in [&b"back\\slash"[..], b"invalid-\xff\xfe", b" leading"] {
            std::fs::remove_file(dir.join(name)).unwrap();
        }

        let expected = gnu_failing_lines(dir.path(), &manifest);
        assert_eq!(expected.len(), 8, "{format:?}: GNU sees every change");
        let report = check(dir.path(), &Options::default()).unwrap();
        let got: BTreeSet<u32> = report.failures.iter().map(|f| f.line).collect();
        assert_eq!(got, expected, "{format:?}");
    }
}

#[test]
fn hand_written_forms_match_gnu_sha1sum() {
    // Forms GNU reads but does not write: single space, upper-case hex, CRLF, comments,
    // leading blanks, OpenSSL's `SHA1(name)= hex`.
    let dir = TempDir::new("forms");
    dir.write(b"a", b"a");
    dir.write(b"b c", b"b c");
    let a = common::sha1_hex(b"a");
    let bc = common::sha1_hex(b"b c");
    let cases = [
        format!("{a} a\n"),
        format!("{}  a\n", a.to_uppercase()),
        format!("{a}  a\r\n"),
        format!("# comment\n{a}  a\n"),
        format!("   {a}  a\n"),
        format!("SHA1(a)= {a}\n"),
        format!("{bc} b c\n"),
        format!("{bc}  b c\r\n"),
        format!("{a}  b c\n"),
    ];
    for manifest in cases {
        dir.manifest(manifest.as_bytes());
        let gnu = Command::new("sha1sum")
            .args(["-c", "--quiet", "sha1sum.txt"])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success();
        let ours = check(dir.path(), &Options::default()).map(|r| r.is_ok());
        assert_eq!(ours.ok(), Some(gnu), "{manifest:?}");
    }
}

/// The cases of GNU's form rule and of names through a file, each checked by GNU
/// `sha1sum -c --strict` and by checksig: both fail or both pass, and when checksig
/// reads the manifest, the same lines fail. (`--strict`: GNU then fails a manifest with
/// an improperly formatted line, which checksig refuses outright.)
#[test]
fn form_rule_and_paths_through_files_match_gnu_strict() {
    let dir = TempDir::new("form-rule");
    dir.write(b"x", b"one\n");
    dir.write(b" x", b"two\n");
    dir.write(b"*x", b"three\n");
    dir.write(b"y", b"four\n");
    dir.write(b"d/z", b"five\n");
    let x = common::sha1_hex(b"one\n");
    let space_x = common::sha1_hex(b"two\n");
    let star_x = common::sha1_hex(b"three\n");
    let y = common::sha1_hex(b"four\n");
    // (manifest, GNU passes it, the lines that fail when checksig reads it)
    let cases: Vec<(String, bool, Option<Vec<u32>>)> = vec![
        // The first checksum line is single-space: ` x` is the second line's name.
        (format!("{x} x\n{x}  x\n"), false, Some(vec![2])),
        (format!("{x} x\n{space_x}  x\n"), true, Some(vec![])),
        (format!("{x} x\n{star_x} *x\n"), true, Some(vec![])),
        (format!("# c\n\n{x} x\n{space_x}  x\n"), true, Some(vec![])),
        (format!("{space_x}  x\n{x} x\n"), false, None),
        // Two-space first: a single-space line is improperly formatted.
        (format!("{x}  x\n{x} x\n"), false, None),
        (format!("{x} *x\n{x} x\n"), false, None),
        (format!("SHA1 (y) = {y}\n{x}  x\n{x} x\n"), false, None),
        (
            format!("SHA1 (y) = {y}\n{x} x\n{space_x}  x\n"),
            true,
            Some(vec![]),
        ),
        // Blank-only lines are improperly formatted; empty ones are skipped.
        (format!("{x}  x\n  \n"), false, None),
        (format!("{x}  x\n\t\n"), false, None),
        (format!("{x}  x\n\n\r\n"), true, Some(vec![])),
        // A name through a regular file never reaches a regular file.
        (format!("{x}  x/.\n"), false, Some(vec![1])),
        (format!("{x}  x/\n"), false, Some(vec![1])),
        (format!("{y}  x/../y\n"), false, Some(vec![1])),
        (format!("{x}  x/..\n"), false, Some(vec![1])),
        // Through a directory, and `.` components, it does.
        (format!("{y}  d/../y\n"), true, Some(vec![])),
        (
            format!("{x}  ./x\n{x}  .//x\n{y}  d/./../y\n"),
            true,
            Some(vec![]),
        ),
    ];
    for (manifest, gnu_passes, failing) in cases {
        dir.manifest(manifest.as_bytes());
        let gnu = Command::new("sha1sum")
            .args(["-c", "--quiet", "--strict", "sha1sum.txt"])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert_eq!(gnu, gnu_passes, "GNU on {manifest:?}");
        let ours = check(dir.path(), &Options::default())
            .ok()
            .map(|report| report.failures.iter().map(|f| f.line).collect::<Vec<_>>());
        assert_eq!(ours, failing, "{manifest:?}");
    }
}
