"""One source for the version: setup.cfg, read through the package metadata (or, in a source tree never
installed, from setup.cfg itself)."""

from __future__ import annotations

import configparser
import pathlib
import shutil
import subprocess
import sys
from importlib import metadata

import dockmagic

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Imports dockmagic from the folder given, as if the distribution were not installed.
UNINSTALLED = """
import sys
from importlib import metadata

def not_installed(name):
    raise metadata.PackageNotFoundError(name)

metadata.version = not_installed
sys.path.insert(0, sys.argv[1])
import dockmagic
assert dockmagic.__file__.startswith(sys.argv[1]), dockmagic.__file__
print(dockmagic.__version__)
"""


def setup_cfg_version() -> str:
    setup = configparser.ConfigParser(interpolation=None)
    setup.read(ROOT / "setup.cfg", encoding="utf-8")
    return setup["metadata"]["version"]


def version_uninstalled(tree: pathlib.Path) -> str:
    done = subprocess.run([sys.executable, "-c", UNINSTALLED, str(tree)], capture_output=True, text=True,
                          cwd=tree, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_version_is_the_installed_distribution_s():
    assert dockmagic.__version__ == metadata.version("dockmagic") == setup_cfg_version()
    assert "__version__ = \"" not in (ROOT / "dockmagic" / "__init__.py").read_text()  # no second copy


def test_a_source_tree_never_installed_reads_setup_cfg():
    assert version_uninstalled(ROOT) == setup_cfg_version()


def test_without_metadata_or_setup_cfg_the_version_says_unknown(tmp_path):
    shutil.copytree(ROOT / "dockmagic", tmp_path / "dockmagic", ignore=shutil.ignore_patterns("__pycache__"))
    assert version_uninstalled(tmp_path) == "0+unknown"
