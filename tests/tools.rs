//! Every algorithm against the real tool that writes its manifests, both directions:
//! `md5sum`, `sha1sum`, `sha224sum`, `sha256sum`, `sha384sum`, `sha512sum`, `b2sum`
//! (with `-l`), `cksum -a` (tagged lines of several algorithms in one file) and
//! `b3sum`. They write, checksig checks; checksig writes, they check (`-c`) and write
//! the same bytes. Also: base64 digests, the ambiguity of untagged lengths, and a
//! file listed under several algorithms read once.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use checksig::{check_with, create, Algorithm, Control, CreateOptions, Error, Options};
use common::{TempDir, AWKWARD_NAMES};

const NAMES: &[&[u8]] = AWKWARD_NAMES;

/// The names `b3sum` 1.2 writes as they are: it turns non-UTF-8 bytes into U+FFFD
/// and does not escape CR, so those two are left out of its round trips.
const B3SUM_NAMES: &[&[u8]] = &[
    b"plain.log",
    b"with space",
    b"trailing ",
    b" leading",
    b"back\\slash",
    b"new\nline",
    b"*star",
    b"sub dir/nested",
    b"sub dir/deeper/file",
];

/// A reference tool: how to run it to write (`args`, then the names) and to check
/// (`check_args`, then the manifest), and what it can write.
struct Tool {
    algorithm: Algorithm,
    program: &'static str,
    args: &'static [&'static str],
    check_args: &'static [&'static str],
    /// It writes tagged lines with `--tag` (GNU's tools; `b3sum` does not).
    tags: bool,
    names: &'static [&'static [u8]],
}

const fn gnu(algorithm: Algorithm, program: &'static str) -> Tool {
    Tool {
        algorithm,
        program,
        args: &[],
        check_args: &["-c", "--strict", "--quiet"],
        tags: true,
        names: NAMES,
    }
}

const TOOLS: &[Tool] = &[
    gnu(Algorithm::Md5, "md5sum"),
    gnu(Algorithm::Sha1, "sha1sum"),
    gnu(Algorithm::Sha224, "sha224sum"),
    gnu(Algorithm::Sha256, "sha256sum"),
    gnu(Algorithm::Sha384, "sha384sum"),
    gnu(Algorithm::Sha512, "sha512sum"),
    gnu(Algorithm::Blake2b(64), "b2sum"),
    Tool {
        args: &["-l", "256"],
        ..gnu(Algorithm::Blake2b(32), "b2sum")
    },
    Tool {
        args: &["-l", "8"],
        ..gnu(Algorithm::Blake2b(1), "b2sum")
    },
    Tool {
        algorithm: Algorithm::Blake3,
        program: "b3sum",
        args: &[],
        check_args: &["-c", "--quiet"],
        tags: false,
        names: B3SUM_NAMES,
    },
];

fn tree(tag: &str, names: &[&[u8]]) -> TempDir {
    let dir = TempDir::new(tag);
    for (i, name) in names.iter().enumerate() {
        dir.write(name, format!("contents {i}\n").repeat(i + 1).as_bytes());
    }
    dir
}

/// Runs `program args names` in `dir`: its standard output (it must succeed).
fn run(dir: &Path, program: &str, args: &[&str], names: &[&[u8]]) -> Vec<u8> {
    let output = Command::new(program)
        .args(args)
        .args(names.iter().map(|n| OsStr::from_bytes(n)))
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} is installed (tests/run_all.sh installs it): {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Whether `program check_args manifest`, run in `dir`, passes.
fn accepts(dir: &Path, program: &str, check_args: &[&str], manifest: &Path) -> bool {
    Command::new(program)
        .args(check_args)
        .arg(manifest)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

fn check_manifest(
    dir: &Path,
    manifest: &str,
    algorithm: Option<Algorithm>,
) -> Result<checksig::Report, Error> {
    check_manifest_with(dir, manifest, algorithm, &Control::default())
}

/// As [`check_manifest`], watched by `control` (its progress tells what was read).
fn check_manifest_with(
    dir: &Path,
    manifest: &str,
    algorithm: Option<Algorithm>,
    control: &Control,
) -> Result<checksig::Report, Error> {
    check_with(
        dir,
        &Options {
            manifest: Some(PathBuf::from(manifest)),
            algorithm,
            ..Options::default()
        },
        control,
    )
}

/// Whether untagged lines of `algorithm` name it by their length alone.
fn unambiguous(algorithm: Algorithm) -> bool {
    Algorithm::candidates_for_hex_len(algorithm.digest_len() * 2) == [algorithm]
}

#[test]
fn checksig_accepts_what_each_tool_writes() {
    for tool in TOOLS {
        let formats: &[&[&str]] = if tool.tags {
            &[&[], &["-b"], &["--tag"]]
        } else {
            &[&[]]
        };
        for format in formats {
            let what = format!("{} {:?} {format:?}", tool.program, tool.args);
            let dir = tree("tool-writes", tool.names);
            let args: Vec<&str> = tool.args.iter().chain(format.iter()).copied().collect();
            let listing = run(dir.path(), tool.program, &args, tool.names);
            dir.write(tool.algorithm.default_manifest().as_bytes(), &listing);
            dir.write(b"CHECKSUMS", &listing);

            // Under the tool's usual manifest name, and with the algorithm given.
            for (manifest, given) in [
                (tool.algorithm.default_manifest(), None),
                ("CHECKSUMS", Some(tool.algorithm)),
            ] {
                let report = check_manifest(dir.path(), manifest, given).unwrap();
                assert!(report.is_ok(), "{what} {manifest}: {report:?}");
                assert_eq!(report.matched, tool.names.len() as u64, "{what}");
            }
            // Under a neutral name, the first line tells: a tag always, a length only
            // when no other algorithm has it; otherwise the check refuses to guess.
            let tagged = format.contains(&"--tag");
            match check_manifest(dir.path(), "CHECKSUMS", None) {
                Ok(report) => {
                    assert!(tagged || unambiguous(tool.algorithm), "{what}: guessed");
                    assert!(report.is_ok(), "{what}: {report:?}");
                }
                Err(error) => {
                    let message = error.to_string();
                    assert!(!tagged && !unambiguous(tool.algorithm), "{what}: {message}");
                    let hex_len = tool.algorithm.digest_len() * 2;
                    let why = match Algorithm::candidates_for_hex_len(hex_len) {
                        // A length no tool writes by default: b2sum -l 8.
                        [] => "line 1: the checksum is not the hex digest of a known".into(),
                        _ => format!("line 1: a {hex_len}-digit checksum could be"),
                    };
                    assert!(message.contains(&why), "{what}: {message}");
                    if hex_len == 64 || hex_len == 128 {
                        assert!(message.contains(&tool.algorithm.to_string()), "{what}");
                    }
                }
            }

            // A changed file fails, alone, as a mismatch.
            dir.write(tool.names[0], b"changed");
            let report =
                check_manifest(dir.path(), tool.algorithm.default_manifest(), None).unwrap();
            assert_eq!(report.failures.len(), 1, "{what}");
            assert_eq!(
                report.failures[0].reason,
                checksig::Reason::Mismatch,
                "{what}"
            );
            assert_eq!(
                report.failures[0].expected.as_bytes().len(),
                tool.algorithm.digest_len()
            );
        }
    }
}

#[test]
fn each_tool_accepts_what_checksig_writes() {
    for tool in TOOLS {
        for tag in [false, true] {
            if tag && !tool.tags {
                continue;
            }
            let what = format!("{} {:?} tag={tag}", tool.program, tool.args);
            let dir = tree("checksig-writes", tool.names);
            let options = CreateOptions {
                algorithm: tool.algorithm,
                tag,
                ..CreateOptions::default()
            };
            let created = create(dir.path(), &options).unwrap();
            assert_eq!(
                created.manifest,
                dir.path().join(tool.algorithm.default_manifest())
            );
            assert_eq!(created.files, tool.names.len() as u64, "{what}");
            assert!(
                accepts(dir.path(), tool.program, tool.check_args, &created.manifest),
                "{what}: {}",
                String::from_utf8_lossy(&std::fs::read(&created.manifest).unwrap())
            );
            // Byte for byte what the tool writes for the same sorted names.
            let mut sorted: Vec<&[u8]> = tool.names.to_vec();
            sorted.sort();
            let mut args: Vec<&str> = tool.args.to_vec();
            if tag {
                args.push("--tag");
            }
            let expected = run(dir.path(), tool.program, &args, &sorted);
            assert_eq!(
                String::from_utf8_lossy(&std::fs::read(&created.manifest).unwrap()),
                String::from_utf8_lossy(&expected),
                "{what}"
            );
        }
    }
}

/// `cksum -a X` for several algorithms into one file, as users build multi-algorithm
/// manifests: each line is checked with its own algorithm, and `cksum -c` accepts
/// what checksig writes with tags.
#[test]
fn cksum_manifests_mix_algorithms() {
    let runs: &[&[&str]] = &[
        &["-a", "md5"],
        &["-a", "sha1"],
        &["-a", "sha224"],
        &["-a", "sha256"],
        &["-a", "sha384"],
        &["-a", "sha512"],
        &["-a", "blake2b"],
        &["-a", "blake2b", "-l", "256"],
    ];
    let dir = tree("cksum", NAMES);
    let mut listing = Vec::new();
    for args in runs {
        listing.extend(run(dir.path(), "cksum", args, NAMES));
    }
    dir.write(b"CHECKSUMS", &listing);
    let entries = (runs.len() * NAMES.len()) as u64;
    for given in [None, Some(Algorithm::Sha256)] {
        let report = check_manifest(dir.path(), "CHECKSUMS", given).unwrap();
        assert!(report.is_ok(), "{report:?}");
        assert_eq!(report.matched, entries);
    }

    // One changed file fails on every line naming it, each with its own digest; and it
    // was read once for all eight algorithms.
    dir.write(NAMES[1], b"changed");
    let control = Control::default();
    let report = check_manifest_with(dir.path(), "CHECKSUMS", None, &control).unwrap();
    assert_eq!(report.failures.len(), runs.len());
    let lengths: Vec<usize> = report
        .failures
        .iter()
        .map(|f| f.actual.unwrap().as_bytes().len())
        .collect();
    assert_eq!(lengths, [16, 20, 28, 32, 48, 64, 64, 32]);
    let total: u64 = NAMES
        .iter()
        .map(|name| std::fs::metadata(dir.join(name)).unwrap().len())
        .sum();
    assert_eq!(control.progress().bytes_done, total, "each file read once");
    assert_eq!(control.progress().files_total, NAMES.len() as u64);

    // cksum -c accepts checksig's tagged manifests of each algorithm it knows.
    let dir = tree("cksum-reads", NAMES);
    for algorithm in Algorithm::ALL
        .into_iter()
        .filter(|a| *a != Algorithm::Blake3)
    {
        let created = create(
            dir.path(),
            &CreateOptions {
                algorithm,
                tag: true,
                manifest: Some(PathBuf::from(format!("{}.tagged", algorithm.name()))),
                ..CreateOptions::default()
            },
        )
        .unwrap();
        assert!(
            accepts(
                dir.path(),
                "cksum",
                &["-c", "--strict", "--quiet"],
                &created.manifest
            ),
            "{algorithm}"
        );
    }
}

/// `cksum --base64` (coreutils 9.2 and later) writes tagged lines with base64
/// digests; the lines are made here from `cksum`'s hex, as this machine's coreutils
/// may be older.
#[test]
fn base64_digests_of_every_algorithm() {
    let dir = tree("base64", NAMES);
    let mut manifest = Vec::new();
    for args in [
        &["-a", "md5"][..],
        &["-a", "sha1"],
        &["-a", "sha384"],
        &["-a", "blake2b"],
        &["-a", "blake2b", "-l", "128"],
    ] {
        for line in run(dir.path(), "cksum", args, &NAMES[..2]).split(|&b| b == b'\n') {
            if line.is_empty() {
                continue;
            }
            let cut = line.iter().rposition(|&b| b == b' ').unwrap() + 1;
            let digest = hex::decode(&line[cut..]).unwrap();
            manifest.extend_from_slice(&line[..cut]);
            manifest.extend_from_slice(
                base64::engine::general_purpose::STANDARD
                    .encode(digest)
                    .as_bytes(),
            );
            manifest.push(b'\n');
        }
    }
    dir.write(b"CHECKSUMS", &manifest);
    let report = check_manifest(dir.path(), "CHECKSUMS", None).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.matched, 10);
    dir.write(NAMES[0], b"changed");
    let report = check_manifest(dir.path(), "CHECKSUMS", None).unwrap();
    assert_eq!(report.failures.len(), 5);
}

/// A 64-digit untagged line with nothing to say which algorithm: an error naming the
/// candidates, never a guess turning every file into a mismatch. The manifest's name
/// decides it, and then a file of another algorithm is the mismatch it is.
#[test]
fn an_ambiguous_manifest_is_refused_with_the_candidates() {
    let dir = tree("ambiguous", &NAMES[..3]);
    let listing = run(dir.path(), "b3sum", &[], &NAMES[..3]);
    dir.write(b"CHECKSUMS", &listing);
    dir.write(b"b3sums.txt", &listing);
    dir.write(b"sha256sum.txt", &listing);
    let error = check_manifest(dir.path(), "CHECKSUMS", None).unwrap_err();
    let message = error.to_string();
    for candidate in ["SHA-256", "BLAKE2b-256", "BLAKE3", "b3sums.txt", "line 1"] {
        assert!(message.contains(candidate), "{message}");
    }
    assert!(check_manifest(dir.path(), "b3sums.txt", None)
        .unwrap()
        .is_ok());
    assert!(
        check_manifest(dir.path(), "CHECKSUMS", Some(Algorithm::Blake3))
            .unwrap()
            .is_ok()
    );
    let wrong = check_manifest(dir.path(), "sha256sum.txt", None).unwrap();
    assert_eq!(
        wrong.failures.len(),
        3,
        "BLAKE3 digests checked as SHA-256 all mismatch"
    );
}

/// `b3sum` writes a name ending in CR as it is (it escapes only `\` and LF) and
/// `b3sum -c` reads it back so: in its manifests a trailing CR is the name's, not a
/// CRLF line end. Read the other way, the check would verify `x` in place of `x\r`:
/// with `x\r` changed, a false OK where `b3sum -c` fails.
#[test]
fn a_name_ending_in_cr_in_a_b3sum_manifest_is_the_file_b3sum_checks() {
    let names: &[&[u8]] = &[b"x", b"x\r"];
    let dir = TempDir::new("b3sum-cr");
    for name in names {
        dir.write(name, b"same contents");
    }
    let listing = run(dir.path(), "b3sum", &[], names);
    assert!(listing.ends_with(b"  x\r\n"), "b3sum wrote the CR as it is");
    dir.write(b"b3sums.txt", &listing);
    let manifest = dir.path().join("b3sums.txt");
    assert!(accepts(dir.path(), "b3sum", &["-c"], &manifest));
    assert!(check_manifest(dir.path(), "b3sums.txt", None)
        .unwrap()
        .is_ok());
    dir.write(b"x\r", b"changed");
    assert!(!accepts(dir.path(), "b3sum", &["-c"], &manifest));
    let report = check_manifest(dir.path(), "b3sums.txt", None).unwrap();
    let failed: Vec<_> = report.failures.iter().map(|f| f.line).collect();
    assert_eq!(failed, [2], "the line of x\\r fails, as in b3sum -c");
}

/// One large BLAKE3 file is hashed on every core (its subtrees apart): the digest is
/// still `b3sum`'s.
#[test]
fn a_large_blake3_file_on_several_threads_matches_b3sum() {
    let dir = TempDir::new("blake3-large");
    let contents: Vec<u8> = (0..(48 << 20) + 12345u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    dir.write(b"large.bin", &contents);
    let listing = run(dir.path(), "b3sum", &[], &[b"large.bin"]);
    dir.write(b"b3sums.txt", &listing);
    let control = Control::default();
    let report = check_manifest_with(dir.path(), "b3sums.txt", None, &control).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(control.progress().bytes_done, contents.len() as u64);
}
