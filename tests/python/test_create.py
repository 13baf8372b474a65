"""Creating manifests and checking those of every algorithm, through the Python API
and the CLI, with the tools that write them (GNU sha1sum ... sha512sum, md5sum,
b2sum, cksum, and b3sum) as the oracle both ways."""

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
    if tag or algorithm == "sha1":
        assert checksig.check(root, manifest="CHECKSUMS").ok  # the first line tells
    else:
        # 64 and 128 hex digits are also BLAKE3 / BLAKE2b: nothing is guessed.
        with pytest.raises(checksig.ManifestError, match="-digit checksum could be"):
            checksig.check(root, manifest="CHECKSUMS")
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


@pytest.mark.parametrize(
    "bad, exception",
    # A NUL would end the name in C: "sha1\0x" must not pass as SHA-1.
    [("crc32", ValueError), (5, TypeError), ("sha1\0whatever", ValueError)],
)
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


# --- every algorithm, against the tool that writes it ------------------------------

#: (algorithm, BLAKE2b length, the command that writes and checks the same lines)
TOOLS = [
    ("md5", None, ["md5sum"]),
    ("sha224", None, ["sha224sum"]),
    ("sha384", None, ["sha384sum"]),
    ("blake2b", None, ["b2sum"]),
    ("blake2b", 256, ["b2sum", "-l", "256"]),
    ("blake3", None, ["b3sum"]),
]

#: b3sum 1.2 writes non-UTF-8 bytes as U+FFFD: left out of its round trips.
B3SUM_NAMES = [name for name in NAMES if b"\xe9" not in name]


@pytest.mark.parametrize("algorithm, length, tool", TOOLS)
@pytest.mark.parametrize("tag", [False, True])
def test_every_algorithm_round_trips_with_its_tool(tmp_path, algorithm, length, tool, tag):
    if tag and tool[0] == "b3sum":
        pytest.skip("b3sum writes no tagged lines")
    names = B3SUM_NAMES if tool[0] == "b3sum" else NAMES
    root = make_tree(tmp_path / "tree")
    if tool[0] == "b3sum":
        os.remove(os.path.join(os.fsencode(root), b"caf\xe9"))
    tag_args = ["--tag"] if tag else []
    created = checksig.create(root, algorithm=algorithm, length=length, tag=tag)
    assert created.files == len(names)
    manifest = os.path.basename(created.manifest)
    # The tool accepts it, and writes the same bytes.
    assert subprocess.run([*tool, "-c", manifest], cwd=root, capture_output=True).returncode == 0
    written = subprocess.run([*tool, *tag_args, *sorted(names)], cwd=root,
                             capture_output=True, check=True).stdout
    assert Path(created.manifest).read_bytes() == written
    # checksig accepts what the tool writes, the algorithm from the manifest's name.
    (root / manifest).write_bytes(written)
    report = checksig.check(root, manifest=manifest)
    assert (report.ok, report.matched) == (True, len(names))
    with open(os.path.join(os.fsencode(root), b"with space"), "wb") as f:
        f.write(b"changed")
    report = checksig.check(root, manifest=manifest)
    assert [(f.reason, len(f.expected)) for f in report.failures] == [
        ("mismatch", (length or {"md5": 128, "sha224": 224, "sha384": 384,
                                 "blake2b": 512, "blake3": 256}[algorithm]) // 4)
    ]


def test_a_bad_blake2b_length_is_refused(tmp_path):
    root = make_tree(tmp_path / "tree")
    # Refused by the library before anything starts, as a bad argument (ValueError,
    # not a failed run: the command line exits 2 for it).
    for bad in (12, 520):
        with pytest.raises(ValueError, match="invalid argument: .*multiple of 8") as raised:
            checksig.create(root, algorithm="blake2b", length=bad)
        assert not isinstance(raised.value, checksig.ChecksigError)
    with pytest.raises(ValueError, match="BLAKE2b only") as raised:
        checksig.create(root, algorithm="sha256", length=256)
    assert not isinstance(raised.value, checksig.ChecksigError)
    # The length goes in `length`, never silently dropped from the name.
    with pytest.raises(ValueError, match="unknown algorithm"):
        checksig.create(root, algorithm="blake2b-256")
    with pytest.raises(ValueError, match="BLAKE3 has no tagged form") as raised:
        checksig.create(root, algorithm="blake3", tag=True)
    assert not isinstance(raised.value, checksig.ChecksigError)
    with pytest.raises(TypeError):
        checksig.create(root, algorithm="blake2b", length="256")
    # More bits than the C field holds: refused, not cut to 256 (2**32 + 256).
    for bad in (2**32 + 256, 2**40):
        with pytest.raises(ValueError, match="length must be at most"):
            checksig.create(root, algorithm="blake2b", length=bad)


def test_cli_checks_a_cksum_manifest_of_several_algorithms(tmp_path):
    root = make_tree(tmp_path / "tree")
    with open(root / "CHECKSUMS", "wb") as out:
        for args in (["-a", "md5"], ["-a", "sha256"], ["-a", "blake2b", "-l", "256"]):
            subprocess.run(["cksum", *args, "plain.log", "with space"], cwd=root,
                           stdout=out, check=True)
    result = run_cli(root / "CHECKSUMS", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines()[-1] == f"{root}/CHECKSUMS: OK (6 files)"
    with open(root / "plain.log", "wb") as f:
        f.write(b"changed")
    result = run_cli("--json", root / "CHECKSUMS", cwd=tmp_path)
    assert result.returncode == 1
    import json
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    failed = [o for o in objects if o.get("status") == "FAILED"]
    assert [len(f["expected"]) for f in failed] == [32, 64, 64]


def test_cli_refuses_an_ambiguous_manifest_naming_the_candidates(tmp_path):
    root = make_tree(tmp_path / "tree")
    listing = subprocess.run(["b3sum", "plain.log"], cwd=root, capture_output=True,
                             check=True).stdout
    (root / "CHECKSUMS").write_bytes(listing)
    result = run_cli(root / "CHECKSUMS", cwd=tmp_path)
    assert result.returncode == 2
    message = result.stderr.decode()
    for word in ("line 1", "SHA-256", "BLAKE2b-256", "BLAKE3", "b3sums.txt"):
        assert word in message, message
    result = run_cli("-a", "blake3", root / "CHECKSUMS", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_cli_create_with_length_and_tags(tmp_path):
    root = make_tree(tmp_path / "tree")
    result = run_cli("--create", "-a", "blake2b", "-l", "256", "--tag", root, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    manifest = root / "b2sums.txt"
    assert b"\nBLAKE2b-256 (with space) = " in manifest.read_bytes()
    assert subprocess.run(["b2sum", "-c", "--strict", "b2sums.txt"], cwd=root,
                          capture_output=True).returncode == 0
    assert subprocess.run(["cksum", "-c", "--strict", "b2sums.txt"], cwd=root,
                          capture_output=True).returncode == 0
    result = run_cli("-l", "256", root, cwd=tmp_path)
    assert result.returncode == 2
    assert b"are for --create" in result.stderr
