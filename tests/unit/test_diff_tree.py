"""The diff tree builder (pure): counts, paths, ordering, paging, search, and what the widget first gets."""

from __future__ import annotations

import json
import random
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from dockmagic.models.diff_tree import KINDS, DiffTree, natural_key
from dockmagic.operations.diff import Change, ContainerDiff
from dockmagic.views.diff_view import PAGE_SIZE, answer, diff_html, initial_state

NAMES = st.text(alphabet="ab.-_ Zé<>&\"'", min_size=1, max_size=4).filter(lambda name: name not in (".", ".."))
PATHS = st.lists(NAMES, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts))
CHANGES = st.dictionaries(PATHS, st.sampled_from(KINDS), max_size=60).map(
    lambda mapping: [(kind, path) for path, kind in mapping.items()])


def check_tree(changes):
    tree = DiffTree(changes)
    kinds = {path: kind for kind, path in changes}
    entries = list(tree.walk())

    # Counts add up: the tree's totals are the list's, and each directory's are its own change plus
    # its children's.
    assert tree.counts == {kind: Counter(kind for kind, _ in changes)[kind] for kind in KINDS}
    assert tree.total == len(changes)
    for entry in entries:
        children, total = tree.children(entry.path)
        assert total == len(children)
        assert entry.has_children == bool(children)
        own = {kind: int(entry.kind == kind) for kind in KINDS}
        assert entry.added == own["A"] + sum(child.added for child in children)
        assert entry.changed == own["C"] + sum(child.changed for child in children)
        assert entry.deleted == own["D"] + sum(child.deleted for child in children)
    roots, _ = tree.children("/")
    assert sum(entry.total for entry in roots) == len(changes)

    # Every path appears once, with its kind; the other entries are the directories leading to them.
    walked = [entry.path for entry in entries]
    assert len(walked) == len(set(walked))
    assert {entry.path: entry.kind for entry in entries if entry.kind} == kinds
    for entry in entries:
        if entry.kind is None:
            assert entry.has_children and entry.path not in kinds

    # Children ordering: by name, numbers in numeric order, at every level.
    for directory in ["/"] + [entry.path for entry in entries if entry.has_children]:
        names = [child.name for child in tree.children(directory)[0]]
        assert names == sorted(names, key=natural_key)
    return tree


@settings(max_examples=200, deadline=None)
@given(CHANGES)
def test_generated_diffs_make_consistent_trees(changes):
    check_tree(changes)


def test_a_docker_like_diff_makes_the_expected_tree():
    # What docker diff gives: changed parents before their contents, in no particular sibling order.
    changes = [("C", "/etc"), ("C", "/etc/passwd"), ("D", "/etc/group"), ("A", "/etc/new"),
               ("A", "/etc/new/file"), ("D", "/linuxrc"), ("C", "/bin"), ("D", "/bin/vi"),
               ("A", "/a b"), ("A", "/Z")]
    tree = check_tree(changes)
    top, total = tree.children("/")
    assert total == 5
    assert [(entry.name, entry.kind, entry.added, entry.changed, entry.deleted, entry.has_children)
            for entry in top] == [
        ("Z", "A", 1, 0, 0, False),
        ("a b", "A", 1, 0, 0, False),
        ("bin", "C", 0, 1, 1, True),
        ("etc", "C", 2, 2, 1, True),
        ("linuxrc", "D", 0, 0, 1, False),
    ]
    etc, _ = tree.children("/etc")
    assert [(entry.path, entry.kind) for entry in etc] == [
        ("/etc/group", "D"), ("/etc/new", "A"), ("/etc/passwd", "C")]
    assert tree.entry("/etc/new/file").kind == "A"
    assert tree.entry("/nowhere") is None
    assert tree.children("/etc/passwd") == ([], 0)


def test_paths_missing_their_parents_get_directory_entries():
    tree = check_tree([("A", "/x/y/z"), ("D", "/x/w")])
    x = tree.entry("/x")
    assert x.kind is None and (x.added, x.deleted) == (1, 1) and x.has_children
    assert tree.entry("/x/y").kind is None


def test_large_generated_diff_pages_and_filters():
    rng = random.Random(7)
    changes = [("C", "/srv")] + [
        (rng.choice(KINDS), f"/srv/{directory}/{index}") for directory in ("a", "b", "c") for index in range(3000)]
    tree = check_tree(changes)
    page, total = tree.children("/srv/b", offset=100, limit=50)
    assert total == 3000 and len(page) == 50
    all_names = [entry.name for entry in tree.children("/srv/b")[0]]
    assert [entry.name for entry in page] == all_names[100:150]
    # Kind filter: only children with a change of the selected kinds at or below them.
    deleted_only, deleted_total = tree.children("/srv/a", kinds=["D"])
    assert deleted_total == sum(1 for kind, path in changes if kind == "D" and path.startswith("/srv/a/"))
    assert all(entry.kind == "D" for entry in deleted_only)
    srv = tree.children("/", kinds=["D"])[0]
    assert [entry.name for entry in srv] == ["srv"]


def test_search_is_case_insensitive_sorted_capped_and_kind_filtered():
    changes = [("A", "/Data/Readme.md"), ("C", "/etc/readme"), ("D", "/readme.old"), ("A", "/other")]
    tree = DiffTree(changes)
    matches, total = tree.search("README")
    assert total == 3
    assert [path for _, path in matches] == ["/Data/Readme.md", "/etc/readme", "/readme.old"]
    matches, total = tree.search("readme", kinds=["A", "D"], limit=1)
    assert total == 2 and matches == [("A", "/Data/Readme.md")]
    assert tree.search("readme", kinds=["A", "D"], offset=1, limit=1)[0] == [("D", "/readme.old")]


def make_diff(changes, sizes=None) -> ContainerDiff:
    return ContainerDiff(container="play", container_id="0123456789abcdef", image="busybox",
                         changes=[Change(kind, path, (sizes or {}).get(path)) for kind, path in changes],
                         sizes=sizes)


def test_widget_state_for_100k_changes_at_the_top_level_is_one_page():
    # The worst case for the first level: 100,000 changes all directly under /.
    changes = [("A", f"/file-{index:06d}") for index in range(100_000)]
    state = initial_state(make_diff(changes))
    assert len(json.dumps(state)) < 200_000
    assert state["summary"]["counts"] == {"A": 100_000, "C": 0, "D": 0}
    assert state["first_level_total"] == 100_000
    assert len(state["first_level"]) == PAGE_SIZE
    assert state["first_level"][0] == ["file-000000", "A", 1, 0, 0, 0, None]


def test_kernel_answers_children_and_search_requests():
    changes = [("C", "/etc"), ("C", "/etc/passwd"), ("A", "/d")] + [("A", f"/d/{i}") for i in range(450)]
    diff = make_diff(changes, sizes={"/etc/passwd": 77, **{f"/d/{i}": i for i in range(450)}})
    tree = diff.tree
    first = answer(tree, {"request": "children", "path": "/d", "offset": 0, "id": 1})
    assert first["reply"] == "children" and first["id"] == 1 and first["path"] == "/d"
    assert first["total"] == 450 and len(first["entries"]) == PAGE_SIZE
    last = answer(tree, {"request": "children", "path": "/d/", "offset": 400, "id": 2})
    assert [entry[0] for entry in last["entries"]] == [str(i) for i in range(400, 450)]
    assert all(entry[1:] == ["A", 1, 0, 0, 0, int(entry[0])] for entry in last["entries"])
    found = answer(tree, {"request": "search", "text": "PASS", "kinds": ["C"], "id": 3})
    assert found["total"] == 1 and found["matches"] == [["C", "/etc/passwd", 77]]
    none = answer(tree, {"request": "search", "text": "passwd", "kinds": ["A"], "id": 4})
    assert none["total"] == 0 and none["matches"] == []
    assert answer(tree, {"request": "drop tables", "id": 5})["reply"] == "error"
    assert answer(tree, "not a request") is None
    # The summary counts the sizes of added and changed files at or below each directory.
    top = {entry[0]: entry for entry in answer(tree, {"request": "children", "path": "/"})["entries"]}
    assert top["d"][6] == sum(range(450)) and top["etc"][6] == 77


def test_snapshot_shows_counts_and_first_level_escaped():
    # (No slash in the markup: "/tmp/<b>bold</b>" would be a chain of folders, shown on one row.)
    changes = [("C", "/tmp"), ("A", "/tmp/<b>bold<\\b>"), ("A", "/<img src=x onerror=alert(1)>")]
    html = diff_html(make_diff(changes))
    assert "<img src=x" not in html and "<b>bold" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "3 changes" in html and "2&nbsp;added" in html and "1&nbsp;changed" in html
    # The first level only: what is below /tmp is counted, not listed.
    assert "tmp/" in html and "(1 added below)" in html and "bold" not in html
