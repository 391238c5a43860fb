"""%docker_run, %docker_start, %docker_stop, %docker_rm, %docker_ps, %docker_images, %docker_rmi on the
real engine: what the user sees (printed output, tables, error messages) and what is left behind."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
import tracemalloc

import pytest

from dockmagic.errors import ContainerError, DockmagicError, NotFound
from dockmagic.operations import containers

from .conftest import docker_cli

pytestmark = [pytest.mark.engine, pytest.mark.integration]


def left_behind(before: set[str], now: set[str]) -> set[str]:
    """Containers made since ``before`` that dockmagic made (they carry its label). Other engineers' tests
    create and remove containers on the same engine meanwhile, so the whole list is not compared."""
    made = now - before
    ours = set()
    for container_id in made:
        labels = docker_cli("inspect", "-f", "{{json .Config.Labels}}", container_id, check=False).stdout
        if '"dockmagic"' in labels:
            ours.add(container_id)
    return ours


def after_seconds(seconds: float, action) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(seconds), action()), daemon=True)
    thread.start()
    return thread


def interrupt_main_thread():
    signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)


# --- %docker_run ---------------------------------------------------------------------------------

def test_run_prints_only_the_programs_output_and_removes_the_container(ipython_shell, capfd, all_container_ids):
    before = all_container_ids()
    returned = ipython_shell.run_line_magic("docker_run", "busybox echo hello 'big world'")
    out, err = capfd.readouterr()
    assert returned is None
    assert out == "hello big world\n"
    assert err == ""
    assert not left_behind(before, all_container_ids())


def test_run_streams_stdout_and_stderr_apart_and_fails_with_the_exit_code(ipython_shell, capfd,
                                                                         all_container_ids):
    before = all_container_ids()
    with pytest.raises(ContainerError) as raised:
        ipython_shell.run_line_magic("docker_run", "-o res busybox sh -c 'echo to-out; echo to-err >&2; exit 3'")
    out, err = capfd.readouterr()
    assert out == "to-out\n"
    assert err == "to-err\n"
    assert raised.value.exit_code == 3
    assert str(raised.value) == "sh -c 'echo to-out; echo to-err >&2; exit 3' in busybox exited with code 3."
    result = ipython_shell.user_ns["res"]
    assert result.exit_code == 3
    assert "to-out\n" in result.output and "to-err\n" in result.output
    assert len(result.container_id) == 64
    assert not left_behind(before, all_container_ids())


def test_run_keeps_colours_and_replaces_bytes_that_are_not_utf8(ipython_shell, capfd):
    ipython_shell.run_line_magic("docker_run", r"busybox printf '\033[31mred\033[0m caf\303\251 \377!\n'")
    out, _ = capfd.readouterr()
    assert out == "\x1b[31mred\x1b[0m café \ufffd!\n"


def test_run_options_env_workdir_volume_user_entrypoint(ipython_shell, capfd, tmp_path):
    (tmp_path / "note.txt").write_text("from the host\n")
    os.chmod(tmp_path, 0o755)
    ipython_shell.run_line_magic(
        "docker_run",
        f"-e 'GREETING=hello there' -w /data -v {tmp_path}:/data:ro --user 65534 --entrypoint sh busybox "
        "-c 'echo \"$GREETING\"; pwd; id -u; cat note.txt; touch x 2>/dev/null || echo read-only'",
    )
    out, _ = capfd.readouterr()
    assert out == "hello there\n/data\n65534\nfrom the host\nread-only\n"


def test_run_output_stays_bounded_for_a_program_printing_many_lines():
    lines = 300_000  # 2 MB of output
    with open(os.devnull, "w") as sink:
        tracemalloc.start()
        try:
            result = containers.run("busybox", ["seq", str(lines)], stdout=sink, stderr=sink)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert result.exit_code == 0
    assert result.truncated
    assert len(result.output.encode()) <= containers.OUTPUT_TAIL_BYTES
    assert result.output.endswith("299999\n300000\n")
    assert peak < 1.5 * 2**20  # far below the 2 MB printed


def test_run_unknown_image_is_a_clear_error_and_leaves_nothing(ipython_shell, all_container_ids, unique_name):
    before = all_container_ids()
    image = unique_name("dmtest-no-such-image")
    with pytest.raises(NotFound) as raised:
        ipython_shell.run_line_magic("docker_run", f"{image} echo hi")
    message = str(raised.value)
    assert f"Image '{image}' is not on" in message
    assert "pulling it failed" in message
    assert "%docker_images" in message
    assert not left_behind(before, all_container_ids())


def test_run_bad_names_are_refused_before_anything_is_sent(ipython_shell, all_container_ids):
    before = all_container_ids()
    with pytest.raises(DockmagicError, match=r"'bad name!' is not a valid container name"):
        ipython_shell.run_line_magic("docker_run", "--name 'bad name!' busybox true")
    with pytest.raises(DockmagicError,
                       match=r"'Busy/Box' is not a valid image name \(repository names are lowercase\)"):
        ipython_shell.run_line_magic("docker_run", "Busy/Box true")
    with pytest.raises(DockmagicError, match=r"-e '=x' is not KEY=VALUE"):
        ipython_shell.run_line_magic("docker_run", "-e =x busybox true")
    with pytest.raises(DockmagicError, match=r"-v 'data' is not SRC:DST"):
        ipython_shell.run_line_magic("docker_run", "-v data busybox true")
    assert not left_behind(before, all_container_ids())


def test_run_a_program_the_image_lacks_fails_like_the_cli_and_leaves_nothing(ipython_shell, all_container_ids):
    before = all_container_ids()
    with pytest.raises(ContainerError) as raised:
        ipython_shell.run_line_magic("docker_run", "busybox no-such-program")
    assert raised.value.exit_code == 127
    assert 'Could not start no-such-program in busybox' in str(raised.value)
    assert 'executable file not found' in str(raised.value)
    assert not left_behind(before, all_container_ids())


def test_run_name_in_use_is_refused(ipython_shell, unique_name, cleanup, capfd):
    name = unique_name()
    cleanup["containers"].append(name)
    ipython_shell.run_line_magic("docker_run", f"--name {name} --keep busybox true")
    with pytest.raises(DockmagicError, match=rf"A container named '{name}' already exists \(exited\)"):
        ipython_shell.run_line_magic("docker_run", f"--name {name} busybox echo never")
    assert "never" not in capfd.readouterr().out


def test_interrupting_run_removes_the_container(ipython_shell, unique_name, all_container_ids):
    before = all_container_ids()
    name = unique_name()
    after_seconds(1.5, interrupt_main_thread)
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            ipython_shell.run_line_magic("docker_run", f"--name {name} busybox sleep 30")
    finally:
        docker_cli("rm", "-f", name, check=False)
    assert time.monotonic() - started < 10
    assert not left_behind(before, all_container_ids())


def cli_image_of(container: str) -> str:
    """The image of ``container`` as ``docker ps`` shows it: Docker keeps the name it was run with
    ("busybox"); Podman's API answers docker.io/library/busybox:latest, which the CLI shows as busybox:latest."""
    image = docker_cli("ps", "-a", "--filter", f"name=^{container}$", "--format", "{{.Image}}").stdout.strip()
    assert image in ("busybox", "busybox:latest")
    return image


def test_run_detached_returns_the_running_container(ipython_shell, unique_name, cleanup):
    name = unique_name()
    cleanup["containers"].append(name)
    info = ipython_shell.run_line_magic("docker_run", f"-d --keep --name {name} busybox sleep 30")
    assert info.name == name
    assert str(info) == f"{name}  {info.id[:12]}  {cli_image_of(name)}  running"
    assert docker_cli("inspect", "-f", "{{.State.Running}}", name).stdout.strip() == "true"


def test_run_help_comes_from_the_docstring(ipython_shell):
    doc = ipython_shell.find_line_magic("docker_run").__doc__
    assert "like ``docker run --rm``" in doc
    for option in ("--keep", "-e K=V", "-v SRC:DST[:ro]", "-o NAME", "--entrypoint", "-d"):
        assert option in doc


# --- %docker_start, %docker_ps, %docker_stop, %docker_rm ---------------------------------------------

def test_start_ps_stop_rm(ipython_shell, unique_name, cleanup, all_container_ids):
    name = unique_name()
    cleanup["containers"].append(name)
    info = ipython_shell.run_line_magic("docker_start", f"busybox --name {name}")
    assert str(info) == f"{name}  {info.id[:12]}  {cli_image_of(name)}  running"

    # %docker_ps lists it as the CLI does: same columns, same id, status and name.
    table = ipython_shell.run_line_magic("docker_ps", "")
    text = table._repr_mimebundle_()["text/plain"]
    assert text.splitlines()[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS",
                                            "NAMES"]
    row = next(line for line in text.splitlines() if line.endswith(name))
    cli = docker_cli("ps", "--filter", f"name=^{name}$", "--format", "{{.ID}}|{{.Command}}|{{.Status}}").stdout
    cli_id, cli_command, cli_status = cli.strip().split("|")
    assert re.split(r" {3,}", row)[:3] == [cli_id, cli_image_of(name), cli_command]
    assert cli_status.split()[0] in row and "Up" in row

    # A running container is not removed without -f; nothing is removed at all.
    before = all_container_ids()
    with pytest.raises(DockmagicError, match=rf"'{name}' is running: stop it first with %docker_stop"):
        ipython_shell.run_line_magic("docker_rm", name)
    assert not left_behind(before, all_container_ids())

    started = time.monotonic()
    stopped = ipython_shell.run_line_magic("docker_stop", name)
    assert time.monotonic() - started < 5  # its idle shell ignores SIGTERM: not the CLI's 10 s wait
    assert stopped.state == "exited"
    assert name not in ipython_shell.run_line_magic("docker_ps", "").column("NAMES")
    assert name in ipython_shell.run_line_magic("docker_ps", "-a").column("NAMES")

    removed = ipython_shell.run_line_magic("docker_rm", name)
    assert str(removed) == name
    assert docker_cli("inspect", name, check=False).returncode != 0


def test_start_keeps_a_debian_container_alive_with_the_images_command(ipython_shell, unique_name, cleanup):
    name = unique_name()
    cleanup["containers"].append(name)
    ipython_shell.run_line_magic("docker_start", f"debian:bookworm --name {name} --network none -e COLOUR=blue")
    time.sleep(0.5)
    inspect = docker_cli("inspect", "-f", "{{.State.Running}} {{json .Config.Cmd}} {{.Config.OpenStdin}}",
                         name).stdout.strip()
    assert inspect == 'true ["bash"] true'
    assert "COLOUR=blue" in docker_cli("inspect", "-f", "{{json .Config.Env}}", name).stdout


def test_stop_and_rm_of_unknown_containers_are_clear_and_change_nothing(ipython_shell, unique_name,
                                                                         cleanup, all_container_ids):
    name = unique_name()
    cleanup["containers"].append(name)
    ipython_shell.run_line_magic("docker_start", f"busybox --name {name}")
    before = all_container_ids()
    missing = unique_name("dmtest-missing")
    with pytest.raises(NotFound, match=rf"No container named '{missing}' on .*%docker_ps -a"):
        ipython_shell.run_line_magic("docker_stop", missing)
    with pytest.raises(NotFound, match=rf"No container named '{missing}'"):
        ipython_shell.run_line_magic("docker_rm", f"-f {name} {missing}")
    with pytest.raises(DockmagicError, match=r"'a/b' is not a valid container name"):
        ipython_shell.run_line_magic("docker_rm", "-f a/b")
    with pytest.raises(DockmagicError, match=r"'odd name' is not a valid container name"):
        ipython_shell.run_line_magic("docker_start", "busybox --name 'odd name'")
    with pytest.raises(DockmagicError, match=rf"A container named '{name}' already exists \(running\)"):
        ipython_shell.run_line_magic("docker_start", f"busybox --name {name}")
    assert not left_behind(before, all_container_ids())


def test_tables_escape_untrusted_text_in_html(ipython_shell, unique_name, cleanup):
    name = unique_name()
    cleanup["containers"].append(name)
    # The command's text is the container's to choose: it holds markup here.
    ipython_shell.run_line_magic("docker_run", f"-d --keep --name {name} busybox env '<b>x</b>=1' sleep 30")
    table = ipython_shell.run_line_magic("docker_ps", "")
    assert '"env <b>x</b>=1 slee…"' in table._repr_mimebundle_()["text/plain"]
    html = table._repr_mimebundle_()["text/html"]
    assert "&quot;env &lt;b&gt;x&lt;/b&gt;=1 slee…&quot;" in html
    assert "<b>x" not in html


# --- %docker_images, %docker_rmi ---------------------------------------------------------------------

def test_images_lists_like_the_cli(ipython_shell):
    table = ipython_shell.run_line_magic("docker_images", "")
    text = table._repr_mimebundle_()["text/plain"]
    assert text.splitlines()[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    cli = docker_cli("images", "busybox:latest", "--format", "{{.Repository}} {{.Tag}} {{.ID}} {{.Size}}").stdout
    repository, tag, image_id, size = cli.split()
    row = next(line.split() for line in text.splitlines() if line.startswith("busybox ") and " latest " in line)
    assert row[:3] == [repository, tag, image_id]
    assert row[-1] == size
    assert "<table" in table._repr_mimebundle_()["text/html"]


def test_rmi_removes_tags_and_checks_all_names_first(ipython_shell, unique_name, cleanup, capfd):
    first, second = unique_name("dmtest-img"), unique_name("dmtest-img")
    cleanup["images"] += [first, second]
    docker_cli("tag", "busybox:latest", first)
    docker_cli("tag", "busybox:latest", second)
    missing = unique_name("dmtest-missing")
    with pytest.raises(NotFound, match=rf"Image '{missing}' is not on .*%docker_images"):
        ipython_shell.run_line_magic("docker_rmi", f"{first} {missing}")
    assert docker_cli("image", "inspect", first, check=False).returncode == 0  # nothing removed

    removed = ipython_shell.run_line_magic("docker_rmi", f"{first} {second}")
    assert str(removed) == f"Untagged: {first}:latest\nUntagged: {second}:latest"
    assert docker_cli("image", "inspect", first, check=False).returncode != 0
    assert docker_cli("image", "inspect", "busybox:latest", check=False).returncode == 0
