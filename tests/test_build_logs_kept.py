"""``DockMagic.build_logs_kept`` on the real engine: the build logs on disk stay bounded."""

from __future__ import annotations

import inspect
import os

import pytest

from dockmagic.operations.build import build

from .conftest import docker_cli


@pytest.mark.engine
@pytest.mark.integration
@pytest.mark.skipif("keep_build_logs" not in inspect.signature(build).parameters,
                    reason="the build operation does not take keep_build_logs yet")
def test_build_logs_kept_bounds_the_build_logs_on_disk(ipython_shell, settings, tmp_path, unique_name, capsys):
    ipython_shell.run_line_magic("config", f'DockMagic.log_dir = "{tmp_path}"')
    ipython_shell.run_line_magic("config", "DockMagic.build_logs_kept = 2")
    tag = unique_name("dmlogs")
    try:
        for number in range(4):  # the tag in the step: no build of an earlier run comes from the cache
            ipython_shell.run_cell_magic("dockerfile", f"--quiet -t {tag}", f"FROM busybox\nRUN echo {tag}-{number}\n")
        # After a build, the logs of that build and of the one before it are all that is left.
        kept = sorted(os.listdir(tmp_path))
        assert len(kept) == 2
        assert f"{tag}-3" in "".join((tmp_path / folder / name).read_text() for folder in kept
                                     for name in os.listdir(tmp_path / folder))
        # A fully cached rebuild prints nothing: it makes no folder, and removes none.
        ipython_shell.run_cell_magic("dockerfile", f"--quiet -t {tag}", f"FROM busybox\nRUN echo {tag}-3\n")
        assert sorted(os.listdir(tmp_path)) == kept
    finally:
        docker_cli("rmi", "-f", tag, check=False)
