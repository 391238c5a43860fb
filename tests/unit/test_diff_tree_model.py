"""The diff tree as a person reads it: numbers in numeric order, chains of single folders on one row."""

from __future__ import annotations

from dockmagic.models.diff_tree import DiffTree
from dockmagic.operations.diff import Change, ContainerDiff
from dockmagic.views.diff_view import answer, diff_html, initial_state

PIP_INSTALL = [
    ("C", "/usr"), ("C", "/usr/local"), ("C", "/usr/local/lib"), ("A", "/usr/local/lib/python3.11"),
    ("A", "/usr/local/lib/python3.11/dist-packages"),
    ("A", "/usr/local/lib/python3.11/dist-packages/six.py"),
    ("A", "/usr/local/lib/python3.11/dist-packages/attrs"),
    ("A", "/usr/local/lib/python3.11/dist-packages/attrs/__init__.py"),
    ("C", "/etc"), ("C", "/etc/passwd"),
]


def names(entries):
    return [entry.name for entry in entries]


def test_children_sort_numbers_in_numeric_order():
    changes = [("A", f"/data/{number}") for number in (100, 11, 2, 10, 1)] + [
        ("A", "/logs/step-10.log"), ("A", "/logs/step-9.log"), ("A", "/logs/step-9b.log")]
    tree = DiffTree(changes)
    assert names(tree.children("/data")[0]) == ["1", "2", "10", "11", "100"]
    assert names(tree.children("/logs")[0]) == ["step-9.log", "step-9b.log", "step-10.log"]
    matches, _ = tree.search("/data/")
    assert [path for _, path in matches] == ["/data/1", "/data/2", "/data/10", "/data/11", "/data/100"]


def test_a_chain_of_single_folders_is_one_row():
    tree = DiffTree(PIP_INSTALL)
    top, total = tree.children("/", collapse=True)
    assert total == 2
    usr = next(entry for entry in top if entry.name.startswith("usr"))
    # usr, local, lib and python3.11 each hold only the next folder: one row, named by the chain, with the
    # last folder's path and kind (dist-packages was added).
    assert usr.name == "usr/local/lib/python3.11/dist-packages"
    assert usr.path == "/usr/local/lib/python3.11/dist-packages"
    assert usr.kind == "A"
    # The row counts every change of the chain and below it.
    assert (usr.added, usr.changed, usr.deleted) == (5, 3, 0)
    # Opening it lists the last folder's children; attrs holds one file, so it stays a row of its own.
    inside, _ = tree.children(usr.path, collapse=True)
    assert names(inside) == ["attrs", "six.py"]
    # A folder holding one file is not a chain; without collapse, the tree is level by level.
    assert "etc" in names(top)
    assert names(tree.children("/")[0]) == ["etc", "usr"]


def test_collapse_follows_the_kind_filter():
    changes = PIP_INSTALL + [("D", "/usr/share/doc")]
    tree = DiffTree(changes)
    top, _ = tree.children("/", collapse=True)
    assert "usr" in names(top)  # usr holds local and share: no chain
    deleted_only, _ = tree.children("/", kinds=["D"], collapse=True)
    assert names(deleted_only) == ["usr/share"]


def make_diff(changes, sizes=None):
    return ContainerDiff(container="play", container_id="0123456789abcdef", image="busybox",
                         changes=[Change(kind, path, (sizes or {}).get(path)) for kind, path in changes],
                         sizes=sizes)


def test_the_widget_and_the_snapshot_show_the_collapsed_chain_and_the_sizes_note():
    diff = make_diff(PIP_INSTALL)
    state = initial_state(diff)
    assert [row[0] for row in state["first_level"]] == ["etc", "usr/local/lib/python3.11/dist-packages"]
    assert state["summary"]["magic"] == "%docker_diff play"
    assert state["summary"]["sizes_note"] == "sizes not measured: %docker_diff --sizes play measures them"
    reply = answer(diff.tree, {"request": "children", "path": "/usr/local/lib/python3.11/dist-packages", "id": 1})
    assert [row[0] for row in reply["entries"]] == ["attrs", "six.py"]
    html = diff_html(diff)
    assert "usr/local/lib/python3.11/dist-packages/" in html and "--sizes play" in html
    measured = make_diff(PIP_INSTALL, sizes={"/usr/local/lib/python3.11/dist-packages/six.py": 31_200})
    assert initial_state(measured)["summary"]["sizes_note"] == ""
    assert "31.2kB" in diff_html(measured)


def test_sizes_are_measured_by_default_only_where_cheap():
    from dockmagic.operations.diff import CHEAP_SIZE_CHANGES, CHEAP_SIZE_REQUESTS, too_costly_to_measure

    # apt-get install figlet: a few new folders and files beside existing ones.
    lesson = [("C", "/usr"), ("C", "/usr/bin"), ("A", "/usr/bin/figlet"), ("A", "/usr/share/figlet"),
              *[("A", f"/usr/share/figlet/font{i}.flf") for i in range(40)]]
    assert too_costly_to_measure(lesson) == ""
    scattered = [("C", "/d"), *[("A", f"/d/{i}") for i in range(CHEAP_SIZE_REQUESTS + 1)]]
    assert too_costly_to_measure(scattered) == f"{CHEAP_SIZE_REQUESTS + 1} paths to ask the engine for"
    one_big_folder = [("A", "/many"), *[("A", f"/many/{i}") for i in range(CHEAP_SIZE_CHANGES)]]
    assert too_costly_to_measure(one_big_folder) == f"{CHEAP_SIZE_CHANGES + 1:,} changes"
    diff = make_diff(PIP_INSTALL)
    diff.sizes_skipped = "5,001 changes"
    assert initial_state(diff)["summary"]["sizes_note"] == \
        "sizes not measured (5,001 changes): %docker_diff --sizes play measures them"
