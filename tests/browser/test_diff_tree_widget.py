"""The diff tree's widget script in a real headless Chromium: folders load page by page from the kernel's
answers, kind toggles and the path filter work, and untrusted names stay text."""

from __future__ import annotations

import pytest

from dockmagic.views.diff_view import PAGE_SIZE, DiffTreeWidget

from ..unit.test_diff_tree import make_diff

pytestmark = pytest.mark.browser

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
        assert page.locator(".dm-tree > li > .dm-row .dm-size").all_inner_texts() == ["1.99MB", "100kB"]
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
