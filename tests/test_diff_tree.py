"""The diff tree builder (pure): counts, paths, ordering, paging, search, and what the widget first gets."""

from __future__ import annotations

import json
import random
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from dockmagic.models.diff_tree import KINDS, DiffTree, natural_key
from dockmagic.operations.diff import Change, ContainerDiff
from dockmagic.views.diff_view import PAGE_SIZE, DiffTreeWidget, answer, diff_html, initial_state

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


ODD_NAME = "<img src=x onerror=alert(1)>"

HARNESS = """
async ([esm, state]) => {
  // A stand-in for the notebook's widget model: the state the kernel sent, and custom messages
  // answered by the kernel's own answer() (exposed from Python), as the real comm would.
  window.requests = [];
  window.alerted = false;
  window.alert = () => { window.alerted = true; };
  const listeners = {};
  const model = {
    get: (key) => state[key],
    on: (event, callback) => { (listeners[event] = listeners[event] || []).push(callback); },
    off: (event, callback) => { listeners[event] = (listeners[event] || []).filter((f) => f !== callback); },
    send: (message) => {
      window.requests.push(message);
      window.kernelAnswer(message).then((reply) => (listeners["msg:custom"] || []).forEach((f) => f(reply, [])));
    },
  };
  const url = URL.createObjectURL(new Blob([esm], { type: "text/javascript" }));
  const module = await import(url);
  module.default.render({ model, el: document.getElementById("host") });
}
"""


def test_widget_script_in_a_browser_loads_folders_filters_and_keeps_names_as_text(browser):
    changes = ([("C", "/bin"), ("D", "/bin/vi"), ("C", "/etc"), ("C", "/etc/passwd"), ("A", "/" + ODD_NAME),
                ("A", "/d")] + [("A", f"/d/{number}") for number in range(450)])
    widget = DiffTreeWidget(make_diff(changes, sizes={"/etc/passwd": 100_000, "/d/7": 1_990_000}))
    state = widget.get_state()
    page = browser.new_page()
    try:
        page.expose_function("kernelAnswer", widget.answer)
        page.set_content('<div id="host"></div>')
        page.evaluate(HARNESS, [state["_esm"], {key: state[key] for key in
                                                ("summary", "first_level", "first_level_total", "page_size")}])
        names = page.locator(".dm-tree > li > .dm-row .dm-name")
        # The first level is painted from the widget's state, with no request to the kernel.
        assert names.all_inner_texts() == [ODD_NAME, "bin/", "d/", "etc/"]
        # Folders show what is below them: counts by kind, and the bytes added or changed.
        assert page.locator(".dm-tree > li > .dm-row .dm-size").all_inner_texts() == ["1.99 MB", "100 kB"]
        assert page.locator(".dm-tree > li > .dm-row .dm-counts").all_inner_texts() == [
            "D 1", "A 450", "C 1"]
        assert page.evaluate("window.requests.length") == 0
        assert page.locator("img").count() == 0 and not page.evaluate("window.alerted")
        toggles = page.locator(".dm-toggle").all_inner_texts()
        assert [" ".join(text.split()) for text in toggles] == ["A 452 added", "C 3 changed", "D 1 deleted"]

        # A click on d/ asks the kernel for its first page; "more" asks for the rest.
        page.locator(".dm-row", has_text="d/").first.click()
        rows = page.locator(".dm-children .dm-row")
        rows.nth(PAGE_SIZE - 1).wait_for()
        assert rows.count() == PAGE_SIZE
        more = page.locator(".dm-more-button")
        assert more.inner_text() == "250 more in this folder…"
        more.click()
        rows.nth(2 * PAGE_SIZE - 1).wait_for()
        assert more.inner_text() == "50 more in this folder…"
        more.click()
        rows.nth(449).wait_for()
        assert rows.count() == 450 and more.count() == 0
        assert page.evaluate("window.requests.map((r) => [r.request, r.path, r.offset])") == [
            ["children", "/d", 0], ["children", "/d", PAGE_SIZE], ["children", "/d", 2 * PAGE_SIZE]]

        # Hiding added paths: the top level now holds only folders with changed or deleted paths.
        page.locator(".dm-toggle.dm-kind-A").click()
        page.wait_for_function("document.querySelectorAll('.dm-tree > li > .dm-row').length === 2")
        assert names.all_inner_texts() == ["bin/", "etc/"]

        # The path filter is answered by the kernel, with the selected kinds.
        page.fill(".dm-diff-filter", "PASS")
        page.wait_for_selector(".dm-match")
        assert page.locator(".dm-match .dm-name").all_inner_texts() == ["/etc/passwd"]
        assert page.evaluate("window.requests[window.requests.length - 1]")["kinds"] == ["C", "D"]
        page.fill(".dm-diff-filter", "onerror")
        page.locator(".dm-empty", has_text="No path matches.").wait_for()  # onerror: only an added path
        page.locator(".dm-toggle.dm-kind-A").click()
        page.wait_for_selector(".dm-match")
        assert page.locator(".dm-match .dm-name").all_inner_texts() == ["/" + ODD_NAME]
        assert page.locator("img").count() == 0 and not page.evaluate("window.alerted")
    finally:
        page.close()
