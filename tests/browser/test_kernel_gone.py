"""Item 7 of the first afternoon: a notebook reopened after its kernel restarted. Its views come from the
saved widget state; what needs the old kernel (a folder of the diff tree, earlier log lines) says plainly
that the kernel is gone and which cell to run again, instead of "loading…" forever."""

from __future__ import annotations

import pytest

from .conftest import NotebookPage, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]


def test_views_of_a_restarted_kernel_say_which_cell_to_run_again(lab, page, browser, unique_name):
    container = unique_name("dmgone")
    lab.write_notebook("gone.ipynb", [
        "%load_ext dockmagic",
        "%%dockerfile --no-cache\nFROM busybox\nRUN seq 500\n",
        f"!docker run --name {container} busybox sh -c 'mkdir -p /data/a && touch /data/a/1 /data/b' && echo made",
        f"%docker_diff {container}",
        f"!docker rm -f {container} > /dev/null",
    ])
    notebook = NotebookPage(page, lab, "gone.ipynb")
    notebook.run_all()
    notebook.output(1).locator(".dockmagic-build[data-state='done']").wait_for(timeout=120000)
    notebook.output(3).locator(".dockmagic-diff").wait_for(timeout=120000)
    notebook.wait_idle()
    page.locator(".lm-MenuBar-itemLabel").get_by_text("Kernel", exact=True).click()
    page.locator(".lm-Menu-itemLabel").get_by_text("Shut Down Kernel", exact=True).click()
    notebook.save()

    # Reopened: a new kernel starts; the views are drawn from the state saved in the notebook.
    reopened = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
    try:
        reopened.goto(lab.notebook_url("gone.ipynb"))
        reopened.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60000)
        tree = reopened.locator(".dockmagic-diff")
        tree.wait_for(timeout=60000)
        tree.locator(".dm-node").filter(has_text="data").first.locator(".dm-row").first.click()
        gone = tree.locator(".dm-kernel-gone")
        gone.wait_for(timeout=30000)
        assert gone.text_content() == (f"The kernel that made this view has restarted: run the cell with "
                                       f"%docker_diff {container} again.")
        assert tree.locator(".dm-loading").count() == 0

        build = reopened.locator(".dockmagic-build[data-state='done']")
        step = build.locator(".dm-step").filter(has_text="RUN seq")
        step.locator(".dm-step-line").click()
        more = step.locator(".dm-more")
        more.wait_for()  # the log is drawn once laid out
        assert "300 earlier lines are not shown here" in step.locator(".dm-log-note").text_content()
        more.click()
        reopened.wait_for_function(
            "(note) => note.textContent.includes('has restarted')",
            arg=step.locator(".dm-log-note").element_handle(), timeout=30000)
        note = step.locator(".dm-log-note").text_content()
        assert note.startswith("The kernel that made this view has restarted: run this %%dockerfile cell again. "
                               "Its full log: ")
        assert not more.is_visible()
        screenshot(reopened, "kernel-gone", reopened.locator(".jp-Notebook"))
    finally:
        reopened.context.close()
