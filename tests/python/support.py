"""Helpers shared by the Python tests: data sets made with GNU sha1sum as the oracle,
and running the CLI as a subprocess."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Union

BIG_FILE_COUNT = 4
BIG_FILE_MIB = 512

Name = Union[str, bytes]


def write_logs(root: Path, count: int = 10, prefix: str = "app") -> List[str]:
    """``count`` small log files ``app-01.log`` ... in ``root``; returns their names."""
    root.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(1, count + 1):
        name = f"{prefix}-{i:02d}.log"
        lines = [f"2024-03-{i:02d}T08:{n:02d}:00Z INFO app[{i}]: event {n}\n" for n in range(5)]
        (root / name).write_text("".join(lines))
        names.append(name)
    return names


def sha1sum(root: Path, names: Iterable[Name], manifest: Name = "sha1sum.txt") -> Path:
    """Writes ``root/manifest`` with GNU ``sha1sum`` run in ``root`` on ``names``."""
    path = os.path.join(os.fsencode(root), os.fsencode(manifest))
    with open(path, "wb") as out:
        subprocess.run(
            [b"sha1sum", *(os.fsencode(name) for name in names)],
            cwd=root,
            stdout=out,
            check=True,
        )
    return Path(os.fsdecode(path))


def change_signature(root: Path, name: Name, manifest: Name = "sha1sum.txt") -> None:
    """Flips the first hex digit of ``name``'s digest in the manifest."""
    path = os.path.join(os.fsencode(root), os.fsencode(manifest))
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    target = os.fsencode(name)
    for i, line in enumerate(lines):
        if line.endswith(b"  " + target):
            flipped = b"0" if line[:1] != b"0" else b"1"
            lines[i] = flipped + line[1:]
            break
    else:
        raise AssertionError(f"{name!r} is not in the manifest")
    with open(path, "wb") as f:
        f.write(b"\n".join(lines))


def logs_dir(root: Path, count: int = 10, broken: Sequence[str] = ()) -> Path:
    """``root`` with ``count`` logs, a GNU manifest, and ``broken`` signatures changed."""
    names = write_logs(root, count)
    sha1sum(root, names)
    for name in broken:
        change_signature(root, name)
    return root


def make_big_dataset(root: Path, count: int, mib: int) -> None:
    """``count`` files of ``mib`` MiB of random data (one random MiB repeated: real
    blocks on disk, no holes) and their manifest."""
    chunk = os.urandom(1 << 20)
    digest = hashlib.sha1()
    for _ in range(mib):
        digest.update(chunk)
    lines = []
    for i in range(count):
        name = f"big-{i}.bin"
        with open(root / name, "wb") as f:
            for _ in range(mib):
                f.write(chunk)
        lines.append(f"{digest.hexdigest()}  {name}\n")
    (root / "sha1sum.txt").write_text("".join(lines))


def cli_command(*args: Union[str, bytes, os.PathLike]) -> list:
    return [sys.executable, "-m", "checksig", *args]


def run_cli(
    *args: Union[str, bytes, os.PathLike],
    cwd: Path,
    env: Optional[dict] = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess:
    """``python -m checksig ARGS`` with stdout and stderr as pipes (bytes). ``cwd``
    must be outside the source tree, whose checksig.py has no library beside it."""
    return subprocess.run(
        cli_command(*args), cwd=cwd, env=env, capture_output=True, timeout=timeout
    )
