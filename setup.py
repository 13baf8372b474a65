"""Builds checksig: the Rust library (via cargo, driven by setuptools-rust) installed as
``_checksig<EXT_SUFFIX>`` beside the pure-Python module ``checksig.py``.

    pip install .                         # build and install (needs a Rust toolchain)
    python -m build                       # sdist and wheel into dist/
    python setup.py build_ext --inplace   # the library beside checksig.py, for hacking

The one version number is Cargo.toml's ``[package] version``.
"""

import os
import re
import shutil

from setuptools import setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import PlatformError
from setuptools_rust import Binding, RustExtension

HERE = os.path.dirname(os.path.abspath(__file__))


def cargo_version() -> str:
    """The ``version = "..."`` of Cargo.toml's ``[package]`` section."""
    section = None
    with open(os.path.join(HERE, "Cargo.toml"), encoding="utf-8") as cargo_toml:
        for line in cargo_toml:
            header = re.match(r"^\s*\[([^\]]+)\]\s*$", line)
            if header:
                section = header.group(1).strip()
                continue
            if section == "package":
                found = re.match(r'^version\s*=\s*"([^"]+)"', line)
                if found:
                    return found.group(1)
    raise RuntimeError("no version in the [package] section of Cargo.toml")


def long_description() -> str:
    """README.md, when there is one."""
    path = os.path.join(HERE, "README.md")
    if not os.path.exists(path):
        return ""
    with open(path, encoding="utf-8") as readme:
        return readme.read()


class build_ext_needing_cargo(build_ext):  # type: ignore[misc]
    """build_ext that says plainly what is missing when there is no Rust toolchain.

    setuptools-rust wraps this class and builds the Rust extension after its run()."""

    def run(self) -> None:
        cargo = os.environ.get("CARGO", "cargo")
        if shutil.which(cargo) is None:
            raise PlatformError(
                f"checksig: `{cargo}` was not found on PATH. Building checksig compiles "
                "its Rust library, which needs a Rust toolchain: install one with rustup "
                "(https://rustup.rs, then open a new shell or `source ~/.cargo/env`), "
                "or from your system's packages (e.g. `apt-get install cargo`), and "
                "run the install again."
            )
        super().run()


setup(
    name="checksig",
    version=cargo_version(),
    description="Verify a directory against its checksum manifest (sha1sum, sha256sum, "
    "md5sum, b2sum, b3sum, cksum), in parallel "
    "(Rust engine, ctypes wrapper, CLI)",
    long_description=long_description(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.8",
    py_modules=["checksig"],
    # The CLI's progress bar. The library itself needs nothing beyond the stdlib, and
    # the CLI runs without tqdm too (no bar then).
    install_requires=["tqdm>=4.60"],
    # check_distributed and `checksig --scheduler`: one manifest across a Dask cluster.
    # Imported lazily: `import checksig` never needs it.
    extras_require={"dask": ["distributed>=2022.1"]},
    rust_extensions=[
        RustExtension(
            # NoBinding: a plain C-ABI cdylib, loaded with ctypes. Installed at the top
            # level as _checksig<EXT_SUFFIX>, beside checksig.py.
            "_checksig",
            path="Cargo.toml",
            binding=Binding.NoBinding,
            py_limited_api=False,
            debug=False,
        )
    ],
    cmdclass={"build_ext": build_ext_needing_cargo},
    entry_points={"console_scripts": ["checksig = checksig:main"]},
    zip_safe=False,
    classifiers=[
        "Programming Language :: Python :: 3",
        "Programming Language :: Rust",
        "Operating System :: POSIX",
        "Topic :: System :: Archiving",
        "Topic :: Utilities",
    ],
)
