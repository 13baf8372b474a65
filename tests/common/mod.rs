//! Helpers shared by the integration tests: temporary directories, files with byte
//! names, and GNU `sha1sum` as the oracle.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use sha1::{Digest, Sha1};

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("checksig-{tag}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// `root/name` for a byte name.
    pub fn join(&self, name: &[u8]) -> PathBuf {
        self.0.join(OsStr::from_bytes(name))
    }

    /// Writes `contents` to `root/name`, creating parent directories.
    pub fn write(&self, name: &[u8], contents: &[u8]) {
        let path = self.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }

    /// Writes the manifest `sha1sum.txt`.
    pub fn manifest(&self, contents: &[u8]) {
        self.write(b"sha1sum.txt", contents);
    }

    /// The root as the string the Go message starts with.
    pub fn display(&self) -> String {
        self.0.to_str().unwrap().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

pub fn sha1_hex(contents: &[u8]) -> String {
    hex::encode(Sha1::digest(contents))
}

/// Runs GNU `sha1sum` with `args` then `names` in `dir`; its standard output.
pub fn gnu_sha1sum(dir: &Path, args: &[&str], names: &[&[u8]]) -> Vec<u8> {
    let output = Command::new("sha1sum")
        .args(args)
        .args(names.iter().map(|n| OsStr::from_bytes(n)))
        .current_dir(dir)
        .output()
        .expect("GNU sha1sum is installed");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// A directory of `count` log files `app-NN.log` and a manifest made by GNU sha1sum.
pub fn log_dir(tag: &str, count: usize) -> (TempDir, Vec<String>) {
    let dir = TempDir::new(tag);
    let names: Vec<String> = (1..=count).map(|i| format!("app-{i:02}.log")).collect();
    for (i, name) in names.iter().enumerate() {
        let lines: String = (0..50)
            .map(|l| format!("{i} line {l}: service ok\n"))
            .collect();
        dir.write(name.as_bytes(), lines.as_bytes());
    }
    let refs: Vec<&[u8]> = names.iter().map(|n| n.as_bytes()).collect();
    let manifest = gnu_sha1sum(dir.path(), &[], &refs);
    dir.manifest(&manifest);
    (dir, names)
}

/// `verify` through the C ABI: the message, or `None` when everything matched.
pub fn c_verify(root: &Path) -> Option<String> {
    checksig::ffi::verify_path(root).map(|m| String::from_utf8_lossy(&m).into_owned())
}

/// Names GNU escapes or that break naive parsers, and one non-UTF-8: what the round
/// trips with the GNU tools are run on.
pub const AWKWARD_NAMES: &[&[u8]] = &[
    b"plain.log",
    b"with space",
    b"trailing ",
    b" leading",
    b"back\\slash",
    b"new\nline",
    b"carriage\rreturn",
    b"*star",
    b"latin1-\xe9",
    b"sub dir/nested",
    b"sub dir/deeper/file",
];

/// Drops `path`'s data from the page cache (written back first: dirty pages stay), as
/// the benchmark does before a cold run. A hint the kernel may ignore (tmpfs keeps its
/// files): a test that needs the file cold says what it found.
pub fn evict(path: &Path) {
    let file = fs::File::open(path).unwrap();
    file.sync_all().unwrap();
    rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed).unwrap();
}

/// Runs this test binary again in a child process, only its test `child_test`, under
/// `timeout` and then `wrapper` (a command that runs the rest, `prlimit --as=...` say;
/// empty for none), with `envs`. The child test prints a line `outcome: ...`: returns
/// what follows, or fails `label`, saying how the child ended instead (hung, ended by a
/// signal, or without an outcome).
pub fn child_outcome(
    child_test: &str,
    wrapper: &[String],
    envs: &[(&str, &OsStr)],
    label: &str,
) -> String {
    let output = Command::new("timeout")
        .arg("120")
        .args(wrapper)
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", child_test, "--nocapture", "--test-threads", "1"])
        .envs(envs.iter().copied())
        // A panic's backtrace needs memory: without any, std waits on its own lock.
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // 124: `timeout` killed a hung check.
    assert_ne!(output.status.code(), Some(124), "{label}: hung");
    let status = output.status;
    assert!(
        status.code().is_some(),
        "{label}: ended by {status:?}\n{stderr}"
    );
    stdout
        .lines()
        .find_map(|line| Some(line.split_once("outcome: ")?.1.to_string()))
        .unwrap_or_else(|| panic!("{label}: no outcome\n{stdout}\n{stderr}"))
}

/// Peak resident memory of this process, in bytes.
pub fn peak_rss() -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

/// Writes `dir`'s `sha1sum.txt` listing `entries` files that do not exist
/// (`missing/0000000` ...), each with the digest of nothing; returns that digest.
pub fn missing_files_manifest(dir: &TempDir, entries: usize) -> String {
    let digest = sha1_hex(b"");
    let mut manifest = Vec::with_capacity(entries * 56);
    for i in 0..entries {
        manifest.extend_from_slice(format!("{digest}  missing/{i:07}\n").as_bytes());
    }
    dir.manifest(&manifest);
    digest
}

/// Limits this test process's address space to `bytes` and resets its peak resident
/// memory to what is resident now; returns that. (The limit is the whole process's:
/// only for a test binary of its own.)
pub fn limit_memory(bytes: u64) -> u64 {
    let rlimit = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: bytes,
    };
    // SAFETY: setrlimit with a valid struct.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &rlimit) }, 0);
    fs::write("/proc/self/clear_refs", "5").unwrap();
    peak_rss()
}
