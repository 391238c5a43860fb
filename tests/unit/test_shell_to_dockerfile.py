"""Shell cells as Dockerfile lines, without an engine: the text a user gets from %docker_dockerfile."""

from types import SimpleNamespace

from dockmagic.parsing.shell_to_dockerfile import (
    dockerfile_lines,
    env_value,
    is_state_only,
    run_instruction,
    shell_quote,
)


def state(cwd="/", env=None, functions=None):
    return SimpleNamespace(cwd=cwd, env=dict(env or {}), functions=dict(functions or {}))


def cell(script, before, after, exit_code=0):
    return SimpleNamespace(script=script, before=before, after=after, ok=exit_code == 0)


def test_shell_quote_always_quotes_and_escapes_single_quotes():
    assert shell_quote("plain") == "'plain'"
    assert shell_quote("it's") == "'it'\\''s'"
    assert shell_quote("") == "''"


def test_a_multi_line_script_becomes_one_run_joined_where_the_shell_would():
    script = "apt-get update &&\napt-get install -y figlet\necho done  # a comment"
    assert run_instruction(script) == (
        "RUN apt-get update && \\\n    apt-get install -y figlet; \\\n    echo done")


def test_a_here_document_is_passed_whole_to_eval():
    assert run_instruction("cat > f <<EOF\nhi\nEOF").startswith("RUN eval \"$(printf '%s\\n' \\\n")


def test_cells_that_only_change_the_shell_are_state_only():
    assert is_state_only("cd /tmp && export A=1")
    assert is_state_only("B=2")
    assert not is_state_only("cd /tmp && touch x")
    assert not is_state_only("A=$(date)")
    assert not is_state_only("echo hi | cat")


def test_env_values_are_quoted_so_env_does_not_expand_them():
    assert env_value('a "b" $HOME \\') == '"a \\"b\\" \\$HOME \\\\"'


def test_a_session_becomes_from_run_workdir_env_in_order_and_failed_cells_leave_no_run():
    start = state("/", {"PATH": "/bin"})
    after_cd = state("/work", {"PATH": "/bin", "MODE": "fast"})
    session = SimpleNamespace(shell="sh", initial_state=start, cells=[
        cell("mkdir -p /work && cd /work && export MODE=fast", start, after_cd),
        cell("false", after_cd, after_cd, exit_code=1),
        cell("echo hi > greeting", after_cd, after_cd),
    ])
    lines = dockerfile_lines("busybox", session, image_config={"Env": ["PATH=/bin"]},
                             container_config={"Env": ["PATH=/bin"]}, cmd=["cat", "greeting"])
    assert lines == [
        "FROM busybox",
        "# from cell 1",
        "RUN mkdir -p /work && cd /work && export MODE=fast",
        "WORKDIR /work",
        'ENV MODE="fast"',
        "# from cell 3",
        "RUN echo hi > greeting",
        'CMD ["cat", "greeting"]',
    ]


def test_bash_sessions_get_a_bash_shell_and_the_functions_their_cells_call():
    functions = {"greet": "greet () \n{ \n    echo hello\n}"}
    start = state("/", {}, functions)
    session = SimpleNamespace(shell="bash", initial_state=start, cells=[cell("greet", start, start)])
    lines = dockerfile_lines("debian:bookworm", session, image_config={}, container_config={})
    assert lines == ["FROM debian:bookworm", 'SHELL ["/bin/bash", "-c"]', "# from cell 1",
                     "RUN greet () { echo hello; }; \\\n    greet"]


def test_no_session_is_the_image_alone():
    assert dockerfile_lines("busybox", None, image_config={}, container_config={}) == ["FROM busybox"]
