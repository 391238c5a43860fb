"""%%dockerfile in JupyterLab, in a real headless Chromium: live rows, cache marks, logs on click, the
failing step brought forward, a page that stays responsive while a million lines stream.

These are the legacy builder's view ("Step 2/3" rows, a million lines a step): every cell asks for it with
--builder legacy. BuildKit's view has its own tests (test_buildkit_view.py)."""

from __future__ import annotations

import pytest

from .conftest import NotebookPage, screenshot

# A browser driving a UI on a loaded machine can miss a beat; a failure must repeat twice more to count.
pytestmark = [pytest.mark.browser, pytest.mark.engine, pytest.mark.flaky(reruns=2)]


def test_steps_appear_live_and_change_state(lab, page, unique_name):
    tag = unique_name("dmbrowser")
    lab.write_notebook("live.ipynb", [
        "%load_ext dockmagic",
        f"%%dockerfile -t {tag} --no-cache --builder legacy\nFROM busybox\n"
        "RUN echo first-step-started && sleep 6 && echo first-step-done\n"
        "RUN echo second step\nCMD [\"echo\", \"hi\"]",
        f"%%dockerfile -t {tag} --builder legacy\nFROM busybox\n"
        "RUN echo first-step-started && sleep 6 && echo first-step-done\n"
        "RUN echo second step\nCMD [\"echo\", \"hi\"]",
        f"!docker rmi -f {tag} > /dev/null",
    ])
    notebook = NotebookPage(page, lab, "live.ipynb")
    notebook.run_all()
    build = notebook.output(1).locator(".dockmagic-build")
    # A fresh kernel on a busy machine can take a while to import everything.
    build.wait_for(timeout=120000)
    # The test sees the step running before it is done: the view is live, not drawn at the end.
    running = build.locator(".dm-step[data-state='running']")
    running.first.wait_for(timeout=60000)
    assert "RUN echo first-step-started" in running.first.locator(".dm-instruction").text_content()
    assert build.get_attribute("data-state") == "building"
    screenshot(page, "build-running", build)
    page.wait_for_selector(".jp-CodeCell:nth-child(2) .dockmagic-build[data-state='done'], "
                           ".dockmagic-build[data-state='done']", timeout=60000)
    assert [s.get_attribute("data-state") for s in build.locator(".dm-step").all()] == ["done"] * 4
    assert "4 of 4 steps" in build.locator(".dm-summary").text_content()
    assert tag in build.locator(".dm-tags").text_content()

    rebuild = notebook.output(2).locator(".dockmagic-build[data-state='done']")
    rebuild.wait_for(timeout=60000)
    states = [s.get_attribute("data-state") for s in rebuild.locator(".dm-step").all()]
    assert states == ["done", "cached", "cached", "cached"]
    assert "3 from cache" in rebuild.locator(".dm-summary").text_content()

    # Clicking a step shows its log.
    step = build.locator(".dm-step").nth(1)
    step.locator(".dm-step-line").click()
    log = step.locator(".dm-log-window")
    log.wait_for()
    assert "first-step-started" in log.text_content() and "first-step-done" in log.text_content()
    screenshot(page, "build-done-log-open", build)
    notebook.wait_idle()


def test_failing_step_opens_with_its_exit_code(lab, page):
    lab.write_notebook("failing.ipynb", [
        "%load_ext dockmagic",
        "%%dockerfile --builder legacy\nFROM busybox\n"
        "RUN echo checking the configuration && ls /no/such/folder\nCMD [\"true\"]",
    ])
    notebook = NotebookPage(page, lab, "failing.ipynb")
    notebook.run_all()
    build = notebook.output(1).locator(".dockmagic-build[data-state='failed']")
    build.wait_for(timeout=60000)
    failed = build.locator(".dm-step[data-state='failed']")
    assert failed.count() == 1
    assert "dm-open" in failed.get_attribute("class")
    assert "checking the configuration" in failed.locator(".dm-log-window").text_content()
    failure = build.locator(".dm-failure").text_content()
    assert "Failed at Step 2/3: RUN echo checking the configuration && ls /no/such/folder (exit code 1)" in failure
    assert "No such file or directory" in failure
    # The cell's error is one short line, not a traceback.
    error = notebook.output(1).locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']")
    assert "DockerBuildError" in error.text_content() and "Traceback" not in error.text_content()
    screenshot(page, "build-failed", notebook.output(1))


def test_page_stays_responsive_while_a_million_lines_stream(lab, page):
    lab.write_notebook("million.ipynb", [
        "%load_ext dockmagic",
        "%%dockerfile --no-cache --builder legacy\nFROM busybox\n"
        "RUN echo a short step\nRUN seq 1000000 && sleep 2 && seq 1000000\n",
    ])
    notebook = NotebookPage(page, lab, "million.ipynb")
    notebook.run_all()
    build = notebook.output(1).locator(".dockmagic-build")
    streaming = build.locator(".dm-step").nth(2)
    streaming.wait_for(timeout=60000)
    streaming.locator(".dm-step-line").click()
    page.wait_for_function(
        "() => { const w = document.querySelectorAll('.dockmagic-build .dm-step')[2]?.querySelector('.dm-log-window');"
        " return w && w.textContent.length > 0; }", timeout=60000)
    # While the log streams, a click that needs no kernel (opening another step's log) answers fast.
    timings = []
    for _ in range(3):
        timings.append(page.evaluate("""async () => {
            const row = document.querySelectorAll('.dockmagic-build .dm-step')[1];
            const line = row.querySelector('.dm-step-line');
            const started = performance.now();
            line.click();
            await new Promise(requestAnimationFrame);
            return performance.now() - started; }"""))
        page.wait_for_timeout(200)
    assert build.get_attribute("data-state") == "building", "the build ended before the clicks were measured"
    assert max(timings) < 300, timings
    scroll = page.evaluate("""async () => {
        const viewport = document.querySelectorAll('.dockmagic-build .dm-step')[2].querySelector('.dm-log-viewport');
        const started = performance.now();
        viewport.scrollTop = 0;
        viewport.dispatchEvent(new Event('scroll'));
        await new Promise(requestAnimationFrame);
        return performance.now() - started; }""")
    assert scroll < 300
    build.and_(page.locator("[data-state='done']")).wait_for(timeout=120000)
    screenshot(page, "build-million-lines", build)
    # Only the visible lines exist in the DOM, and the page holds a bounded number of lines.
    drawn = streaming.locator(".dm-line").count()
    assert 0 < drawn < 100
    heap = page.evaluate("() => performance.memory ? performance.memory.usedJSHeapSize : 0")
    assert heap < 200 * 2**20, heap
    assert "earlier lines are not shown here" in streaming.locator(".dm-log-note").text_content()
