"""``%%dockerfile --check``: each rule with a Dockerfile that triggers it and one that does not."""

from __future__ import annotations

import pytest

from dockmagic.parsing.dockerfile import SecretMount, base_images, builder_problems, find_problems, secret_mounts


def rules(text: str) -> list[tuple[int, str]]:
    return [(problem.line, problem.rule) for problem in find_problems(text)[1]]


@pytest.mark.parametrize(
    "triggers, passes, rule, line",
    [
        ("FROM debian\nRUN true\nINSTALL figlet\n", "FROM debian\nRUN true\n", "unknown-instruction", 3),
        ("RUN echo hi\n", "ARG BASE=debian\nFROM $BASE\nRUN echo hi\n", "missing-from", 1),
        ("FROM debian\nRUN apt-get update && apt-get install figlet\n",
         "FROM debian\nRUN apt-get update && apt-get install -y figlet\n", "apt-install-without-y", 2),
        ("FROM debian\nRUN apt-get update\nRUN apt-get install -y figlet\n",
         "FROM debian\nRUN apt-get update && apt-get install -y figlet\n", "apt-update-alone", 2),
        ("FROM busybox\nADD https://example.org/tool.tgz /opt/\n",
         "FROM busybox\nADD tool.tgz /opt/\n", "add-url", 2),
    ],
)
def test_rule(triggers, passes, rule, line):
    assert (line, rule) in rules(triggers)
    assert rule not in [r for _, r in rules(passes)]


def test_yes_spellings_and_continuation_lines():
    for install in ("apt-get install -y x", "apt-get -y install x", "apt-get install -qy x",
                    "apt-get install --yes x", "apt-get install --assume-yes x", "apt install -y x"):
        assert rules(f"FROM debian\nRUN {install}\n") == []
    text = "FROM debian\nRUN apt-get update \\\n    && apt-get install \\\n       figlet\n"
    assert rules(text) == [(2, "apt-install-without-y")]


def test_clean_dockerfile_reports_its_steps(ipython_shell, capsys):
    ipython_shell.run_cell_magic("dockerfile", "--check -o checked",
                                 "FROM debian:bookworm\nRUN apt-get update && apt-get install -y figlet\n"
                                 "CMD [\"figlet\", \"hi\"]\n")
    check = ipython_shell.user_ns["checked"]
    assert check.ok
    text = capsys.readouterr().out
    assert "3 instructions, no problems found" in text
    assert "2. line 2 RUN apt-get update && apt-get install -y figlet" in text


def test_check_needs_no_engine(ipython_shell, monkeypatch, capsys):
    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/dockmagic-no-engine.sock")
    ipython_shell.run_cell_magic("dockerfile", "--check", "FROM debian\nRUN apt-get install figlet\nFOO bar\n")
    text = capsys.readouterr().out
    assert "2 problems" in text
    assert "line 2: apt-get install without -y" in text
    assert "line 3: unknown instruction FOO" in text


def test_check_html_escapes_instructions():
    from dockmagic.views.dockerfile_check import DockerfileCheck

    instructions, problems = find_problems("FROM busybox\nRUN echo '<script>alert(1)</script>'\n")
    html = DockerfileCheck(instructions, problems)._html()
    assert "<script>" not in html and "&lt;script&gt;" in html


HEREDOC = "FROM busybox\nRUN <<EOF\necho hi\napt-get install figlet\nEOF\nrun --mount=type=cache,target=/c true\n"


def test_heredoc_body_is_no_instruction_and_is_checked():
    instructions, problems = find_problems(HEREDOC)
    assert [i.keyword for i in instructions] == ["FROM", "RUN", "RUN"]
    assert instructions[1].end_line == 5
    assert instructions[1].heredocs == ("echo hi\napt-get install figlet",)
    # The body is not read as instructions ECHO and EOF; the apt-get in it is judged.
    assert [(p.line, p.rule) for p in problems] == [(2, "apt-install-without-y")]


def test_check_shows_the_authors_text_aligned_left():
    from dockmagic.views.dockerfile_check import DockerfileCheck

    text = HEREDOC + "RUN true\n" * 8
    lines = DockerfileCheck(*find_problems(text))._text().splitlines()
    assert "  1.  line 1  FROM busybox" in lines
    assert "  2.  line 2  RUN <<EOF" in lines
    assert "              echo hi" in lines
    assert "  3.  line 6  run --mount=type=cache,target=/c true" in lines  # as written, not upper-cased
    assert "  11. line 14 RUN true" in lines


def test_flags_and_command():
    text = "FROM busybox\nRUN --mount=type=cache,target=/c --network=host apt-get install x\n"
    instruction = find_problems(text)[0][1]
    assert instruction.flags == ["--mount=type=cache,target=/c", "--network=host"]
    assert instruction.command == "apt-get install x"


@pytest.mark.parametrize("builder, rules_expected", [
    ("legacy", {"heredoc", "legacy-mount", "legacy-chmod"}),
    ("buildkit", {"heredoc", "ssh-mount", "missing-secret", "syntax-frontend"}),
])
def test_what_each_builder_rejects(builder, rules_expected):
    # An optional secret (BuildKit's default) given no value is no problem: its file is absent, as with the CLI.
    text = ("# syntax=docker/dockerfile:1\nFROM busybox\nRUN <<EOF\ntrue\nEOF\nCOPY --chmod=755 a /a\n"
            "RUN --mount=type=secret,id=token cat /run/secrets/token\n"
            "RUN --mount=type=secret,id=pypi,required=true cat /run/secrets/pypi\n"
            "RUN --mount=type=ssh git clone git@example.org:x.git\n")
    found = {p.rule for p in find_problems(text, builder, "Docker Engine 20.10.24")[1]}
    assert found == rules_expected
    heredoc = next(p for p in find_problems(text, builder, "Docker Engine 20.10.24")[1] if p.rule == "heredoc")
    assert "Docker Engine 23 or newer (Docker Engine 20.10.24 is there)" in heredoc.message


def test_a_quoted_heredoc_marker_is_text():
    # As %docker_dockerfile writes a session's shell heredoc: inside quotes, <<EOF opens nothing.
    text = ("FROM busybox\nRUN eval \"$(printf '%s\\n' \\\n    'cat > conf.txt <<EOF' \\\n    'name=demo' \\\n"
            "    'EOF')\"\nRUN <<-\"X\" cat\n\tbody\n\tX\n")
    instructions = find_problems(text)[0]
    assert [(i.keyword, i.line, i.heredocs) for i in instructions] == [
        ("FROM", 1, ()), ("RUN", 2, ()), ("RUN", 6, ("\tbody",))]


def test_secret_mounts_as_buildkit_reads_them():
    text = ("FROM busybox\nRUN --mount=type=secret,id=token cat /run/secrets/token\n"
            "RUN --mount=type=cache,target=/c --mount=type=secret,target=/root/.netrc,required=true true\n"
            "RUN --mount=type=secret,id=pypi,dst=/etc/pip.conf,required pip install x\n")
    assert secret_mounts(find_problems(text)[0]) == [
        SecretMount(2, "token", "/run/secrets/token", False),
        SecretMount(3, ".netrc", "/root/.netrc", True),  # no id: the target's file name
        SecretMount(4, "pypi", "/etc/pip.conf", True),
    ]
    missing = [p for p in builder_problems(text, find_problems(text)[0], "buildkit", secrets=["pypi"])
               if p.rule == "missing-secret"]
    assert [(p.line, p.message.split(",")[1]) for p in missing] == [(3, "id=.netrc is required=true")]
    assert "--secret id=.netrc,src=FILE (or env=VARIABLE)" in missing[0].message


def test_base_images_are_those_the_target_starts_from_copies_from_or_mounts():
    dockerfile = ("FROM scratch AS unused\nCOPY --from=only-unused:1 / /\n"
                  "FROM busybox AS tools\nCOPY --from=alpine:3 /bin/ls /ls\n"
                  "FROM tools\nCOPY --from=1 /ls /ls\nCOPY --from=tools /ls /ls2\n"
                  "RUN --mount=type=bind,from=debian:bookworm,target=/d true\nCOPY --from=alpine:3 /etc /etc\n")
    # Stages (by name or index) are built, not pulled; an image is named once, in the order it comes.
    assert base_images(dockerfile) == ["busybox", "alpine:3", "debian:bookworm"]
    assert base_images(dockerfile, target="unused") == ["only-unused:1"]
    assert base_images("ARG BASE=busybox\nFROM $BASE\nCOPY --from=$BASE /x /x\n") == []
