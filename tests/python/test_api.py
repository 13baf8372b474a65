"""The Python API: the Go-era contract, the report, progress, cancellation, threads,
fork. Manifests are written by GNU sha1sum, the oracle."""

import ctypes
import os
import threading
import time
from pathlib import Path

import pytest

import checksig
from support import change_signature, logs_dir, sha1sum, write_logs

EMPTY_SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"


# --- the Go project's own test ---------------------------------------------------------


def test_go_good_directory_passes(tmp_path):
    root = logs_dir(tmp_path / "logs")
    assert checksig.check_signatures(str(root)) is None


def test_go_changed_signature_is_a_mismatch(tmp_path):
    root = logs_dir(tmp_path / "logs", broken=["app-05.log"])
    with pytest.raises(ValueError) as raised:
        checksig.check_signatures(str(root))
    assert str(raised.value) == f'"{root}/app-05.log" - mismatch'
    assert isinstance(raised.value, checksig.ChecksigError)
    assert raised.value.paths == [f"{root}/app-05.log"]


def test_go_changed_file_is_a_mismatch(tmp_path):
    root = logs_dir(tmp_path / "logs")
    with open(root / "app-03.log", "a") as f:
        f.write("tampered\n")
    with pytest.raises(ValueError, match="^\"" + str(root) + '/app-03.log" - mismatch$'):
        checksig.check_signatures(str(root))


def test_several_failures_are_all_reported_in_manifest_order(tmp_path):
    root = logs_dir(tmp_path / "logs", broken=["app-09.log", "app-02.log", "app-07.log"])
    with pytest.raises(checksig.ChecksigError) as raised:
        checksig.check_signatures(str(root))
    names = ["app-02.log", "app-07.log", "app-09.log"]
    assert str(raised.value) == "\n".join(f'"{root}/{n}" - mismatch' for n in names)
    assert raised.value.paths == [f"{root}/{n}" for n in names]
    assert raised.value.report is not None and raised.value.report.failed == 3


# --- the Go-era ctypes flow, verbatim -----------------------------------------------------


def go_era_verify(root: str):
    """Exactly what a Python user of the Go library did."""
    so = ctypes.cdll.LoadLibrary(checksig.LIBRARY_PATH)
    so.verify.argtypes = [ctypes.c_char_p]
    so.verify.restype = ctypes.c_void_p
    so.free.argtypes = [ctypes.c_void_p]
    ptr = so.verify(root.encode())
    if ptr is None:
        return None
    msg = ctypes.string_at(ptr)
    so.free(ptr)
    return msg


def test_go_era_ctypes_flow_bad_directory(tmp_path):
    root = logs_dir(tmp_path / "logs", broken=["app-04.log"])
    assert go_era_verify(str(root)) == f'"{root}/app-04.log" - mismatch'.encode()


def test_go_era_ctypes_flow_good_directory(tmp_path):
    root = logs_dir(tmp_path / "logs")
    assert go_era_verify(str(root)) is None


def test_library_is_named_for_this_interpreter():
    import sysconfig

    assert os.path.basename(checksig.LIBRARY_PATH) == "_checksig" + sysconfig.get_config_var(
        "EXT_SUFFIX"
    )
    assert os.path.dirname(checksig.LIBRARY_PATH) == os.path.dirname(
        os.path.abspath(checksig.__file__)
    )


def test_version_is_the_library_version():
    so = ctypes.cdll.LoadLibrary(checksig.LIBRARY_PATH)
    so.checksig_version.restype = ctypes.c_char_p
    assert checksig.__version__ == so.checksig_version().decode()
    assert checksig.__version__.count(".") == 2


def test_import_loads_no_module_kept_for_type_checkers_or_the_cli(tmp_path):
    """Every `checksig` command and short check pays the import: `typing` alone was a
    third of it (16 ms). A fresh interpreter, so that pytest's own imports don't count."""
    import subprocess
    import sys

    # What the import adds: an interpreter's own `.pth` files may load some already.
    added_by_import = (
        "import sys; before = set(sys.modules); import checksig; "
        "print(*sorted(set(sys.modules) - before))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", added_by_import],
        cwd=tmp_path,  # not the source tree, whose checksig.py has no library beside it
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "checksig" in loaded
    for module in ["typing", "argparse", "json", "signal", "distributed", "re"]:
        assert module not in loaded
    # Still there for those who named it, made when asked for.
    assert str(checksig.PathArg).startswith("typing.Union[str, bytes")


# --- roots of every type, and names that are not UTF-8 ------------------------------------


@pytest.mark.parametrize(
    "as_root", [str, os.fsencode, Path], ids=["str", "bytes", "pathlib.Path"]
)
@pytest.mark.parametrize("broken", [False, True], ids=["good", "bad"])
def test_root_types(tmp_path, as_root, broken):
    root = logs_dir(tmp_path / "logs", broken=["app-01.log"] if broken else [])
    if not broken:
        assert checksig.check_signatures(as_root(root)) is None
        return
    with pytest.raises(checksig.ChecksigError) as raised:
        checksig.check_signatures(as_root(root))
    assert str(raised.value) == f'"{root}/app-01.log" - mismatch'


NON_UTF8_NAMES = [b"caf\xe9.log", b"\xff\xfe.log", b"ok-\xc3\xa9t\xc3\xa9.log"]


def make_non_utf8_dir(root_bytes: bytes) -> bytes:
    os.mkdir(root_bytes)
    for name in NON_UTF8_NAMES:
        with open(os.path.join(root_bytes, name), "wb") as f:
            f.write(b"log line for " + name + b"\n")
    sha1sum(Path(os.fsdecode(root_bytes)), NON_UTF8_NAMES)
    return root_bytes


@pytest.mark.parametrize(
    "dirname", [b"logs", b"r\xe9pertoire"], ids=["utf8-root", "latin1-root"]
)
def test_non_utf8_names_pass(tmp_path, dirname):
    root = make_non_utf8_dir(os.path.join(os.fsencode(tmp_path), dirname))
    assert checksig.check_signatures(root) is None
    assert checksig.check_signatures(os.fsdecode(root)) is None
    report = checksig.check(root)
    assert (report.ok, report.matched, report.entries) == (True, 3, 3)


@pytest.mark.parametrize("name", NON_UTF8_NAMES[:2], ids=["latin1", "invalid"])
def test_non_utf8_name_broken_is_reported_surrogate_escaped(tmp_path, name):
    root = make_non_utf8_dir(os.path.join(os.fsencode(tmp_path), b"r\xe9pertoire"))
    change_signature(Path(os.fsdecode(root)), name)
    path_bytes = os.path.join(root, name)
    with pytest.raises(checksig.ChecksigError) as raised:
        checksig.check_signatures(root)
    assert str(raised.value) == '"' + os.fsdecode(path_bytes) + '" - mismatch'
    assert raised.value.paths == [os.fsdecode(path_bytes)]
    failure = raised.value.failures[0]
    assert failure.path_bytes == path_bytes
    assert os.fsencode(failure.path) == path_bytes


# --- many threads at once ---------------------------------------------------------------


def test_eight_threads_on_eight_directories(tmp_path):
    broken_by_dir = {i: ([f"app-{i + 1:02d}.log"] if i % 3 == 0 else []) for i in range(8)}
    roots = {i: logs_dir(tmp_path / f"d{i}", broken=b) for i, b in broken_by_dir.items()}
    results = {}
    start = threading.Barrier(8)

    def worker(i):
        start.wait()
        for _ in range(20):
            try:
                outcome = checksig.check_signatures(roots[i])
            except checksig.ChecksigError as error:
                outcome = str(error)
            results.setdefault(i, set()).add(outcome)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    for i, broken in broken_by_dir.items():
        expected = f'"{roots[i]}/{broken[0]}" - mismatch' if broken else None
        assert results[i] == {expected}, i


# --- the report: every kind of failure --------------------------------------------------


def entry_missing(root):
    return f"{EMPTY_SHA1}  missing.log\n", "missing.log", "no such file", ""


def entry_directory(root):
    (root / "subdir").mkdir()
    return f"{EMPTY_SHA1}  subdir\n", "subdir", "not a regular file", ""


def entry_outside(root):
    (root.parent / "x").write_text("outside\n")
    return f"{EMPTY_SHA1}  ../x\n", "../x", "outside the root directory", ""


def entry_absolute(root):
    return f"{EMPTY_SHA1}  /etc/hostname\n", None, "outside the root directory", ""


def entry_symlink_loop(root):
    os.symlink("loop", root / "loop")
    return f"{EMPTY_SHA1}  loop\n", "loop", "read error", "Too many levels of symbolic links"


def entry_unreadable(root):
    if os.geteuid() == 0:
        pytest.skip("root can read a file with mode 000")
    (root / "locked.log").write_text("secret\n")
    os.chmod(root / "locked.log", 0)
    return f"{EMPTY_SHA1}  locked.log\n", "locked.log", "read error", "Permission denied"


@pytest.mark.parametrize(
    "make_entry",
    [
        entry_missing,
        entry_directory,
        entry_outside,
        entry_absolute,
        entry_symlink_loop,
        entry_unreadable,
    ],
    ids=lambda f: f.__name__[len("entry_"):],
)
def test_failure_kinds(tmp_path, make_entry):
    root = logs_dir(tmp_path / "logs", count=3)
    line, name, reason, detail = make_entry(root)
    with open(root / "sha1sum.txt", "a") as manifest:
        manifest.write(line)
    report = checksig.check(root)
    assert (report.ok, report.entries, report.matched, report.failed, report.skipped) == (
        False,
        4,
        3,
        1,
        0,
    )
    [failure] = report.failures
    if name is not None:
        assert failure.path == f"{root}/{name}"
        assert failure.path_bytes == os.fsencode(f"{root}/{name}")
    assert (failure.line, failure.reason, failure.detail) == (4, reason, detail)
    assert (failure.expected, failure.actual) == (EMPTY_SHA1, None)
    shown = f"{reason}: {detail}" if detail else reason
    assert report.message == f'"{failure.path}" - {shown}'
    assert str(failure) == report.message


def test_mismatch_reports_both_digests(tmp_path):
    root = logs_dir(tmp_path / "logs", count=3)
    import hashlib

    actual = hashlib.sha1((root / "app-02.log").read_bytes()).hexdigest()
    change_signature(root, "app-02.log")
    [failure] = checksig.check(root).failures
    assert (failure.reason, failure.line, failure.detail) == ("mismatch", 2, "")
    assert failure.actual == actual
    assert failure.expected != actual and failure.expected[1:] == actual[1:]


def test_every_kind_at_once_in_manifest_order(tmp_path):
    root = logs_dir(tmp_path / "logs", count=4, broken=["app-03.log"])
    extra = [entry_missing(root), entry_directory(root), entry_outside(root)]
    extra.append(entry_symlink_loop(root))
    with open(root / "sha1sum.txt", "a") as manifest:
        manifest.writelines(line for line, *_ in extra)
    report = checksig.check(root, jobs=1)
    assert (report.entries, report.matched, report.failed, report.skipped) == (8, 3, 5, 0)
    assert [(f.line, f.reason) for f in report.failures] == [
        (3, "mismatch"),
        (5, "no such file"),
        (6, "not a regular file"),
        (7, "outside the root directory"),
        (8, "read error"),
    ]
    assert report.message == "\n".join(str(f) for f in report.failures)


def test_good_report(tmp_path):
    root = logs_dir(tmp_path / "logs")
    report = checksig.check(root)
    assert report == checksig.Report(
        ok=True, entries=10, matched=10, failed=0, skipped=0, failures=[], message=None
    )


def test_matches_listed_only_when_asked(tmp_path):
    root = logs_dir(tmp_path / "logs", count=4, broken=["app-02.log"])
    assert checksig.check(root).matches == []
    report = checksig.check(root, list_matches=True)
    assert [(m.path, m.line) for m in report.matches] == [
        (f"{root}/app-01.log", 1),
        (f"{root}/app-03.log", 3),
        (f"{root}/app-04.log", 4),
    ]
    assert [m.path_bytes for m in report.matches][0] == os.fsencode(f"{root}/app-01.log")
    assert [f.line for f in report.failures] == [2]


@pytest.mark.parametrize(
    "ignore_missing, ok, matched, failed, skipped",
    [(False, False, 10, 1, 0), (True, True, 10, 0, 1)],
)
def test_ignore_missing(tmp_path, ignore_missing, ok, matched, failed, skipped):
    root = logs_dir(tmp_path / "logs")
    with open(root / "sha1sum.txt", "a") as manifest:
        manifest.write(f"{EMPTY_SHA1}  gone.log\n")
    report = checksig.check(root, ignore_missing=ignore_missing)
    assert (report.ok, report.matched, report.failed, report.skipped) == (
        ok,
        matched,
        failed,
        skipped,
    )


def test_ignore_missing_with_nothing_verified_is_an_error(tmp_path):
    root = tmp_path / "empty"
    root.mkdir()
    (root / "sha1sum.txt").write_text(f"{EMPTY_SHA1}  gone.log\n")
    with pytest.raises(checksig.ManifestError, match="no file was verified"):
        checksig.check(root, ignore_missing=True)


def test_other_manifest_name(tmp_path):
    root = tmp_path / "logs"
    names = write_logs(root)
    sha1sum(root, names, manifest="checksums.sha1")
    assert checksig.check(root, manifest="checksums.sha1").ok
    change_signature(root, "app-10.log", manifest="checksums.sha1")
    assert [f.line for f in checksig.check(root, manifest="checksums.sha1").failures] == [10]
    with pytest.raises(checksig.ManifestError, match="sha1sum.txt"):
        checksig.check(root)


@pytest.mark.parametrize("jobs", [1, 2, 7])
def test_jobs(tmp_path, jobs):
    root = logs_dir(tmp_path / "logs", broken=["app-06.log"])
    report = checksig.check(root, jobs=jobs)
    assert [f.path for f in report.failures] == [f"{root}/app-06.log"]


@pytest.mark.parametrize(
    "jobs, error",
    [
        (0, ValueError),
        (-1, ValueError),
        ("2", TypeError),
        (True, TypeError),
        # More than a size_t holds: refused, not cut to its low bits (2**64 + 1 was 1).
        (2**64 + 1, ValueError),
    ],
)
def test_bad_jobs(tmp_path, jobs, error):
    with pytest.raises(error, match="jobs"):
        checksig.check(tmp_path, jobs=jobs)
    with pytest.raises(error, match="readers"):
        checksig.check(tmp_path, readers=jobs)


@pytest.mark.parametrize("readers", [1, 4, 200])
def test_readers(tmp_path, readers):
    """Any number of reads in flight gives the same report, in manifest order."""
    root = logs_dir(tmp_path / "logs", broken=["app-02.log", "app-09.log"])
    report = checksig.check(root, readers=readers)
    assert [f.path for f in report.failures] == [f"{root}/app-02.log", f"{root}/app-09.log"]
    assert report.matched == 8
    created = checksig.create(root, manifest="again.sha1", readers=readers)
    assert created.files == 11


@pytest.mark.parametrize(
    "manifest_text, message",
    [
        (None, r'^"{root}/sha1sum.txt" - cannot read manifest: No such file or directory$'),
        ("", r'^"{root}/sha1sum.txt" - '),
        ("not a checksum line\n", r'^"{root}/sha1sum.txt" - line 1: '),
        (f"{EMPTY_SHA1}  a\nbad\n", r'^"{root}/sha1sum.txt" - line 2: '),
    ],
    ids=["missing", "empty", "bad-line-1", "bad-line-2"],
)
def test_manifest_errors(tmp_path, manifest_text, message):
    root = tmp_path / "logs"
    root.mkdir()
    (root / "a").write_text("")
    if manifest_text is not None:
        (root / "sha1sum.txt").write_text(manifest_text)
    for call in (checksig.check, checksig.check_signatures):
        with pytest.raises(checksig.ManifestError, match=message.format(root=root)) as raised:
            call(root)
        error = raised.value
        assert isinstance(error, ValueError)
        assert (error.failures, error.paths, error.report) == ([], [], None)


def test_missing_root_is_an_error(tmp_path):
    with pytest.raises(checksig.ManifestError, match="cannot open root directory"):
        checksig.check_signatures(tmp_path / "nowhere")


def test_nul_in_root_is_refused(tmp_path):
    with pytest.raises(ValueError, match="NUL"):
        checksig.check(str(tmp_path) + "\0x")


# --- progress ---------------------------------------------------------------------------


def assert_progress_sane(seen, files_total, bytes_total):
    assert seen, "the progress callback was never called"
    assert all(isinstance(p, checksig.Progress) for p in seen)
    for before, after in zip(seen, seen[1:]):
        assert after.files_done >= before.files_done
        assert after.bytes_done >= before.bytes_done
    for p in seen:
        assert p.files_done <= p.files_total
        if p.bytes_total:  # known once every file has been sized
            assert p.bytes_done <= p.bytes_total
    assert seen[-1] == checksig.Progress(files_total, files_total, bytes_total, bytes_total)


def test_progress_small(tmp_path):
    root = logs_dir(tmp_path / "logs")
    seen = []
    checksig.check(root, progress=seen.append)
    total = sum(p.stat().st_size for p in root.glob("*.log"))
    assert_progress_sane(seen, 10, total)


@pytest.mark.slow
def test_progress_large_is_monotonic_and_ends_at_totals(big_dataset):
    seen = []
    report = checksig.check(big_dataset, jobs=1, progress=seen.append)
    assert report.ok
    total = sum(p.stat().st_size for p in big_dataset.glob("*.bin"))
    assert len(seen) >= 3, "a check of over a second reports progress every 100 ms"
    assert_progress_sane(seen, 4, total)


# --- cancellation -----------------------------------------------------------------------


def task_count(expected=None, timeout=1.0):
    """OS threads of this process (Python's and the library's). With ``expected``,
    first waits up to ``timeout`` s for the count to come down to it: a thread that
    ``pthread_join`` has returned from (it ran its last instruction, the kernel cleared
    its tid) can stay listed in /proc/self/task for a moment while the kernel tears it
    down; it runs nothing and a fork does not copy it. Compare with ``<=``: a count
    taken before may still list such a thread of an earlier test."""
    deadline = time.monotonic() + timeout
    while True:
        count = len(os.listdir("/proc/self/task"))
        if expected is None or count <= expected or time.monotonic() > deadline:
            return count
        time.sleep(0.002)


def test_no_os_thread_outlives_the_call(tmp_path):
    """Every worker is joined before a check returns (fork safety, clean exit)."""
    root = logs_dir(tmp_path / "logs")
    before = task_count()
    lingering = 0
    for _ in range(20):
        checksig.check(root)
        lingering += task_count(before) > before
    assert lingering == 0, f"{lingering} of 20 checks returned with a thread still alive"


@pytest.mark.slow
@pytest.mark.parametrize("exception", [KeyboardInterrupt, RuntimeError])
def test_exception_in_progress_cancels_promptly(big_dataset, exception):
    threads_before, tasks_before = threading.active_count(), task_count()
    raised_at = []

    def progress(p):
        # Raise as soon as the check is seen unfinished, as Ctrl-C would.
        if p.bytes_done < p.bytes_total or p.bytes_total == 0:
            raised_at.append((time.monotonic(), p))
            raise exception("stop")

    with pytest.raises(exception):
        checksig.check(big_dataset, jobs=1, progress=progress)
    assert raised_at, "the check finished before any progress: data set too small"
    elapsed = time.monotonic() - raised_at[0][0]
    assert elapsed < 0.5, f"took {elapsed:.3f} s to stop"
    assert threading.active_count() == threads_before
    assert task_count(tasks_before) <= tasks_before


@pytest.mark.slow
def test_a_check_after_a_cancelled_one_works(big_dataset, tmp_path):
    def stop(p):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        checksig.check(big_dataset, progress=stop)
    assert checksig.check(logs_dir(tmp_path / "logs")).ok


# --- fork -------------------------------------------------------------------------------


def test_fork_after_a_check(tmp_path):
    root = logs_dir(tmp_path / "logs")
    # At most as many as before: a thread of an earlier test may end meanwhile.
    tasks_before = task_count()
    assert checksig.check(root).ok
    assert task_count(tasks_before) <= tasks_before
    pid = os.fork()
    if pid == 0:  # the child: no pool to deadlock on
        try:
            good = checksig.check(root).ok
            change_signature(root, "app-01.log")
            bad = checksig.check(root).failed == 1
            os._exit(0 if good and bad and task_count(1) == 1 else 1)
        except BaseException:
            os._exit(2)
    deadline = time.monotonic() + 30
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung")
        time.sleep(0.02)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert task_count(tasks_before) <= tasks_before


# --- the ctypes mirror of the header ----------------------------------------------------

LAYOUT_PROGRAM = r"""
#include <stdio.h>
#include <stddef.h>
#include "checksig.h"
#define FIELD(type, field) printf(#type "." #field " %zu %zu\n", \
    offsetof(struct type, field), sizeof(((struct type *)0)->field));
#define SIZE(type) printf(#type " %zu\n", sizeof(struct type));
int main(void) {
    SIZE(checksig_options) FIELD(checksig_options, manifest)
    FIELD(checksig_options, jobs) FIELD(checksig_options, ignore_missing)
    FIELD(checksig_options, list_matches)
    SIZE(checksig_match) FIELD(checksig_match, path) FIELD(checksig_match, path_len)
    FIELD(checksig_match, line)
    SIZE(checksig_progress) FIELD(checksig_progress, files_done)
    FIELD(checksig_progress, files_total) FIELD(checksig_progress, bytes_done)
    FIELD(checksig_progress, bytes_total)
    SIZE(checksig_counts) FIELD(checksig_counts, entries) FIELD(checksig_counts, matched)
    FIELD(checksig_counts, failed) FIELD(checksig_counts, skipped)
    SIZE(checksig_failure) FIELD(checksig_failure, path) FIELD(checksig_failure, path_len)
    FIELD(checksig_failure, line) FIELD(checksig_failure, reason)
    FIELD(checksig_failure, detail) FIELD(checksig_failure, expected_hex)
    FIELD(checksig_failure, actual_hex)
    SIZE(checksig_created) FIELD(checksig_created, files) FIELD(checksig_created, bytes)
    FIELD(checksig_created, skipped)
    printf("enum %zu\n", sizeof(enum checksig_reason));
    return 0;
}
"""


def test_structures_match_the_header(tmp_path):
    """The ctypes Structures have the C compiler's sizes and offsets for the header."""
    import shutil
    import subprocess

    header = Path(__file__).resolve().parents[2] / "include" / "checksig.h"
    compiler = shutil.which("cc") or shutil.which("gcc")
    if not header.exists() or compiler is None:
        pytest.skip("needs include/checksig.h (a source checkout) and a C compiler")
    (tmp_path / "layout.c").write_text(LAYOUT_PROGRAM)
    subprocess.run(
        [compiler, "-Wall", "-Werror", f"-I{header.parent}", "layout.c", "-o", "layout"],
        cwd=tmp_path,
        check=True,
    )
    output = subprocess.run(
        [str(tmp_path / "layout")], capture_output=True, text=True, check=True
    ).stdout
    mirrors = {
        "checksig_options": checksig._Options,
        "checksig_progress": checksig._Progress,
        "checksig_counts": checksig._Counts,
        "checksig_failure": checksig._Failure,
        "checksig_match": checksig._Match,
        "checksig_created": checksig._Created,
    }
    for line in output.splitlines():
        name, *numbers = line.split()
        numbers = [int(n) for n in numbers]
        if name == "enum":
            assert numbers == [ctypes.sizeof(ctypes.c_int)]
        elif "." in name:
            struct, field = name.split(".")
            described = getattr(mirrors[struct], field)
            assert [described.offset, described.size] == numbers, name
        else:
            assert ctypes.sizeof(mirrors[name]) == numbers[0], name
    assert [f for f, _ in checksig._Failure._fields_] == [
        "path", "path_len", "line", "reason", "detail", "expected_hex", "actual_hex"
    ]


def test_names_and_numbers_come_from_the_library():
    """The module defines no table of its own: algorithms and reason words are the
    library's, read through its lookup functions."""
    assert checksig.ALGORITHMS == {
        "sha1": 1,
        "sha256": 2,
        "sha512": 3,
        "md5": 4,
        "sha224": 5,
        "sha384": 6,
        "blake2b": 7,
        "blake3": 8,
    }
    assert [checksig._reason_name(code) for code in range(1, 6)] == [
        "mismatch", "no such file", "not a regular file", "outside the root directory",
        "read error",
    ]
    assert checksig._reason_name(0) is None


# --- streaming ----------------------------------------------------------------------


def test_iter_check_yields_every_entry_in_manifest_order(tmp_path):
    """Many readers, files decided in any order: the outcomes still come in manifest
    order, one per entry, and agree with check()'s report."""
    root = logs_dir(tmp_path / "logs", count=400, broken=["app-07.log", "app-333.log"])
    os.remove(root / "app-100.log")
    outcomes = list(checksig.iter_check(root, readers=64))
    assert [o.line for o in outcomes] == list(range(1, 401))
    failed = [(o.line, o.reason) for o in outcomes if o.status == "FAILED"]
    assert failed == [(7, "mismatch"), (100, "no such file"), (333, "mismatch")]
    report = checksig.check(root)
    assert [(f.line, f.reason) for f in report.failures] == failed
    ok = outcomes[0]
    assert ok.ok and ok.actual == ok.expected and ok.reason is None
    assert ok.path == f"{root}/app-01.log" and ok.path_bytes == os.fsencode(ok.path)
    mismatch = outcomes[6]
    assert mismatch.actual not in (None, mismatch.expected)


def test_iter_check_skipped_and_errors(tmp_path):
    root = logs_dir(tmp_path / "logs", count=3)
    os.remove(root / "app-02.log")
    statuses = [o.status for o in checksig.iter_check(root, ignore_missing=True)]
    assert statuses == ["OK", "SKIPPED", "OK"]
    with pytest.raises(checksig.ManifestError, match="cannot read manifest"):
        list(checksig.iter_check(tmp_path))
    with pytest.raises(checksig.ManifestError, match="cannot open root directory"):
        next(checksig.iter_check(tmp_path / "nowhere"))


def test_leaving_iter_check_early_cancels_it(big_dataset):
    """Breaking out of the loop stops the check: no thread is left behind."""
    before = task_count()
    started = time.monotonic()
    for outcome in checksig.iter_check(big_dataset, jobs=1):
        break
    generator = checksig.iter_check(big_dataset, jobs=1)
    generator.close()  # never started: nothing to stop
    assert task_count(before) <= before
    assert time.monotonic() - started < 30
