//! The C test program: compiled with `gcc -Wall -Wextra -Werror` against the committed
//! header, linked to the cdylib that cargo just built, and run under valgrind (leaks
//! and memory errors fail it), freeing `verify`'s message once with `checksig_free` and
//! once with libc `free`, and cancelling a check of a large data set while it runs,
//! its files evicted from the page cache first so that it has reads in flight around
//! the cache, on threads of their own, when cancelled.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{evict, log_dir, sha1_hex, TempDir};

/// The directory holding `libchecksig.so`: cargo builds it beside the test binaries.
fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().to_path_buf();
    assert!(
        dir.join("libchecksig.so").exists(),
        "libchecksig.so not found in {}",
        dir.display()
    );
    dir
}

fn compile(out_dir: &Path) -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let library_dir = library_dir();
    let program = out_dir.join("test_checksig");
    let status = Command::new("gcc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-g"])
        .arg("-I")
        .arg(crate_dir.join("include"))
        .arg(crate_dir.join("tests/c/test_checksig.c"))
        .arg("-o")
        .arg(&program)
        .arg(format!("-L{}", library_dir.display()))
        .arg(format!("-Wl,-rpath,{}", library_dir.display()))
        .arg("-lchecksig")
        .status()
        .expect("gcc is installed");
    assert!(status.success(), "the C test program does not compile");
    program
}

#[test]
fn c_program_under_valgrind() {
    let (good, _) = log_dir("c-good", 10);
    let (bad, _) = log_dir("c-bad", 10);
    bad.write(b"app-04.log", b"not what was signed\n");
    assert_ne!(sha1_hex(b"not what was signed\n"), "");
    let expected = format!("\"{}/app-04.log\" - mismatch", bad.display());
    // 4 x 64 MiB: hashing it takes far longer (under valgrind, minutes) than the
    // moment the C program waits before cancelling.
    let big = TempDir::new("c-big");
    let mut manifest = String::new();
    let block: Vec<u8> = (0..1u32 << 20).map(|i| (i * 7 + i / 4096) as u8).collect();
    for i in 0..4 {
        let name = format!("big-{i}.bin");
        let mut contents = Vec::with_capacity(64 << 20);
        for _ in 0..64 {
            contents.extend_from_slice(&block);
        }
        contents[0] = i as u8;
        big.write(name.as_bytes(), &contents);
        manifest.push_str(&format!("{}  {name}\n", sha1_hex(&contents)));
    }
    big.manifest(manifest.as_bytes());
    let build = TempDir::new("c-build");
    let program = compile(build.path());

    let valgrind = Command::new("valgrind").arg("--version").output().is_ok();
    assert!(
        valgrind || std::env::var_os("CI").is_none(),
        "valgrind is required in CI"
    );
    // How long a cancel may take, in seconds. Natively it takes 20-120 ms (the reads
    // in flight finish first). Under valgrind every thread runs in turn under one lock,
    // and the cancelling thread itself may wait 0.2 s for its turn to set the flag:
    // 0.08-0.9 s measured, while the whole check would take about 20 s.
    let cancel_bound = if valgrind { "3" } else { "0.5" };
    for mode in ["checksig_free", "free"] {
        let mut command = if valgrind {
            let mut c = Command::new("valgrind");
            c.args([
                "--quiet",
                "--leak-check=full",
                "--show-leak-kinds=definite,indirect,possible",
                "--errors-for-leak-kinds=definite,indirect,possible",
                "--error-exitcode=1",
            ])
            .arg(&program);
            c
        } else {
            Command::new(&program)
        };
        for i in 0..4 {
            evict(&big.join(format!("big-{i}.bin").as_bytes()));
        }
        // Cargo's LD_LIBRARY_PATH may name an older copy of the library (target/debug)
        // before the rpath's fresh one: only the rpath counts here.
        let output = command
            .env_remove("LD_LIBRARY_PATH")
            .args([good.path(), bad.path()])
            .arg(&expected)
            .arg(mode)
            .arg(big.path())
            .arg(cancel_bound)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{mode}: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(String::from_utf8_lossy(&output.stdout).contains("C test passed"));
    }
}
