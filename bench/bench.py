#!/usr/bin/env python3
"""Benchmark checksig against its peers, side by side in one run.

Every tool runs as a whole process; each data set is created once and cached outside
the repository. Runs are interleaved (every tool once per round, and in cold mode every
thread count of the storage limit, in a shuffled order, then again: so that none
always follows the same one) and the median
of N runs is reported with the min-max range, the process's peak RSS, and ratios to
the peers. Two modes:

  warm   the data in the page cache (one untimed run first reads it in);
  cold   every data file of the set evicted from the page cache before each run of
         each tool, with posix_fadvise(POSIX_FADV_DONTNEED) on each file (needs no
         privileges; file data only: directories and inodes stay cached). Cold rows
         also give the storage's limit, measured in the same run: plain reads of the
         same files, no hashing, by bench/storage_limit.rs at several thread counts,
         the best of them (a whole process too, timed like the tools). The ratios
         are to reads through the page cache (what most readers do); sets with large
         files also get the limit of reading those around the page cache into huge
         pages, as checksig does (`storage_limit ... direct`), in a row of its own.

Peers:
  sha1sum -c        GNU coreutils, single-threaded (md5sum, sha256sum, sha384sum, b2sum for
                    the sets of those algorithms; b3sum, multi-threaded, for BLAKE3)
  hashlib loop      hashlib.file_digest over the manifest (what a Python user writes first)
  hashlib threads   the same on a concurrent.futures thread pool (the best a Python user writes)
  checksig          checksig.check_signatures through the installed Python module
  checksig-cli      the `checksig DIR` command, printing every OK line (what users type)

Usage (after the README's install command, from the repository root):
  .venv/bin/python bench/bench.py                 # every data set, 5 runs each
  .venv/bin/python bench/bench.py --sets a,c --runs 7 --modes cold
  .venv/bin/python bench/bench.py --chart docs/benchmark.png   # also draw the chart
  CHECKSIG_BENCH_DIR=/big/disk .venv/bin/python bench/bench.py
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

MIB = 1024 * 1024
GIB = 1024 * MIB

HASHLIB_LOOP = r"""
import hashlib, os, sys
root, algorithm, manifest = sys.argv[1], sys.argv[2], sys.argv[3]
bad = 0
with open(os.path.join(root, manifest), "rb") as manifest:
    for line in manifest:
        expected, name = line.rstrip(b"\n").split(b"  ", 1)
        with open(os.path.join(os.fsencode(root), name), "rb") as f:
            if hashlib.file_digest(f, algorithm).hexdigest().encode() != expected:
                bad += 1
sys.exit(1 if bad else 0)
"""

HASHLIB_THREADS = r"""
import concurrent.futures, hashlib, os, sys
root, algorithm, manifest = os.fsencode(sys.argv[1]), sys.argv[2], sys.argv[3]
def check(line):
    expected, name = line.rstrip(b"\n").split(b"  ", 1)
    with open(os.path.join(root, name), "rb") as f:
        return hashlib.file_digest(f, algorithm).hexdigest().encode() == expected
with open(os.path.join(root, os.fsencode(manifest)), "rb") as manifest:
    lines = manifest.readlines()
with concurrent.futures.ThreadPoolExecutor(os.cpu_count()) as pool:
    ok = all(pool.map(check, lines, chunksize=64))
sys.exit(0 if ok else 1)
"""

CHECKSIG = r"""
import sys, checksig
if sys.argv[2] == "sha1":
    checksig.check_signatures(sys.argv[1])   # the Go-era call
else:
    assert checksig.check(sys.argv[1], algorithm=sys.argv[2]).ok
"""

CHECKSIG_CREATE = r"""
import sys, checksig
checksig.create(sys.argv[1], manifest=sys.argv[2])
"""


def write_file(path: Path, size: int, seed: int) -> None:
    """Writes `size` pseudo-random bytes (distinct per seed) quickly."""
    block = hashlib.sha256(str(seed).encode()).digest() * (MIB // 32)
    block = bytes(b ^ (i & 0xFF) for i, b in enumerate(block[:4096])) + block[4096:]
    with open(path, "wb") as f:
        remaining = size
        while remaining > 0:
            chunk = block[: min(remaining, len(block))]
            f.write(chunk)
            remaining -= len(chunk)


#: The tool that writes and checks each algorithm's manifests, and their usual name.
TOOLS: Dict[str, Tuple[str, str]] = {
    "sha1": ("sha1sum", "sha1sum.txt"),
    "sha256": ("sha256sum", "sha256sum.txt"),
    "md5": ("md5sum", "md5sum.txt"),
    "sha224": ("sha224sum", "sha224sum.txt"),
    "sha384": ("sha384sum", "sha384sum.txt"),
    "blake2b": ("b2sum", "b2sums.txt"),
    "blake3": ("b3sum", "b3sums.txt"),
}

#: Sets of another set's files, hard-linked, with a manifest of another algorithm:
#: key -> (the set, the algorithm).
ALGORITHM_SETS: Dict[str, Tuple[str, str]] = {
    "a256": ("a", "sha256"),
    "c256": ("c", "sha256"),
    "a-md5": ("a", "md5"),
    "a-sha224": ("a", "sha224"),
    "a-sha384": ("a", "sha384"),
    "a-b2": ("a", "blake2b"),
    "a-b3": ("a", "blake3"),
    "b-b3": ("b", "blake3"),
    "c-md5": ("c", "md5"),
    "c-b3": ("c", "blake3"),
}


def algorithm_of(key: str) -> str:
    return ALGORITHM_SETS[key][1] if key in ALGORITHM_SETS else "sha1"


def make_manifest(root: Path, names: List[str], algorithm: str = "sha1") -> None:
    """Writes the algorithm's usual manifest with its tool, in the given order."""
    tool, manifest_name = TOOLS[algorithm]
    with open(root / manifest_name, "wb") as manifest:
        for start in range(0, len(names), 2000):
            subprocess.run(
                [tool, "--", *names[start : start + 2000]],
                cwd=root,
                stdout=manifest,
                check=True,
            )


def make_small_files(root: Path, prefix: str, count: int, size: int) -> List[str]:
    names = []
    payload = os.urandom(size)
    for i in range(count):
        sub = root / f"{prefix}{i // 1000:03d}"
        if i % 1000 == 0:
            sub.mkdir(exist_ok=True)
        name = f"{sub.name}/f{i:07d}"
        with open(root / name, "wb") as f:
            f.write(i.to_bytes(8, "little") + payload[8:] if size >= 8 else b"")
        names.append(name)
    return names


def build_set(key: str, root: Path, cache: Path) -> None:
    if key in ALGORITHM_SETS:
        # The same files as the SHA-1 set, hard-linked, with another manifest.
        source_key, algorithm = ALGORITHM_SETS[key]
        source = dataset(cache, source_key)
        shutil.copytree(source, root, copy_function=os.link,
                        ignore=shutil.ignore_patterns("sha1sum.txt"))
        names = [line.split(b"  ", 1)[1].rstrip(b"\n").decode()
                 for line in (source / "sha1sum.txt").read_bytes().splitlines(keepends=True)]
        make_manifest(root, names, algorithm)
        return
    root.mkdir(parents=True)
    if key == "a":
        names = [f"large-{i}.bin" for i in range(2)]
        for i, name in enumerate(names):
            write_file(root / name, 512 * MIB, i)
    elif key == "b":
        names = ["one.bin"]
        write_file(root / "one.bin", GIB, 7)
    elif key == "c":
        names = make_small_files(root, "s", 50_000, 4096)
    elif key == "d":
        names = make_small_files(root, "m", 20_000, 16 * 1024)
        write_file(root / "zz-large.bin", GIB, 9)
        names.append("zz-large.bin")
    elif key == "e":
        names = make_small_files(root, "e", 1_000_000, 0)
    elif key == "e1":
        names = make_small_files(root, "e", 1, 0)
    elif key in MISSING:
        # Every listed file is missing: what a wrong root or a half-restored archive
        # gives, and the worst case of a report that holds every failure.
        empty = hashlib.sha1(b"").hexdigest()
        with open(root / "sha1sum.txt", "w") as manifest:
            for i in range(MISSING[key]):
                manifest.write(f"{empty}  gone/f{i:08d}\n")
        return
    else:
        raise ValueError(key)
    make_manifest(root, names)


SETS: Dict[str, str] = {
    "a": "(a) 2 x 512 MiB",
    "b": "(b) 1 x 1 GiB",
    "c": "(c) 50,000 x 4 KiB",
    "d": "(d) 20,000 x 16 KiB + 1 GiB last",
    "e": "(e) 1,000,000 empty files",
    "e1": "(e) baseline: 1 empty file",
    "a256": "(a) 2 x 512 MiB, SHA-256",
    "c256": "(c) 50,000 x 4 KiB, SHA-256",
    "a-md5": "(a) 2 x 512 MiB, MD5",
    "a-sha224": "(a) 2 x 512 MiB, SHA-224",
    "a-sha384": "(a) 2 x 512 MiB, SHA-384",
    "a-b2": "(a) 2 x 512 MiB, BLAKE2b",
    "a-b3": "(a) 2 x 512 MiB, BLAKE3",
    "b-b3": "(b) 1 x 1 GiB, BLAKE3",
    "c-md5": "(c) 50,000 x 4 KiB, MD5",
    "c-b3": "(c) 50,000 x 4 KiB, BLAKE3",
    "create": "(c) create a manifest of 50,000 x 4 KiB",
    "x300k": "(f) 300,000 listed files, all missing",
    "x2m": "(f) 2,000,000 listed files, all missing",
}

#: The sets whose files are all missing, and how many they list: every tool fails on
#: them (exit status 1), which is what is timed.
MISSING: Dict[str, int] = {"x300k": 300_000, "x2m": 2_000_000}


def dataset(cache: Path, key: str) -> Path:
    if key == "create":
        return dataset(cache, "c")
    root = cache / f"set-{key}"
    if not (root / TOOLS[algorithm_of(key)][1]).exists():
        shutil.rmtree(root, ignore_errors=True)
        print(f"creating {SETS[key]} in {root} ...", file=sys.stderr, flush=True)
        build_set(key, root, cache)
    return root


GNU_TIME = "/usr/bin/time"


def run(command: List[str], cwd: Optional[Path] = None, fails: bool = False) -> Tuple[float, int]:
    """Wall time in seconds and peak RSS in bytes of one whole process.

    The peak RSS comes from GNU time when it is installed (`apt-get install time`):
    the kernel carries a process's peak RSS across fork and exec, so measuring a child
    forked straight from this (larger) Python process would report Python's own size.
    Without GNU time, the peak is sampled from /proc every millisecond. `fails`: the
    command is expected to exit with status 1 (a check that finds failures).
    """
    with tempfile.NamedTemporaryFile("r") as report:
        if os.path.exists(GNU_TIME):
            command = [GNU_TIME, "-f", "%M", "-o", report.name, *command]
        start = time.perf_counter()
        # A failing check's complaints (a line per missing file) go nowhere.
        stderr = subprocess.DEVNULL if fails else None
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=stderr)
        sampled = 0
        if not os.path.exists(GNU_TIME):
            while process.poll() is None:
                sampled = max(sampled, peak_rss_kib(process.pid))
                time.sleep(0.001)
        process.wait()
        elapsed = time.perf_counter() - start
        if process.returncode != (1 if fails else 0):
            raise SystemExit(f"{command} failed with {process.returncode}")
        if os.path.exists(GNU_TIME):
            sampled = int(report.read().strip().splitlines()[-1])
    return elapsed, sampled * 1024


def peak_rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def single_core_rate(root: Path) -> Tuple[float, float]:
    """hashlib (OpenSSL) on the largest file of the set, in process: (seconds, bytes/s)."""
    largest = max((p for p in root.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        with open(largest, "rb") as f:
            hashlib.file_digest(f, "sha1")
        best = min(best, time.perf_counter() - start)
    return best, largest.stat().st_size / best


def evict(root: Path) -> None:
    """Drops every file of `root` from the page cache (posix_fadvise DONTNEED)."""
    for directory, _, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(directory, name), os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


#: Cold rows are taken for these sets (evicting a million files per run is too slow).
COLD_SETS = ("a", "c", "d", "a256", "c256", "b-b3")

#: Thread counts tried for the storage's limit.
LIMIT_THREADS = (1, 2, 8, 32, 64, 128)

#: Thread counts tried for the limit of reads around the page cache (sets with large
#: files only): one huge page in flight per thread.
DIRECT_LIMIT_THREADS = (2, 8, 32, 128)

#: Files this large are read around the page cache by the storage limit's `direct`
#: mode (its DIRECT_MIN_LEN), as checksig reads them when they are not cached.
DIRECT_MIN_LEN = 32 * MIB


def best_limit(times: Dict[int, List[float]]) -> Tuple[Optional[float], int, str]:
    """A storage limit from its runs by thread count: the best median (None without
    runs), the thread count that gave it, and every count's median for the notes."""
    medians = {n: statistics.median(v) for n, v in times.items() if v}
    if not medians:
        return None, 0, ""
    best = min(medians, key=lambda n: medians[n])
    return medians[best], best, ", ".join(f"{n}: {m:.3f}" for n, m in medians.items())


def storage_limit_program(repo: Path) -> Optional[str]:
    """Builds bench/storage_limit.rs (a cargo example) and returns its path."""
    built = subprocess.run(
        ["cargo", "build", "--quiet", "--release", "--example", "storage_limit"],
        cwd=repo,
    )
    if built.returncode != 0:
        print("cannot build bench/storage_limit.rs: no storage limit", file=sys.stderr)
        return None
    target = Path(os.environ.get("CARGO_TARGET_DIR", repo / "target"))
    return str(target / "release" / "examples" / "storage_limit")


def fmt_mib(n: float) -> str:
    return f"{n / MIB:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="a,b,c,d,e,a256,c256,create,x300k,x2m,"
                        "a-md5,a-sha224,a-sha384,a-b2,a-b3,b-b3,c-md5,c-b3",
                        help="comma-separated data sets (default: all): " + ", ".join(SETS))
    parser.add_argument("--runs", type=int, default=5, help="interleaved runs per tool (median)")
    parser.add_argument("--cache", default=os.environ.get("CHECKSIG_BENCH_DIR",
                                                          str(Path.home() / ".cache" / "checksig-bench")))
    parser.add_argument("--tools",
                        default="sha1sum,hashlib-loop,hashlib-threads,checksig,checksig-cli")
    parser.add_argument("--modes", default="warm,cold", help="warm, cold or both")
    parser.add_argument("--chart", help="also draw a chart of the times into this PNG "
                        "(needs matplotlib)")
    parser.add_argument("--chart-from", metavar="TABLE",
                        help="only draw the --chart from a table this script printed")
    args = parser.parse_args()
    if args.chart_from:
        draw_chart(rows_from_table(Path(args.chart_from).read_text()), Path(args.chart))
        return 0
    modes = [m for m in args.modes.split(",") if m]
    repo = Path(__file__).resolve().parents[1]
    limit_program = storage_limit_program(repo) if "cold" in modes else None
    chart_rows: List[Tuple[str, str, str, float]] = []  # set, mode, tool, median

    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    created = str(cache / "created.sha1")

    def tools_for(key: str) -> Dict[str, Callable[[Path], List[str]]]:
        """The commands compared on data set `key`."""
        if key == "create":
            return {
                "sha1sum": lambda root: ["sh", "-c", f"sha1sum s*/f* > '{created}'"],
                "checksig": lambda root: [py, "-c", CHECKSIG_CREATE, str(root), created],
            }
        algorithm = algorithm_of(key)
        tool, manifest = TOOLS[algorithm]
        if key in MISSING:
            # What users type, every failure printed (sha1sum -c prints them with
            # --quiet too), and the library call holding every failure in its report.
            return {
                "sha1sum": lambda root: ["sha1sum", "-c", str(root / "sha1sum.txt")],
                "checksig": lambda root: [py, "-c", CHECKSIG, str(root), algorithm],
                "checksig-cli": lambda root: [py, "-m", "checksig", str(root / "sha1sum.txt")],
            }
        tools = {
            "sha1sum": lambda root: [tool, "-c", "--quiet", str(root / manifest)],
            "hashlib-loop": lambda root: [py, "-c", HASHLIB_LOOP, str(root), algorithm, manifest],
            "hashlib-threads": lambda root: [py, "-c", HASHLIB_THREADS, str(root), algorithm,
                                             manifest],
            "checksig": lambda root: [py, "-c", CHECKSIG, str(root), algorithm],
            "checksig-cli": lambda root: [py, "-m", "checksig", str(root / manifest)],
        }
        if algorithm not in hashlib.algorithms_available:
            del tools["hashlib-loop"], tools["hashlib-threads"]
        return tools
    cores = os.cpu_count() or 1

    print(f"machine: {platform.machine()}, {cores} cores, {platform.system()} {platform.release()}, "
          f"Python {platform.python_version()}")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print()
    print("| data set | tool | median s | min-max s | peak RSS MiB | vs GNU (b3sum) | vs hashlib loop "
          "| vs best Python | vs storage limit |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    notes: List[str] = []
    warm_checksig: Dict[str, float] = {}  # data set -> checksig's warm median
    for key, mode in [(k, m) for k in args.sets.split(",") if k for m in modes]:
        if mode == "cold" and key not in COLD_SETS:
            continue
        root = dataset(cache, key)
        tools = tools_for(key)
        chosen = [t for t in args.tools.split(",") if t in tools]
        # GNU tools run in the root: they resolve names against the current directory.
        # Warm: one untimed run of the GNU tool first, so every tool finds the data
        # cached. Cold: every file evicted before every run.
        prepare = (lambda: evict(root)) if mode == "cold" else (lambda: None)
        if mode == "warm":
            run(tools["sha1sum"](root), cwd=root, fails=key in MISSING)
        times: Dict[str, List[float]] = {t: [] for t in chosen}
        rss: Dict[str, int] = {t: 0 for t in chosen}
        limits: Dict[int, List[float]] = {n: [] for n in LIMIT_THREADS}
        direct_limits: Dict[int, List[float]] = {n: [] for n in DIRECT_LIMIT_THREADS}
        manifest = root / TOOLS[algorithm_of(key)][1]
        with_limit = mode == "cold" and limit_program and manifest and key != "create"
        with_direct_limit = with_limit and any(
            p.stat().st_size >= DIRECT_MIN_LEN for p in root.rglob("*") if p.is_file())
        for round_number in range(args.runs):
            # Every tool and every thread count of the storage limit once, in a shuffled
            # order each round (seeded: repeatable): on a shared disk, whatever follows
            # a long read is slowed by it (measured on (d) cold: the same tool 1.29 s,
            # or 1.53-1.65 s right after the hashlib thread pool), so no tool nor the
            # limit may always follow the same one.
            order: List[Tuple[str, int]] = [(tool, 0) for tool in chosen]
            if with_limit:
                order += [("storage limit", threads) for threads in LIMIT_THREADS]
            if with_direct_limit:
                order += [("direct limit", threads) for threads in DIRECT_LIMIT_THREADS]
            random.Random(round_number).shuffle(order)
            for tool, threads in order:
                prepare()
                if tool in ("storage limit", "direct limit"):
                    # Timed as every tool is, a whole process from outside (its own
                    # timer would leave out its start and its listing of the files).
                    command = [limit_program, str(manifest), str(threads)]
                    if tool == "direct limit":
                        command.append("direct")
                    elapsed, _ = run(command, cwd=root)
                    (limits if tool == "storage limit" else direct_limits)[threads].append(elapsed)
                    continue
                elapsed, peak = run(tools[tool](root), cwd=root, fails=key in MISSING)
                times[tool].append(elapsed)
                rss[tool] = max(rss[tool], peak)
        median = {t: statistics.median(v) for t, v in times.items()}
        limit, best, per_count = best_limit(limits)
        best_python = min((median[t] for t in ("hashlib-loop", "hashlib-threads") if t in median), default=None)
        name = f"{SETS[key]}, {mode}"
        for tool in chosen:
            ratio = lambda peer: f"{median[tool] / peer:.2f}" if peer else "-"
            label = tool if tool != "sha1sum" else ("sha1sum */*" if key == "create" else
                                                    f"{TOOLS[algorithm_of(key)][0]} -c")
            print(f"| {name} | {label} | {median[tool]:.3f} | {min(times[tool]):.3f}-{max(times[tool]):.3f} "
                  f"| {fmt_mib(rss[tool])} | {ratio(median.get('sha1sum'))} | {ratio(median.get('hashlib-loop'))} "
                  f"| {ratio(best_python)} | {ratio(limit)} |")
            chart_rows.append((SETS[key], mode, label, median[tool]))
        if limit is not None:
            gnu = median.get("sha1sum")
            print(f"| {name} | storage limit (plain reads, {best} threads) | {limit:.3f} | - | - "
                  f"| {f'{limit / gnu:.2f}' if gnu else '-'} | - | - | 1.00 |")
            notes.append(f"{name}: storage limit by thread count (s): {per_count}")
            chart_rows.append((SETS[key], mode, "storage limit", limit))
        direct, best, per_count = best_limit(direct_limits)
        if direct is not None:
            gnu = median.get("sha1sum")
            print(f"| {name} | storage limit (around the page cache, huge pages, {best} threads) "
                  f"| {direct:.3f} | - | - | {f'{direct / gnu:.2f}' if gnu else '-'} | - | - "
                  f"| {f'{direct / limit:.2f}' if limit else '-'} |")
            notes.append(f"{name}: storage limit around the page cache by thread count (s): "
                         f"{per_count}")
            if "checksig" in median:
                notes.append(f"{name}: checksig / limit around the page cache = "
                             f"{median['checksig'] / direct:.2f}")
            if "checksig" in median and key in warm_checksig:
                # Reads cannot make a check faster than hashing the data in memory.
                floor = max(direct, warm_checksig[key])
                notes.append(f"{name}: checksig / max(limit around the page cache, checksig "
                             f"warm {warm_checksig[key]:.3f} s) = {median['checksig'] / floor:.2f}")
            chart_rows.append((SETS[key], mode, "limit around the page cache", direct))
        if mode == "cold":
            sys.stdout.flush()
            continue
        if "checksig" in median:
            warm_checksig[key] = median["checksig"]
        if key in ("a", "b", "d"):
            seconds, rate = single_core_rate(root)
            total = sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and p.name != "sha1sum.txt")
            all_core = total / (rate * cores)
            if "checksig" in median:
                if key == "a":
                    notes.append(f"(a) single-core limit {rate / 1e9:.2f} GB/s (hashlib on the largest file); "
                                 f"all-core limit {all_core:.3f} s; checksig reaches "
                                 f"{100 * all_core / median['checksig']:.0f} % of it")
                elif key == "b":
                    notes.append(f"(b) hashlib.file_digest in process on the file: {seconds:.3f} s; "
                                 f"checksig (whole process) {median['checksig']:.3f} s = "
                                 f"{median['checksig'] / seconds:.2f} x")
                else:
                    serial = min(median[t] for t in ("sha1sum", "hashlib-loop") if t in median)
                    ideal = max(seconds, serial / cores)
                    notes.append(f"(d) ideal makespan max(1 GiB alone {seconds:.3f} s, best serial "
                                 f"{serial:.3f} s / {cores}) = {ideal:.3f} s; checksig "
                                 f"{median['checksig']:.3f} s = {median['checksig'] / ideal:.2f} x ideal")
        if key == "e" and "checksig" in median:
            base = dataset(cache, "e1")
            _, base_rss = run(tools["checksig"](base), cwd=base)
            per_entry = (rss["checksig"] - base_rss) / 1_000_000
            notes.append(f"(e) checksig peak RSS {fmt_mib(rss['checksig'])} MiB vs {fmt_mib(base_rss)} MiB "
                         f"for a 1-entry manifest: {per_entry:.0f} bytes per entry")
        sys.stdout.flush()
    print()
    for note in notes:
        print(f"- {note}")
    if args.chart:
        draw_chart(chart_rows, Path(args.chart))
    return 0


def rows_from_table(text: str) -> List[Tuple[str, str, str, float]]:
    """The chart's rows from a table this script printed (to redraw it)."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or ", " not in cells[0]:
            continue
        name, _, mode = cells[0].rpartition(", ")
        tool = cells[1]
        if tool.startswith("storage limit (around"):
            tool = "limit around the page cache"
        elif tool.startswith("storage limit"):
            tool = "storage limit"
        try:
            rows.append((name, mode, tool, float(cells[2])))
        except ValueError:
            continue
    return rows


def draw_chart(rows: List[Tuple[str, str, str, float]], path: Path) -> None:
    """One panel per data set: each tool's median time, warm and cold side by side,
    the storage's limits drawn as lines across the cold bars (dashed: through the page
    cache; dotted: around it)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart (pip install matplotlib)", file=sys.stderr)
        return
    sets = list(dict.fromkeys(r[0] for r in rows))
    limits = ("storage limit", "limit around the page cache")
    tools = [t for t in dict.fromkeys(r[2] for r in rows) if t not in limits]
    columns = min(4, len(sets))
    lines = (len(sets) + columns - 1) // columns
    figure, axes = plt.subplots(lines, columns, figsize=(3.3 * columns, 2.9 * lines),
                                squeeze=False)
    colours = {"warm": "#e8a33d", "cold": "#3d7fe8"}
    for axis in axes.flat[len(sets):]:
        axis.set_visible(False)
    for axis, name in zip(axes.flat, sets):
        here = [r for r in rows if r[0] == name]
        shown = [t for t in tools if any(r[2] == t for r in here)]
        for offset, mode in ((-0.2, "warm"), (0.2, "cold")):
            values = [next((r[3] for r in here if r[1] == mode and r[2] == t), 0) for t in shown]
            if any(values):
                axis.barh([i + offset for i in range(len(shown))], values, height=0.4,
                          color=colours[mode], label=mode)
        for label, style in zip(limits, ("--", ":")):
            limit = next((r[3] for r in here if r[2] == label), None)
            if limit:
                axis.axvline(limit, color="black", linestyle=style, linewidth=1, label=label)
        axis.set_yticks(range(len(shown)))
        axis.set_yticklabels(shown, fontsize=8)
        axis.invert_yaxis()
        axis.set_title(name, fontsize=9)
        axis.set_xlabel("seconds (less is better)", fontsize=8)
        axis.tick_params(axis="x", labelsize=8)
    # One legend for every panel, under the title, where it hides no bar.
    handles: Dict[str, object] = {}
    for axis in axes.flat:
        for handle, label in zip(*axis.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    figure.legend(list(handles.values()), list(handles), loc="upper center", ncol=len(handles),
                  fontsize=8, frameon=False, bbox_to_anchor=(0.5, 0.955))
    figure.suptitle("checksig and its peers: median seconds per data set, warm and cold "
                    "(bench/bench.py)", fontsize=9)
    figure.tight_layout(rect=(0, 0, 1, 0.92))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=80)
    print(f"chart: {path}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
