"""Which cells of a %%docker_shell session become RUN lines, and the comment naming each one's cell:
the text a user gets from %docker_dockerfile, without an engine."""

from types import SimpleNamespace

import pytest

from dockmagic.errors import InvalidInput
from dockmagic.operations.session_dockerfile import SessionDockerfile, parse_cell_numbers
from dockmagic.parsing.shell_to_dockerfile import dockerfile_lines, has_skip_mark, left_out


def state(cwd="/", env=None):
    return SimpleNamespace(cwd=cwd, env=dict(env or {}), functions={})


def cell(script, before, after=None, exit_code=0, execution_count=None, interrupted=False):
    return SimpleNamespace(script=script, before=before, after=after or before, ok=exit_code == 0 and not interrupted,
                           interrupted=interrupted, execution_count=execution_count)


def session_of(*cells):
    return SimpleNamespace(shell="sh", initial_state=cells[0].before, cells=list(cells))


def test_a_skip_mark_on_the_first_line_leaves_a_one_off_check_out_but_keeps_its_directory():
    start, in_app = state("/"), state("/app")
    session = session_of(
        cell("mkdir /app && echo hi > /app/hi", start, execution_count=4),
        cell("\n# dockmagic: skip\ncd /app\npython3 -c 'print(1)'", start, in_app, execution_count=5),
        cell("#DockMagic:SKIP\nls", in_app, execution_count=6),
        cell("cat hi  # dockmagic: skip only counts on the first line", in_app, execution_count=7),
    )
    assert dockerfile_lines("busybox", session, image_config={}, container_config={}) == [
        "FROM busybox",
        "# from cell 1 (In [4])",
        "RUN mkdir /app && echo hi > /app/hi",
        "WORKDIR /app",
        "# from cell 4 (In [7])",
        "RUN cat hi",
    ]
    assert left_out(session) == {2: "skip mark", 3: "skip mark"}
    assert not has_skip_mark("echo hi\n# dockmagic: skip")


def test_skip_leaves_out_cells_by_their_number_and_says_why_each_cell_is_left_out():
    start = state()
    session = session_of(cell("touch /a", start), cell("false", start, exit_code=1), cell("touch /b", start),
                         cell("sleep 9", start, exit_code=130, interrupted=True), cell("touch /c", start))
    lines = dockerfile_lines("busybox", session, image_config={}, container_config={}, skip={3})
    assert lines == ["FROM busybox", "# from cell 1", "RUN touch /a", "# from cell 5", "RUN touch /c"]
    reasons = left_out(session, {3})
    assert reasons == {2: "failed", 3: "--skip", 4: "interrupted"}

    result = SessionDockerfile(container="play", image="busybox", text="\n".join(lines) + "\n", cells=5,
                               included=2, cmd_source="not committed", left_out=reasons)
    text = str(result)
    assert "# Dockerfile of container play: 2 of 5 cells as RUN" in text
    assert "# cells left out: 2 (failed), 3 (--skip), 4 (interrupted)" in text
    assert "cells left out: 2 (failed), 3 (--skip), 4 (interrupted)" in result._repr_mimebundle_()["text/html"]


def test_skip_numbers_take_lists_and_ranges_and_refuse_anything_else():
    assert parse_cell_numbers("3,5-7") == {3, 5, 6, 7}
    assert parse_cell_numbers(" 2 ") == {2}
    for bad in ("three", "0", "5-3", "2-", "-1"):
        with pytest.raises(InvalidInput, match="is not a cell number or range"):
            parse_cell_numbers(bad)
