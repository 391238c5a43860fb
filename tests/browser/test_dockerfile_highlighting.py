"""%%dockerfile cells are coloured as Dockerfiles, not as Python, in JupyterLab and Notebook 7 (the
dockmagic-highlight extension the package installs): FROM, RUN and CMD look like keywords, the magic line
stays as typed, and a plain Python cell keeps Python's colours."""

from __future__ import annotations

import pytest

from .conftest import SCREENSHOTS, JupyterServer

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]

NOT_LOADED = ("is the dockmagic-highlight extension installed and enabled? "
              "(.venv/bin/jupyter labextension list should show it)")
DOCKERFILE_CELL = '%%dockerfile -t highlight-demo\nFROM busybox\nRUN echo hello\nCMD ["echo", "hi"]'
PYTHON_CELL = "FROM = 'busybox'\nimport os"
TYPED_CELL = "%%dockerfile\nFROM busybox\nRUN echo typed\nCMD echo done"

# The colour and weight a person sees on the first word of a line that starts with `word` in code cell
# `index`: the styled element around that text (the line itself when the word has no style of its own).
WORD_STYLE = """([index, word]) => {
    const cells = document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell');
    const content = cells[index] && cells[index].querySelector('.cm-content');
    if (!content) return null;
    const starts = new RegExp('^\\\\s*' + word + '\\\\b');
    for (const line of content.querySelectorAll('.cm-line')) {
        if (!starts.test(line.textContent)) continue;
        const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            if (!node.textContent.trim()) continue;
            const style = getComputedStyle(node.parentElement);
            return {text: node.parentElement.textContent, color: style.color, weight: style.fontWeight};
        }
    }
    return null;
}"""


def word_style(page, cell: int, word: str) -> dict:
    style = page.evaluate(WORD_STYLE, [cell, word])
    assert style is not None, f"no line starting with {word!r} in cell {cell}"
    return style


def wait_until_coloured_like(page, cell: int, word: str, keyword: dict):
    """Waits until `word` in `cell` has the keyword's colour (the Dockerfile language loads lazily)."""
    try:
        page.wait_for_function(
            f"([index, word, color]) => {{ const s = ({WORD_STYLE})([index, word]); return s && s.color === color; }}",
            arg=[cell, word, keyword["color"]], timeout=30000)
    except Exception:
        pass  # the assertions below say what is seen instead


def open_notebook(page, server: JupyterServer, name: str):
    server.write_notebook(name, [DOCKERFILE_CELL, PYTHON_CELL, ""])
    page.goto(server.notebook_url(name))
    page.wait_for_selector(".jp-Notebook .jp-CodeCell .cm-content", timeout=60000)
    # The notebook gives every cell the kernel's language again when the kernel answers: wait for that.
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.jp-Notebook-ExecutionIndicator, .jp-Toolbar-kernelStatus'))"
        ".some(e => e.getAttribute('data-status') === 'idle' || /Idle/.test(e.getAttribute('title') || ''))",
        timeout=60000)
    # Python's own colouring is there: `import` is a keyword in the Python cell.
    page.wait_for_function(
        f"() => {{ const s = ({WORD_STYLE})([1, 'import']); return s && s.text === 'import'; }}", timeout=30000)
    return word_style(page, 1, "import")


def check_highlighting(page, server: JupyterServer, name: str):
    keyword = open_notebook(page, server, name)
    assert keyword["weight"] in ("bold", "700"), keyword

    # In the Python cell, FROM is a variable name: not coloured like a keyword.
    python_from = word_style(page, 1, "FROM")
    assert python_from["color"] != keyword["color"], (python_from, keyword)

    # In the %%dockerfile cell, the instructions are keywords.
    wait_until_coloured_like(page, 0, "FROM", keyword)
    for instruction in ("FROM", "RUN", "CMD"):
        seen = word_style(page, 0, instruction)
        assert seen["text"] == instruction and seen["color"] == keyword["color"], \
            f"{instruction} in the %%dockerfile cell is {seen}, a keyword is {keyword}: {NOT_LOADED}"
    # The magic line stays readable, as typed, and is not coloured as an instruction.
    first_line = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell").nth(0).locator(".cm-line").first
    assert first_line.text_content() == "%%dockerfile -t highlight-demo"
    assert word_style(page, 0, "%%dockerfile")["color"] != keyword["color"]

    # A cell typed by hand becomes a Dockerfile cell as soon as its first line is the magic.
    typed = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell").nth(2)
    typed.locator(".cm-content").click()
    page.keyboard.type(TYPED_CELL)
    wait_until_coloured_like(page, 2, "RUN", keyword)
    for instruction in ("FROM", "RUN", "CMD"):
        seen = word_style(page, 2, instruction)
        assert seen["text"] == instruction and seen["color"] == keyword["color"], \
            f"{instruction} in the typed %%dockerfile cell is {seen}: {NOT_LOADED}"
    # And the Python cell still has Python's colours.
    assert word_style(page, 1, "FROM")["color"] == python_from["color"]
    assert word_style(page, 1, "import")["color"] == keyword["color"]

    # Without the magic line, the typed cell is Python again.
    page.keyboard.press("Control+Home")
    page.keyboard.press("Shift+End")
    page.keyboard.press("Delete")
    page.wait_for_function(
        f"([color]) => {{ const s = ({WORD_STYLE})([2, 'FROM']); return s && s.color !== color; }}",
        arg=[keyword["color"]], timeout=30000)
    # Typing the magic again on the first line turns it back into a Dockerfile cell.
    page.keyboard.press("Control+Home")
    page.keyboard.type("%%dockerfile")
    wait_until_coloured_like(page, 2, "FROM", keyword)
    assert word_style(page, 2, "FROM")["color"] == keyword["color"]


def screenshot_cells(page, name: str):
    """A picture of the notebook's cells only (the page below them is empty)."""
    cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
    first, last = cells.first.bounding_box(), cells.last.bounding_box()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), clip={
        "x": first["x"] - 8, "y": first["y"] - 8, "width": first["width"] + 16,
        "height": last["y"] + last["height"] - first["y"] + 16})


def test_dockerfile_cells_are_coloured_as_dockerfiles_in_jupyterlab(lab, page):
    check_highlighting(page, lab, "highlight.ipynb")
    screenshot_cells(page, "dockerfile-highlighting")


def test_dockerfile_cells_are_coloured_as_dockerfiles_in_notebook_7(page):
    server = JupyterServer("notebook")
    try:
        check_highlighting(page, server, "highlight-nb7.ipynb")
        screenshot_cells(page, "dockerfile-highlighting-notebook7")
    finally:
        server.stop()
