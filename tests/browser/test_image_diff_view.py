"""%docker_diff IMAGE --base and %docker_history IMAGE --treemap in JupyterLab: the diff tree with bytes and
the packages table, the treemap opening a folder on click and going back by its breadcrumb; untrusted
package names stay text."""

from __future__ import annotations

import uuid

import pytest

from ..conftest import docker_cli
from .conftest import NotebookPage, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]
HOSTILE = "<img src=x onerror=window.dmPwned=1>"
DIST_INFO = "/usr/local/lib/python3.11/dist-packages/fakepkg-1.2.dist-info"


@pytest.fixture(scope="module")
def customised(tmp_path_factory):
    """A child of debian:bookworm: a data folder, a pip dist-info, a dpkg stanza with a hostile name."""
    name = f"dmimgdiff-view-{uuid.uuid4().hex[:10]}:1"
    folder = tmp_path_factory.mktemp("imgdiff-view")
    (folder / "Dockerfile").write_text(
        "FROM debian:bookworm\n"
        f"RUN mkdir -p /srv/data {DIST_INFO} && head -c 3000000 /dev/urandom > /srv/data/model.bin"
        f" && printf 'Name: fakepkg\\nVersion: 1.2\\n' > {DIST_INFO}/METADATA"
        f" && printf '\\nPackage: {HOSTILE}\\nStatus: install ok installed\\nVersion: 1\\n' >> /var/lib/dpkg/status"
        f"  # {name}\n")
    docker_cli("build", "-q", "-t", name, str(folder))
    yield name
    docker_cli("rmi", "-f", name, check=False)


@pytest.mark.engine
def test_image_diff_and_treemap_in_lab(lab, page, customised):
    name = customised
    lab.write_notebook("imgdiff.ipynb", ["%load_ext dockmagic", f"%docker_diff {name} --base",
                                         f"%docker_history {name} --treemap"])
    notebook = NotebookPage(page, lab, "imgdiff.ipynb")
    notebook.run_all()
    diff = notebook.output(1)
    diff.locator(".dockmagic-diff").wait_for(timeout=120000)
    assert "Base: debian:bookworm" in diff.text_content()
    header = diff.locator(".dm-diff-header").text_content()
    assert f"debian:bookworm → {name}" in header and "3.08MB added or changed" in header
    table = diff.locator(".dockmagic-packages").text_content()
    assert HOSTILE in table and "fakepkg" in table and "1.2" in table
    assert page.locator("img[src=x]").count() == 0 and not page.evaluate("window.dmPwned")
    srv = diff.locator(".dm-node").filter(has_text="srv").first
    srv.locator(".dm-row").first.click()
    srv.locator(".dm-children .dm-node").first.wait_for(timeout=30000)
    screenshot(page, "image-diff-base", diff)

    treemap = notebook.output(2).locator(".dockmagic-treemap")
    treemap.wait_for(timeout=120000)
    assert "120MB in files" in treemap.locator(".dm-tm-header").text_content()
    usr = treemap.locator("g.dm-tm-folder[data-path='/usr']")
    assert "/usr/" in usr.locator("title").text_content()
    screenshot(page, "image-treemap-root", treemap)
    usr.click()
    treemap.locator("g[data-path='/usr/lib']").wait_for(timeout=30000)
    assert [text.strip() for text in treemap.locator(".dm-tm-crumb").all_inner_texts()] == ["/", "usr"]
    screenshot(page, "image-treemap-usr", treemap)
    treemap.locator(".dm-tm-crumb", has_text="/").first.click()
    treemap.locator("g[data-path='/srv']").wait_for(timeout=30000)
