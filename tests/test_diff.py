"""``%docker_diff`` against the real engine: what it lists, compared with ``docker diff``; the snapshot, the
widget (100,000 changes), sizes, errors, and what a terminal and a notebook kernel show."""

from __future__ import annotations

import json
import time

import pytest

from dockmagic.errors import NotFound
from dockmagic.operations.diff import change_sizes, container_diff
from dockmagic.views.diff_view import PAGE_SIZE, DiffView

from .conftest import docker_cli, engine_is_podman

pytestmark = [pytest.mark.engine, pytest.mark.integration]

ODD_NAME = "<img src=x onerror=alert(1)>"


@pytest.fixture
def make_container(unique_name):
    """Run a busybox shell command in a new container (left stopped, or running with detach=True);
    every container made is removed after the test, whatever happens."""
    names = []

    def make(script: str, detach: bool = False) -> str:
        name = unique_name("dmdiff")
        names.append(name)
        docker_cli("run", *(["-d"] if detach else []), "--name", name, "busybox", "sh", "-c", script)
        return name

    yield make
    for name in names:
        docker_cli("rm", "-f", name, check=False)


def podman_etc(engine) -> set[str]:
    """Podman makes the mount points of /etc/hosts, /etc/hostname and /etc/resolv.conf in every container's
    own layer: its diff (and docker diff on it) lists "C /etc" for every container, Docker's none."""
    return {"/etc"} if engine.is_podman else set()


def cli_diff(name: str) -> str:
    return docker_cli("diff", name).stdout


@pytest.mark.skipif(engine_is_podman(), reason=(
    "Podman 4.3 cannot list the changes of a container in which a file was replaced by a directory: "
    "GET /containers/{id}/changes answers 500 'stat .../diff/etc/passwd/new: not a directory' (and docker "
    "diff fails the same way), so there is no list to compare; dockmagic raises a DockmagicError saying so"))
def test_kinds_paths_and_text_equal_docker_diff_line_for_line(make_container):
    # One changed path per directory (plus deletions, which the engine lists after a directory's other
    # changes): the engine's order is then fully determined, so one docker diff call must match exactly.
    name = make_container(
        "rm /etc/passwd && mkdir /etc/passwd && echo hi > /etc/passwd/new && rm /etc/group && rm /linuxrc")
    diff = container_diff(name)
    assert str(diff) + "\n" == cli_diff(name)
    assert [(change.kind, change.path) for change in diff.changes] == [
        ("C", "/etc"), ("C", "/etc/passwd"), ("A", "/etc/passwd/new"), ("D", "/etc/group"), ("D", "/linuxrc")]
    assert [change.path for change in diff.added] == ["/etc/passwd/new"]
    assert [change.path for change in diff.changed] == ["/etc", "/etc/passwd"]
    assert [change.path for change in diff.deleted] == ["/etc/group", "/linuxrc"]
    assert diff.counts == {"A": 1, "C": 2, "D": 2}


def test_adds_changes_and_deletes_are_listed_as_docker_diff_lists_them(make_container):
    name = make_container(
        "echo extra >> /etc/passwd && rm /etc/group && mkdir /etc/new && echo hi > /etc/new/file && rm /linuxrc")
    diff = container_diff(name)
    kinds = {change.path: change.kind for change in diff.changes}
    assert kinds == {"/etc": "C", "/etc/passwd": "C", "/etc/group": "D", "/etc/new": "A",
                     "/etc/new/file": "A", "/linuxrc": "D"}
    ours = str(diff) + "\n"
    assert sorted(ours.splitlines()) == sorted(cli_diff(name).splitlines())
    # The engine lists the siblings of a directory in Go map order, which changes from call to call
    # (here: /etc/passwd and /etc/new, 1 time in 8 the other way round), and docker diff prints that
    # order as it comes. So ours must be exactly one of the outputs docker diff gives; ask until it does.
    outputs = set()
    for _ in range(100):
        outputs.add(cli_diff(name))
        if ours in outputs:
            break
    assert ours in outputs, f"ours:\n{ours}\ndocker diff gave:\n" + "\n--\n".join(outputs)


def test_odd_file_names_are_escaped_in_the_html_snapshot(make_container, engine):
    odd_names = [ODD_NAME, 'quote " and \' & amp', "ünïcödé space"]
    name = make_container(
        "touch '/<img src=x onerror=alert(1)>' && touch \"/quote \\\" and ' & amp\" && touch '/ünïcödé space'")
    diff = container_diff(name)
    assert {change.path for change in diff.changes} == {"/" + odd for odd in odd_names} | podman_etc(engine)
    assert sorted((str(diff) + "\n").splitlines()) == sorted(cli_diff(name).splitlines())
    html = diff._repr_mimebundle_()["text/html"]
    assert "<img" not in html and "onerror=alert(1)>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "quote &quot; and &#x27; &amp; amp" in html
    assert "ünïcödé space" in html
    assert "3&nbsp;added" in html


@pytest.mark.slow
def test_widget_for_100k_changes_starts_small_and_loads_a_folder_on_request(make_container, engine):
    name = make_container("mkdir -p /d && cd /d && seq 100000 | xargs touch")
    started = time.perf_counter()
    diff = container_diff(name)
    view = DiffView(diff)
    seconds = time.perf_counter() - started
    widget = view.widget

    # What is first sent: the widget's whole state (its code included) and the bundle beside it.
    state = widget.get_state()
    bundle, _ = view._repr_mimebundle_()
    first_bytes = len(json.dumps(state)) + len(bundle["text/plain"]) + len(bundle["text/html"])
    assert first_bytes < 200_000, first_bytes
    etc = len(podman_etc(engine))
    assert widget.summary["counts"] == {"A": 100_001, "C": etc, "D": 0}
    assert widget.summary["total"] == len(cli_diff(name).splitlines()) == 100_001 + etc
    assert [entry for entry in widget.first_level if entry[0] != "etc"] == [["d", "A", 100_001, 0, 0, 1, None]]
    assert "100,001" in bundle["text/html"] and "d/" in bundle["text/html"]
    assert seconds < 30
    # Measuring 100,000 files is not cheap: not done without being asked, and the header says so.
    assert diff.sizes is None and widget.summary["sizes_note"].startswith(
        f"sizes not measured ({100_001 + etc:,} changes): %docker_diff --sizes ")

    # A click on /d: the browser asks for its children; the kernel answers with the first page.
    replies = []
    widget.send = lambda content, buffers=None: replies.append(content)
    widget._handle_custom_msg({"request": "children", "path": "/d", "offset": 0, "kinds": ["A", "C", "D"],
                               "id": 7}, [])
    (reply,) = replies
    assert reply["id"] == 7 and reply["total"] == 100_000
    expected = [str(number) for number in range(1, PAGE_SIZE + 1)]  # numbers in numeric order
    assert [entry[0] for entry in reply["entries"]] == expected
    assert all(entry[1:6] == ["A", 1, 0, 0, 0] for entry in reply["entries"])
    assert len(json.dumps(reply)) < 50_000

    # The path filter, answered by the kernel and capped.
    widget._handle_custom_msg({"request": "search", "text": "/d/9999", "id": 8}, [])
    search = replies[-1]
    assert search["total"] == 11  # 9999 and 99990..99999
    assert [match[1] for match in search["matches"]][:2] == ["/d/9999", "/d/99990"]


def test_sizes_of_added_and_changed_files_running_and_stopped(make_container):
    name = make_container(
        "mkdir /w && head -c 1234 /dev/zero > /w/a && mkdir /w/sub && head -c 99 /dev/zero > /w/sub/b "
        "&& ln /w/a /w/hard && ln -s /w/a /w/soft && echo 0123456789 >> /etc/passwd && rm /etc/group "
        "&& touch /tmp/ready && sleep 600", detach=True)
    for _ in range(100):
        if "/tmp/ready" in cli_diff(name):
            break
        time.sleep(0.1)
    passwd_size = int(docker_cli("exec", name, "wc", "-c", "/etc/passwd").stdout.split()[0])

    def check(diff):
        assert diff.sizes == {"/w/a": 1234, "/w/sub/b": 99, "/w/hard": 1234, "/etc/passwd": passwd_size,
                              "/tmp/ready": 0}
        by_path = {change.path: change.size for change in diff.changes}
        assert by_path["/w/a"] == 1234 and by_path["/etc/group"] is None and by_path["/w"] is None
        # Directories in the tree add up what is below them.
        assert diff.tree.entry("/w").size == 1234 + 99 + 1234

    running = container_diff(name, sizes=True)
    check(running)
    assert running.size_method == "archive"
    # A diff this small is measured without being asked; --no-sizes (sizes=False) leaves it out.
    check(container_diff(name))
    assert container_diff(name, sizes=False).sizes is None
    # The other way (one export when there would be too many requests) measures the same.
    exported, method = change_sizes(
        *_engine_and_id(name), [(change.kind, change.path) for change in running.changes], max_requests=0)
    assert method == "export" and exported == running.sizes

    docker_cli("stop", "-t", "0", name)
    check(container_diff(name, sizes=True))


def _engine_and_id(name):
    from dockmagic.engine import connect

    engine = connect()
    return engine, engine.client.containers.get(name).id


def test_unknown_container_is_a_clear_not_found(ipython_shell, unique_name):
    missing = unique_name("dmmissing")
    with pytest.raises(NotFound, match=f"No container named '{missing}'"):
        ipython_shell.run_line_magic("docker_diff", missing)
    with pytest.raises(NotFound):
        container_diff("Bad Name!")


def test_terminal_prints_docker_diff_text_once_and_binds_the_result(ipython_shell, make_container, capsys,
                                                                    engine):
    name = make_container("echo hi > /root/hello && rm /linuxrc")
    # What docker diff prints: Docker lists a directory's deletions after its other changes; Podman lists
    # the paths sorted, with its own "C /etc" (see podman_etc).
    expected = ("C /etc\nD /linuxrc\nC /root\nA /root/hello\n" if engine.is_podman
                else "C /root\nA /root/hello\nD /linuxrc\n")
    assert cli_diff(name) == expected
    ipython_shell.run_cell(f"%docker_diff {name}", store_history=True)
    printed = capsys.readouterr().out
    # The magic prints docker diff's lines; the cell's Out does not print them a second time.
    assert printed.count("A /root/hello") == 1 and printed.count("D /linuxrc") == 1
    assert printed.startswith(expected)
    ipython_shell.run_cell(f"d = %docker_diff {name}", store_history=True)
    assert capsys.readouterr().out == expected
    result = ipython_shell.user_ns["d"]
    assert [change.kind + " " + change.path + "\n" for change in result.changes] == expected.splitlines(True)
    # Shown again later on purpose: it shows.
    ipython_shell.run_cell("d", store_history=True)
    assert "A /root/hello" in capsys.readouterr().out


@pytest.mark.slow
def test_in_a_notebook_kernel_the_widget_shows_once_with_a_static_snapshot(make_container, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    name = make_container(f"touch '/{ODD_NAME}' && echo x >> /etc/passwd")
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("%load_ext dockmagic"),
        nbformat.v4.new_code_cell(f"d = %docker_diff {name}"),
        nbformat.v4.new_code_cell(f"%docker_diff {name}"),
        nbformat.v4.new_code_cell("print(len(d.changes), d.counts)"),
    ])
    NotebookClient(notebook, timeout=120, kernel_name="python3", store_widget_state=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    for cell in notebook.cells[1:3]:
        (output,) = cell.outputs  # one output: the widget, not also an Out with the same diff
        assert output.output_type == "display_data"
        data = output.data
        assert "application/vnd.jupyter.widget-view+json" in data
        assert "&lt;img src=x onerror=alert(1)&gt;" in data["text/html"]
        assert "<img" not in data["text/html"]
        assert f"A /{ODD_NAME}" in data["text/plain"]
    assert notebook.cells[3].outputs[0].text == "3 {'A': 1, 'C': 2, 'D': 0}\n"
    # The saved widget state holds the first level only.
    states = notebook.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]
    diff_states = [s["state"] for s in states.values() if "first_level" in s["state"]]
    assert len(diff_states) == 2
    assert sorted(entry[0] for entry in diff_states[0]["first_level"]) == sorted(["etc", ODD_NAME])
