"""%%docker_shell (a persistent shell per container) and %docker_dockerfile, on the real engine, with
bash (debian) and busybox sh: state that carries over, failures, interrupts, restarts, bad input, and
the Dockerfile written from a session (rebuilt and compared)."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from dockmagic.errors import ContainerError, DockmagicError, NotFound
from dockmagic.operations import shell as shell_ops
from dockmagic.operations.session_dockerfile import is_state_only, run_instruction
from dockmagic.operations.shell import CellInterrupted, ContainerNotRunning
from dockmagic.parsing.image_names import familiar_image_name

from .conftest import docker_cli

pytestmark = [pytest.mark.engine, pytest.mark.integration]

SHELLS = {"busybox": "sh", "debian:bookworm": "bash"}


@pytest.fixture(autouse=True)
def hang_guard():
    """A test that hangs gets interrupted (and so fails) after a minute, rather than blocking the run."""
    done = threading.Event()
    main = threading.main_thread().ident

    def guard():
        if not done.wait(60):
            signal.pthread_kill(main, signal.SIGINT)

    threading.Thread(target=guard, daemon=True).start()
    yield
    done.set()


@pytest.fixture(params=sorted(SHELLS))
def box(request, ipython_shell, unique_name, cleanup):
    """A running container started with %docker_start (busybox: sh; debian: bash); its name."""
    name = unique_name("dmshell")
    cleanup["containers"].append(name)
    ipython_shell.run_line_magic("docker_start", f"{request.param} --name {name} --network none")
    return name


def cell(ipython_shell, name: str, script: str):
    return ipython_shell.run_cell_magic("docker_shell", name, script)


def interrupt_after(seconds: float) -> None:
    main = threading.main_thread().ident
    threading.Thread(target=lambda: (time.sleep(seconds), signal.pthread_kill(main, signal.SIGINT)),
                     daemon=True).start()


def processes(name: str) -> str:
    """The command lines of the container's processes, one a line, read from its /proc (docker top
    would do, but Podman 4.3's /containers/{id}/top answers an empty body, so the CLI fails there)."""
    listing = docker_cli("exec", name, "sh", "-c",
                         "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done").stdout
    assert listing.strip(), "no process listed: the container's shell at least should be"
    return listing


def cell_count(ipython_shell) -> str:
    """What '# from cell N' says of the notebook's count for cells run by run_cell_magic outside run_cell
    (all share the shell's current count)."""
    count = ipython_shell.execution_count - 1
    return f" (In [{count}])" if count > 0 else ""


def session_of(engine, name):
    return shell_ops.find_session(name, engine)


# --- state, failures ---------------------------------------------------------------------------------

def test_directory_variables_and_functions_carry_over(ipython_shell, box, capfd, engine):
    cell(ipython_shell, box, "mkdir -p /work/a && cd /work/a\nexport GREETING='hello world'\n"
                             'greet() { echo "$GREETING from $(pwd) to $1"; }')
    # Each cell ends with its exit status, as a shell reports $?.
    assert capfd.readouterr().out == "exit status 0\n"
    assert cell(ipython_shell, box, 'greet you; echo "$GREETING"; pwd') is None
    assert capfd.readouterr().out == "hello world from /work/a to you\nhello world\n/work/a\nexit status 0\n"

    session = session_of(engine, box)
    # (Podman's inspect names the image in full: docker.io/library/busybox:latest.)
    image = familiar_image_name(docker_cli("inspect", "-f", "{{.Config.Image}}", box).stdout.strip())
    assert session.shell == SHELLS[image.removesuffix(":latest")]
    first, second = session.cells
    assert first.ok and second.ok
    assert (first.before.cwd, first.after.cwd) == ("/", "/work/a")
    assert "GREETING" not in first.before.env and first.after.env["GREETING"] == "hello world"
    assert second.script == 'greet you; echo "$GREETING"; pwd'


def test_a_failing_cell_fails_with_its_code_and_the_shell_goes_on(ipython_shell, box, capfd, engine):
    with pytest.raises(ContainerError) as raised:
        cell(ipython_shell, box, "cd /tmp; echo partial; cat /nowhere")
    out, err = capfd.readouterr()
    assert out == "partial\nexit status 1\n"
    assert "nowhere" in err
    assert raised.value.exit_code == 1
    assert str(raised.value).startswith(f"The cell failed with exit code 1 in '{box}'. The shell keeps its state")

    cell(ipython_shell, box, "pwd; echo works")
    assert capfd.readouterr().out == "/tmp\nworks\nexit status 0\n"
    assert [c.ok for c in session_of(engine, box).cells] == [False, True]


def test_every_cell_ends_with_its_exit_status_and_a_failure_stops_run_all(ipython_shell, box, capfd, engine):
    # The status is the last command's, as with `sh -c`: a command that fails earlier shows its error only.
    result = ipython_shell.run_cell(f"%%docker_shell {box}\nfiglett ciao\necho after\n")
    out, err = capfd.readouterr()
    assert result.success and (out, "figlett" in err) == ("after\nexit status 0\n", True)

    result = ipython_shell.run_cell(f"%%docker_shell {box}\necho before\nfiglett ciao\n")
    out, err = capfd.readouterr()
    # (IPython prints the error after the status line.)
    assert out.startswith("before\nexit status 127\n") and "figlett" in err
    assert isinstance(result.error_in_exec, ContainerError) and result.error_in_exec.exit_code == 127

    # --keep-going (or --no-raise): the status is shown, nothing is raised, "Run all" goes on.
    for option in ("--keep-going", "--no-raise"):
        result = ipython_shell.run_cell(f"%%docker_shell {option} {box}\nfiglett ciao\n")
        assert result.success and capfd.readouterr().out == "exit status 127\n"
    failed = session_of(engine, box).cells[-1]
    html = failed._repr_mimebundle_()["text/html"]
    assert 'class="dockmagic-status"' in html and ">exit status 127<" in html and "#b91c1c" in html
    assert [c.exit_code for c in session_of(engine, box).cells] == [0, 127, 127, 127]


def test_a_syntax_error_is_only_an_error(ipython_shell, box, capfd):
    with pytest.raises(ContainerError) as raised:
        cell(ipython_shell, box, "if then")
    assert raised.value.exit_code == 2
    assert "syntax error" in capfd.readouterr().err
    cell(ipython_shell, box, "echo still here")
    assert capfd.readouterr().out == "still here\nexit status 0\n"


def test_commands_read_no_input(ipython_shell, box, capfd):
    # As in a Dockerfile's RUN, stdin is empty: a prompt cannot hang the cell or eat the protocol.
    cell(ipython_shell, box, 'read answer; echo "[$answer]"; cat; echo end')
    assert capfd.readouterr().out == "[]\nend\nexit status 0\n"


def test_output_streams_while_the_cell_runs(box, engine):
    class Recorder:
        def __init__(self):
            self.writes = []

        def write(self, text):
            self.writes.append((time.monotonic(), text))

        def flush(self):
            pass

    out, err = Recorder(), Recorder()
    started = time.monotonic()
    shell_ops.run_cell(box, "echo first; sleep 2; echo second >&2", engine=engine, stdout=out, stderr=err)
    ended = time.monotonic()
    assert [text for _, text in out.writes] == ["first\n"]
    assert [text for _, text in err.writes] == ["second\n"]
    assert out.writes[0][0] - started < 1.0
    assert ended - started >= 2.0


def test_hiding_stdout_in_a_cell_does_not_break_the_shell(ipython_shell, box, capfd):
    cell(ipython_shell, box, "exec >/dev/null; echo hidden")
    cell(ipython_shell, box, "echo hidden too; echo but stderr shows >&2")
    out, err = capfd.readouterr()
    assert out == "exit status 0\nexit status 0\n"  # the status lines come from dockmagic, not the shell
    assert err == "but stderr shows\n"


# --- interrupts and restarts ---------------------------------------------------------------------------

def test_interrupt_stops_the_command_not_the_shell(ipython_shell, box, capfd):
    cell(ipython_shell, box, "cd /tmp; export KEPT=1")
    interrupt_after(1.5)
    started = time.monotonic()
    with pytest.raises(CellInterrupted) as raised:
        cell(ipython_shell, box, "echo start; sleep 30; echo after")
    assert time.monotonic() - started < 6
    assert isinstance(raised.value, KeyboardInterrupt)
    assert "the cell's command was stopped" in str(raised.value)
    out, _ = capfd.readouterr()
    assert "start\n" in out and "after" not in out and "exit status 130 (interrupted)\n" in out

    assert docker_cli("inspect", "-f", "{{.State.Running}}", box).stdout.strip() == "true"
    assert "sleep" not in processes(box)
    cell(ipython_shell, box, 'pwd; echo "$KEPT"')
    assert capfd.readouterr().out == "/tmp\n1\nexit status 0\n"


def test_interrupt_kills_a_program_that_ignores_sigint(ipython_shell, box, capfd):
    interrupt_after(1.0)
    started = time.monotonic()
    with pytest.raises(CellInterrupted):
        cell(ipython_shell, box, "sh -c 'trap \"\" INT; sleep 30'")
    assert time.monotonic() - started < 1.0 + shell_ops.INTERRUPT_GRACE_SECONDS + 4
    assert "sleep" not in processes(box)
    capfd.readouterr()
    cell(ipython_shell, box, "echo alive")
    assert capfd.readouterr().out == "alive\nexit status 0\n"


def test_exit_ends_the_shell_and_the_next_cell_restores_its_state(ipython_shell, box, capfd, engine):
    cell(ipython_shell, box, "cd /tmp && export KEEP=yes && f() { echo f-called; }")
    with pytest.raises(ContainerError) as raised:
        cell(ipython_shell, box, "exit 4")
    assert raised.value.exit_code == 4
    assert f"The shell in '{box}' exited during the cell (exit code 4)" in str(raised.value)
    assert capfd.readouterr().out == (
        "exit status 0\nexit status 4 (the shell exited: the next cell starts a new one)\n")
    cell(ipython_shell, box, 'pwd; echo "$KEEP"')
    out, err = capfd.readouterr()
    assert out == "/tmp\nyes\nexit status 0\n"
    assert err.startswith("(the shell had ended: a new one was started in /tmp with the recorded exported")
    session = session_of(engine, box)
    assert session.restarts == 1
    if session.shell == "bash":  # bash lists its functions (declare -f): they are restored too
        cell(ipython_shell, box, "f")
        assert capfd.readouterr().out == "f-called\nexit status 0\n"


def test_a_shell_that_ignores_interrupts_is_replaced(ipython_shell, unique_name, cleanup, capfd):
    # The cell makes the shell itself ignore SIGINT and loops in a builtin: no process but the shell to
    # kill. The last resort kills the shell; the next cell gets a new one with the recorded state.
    name = unique_name("dmshell")
    cleanup["containers"].append(name)
    ipython_shell.run_line_magic("docker_start", f"busybox --name {name} --network none")
    cell(ipython_shell, name, "cd /tmp; export KEPT=1")
    interrupt_after(1.0)
    started = time.monotonic()
    with pytest.raises(CellInterrupted, match="the cell did not stop, so its shell was killed"):
        cell(ipython_shell, name, "trap '' INT; while :; do :; done")
    assert time.monotonic() - started < 1.0 + 2 * shell_ops.INTERRUPT_GRACE_SECONDS + 4
    assert docker_cli("inspect", "-f", "{{.State.Running}}", name).stdout.strip() == "true"
    capfd.readouterr()
    cell(ipython_shell, name, 'pwd; echo "$KEPT"')
    assert capfd.readouterr().out == "/tmp\n1\nexit status 0\n"


# --- bad input -----------------------------------------------------------------------------------------

def test_unknown_odd_and_stopped_containers_are_clear_errors(ipython_shell, unique_name, cleanup,
                                                             all_container_ids):
    stopped = unique_name("dmshell")
    cleanup["containers"].append(stopped)
    docker_cli("create", "--name", stopped, "busybox", "true")
    missing = unique_name("dmshell-missing")
    before = all_container_ids()

    with pytest.raises(NotFound) as raised:
        cell(ipython_shell, missing, "echo hi")
    assert str(raised.value).startswith(f"No container named '{missing}' on ")
    assert "%docker_ps -a" in str(raised.value)

    with pytest.raises(DockmagicError, match=r"'\.\./etc' is not a valid container name"):
        cell(ipython_shell, "../etc", "echo hi")

    with pytest.raises(ContainerNotRunning) as raised:
        cell(ipython_shell, stopped, "echo hi")
    assert str(raised.value).startswith(f"Container '{stopped}' is not running (created), so no shell can run")

    with pytest.raises(NotFound):
        ipython_shell.run_line_magic("docker_dockerfile", missing)

    # Nothing was created, nothing was started.
    assert all_container_ids() >= before and not any(
        "dmshell-missing" in docker_cli("inspect", "-f", "{{.Name}}", c, check=False).stdout
        for c in all_container_ids() - before)
    assert docker_cli("inspect", "-f", "{{.State.Status}}", stopped).stdout.strip() == "created"


# --- the Dockerfile of a session -------------------------------------------------------------------------

def test_run_instructions_keep_the_scripts_meaning():
    assert run_instruction("apt-get update && apt-get install -y figlet") == \
        "RUN apt-get update && apt-get install -y figlet"
    assert run_instruction("echo a   # say a\nif true; then\n  echo b |\n  cat\nfi\n\necho 'c # d'") == (
        "RUN echo a; \\\n    if true; then \\\n      echo b | \\\n      cat; \\\n    fi; \\\n    echo 'c # d'")
    assert run_instruction("cat > f <<EOF\nit's\nEOF") == (
        "RUN eval \"$(printf '%s\\n' \\\n    'cat > f <<EOF' \\\n    'it'\\''s' \\\n    'EOF')\"")
    assert is_state_only("cd /app\nexport A=1 B=2\nC=3")
    assert not is_state_only("cd /app && make")
    assert not is_state_only("X=$(date)")


def test_dockerfile_of_a_busybox_session_rebuilds_the_same_files(ipython_shell, unique_name, cleanup, capfd,
                                                                 tmp_path):
    name, tag = unique_name("dmshell"), unique_name("dmshell-rebuilt")
    cleanup["containers"].append(name)
    cleanup["images"].append(tag)
    ipython_shell.run_line_magic("docker_start", f"busybox --name {name}")
    cell(ipython_shell, name, "mkdir -p /app && cd /app")
    cell(ipython_shell, name, "export GREETING='hello \"world\" $HOME'")
    with pytest.raises(ContainerError):
        cell(ipython_shell, name, "touch /app/from-failed-cell; false")
    cell(ipython_shell, name, 'if [ -d /app ]; then\n  echo "$GREETING" > greeting.txt   # a comment\nfi\n'
                              "cat > conf.txt <<EOF\nname=demo\nEOF")
    capfd.readouterr()

    path = tmp_path / "Dockerfile"
    result = ipython_shell.run_line_magic("docker_dockerfile", f"{name} --file {path} -o session_file --build {tag}")
    in_n = cell_count(ipython_shell)
    expected = (
        "FROM busybox\n"
        f"# from cell 1{in_n}\n"
        "RUN mkdir -p /app && cd /app\n"
        "WORKDIR /app\n"
        'ENV GREETING="hello \\"world\\" \\$HOME"\n'
        f"# from cell 4{in_n}\n"
        "RUN eval \"$(printf '%s\\n' \\\n"
        "    'if [ -d /app ]; then' \\\n"
        "    '  echo \"$GREETING\" > greeting.txt   # a comment' \\\n"
        "    'fi' \\\n"
        "    'cat > conf.txt <<EOF' \\\n"
        "    'name=demo' \\\n"
        "    'EOF')\"\n"
    )
    assert result.text == expected
    assert path.read_text() == expected
    # --file writes the Dockerfile; -o binds the result, as -o does in every magic.
    assert ipython_shell.user_ns["session_file"] is result
    assert (result.cells, result.included) == (4, 2)
    # The failed cell's file is in the container, not in the rebuild: the comparison names it, and only it.
    assert result.compared_with == f"container {name}"
    assert [str(d) for d in result.differences] == ["D /app/from-failed-cell"]
    text = result._repr_mimebundle_()["text/plain"]
    assert "1 file differs from container" in text and "D /app/from-failed-cell" in text

    capfd.readouterr()
    ipython_shell.run_line_magic("docker_run", f"{tag} sh -c 'pwd; cat greeting.txt conf.txt'")
    assert capfd.readouterr().out == '/app\nhello "world" $HOME\nname=demo\n'


def test_dockerfile_of_a_bash_session_defines_the_functions_a_cell_calls(ipython_shell, unique_name, cleanup,
                                                                         capfd):
    name, tag = unique_name("dmshell"), unique_name("dmshell-rebuilt")
    cleanup["containers"].append(name)
    cleanup["images"].append(tag)
    ipython_shell.run_line_magic("docker_start", f"debian:bookworm --name {name} --network none")
    cell(ipython_shell, name, 'shout() { echo "${1^^}!"; }\nexport WHO=world')
    cell(ipython_shell, name, "shout $WHO > /greeting.txt")
    result = ipython_shell.run_line_magic("docker_dockerfile", f"{name} --cmd 'cat /greeting.txt' --build {tag}")
    in_n = cell_count(ipython_shell)
    assert result.text == (
        "FROM debian:bookworm\n"
        'SHELL ["/bin/bash", "-c"]\n'
        f"# from cell 1{in_n}\n"
        'RUN shout() { echo "${1^^}!"; }; \\\n'
        "    export WHO=world\n"
        'ENV WHO="world"\n'
        f"# from cell 2{in_n}\n"
        'RUN shout () { echo "${1^^}!"; }; \\\n'
        "    shout $WHO > /greeting.txt\n"
        'CMD ["cat", "/greeting.txt"]\n'
    )
    assert result.differences == []
    assert result.reproduces is True
    capfd.readouterr()
    ipython_shell.run_line_magic("docker_run", tag)
    assert capfd.readouterr().out == "WORLD!\n"


def test_dockerfile_takes_the_cmd_given_at_commit(ipython_shell, unique_name, cleanup, capfd):
    name, image = unique_name("dmshell"), unique_name("dmshell-committed")
    cleanup["containers"].append(name)
    cleanup["images"].append(image)
    ipython_shell.run_line_magic("docker_start", f"busybox --name {name}")
    cell(ipython_shell, name, "echo hi > /hi.txt")
    ipython_shell.run_line_magic("docker_commit", f"""-c 'CMD ["cat", "/hi.txt"]' {name} {image}""")
    result = ipython_shell.run_line_magic("docker_dockerfile", name)
    in_n = cell_count(ipython_shell)
    assert result.text == f'FROM busybox\n# from cell 1{in_n}\nRUN echo hi > /hi.txt\nCMD ["cat", "/hi.txt"]\n'
    assert f"CMD as committed in {image}:latest" in str(result)
    # --cmd wins over what was committed.
    assert ipython_shell.run_line_magic("docker_dockerfile", f"{name} --cmd 'sh -c \"echo hey\"'").text.endswith(
        'CMD ["sh", "-c", "echo hey"]\n')


def test_dockerfile_leaves_out_marked_and_skipped_cells_and_names_each_runs_cell(ipython_shell, unique_name,
                                                                                 cleanup, capfd):
    name = unique_name("dmshell")
    cleanup["containers"].append(name)
    ipython_shell.run_line_magic("docker_start", f"busybox --name {name} --network none")
    # run_cell numbers the cells as a notebook does (In [n]); the Dockerfile shows it beside the session's.
    counts = []
    for script in ("mkdir /app && echo made > /app/made.txt",  # (the shell counts from 1: In [n] is shown)
                   "# dockmagic: skip\ncd /app\ncat made.txt",
                   "ls /app",
                   "echo more >> /app/made.txt"):
        counts.append(ipython_shell.execution_count)
        assert ipython_shell.run_cell(f"%%docker_shell {name}\n{script}\n", store_history=True).success
    capfd.readouterr()

    result = ipython_shell.run_line_magic("docker_dockerfile", f"{name} --skip 3")
    assert result.text == (
        "FROM busybox\n"
        f"# from cell 1 (In [{counts[0]}])\n"
        "RUN mkdir /app && echo made > /app/made.txt\n"
        "WORKDIR /app\n"
        f"# from cell 4 (In [{counts[3]}])\n"
        "RUN echo more >> /app/made.txt\n"
    )
    assert "# cells left out: 2 (skip mark), 3 (--skip)" in str(result)
    with pytest.raises(DockmagicError, match="the session of .* has 4 cells"):
        ipython_shell.run_line_magic("docker_dockerfile", f"{name} --skip 2,9")
    with pytest.raises(DockmagicError, match="is not a cell number or range"):
        ipython_shell.run_line_magic("docker_dockerfile", f"{name} --skip last")
