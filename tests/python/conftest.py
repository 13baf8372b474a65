"""Test setup: the tests exercise the INSTALLED checksig (``pip install .``), never the
source tree's checksig.py, which has no library beside it unless built in place."""

import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _is_source_tree(entry: str) -> bool:
    try:
        return Path(entry or os.getcwd()).resolve() == REPO
    except OSError:
        return False


# `python -m pytest` from the repo puts the cwd (the source tree) first on sys.path;
# drop it so that `import checksig` finds the installed module.
sys.path[:] = [entry for entry in sys.path if not _is_source_tree(entry)]

try:
    import checksig  # noqa: E402
except ImportError as error:
    pytest.exit(
        f"cannot import the installed checksig with {sys.executable}: {error}\n"
        "The tests run against the installed package: run `pip install .` in the "
        "checksig source directory with this Python first (a Rust toolchain is "
        "needed), then `pip install -r requirements-dev.txt`.",
        returncode=4,
    )

from support import BIG_FILE_COUNT, BIG_FILE_MIB, make_big_dataset  # noqa: E402


def pytest_report_header(config):
    return f"checksig {checksig.__version__} from {checksig.__file__}"


@pytest.fixture(scope="session")
def big_dataset(tmp_path_factory):
    """4 files of 512 MiB (real data, not sparse) and their manifest: long enough to
    check (well over a second with jobs=1) that cancellation is exercised mid-check.
    Shared by the session and deleted at its end."""
    root = tmp_path_factory.mktemp("big")
    make_big_dataset(root, BIG_FILE_COUNT, BIG_FILE_MIB)
    yield root
    shutil.rmtree(root, ignore_errors=True)
