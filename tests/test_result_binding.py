"""``-o NAME`` binds each magic's result, on the real engine (tests/unit/test_magic_options.py checks the
option itself with no engine)."""

from __future__ import annotations

import pytest

from .conftest import docker_cli


@pytest.mark.engine
@pytest.mark.integration
def test_o_binds_each_result_of_a_containers_life(ipython_shell, unique_name, capsys):
    name = unique_name("dmoptions")
    try:
        shown = ipython_shell.run_line_magic("docker_start", f"-o started busybox --name {name} --network none")
        ns = ipython_shell.user_ns
        assert ns["started"] is shown and ns["started"].name == name and ns["started"].state == "running"
        ipython_shell.run_cell_magic("docker_shell", name, "touch /made-here")
        ipython_shell.run_line_magic("docker_diff", f"{name} -o changes")
        assert "/made-here" in [change.path for change in ns["changes"].added]
        ipython_shell.run_line_magic("docker_ps", "-o running")
        assert name in ns["running"].column("NAMES")
        ipython_shell.run_line_magic("docker_stop", f"-o stopped {name}")
        assert ns["stopped"].name == name and ns["stopped"].state == "exited"
        ipython_shell.run_line_magic("docker_rm", f"-o removed {name}")
        assert ns["removed"].lines == [name]
        assert docker_cli("ps", "-aq", "-f", f"name=^{name}$").stdout.strip() == ""
    finally:
        docker_cli("rm", "-f", name, check=False)


@pytest.mark.engine
@pytest.mark.integration
def test_o_binds_the_images_history_and_engine(ipython_shell, capsys):
    ipython_shell.run_line_magic("docker_images", "-o images")
    ipython_shell.run_line_magic("docker_history", "busybox --no-files -o layers")
    ipython_shell.run_line_magic("docker_info", "-o engine")
    ns = ipython_shell.user_ns
    assert any(row[0] == "busybox" for row in ns["images"].rows)
    assert ns["layers"].image == "busybox" and ns["layers"].layers[0].id == ns["layers"].image_id
    assert ns["engine"].available and ns["engine"].version
