//! A manifest checked in parts (as a cluster checks it): the parts' reports,
//! concatenated in order, are the whole check's, with the manifest's true line numbers
//! and the form and algorithm its first lines decided, however it is cut.

mod common;

use checksig::{check, nothing_verified, split, Error, ManifestPart, Options, Reason, Summary};
use common::{sha1_hex, TempDir};

/// (line, reason) of every failure, and the counts, of the whole manifest checked part
/// by part; or the error of the first part, in part order, that has one (as a cluster
/// merges them).
fn check_in_parts(
    dir: &TempDir,
    options: &Options,
    parts: usize,
) -> Result<(Vec<(u32, Reason)>, Summary), Error> {
    let split = split(dir.path(), options, parts)?;
    assert!(split.parts.len() <= parts.max(1));
    let mut failures = Vec::new();
    let mut total = Summary::default();
    let mut next_start = 0;
    for part in &split.parts {
        assert_eq!(part.start, next_start, "parts are contiguous");
        next_start = part.end;
        let part_options = Options {
            part: Some(ManifestPart {
                part: *part,
                parser: split.parser,
                stamp: Some(split.stamp),
            }),
            ..options.clone()
        };
        let report = check(dir.path(), &part_options)?;
        failures.extend(report.failures.iter().map(|f| (f.line, f.reason.clone())));
        total.entries += report.entries;
        total.matched += report.matched;
        total.failed += report.failures.len() as u64;
        total.skipped += report.skipped;
    }
    Ok((failures, total))
}

#[test]
fn parts_together_are_the_whole_check() {
    let dir = TempDir::new("parts");
    dir.write(b"x", b"one\n");
    dir.write(b" x", b"two\n");
    let x = sha1_hex(b"one\n");
    let space_x = sha1_hex(b"two\n");
    // Single-space first: every later `<hex>  x` names ` x`, in whichever part it is.
    let mut manifest = format!("# made by md5 -r style tools\n{x} x\n");
    for i in 0..400 {
        let name = format!("dir with space/file {i:03}");
        let contents = format!("file {i}\n");
        if i % 37 != 3 {
            dir.write(name.as_bytes(), contents.as_bytes());
        }
        let digest = if i % 53 == 7 {
            sha1_hex(b"wrong")
        } else {
            sha1_hex(contents.as_bytes())
        };
        manifest.push_str(&format!("{digest} {name}\n"));
        if i % 100 == 50 {
            manifest.push_str(&format!("\n# comment {i}\n{space_x}  x\nSHA1 (x) = {x}\n"));
        }
    }
    dir.manifest(manifest.as_bytes());
    let whole = check(dir.path(), &Options::default()).unwrap();
    let expected: Vec<(u32, Reason)> = whole
        .failures
        .iter()
        .map(|f| (f.line, f.reason.clone()))
        .collect();
    assert!(expected.iter().any(|(_, r)| *r == Reason::Mismatch));
    assert!(expected.iter().any(|(_, r)| *r == Reason::NoSuchFile));
    for parts in [1, 2, 3, 7, 16, 1000] {
        let (failures, summary) = check_in_parts(&dir, &Options::default(), parts).unwrap();
        assert_eq!(failures, expected, "{parts} parts");
        assert_eq!(summary.matched, whole.matched, "{parts} parts");
        assert_eq!(summary.entries, whole.entries, "{parts} parts");
    }
}

#[test]
fn a_bad_or_empty_manifest_is_the_error_a_check_gives_however_it_is_cut() {
    let dir = TempDir::new("parts-bad");
    let x = sha1_hex(b"x");
    let good: String = (0..200).map(|i| format!("{x}  file {i}\n")).collect();
    for (text, message) in [
        // Decided by line 1, so found by the part that holds line 3.
        (
            format!("{x}  a\n{x}  b\n{x} c\n{good}"),
            "line 3: single-space line",
        ),
        // Late in the manifest, in whichever part; and the first of two.
        (
            format!("{good}{x}  a\nnot a line\n{good}junk\n"),
            "line 202",
        ),
        // Before the lines that decide: found by the split.
        (format!("# c\nnot a line\n{good}"), "line 2"),
        ("# nothing\n\n".to_string(), "no checksum lines"),
    ] {
        dir.manifest(text.as_bytes());
        let whole = check(dir.path(), &Options::default()).unwrap_err();
        assert!(whole.to_string().contains(message), "{whole}");
        for parts in [1, 2, 3, 8, 100] {
            let error = check_in_parts(&dir, &Options::default(), parts).unwrap_err();
            assert!(matches!(error, Error::Manifest { .. }));
            assert_eq!(error.to_string(), whole.to_string(), "{parts} parts");
        }
    }
}

/// A manifest rewritten between the split and a part's check (regenerated with a line
/// more, renamed into place) fails that part: its bytes are not the text that was
/// split, and the new line would be checked by no part, a false OK.
#[test]
fn a_part_of_a_manifest_changed_since_the_split_fails() {
    let dir = TempDir::new("changed-since-split");
    let mut text = String::new();
    for i in 0..20 {
        let name = format!("f{i:02}");
        dir.write(name.as_bytes(), name.as_bytes());
        text.push_str(&format!("{}  {name}\n", sha1_hex(name.as_bytes())));
    }
    dir.manifest(text.as_bytes());
    let split = split(dir.path(), &Options::default(), 2).unwrap();
    assert_eq!(split.parts.len(), 2);
    assert_eq!(split.stamp.len, text.len() as u64);
    dir.write(b"bad", b"bad");
    text.push_str(&format!("{}  bad\n", sha1_hex(b"other")));
    let rewritten = dir.join(b"sha1sum.txt.new");
    std::fs::write(&rewritten, &text).unwrap();
    std::fs::rename(&rewritten, dir.join(b"sha1sum.txt")).unwrap();
    for part in &split.parts {
        for stamp in [Some(split.stamp), None] {
            let options = Options {
                part: Some(ManifestPart {
                    part: *part,
                    parser: split.parser,
                    stamp,
                }),
                ..Options::default()
            };
            let result = check(dir.path(), &options);
            match stamp {
                Some(_) => {
                    let error = result.unwrap_err();
                    assert!(
                        error
                            .to_string()
                            .ends_with("changed since it was split into parts: split it again"),
                        "{error}"
                    );
                }
                // Without the stamp nothing tells: the old parts check the old lines.
                None => assert!(result.unwrap().is_ok()),
            }
        }
    }
}

/// No parts would check nothing, and their merge would stand as a check that passed.
#[test]
fn a_split_into_no_parts_is_refused() {
    let dir = TempDir::new("no-parts");
    dir.write(b"a", b"a\n");
    dir.write(
        b"sha1sum.txt",
        format!("{}  a\n", sha1_hex(b"a\n")).as_bytes(),
    );
    let error = split(dir.path(), &Options::default(), 0).unwrap_err();
    assert!(matches!(error, Error::InvalidArgument(_)), "{error}");
    assert_eq!(
        error.to_string(),
        "invalid argument: parts must be at least 1"
    );
    assert_eq!(
        split(dir.path(), &Options::default(), 1)
            .unwrap()
            .parts
            .len(),
        1
    );
}

#[test]
fn nothing_verified_is_decided_on_the_merged_counts() {
    let options = Options {
        ignore_missing: true,
        ..Options::default()
    };
    let all_missing = Summary {
        entries: 3,
        skipped: 3,
        ..Summary::default()
    };
    assert!(nothing_verified(&options, &all_missing));
    let one_matched = Summary {
        matched: 1,
        ..all_missing
    };
    assert!(!nothing_verified(&options, &one_matched));
    assert!(!nothing_verified(&Options::default(), &all_missing));
}

#[test]
fn a_worker_that_sees_the_data_elsewhere_names_the_clients_paths() {
    let dir = TempDir::new("parts-shown");
    dir.write(b"good", b"good\n");
    dir.write(b"bad", b"bad\n");
    let good = sha1_hex(b"good\n");
    dir.manifest(format!("{good}  good\n{good}  bad\n{good}  gone\n").as_bytes());
    let shown = std::path::PathBuf::from("/as/the/client/sees/it");
    let options = Options {
        shown_root: Some(shown.clone()),
        list_matches: true,
        ..Options::default()
    };
    let report = check(dir.path(), &options).unwrap();
    let paths: Vec<_> = report.failures.iter().map(|f| f.path.clone()).collect();
    assert_eq!(
        paths,
        [
            b"/as/the/client/sees/it/bad".to_vec(),
            b"/as/the/client/sees/it/gone".to_vec()
        ]
    );
    assert_eq!(report.matches[0].path, b"/as/the/client/sees/it/good");
    dir.manifest(b"not a checksum line\n");
    let error = check(dir.path(), &options).unwrap_err().to_string();
    assert!(
        error.contains("/as/the/client/sees/it/sha1sum.txt"),
        "{error}"
    );
    assert!(!error.contains(&*dir.path().to_string_lossy()), "{error}");
}
