"""The command line, run as ``python -m checksig`` in a subprocess (cwd outside the
source tree): output, exit codes, options, Ctrl-C, the progress bar."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import checksig
from support import change_signature, cli_command, logs_dir, run_cli, sha1sum, write_logs

EMPTY = "da39a3ee5e6b4b0d3255bfef95601890afd80709"


@pytest.fixture
def dirs(tmp_path):
    """good: 10 matching logs; bad: app-03 and app-08 changed; nomanifest: no
    sha1sum.txt; missing: 10 logs, the manifest also lists gone.log; other: the
    manifest is named other.sha1."""
    made = {
        "good": logs_dir(tmp_path / "good"),
        "bad": logs_dir(tmp_path / "bad", broken=["app-03.log", "app-08.log"]),
        "missing": logs_dir(tmp_path / "missing"),
    }
    with open(made["missing"] / "sha1sum.txt", "a") as manifest:
        manifest.write(f"{EMPTY}  gone.log\n")
    made["nomanifest"] = tmp_path / "nomanifest"
    write_logs(made["nomanifest"], 2)
    made["other"] = tmp_path / "other"
    sha1sum(made["other"], write_logs(made["other"], 3), manifest="other.sha1")
    return made


def lines(text: bytes):
    return text.decode("utf-8", "surrogateescape").splitlines()


def verdicts(key, count, failed=(), reason="mismatch"):
    """The per-entry lines for ``app-01.log`` ... ``app-NN.log`` in dir ``{key}``, in
    manifest order: ``OK``, or ``FAILED (reason)`` for the numbers in ``failed``."""
    return [
        f"{{{key}}}/app-{i:02d}.log: " + (f"FAILED ({reason})" if i in failed else "OK")
        for i in range(1, count + 1)
    ]


# Each case: arguments (names of dirs in {braces}), exit status, stdout lines, stderr.
CASES = [
    ("good", ["{good}"], 0, verdicts("good", 10) + ["{good}: OK (10 files)"], []),
    (
        "bad",
        ["{bad}"],
        1,
        verdicts("bad", 10, failed=(3, 8)) + ["{bad}: 2 of 10 entries FAILED"],
        [],
    ),
    (
        "good-and-bad",
        ["{good}", "{bad}"],
        1,
        verdicts("good", 10)
        + ["{good}: OK (10 files)"]
        + verdicts("bad", 10, failed=(3, 8))
        + ["{bad}: 2 of 10 entries FAILED"],
        [],
    ),
    (
        "no-manifest",
        ["{nomanifest}", "{good}"],
        2,
        verdicts("good", 10) + ["{good}: OK (10 files)"],
        [
            'checksig: "{nomanifest}/sha1sum.txt" - cannot read manifest: '
            "No such file or directory"
        ],
    ),
    (
        "quiet-good",
        ["--quiet", "{good}"],
        0,
        [],
        [],
    ),
    (
        "quiet-bad",
        ["-q", "{good}", "{bad}"],
        1,
        ["{bad}/app-03.log: FAILED (mismatch)", "{bad}/app-08.log: FAILED (mismatch)"],
        [],
    ),
    (
        "quiet-no-manifest",
        ["--quiet", "{nomanifest}"],
        2,
        [],
        [
            'checksig: "{nomanifest}/sha1sum.txt" - cannot read manifest: '
            "No such file or directory"
        ],
    ),
    ("status-good", ["--status", "{good}"], 0, [], []),
    ("status-bad", ["--status", "{bad}"], 1, [], []),
    (
        "status-no-manifest",
        ["--status", "{nomanifest}"],
        2,
        [],
        [
            'checksig: "{nomanifest}/sha1sum.txt" - cannot read manifest: '
            "No such file or directory"
        ],
    ),
    ("jobs-1", ["--jobs", "1", "{bad}"], 1, None, []),
    ("jobs-3", ["-j3", "{good}"], 0, verdicts("good", 10) + ["{good}: OK (10 files)"], []),
    ("readers-64", ["--readers", "64", "{bad}"], 1, None, []),
    (
        "readers-1",
        ["--readers", "1", "{good}"],
        0,
        verdicts("good", 10) + ["{good}: OK (10 files)"],
        [],
    ),
    (
        "missing-file",
        ["{missing}"],
        1,
        verdicts("missing", 10)
        + ["{missing}/gone.log: FAILED (no such file)", "{missing}: 1 of 11 entries FAILED"],
        [],
    ),
    (
        "ignore-missing",
        ["--ignore-missing", "{missing}"],
        0,
        verdicts("missing", 10) + ["{missing}: OK (10 files, 1 missing skipped)"],
        [],
    ),
    (
        "manifest",
        ["--manifest", "other.sha1", "{other}"],
        0,
        verdicts("other", 3) + ["{other}: OK (3 files)"],
        [],
    ),
    # sha1sum habits: a manifest FILE checks the directory it is in; -c, --strict and
    # --warn are accepted (checking is always strict).
    (
        "manifest-file",
        ["{bad}/sha1sum.txt"],
        1,
        verdicts("bad", 10, failed=(3, 8)) + ["{bad}/sha1sum.txt: 2 of 10 entries FAILED"],
        [],
    ),
    (
        "manifest-file-named",
        ["-c", "{other}/other.sha1"],
        0,
        verdicts("other", 3) + ["{other}/other.sha1: OK (3 files)"],
        [],
    ),
    (
        "strict-warn",
        ["--strict", "-w", "-c", "{good}"],
        0,
        verdicts("good", 10) + ["{good}: OK (10 files)"],
        [],
    ),
    (
        "manifest-file-and-option",
        ["--manifest", "x", "{good}/sha1sum.txt"],
        2,
        [],
        ["checksig: {good}/sha1sum.txt is a manifest file: --manifest does not apply to it"],
    ),
    (
        "manifest-wrong",
        ["{other}"],
        2,
        [],
        [
            'checksig: "{other}/sha1sum.txt" - cannot read manifest: '
            "No such file or directory"
        ],
    ),
]


@pytest.mark.parametrize(
    "args, status, stdout, stderr",
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_cli(dirs, tmp_path, args, status, stdout, stderr):
    result = run_cli(*(arg.format(**dirs) for arg in args), cwd=tmp_path)
    assert result.returncode == status, result.stderr
    if stdout is not None:
        assert lines(result.stdout) == [line.format(**dirs) for line in stdout]
    else:  # same lines as without --jobs
        assert lines(result.stdout)[-1] == f"{dirs['bad']}: 2 of 10 entries FAILED"
    assert lines(result.stderr) == [line.format(**dirs) for line in stderr]


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "the following arguments are required: DIR"),
        (["--jobs", "0", "."], "must be at least 1"),
        (["--jobs", "x", "."], "not a number"),
        (["--readers", "0", "."], "must be at least 1"),
        (["--quiet", "--status", "."], "not allowed with argument"),
        # The synopsis's alternatives: [-q | --status | --json].
        (["--json", "--status", "."], "not allowed with argument"),
        (["--json", "-q", "."], "not allowed with argument"),
        (["--frobnicate", "."], "unrecognized arguments"),
        # Past what the library's fields hold: refused, not cut to their low bits.
        (["--jobs", str(2**64 + 1), "."], "jobs must be at most"),
        (["--create", "-a", "blake2b", "-l", str(2**32 + 256), "."], "length must be at most"),
        # Options the library refuses, before anything is written.
        (["--create", "-a", "blake2b", "-l", "7", "."], "multiple of 8"),
        (["--create", "-a", "sha256", "-l", "256", "."], "BLAKE2b only"),
        (["--create", "-a", "blake3", "--tag", "."], "BLAKE3 has no tagged form"),
    ],
    ids=["no-dir", "jobs-0", "jobs-x", "readers-0", "quiet-and-status", "json-and-status",
         "json-and-quiet", "unknown-option",
         "jobs-huge", "length-huge", "length-7", "length-not-blake2b", "blake3-tag"],
)
def test_usage_errors_exit_2(tmp_path, args, message):
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == b""
    assert message in result.stderr.decode()
    assert os.listdir(tmp_path) == []  # nothing written


def test_version(tmp_path):
    result = run_cli("--version", cwd=tmp_path)
    assert (result.returncode, result.stdout.decode()) == (0, f"checksig {checksig.__version__}\n")


def test_console_script_is_installed(tmp_path, dirs):
    script = Path(sys.executable).with_name("checksig")
    if not script.exists():
        pytest.skip(f"no console script beside {sys.executable}")
    result = subprocess.run(
        [script, dirs["bad"]], cwd=tmp_path, capture_output=True, timeout=60
    )
    assert result.returncode == 1
    assert lines(result.stdout)[-1] == f"{dirs['bad']}: 2 of 10 entries FAILED"


def test_non_utf8_names_are_printed_as_bytes(tmp_path):
    root = tmp_path / "latin1"
    root.mkdir()
    name = b"caf\xe9.log"
    with open(os.path.join(os.fsencode(root), name), "wb") as f:
        f.write(b"one line\n")
    sha1sum(root, [name])
    change_signature(root, name)
    result = run_cli(root, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        os.fsencode(root) + b"/caf\xe9.log: FAILED (mismatch)",
        os.fsencode(root) + b": 1 of 1 entries FAILED",
    ]
    assert result.stderr == b""


def test_names_with_line_breaks_are_escaped_as_gnu_does(tmp_path):
    root = tmp_path / "odd"
    write_logs(root, 1)
    (root / "a\nb.log").write_text("x\n")
    sha1sum(root, ["app-01.log", "a\nb.log"])
    (root / "a\nb.log").write_text("y\n")
    result = run_cli(root, cwd=tmp_path)
    assert result.returncode == 1
    assert lines(result.stdout)[1] == f"\\{root}/a\\nb.log: FAILED (mismatch)"


# --- Ctrl-C and the progress bar (large data) -------------------------------------------


def wait_until_checking(pid: int, deadline: float) -> None:
    """Waits until the CLI's check thread exists (the check is under way)."""
    while time.monotonic() < deadline:
        try:
            if len(os.listdir(f"/proc/{pid}/task")) > 1:
                return
        except FileNotFoundError:
            break
        time.sleep(0.01)
    pytest.fail("the CLI never started checking")


@pytest.mark.slow
def test_sigint_exits_130_with_a_summary(big_dataset, tmp_path):
    process = subprocess.Popen(
        cli_command("--jobs", "1", big_dataset),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_checking(process.pid, time.monotonic() + 10)
        time.sleep(0.3)  # a few progress slices
        process.send_signal(signal.SIGINT)
        sent = time.monotonic()
        stdout, stderr = process.communicate(timeout=10)
        elapsed = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    assert elapsed < 2, f"took {elapsed:.2f} s to exit"
    match = re.fullmatch(
        rb"checksig: interrupted after (\d) of 4 files \([\d.]+ [kMG]?B of 2\.1 GB\)\n",
        stderr,
    )
    assert match, stderr
    assert int(match.group(1)) < 4
    # The verdicts decided before the interrupt were printed as they came, no more.
    printed = lines(stdout)
    assert len(printed) <= int(match.group(1))
    assert all(line.endswith(".bin: OK") for line in printed), printed


def pty_output(args, cwd, env=None) -> bytes:
    """Runs the CLI in a pseudo-terminal (stdout and stderr both TTYs); its output."""
    pexpect = pytest.importorskip("pexpect")
    command = cli_command(*args)
    child = pexpect.spawn(
        command[0], [os.fsdecode(a) for a in command[1:]], cwd=cwd, env=env, timeout=60
    )
    output = child.read()
    child.close()
    assert child.exitstatus == 0, output
    return output


@pytest.mark.slow
def test_progress_bar_in_a_terminal(big_dataset, tmp_path):
    pytest.importorskip("tqdm")
    output = pty_output(["--jobs", "1", big_dataset], tmp_path)
    assert re.search(rb"\d+%\|", output), output  # tqdm's "NN%|####  |"
    assert b"B/s" in output
    assert output.rstrip().endswith(f"{big_dataset}: OK (4 files)".encode())
    # Every verdict line arrives whole, at the start of a line: the bar (on the same
    # terminal) is cleared before a line is written and drawn again after it.
    for i in range(4):
        line = re.escape(f"{big_dataset}/big-{i}.bin: OK".encode())
        assert re.search(rb"(^|[\r\n])" + line + rb"\r?\n", output), output


@pytest.mark.slow
def test_no_progress_bar_when_piped(big_dataset, tmp_path):
    result = run_cli("--jobs", "1", big_dataset, cwd=tmp_path)
    assert result.returncode == 0
    assert result.stderr == b""
    assert lines(result.stdout) == [f"{big_dataset}/big-{i}.bin: OK" for i in range(4)] + [f"{big_dataset}: OK (4 files)"]


@pytest.mark.slow
@pytest.mark.parametrize("option", ["--quiet", "--status"])
def test_no_progress_bar_when_quiet(big_dataset, tmp_path, option):
    output = pty_output([option, "--jobs", "1", big_dataset], tmp_path)
    assert output == b""


@pytest.mark.slow
def test_no_tqdm_means_no_bar_and_no_error(big_dataset, tmp_path):
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "tqdm.py").write_text("raise ImportError('tqdm is not installed')\n")
    env = dict(os.environ, PYTHONPATH=str(shadow))
    output = pty_output(["--jobs", "1", big_dataset], tmp_path, env=env)
    assert output.decode().splitlines() == [f"{big_dataset}/big-{i}.bin: OK" for i in range(4)] + [f"{big_dataset}: OK (4 files)"]


def test_example_directory_passes(tmp_path):
    """The bundled example the README starts with (only in a source checkout)."""
    example = Path(__file__).resolve().parents[2] / "examples" / "logs"
    if not example.is_dir():
        pytest.skip("no examples/logs here")
    copy = tmp_path / "logs"
    shutil.copytree(example, copy)
    result = run_cli(copy, cwd=tmp_path)
    expected = [f"{copy}/app-{i:02d}.log: OK" for i in range(1, 11)] + [f"{copy}: OK (10 files)"]
    assert (result.returncode, lines(result.stdout)) == (0, expected)


def test_json_lines(dirs, tmp_path):
    """--json: one object per entry, in manifest order, then a summary per target; an
    unusable manifest gives an ERROR summary (and the message on stderr)."""
    import json

    result = run_cli("--json", str(dirs["bad"]), str(dirs["nomanifest"]), cwd=tmp_path)
    assert result.returncode == 2
    objects = [json.loads(line) for line in lines(result.stdout)]
    entries = objects[:10]
    assert [o["line"] for o in entries] == list(range(1, 11))
    assert [o["status"] for o in entries] == [
        "FAILED" if i in (3, 8) else "OK" for i in range(1, 11)
    ]
    bad = entries[2]
    assert bad["path"] == f"{dirs['bad']}/app-03.log"
    assert bad["reason"] == "mismatch" and bad["detail"] == ""
    assert len(bad["expected"]) == 40 and len(bad["actual"]) == 40
    assert bad["expected"] != bad["actual"]
    good = entries[0]
    assert good["reason"] is None and good["expected"] == good["actual"]
    assert objects[10] == {
        "summary": {
            "target": str(dirs["bad"]),
            "status": "FAILED",
            "entries": 10,
            "matched": 8,
            "failed": 2,
            "skipped": 0,
        }
    }
    assert objects[11]["summary"]["status"] == "ERROR"
    assert "cannot read manifest" in objects[11]["summary"]["error"]
    assert len(objects) == 12


def test_json_keeps_non_utf8_names(tmp_path):
    import json

    root = tmp_path / "names"
    root.mkdir()
    name = b"caf\xe9 \"quoted\"\n"
    (root / os.fsdecode(name)).write_bytes(b"x")
    sha1sum(root, [name])
    result = run_cli("--json", str(root), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    entry = json.loads(lines(result.stdout)[0])
    assert os.fsencode(entry["path"]) == os.fsencode(str(root)) + b"/" + name


def test_a_closed_pipe_ends_quietly_as_gnu_does(tmp_path):
    """`checksig DIR | head -1`: killed by SIGPIPE like sha1sum -c, no traceback."""
    root = tmp_path / "many"
    sha1sum(root, write_logs(root, 3000))
    command = " ".join(f"'{part}'" for part in cli_command(root))
    for tool in (command, f"sha1sum -c '{root}/sha1sum.txt'"):
        result = subprocess.run(
            ["bash", "-c", f"cd '{root}' && {tool} | head -1; echo ${{PIPESTATUS[0]}} >&2"],
            capture_output=True,
            timeout=60,
        )
        assert len(lines(result.stdout)) == 1, tool
        assert lines(result.stderr) == ["141"], (tool, result.stderr)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
@pytest.mark.parametrize("options", [[], ["--json"], ["-q"]])
def test_output_that_cannot_be_written_is_an_error_not_a_traceback(tmp_path, options):
    """stdout on a full disk: GNU's `sha1sum -c > /dev/full` says "write error" and
    fails; checksig says so too, with status 2 whatever the files (what it printed is
    incomplete)."""
    root = tmp_path / "bad"
    names = write_logs(root, 3)
    sha1sum(root, names)
    change_signature(root, names[0])  # so that -q has a line to write
    with open("/dev/full", "wb") as full:
        result = subprocess.run(
            cli_command(*options, str(root)),
            cwd=tmp_path,
            stdout=full,
            stderr=subprocess.PIPE,
            timeout=60,
        )
    assert result.returncode == 2, result.stderr
    assert lines(result.stderr) == ["checksig: write error: No space left on device"]


def test_sigterm_stops_like_ctrl_c(big_dataset, tmp_path):
    process = subprocess.Popen(
        cli_command("--jobs", "1", big_dataset),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_checking(process.pid, time.monotonic() + 10)
        time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        _, stderr = process.communicate(timeout=10)
        elapsed = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 143, stderr
    assert elapsed < 2, f"took {elapsed:.2f} s to exit"
    assert re.fullmatch(rb"checksig: interrupted after \d of 4 files \(.*\)\n", stderr), stderr


def test_sigterm_during_create_leaves_nothing_half_written(big_dataset, tmp_path):
    target = tmp_path / "created.sha1"
    process = subprocess.Popen(
        cli_command("--create", "--jobs", "1", "--manifest", target, big_dataset),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_checking(process.pid, time.monotonic() + 10)
        time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 143
    assert not target.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".created.sha1")]
