"""%docker_diff's tree in JupyterLab, untrusted text staying text, persistence after reopening, the HTML
export, and a smoke test in Notebook 7."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

from ..conftest import docker_cli
from .conftest import JupyterServer, NotebookPage, screenshot

# A browser driving a UI on a loaded machine can miss a beat; a failure must repeat twice more to count.
pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]
HOSTILE = "<img src=x onerror=window.dmPwned=1>"
SCRIPT = "<script>window.dmPwned=2</script>"


@pytest.fixture
def hundred_thousand_changes(unique_name):
    name = unique_name("dmdiff")
    docker_cli("run", "--name", name, "busybox", "sh", "-c",
               "mkdir -p /data && cd /data && for d in $(seq 1 100); do mkdir $d; "
               "(cd $d && seq 1 1000 | xargs touch); done; rm /bin/vi; echo x >> /etc/passwd")
    yield name
    docker_cli("rm", "-f", name, check=False)


@pytest.mark.engine
def test_diff_tree_counts_expands_and_filters(lab, page, hundred_thousand_changes):
    name = hundred_thousand_changes
    lab.write_notebook("diff.ipynb", ["%load_ext dockmagic", f"%docker_diff {name}"])
    notebook = NotebookPage(page, lab, "diff.ipynb")
    notebook.run_all()
    tree = notebook.output(1).locator(".dockmagic-diff")
    tree.wait_for(timeout=120000)
    header = tree.locator(".dm-diff-header").text_content()
    assert "100,10" in header or "100101" in header.replace(",", "") or "100,102" in header, header
    # The top level is drawn; /data is collapsed until clicked.
    data = tree.locator(".dm-node").filter(has_text="data").first
    data.locator(".dm-row").first.click()
    children = data.locator(".dm-children .dm-node")
    children.first.wait_for(timeout=30000)
    assert children.count() >= 1
    screenshot(page, "diff-tree-open", tree)
    data.locator(".dm-row").first.click()
    assert not data.locator(".dm-children .dm-node").first.is_visible()
    # Filter by kind: hiding the added entries leaves the changed and deleted ones.
    tree.locator(".dm-toggle.dm-kind-A").click()
    # The view asks the kernel for the filtered top level ("loading…" until it answers): wait for the answer.
    page.wait_for_function("() => { const rows = Array.from(document.querySelectorAll("
                           "'.dockmagic-diff .dm-tree > li > .dm-row')).map(row => row.textContent);"
                           " return rows.some(text => text.includes('bin/'))"
                           " && !rows.some(text => text.includes('data/')); }", timeout=30000)
    assert "bin/" in tree.locator(".dm-tree").first.text_content()
    assert "loading" not in tree.locator(".dm-tree").first.text_content()
    tree.locator(".dm-toggle.dm-kind-A").click()
    tree.locator(".dm-node").filter(has_text="data").first.wait_for(timeout=30000)
    # Filter by path text: the kernel answers with the matching paths.
    tree.locator(".dm-diff-filter").fill("passwd")
    page.wait_for_function("() => document.querySelector('.dockmagic-diff .dm-matches') && "
                           "document.querySelector('.dockmagic-diff .dm-matches').textContent.includes('passwd')",
                           timeout=30000)
    assert "/data/" not in tree.locator(".dm-matches").text_content()
    screenshot(page, "diff-tree-filtered", tree)
    notebook.wait_idle()


@pytest.mark.engine
def test_untrusted_text_is_shown_as_text_and_runs_nothing(lab, page, unique_name):
    container = unique_name("dmhostile")
    lab.write_notebook("hostile.ipynb", [
        "%load_ext dockmagic",
        f"%%dockerfile --no-cache\nFROM busybox\nRUN echo '{HOSTILE}' && echo '{SCRIPT}' >&2",
        f"%docker_run busybox echo '{HOSTILE}{SCRIPT}'",
        f"!docker run --name {container} busybox sh -c \"touch '/tmp/{HOSTILE}'\" && echo made",
        f"%docker_diff {container}",
        f"!docker rm -f {container} > /dev/null",
    ])
    notebook = NotebookPage(page, lab, "hostile.ipynb")
    notebook.run_all()
    build = notebook.output(1).locator(".dockmagic-build[data-state='done']")
    build.wait_for(timeout=60000)
    build.locator(".dm-step").filter(has_text="RUN echo").locator(".dm-step-line").click()
    assert HOSTILE in build.locator(".dm-log-window").text_content()
    assert SCRIPT in build.locator(".dm-log-window").text_content()
    notebook.output(2).get_by_text(HOSTILE + SCRIPT).wait_for(timeout=60000)
    tree = notebook.output(4).locator(".dockmagic-diff")
    tree.wait_for(timeout=60000)
    tree.locator(".dm-node").filter(has_text="tmp").first.locator(".dm-row").first.click()
    page.wait_for_function(
        f"() => document.querySelector('.dockmagic-diff').textContent.includes({json.dumps(HOSTILE)})",
        timeout=30000)
    notebook.wait_idle()
    # Nothing ran: no image element from the text, and the flag the markup would set is unset.
    assert page.evaluate("() => window.dmPwned") is None
    assert page.locator(".jp-OutputArea img[src='x']").count() == 0
    screenshot(page, "untrusted-text", notebook.output(1))


@pytest.mark.engine
def test_outputs_survive_saving_and_reopening_without_a_kernel(lab, page, browser):
    lab.write_notebook("saved.ipynb", [
        "%load_ext dockmagic",
        "%%dockerfile\nFROM busybox\nRUN echo kept after reopening\n",
    ])
    notebook = NotebookPage(page, lab, "saved.ipynb")
    notebook.run_all()
    notebook.output(1).locator(".dockmagic-build[data-state='done']").wait_for(timeout=60000)
    notebook.wait_idle()
    page.locator(".lm-MenuBar-itemLabel").get_by_text("Kernel", exact=True).click()
    page.locator(".lm-Menu-itemLabel").get_by_text("Shut Down Kernel", exact=True).click()
    notebook.save()
    page.wait_for_timeout(1000)
    saved = json.loads((lab.root / "saved.ipynb").read_text())
    assert "application/vnd.jupyter.widget-state+json" in saved["metadata"]["widgets"]
    reopened = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    # A new kernel has no such widget: what shows comes from the state saved in the notebook.
    reopened.goto(lab.notebook_url("saved.ipynb"))
    reopened.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=60000)
    build = reopened.locator(".dockmagic-build[data-state='done']")
    build.wait_for(timeout=60000)
    assert "2 of 2 steps" in build.locator(".dm-summary").text_content()
    screenshot(reopened, "reopened-without-kernel", build)
    reopened.context.close()


def test_html_export_shows_the_final_state(page, tmp_path):
    executed = pathlib.Path(__file__).resolve().parents[2] / "notebooks" / "02-dockerfile-builds.ipynb"
    out = tmp_path / "export"
    out.mkdir()
    script = ("import sys, nbformat; sys.path.insert(0, 'scripts');"
              "from run_notebooks import static_copy; from nbconvert import HTMLExporter;"
              f"nb = nbformat.read({str(executed)!r}, 4);"
              f"open({str(out / 'page.html')!r}, 'w').write(HTMLExporter().from_notebook_node(static_copy(nb))[0])")
    subprocess.run([sys.executable, "-c", script], check=True, cwd=pathlib.Path(__file__).resolve().parents[2])
    page.goto((out / "page.html").as_uri())
    snapshot = page.locator(".dockmagic-build-snapshot").first
    snapshot.wait_for(timeout=30000)
    assert "Build done" in snapshot.text_content()
    failed = page.locator(".dockmagic-build-snapshot").filter(has_text="Build failed").first
    assert "exit code" in failed.text_content()
    screenshot(page, "html-export", failed)


@pytest.mark.engine
def test_notebook_7_smoke(page):
    server = JupyterServer("notebook")
    try:
        server.write_notebook("nb7.ipynb",
                              ["%load_ext dockmagic", "%%dockerfile\nFROM busybox\nRUN echo in notebook 7\n"])
        page.goto(server.notebook_url("nb7.ipynb"))
        page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=60000)
        notebook = NotebookPage.__new__(NotebookPage)
        notebook.page, notebook.server = page, server
        notebook.run_all()
        build = page.locator(".dockmagic-build[data-state='done']")
        build.wait_for(timeout=60000)
        assert "2 of 2 steps" in build.locator(".dm-summary").text_content()
        screenshot(page, "notebook7", build)
    finally:
        server.stop()
