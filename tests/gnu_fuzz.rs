//! Differential fuzzing against GNU `sha1sum -c` / `sha256sum -c` / `sha512sum -c`,
//! the oracle: manifests that GNU wrote for a tree of confusable names (`x`, ` x`, `*x`,
//! `x `...), mutated the way hand edits, other tools and attackers mutate them (blanks,
//! tabs, `*`, `\`, CR, tags, case, comments, truncation, duplicated and swapped lines,
//! non-UTF-8 bytes, names through a file), each checked by both.
//!
//! Asserted on every case:
//! - never an OK from checksig for a line that GNU does not verify as OK (a false OK);
//! - when checksig accepts the manifest, GNU finds every line properly formatted and
//!   gives one verdict per line, and the verdicts agree line by line;
//! - when checksig refuses the manifest (a bad line: checksig's documented difference,
//!   GNU only warns), GNU `--strict` fails it too, unless the line is one the README
//!   lists as refused on purpose (over 64 KiB, a NUL byte).
//!
//! The run is seeded and bounded in time: `CHECKSIG_FUZZ_SECONDS` (default 4) and
//! `CHECKSIG_FUZZ_SEED` (default: a fixed seed, so CI is repeatable; any number for
//! another sequence). A failure prints the seed, the case number and the manifest.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use checksig::{check, Algorithm, Error, Options, Reason};
use common::TempDir;

/// File names that one blank, `*` or `\` more or less turns into one another.
const NAMES: &[&[u8]] = &[
    b"x",
    b" x",
    b"  x",
    b"*x",
    b" *x",
    b"x ",
    b"\tx",
    b"*",
    b" ",
    b"a b",
    b"a  b",
    b"SHA1 (x)",
    b"x)",
    b"(x",
    b"back\\slash",
    b"new\nline",
    b"cr\r",
    b"latin1-\xe9",
    b"d/f",
    b"d/ g",
    b"f",
];

/// A small xorshift generator: reproducible from its seed, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// One algorithm with its GNU tool and manifest name.
struct Tool {
    algorithm: Algorithm,
    program: &'static str,
    manifest: &'static str,
}

const TOOLS: &[Tool] = &[
    Tool {
        algorithm: Algorithm::Sha1,
        program: "sha1sum",
        manifest: "sha1sum.txt",
    },
    Tool {
        algorithm: Algorithm::Sha256,
        program: "sha256sum",
        manifest: "sha256sum.txt",
    },
    Tool {
        algorithm: Algorithm::Sha512,
        program: "sha512sum",
        manifest: "sha512sum.txt",
    },
    Tool {
        algorithm: Algorithm::Md5,
        program: "md5sum",
        manifest: "md5sum.txt",
    },
    Tool {
        algorithm: Algorithm::Sha224,
        program: "sha224sum",
        manifest: "sha224sum.txt",
    },
    Tool {
        algorithm: Algorithm::Sha384,
        program: "sha384sum",
        manifest: "sha384sum.txt",
    },
    Tool {
        algorithm: Algorithm::Blake2b(64),
        program: "b2sum",
        manifest: "b2sums.txt",
    },
];

/// GNU's lines for `names` in `dir`, in one of the forms GNU writes (indicator,
/// binary, tag), or rewritten into the single-space form BSD `md5 -r` writes.
fn base_lines(dir: &TempDir, tool: &Tool, rng: &mut Rng) -> Vec<Vec<u8>> {
    let style = rng.below(4);
    let args: &[&str] = match style {
        1 => &["-b"],
        2 => &["--tag"],
        _ => &[],
    };
    let mut names: Vec<&[u8]> = NAMES.to_vec();
    // A random subset, in a random order: which line comes first matters.
    for i in (1..names.len()).rev() {
        names.swap(i, rng.below(i + 1));
    }
    names.truncate(3 + rng.below(names.len() - 2));
    let output = Command::new(tool.program)
        .args(args)
        .args(names.iter().map(|n| OsStr::from_bytes(n)))
        .current_dir(dir.path())
        .output()
        .expect("GNU coreutils is installed");
    assert!(output.status.success());
    let mut lines: Vec<Vec<u8>> = output
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    if style == 3 {
        // `hex  name` -> `hex name`, as `md5 -r` and `openssl dgst -r` write.
        let hex_len = tool.algorithm.digest_len() * 2;
        for line in &mut lines {
            let start = usize::from(line[0] == b'\\');
            line.remove(start + hex_len + 1);
        }
    }
    lines
}

/// Applies one random edit to the manifest's lines.
fn mutate(lines: &mut Vec<Vec<u8>>, rng: &mut Rng, hex_len: usize) {
    const BYTES: &[u8] = b"  \t*\\\r#x)(=/.0aF\xff";
    if lines.is_empty() {
        lines.push(b"# empty".to_vec());
    }
    let at = rng.below(lines.len());
    // Most edits land near the digest-name boundary, where the forms differ.
    let near = |rng: &mut Rng, len: usize| -> usize {
        if rng.chance(70) {
            (hex_len.saturating_sub(1) + rng.below(5)).min(len)
        } else {
            rng.below(len + 1)
        }
    };
    match rng.below(16) {
        0 => {
            let line = &mut lines[at];
            let pos = near(rng, line.len());
            line.insert(pos, *rng.pick(BYTES));
        }
        1 => {
            let line = &mut lines[at];
            if !line.is_empty() {
                let pos = near(rng, line.len() - 1);
                line.remove(pos.min(line.len() - 1));
            }
        }
        2 => {
            let line = &mut lines[at];
            if !line.is_empty() {
                let pos = near(rng, line.len() - 1).min(line.len() - 1);
                line[pos] = *rng.pick(BYTES);
            }
        }
        3 => {
            let copy = lines[at].clone();
            let to = rng.below(lines.len() + 1);
            lines.insert(to, copy);
        }
        4 => {
            let other = rng.below(lines.len());
            lines.swap(at, other);
        }
        5 => {
            lines.remove(at);
        }
        6 => {
            let filler: &[u8] = rng.pick::<&[u8]>(&[
                &b""[..],
                b" ",
                b"\t",
                b"\r",
                b"# comment",
                b"  # indented",
                b"#",
            ]);
            lines.insert(at, filler.to_vec());
        }
        7 => lines[at].make_ascii_uppercase(),
        8 => {
            // Another digit: a mismatch, if the line still parses.
            let line = &mut lines[at];
            let start = usize::from(line.first() == Some(&b'\\'));
            if let Some(digit) = line.get_mut(start + rng.below(hex_len)) {
                if digit.is_ascii_hexdigit() {
                    *digit = if *digit == b'0' { b'1' } else { b'0' };
                }
            }
        }
        9 => {
            let line = &mut lines[at];
            if line.first() == Some(&b'\\') {
                line.remove(0);
            } else {
                line.insert(0, b'\\');
            }
        }
        10 => lines[at].push(b'\r'),
        11 => {
            let cut = rng.below(lines[at].len() + 1);
            lines[at].truncate(cut);
        }
        12 => {
            // Leading blanks.
            let blank = *rng.pick(b" \t");
            lines[at].insert(0, blank);
        }
        13 => {
            // The name replaced by one that reaches a file through a path: through a
            // regular file, through a directory, or above the root.
            let suffix: &[u8] = rng.pick::<&[u8]>(&[
                &b"f/."[..],
                b"f/",
                b"f/../x",
                b"d/../x",
                b"d/./f",
                b"./x",
                b"d/..",
                b"../x",
                b"d",
                b"x/.",
            ]);
            let line = &mut lines[at];
            if line.len() > hex_len + 2 && !line.ends_with(b")") {
                let keep = hex_len + 2 + usize::from(line[0] == b'\\');
                line.truncate(keep.min(line.len()));
                line.extend_from_slice(suffix);
            }
        }
        14 => {
            // Two spaces where there was one, or one where there were two.
            let line = &mut lines[at];
            let start = usize::from(line.first() == Some(&b'\\')) + hex_len;
            match line.get(start..start + 2) {
                Some(b"  ") | Some(b" *") => {
                    line.remove(start + 1);
                }
                Some(_) => line.insert(start, b' '),
                None => {}
            }
        }
        _ => {
            // A very long name now and then; mostly a plain edit of the line's end.
            if rng.chance(3) {
                lines[at].extend(std::iter::repeat(b'y').take(70_000));
            } else {
                lines[at].push(*rng.pick(BYTES));
            }
        }
    }
}

/// GNU's reading of the manifest: its exit status, whether it warned about a line, and
/// its verdict for each checksum line, in order.
struct GnuVerdict {
    success: bool,
    misformatted: bool,
    lines: Vec<bool>,
}

fn run_gnu(dir: &TempDir, tool: &Tool) -> GnuVerdict {
    let output = Command::new(tool.program)
        .args(["-c", "--strict", "--warn", tool.manifest])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("GNU coreutils is installed");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines = output
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|line| line.ends_with(b": OK"))
        .collect();
    GnuVerdict {
        success: output.status.success(),
        misformatted: stderr.contains("improperly formatted")
            || stderr.contains("no properly formatted"),
        lines,
    }
}

/// Whether a line is tagged with another algorithm than `tool`'s: checksig checks it
/// with that algorithm, as `cksum -c` does, where `sha256sum -c` (say) calls it
/// improperly formatted (README, "Manifest rules").
fn tagged_with_another_algorithm(manifest: &[u8], tool: &Tool) -> bool {
    manifest.split(|&b| b == b'\n').any(|line| {
        let line = &line[line.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
        let line = line.strip_prefix(b"\\").unwrap_or(line);
        Algorithm::ALL
            .into_iter()
            .filter(|a| !a.same_family(tool.algorithm))
            .any(|other| {
                line.strip_prefix(other.tag().as_bytes())
                    .is_some_and(|rest| rest.starts_with(b" (") || rest.starts_with(b"("))
            })
    })
}

/// A line checksig refuses on purpose where GNU reads on (README, "Manifest rules").
fn refused_on_purpose(manifest: &[u8]) -> bool {
    // `b2sum` overwrites the byte after `BLAKE2b` whatever it is, so it also reads
    // `BLAKE2b/(x) = ...` and `BLAKE2b  (x) = ...`; checksig wants `(`, ` (` or `-N`.
    let blake2b_quirk = |line: &[u8]| {
        let line = &line[line.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
        let line = line.strip_prefix(b"\\").unwrap_or(line);
        line.strip_prefix(b"BLAKE2b").is_some_and(|rest| {
            !(rest.starts_with(b"(") || rest.starts_with(b" (") || rest.starts_with(b"-"))
        })
    };
    // GNU reads an empty name as naming the empty file, and fails to open it: `TAG ()
    // = ...`, and (in `b2sum`, which skips the others' shortest-line check) `<hex> `.
    // checksig calls the name empty.
    let empty_name = |line: &[u8]| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = &line[line.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
        let line = line.strip_prefix(b"\\").unwrap_or(line);
        let hex = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        let untagged = hex > 0 && matches!(&line[hex..], b" " | b"\t");
        let open = line.iter().position(|&b| b == b'(');
        let close = line.iter().rposition(|&b| b == b')');
        let tagged = line.first().is_some_and(u8::is_ascii_uppercase)
            && matches!((open, close), (Some(open), Some(close)) if close == open + 1);
        untagged || tagged
    };
    manifest
        .split(|&b| b == b'\n')
        .any(|line| blake2b_quirk(line) || empty_name(line))
        || manifest.contains(&0)
        || manifest
            .split(|&b| b == b'\n')
            .any(|line| line.len() > checksig::manifest::MAX_LINE_LEN)
}

fn printable(bytes: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(bytes))
}

#[test]
fn mutated_manifests_never_give_a_false_ok() {
    let seconds: u64 = std::env::var("CHECKSIG_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let seed: u64 = std::env::var("CHECKSIG_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_c0de_2026_1125);
    let mut rng = Rng(seed | 1);

    let dir = TempDir::new("fuzz");
    for (i, name) in NAMES.iter().enumerate() {
        dir.write(name, format!("contents of {i}\n").as_bytes());
    }

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut cases, mut accepted, mut ok_lines) = (0u64, 0u64, 0u64);
    while Instant::now() < deadline {
        cases += 1;
        let tool = rng.pick(TOOLS);
        let hex_len = tool.algorithm.digest_len() * 2;
        let mut lines = base_lines(&dir, tool, &mut rng);
        for _ in 0..1 + rng.below(3) {
            mutate(&mut lines, &mut rng, hex_len);
        }
        let mut manifest = lines.join(&b'\n');
        if rng.chance(90) {
            manifest.push(b'\n');
        }
        for other in TOOLS {
            let _ = std::fs::remove_file(dir.join(other.manifest.as_bytes()));
        }
        dir.write(tool.manifest.as_bytes(), &manifest);

        let gnu = run_gnu(&dir, tool);
        let options = Options {
            manifest: Some(tool.manifest.into()),
            list_matches: true,
            ..Options::default()
        };
        let ours = check(dir.path(), &options);
        let context = || {
            format!(
                "seed {seed}, case {cases}, {}: {}",
                tool.program,
                printable(&manifest)
            )
        };
        let report = match ours {
            Err(Error::Manifest { .. }) => {
                // Refused as a whole, nothing hashed: GNU must find a line improperly
                // formatted too (not merely fail on a file), unless it is one of the
                // refusals the README lists.
                assert!(
                    gnu.misformatted || refused_on_purpose(&manifest),
                    "checksig refused a manifest GNU accepts: {}\n{}",
                    ours.unwrap_err(),
                    context()
                );
                continue;
            }
            Err(other) => panic!("{other}: {}", context()),
            Ok(report) => report,
        };
        if tagged_with_another_algorithm(&manifest, tool) {
            // A deliberate difference: checksig reads the line GNU's tool skips.
            continue;
        }
        accepted += 1;
        assert!(
            !gnu.misformatted,
            "checksig accepted a line GNU calls improperly formatted: {}",
            context()
        );
        // Every entry's verdict, in manifest order.
        let mut verdicts: Vec<(u32, Option<Reason>)> = report
            .matches
            .iter()
            .map(|m| (m.line, None))
            .chain(
                report
                    .failures
                    .iter()
                    .map(|f| (f.line, Some(f.reason.clone()))),
            )
            .collect();
        verdicts.sort_by_key(|(line, _)| *line);
        assert_eq!(
            verdicts.len(),
            gnu.lines.len(),
            "one verdict per line: {}",
            context()
        );
        for ((line, ours), gnu_ok) in verdicts.iter().zip(&gnu.lines) {
            match (ours, gnu_ok) {
                (None, true) => ok_lines += 1,
                (Some(_), false) => {}
                (None, false) => panic!("FALSE OK on line {line}: {}", context()),
                // Names above the root are refused on purpose, never opened.
                (Some(Reason::OutsideRoot), true) => {}
                (Some(reason), true) => {
                    panic!(
                        "line {line} fails ({reason}) where GNU says OK: {}",
                        context()
                    )
                }
            }
        }
        assert_eq!(report.is_ok(), gnu.success, "{}", context());
    }
    eprintln!(
        "{cases} mutated manifests (seed {seed}): {accepted} accepted, {ok_lines} lines OK \
         by both; every verdict agreed with GNU"
    );
    assert!(cases > 50, "too few cases in {seconds} s: {cases}");
    assert!(
        accepted > 10 && ok_lines > 10,
        "the fuzzer must reach the check"
    );
}
