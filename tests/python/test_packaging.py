"""Packaging, end to end: ``python -m build`` makes the sdist and, from it, the wheel
(isolated builds: pip fetches setuptools, setuptools-rust and wheel, cargo fetches the
crates); each is installed into a fresh venv and used from outside the source tree.

Slow (a release build of the Rust library, twice): set CHECKSIG_SKIP_PACKAGING=1 to
skip it. Both builds share one CARGO_TARGET_DIR, so the dependencies compile once."""

import os
import re
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

import checksig
from support import logs_dir

REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.packaging,
    pytest.mark.skipif(
        os.environ.get("CHECKSIG_SKIP_PACKAGING") == "1",
        reason="CHECKSIG_SKIP_PACKAGING=1",
    ),
]

BUILD_TIMEOUT = 1800


def cargo_version() -> str:
    """Cargo.toml's [package] version: the one version number."""
    section = None
    for line in (REPO / "Cargo.toml").read_text().splitlines():
        header = re.match(r"^\s*\[([^\]]+)\]\s*$", line)
        if header:
            section = header.group(1).strip()
        elif section == "package":
            found = re.match(r'^version\s*=\s*"([^"]+)"', line)
            if found:
                return found.group(1)
    raise AssertionError("no [package] version in Cargo.toml")


@pytest.fixture(scope="module")
def build_env(tmp_path_factory):
    target = tmp_path_factory.mktemp("cargo-target")
    env = dict(os.environ, CARGO_TARGET_DIR=str(target))
    env.setdefault("CARGO_BUILD_JOBS", "1")
    env.pop("PYTHONPATH", None)
    return env


@pytest.fixture(scope="module")
def dists(tmp_path_factory, build_env):
    """The sdist and the wheel, built by ``python -m build`` (wheel from the sdist)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(REPO)],
        env=build_env,
        check=True,
        timeout=BUILD_TIMEOUT,
    )
    version = cargo_version()
    sdist = out / f"checksig-{version}.tar.gz"
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    wheel = out / f"checksig-{version}-{tag}-{tag}-{platform}.whl"
    assert sorted(p.name for p in out.iterdir()) == sorted([sdist.name, wheel.name])
    return {"sdist": sdist, "wheel": wheel}


def test_version_is_cargo_toml_version():
    assert checksig.__version__ == cargo_version()


def test_wheel_holds_only_the_module_and_the_library(dists):
    version = cargo_version()
    with zipfile.ZipFile(dists["wheel"]) as wheel:
        names = wheel.namelist()
    library = "_checksig" + sysconfig.get_config_var("EXT_SUFFIX")
    assert {"checksig.py", library} == {n for n in names if "/" not in n}
    assert all(
        n in ("checksig.py", library) or n.startswith(f"checksig-{version}.dist-info/")
        for n in names
    ), names
    assert f"checksig-{version}.dist-info/entry_points.txt" in names


def test_sdist_holds_the_sources_and_no_junk(dists):
    with tarfile.open(dists["sdist"]) as sdist:
        names = sdist.getnames()
    top = f"checksig-{cargo_version()}/"
    assert all(n.startswith(top) or n == top.rstrip("/") for n in names), names
    inside = {n[len(top):] for n in names if n.startswith(top)}
    needed = {
        "Cargo.toml",
        "Cargo.lock",
        "cbindgen.toml",
        "pyproject.toml",
        "setup.py",
        "MANIFEST.in",
        "checksig.py",
        "include/checksig.h",
        "tests/python/conftest.py",
        "examples/logs/sha1sum.txt",
    }
    # Every Rust source, wherever the modules are.
    needed |= {str(p.relative_to(REPO)) for p in (REPO / "src").rglob("*.rs")}
    assert "src/lib.rs" in needed
    if (REPO / "README.md").exists():
        needed.add("README.md")
    assert needed <= inside, needed - inside
    junk = [
        n
        for n in inside
        if re.match(r"(target|build|dist|\.venv|\.ci|\.git)(/|$)", n)
        or n.endswith((".so", ".pyc", ".o"))
        or "__pycache__" in n
    ]
    assert junk == []


def make_venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=300)
    return path / "bin"


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_install_into_a_fresh_venv(kind, dists, build_env, tmp_path):
    bin_dir = make_venv(tmp_path / "venv")
    subprocess.run(
        [str(bin_dir / "pip"), "install", "--no-cache-dir", str(dists[kind])],
        env=build_env,
        cwd=tmp_path,
        check=True,
        timeout=BUILD_TIMEOUT,
    )
    good = logs_dir(tmp_path / "good")
    bad = logs_dir(tmp_path / "bad", broken=["app-02.log"])
    script = (
        "import sys, checksig\n"
        "assert checksig.__file__.startswith(sys.prefix), checksig.__file__\n"
        "checksig.check_signatures(sys.argv[1])\n"
        "try:\n"
        "    checksig.check_signatures(sys.argv[2])\n"
        "except ValueError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run(
        [str(bin_dir / "python"), "-c", script, str(good), str(bad)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f'"{bad}/app-02.log" - mismatch\n'
    cli = subprocess.run(
        [str(bin_dir / "checksig"), "--quiet", str(good)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (cli.returncode, cli.stdout) == (0, "")
