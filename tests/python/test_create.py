"""Creating manifests and checking SHA-256 / SHA-512 ones, through the Python API and
the CLI, with GNU sha1sum / sha256sum / sha512sum as the oracle both ways."""

import os
import subprocess
from pathlib import Path

import pytest

import checksig
from support import run_cli

ALGORITHMS = ["sha1", "sha256", "sha512"]

# Awkward names: blanks, escapes GNU writes with a leading backslash, non-UTF-8.
NAMES = [b"plain.log", b"with space", b"trailing ", b"back\\slash", b"new\nline",
         b"caf\xe9", b"sub dir/nested.txt"]


def make_tree(root: Path) -> Path:
    for i, name in enumerate(NAMES):
        path = os.path.join(os.fsencode(root), name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(b"contents %d\n" % i)
    return root


def gnu_check(root: Path, algorithm: str, manifest: str) -> bool:
    return subprocess.run([f"{algorithm}sum", "-c", "--strict", "--quiet", manifest],
                          cwd=root, capture_output=True).returncode == 0


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_gnu_accepts_what_create_writes(tmp_path, algorithm):
    root = make_tree(tmp_path / "tree")
    created = checksig.create(root, algorithm=algorithm)
    assert created == checksig.Created(
        manifest=str(root / f"{algorithm}sum.txt"), files=len(NAMES), skipped=0
    )
    assert gnu_check(root, algorithm, f"{algorithm}sum.txt")
    # Byte for byte GNU's own output on the sorted names.
    gnu = subprocess.run([f"{algorithm}sum", *sorted(NAMES)], cwd=root,
                         capture_output=True, check=True).stdout
    assert Path(created.manifest).read_bytes() == gnu
    assert checksig.check(root, algorithm=algorithm).ok


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("tag", [False, True])
def test_we_accept_what_gnu_writes(tmp_path, algorithm, tag):
    root = make_tree(tmp_path / "tree")
    listing = subprocess.run([f"{algorithm}sum", *(["--tag"] if tag else []), *NAMES],
                             cwd=root, capture_output=True, check=True).stdout
    (root / f"{algorithm}sum.txt").write_bytes(listing)
    (root / "CHECKSUMS").write_bytes(listing)
    assert checksig.check(root, algorithm=algorithm).matched == len(NAMES)
    assert checksig.check(root, manifest="CHECKSUMS").ok  # the first line tells
    with open(os.path.join(os.fsencode(root), b"new\nline"), "wb") as f:
        f.write(b"changed")
    report = checksig.check(root, manifest="CHECKSUMS", algorithm=algorithm.upper())
    assert [f.reason for f in report.failures] == ["mismatch"]
    assert len(report.failures[0].expected) == len(report.failures[0].actual)
    assert len(report.failures[0].expected) in (40, 64, 128)


def test_a_digest_of_the_wrong_length_is_a_bad_line(tmp_path):
    root = make_tree(tmp_path / "tree")
    subprocess.run(["sha1sum", "plain.log"], cwd=root, check=True,
                   stdout=open(root / "sha256sum.txt", "wb"))
    with pytest.raises(checksig.ManifestError) as error:
        checksig.check(root, algorithm="sha256")
    assert str(error.value) == (
        f'"{root}/sha256sum.txt" - line 1: the checksum is not 64 hex digits'
    )


@pytest.mark.parametrize("bad, exception", [("md5", ValueError), (5, TypeError)])
def test_unknown_algorithms_are_refused(tmp_path, bad, exception):
    with pytest.raises(exception):
        checksig.create(tmp_path, algorithm=bad)
    with pytest.raises(exception):
        checksig.check(tmp_path, algorithm=bad)


def test_create_skips_special_files_and_replaces_atomically(tmp_path):
    root = make_tree(tmp_path / "tree")
    os.mkfifo(root / "pipe")
    os.symlink("nowhere", root / "dangling")
    os.symlink("plain.log", root / "alias.log")
    (root / "sha1sum.txt").write_text("old\n")
    created = checksig.create(root)
    assert (created.files, created.skipped) == (len(NAMES) + 1, 2)
    assert b"alias.log" in Path(created.manifest).read_bytes()
    assert not [p for p in os.listdir(root) if p.endswith(".tmp")]
    assert checksig.check(root).ok


def test_create_errors_are_checksig_errors(tmp_path):
    with pytest.raises(checksig.ChecksigError) as error:
        checksig.create(tmp_path / "missing")
    assert "cannot open root directory" in str(error.value)


def test_cli_create_then_check(tmp_path):
    root = make_tree(tmp_path / "tree")
    result = run_cli("--create", "--algorithm", "sha256", root, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip() == (
        f"{root}: wrote {root}/sha256sum.txt ({len(NAMES)} files)"
    )
    assert gnu_check(root, "sha256", "sha256sum.txt")
    result = run_cli("--quiet", "--algorithm", "sha256", root, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, b"")
    result = run_cli("--create", tmp_path / "missing", cwd=tmp_path)
    assert result.returncode == 1
    assert b"cannot open root directory" in result.stderr
