"""binder/ as repo2docker reads it: the files are there, and they install dockmagic, enabled, in a fresh venv."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"


def test_binder_folder_holds_what_repo2docker_reads():
    names = {path.name for path in BINDER.iterdir()}
    # A Dockerfile would make repo2docker ignore every other file.
    assert "Dockerfile" not in names
    assert {"requirements.txt", "postBuild", "runtime.txt"} <= names
    assert os.access(BINDER / "postBuild", os.X_OK)
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
    requirements = (BINDER / "requirements.txt").read_text()
    for package in ("ipywidgets", "anywidget", "docker", "dockerfile-parse", "jupyterlab"):
        assert package in requirements


@pytest.mark.slow
def test_binder_files_install_dockmagic_enabled_in_a_fresh_venv(tmp_path):
    venv = tmp_path / "venv"
    home = tmp_path / "home"
    home.mkdir()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = dict(os.environ, HOME=str(home), PATH=f"{venv / 'bin'}:{os.environ['PATH']}", VIRTUAL_ENV=str(venv))
    env.pop("PYTHONPATH", None)
    install = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "-r", str(BINDER / "requirements.txt"),
                              "setuptools", "wheel"], capture_output=True, text=True, env=env, timeout=900)
    assert install.returncode == 0, install.stderr[-2000:]
    # repo2docker runs postBuild from the repository's root.
    post_build = subprocess.run(["bash", str(BINDER / "postBuild")], cwd=ROOT, capture_output=True, text=True,
                                env=env, timeout=600)
    assert post_build.returncode == 0, post_build.stderr[-2000:]
    # A kernel of that environment has the magics without %load_ext, and the notebooks' first cell works.
    check = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "IPython", "--no-banner", "-c",
         "print(get_ipython().find_cell_magic('dockerfile') is not None); import dockmagic; print(dockmagic.__file__)"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert check.returncode == 0, check.stderr
    lines = check.stdout.split()
    assert lines[0] == "True"
    assert str(venv) in lines[1], "dockmagic was not installed into the Binder environment"
