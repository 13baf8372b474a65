"""One manifest checked across a Dask cluster: a real ``distributed.LocalCluster`` of
two worker processes. The report must be ``check()``'s, whatever the parts; a manifest
error is raised as ``check()`` raises it; a worker killed mid-check costs a retry, not
a wrong report; cancelling stops the parts; the CLI runs against the cluster."""

import os
import signal
import subprocess
import sys
import time

import pytest

import checksig
from support import cli_command, logs_dir, sha1sum, write_logs

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """300 logs with spaces in their names, comments between lines, three missing
    files and four mismatches spread over the manifest."""
    root = tmp_path_factory.mktemp("tree")
    names = [f"log {i:03d}.txt" for i in range(300)]
    for i, name in enumerate(names):
        (root / name).write_text(f"line of log {i}\n" * (i % 13 + 1))
    sha1sum(root, names)
    text = (root / "sha1sum.txt").read_text().splitlines(keepends=True)
    for at in (250, 120, 10):
        text.insert(at, "# a comment, and an empty line\n\n")
    (root / "sha1sum.txt").write_text("".join(text))
    for i in (5, 140, 299):
        os.remove(root / names[i])
    for i in (0, 77, 150, 222):
        (root / names[i]).write_text("tampered\n")
    return root


def same_report(got, expected):
    assert got.ok == expected.ok
    assert (got.entries, got.matched, got.failed, got.skipped) == (
        expected.entries, expected.matched, expected.failed, expected.skipped
    )
    assert got.failures == expected.failures
    assert got.message == expected.message
    assert got.matches == expected.matches


@pytest.mark.parametrize("parts", [1, 3, 8, 50])
def test_same_report_as_check(client, tree, parts):
    expected = checksig.check(tree, list_matches=True)
    assert len(expected.failures) == 7
    got = checksig.check_distributed(tree, client, parts=parts, list_matches=True)
    same_report(got, expected)


def test_good_tree_and_defaults(client, tmp_path):
    root = logs_dir(tmp_path / "good")
    seen = []
    with client.as_current():
        report = checksig.check_distributed(root, progress=seen.append)
    assert report.ok and report.matched == 10
    assert seen and seen[-1].files_done == 10 and seen[-1].bytes_done > 0


def test_ignore_missing_and_nothing_verified(client, tmp_path):
    root = logs_dir(tmp_path / "logs", count=4)
    os.remove(root / "app-02.log")
    report = checksig.check_distributed(root, client, ignore_missing=True, parts=4)
    same_report(report, checksig.check(root, ignore_missing=True))
    for name in ("app-01.log", "app-03.log", "app-04.log"):
        os.remove(root / name)
    with pytest.raises(checksig.ManifestError) as local:
        checksig.check(root, ignore_missing=True)
    with pytest.raises(checksig.ManifestError) as remote:
        checksig.check_distributed(root, client, ignore_missing=True, parts=4)
    assert str(remote.value) == str(local.value)


GOOD_LINES = "".join(f"{'0' * 40}  file {i}\n" for i in range(300))


@pytest.mark.parametrize(
    "text",
    [
        "not a checksum line\n",
        "",
        f"{'0' * 40}  a\n{'0' * 40} b\n",
        # Bad lines past the first ones: found by the parts that hold them, and the
        # first in the manifest is the error, whichever part finishes first.
        f"{GOOD_LINES}not a checksum line\n{GOOD_LINES}",
        f"{GOOD_LINES}{GOOD_LINES}{'0' * 40} single space\n",
        f"{GOOD_LINES}bad one\n{GOOD_LINES}{GOOD_LINES}bad two\n",
    ],
)
@pytest.mark.parametrize("parts", [None, 3, 8])
def test_manifest_errors_are_checks_errors(client, tmp_path, text, parts):
    (tmp_path / "sha1sum.txt").write_text(text)
    with pytest.raises(checksig.ManifestError) as local:
        checksig.check(tmp_path)
    with pytest.raises(checksig.ManifestError) as remote:
        checksig.check_distributed(tmp_path, client, parts=parts)
    assert str(remote.value) == str(local.value)


def test_workers_see_the_data_where_path_map_says(client, tree, tmp_path):
    """The workers check the copy the map points them to, and the report names the
    paths as check() names them here: a copy with one more file changed proves which
    tree the workers read."""
    import shutil

    there = tmp_path / "as the workers see it"
    shutil.copytree(tree, there)
    (there / "log 042.txt").write_text("changed on the workers' side\n")
    expected = checksig.check(there, list_matches=True)
    got = checksig.check_distributed(
        tree, client, parts=5, list_matches=True, path_map={tree: there}
    )
    assert [f.line for f in got.failures] == [f.line for f in expected.failures]
    here = os.fsencode(tree)
    assert all(f.path_bytes.startswith(here + b"/") for f in got.failures + got.matches)
    assert any(f.path.endswith("log 042.txt") for f in got.failures)
    # The longest key that holds the root applies; a root under none is refused.
    longest = {str(tree.parent): "/nonexistent", str(tree): str(there)}
    again = checksig.check_distributed(tree, client, parts=3, path_map=longest)
    assert again.failures == got.failures
    with pytest.raises(ValueError, match="under none"):
        checksig.check_distributed(tree, client, path_map={"/elsewhere": str(there)})


def test_a_relative_root_is_the_clients(client, tree, monkeypatch):
    """Workers have their own working directory: they get the root made absolute, and
    the report keeps the root as given, as check() does."""
    monkeypatch.chdir(tree.parent)
    relative = tree.name
    same_report(
        checksig.check_distributed(relative, client, parts=4, list_matches=True),
        checksig.check(relative, list_matches=True),
    )


def big_tree(root, count=24, mib=16):
    root.mkdir()
    names = []
    block = os.urandom(1 << 20)
    for i in range(count):
        name = f"big-{i:02d}.bin"
        with open(root / name, "wb") as f:
            for _ in range(mib):
                f.write(block)
            f.write(bytes([i]))
        names.append(name)
    sha1sum(root, names)
    return root


def test_a_worker_killed_mid_check_costs_a_retry_not_a_wrong_report(client, tmp_path):
    root = big_tree(tmp_path / "big")
    (root / "big-07.bin").write_bytes(b"changed")
    expected = checksig.check(root)
    pids = client.run(os.getpid)
    killed = []

    def kill_one_worker(progress):
        if not killed:
            pid = next(iter(pids.values()))
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    got = checksig.check_distributed(
        root, client, parts=24, readers=1, progress=kill_one_worker
    )
    assert killed
    same_report(got, expected)
    client.wait_for_workers(2, timeout=60)
    assert killed[0] not in client.run(os.getpid).values()


def test_cancelling_stops_the_parts(client, tmp_path):
    root = big_tree(tmp_path / "cancel", count=12, mib=32)

    def interrupt(progress):
        raise KeyboardInterrupt

    # Ctrl-C as the first part finishes: the parts not started are cancelled, so far
    # fewer than 12 ever run (each takes a single reader tens of milliseconds).
    with distributed.get_task_stream(client) as stream:
        with pytest.raises(KeyboardInterrupt):
            checksig.check_distributed(
                root, client, parts=12, jobs=1, readers=1, progress=interrupt
            )
        deadline = time.monotonic() + 30
        while any(client.processing().values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(client.processing().values())
        time.sleep(0.5)  # the last task records reach the stream
    ran = [task for task in stream.data if "_check_part" in str(task["key"])]
    assert 1 <= len(ran) < 12, f"{len(ran)} of 12 parts ran"


def test_cli_against_the_cluster(client, tree, tmp_path):
    address = client.scheduler.address
    local = subprocess.run(cli_command(tree), cwd=tmp_path, capture_output=True)
    remote = subprocess.run(
        cli_command("--scheduler", address, tree), cwd=tmp_path, capture_output=True
    )
    assert remote.returncode == local.returncode == 1
    assert remote.stdout == local.stdout
    quiet = subprocess.run(
        cli_command("--scheduler", address, "-q", tree), cwd=tmp_path, capture_output=True
    )
    assert quiet.stdout.count(b"FAILED") == 7 and b": OK" not in quiet.stdout
    # Every output form is the local one, byte for byte: the JSON objects with their
    # digests and the SKIPPED entries among them.
    outputs = {}
    for options in (("-q",), ("--status",), ("--ignore-missing",), ("--json",),
                    ("--json", "--ignore-missing")):
        local = subprocess.run(cli_command(*options, tree), cwd=tmp_path, capture_output=True)
        remote = subprocess.run(
            cli_command("--scheduler", address, *options, tree), cwd=tmp_path,
            capture_output=True,
        )
        assert (remote.returncode, remote.stdout) == (local.returncode, local.stdout), options
        outputs[options] = remote.stdout
    assert outputs[("--json", "--ignore-missing")].count(b'"status": "SKIPPED"') == 3
    assert outputs[("--json",)].count(b'"status": "OK"') == 300 - 7
    missing = subprocess.run(
        cli_command("--scheduler", address, tmp_path / "nowhere"),
        cwd=tmp_path, capture_output=True,
    )
    assert missing.returncode == 2
    assert b"cannot open root directory" in missing.stderr


def test_cli_path_map(client, tree, tmp_path):
    import shutil

    address = client.scheduler.address
    there = tmp_path / "copy"
    shutil.copytree(tree, there)
    local = subprocess.run(cli_command(tree), cwd=tmp_path, capture_output=True)
    mapped = subprocess.run(
        cli_command("--scheduler", address, "--path-map", f"{tree}={there}", tree),
        cwd=tmp_path, capture_output=True,
    )
    assert mapped.returncode == local.returncode == 1
    assert mapped.stdout == local.stdout
    for args, message in [
        (["--path-map", f"{tree}={there}", tree], b"--path-map is for --scheduler"),
        (["--scheduler", address, "--path-map", "no-equals", tree], b"HERE=THERE"),
        (["--scheduler", address, "--path-map", f"/elsewhere={there}", tree], b"under none"),
    ]:
        refused = subprocess.run(cli_command(*args), cwd=tmp_path, capture_output=True)
        assert refused.returncode == 2, refused
        assert message in refused.stderr, refused.stderr


def test_cli_error_paths_print_as_a_local_check(client, tmp_path):
    """What a check prints before it fails as a whole (every listed file missing under
    --ignore-missing: the SKIPPED verdicts, then the error), and a manifest option the
    library refuses, are the local output byte for byte too."""
    address = client.scheduler.address
    root = tmp_path / "gone"
    root.mkdir()
    (root / "sha1sum.txt").write_text("".join(f"{'0' * 40}  missing-{i}\n" for i in range(3)))
    outputs = {}
    for options in (("--json", "--ignore-missing"), ("--ignore-missing",),
                    ("--json", "--manifest", "")):
        local = subprocess.run(cli_command(*options, root), cwd=tmp_path, capture_output=True)
        remote = subprocess.run(
            cli_command("--scheduler", address, *options, root), cwd=tmp_path,
            capture_output=True,
        )
        assert (remote.returncode, remote.stdout) == (local.returncode, local.stdout), options
        assert remote.returncode == 2, options
        outputs[options] = remote.stdout
    assert outputs[("--json", "--ignore-missing")].count(b'"status": "SKIPPED"') == 3
    assert b'"status": "ERROR"' in outputs[("--json", "--ignore-missing")]
    assert b'"status": "ERROR"' in outputs[("--json", "--manifest", "")]


def test_a_part_of_a_manifest_changed_since_the_split_fails(tmp_path):
    """Each part carries the manifest's size and time of modification: one rewritten
    between the split and a worker's check (a line more, renamed into place) fails the
    part, where the new line would have been checked by no part: a false OK."""
    names = write_logs(tmp_path, 20)
    sha1sum(tmp_path, names)
    root = os.fsencode(tmp_path)
    options = checksig._options(None, None, None, None, False)
    parts, algorithm, form = checksig._split_manifest(root, options, 2)
    assert len(parts) == 2
    (tmp_path / "bad.log").write_text("bad\n")
    text = (tmp_path / "sha1sum.txt").read_text() + f"{'0' * 40}  bad.log\n"
    (tmp_path / "sha1sum.new").write_text(text)
    os.replace(tmp_path / "sha1sum.new", tmp_path / "sha1sum.txt")
    settings = {"manifest": None, "jobs": None, "readers": None, "ignore_missing": False,
                "list_matches": False, "shown_root": None}
    for part in parts:
        report, _, _, error = checksig._check_part(part, root, settings, algorithm, form)
        assert report is None
        assert error.endswith("changed since it was split into parts: split it again"), error
