"""A %%dockerfile cell run again in JupyterLab (real headless Chromium): the notebook clears its output, and
the new build is shown in the widget of the earlier run, with the new build's rows and log lines only."""

from __future__ import annotations

import json

import pytest

from .conftest import NotebookPage, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.engine, pytest.mark.flaky(reruns=2)]

def test_a_cell_run_again_shows_the_new_build_and_its_log(lab, page, unique_name, cleanup):
    tag = unique_name("dmagain")
    cleanup["images"].append(tag)  # whatever the notebook's last cell did
    lab.write_notebook("again.ipynb", [
        "%load_ext dockmagic",
        f"%%dockerfile -t {tag} --no-cache\nFROM busybox\nRUN echo run-$(cat /proc/sys/kernel/random/uuid)\n",
        f"!docker rmi -f {tag} > /dev/null",
    ])
    notebook = NotebookPage(page, lab, "again.ipynb")
    notebook.run_all()
    output = notebook.output(1)
    build = output.locator(".dockmagic-build[data-state='done']")
    build.wait_for(timeout=120000)
    notebook.wait_idle()

    def run_line() -> str:
        row = build.locator(".dm-step").filter(has=page.locator(".dm-instruction", has_text="RUN echo run-"))
        if "dm-open" not in (row.get_attribute("class") or ""):
            row.locator(".dm-step-line").click()
        log = row.locator(".dm-log-window")
        log.wait_for()
        lines = [line for line in log.text_content().split() if line.startswith("run-") and "$(" not in line]
        assert len(lines) == 1, log.text_content()
        return lines[0]

    first_line = run_line()
    first_image = build.locator(".dm-image-id").text_content()
    # Shift+Enter with the focus on the row just opened (a person's next key): the cell runs again.
    page.keyboard.press("Shift+Enter")
    # The output was cleared and the build shown again, done, with the new build's image and line.
    page.wait_for_function(
        "([selector, before]) => { const el = document.querySelector(selector);"
        " return el && el.dataset.state === 'done' && !el.textContent.includes(before); }",
        arg=[".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell:nth-child(2) .dockmagic-build", first_image],
        timeout=120000)
    assert output.locator(".dockmagic-build").count() == 1
    second_image = build.locator(".dm-image-id").text_content()
    second_line = run_line()
    assert second_line != first_line
    screenshot(page, "build-cell-run-again", build)
    notebook.wait_idle()
    # Saved with its widget state (as this server is set up to): the cell's one build widget, not one a run.
    notebook.save()
    saved = json.loads((lab.root / "again.ipynb").read_text())
    models = saved["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"].values()
    builds = [model for model in models if "header" in model["state"]]
    assert len(builds) == 1 and builds[0]["state"]["header"]["image_id"] in second_image
