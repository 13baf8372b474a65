"""Verify a directory against its checksum manifest (``sha1sum.txt``, ``SHA256SUMS``,
``MD5SUMS``, ``b2sums.txt``, ``b3sums.txt``, ``cksum`` output...).

A thin ctypes wrapper over the Rust library ``_checksig`` (see ``include/checksig.h``):
every listed file is hashed in parallel and compared; the library does all the work
and this module adds no checking logic of its own.

The Go-era API is kept::

    import checksig
    checksig.check_signatures("/data")   # None, or raises ValueError (ChecksigError)

and the richer one gives a report with every failure::

    report = checksig.check("/data", jobs=1, progress=print)
    for failure in report.failures:
        print(failure.path, failure.reason)

It is also a command line tool, ``checksig DIR...`` or ``python -m checksig DIR...``,
which prints what failed the way ``sha1sum -c`` does (see ``checksig --help``).

Every call has its own handle in the library, so checks may run from many threads at
once; ctypes releases the GIL while the library works. No library thread outlives a
call, so a process may fork after a check.
"""

from __future__ import annotations

import collections
import ctypes
import importlib
import os
import sys
import sysconfig

# `typing` is for type checkers only: importing it costs about 16 ms, a third of this
# module's import, which every `checksig` command and every short check pays (the
# tuples below are `collections.namedtuple`s for the same reason). mypy and pyright
# treat `if TYPE_CHECKING:` as true whatever defines the name.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse  # imported lazily by the CLI: a library import stays fast
    from typing import (
        Any,
        Callable,
        Dict,
        Iterator,
        List,
        Mapping,
        Optional,
        Sequence,
        TextIO,
        Tuple,
        Union,
    )

    #: Anything naming a path: ``str``, ``bytes`` or an ``os.PathLike`` of either.
    PathArg = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


def __getattr__(name: str) -> Any:
    """``checksig.PathArg``, made when first asked for (it needs `typing`). The
    annotations name `typing`'s types as strings that only a type checker resolves:
    ``typing.get_type_hints`` on this module's functions raises NameError."""
    if name == "PathArg":
        from typing import Union

        return Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "check",
    "check_signatures",
    "iter_check",
    "check_distributed",
    "Outcome",
    "create",
    "Created",
    "ALGORITHMS",
    "main",
    "Report",
    "Failure",
    "Match",
    "Progress",
    "ChecksigError",
    "ManifestError",
    "CancelledError",
    "LIBRARY_PATH",
    "__version__",
]

# ---------------------------------------------------------------------------------------
# Loading the library
# ---------------------------------------------------------------------------------------

_EXT_SUFFIX: str = sysconfig.get_config_var("EXT_SUFFIX") or ".so"

#: The shared library this module loads: ``_checksig`` + the interpreter's extension
#: suffix, beside this file (e.g. ``_checksig.cpython-311-x86_64-linux-gnu.so``).
LIBRARY_PATH: str = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "_checksig" + _EXT_SUFFIX
)


def _load_library(path: str) -> ctypes.CDLL:
    """Loads the library at ``path``, or raises ImportError saying how to build it."""
    how_to_build = (
        "build it with `pip install .` (installs the module and the library) or "
        "`python setup.py build_ext --inplace` (puts the library beside checksig.py), "
        "from the checksig source directory; both need a Rust toolchain "
        "(https://rustup.rs)"
    )
    here = os.path.dirname(path)
    if os.path.exists(os.path.join(here, "Cargo.toml")):
        how_to_build += (
            ". This checksig.py is the source tree's: if checksig is installed, run "
            "from another directory or use the `checksig` command, since "
            "`python -m checksig` and `python -c 'import checksig'` in the source "
            "directory import this file first"
        )
    if not os.path.exists(path):
        raise ImportError(
            f"checksig: the library {path} was not found: {how_to_build}",
            name="_checksig",
            path=path,
        )
    try:
        return ctypes.CDLL(path)
    except OSError as error:
        raise ImportError(
            f"checksig: cannot load the library {path} ({error}): {how_to_build}",
            name="_checksig",
            path=path,
        ) from error


_lib = _load_library(LIBRARY_PATH)

# ---------------------------------------------------------------------------------------
# The C ABI, mirrored exactly from include/checksig.h
# ---------------------------------------------------------------------------------------

# enum checksig_status
_RUNNING = 0
_OK = 1
_FAILED = 2
_ERROR = 3
_CANCELLED = 4

#: Milliseconds per wait: short enough that Ctrl-C and progress stay responsive.
_WAIT_SLICE_MS = 100


def _declare(name: str, argtypes: List[Any], restype: Any, errcheck: Any = None) -> Any:
    """A fresh ctypes function object for the export ``name``, with its types and an
    ``errcheck`` hook (called with the result; what it returns is the call's result, and
    what it raises propagates), after libarchive-c. ``_lib[name]`` (not ``_lib.name``)
    makes a new object each time, so one export may be declared twice with two hooks."""
    function = _lib[name]
    function.argtypes = argtypes
    function.restype = restype
    if errcheck is not None:
        function.errcheck = errcheck
    return function


def _owned_bytes(result: Optional[int], function: Any, arguments: Any) -> Optional[bytes]:
    """errcheck for a ``char *`` the caller owns (restype ``c_void_p``: a ``c_char_p``
    restype would copy the bytes and drop the pointer, leaking the string): its bytes,
    the string freed with checksig_free; None for NULL."""
    if not result:
        return None
    try:
        return ctypes.string_at(result)
    finally:
        _free(result)


def _owned_text(result: Optional[int], function: Any, arguments: Any) -> Optional[str]:
    """errcheck for an owned ``char *`` holding paths: decoded with os.fsdecode, so
    non-UTF-8 names come back surrogate-escaped instead of raising."""
    data = _owned_bytes(result, function, arguments)
    return None if data is None else os.fsdecode(data)


def _static_text(result: Optional[bytes], function: Any, arguments: Any) -> Optional[str]:
    """errcheck for a static ``const char *`` of the library (restype ``c_char_p``
    copies it; nothing to free): ASCII text, or None for NULL."""
    return None if result is None else result.decode("ascii")


_free = _declare("checksig_free", [ctypes.c_void_p], None)
_reason_name = _declare("checksig_reason_name", [ctypes.c_uint32], ctypes.c_char_p, _static_text)
_algorithm_name = _declare(
    "checksig_algorithm_name", [ctypes.c_uint32], ctypes.c_char_p, _static_text
)
_algorithm_from_name = _declare(
    "checksig_algorithm_from_name", [ctypes.c_char_p], ctypes.c_uint32
)
_default_manifest = _declare(
    "checksig_algorithm_default_manifest", [ctypes.c_uint32], ctypes.c_char_p, _static_text
)
_hex_capacity = _declare("checksig_hex_capacity", [], ctypes.c_size_t)()


def _algorithm_table() -> Dict[str, int]:
    """The library's algorithms by name, as ``enum checksig_algorithm`` numbers them."""
    table = {}
    code = 1
    while True:
        name = _algorithm_name(code)
        if name is None:
            return table
        table[name] = code
        code += 1


#: The algorithms by name, as ``enum checksig_algorithm`` numbers them (read from the
#: library, which defines them).
ALGORITHMS: Dict[str, int] = _algorithm_table()


class _Options(ctypes.Structure):
    """``struct checksig_options``."""

    _fields_ = [
        ("manifest", ctypes.c_char_p),
        ("jobs", ctypes.c_size_t),
        ("ignore_missing", ctypes.c_bool),
        ("list_matches", ctypes.c_bool),
        ("algorithm", ctypes.c_uint32),
        ("readers", ctypes.c_size_t),
        ("stream", ctypes.c_bool),
        ("part_start", ctypes.c_uint64),
        ("part_end", ctypes.c_uint64),
        ("part_first_line", ctypes.c_uint64),
        ("part_form", ctypes.c_uint32),
        ("tag", ctypes.c_bool),
        ("blake2b_bits", ctypes.c_uint32),
        ("shown_root", ctypes.c_char_p),
        ("part_manifest_len", ctypes.c_uint64),
        ("part_manifest_mtime_ns", ctypes.c_int64),
    ]


class _Part(ctypes.Structure):
    """``struct checksig_part``."""

    _fields_ = [
        ("start", ctypes.c_uint64),
        ("end", ctypes.c_uint64),
        ("first_line", ctypes.c_uint64),
        ("manifest_len", ctypes.c_uint64),
        ("manifest_mtime_ns", ctypes.c_int64),
    ]


class _Progress(ctypes.Structure):
    """``struct checksig_progress``."""

    _fields_ = [
        ("files_done", ctypes.c_uint64),
        ("files_total", ctypes.c_uint64),
        ("bytes_done", ctypes.c_uint64),
        ("bytes_total", ctypes.c_uint64),
    ]


class _Counts(ctypes.Structure):
    """``struct checksig_counts``."""

    _fields_ = [
        ("entries", ctypes.c_uint64),
        ("matched", ctypes.c_uint64),
        ("failed", ctypes.c_uint64),
        ("skipped", ctypes.c_uint64),
    ]


class _Created(ctypes.Structure):
    """``struct checksig_created``."""

    _fields_ = [
        ("files", ctypes.c_uint64),
        ("bytes", ctypes.c_uint64),
        ("skipped", ctypes.c_uint64),
    ]


class _Failure(ctypes.Structure):
    """``struct checksig_failure``. Its pointers are borrowed from the job."""

    _fields_ = [
        ("path", ctypes.c_char_p),
        ("path_len", ctypes.c_size_t),
        ("line", ctypes.c_uint64),
        ("reason", ctypes.c_int),
        ("detail", ctypes.c_char_p),
        ("expected_hex", ctypes.c_char * _hex_capacity),
        ("actual_hex", ctypes.c_char * _hex_capacity),
    ]


class _Verdict(ctypes.Structure):
    """``struct checksig_verdict``. Its pointers are borrowed from the job until the
    next fetch."""

    _fields_ = [
        ("path", ctypes.c_char_p),
        ("path_len", ctypes.c_size_t),
        ("line", ctypes.c_uint64),
        ("status", ctypes.c_int),
        ("reason", ctypes.c_uint32),
        ("detail", ctypes.c_char_p),
        ("expected_hex", ctypes.c_char * _hex_capacity),
        ("actual_hex", ctypes.c_char * _hex_capacity),
    ]


class _Match(ctypes.Structure):
    """``struct checksig_match``. Its pointer is borrowed from the job."""

    _fields_ = [
        ("path", ctypes.c_char_p),
        ("path_len", ctypes.c_size_t),
        ("line", ctypes.c_uint64),
    ]


class _Job(ctypes.Structure):
    """``struct checksig_job``: opaque, only ever handled through a pointer."""


_JobPtr = ctypes.POINTER(_Job)


def _raise_for_status(status: int, job: Any, error: "type[ChecksigError]") -> int:
    """The one status -> exception rule: a finished job's status is returned when it
    ran to the end (OK, FAILED); CANCELLED raises CancelledError and ERROR ``error``,
    each with the library's message."""
    if status in (_OK, _FAILED):
        return status
    message = _get_message(job) or "failed"
    raise (CancelledError if status == _CANCELLED else error)(message)


def _status_of(error: "type[ChecksigError]") -> Any:
    """errcheck for ``checksig_get_status`` that raises ``error`` for CHECKSIG_ERROR."""
    return lambda status, function, arguments: _raise_for_status(status, arguments[0], error)


_start = _declare("checksig_start", [ctypes.c_char_p, ctypes.POINTER(_Options)], _JobPtr)
_create_start = _declare(
    "checksig_create_start", [ctypes.c_char_p, ctypes.POINTER(_Options)], _JobPtr
)
_wait = _declare("checksig_wait", [_JobPtr, ctypes.c_int64], ctypes.c_bool)
_cancel = _declare("checksig_cancel", [_JobPtr], None)
_get_progress = _declare(
    "checksig_get_progress", [_JobPtr, ctypes.POINTER(_Progress)], ctypes.c_bool
)
_get_message = _declare("checksig_get_message", [_JobPtr], ctypes.c_void_p, _owned_text)
_get_manifest_path = _declare(
    "checksig_get_manifest_path", [_JobPtr], ctypes.c_void_p, _owned_text
)
_get_counts = _declare("checksig_get_counts", [_JobPtr, ctypes.POINTER(_Counts)], ctypes.c_bool)
_get_created = _declare(
    "checksig_get_created", [_JobPtr, ctypes.POINTER(_Created)], ctypes.c_bool
)
_failure_count = _declare("checksig_failure_count", [_JobPtr], ctypes.c_size_t)
_failure_at = _declare(
    "checksig_failure_at", [_JobPtr, ctypes.c_size_t, ctypes.POINTER(_Failure)], ctypes.c_bool
)
_match_count = _declare("checksig_match_count", [_JobPtr], ctypes.c_size_t)
_match_at = _declare(
    "checksig_match_at", [_JobPtr, ctypes.c_size_t, ctypes.POINTER(_Match)], ctypes.c_bool
)
_job_free = _declare("checksig_job_free", [_JobPtr], None)
_next_verdicts = _declare(
    "checksig_next_verdicts",
    [_JobPtr, ctypes.POINTER(_Verdict), ctypes.c_size_t, ctypes.c_int64],
    ctypes.c_size_t,
)
_next_lines = _declare(
    "checksig_next_lines",
    [_JobPtr, ctypes.c_uint32, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int64],
    ctypes.c_size_t,
)
_stream_done = _declare("checksig_stream_done", [_JobPtr], ctypes.c_bool)
_split = _declare(
    "checksig_split",
    [
        ctypes.c_char_p,
        ctypes.POINTER(_Options),
        ctypes.c_size_t,
        ctypes.POINTER(_Part),
        ctypes.POINTER(ctypes.c_size_t),
        ctypes.POINTER(ctypes.c_uint32),
        ctypes.POINTER(ctypes.c_uint32),
    ],
    ctypes.c_void_p,
    _owned_text,
)
_create_options_error = _declare(
    "checksig_create_options_error", [ctypes.POINTER(_Options)], ctypes.c_void_p, _owned_text
)
_merged_error = _declare(
    "checksig_merged_error",
    [ctypes.c_char_p, ctypes.POINTER(_Options), ctypes.POINTER(_Counts)],
    ctypes.c_void_p,
    _owned_text,
)

# enum checksig_verdict_status, and the statuses Outcome uses for them.
_VERDICT_STATUS = {1: "OK", 2: "FAILED", 3: "SKIPPED"}
# enum checksig_line_format
_LINES_TEXT, _LINES_FAILURES, _LINES_JSON = 1, 2, 3
#: checksig_next_lines' smallest buffer (CHECKSIG_LINES_MIN_CAPACITY).
_LINES_CAPACITY = 1 << 20
_version = _declare("checksig_version", [], ctypes.c_char_p, _static_text)
# The Go-era entry point, declared as its users declared it.
_declare("verify", [ctypes.c_char_p], ctypes.c_void_p)

#: The library's version (one version number: Cargo.toml's).
__version__: str = _version() or ""

# ---------------------------------------------------------------------------------------
# The Python API
# ---------------------------------------------------------------------------------------


class Progress(
    collections.namedtuple(
        "Progress", "files_done files_total bytes_done bytes_total"
    )
):
    """A snapshot of a running check (every field an ``int``).

    ``files_*`` count distinct files (a name listed twice is one file);
    ``bytes_total`` counts the files opened so far: it is final once every file has
    been opened (with ``jobs=1`` or ``readers=1``, from the start).
    """

    __slots__ = ()


class Failure(
    collections.namedtuple(
        "Failure", "path path_bytes line reason detail expected actual"
    )
):
    """One failing manifest entry.

    Attributes:
        path (str): ``root_dir`` joined with the name as written, decoded with
            ``os.fsdecode`` (undecodable bytes become surrogate escapes).
        path_bytes (bytes): the same path as the exact bytes.
        line (int): the manifest line (1-based).
        reason (str): ``"mismatch"``, ``"no such file"``, ``"not a regular file"``,
            ``"outside the root directory"`` or ``"read error"``.
        detail (str): the OS's reason for a read error (e.g. ``"Permission
            denied"``), else "".
        expected (str): the digest the manifest lists, lowercase hex (32 to 128
            digits, as the entry's algorithm has it).
        actual (str or None): the digest computed (mismatch only), else None.
    """

    __slots__ = ()

    @property
    def reason_text(self) -> str:
        """The reason as the library's messages put it: ``read error: <detail>``."""
        return f"{self.reason}: {self.detail}" if self.detail else self.reason

    def __str__(self) -> str:
        return f'"{self.path}" - {self.reason_text}'


class Match(collections.namedtuple("Match", "path path_bytes line")):
    """One matching manifest entry (listed only when ``check(list_matches=True)``).

    Attributes:
        path (str): ``root_dir`` joined with the name as written (``os.fsdecode``d).
        path_bytes (bytes): the same path as the exact bytes.
        line (int): the manifest line (1-based).
    """

    __slots__ = ()


class Report(
    collections.namedtuple(
        "Report",
        "ok entries matched failed skipped failures message matches",
        defaults=[[]],  # a default is shared by every Report: never mutated
    )
):
    """The outcome of a check that ran to the end (every file was looked at).

    Attributes:
        ok (bool): True when every entry that was not skipped matched.
        entries (int): checksum lines in the manifest.
        matched (int): entries whose file matched.
        failed (int): entries that failed (``len(failures)``).
        skipped (int): entries skipped as missing under ``ignore_missing``.
        failures (list of Failure): every failing entry, in manifest order.
        message (str or None): the library's message (every failure on its own
            line, ``"<path>" - <reason>``), or None when ``ok``.
        matches (list of Match): every matching entry in manifest order, when
            ``check`` was asked for them with ``list_matches=True``; else empty.
    """

    __slots__ = ()


class ChecksigError(ValueError):
    """A check did not pass. ``str()`` is the library's message.

    Attributes:
        message: the library's message.
        failures: every failing entry (empty when the check could not run at all).
        paths: the failing paths, as ``str`` (``os.fsdecode``d).
        report: the Report, when the check ran to the end; else None.
    """

    def __init__(
        self,
        message: str,
        *,
        failures: Sequence[Failure] = (),
        report: Optional[Report] = None,
    ) -> None:
        super().__init__(message)
        self.message: str = message
        self.failures: List[Failure] = list(failures)
        self.report: Optional[Report] = report

    @property
    def paths(self) -> List[str]:
        """The failing paths, in manifest order."""
        return [failure.path for failure in self.failures]

    def __str__(self) -> str:
        return self.message


class ManifestError(ChecksigError):
    """The check could not run: missing root, missing or malformed manifest (the
    message names the line), an empty manifest, or nothing verified under
    ``ignore_missing``."""


class CancelledError(ChecksigError):
    """The check was cancelled before it finished."""


def _path_bytes(value: PathArg, what: str) -> bytes:
    """``value`` as bytes for the C ABI; refuses NUL, which C would silently cut at."""
    encoded = os.fsencode(value)
    if b"\0" in encoded:
        raise ValueError(f"{what} contains a NUL byte: {value!r}")
    return encoded


# checksig_get_status, declared twice: a check that cannot run raises ManifestError, a
# manifest creation that fails ChecksigError.
_check_status = _declare("checksig_get_status", [_JobPtr], ctypes.c_int, _status_of(ManifestError))
_create_status = _declare(
    "checksig_get_status", [_JobPtr], ctypes.c_int, _status_of(ChecksigError)
)


def _progress(job: Any) -> Progress:
    snapshot = _Progress()
    _get_progress(job, ctypes.byref(snapshot))
    return Progress(
        snapshot.files_done, snapshot.files_total, snapshot.bytes_done, snapshot.bytes_total
    )


def _failure(raw: _Failure) -> Failure:
    # Borrowed from the job: c_char_p copies the bytes (the library strips NULs, so
    # they are exactly path_len long).
    path_bytes = (raw.path or b"")[: raw.path_len]
    actual = raw.actual_hex.decode("ascii")
    return Failure(
        path=os.fsdecode(path_bytes),
        path_bytes=path_bytes,
        line=int(raw.line),
        reason=_reason_name(raw.reason) or f"unknown reason {raw.reason}",
        detail=os.fsdecode(raw.detail or b""),
        expected=raw.expected_hex.decode("ascii"),
        actual=actual or None,
    )


def _report(job: Any, status: int) -> Report:
    counts = _Counts()
    _get_counts(job, ctypes.byref(counts))
    failures = []
    raw = _Failure()
    for index in range(_failure_count(job)):
        if _failure_at(job, index, ctypes.byref(raw)):
            failures.append(_failure(raw))
    matches = []
    raw_match = _Match()
    for index in range(_match_count(job)):
        if _match_at(job, index, ctypes.byref(raw_match)):
            path_bytes = (raw_match.path or b"")[: raw_match.path_len]
            matches.append(Match(os.fsdecode(path_bytes), path_bytes, int(raw_match.line)))
    return Report(
        matches=matches,
        ok=status == _OK,
        entries=int(counts.entries),
        matched=int(counts.matched),
        failed=int(counts.failed),
        skipped=int(counts.skipped),
        failures=failures,
        message=_get_message(job),
    )


def _count(value: Optional[int], what: str, field: Any = ctypes.c_size_t) -> int:
    """``jobs``, ``readers``, ``parts`` or a BLAKE2b ``length`` as the C ABI takes it, in
    its C type ``field``: 0 for the default. A value the field cannot hold is refused:
    ctypes would silently keep its low bits (``2**32 + 256`` bits would be 256)."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be a positive int or None, not {value!r}")
    if value < 1:
        raise ValueError(f"{what} must be at least 1, not {value}")
    largest = 2 ** (8 * ctypes.sizeof(field)) - 1
    if value > largest:
        raise ValueError(f"{what} must be at most {largest}, not {value}")
    return value


def _algorithm_code(algorithm: Optional[str]) -> int:
    """``"sha256"`` (or ``"SHA-256"``) -> its ``enum checksig_algorithm`` number; None -> 0."""
    if algorithm is None:
        return 0
    if not isinstance(algorithm, str):
        raise TypeError(f"algorithm must be a str or None, not {algorithm!r}")
    code = _algorithm_from_name(_path_bytes(algorithm, "algorithm"))
    if not code:
        raise ValueError(f"unknown algorithm {algorithm!r}: use one of {', '.join(ALGORITHMS)}")
    return code


def _options(
    manifest: Optional[PathArg],
    jobs: Optional[int],
    algorithm: Optional[str],
    readers: Optional[int],
    ignore_missing: bool = False,
    list_matches: bool = False,
    stream: bool = False,
    shown_root: Optional[bytes] = None,
) -> _Options:
    manifest_bytes = None if manifest is None else _path_bytes(manifest, "manifest")
    options = _Options(
        manifest_bytes,
        _count(jobs, "jobs"),
        bool(ignore_missing),
        bool(list_matches),
        _algorithm_code(algorithm),
        _count(readers, "readers"),
        bool(stream),
    )
    options.shown_root = shown_root
    return options


def _run(start: Any, root: bytes, options: _Options,
         progress: Optional[Callable[[Progress], Any]]) -> Any:
    """Starts a job with ``start``, waits for it in 100 ms slices (calling ``progress``
    between them), and returns it finished. Any exception, Ctrl-C included, cancels it
    first. The caller frees the job."""
    job = start(root, ctypes.byref(options))
    try:
        # Slices of 100 ms: ctypes releases the GIL during each wait, and a Ctrl-C
        # arriving meanwhile is raised as KeyboardInterrupt as soon as it returns.
        while not _wait(job, _WAIT_SLICE_MS):
            if progress is not None:
                progress(_progress(job))
    except BaseException:
        _cancel(job)
        _wait(job, -1)
        _job_free(job)
        raise
    return job


def check(
    root_dir: PathArg,
    *,
    manifest: Optional[PathArg] = None,
    algorithm: Optional[str] = None,
    jobs: Optional[int] = None,
    ignore_missing: bool = False,
    progress: Optional[Callable[[Progress], Any]] = None,
    list_matches: bool = False,
    readers: Optional[int] = None,
) -> Report:
    """Checks ``root_dir`` against its manifest and returns the Report.

    Args:
        root_dir: the directory (``str``, ``bytes`` or ``os.PathLike``).
        manifest: the manifest's path, relative to ``root_dir`` unless absolute; None
            for the algorithm's usual name (``sha1sum.txt`` when no algorithm is given).
        algorithm: the algorithm of the manifest's untagged lines, one of
            ``ALGORITHMS`` (``"sha1"``, ``"sha256"``, ``"md5"``, ``"blake2b"``,
            ``"blake3"``...); None to take it from the manifest's name
            (``sha256sum.txt``, ``MD5SUMS``, ``b3sums.txt``...) or else its first line
            (a tag, or a hex length that only one algorithm has: 64 digits could be
            SHA-256, BLAKE2b-256 or BLAKE3, and is an error). Tagged lines
            (``SHA256 (name) = ...``) always name their own algorithm.
        jobs: cores to use; None for every one. 1 is for a spinning disk: one file at
            a time, in manifest order.
        ignore_missing: skip missing files instead of failing them (GNU's
            ``--ignore-missing``); a check that verified nothing still fails.
        progress: called from the calling thread with a Progress about every 100 ms
            while the check runs, and once more with the final figures when it has
            run to the end. An exception it raises cancels the check and propagates.
        list_matches: also list every matching entry in ``report.matches`` (for output
            that shows each file); off by default, as a huge manifest would keep every
            path.
        readers: files read at once, each by its own thread (reads in flight: SSDs,
            NVMe and network storage need many on data not in the page cache); None
            for the default, ``jobs`` when given, else one per core while reads come
            from the page cache and up to 128 once they wait for the storage.

    Returns:
        A Report: ``report.ok`` tells whether every entry matched.

    Raises:
        ManifestError: the check could not run (root, manifest, nothing verified).
        CancelledError: the library reported the check cancelled.
        KeyboardInterrupt: Ctrl-C; the check is cancelled (within milliseconds)
            before it propagates, as is any other exception.
        ValueError, TypeError: bad arguments.
    """
    root = _path_bytes(root_dir, "root_dir")
    options = _options(manifest, jobs, algorithm, readers, ignore_missing, list_matches)
    job = _run(_start, root, options, progress)
    try:
        report = _report(job, _check_status(job))
        if progress is not None:
            progress(_progress(job))
        return report
    finally:
        _job_free(job)


class Created(collections.namedtuple("Created", "manifest files skipped")):
    """What ``create`` wrote.

    Attributes:
        manifest (str): the manifest's path.
        files (int): files listed in it.
        skipped (int): entries not listed (FIFOs, sockets, devices, dangling
            symlinks, symlinks to directories).
    """

    __slots__ = ()


def create(
    root_dir: PathArg,
    *,
    algorithm: str = "sha1",
    manifest: Optional[PathArg] = None,
    jobs: Optional[int] = None,
    progress: Optional[Callable[[Progress], Any]] = None,
    readers: Optional[int] = None,
    tag: bool = False,
    length: Optional[int] = None,
) -> Created:
    """Writes the manifest of ``root_dir``, as GNU ``sha1sum`` (``md5sum``,
    ``sha256sum``, ``b2sum``, ..., or ``b3sum``) would, for every regular file under it.

    Every regular file, recursively (and every symlink to one), the manifest itself
    excluded, sorted by name, hashed in parallel, in GNU's format (``hex  name``, names
    escaped as GNU escapes them; with ``tag=True`` ``SHA256 (name) = hex`` as
    ``sha256sum --tag`` and ``cksum`` write), written atomically: a temporary file
    renamed into place, so an interrupted run never leaves half a manifest. FIFOs,
    sockets, devices, dangling symlinks and symlinks to directories are skipped.

    Args:
        root_dir: the directory (``str``, ``bytes`` or ``os.PathLike``).
        algorithm: one of ``ALGORITHMS`` (``"sha1"``, ``"sha256"``, ``"md5"``,
            ``"blake2b"``, ``"blake3"``...).
        manifest: where to write, relative to ``root_dir`` unless absolute; None for
            the algorithm's usual name (``sha1sum.txt``, ``md5sum.txt``,
            ``b2sums.txt``, ``b3sums.txt``...).
        jobs, readers: as for ``check``.
        progress: as for ``check``.
        tag: write BSD-style tagged lines instead of ``hex  name``.
        length: BLAKE2b's digest length in bits (``b2sum -l``: a multiple of 8 from 8
            to 512); None for 512.

    Raises:
        ChecksigError: the root cannot be listed, a file cannot be read (each is named),
            or the manifest cannot be written; nothing is written then.
        CancelledError: cancelled (nothing is written).
        ValueError, TypeError: bad arguments.
    """
    root = _path_bytes(root_dir, "root_dir")
    options = _options(manifest, jobs, algorithm, readers)
    options.tag = bool(tag)
    # A length in bits as the C ABI takes it (0 for the default); the library checks
    # its value, and says before anything starts what it would refuse: a bad argument
    # (ValueError), not a run that failed (ChecksigError).
    options.blake2b_bits = _count(length, "length", ctypes.c_uint32)
    refused = _create_options_error(ctypes.byref(options))
    if refused is not None:
        raise ValueError(refused)
    job = _run(_create_start, root, options, progress)
    try:
        _create_status(job)
        created = _Created()
        _get_created(job, ctypes.byref(created))
        if progress is not None:
            progress(_progress(job))
        return Created(
            manifest=_get_manifest_path(job) or "",
            files=int(created.files),
            skipped=int(created.skipped),
        )
    finally:
        _job_free(job)


class Outcome(
    collections.namedtuple(
        "Outcome",
        "path path_bytes line status reason detail expected actual",
    )
):
    """One manifest entry's verdict, as ``iter_check`` yields it.

    Attributes:
        path (str): ``root_dir`` joined with the name as written (``os.fsdecode``d).
        path_bytes (bytes): the same path as the exact bytes.
        line (int): the manifest line (1-based).
        status (str): ``"OK"``, ``"FAILED"`` or ``"SKIPPED"`` (missing, under
            ``ignore_missing``).
        reason (str or None): for a failure, as ``Failure.reason``; else None.
        detail (str): the OS's reason for a read error, else "".
        expected (str): the digest the manifest lists (hex).
        actual (str or None): the digest computed when the file was read (OK or
            mismatch), else None.
    """

    __slots__ = ()

    @property
    def ok(self) -> bool:
        return self.status == "OK"


def _outcome(raw: _Verdict) -> Outcome:
    path_bytes = (raw.path or b"")[: raw.path_len]
    return Outcome(
        path=os.fsdecode(path_bytes),
        path_bytes=path_bytes,
        line=int(raw.line),
        status=_VERDICT_STATUS.get(raw.status, "FAILED"),
        reason=_reason_name(raw.reason) if raw.reason else None,
        detail=os.fsdecode(raw.detail or b""),
        expected=raw.expected_hex.decode("ascii"),
        actual=raw.actual_hex.decode("ascii") or None,
    )


def _stream(root_dir: PathArg, options: _Options) -> Any:
    """Starts a streamed check; the job (the caller cancels and frees it)."""
    options.stream = True
    return _start(_path_bytes(root_dir, "root_dir"), ctypes.byref(options))


def _end_stream(job: Any) -> None:
    """Stops a streamed check (if still running) and frees it."""
    _cancel(job)
    _wait(job, -1)
    _job_free(job)


def iter_check(
    root_dir: PathArg,
    *,
    manifest: Optional[PathArg] = None,
    algorithm: Optional[str] = None,
    jobs: Optional[int] = None,
    readers: Optional[int] = None,
    ignore_missing: bool = False,
) -> Iterator[Outcome]:
    """Checks ``root_dir`` and yields every entry's ``Outcome`` **in manifest order, as
    soon as it and every entry before it are decided**: a long check can be shown as it
    goes, and nothing is held (a million failures cost no memory here).

    Arguments as for ``check``. Raises ``ManifestError`` when the check cannot run,
    as ``check`` does: before the first outcome, but for "no file was verified" under
    ``ignore_missing``, known only after the last (every outcome SKIPPED). Leaving the
    loop early (``break``, an exception, Ctrl-C) cancels the check: every worker stops
    within milliseconds.
    """
    options = _options(manifest, jobs, algorithm, readers, ignore_missing)
    job = _stream(root_dir, options)
    try:
        batch = (_Verdict * 256)()
        while True:
            # 100 ms slices: Ctrl-C is seen between them.
            count = _next_verdicts(job, batch, len(batch), _WAIT_SLICE_MS)
            for index in range(count):
                yield _outcome(batch[index])
            if count == 0 and _stream_done(job):
                break
        _check_status(job)
    finally:
        _end_stream(job)


# --- one manifest across a Dask cluster ------------------------------------------------


def _part_options(
    part: Tuple[int, int, int, int, int], options: Dict[str, Any], algorithm: int, form: int
) -> "_Options":
    """The options of a check of one part of the manifest: the client's ``options``,
    and the part's bytes, first line, the manifest's size and time of last modification
    (a part of a manifest changed since fails), algorithm and form as ``checksig_split``
    gave."""
    opts = _options(
        options["manifest"], options["jobs"], None, options["readers"],
        options["ignore_missing"], options["list_matches"], shown_root=options["shown_root"],
    )
    opts.algorithm = algorithm
    (opts.part_start, opts.part_end, opts.part_first_line, opts.part_manifest_len,
     opts.part_manifest_mtime_ns) = part
    opts.part_form = form
    return opts


def _check_part(
    part: Tuple[int, int, int, int, int],
    root: bytes,
    options: Dict[str, Any],
    algorithm: int,
    form: int,
) -> Tuple[Optional[Report], int, int, Optional[str]]:
    """Runs on a Dask worker: checks one part of the manifest with the same engine; its
    report, files and bytes hashed. When the part holds the manifest's error (a bad
    line; or the root cannot be opened), None and that error's message: returned, not
    raised, because the client raises the first part's in part order, and so that
    workers do not log it as a task's failure. Module-level, so that workers import
    it."""
    opts = _part_options(part, options, algorithm, form)
    job = _run(_start, root, opts, None)
    try:
        try:
            report = _report(job, _check_status(job))
        except ManifestError as error:
            return None, 0, 0, error.message
        done = _progress(job)
        return report, done.files_done, done.bytes_done, None
    finally:
        _job_free(job)


class _PartLines(
    collections.namedtuple(
        "_PartLines", "entries matched failed skipped lines"
    )
):
    """A part checked for the command line: its counts (``int``s), and its verdicts
    as the library's lines (``bytes``)."""

    __slots__ = ()


def _check_part_lines(
    part: Tuple[int, int, int, int, int],
    root: bytes,
    options: Dict[str, Any],
    algorithm: int,
    form: int,
    line_format: int,
) -> Tuple[Optional[_PartLines], int, int, Optional[str]]:
    """Runs on a Dask worker: checks one part as ``_check_part`` does, for the command
    line's ``--scheduler``: every verdict of the part as the library formats it in
    ``line_format`` (what a local check prints, ``--json`` objects and ``SKIPPED``
    entries included), with the part's counts. Module-level, so that workers import
    it."""
    opts = _part_options(part, dict(options, list_matches=False), algorithm, form)
    job = _stream(root, opts)
    try:
        buffer = ctypes.create_string_buffer(_LINES_CAPACITY)
        chunks = []
        while True:
            written = _next_lines(job, line_format, buffer, _LINES_CAPACITY, _WAIT_SLICE_MS)
            if written:
                chunks.append(ctypes.string_at(buffer, written))
            elif _stream_done(job):
                break
        try:
            _check_status(job)
        except ManifestError as error:
            return None, 0, 0, error.message
        counts = _Counts()
        _get_counts(job, ctypes.byref(counts))
        done = _progress(job)
        part_lines = _PartLines(
            counts.entries, counts.matched, counts.failed, counts.skipped, b"".join(chunks)
        )
        return part_lines, done.files_done, done.bytes_done, None
    finally:
        _end_stream(job)


def check_distributed(
    root_dir: PathArg,
    client: Any = None,
    *,
    manifest: Optional[PathArg] = None,
    algorithm: Optional[str] = None,
    ignore_missing: bool = False,
    parts: Optional[int] = None,
    progress: Optional[Callable[[Progress], Any]] = None,
    list_matches: bool = False,
    jobs: Optional[int] = None,
    readers: Optional[int] = None,
    path_map: Optional[Mapping[PathArg, PathArg]] = None,
) -> Report:
    """Checks ``root_dir`` against its manifest on a Dask cluster and returns the same
    ``Report`` as ``check()``: failures in manifest order with the manifest's line
    numbers, counts summed.

    The manifest is cut here into ``parts`` byte ranges at line starts (as Hadoop and
    Spark split their input: its first lines parsed, the others' newlines counted);
    each Dask task checks one part with the same engine, reading only its range, in
    the algorithm and line form the whole manifest's first lines decided. A bad line
    is found by the part that holds it, and the first in the manifest is raised. Workers are given the root as an absolute path
    (their working directory is not this process's), through ``path_map`` when they
    see the data at another path; the report names paths as ``check(root_dir)`` would
    here. A file listed in two parts is hashed once per part.

    Args:
        root_dir, manifest, algorithm, ignore_missing, list_matches, jobs, readers: as
            for ``check``; ``jobs`` and ``readers`` apply on each worker, per part.
        client: a ``dask.distributed.Client``; None for the current one
            (``distributed.get_client()``).
        parts: how many parts; None for about 4 per thread of the cluster's workers.
        progress: called as parts finish with a Progress (files and bytes done; the
            byte total once every part has finished).
        path_map: where the workers see the data, when not where this process does:
            ``{"/mnt/nas/archive": "/data/archive"}`` maps a path here (the key) to the
            same directory on every worker (the value); the longest key that holds
            ``root_dir`` (and an absolute ``manifest``) applies. None: the same paths.

    Raises:
        ManifestError: exactly as ``check()`` raises it (a bad line, an empty
            manifest, nothing verified under ``ignore_missing``, a root a worker
            cannot open).
        ImportError: Dask's ``distributed`` is not installed (``pip install
            checksig[dask]``).
        ValueError: ``root_dir`` (or an absolute ``manifest``) is under none of
            ``path_map``'s keys.
        KeyboardInterrupt, or any exception from ``progress``: the parts not started
            are cancelled first (a part already running on a worker runs to its end
            there: Dask does not stop a running task; its result is dropped).
    """
    root, options, results = _run_parts(
        "_check_part", root_dir, client, manifest=manifest, algorithm=algorithm,
        ignore_missing=ignore_missing, parts=parts, progress=progress,
        list_matches=list_matches, jobs=jobs, readers=readers, path_map=path_map,
    )
    return _merge_reports(root, options, results)


def _run_parts(
    part_function: str,
    root_dir: PathArg,
    client: Any,
    *,
    manifest: Optional[PathArg],
    algorithm: Optional[str],
    ignore_missing: bool,
    parts: Optional[int],
    progress: Optional[Callable[[Progress], Any]],
    list_matches: bool,
    jobs: Optional[int],
    readers: Optional[int],
    path_map: Optional[Mapping[PathArg, PathArg]],
    **part_arguments: Any,
) -> Tuple[bytes, "_Options", List[Tuple[Any, int, int]]]:
    """``check_distributed``'s work up to the merge: the manifest cut into parts, each
    checked on a worker by the module's function ``part_function`` (``_check_part``, or
    ``_check_part_lines`` for the command line; ``part_arguments`` passed on), and
    every part's result in part order; with the root and the options to merge them."""
    try:
        import distributed
    except ImportError as error:
        raise ImportError(
            "check_distributed needs Dask's distributed: pip install checksig[dask]"
        ) from error
    if client is None:
        client = distributed.get_client()
    root = _path_bytes(root_dir, "root_dir")
    if parts is None:
        parts = 4 * max(1, sum(client.nthreads().values()))
    options = _options(manifest, jobs, algorithm, readers, ignore_missing, list_matches)
    ranges, algorithm_code, form = _split_manifest(root, options, _count(parts, "parts"))
    worker_root = _on_workers(root, path_map)
    worker_manifest = manifest
    if manifest is not None and os.path.isabs(manifest):
        worker_manifest = _on_workers(_path_bytes(manifest, "manifest"), path_map)
    settings = {
        "manifest": worker_manifest,
        "jobs": jobs,
        "readers": readers,
        "ignore_missing": ignore_missing,
        "list_matches": list_matches,
        "shown_root": root if worker_root != root else None,
    }
    # By its importable name: under `python -m checksig` this module is `__main__`,
    # which workers cannot import.
    check_part = getattr(importlib.import_module("checksig"), part_function)
    # One `map`, not a `submit` per part: one message to the scheduler (measured, 8
    # empty tasks on a 2-worker LocalCluster: 21 ms against 32 ms).
    futures = client.map(
        check_part, ranges, root=worker_root, options=settings, algorithm=algorithm_code,
        form=form, pure=False, **part_arguments,
    )
    try:
        results = _gather_parts(client, distributed, futures, progress)
    except BaseException:
        client.cancel(futures)
        raise
    return root, options, results


def _on_workers(path: bytes, path_map: Optional[Mapping[PathArg, PathArg]]) -> bytes:
    """``path`` as the workers see it: absolute, and through ``path_map``'s longest key
    that is ``path`` or a directory above it."""
    absolute = os.path.abspath(path)
    if not path_map:
        return absolute
    matches = []
    for here, there in path_map.items():
        prefix = os.path.abspath(_path_bytes(here, "a path_map key")).rstrip(b"/")
        if absolute == prefix or absolute.startswith(prefix + b"/"):
            matches.append((len(prefix), prefix, _path_bytes(there, "a path_map value")))
    if not matches:
        raise ValueError(f"path_map: {os.fsdecode(absolute)!r} is under none of its paths")
    _, prefix, there = max(matches)
    return there.rstrip(b"/") + absolute[len(prefix):] or b"/"


def _split_manifest(
    root: bytes, options: _Options, parts: int
) -> Tuple[List[Tuple[int, int, int, int, int]], int, int]:
    """The manifest's parts (start, end, first line, the manifest's size and time of
    last modification), algorithm and form; raises ManifestError as ``check()`` would."""
    out = (_Part * parts)()
    count = ctypes.c_size_t()
    algorithm = ctypes.c_uint32()
    form = ctypes.c_uint32()
    error = _split(
        root, ctypes.byref(options), parts, out, ctypes.byref(count), ctypes.byref(algorithm),
        ctypes.byref(form),
    )
    if error is not None:
        raise ManifestError(error)
    ranges = [
        (p.start, p.end, p.first_line, p.manifest_len, p.manifest_mtime_ns)
        for p in out[: count.value]
    ]
    return ranges, algorithm.value, form.value


def _gather_parts(
    client: Any, distributed: Any, futures: List[Any],
    progress: Optional[Callable[[Progress], Any]],
) -> List[Tuple[Report, int, int]]:
    """Every part's result, in part order, reporting progress as parts finish.

    The first manifest error in part order is the whole manifest's (each part reads its
    lines in order and stops at its first bad one): a part's error cancels the parts
    after it, and is raised as ``ManifestError`` once the parts before it have
    finished without one."""
    index = {future.key: i for i, future in enumerate(futures)}
    results: List[Any] = [None] * len(futures)
    first_error = len(futures)
    files = hashed = 0
    for finished, result in distributed.as_completed(futures, with_results=True):
        part = index[finished.key]
        if part > first_error:
            continue  # cancelled, or finished too late to matter
        results[part] = result
        report, part_files, part_bytes, error = result
        if error is not None and part < first_error:
            first_error = part
            client.cancel(futures[part + 1:])
        if first_error < len(futures):
            if all(r is not None for r in results[:first_error]):
                break
            continue
        files += part_files
        hashed += part_bytes
        if progress is not None:
            total = sum(r[0].entries for r in results if r is not None)
            done = all(r is not None for r in results)
            progress(Progress(files, files if done else max(files, total), hashed,
                              hashed if done else 0))
    if first_error < len(futures):
        raise ManifestError(results[first_error][3])
    return [(report, part_files, part_bytes) for report, part_files, part_bytes, _ in results]


def _merge_reports(root: bytes, options: _Options, results: List[Tuple[Report, int, int]]) -> Report:
    """The parts' reports as one: failures and matches concatenated in part order (so
    in manifest order), counts summed, the library's message lines joined."""
    failures = [f for report, _, _ in results for f in report.failures]
    counts = _Counts(
        sum(r.entries for r, _, _ in results),
        sum(r.matched for r, _, _ in results),
        len(failures),
        sum(r.skipped for r, _, _ in results),
    )
    error = _merged_error(root, ctypes.byref(options), ctypes.byref(counts))
    if error is not None:
        raise ManifestError(error)
    messages = [report.message for report, _, _ in results if report.message]
    return Report(
        ok=not failures,
        entries=counts.entries,
        matched=counts.matched,
        failed=counts.failed,
        skipped=counts.skipped,
        failures=failures,
        message="\n".join(messages) if messages else None,
        matches=[m for report, _, _ in results for m in report.matches],
    )


def check_signatures(root_dir: PathArg) -> None:
    """Checks ``root_dir`` against ``root_dir/sha1sum.txt``: the Go library's API.

    Returns None when every listed file matches. Otherwise raises ChecksigError (a
    ValueError) whose ``str()`` is the library's message: every failing entry on its
    own line in manifest order, e.g. ``"/data/a.log" - mismatch``; or ManifestError
    (also a ChecksigError) when the check could not run.
    """
    report = check(root_dir)
    if not report.ok:
        raise ChecksigError(
            report.message or "check failed", failures=report.failures, report=report
        )


# ---------------------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------------------


class _OutputError(Exception):
    """Standard output could not be written (a full disk, say): what was printed is
    incomplete, so the run stops and says why, with status 2, as GNU tools stop with
    "write error" (a closed pipe stays a BrokenPipeError: the run ends quietly)."""


def _write(stream: TextIO, text: str) -> None:
    """Writes ``text`` and a newline; surrogate-escaped bytes (non-UTF-8 names) go out
    as the original bytes instead of raising UnicodeEncodeError."""
    line = text + "\n"
    buffer = getattr(stream, "buffer", None)
    if buffer is None:
        stream.write(line.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
        return
    try:
        stream.flush()
        buffer.write(line.encode(stream.encoding or "utf-8", "surrogateescape"))
        buffer.flush()
    except OSError as error:
        _raise_for_output(stream, error)


def _raise_for_output(stream: Any, error: OSError) -> None:
    """Re-raises a failed write: as an _OutputError when it was to stdout, unless the
    pipe was closed."""
    if stream is sys.stdout and not isinstance(error, BrokenPipeError):
        raise _OutputError(f"write error: {error.strerror or error}") from None
    raise error


def _human_bytes(count: int) -> str:
    """``1234567`` -> ``"1.2 MB"`` (decimal units, as disks are sold)."""
    if count < 1000:
        return f"{count} B"
    value = float(count)
    for unit in ("kB", "MB", "GB", "TB", "PB"):
        value /= 1000
        if value < 999.5 or unit == "PB":
            break
    text = f"{value:.0f}" if value >= 99.5 else f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{text} {unit}"


def _positive_int(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text}")
    return value


def _path_pair(text: str) -> Tuple[str, str]:
    """``HERE=THERE`` of ``--path-map``."""
    import argparse

    here, equals, there = text.partition("=")
    if not (here and equals and there):
        raise argparse.ArgumentTypeError(f"expected HERE=THERE, not {text!r}")
    return here, there


def _parser() -> "argparse.ArgumentParser":
    # Imported here: argparse (and dataclasses, which this module avoids) cost more
    # to import than a check of a small directory takes.
    import argparse

    parser = argparse.ArgumentParser(
        prog="checksig",
        description="Verify each DIR against its manifest (DIR/sha1sum.txt, as written by "
        "GNU sha1sum; or the algorithm's md5sum.txt, sha256sum.txt, b2sums.txt...), or "
        "each manifest FILE against the directory it is in (checksig data/SHA256SUMS, "
        "as sha256sum -c is used), hashing the files in parallel. Reads what md5sum, "
        "sha1sum, sha224sum, sha256sum, sha384sum, sha512sum, b2sum, cksum and b3sum "
        "write, tagged lines of several algorithms in one file included. Prints "
        "`path: OK` or `path: FAILED (reason)` for every entry as soon as it is "
        "decided, in manifest order, as sha1sum -c does, and a summary line per DIR. "
        "Checking is always strict: a line that is not a checksum line stops the check "
        "(GNU's --strict, and more: nothing is hashed then).",
        epilog="Exit status: 0 when every file matches, 1 when any file fails, "
        "2 for a usage error or an unusable manifest, 130 when interrupted.",
    )
    parser.add_argument(
        "dirs",
        metavar="DIR|FILE",
        nargs="+",
        help="directory to check, or a manifest file to check the directory it is in "
        "against",
    )
    _add_check_arguments(parser)
    _add_output_arguments(parser)
    _add_hashing_arguments(parser, _positive_int)
    _add_create_arguments(parser)
    parser.add_argument("--version", action="version", version=f"checksig {__version__}")
    return parser


def _add_check_arguments(parser: "argparse.ArgumentParser") -> None:
    """What a check reads and how strictly."""
    parser.add_argument(
        "-c",
        "--check",
        action="store_true",
        help="check (the default; accepted as sha1sum -c users type it)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="accepted as in sha1sum; checking is always strict (a bad line is an error)",
    )
    parser.add_argument(
        "-w",
        "--warn",
        action="store_true",
        help="accepted as in sha1sum; a bad line is always an error naming it",
    )
    parser.add_argument(
        "--manifest",
        metavar="NAME",
        default=None,
        help="manifest path, relative to DIR unless absolute (default: sha1sum.txt, "
        "or the algorithm's usual name: md5sum.txt, sha256sum.txt, b2sums.txt, ...)",
    )
    parser.add_argument(
        "--ignore-missing",
        action="store_true",
        help="skip missing files instead of failing them",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="check on this Dask cluster (e.g. tcp://HOST:8786): the manifest is cut "
        "into parts, each checked by a worker, which must see DIR at the same path "
        "or at the one --path-map gives (pip install checksig[dask])",
    )
    parser.add_argument(
        "--path-map",
        metavar="HERE=THERE",
        action="append",
        type=_path_pair,
        help="with --scheduler: the workers see directory HERE (a path on this machine) "
        "at THERE; repeatable, the longest HERE that holds DIR applies",
    )


def _add_output_arguments(parser: "argparse.ArgumentParser") -> None:
    """What is printed: one of every verdict (the default), failures only, nothing, or
    JSON Lines, as the synopsis gives them (``[-q | --status | --json]``)."""
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--json",
        action="store_true",
        help="write JSON Lines: one object per entry (path, line, status, reason, "
        "detail, expected, actual), then one summary object per DIR",
    )
    output.add_argument(
        "-q", "--quiet", action="store_true", help="print only failures and errors (no OK lines)"
    )
    output.add_argument(
        "--status", action="store_true",
        help="print no verdicts: the exit status tells (errors still go to stderr)"
    )


def _add_hashing_arguments(parser: "argparse.ArgumentParser", count: Any) -> None:
    """Which algorithm, and how many cores and reads in flight."""
    parser.add_argument(
        "-a",
        "--algorithm",
        choices=sorted(ALGORITHMS),
        help="the algorithm of the manifest's untagged lines (default: from the "
        "manifest's name, else its first line; tagged lines name their own); what "
        "--create writes (default sha1)",
    )
    parser.add_argument(
        "-l",
        "--length",
        type=count,
        metavar="BITS",
        help="BLAKE2b's digest length for --create, as b2sum -l: a multiple of 8 up to "
        "512 (default 512); a check reads each line's length from the line",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=count,
        metavar="N",
        help="cores to use (default: all; 1 for a spinning disk: one file at a time, "
        "in manifest order)",
    )
    parser.add_argument(
        "--readers",
        type=count,
        metavar="N",
        help="files read at once, each by its own thread (default: N of --jobs, else one "
        "per core, up to 128 once reads wait for the storage): many reads in flight keep "
        "SSDs, NVMe and network storage busy on uncached data",
    )


def _add_create_arguments(parser: "argparse.ArgumentParser") -> None:
    """Writing a manifest instead of checking one."""
    parser.add_argument(
        "--create",
        action="store_true",
        help="write DIR's manifest instead of checking it: every regular file, sorted, "
        "in GNU's format, atomically",
    )
    parser.add_argument(
        "--tag",
        action="store_true",
        help="with --create: write BSD-style lines, `SHA256 (name) = hex`, as "
        "sha256sum --tag and cksum write them",
    )


class _Watcher:
    """The CLI's progress callback: remembers the last figures, drives a tqdm bar."""

    def __init__(self, label: str, show_bar: bool) -> None:
        self.last = Progress(0, 0, 0, 0)
        self._bar: Any = None
        if show_bar:
            try:
                from tqdm import tqdm  # optional: no bar without it
            except ImportError:
                return
            settings = dict(
                desc=label,
                total=None,
                unit="B",
                unit_scale=True,  # decimal units, as in the interrupted summary
                leave=False,
                file=sys.stderr,
            )
            try:
                # Shown only once the check has run for a moment: no flicker for the
                # many directories that take a few milliseconds.
                self._bar = tqdm(delay=0.3, **settings)
            except TypeError:  # tqdm < 4.60 has no delay
                self._bar = tqdm(**settings)

    def __call__(self, progress: Progress) -> None:
        self.last = progress
        bar = self._bar
        if bar is not None:
            if progress.bytes_total and bar.total != progress.bytes_total:
                bar.total = progress.bytes_total
            bar.update(progress.bytes_done - bar.n)

    def write(self, lines: bytes) -> None:
        """Writes verdict lines to stdout, the bar cleared meanwhile so that it never
        lands inside a line, and flushed: lines appear as they are decided."""
        out = sys.stdout
        try:
            out.flush()
            if self._bar is not None:
                with self._bar.external_write_mode(file=out):
                    out.buffer.write(lines)
                    out.buffer.flush()
            else:
                out.buffer.write(lines)
                out.buffer.flush()
        except OSError as error:
            _raise_for_output(out, error)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _create_one(directory: str, args: "argparse.Namespace", watcher: _Watcher) -> None:
    """``--create`` for one DIR: writes its manifest and says so."""
    created = create(
        directory,
        algorithm=args.algorithm or "sha1",
        manifest=args.manifest,
        jobs=args.jobs,
        readers=args.readers,
        progress=watcher,
        tag=args.tag,
        length=args.length,
    )
    if not (args.quiet or args.status):
        skipped = f", {created.skipped} skipped" if created.skipped else ""
        _write(
            sys.stdout,
            f"{directory}: wrote {created.manifest} ({created.files} files{skipped})",
        )


def _target(target: str, manifest: Optional[str]) -> Tuple[str, Optional[str]]:
    """The root and manifest for a DIR or FILE argument: a regular file is a manifest,
    checked against the directory it is in (``checksig data/SHA256SUMS``)."""
    if not os.path.isfile(target):
        return target, manifest
    if manifest is not None:
        raise ChecksigError(f"{target} is a manifest file: --manifest does not apply to it")
    return os.path.dirname(target) or ".", os.path.basename(target)


def _line_format(args: "argparse.Namespace") -> int:
    """The library's lines the command line prints: JSON objects for every entry under
    ``--json``, failures only under ``-q``/``--status`` (``--status`` then prints none of
    them), else every verdict."""
    if args.json:
        return _LINES_JSON
    if args.quiet or args.status:
        return _LINES_FAILURES
    return _LINES_TEXT


def _check_one(target: str, args: "argparse.Namespace", watcher: _Watcher) -> int:
    """Checks one DIR or FILE, printing each verdict as soon as it is decided (lines
    formatted by the library, in batches); the exit status it calls for."""
    root, manifest = _target(target, args.manifest)
    options = _options(manifest, args.jobs, args.algorithm, args.readers, args.ignore_missing)
    job = _stream(root, options)
    try:
        line_format = _line_format(args)
        buffer = ctypes.create_string_buffer(_LINES_CAPACITY)
        while True:
            written = _next_lines(job, line_format, buffer, _LINES_CAPACITY, _WAIT_SLICE_MS)
            if written and not args.status:
                watcher.write(ctypes.string_at(buffer, written))
            watcher(_progress(job))
            if written == 0 and _stream_done(job):
                break
        _check_status(job)
        counts = _Counts()
        _get_counts(job, ctypes.byref(counts))
    finally:
        _end_stream(job)
    watcher.close()
    if args.json:
        _write_json(sys.stdout, _summary_object(target, counts))
    elif not (args.quiet or args.status):
        _write(sys.stdout, _summary(target, counts))
    return 0 if counts.failed == 0 else 1


def _check_one_distributed(target: str, args: "argparse.Namespace", client: Any,
                           watcher: _Watcher) -> int:
    """Checks one DIR or FILE on a Dask cluster; the same output as a local check (the
    library's lines, each part's printed in part order once all are done)."""
    root, manifest = _target(target, args.manifest)
    path_map = dict(args.path_map or ())
    try:
        _on_workers(_path_bytes(root, "DIR"), path_map)
    except ValueError as error:  # a DIR --path-map does not cover: the usage's error
        raise ChecksigError(str(error)) from None
    line_format = _line_format(args)
    root_bytes, options, results = _run_parts(
        "_check_part_lines", root, client, manifest=manifest, algorithm=args.algorithm,
        ignore_missing=args.ignore_missing, parts=None, progress=watcher,
        list_matches=False, jobs=args.jobs, readers=args.readers, path_map=path_map,
        line_format=line_format,
    )
    counts = _Counts(
        sum(part.entries for part, _, _ in results),
        sum(part.matched for part, _, _ in results),
        sum(part.failed for part, _, _ in results),
        sum(part.skipped for part, _, _ in results),
    )
    watcher.close()
    lines = b"".join(part.lines for part, _, _ in results)
    if lines and not args.status:
        watcher.write(lines)
    # After the lines, as a local check prints every verdict before it can tell that
    # nothing was verified.
    error = _merged_error(root_bytes, ctypes.byref(options), ctypes.byref(counts))
    if error is not None:
        raise ManifestError(error)
    if args.json:
        _write_json(sys.stdout, _summary_object(target, counts))
    elif not (args.quiet or args.status):
        _write(sys.stdout, _summary(target, counts))
    return 0 if counts.failed == 0 else 1


def _summary(target: str, counts: _Counts) -> str:
    """``DIR: OK (N files)`` or ``DIR: F of N entries FAILED``."""
    if counts.failed:
        return f"{target}: {counts.failed} of {counts.entries} entries FAILED"
    files = "file" if counts.matched == 1 else "files"
    skipped = f", {counts.skipped} missing skipped" if counts.skipped else ""
    return f"{target}: OK ({counts.matched} {files}{skipped})"


def _summary_object(target: str, counts: Optional[_Counts], error: str = "") -> Dict[str, Any]:
    """The ``--json`` summary of one DIR or FILE."""
    if counts is None:
        return {"summary": {"target": target, "status": "ERROR", "error": error}}
    return {
        "summary": {
            "target": target,
            "status": "FAILED" if counts.failed else "OK",
            "entries": counts.entries,
            "matched": counts.matched,
            "failed": counts.failed,
            "skipped": counts.skipped,
        }
    }


def _write_json(stream: TextIO, value: Any) -> None:
    import json

    _write(stream, json.dumps(value))


def _interrupted(watcher: Optional[_Watcher], terminated: bool = False) -> int:
    """Ctrl-C (or SIGTERM): says how far the run got; exit status 130 (143)."""
    last = watcher.last if watcher is not None else Progress(0, 0, 0, 0)
    if watcher is not None:
        watcher.close()
    _write(
        sys.stderr,
        f"checksig: interrupted after {last.files_done} of {last.files_total} files "
        f"({_human_bytes(last.bytes_done)} of {_human_bytes(last.bytes_total)})",
    )
    return 143 if terminated else 130


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is: the run stops, nothing is left half-written."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated()


def _die_of_sigpipe() -> None:
    """A closed output pipe (``checksig DIR | head -1``): end as GNU tools end, killed
    by SIGPIPE, quietly; the check has been cancelled by then."""
    import signal

    try:
        sys.stdout = open(os.devnull, "w")  # nothing more to flush at exit
    except OSError:
        pass
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGPIPE)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The ``checksig`` command; returns the exit status."""
    import signal

    parser = _parser()
    args = parser.parse_args(argv)
    if (args.tag or args.length is not None) and not args.create:
        parser.error("--tag and -l/--length are for --create: a check reads each line's "
                     "form, algorithm and length from the line")
    if args.path_map and not args.scheduler:
        parser.error("--path-map is for --scheduler: it says where the workers see DIR")
    show_bar = not (args.quiet or args.status or args.json) and sys.stderr.isatty()
    status = 0
    watcher: Optional[_Watcher] = None
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    client = _scheduler_client(args.scheduler) if args.scheduler else None
    try:
        for target in args.dirs:
            watcher = _Watcher(target, show_bar)
            try:
                if args.create:
                    _create_one(target, args, watcher)
                elif client is not None:
                    status = max(status, _check_one_distributed(target, args, client, watcher))
                else:
                    status = max(status, _check_one(target, args, watcher))
            except ValueError as error:  # ChecksigError, or an argument the API refuses
                watcher.close()
                if args.json and not args.create:
                    _write_json(sys.stdout, _summary_object(target, None, str(error)))
                # Even under --status, as GNU's: it silences verdicts, not why a
                # check could not run.
                _write(sys.stderr, f"checksig: {error}")
                # A manifest that cannot be used, or an argument the API refuses (a
                # number past what the library takes), is a usage-level error (2); a
                # manifest that could not be written is a failure of the run (1).
                run_failed = args.create and isinstance(error, ChecksigError)
                status = max(status, 1 if run_failed else 2)
            finally:
                watcher.close()
    except BrokenPipeError:
        _die_of_sigpipe()
        return 141
    except _OutputError as error:
        if watcher is not None:
            watcher.close()
        try:
            _write(sys.stderr, f"checksig: {error}")
        except OSError:
            pass
        # What stdout still buffers goes nowhere, instead of failing again at exit.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass
        return 2
    except KeyboardInterrupt as interrupt:
        return _interrupted(watcher, isinstance(interrupt, _Terminated))
    finally:
        signal.signal(signal.SIGTERM, previous)
        if client is not None:
            client.close()
    return status


def _scheduler_client(address: str) -> Any:
    """A Dask client of the scheduler at ``address``; exits with status 2 when Dask is
    not installed or the scheduler cannot be reached."""
    try:
        import distributed

        return distributed.Client(address, timeout=30)
    except ImportError:
        _write(sys.stderr, "checksig: --scheduler needs Dask: pip install checksig[dask]")
    except OSError as error:
        _write(sys.stderr, f"checksig: cannot reach the scheduler {address}: {error}")
    raise SystemExit(2)


if __name__ == "__main__":
    sys.exit(main())
