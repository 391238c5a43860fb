"""What a data scientist hit on a first afternoon with the build view, tried in JupyterLab in a real
headless Chromium: clocks that tick, the steps still to come, a step with no output, long lines, and a
narrow pane. Both builds ask for the legacy builder's view (a row per step from the start); BuildKit's
view has its own tests (test_buildkit_view.py)."""

from __future__ import annotations

import pathlib

import pytest

from .conftest import NotebookPage

pytestmark = [pytest.mark.browser, pytest.mark.engine, pytest.mark.flaky(reruns=2)]

DOCS_SCREENSHOTS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PIP_WARNING = ("WARNING: Running pip as the 'root' user can result in broken permissions and conflicting "
               "behaviour with the system package manager, possibly rendering your system unusable. It is "
               "recommended to use a virtual environment instead: https://pip.pypa.io/warnings/venv. Use the "
               "--root-user-action option if you know what you are doing and want to suppress this warning.")

CLOCKS = """(build) => ({
  header: build.querySelector('.dm-clock').textContent,
  running: build.querySelector(".dm-step[data-state='running'] .dm-time").textContent,
  messages: window.dmCommMessages,  // counted by conftest's WATCH_KERNEL_MESSAGES
})"""


def seconds(text: str) -> float:
    assert text.endswith(" s"), text
    return float(text[:-2])


def docs_screenshot(locator, name: str) -> None:
    DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    locator.screenshot(path=str(DOCS_SCREENSHOTS / f"{name}.png"))


def test_clocks_tick_pending_steps_show_and_long_lines_read_whole(lab, page, unique_name):
    tag = unique_name("dmclock")
    dockerfile = (f"%%dockerfile -t {tag} --no-cache --builder legacy\nFROM busybox\nRUN echo sleeping && sleep 6\n"
                  f"RUN echo \"{PIP_WARNING}\"\nENV FINISHED=yes\nCMD [\"true\"]")
    lab.write_notebook("afternoon.ipynb", ["%load_ext dockmagic", dockerfile, f"!docker rmi -f {tag} > /dev/null"])
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    notebook = NotebookPage(page, lab, "afternoon.ipynb")
    notebook.run_all()
    build = notebook.output(1).locator(".dockmagic-build")
    build.wait_for(timeout=120000)
    running = build.locator(".dm-step[data-state='running']").filter(has_text="sleep 6")
    running.wait_for(timeout=60000)

    # Item 3: every step is a row from the start; those still to come are greyed and say so.
    rows = build.locator(".dm-step")
    assert rows.count() == 5
    assert [row.get_attribute("data-state") for row in rows.all()][2:] == ["pending"] * 3
    assert rows.nth(4).locator(".dm-instruction").text_content() == 'CMD ["true"]'
    docs_screenshot(build, "build-pending-steps")

    # Item 1: while the step sleeps (printing nothing), the header's clock and the step's clock tick,
    # and the kernel sends nothing for it.
    handle = build.element_handle()
    first = page.evaluate(CLOCKS, handle)
    page.wait_for_timeout(2000)
    second = page.evaluate(CLOCKS, handle)
    assert build.get_attribute("data-state") == "building", "the build ended before the clocks were read twice"
    assert seconds(second["header"]) > seconds(first["header"]), (first, second)
    assert seconds(second["running"]) > seconds(first["running"]), (first, second)
    assert second["messages"] == first["messages"], (first, second)

    notebook.output(1).locator(".dockmagic-build[data-state='done']").wait_for(timeout=120000)
    notebook.wait_idle()

    # Item 4: a step that printed nothing says so, instead of opening to an empty bar.
    quiet = build.locator(".dm-step").nth(0)
    quiet.locator(".dm-step-line").click()
    assert quiet.locator(".dm-log-empty").text_content() == "no output"
    assert not quiet.locator(".dm-log-viewport").is_visible()

    # Item 5: a long line is not cut: the log scrolls sideways to its end, and the line copies whole.
    loud = build.locator(".dm-step").nth(2)
    loud.locator(".dm-step-line").click()
    line = loud.locator(".dm-line").filter(has_text="WARNING: Running pip")
    line.wait_for()
    viewport = loud.locator(".dm-log-viewport")
    sizes = viewport.evaluate("(v) => ({scroll: v.scrollWidth, client: v.clientWidth})")
    assert sizes["scroll"] > sizes["client"], sizes
    assert line.evaluate("(l) => l.scrollWidth <= l.clientWidth + 1"), "the line is clipped"
    # Scrolled to the right (the log redraws its lines on scroll: the line is looked up after that).
    end_visible = viewport.evaluate("""async (v) => {
        v.scrollLeft = v.scrollWidth;
        await new Promise(requestAnimationFrame);
        await new Promise(requestAnimationFrame);
        const l = Array.from(v.querySelectorAll('.dm-line'))
          .find((n) => n.textContent.includes('WARNING: Running pip'));
        const range = document.createRange();
        range.setStart(l.firstChild, l.firstChild.length - 8);
        range.setEnd(l.firstChild, l.firstChild.length);
        const text = range.getBoundingClientRect();
        const box = v.getBoundingClientRect();
        return text.left >= box.left && text.right <= box.right + 1; }""")
    assert end_visible, "scrolled to the right, the end of the line is not in view"
    docs_screenshot(build, "build-long-line")
    line.click()
    copy = loud.locator(".dm-copy")
    copy.click()
    page.wait_for_function("(button) => button.textContent === 'copied'", arg=copy.element_handle(), timeout=10000)
    assert page.evaluate("() => navigator.clipboard.readText()") == PIP_WARNING


def test_narrow_pane_keeps_the_instruction_readable(lab, page, unique_name):
    """Item 6: the build view and the diff tree at about 500 px: nothing overflows sideways, and the
    instruction has more room than the time."""
    container = unique_name("dmnarrow")
    packages = "/usr/local/lib/python3.11/dist-packages/pkg"
    modules = " && ".join(f"echo {number} > module_{number}.py" for number in (1, 2, 10, 11, 100))
    lab.write_notebook("narrow.ipynb", [
        "%load_ext dockmagic",
        "%%dockerfile --no-cache --builder legacy\nFROM busybox\n"
        "RUN echo installing the packages this notebook needs && echo done\n"
        "ENV PYTHONDONTWRITEBYTECODE=1\nCMD [\"python3\", \"-m\", \"http.server\"]",
        f"!docker run --name {container} busybox sh -c 'mkdir -p {packages} && cd {packages} && {modules}'"
        " && echo made",
        f"%docker_diff --sizes {container}",
        f"!docker rm -f {container} > /dev/null",
    ])
    page.set_viewport_size({"width": 1400, "height": 1100})
    notebook = NotebookPage(page, lab, "narrow.ipynb")
    notebook.run_all()
    build = notebook.output(1).locator(".dockmagic-build[data-state='done']")
    build.wait_for(timeout=120000)
    tree = notebook.output(3).locator(".dockmagic-diff")
    tree.wait_for(timeout=120000)
    notebook.wait_idle()
    # The chain of single folders is one row; opened, the modules come in numeric order.
    chain = tree.locator(".dm-node").filter(has_text="usr/local/lib/python3.11/dist-packages/pkg").first
    chain.locator(".dm-row").first.click()
    chain.locator(".dm-children .dm-node").nth(4).wait_for(timeout=30000)
    assert chain.locator(".dm-children .dm-name").all_inner_texts() == [
        f"module_{number}.py" for number in (1, 2, 10, 11, 100)]
    build.locator(".dm-step").nth(1).locator(".dm-step-line").click()
    docs_screenshot(build, "build-wide")
    docs_screenshot(tree, "diff-tree-wide")

    # A 900 px window with the file browser open, as the user had it: about 470 px for the output.
    page.set_viewport_size({"width": 900, "height": 1100})
    if not page.locator(".jp-FileBrowser").is_visible():
        page.keyboard.press("Control+Shift+f")
        page.locator(".jp-FileBrowser").wait_for()
    page.wait_for_timeout(500)
    width = build.evaluate("(b) => b.getBoundingClientRect().width")
    assert 420 <= width <= 560, width
    docs_screenshot(build, "build-narrow")
    docs_screenshot(tree, "diff-tree-narrow")
    for view in (build, tree):
        overflow = view.evaluate("(v) => ({scroll: v.scrollWidth, client: v.clientWidth})")
        assert overflow["scroll"] <= overflow["client"], (view, overflow)
    for row in build.locator(".dm-step").all():
        instruction = row.locator(".dm-instruction").evaluate("(i) => i.getBoundingClientRect().width")
        time = row.locator(".dm-time").evaluate("(t) => t.getBoundingClientRect().width")
        assert instruction > time, (instruction, time)
        clipped = row.locator(".dm-instruction").evaluate("(i) => i.scrollWidth > i.clientWidth + 1")
        assert not clipped, row.locator(".dm-instruction").text_content()
    names = tree.locator(".dm-tree > li > .dm-row .dm-name")
    for name in names.all():
        assert not name.evaluate("(n) => n.scrollWidth > n.clientWidth + 1"), name.text_content()
