"""The manylinux2014 wheels that tools/build-wheels.sh writes: tagged manylinux2014 /
manylinux_2_17, each holding the library named for its interpreter, and a library that
needs nothing from glibc newer than 2.17 (read from its dynamic symbol versions with
readelf and objdump, as the loader on an old distribution would judge it).

Skipped unless CHECKSIG_WHEELHOUSE names the directory of the wheels; tests/run_all.sh
sets it after building the wheels of the oldest and newest Python. CHECKSIG_WHEEL_TAGS
(e.g. "cp38 cp313") names wheels that must be there."""

import os
import platform
import re
import shutil
import subprocess
import sysconfig
import zipfile
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest

import checksig

WHEELHOUSE = os.environ.get("CHECKSIG_WHEELHOUSE")
if not WHEELHOUSE:
    pytest.skip(
        "CHECKSIG_WHEELHOUSE is not set (tests/run_all.sh sets it after tools/build-wheels.sh)",
        allow_module_level=True,
    )

GLIBC_FLOOR = (2, 17)
PLATFORM_TAGS = {"manylinux2014_x86_64", "manylinux_2_17_x86_64"}
# The libraries manylinux2014 lets a wheel take from the system (PEP 599), of which a
# Rust cdylib uses a few.
ALLOWED_LIBS = {
    "libgcc_s.so.1", "libstdc++.so.6", "libm.so.6", "libdl.so.2", "librt.so.1",
    "libc.so.6", "libnsl.so.1", "libutil.so.1", "libpthread.so.0", "libresolv.so.2",
    "libX11.so.6", "libXext.so.6", "libXrender.so.1", "libICE.so.6", "libSM.so.6",
    "libGL.so.1", "libgobject-2.0.so.0", "libgthread-2.0.so.0", "libglib-2.0.so.0",
    "ld-linux-x86-64.so.2",
}
WHEEL_NAME = re.compile(
    r"^checksig-(?P<version>[^-]+)-(?P<python>cp3\d+)-(?P<abi>cp3\d+)-(?P<platforms>[^-]+)\.whl$"
)
GLIBC_VERSION = re.compile(r"\bGLIBC_(\d+(?:\.\d+)+)\b")

Version = Tuple[int, ...]


def wheels() -> List[Path]:
    return sorted(Path(WHEELHOUSE).glob("checksig-*.whl"))


def glibc_versions(text: str) -> Set[Version]:
    """Every GLIBC_x.y[.z] that a readelf or objdump listing names."""
    return {tuple(int(part) for part in v.split(".")) for v in GLIBC_VERSION.findall(text)}


def version_needs(library: Path) -> Dict[str, Set[Version]]:
    """readelf's version needs (.gnu.version_r): for each library depended on, the
    symbol versions the dynamic loader will demand of it."""
    listing = run(["readelf", "--version-info", "--wide", str(library)])
    needs: Dict[str, Set[Version]] = {}
    current = None
    for line in listing.splitlines():
        found = re.search(r"\bFile: (\S+)", line)
        if found:
            current = found.group(1)
            needs.setdefault(current, set())
            continue
        found = re.search(r"\bName: (\S+)", line)
        if found and current is not None:
            needs[current] |= glibc_versions(found.group(1))
    return needs


def run(command: List[str]) -> str:
    if shutil.which(command[0]) is None:
        pytest.fail(f"{command[0]} is needed to read the library's symbol versions (binutils)")
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def newest(versions: Set[Version]) -> Version:
    return max(versions, default=(0,))


def show(version: Version) -> str:
    return ".".join(map(str, version))


def extract_library(wheel: Path, tag: str, into: Path) -> Path:
    name = f"_checksig.cpython-{tag[2:]}-x86_64-linux-gnu.so"
    with zipfile.ZipFile(wheel) as archive:
        archive.extract(name, into)
    return into / name


def test_the_wheelhouse_holds_the_sdist_and_the_wheels():
    names = sorted(p.name for p in Path(WHEELHOUSE).iterdir())
    assert wheels(), f"no checksig-*.whl in {WHEELHOUSE}: {names}"
    assert [n for n in names if n.endswith(".tar.gz")] == [f"checksig-{checksig.__version__}.tar.gz"]
    tags = {WHEEL_NAME.match(w.name).group("python") for w in wheels() if WHEEL_NAME.match(w.name)}
    expected = set(os.environ.get("CHECKSIG_WHEEL_TAGS", "").split())
    assert expected <= tags, f"missing wheels: {sorted(expected - tags)} in {names}"


@pytest.mark.parametrize("wheel", wheels(), ids=lambda w: w.name)
def test_wheel_is_tagged_manylinux2014(wheel):
    found = WHEEL_NAME.match(wheel.name)
    assert found, wheel.name
    assert found.group("version") == checksig.__version__
    assert found.group("python") == found.group("abi")
    assert set(found.group("platforms").split(".")) == PLATFORM_TAGS
    tag = found.group("python")
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(f"checksig-{checksig.__version__}.dist-info/WHEEL").decode()
        top_level = {n for n in archive.namelist() if "/" not in n}
    assert set(re.findall(r"^Tag: (\S+)$", metadata, re.M)) == {
        f"{tag}-{tag}-{platform_tag}" for platform_tag in PLATFORM_TAGS
    }
    assert re.search(r"^Root-Is-Purelib: false$", metadata, re.M)
    # The library keeps the name its interpreter loads (EXT_SUFFIX), beside checksig.py.
    assert top_level == {"checksig.py", f"_checksig.cpython-{tag[2:]}-x86_64-linux-gnu.so"}


@pytest.mark.parametrize("wheel", wheels(), ids=lambda w: w.name)
def test_library_needs_nothing_newer_than_glibc_2_17(wheel, tmp_path):
    tag = WHEEL_NAME.match(wheel.name).group("python")
    library = extract_library(wheel, tag, tmp_path)

    needs = version_needs(library)
    assert set(needs) <= ALLOWED_LIBS, f"libraries outside manylinux2014: {set(needs) - ALLOWED_LIBS}"
    assert "libc.so.6" in needs and needs["libc.so.6"], f"no glibc symbol versions read: {needs}"
    for lib, versions in needs.items():
        assert newest(versions) <= GLIBC_FLOOR, (
            f"{wheel.name}: {lib} needed at GLIBC_{show(newest(versions))}, above the "
            f"GLIBC_{show(GLIBC_FLOOR)} floor: {sorted(map(show, versions))}"
        )

    # The same from the dynamic symbol table: every symbol taken from glibc, by version.
    symbols = run(["objdump", "-T", str(library)])
    versions = glibc_versions(symbols)
    assert versions, "objdump -T shows no GLIBC_ symbol versions"
    too_new = [line.strip() for line in symbols.splitlines()
               if any(v > GLIBC_FLOOR for v in glibc_versions(line))]
    assert too_new == [], f"{wheel.name}: symbols above GLIBC_{show(GLIBC_FLOOR)}: {too_new}"


def test_the_floor_check_catches_a_library_linked_against_this_glibc():
    """The control: the library `pip install .` built here, linked by the plain toolchain
    against this machine's glibc, fails the same check. From glibc 2.34 on, the pthread
    functions every threaded Rust library calls are versioned GLIBC_2.34."""
    libc = platform.libc_ver()
    if libc[0] != "glibc" or tuple(map(int, libc[1].split(".")[:2])) < (2, 34):
        pytest.skip(f"this machine's C library ({libc}) is older than glibc 2.34")
    library = Path(checksig.__file__).with_name("_checksig" + sysconfig.get_config_var("EXT_SUFFIX"))
    assert library.is_file(), library
    needs = version_needs(library)
    assert newest(set().union(*needs.values())) > GLIBC_FLOOR, needs
    assert newest(glibc_versions(run(["objdump", "-T", str(library)]))) > GLIBC_FLOOR
