//! Writing manifests, and SHA-256 / SHA-512: round trips with GNU `sha1sum`,
//! `sha256sum` and `sha512sum` in both directions, on awkward names; what is listed
//! and what is skipped; atomic writes.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use checksig::{check, create, create_with, Algorithm, Control, CreateOptions, Error, Options};
use common::{gnu_sha1sum, TempDir, AWKWARD_NAMES};

const NAMES: &[&[u8]] = AWKWARD_NAMES;

fn tree(tag: &str) -> TempDir {
    let dir = TempDir::new(tag);
    for (i, name) in NAMES.iter().enumerate() {
        dir.write(name, format!("contents {i}\n").as_bytes());
    }
    dir
}

/// The algorithms whose GNU tool is `<name>sum` and writes what these tests compare
/// (every algorithm against its own tool, and `cksum`, `b2sum -l`, `b3sum`:
/// tests/tools.rs).
const SHA_FAMILY: [Algorithm; 3] = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512];

fn gnu_tool(algorithm: Algorithm) -> String {
    format!("{}sum", algorithm.name())
}

/// Whether GNU `<algorithm>sum -c --strict <manifest>`, run in `root`, passes.
fn gnu_accepts(root: &Path, algorithm: Algorithm, manifest: &Path) -> bool {
    Command::new(gnu_tool(algorithm))
        .args(["-c", "--strict", "--quiet"])
        .arg(manifest)
        .current_dir(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

#[test]
fn gnu_accepts_what_we_write() {
    for algorithm in SHA_FAMILY {
        let dir = tree("create-gnu");
        let options = CreateOptions {
            algorithm,
            ..CreateOptions::default()
        };
        let created = create(dir.path(), &options).unwrap();
        assert_eq!(
            created.manifest,
            dir.path().join(algorithm.default_manifest())
        );
        assert_eq!(created.files, NAMES.len() as u64);
        assert!(
            gnu_accepts(dir.path(), algorithm, &created.manifest),
            "{algorithm}"
        );

        // Byte for byte what GNU writes for the same sorted names.
        let mut sorted: Vec<&[u8]> = NAMES.to_vec();
        sorted.sort();
        let gnu = Command::new(gnu_tool(algorithm))
            .args(sorted.iter().map(|n| OsStr::from_bytes(n)))
            .current_dir(dir.path())
            .output()
            .unwrap()
            .stdout;
        assert_eq!(
            std::fs::read(&created.manifest).unwrap(),
            gnu,
            "{algorithm}"
        );

        // And we pass it too, the algorithm found from the manifest's name.
        let report = check(
            dir.path(),
            &Options {
                algorithm: Some(algorithm),
                ..Options::default()
            },
        )
        .unwrap();
        assert!(report.is_ok());
        assert_eq!(report.matched, NAMES.len() as u64);
    }
}

#[test]
fn we_accept_what_gnu_writes() {
    for algorithm in SHA_FAMILY {
        for format in [&[][..], &["-b"][..], &["--tag"][..]] {
            let dir = tree("gnu-writes");
            let listing = Command::new(gnu_tool(algorithm))
                .args(format)
                .args(NAMES.iter().map(|n| OsStr::from_bytes(n)))
                .current_dir(dir.path())
                .output()
                .unwrap()
                .stdout;
            // Under the algorithm's usual name, under a neutral name (the first line
            // tells), and forced.
            dir.write(algorithm.default_manifest().as_bytes(), &listing);
            dir.write(b"CHECKSUMS", &listing);
            let cases = [
                Options {
                    algorithm: Some(algorithm),
                    ..Options::default()
                },
                Options {
                    manifest: Some(PathBuf::from("CHECKSUMS")),
                    ..Options::default()
                },
                Options {
                    manifest: Some(PathBuf::from("CHECKSUMS")),
                    algorithm: Some(algorithm),
                    ..Options::default()
                },
            ];
            // Under a neutral name, untagged SHA-256 and SHA-512 lines are of lengths
            // other algorithms share (BLAKE3, BLAKE2b): refused, naming the candidates.
            let ambiguous = algorithm != Algorithm::Sha1 && !format.contains(&"--tag");
            for (case, options) in cases.into_iter().enumerate() {
                if ambiguous && case == 1 {
                    let error = check(dir.path(), &options).unwrap_err();
                    assert!(error.to_string().contains("-digit checksum could be"));
                    continue;
                }
                let report = check(dir.path(), &options).unwrap();
                assert!(report.is_ok(), "{algorithm} {format:?} {options:?}");
                assert_eq!(report.matched, NAMES.len() as u64);
            }
            // A changed file fails under every algorithm.
            dir.write(b"new\nline", b"changed");
            let report = check(
                dir.path(),
                &Options {
                    algorithm: Some(algorithm),
                    ..Options::default()
                },
            )
            .unwrap();
            assert_eq!(report.failures.len(), 1, "{algorithm} {format:?}");
            assert_eq!(
                report.failures[0].expected.as_bytes().len(),
                algorithm.digest_len()
            );
        }
    }
}

#[test]
fn a_manifest_of_another_algorithm_is_refused_with_its_line() {
    let dir = tree("wrong-algorithm");
    let listing = gnu_sha1sum(dir.path(), &[], &[b"plain.log"]);
    dir.write(b"sha256sum.txt", &listing);
    let error = check(
        dir.path(),
        &Options {
            algorithm: Some(Algorithm::Sha256),
            ..Options::default()
        },
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "\"{}/sha256sum.txt\" - line 1: the checksum is not 64 hex digits",
            dir.display()
        )
    );
}

#[test]
fn what_is_listed_and_what_is_skipped() {
    let dir = TempDir::new("listing");
    dir.write(b"b.txt", b"b");
    dir.write(b"a.txt", b"a");
    dir.write(b"dir/c.txt", b"c");
    dir.write(b"outside/target.txt", b"t");
    symlink("a.txt", dir.join(b"link-to-file")).unwrap();
    symlink("dir", dir.join(b"link-to-dir")).unwrap();
    symlink("nowhere", dir.join(b"dangling")).unwrap();
    let status = Command::new("mkfifo")
        .arg(dir.join(b"pipe"))
        .status()
        .unwrap();
    assert!(status.success());
    dir.write(b"sha1sum.txt", b"an old manifest, replaced\n");

    let created = create(dir.path(), &CreateOptions::default()).unwrap();
    let written = std::fs::read_to_string(&created.manifest).unwrap();
    let names: Vec<&str> = written.lines().map(|l| &l[42..]).collect();
    assert_eq!(
        names,
        [
            "a.txt",
            "b.txt",
            "dir/c.txt",
            "link-to-file",
            "outside/target.txt"
        ]
    );
    let skipped: Vec<String> = created
        .skipped
        .iter()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    assert_eq!(skipped, ["dangling", "link-to-dir", "pipe"]);
    assert!(check(dir.path(), &Options::default()).unwrap().is_ok());

    // No temporary file is left beside it.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn a_cancelled_create_writes_nothing() {
    let dir = tree("cancelled");
    let control = Control::default();
    control.cancel();
    let result = create_with(dir.path(), &CreateOptions::default(), &control);
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().contains("sha1sum"))
        .collect();
    assert!(entries.is_empty(), "{entries:?}");
}

#[test]
fn a_manifest_elsewhere_and_a_missing_root() {
    let dir = tree("elsewhere");
    let out = TempDir::new("elsewhere-out");
    let options = CreateOptions {
        algorithm: Algorithm::Sha512,
        manifest: Some(out.join(b"release.sha512")),
        ..CreateOptions::default()
    };
    let created = create(dir.path(), &options).unwrap();
    assert_eq!(created.files, NAMES.len() as u64);
    let report = check(
        dir.path(),
        &Options {
            manifest: Some(created.manifest.clone()),
            ..Options::default()
        },
    )
    .unwrap();
    assert!(report.is_ok());

    let error = create(&dir.join(b"missing"), &CreateOptions::default()).unwrap_err();
    assert!(error
        .to_string()
        .ends_with("cannot open root directory: No such file or directory"));

    // A directory named as the manifest: said so, and nothing left behind.
    std::fs::create_dir(dir.join(b"subdir")).unwrap();
    for manifest in [".", "subdir", "subdir/"] {
        let options = CreateOptions {
            manifest: Some(PathBuf::from(manifest)),
            ..CreateOptions::default()
        };
        let error = create(dir.path(), &options).unwrap_err().to_string();
        assert!(
            error.ends_with("cannot write manifest: Is a directory"),
            "{manifest}: {error}"
        );
    }
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .filter(|name| name.as_bytes().ends_with(b".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// The manifest is not listed however the root and the manifest are spelled: a root
/// through a symlink and the manifest by its real path, the other way round, or a root
/// spelled with `..`. Each is created twice, so the second run finds the first's
/// manifest in the tree; listing it would make a manifest that never checks clean.
#[test]
fn the_manifest_is_not_listed_however_the_paths_are_spelled() {
    let dir = tree("spelled");
    std::fs::create_dir(dir.join(b"sub")).unwrap();
    let links = TempDir::new("spelled-links");
    let link = links.join(b"root");
    symlink(dir.path(), &link).unwrap();
    let cases: [(PathBuf, PathBuf); 3] = [
        (link.clone(), dir.join(b"SUMS")),
        (dir.path().to_path_buf(), link.join("SUMS")),
        (dir.join(b"sub/.."), dir.join(b"SUMS")),
    ];
    for (root, manifest) in cases {
        let options = CreateOptions {
            manifest: Some(manifest.clone()),
            ..CreateOptions::default()
        };
        for run in 0..2 {
            let created = create(&root, &options).unwrap();
            assert_eq!(
                created.files,
                NAMES.len() as u64,
                "{root:?} {manifest:?} {run}"
            );
        }
        let written = std::fs::read(&manifest).unwrap();
        let lists_itself = written
            .split(|&b| b == b'\n')
            .any(|line| line.ends_with(b"  SUMS"));
        assert!(!lists_itself, "{root:?} {manifest:?}");
        let options = Options {
            manifest: Some(manifest.clone()),
            ..Options::default()
        };
        assert!(
            check(&root, &options).unwrap().is_ok(),
            "{root:?} {manifest:?}"
        );
        std::fs::remove_file(&manifest).unwrap();
    }

    // Spelled as if inside, written outside (`sub2` leads out of the tree): a file of
    // that name in the tree is still listed.
    let outside = TempDir::new("spelled-outside");
    std::fs::create_dir(outside.join(b"deeper")).unwrap();
    symlink(outside.join(b"deeper"), dir.join(b"sub2")).unwrap();
    dir.write(b"SUMS", b"a file that is not the manifest\n");
    let options = CreateOptions {
        manifest: Some(dir.join(b"sub2/../SUMS")),
        ..CreateOptions::default()
    };
    let created = create(dir.path(), &options).unwrap();
    assert_eq!(created.files, NAMES.len() as u64 + 1);
    assert!(outside.join(b"SUMS").exists());
}

/// A tree deeper than `PATH_MAX` (4096 bytes of path): listed by descriptor, hashed and
/// checked one directory at a time, where a path would be too long for the kernel.
#[test]
fn a_tree_deeper_than_path_max_is_listed_and_checked() {
    use rustix::fs::{mkdirat, openat, Mode, OFlags};
    let dir = TempDir::new("deep");
    let component = "d".repeat(200);
    let levels = 25; // 25 x 201 bytes: over 5,000 bytes of path
    let mut fd = openat(
        rustix::fs::CWD,
        dir.path(),
        OFlags::DIRECTORY | OFlags::RDONLY,
        Mode::empty(),
    )
    .unwrap();
    for _ in 0..levels {
        mkdirat(&fd, component.as_str(), Mode::from_raw_mode(0o755)).unwrap();
        fd = openat(&fd, component.as_str(), OFlags::DIRECTORY, Mode::empty()).unwrap();
    }
    let file = openat(
        &fd,
        "bottom.txt",
        OFlags::WRONLY | OFlags::CREATE,
        Mode::from_raw_mode(0o644),
    )
    .unwrap();
    rustix::io::write(&file, b"at the bottom\n").unwrap();
    dir.write(b"top.txt", b"at the top\n");

    let created = create(dir.path(), &CreateOptions::default()).unwrap();
    assert_eq!(created.files, 2);
    let manifest = std::fs::read(dir.join(b"sha1sum.txt")).unwrap();
    let deep_name = format!("{}bottom.txt", format!("{component}/").repeat(levels));
    assert!(deep_name.len() > 4096);
    let expected = format!(
        "{}  {deep_name}\n{}  top.txt\n",
        common::sha1_hex(b"at the bottom\n"),
        common::sha1_hex(b"at the top\n")
    );
    assert_eq!(String::from_utf8(manifest).unwrap(), expected);

    let report = check(dir.path(), &Options::default()).unwrap();
    assert!(report.is_ok(), "{:?}", report.message());
    assert_eq!(report.matched, 2);

    // The tree cannot be removed by path either: empty it from the bottom up.
    let mut fds = vec![openat(
        rustix::fs::CWD,
        dir.path(),
        OFlags::DIRECTORY,
        Mode::empty(),
    )
    .unwrap()];
    for _ in 0..levels {
        let next = openat(
            fds.last().unwrap(),
            component.as_str(),
            OFlags::DIRECTORY,
            Mode::empty(),
        )
        .unwrap();
        fds.push(next);
    }
    rustix::fs::unlinkat(
        fds.last().unwrap(),
        "bottom.txt",
        rustix::fs::AtFlags::empty(),
    )
    .unwrap();
    for level in (0..levels).rev() {
        rustix::fs::unlinkat(
            &fds[level],
            component.as_str(),
            rustix::fs::AtFlags::REMOVEDIR,
        )
        .unwrap();
    }
}

/// A tree 6,000 directories deep is listed whole, or, where the open-file limit is
/// below its depth (one descriptor per level), refused naming the directory: never a
/// crash. The walk once recursed, a call per level on the thread's stack, and
/// overflowed it at about 5,000 levels, killing the process.
#[test]
fn a_tree_thousands_of_directories_deep_is_listed_or_refused_never_a_crash() {
    use rustix::fs::{mkdirat, openat, Mode, OFlags};
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let levels: usize = 6_000;
    // As many descriptors as the hard limit allows, up to what the walk needs.
    let limit = getrlimit(Resource::Nofile);
    let needed = levels as u64 + 500;
    let wanted = limit.maximum.map_or(needed, |max| max.min(needed));
    if limit.current.is_some_and(|current| current < wanted) {
        let _ = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(wanted),
                maximum: limit.maximum,
            },
        );
    }
    let dir = TempDir::new("thousands-deep");
    let open_dir = |at: &rustix::fd::OwnedFd| {
        openat(at, "d", OFlags::DIRECTORY | OFlags::RDONLY, Mode::empty()).unwrap()
    };
    let top = openat(
        rustix::fs::CWD,
        dir.path(),
        OFlags::DIRECTORY | OFlags::RDONLY,
        Mode::empty(),
    )
    .unwrap();
    let mut fd = top.try_clone().unwrap();
    for _ in 0..levels {
        mkdirat(&fd, "d", Mode::from_raw_mode(0o755)).unwrap();
        fd = open_dir(&fd);
    }
    let file = openat(
        &fd,
        "f",
        OFlags::WRONLY | OFlags::CREATE,
        Mode::from_raw_mode(0o644),
    )
    .unwrap();
    rustix::io::write(&file, b"at the bottom\n").unwrap();
    drop((file, fd));

    match create(dir.path(), &CreateOptions::default()) {
        Ok(created) => {
            assert_eq!(created.files, 1);
            let report = check(dir.path(), &Options::default()).unwrap();
            assert!(report.is_ok(), "{:?}", report.message());
            assert_eq!(report.matched, 1);
        }
        Err(Error::ReadDir { path, error }) => {
            assert_eq!(error.raw_os_error(), Some(libc::EMFILE), "{error}");
            // Under the root, as messages name it: the root, then `d/d/...`.
            let mut under_root = dir.path().as_os_str().as_bytes().to_vec();
            under_root.extend_from_slice(b"/d/d/");
            assert!(path.starts_with(&under_root), "names the directory");
        }
        Err(other) => panic!("{other}"),
    }
    drop(top);
    // GNU rm removes a tree of any depth, a few descriptors at a time.
    let removed = Command::new("rm")
        .arg("-rf")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(removed.success());
}

/// A manifest named with the longest name a directory takes (255 bytes) is written:
/// its temporary file, beside it, keeps within that length too.
#[test]
fn a_manifest_with_a_name_of_the_longest_length_is_written() {
    let dir = TempDir::new("long-manifest-name");
    dir.write(b"a.txt", b"contents\n");
    let name = "m".repeat(255);
    let options = CreateOptions {
        manifest: Some(PathBuf::from(&name)),
        ..CreateOptions::default()
    };
    let created = create(dir.path(), &options).unwrap();
    assert_eq!(created.files, 1);
    let manifest = std::fs::read(dir.join(name.as_bytes())).unwrap();
    assert_eq!(
        manifest,
        format!("{}  a.txt\n", common::sha1_hex(b"contents\n")).into_bytes()
    );
}
