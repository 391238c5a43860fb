"""The options several magics share mean the same in each: ``-o NAME`` binds the result (and a NAME Python
cannot bind is refused before anything is sent), ``--network``, ``-e``, ``-v`` and ``--record`` read alike in
every ``%magic?`` help. With no engine; tests/test_result_binding.py checks the binding on the real engine."""

from __future__ import annotations

import pytest

from dockmagic.errors import DockmagicError, InvalidInput

# Each magic that has a result, with a line that is otherwise valid after its -o NAME.
MAGICS_WITH_A_RESULT = {
    "dockerfile": ("cell", "", "FROM busybox\n"),
    "docker_replay": ("line", "recording.jsonl", None),
    "docker_run": ("line", "busybox true", None),
    "docker_start": ("line", "busybox", None),
    "docker_stop": ("line", "some-container", None),
    "docker_rm": ("line", "some-container", None),
    "docker_ps": ("line", "-a", None),
    "docker_images": ("line", "", None),
    "docker_rmi": ("line", "some-image", None),
    "docker_commit": ("line", "some-container some-image", None),
    "docker_history": ("line", "busybox", None),
    "docker_diff": ("line", "some-container", None),
    "docker_dockerfile": ("line", "some-container", None),
    "docker_info": ("line", "", None),
}
NETWORK_MAGICS = ["dockerfile", "docker_run", "docker_start", "docker_dockerfile"]
ENVIRONMENT_MAGICS = ["docker_run", "docker_start"]
RECORD_MAGICS = ["dockerfile", "docker_diff"]


def run_magic(shell, name: str, line: str):
    kind, rest, cell = MAGICS_WITH_A_RESULT[name]
    line = f"{line} {rest}".strip()
    if kind == "cell":
        return shell.run_cell_magic(name, line, cell)
    return shell.run_line_magic(name, line)


def help_text(shell, capsys, name: str) -> str:
    """What ``%name?`` shows."""
    capsys.readouterr()
    prefix = "%%" if MAGICS_WITH_A_RESULT[name][0] == "cell" else "%"
    shell.run_line_magic("pinfo", f"{prefix}{name}")
    return " ".join(capsys.readouterr().out.split())


@pytest.fixture
def no_engine(monkeypatch):
    """No engine answers: a magic that got past its options would fail with EngineUnavailable instead."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/dockmagic-no-engine-for-options.sock")


@pytest.mark.parametrize("name", sorted(MAGICS_WITH_A_RESULT))
@pytest.mark.parametrize("bad_name", ["1-not-a-name", "class", "./Dockerfile"])
def test_o_that_python_cannot_bind_is_refused_first_in_every_magic(ipython_shell, no_engine, name, bad_name):
    with pytest.raises(DockmagicError) as refused:
        run_magic(ipython_shell, name, f"-o {bad_name}")
    message = str(refused.value)
    assert type(refused.value) is InvalidInput
    assert message.startswith(f"-o {bad_name!r} is not a Python name to bind the result to:")
    assert "\n" not in message and "e.g. -o result." in message
    assert bad_name not in ipython_shell.user_ns


def test_dockerfile_check_refuses_a_bad_o_too(ipython_shell):
    with pytest.raises(DockmagicError, match="-o '1-not-a-name' is not a Python name"):
        ipython_shell.run_cell_magic("dockerfile", "--check -o 1-not-a-name", "FROM busybox\n")


def test_session_dockerfile_points_a_path_given_to_o_at_file(ipython_shell, no_engine):
    with pytest.raises(DockmagicError, match=r"To write a file, give its path with --file PATH\.$"):
        ipython_shell.run_line_magic("docker_dockerfile", "play -o /tmp/Dockerfile")


@pytest.mark.parametrize("name", sorted(MAGICS_WITH_A_RESULT))
def test_every_help_shows_o_with_the_same_meaning(ipython_shell, capsys, name):
    shown = help_text(ipython_shell, capsys, name)
    assert "-o NAME, --out NAME Bind " in shown
    assert "to the Python name NAME in the notebook." in shown


@pytest.mark.parametrize("name", NETWORK_MAGICS)
def test_network_reads_alike_in_every_help(ipython_shell, capsys, name):
    shown = help_text(ipython_shell, capsys, name)
    assert "--network MODE" in shown
    assert "(host, none, a network's name, ...). Default: %config DockMagic.network" in shown


@pytest.mark.parametrize("name", ENVIRONMENT_MAGICS)
def test_env_and_volume_read_alike_in_every_help(ipython_shell, capsys, name):
    shown = help_text(ipython_shell, capsys, name)
    assert "-e <K=V>, --env <K=V> Set an environment variable (repeatable); -e K alone passes" in shown
    assert "-v <SRC:DST[:ro]>, --volume <SRC:DST[:ro]> Mount a folder or volume (repeatable)" in shown


@pytest.mark.parametrize("name", RECORD_MAGICS)
def test_record_reads_alike_in_every_help(ipython_shell, capsys, name):
    shown = help_text(ipython_shell, capsys, name)
    assert "--record FILE Also save" in shown and "to FILE (JSON lines), for %docker_replay." in shown


def test_session_dockerfile_help_names_file_for_the_path(ipython_shell, capsys):
    shown = help_text(ipython_shell, capsys, "docker_dockerfile")
    assert "--file PATH Write the Dockerfile to PATH." in shown


def test_o_binds_the_dockerfile_check(ipython_shell, capsys):
    ipython_shell.run_cell_magic("dockerfile", "--check -o checked", "FROM busybox\nRUN apt-get install figlet\n")
    checked = ipython_shell.user_ns["checked"]
    assert not checked.ok and "-y" in str(checked)
