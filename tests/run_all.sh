#!/usr/bin/env bash
# The whole test suite, as the README gives it and as CI runs it (.ci/run):
# formatting, lints, the Rust tests (with the C program under valgrind and the
# differential test against GNU sha1sum), then the Python package installed into its
# own venv and its pytest suite (CLI, threads, Ctrl-C, wheel and sdist installs).
#
# It relies on nothing left on the machine but a Rust toolchain and Python 3: what
# else it needs it installs (rustup components, pip packages into the venv, and, as
# root on Debian, valgrind).
#
# Environment: VENV (default .venv) is the virtualenv used; CHECKSIG_SKIP_PACKAGING=1
# skips the slow wheel/sdist build-and-install test.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain"
command -v cargo >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs)" >&2; exit 1; }
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    rustup component add rustfmt clippy
fi
for tool in valgrind gcc sha1sum; do
    if ! command -v "$tool" >/dev/null; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            apt-get update -qq && apt-get install -y -qq valgrind gcc coreutils >/dev/null
        else
            echo "$tool is required (apt-get install valgrind gcc coreutils)" >&2
            exit 1
        fi
    fi
done
cargo --version; python3 --version; valgrind --version

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
