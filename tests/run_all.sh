#!/usr/bin/env bash
# The whole test suite, as the README gives it and as CI runs it (.ci/run):
# formatting, lints, the Rust tests (with the C program under valgrind and the
# differential test against GNU sha1sum), then the Python package installed into its
# own venv and its pytest suite (CLI, threads, Ctrl-C, wheel and sdist installs), then
# the manylinux2014 wheels of the oldest and newest supported Python (3.8, 3.13), each
# installed into a fresh venv of its Python and put through the API and CLI tests, and
# their libraries checked against the glibc 2.17 floor.
#
# It relies on nothing left on the machine but a Rust toolchain and Python 3: what
# else it needs it installs (rustup components, pip packages into the venv, and, as
# root on Debian, valgrind).
#
# Environment: VENV (default .venv) is the virtualenv used; CHECKSIG_SKIP_PACKAGING=1
# skips the slow wheel/sdist build-and-install test. A Python missing for the wheel
# tests (tools/find-python finds none) is a warning, and its tests are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain"
command -v cargo >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs)" >&2; exit 1; }
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    rustup component add rustfmt clippy
fi
# The oracles and tools the tests run: valgrind, gcc, GNU coreutils (sha1sum ...
# sha512sum, md5sum, b2sum, cksum) and b3sum, each from its Debian package.
missing=()
for tool in valgrind:valgrind gcc:gcc sha1sum:coreutils b2sum:coreutils cksum:coreutils b3sum:b3sum; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "required: ${missing[*]} (apt-get install ${missing[*]})" >&2
        exit 1
    fi
fi
cargo --version; python3 --version; valgrind --version; b3sum --version

step "cargo fmt --check"
cargo fmt --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --locked -- -D warnings

step "cargo test (parser, engine, GNU differential, header drift, C program under valgrind)"
cargo test --locked

step "python: venv, install, pytest"
VENV="${VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -r requirements-dev.txt
"$VENV/bin/python" -m pip install --quiet --force-reinstall --no-deps .
# The pytest script, not `python -m pytest`: that would put the source tree first on
# sys.path, and the tests must import the installed module.
"$VENV/bin/pytest" -p no:cacheprovider -q tests/python

step "wheels: manylinux2014 wheels of the oldest and newest Python, each tested in a fresh venv"
WHEEL_PYTHONS=(3.8 3.13)
WHEELHOUSE_TEST=build/test-wheelhouse
found=()
for version in "${WHEEL_PYTHONS[@]}"; do
    if tools/find-python "$version" >/dev/null; then
        found+=("$version")
    else
        printf 'WARNING: no usable CPython %s on this machine (tools/find-python): its wheel is not built or tested\n' "$version" >&2
    fi
done
if [ ${#found[@]} = 0 ]; then
    printf 'WARNING: none of %s found: the wheel tests are skipped\n' "${WHEEL_PYTHONS[*]}" >&2
else
    WHEELHOUSE="$WHEELHOUSE_TEST" tools/build-wheels.sh "${found[@]}"
    tags=()
    for version in "${found[@]}"; do
        tag="cp${version/./}"
        tags+=("$tag")
        wheel=("$WHEELHOUSE_TEST"/checksig-*-"$tag-$tag"-*.whl)
        step "$tag: install ${wheel[0]##*/} into a fresh venv, then the API and CLI tests"
        venv="build/test-venvs/$tag"
        rm -rf "$venv"
        "$(tools/find-python "$version")" -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet "${wheel[0]}" pytest pexpect
        # The venv's pytest script, so that the tests import the installed wheel.
        CHECKSIG_SKIP_PACKAGING=1 "$venv/bin/pytest" -p no:cacheprovider -q \
            tests/python/test_api.py tests/python/test_cli.py tests/python/test_create.py
    done
    step "wheels: tags, library names and the glibc 2.17 floor (readelf, objdump)"
    CHECKSIG_WHEELHOUSE="$WHEELHOUSE_TEST" CHECKSIG_WHEEL_TAGS="${tags[*]}" \
        "$VENV/bin/pytest" -p no:cacheprovider -q tests/python/test_wheels.py
fi
