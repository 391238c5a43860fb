"""Why a step missed the cache, as a person reads it on the build view in JupyterLab (real headless
Chromium): the rebuild's row of the changed COPY says which file changed, the rows after it say why they
ran, and the cached rows say nothing."""

from __future__ import annotations

import pytest

from .conftest import NotebookPage, screenshot
from .test_build_view_first_afternoon import docs_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.engine, pytest.mark.flaky(reruns=2)]


@pytest.mark.parametrize("builder", ["buildkit", "legacy"])
def test_the_rebuild_says_which_file_made_its_steps_run(lab, page, unique_name, tmp_path, builder):
    tag = unique_name("dmwhy")
    folder = tmp_path / "project"
    folder.mkdir()
    cell = (f"%%dockerfile -t {tag} --context {folder} --builder {builder}\nFROM busybox\n"
            f"COPY notes.txt /notes.txt\nRUN wc -c /notes.txt && echo {tag}\nCMD [\"cat\", \"/notes.txt\"]")
    lab.write_notebook(f"why-{builder}.ipynb", [
        "%load_ext dockmagic",
        f"open({str(folder / 'notes.txt')!r}, 'w').write('first notes {tag}\\n')",
        cell,
        f"open({str(folder / 'notes.txt')!r}, 'w').write('second, longer notes {tag}\\n')",
        cell,
        f"!docker rmi -f {tag} > /dev/null",
    ])
    notebook = NotebookPage(page, lab, f"why-{builder}.ipynb")
    notebook.run_all()
    first, rebuild = notebook.output(2).locator(".dockmagic-build"), notebook.output(4).locator(".dockmagic-build")

    def row(build, instruction: str):
        """The step whose instruction starts so (another row's note may name it too)."""
        return build.locator(".dm-step").filter(has=page.locator(".dm-instruction", has_text=instruction))

    row(rebuild, "COPY notes.txt").locator(".dm-cache-miss").wait_for(timeout=120000)
    copy, run = row(rebuild, "COPY notes.txt"), row(rebuild, "RUN wc -c")
    size = len(f"second, longer notes {tag}\n")
    old = len(f"first notes {tag}\n")
    assert copy.locator(".dm-cache-miss").text_content() == \
        f"ran: files it copies changed: modified notes.txt ({old}B → {size}B)"
    assert run.locator(".dm-cache-miss").text_content().startswith("ran: an earlier step ran (step ")
    assert run.locator(".dm-cache-miss").is_visible()
    # The first build of this cell: nothing to compare with, and it says so once, on its first step that ran.
    assert row(first, "COPY notes.txt").locator(".dm-cache-miss").text_content() == \
        "ran: first build: dockmagic knows no earlier build of this cell or tag on this engine"
    assert row(first, "RUN wc -c").locator(".dm-cache-miss").count() == 0
    screenshot(page, f"cache-miss-{builder}", rebuild)
    if builder == "buildkit":
        docs_screenshot(rebuild, "build-cache-miss")
