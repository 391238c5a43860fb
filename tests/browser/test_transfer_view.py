"""%docker_push and %docker_pull in JupyterLab, in a real headless Chromium, against the loopback registry
(127.0.0.1:5000, scripts/setup-registry.sh): a row per layer with its bytes, the layer that already
existed, the totals and the digest; an unknown image is one line."""

from __future__ import annotations

import pytest

from .conftest import NotebookPage, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.engine, pytest.mark.flaky(reruns=2)]

REGISTRY = "127.0.0.1:5000"


def test_push_and_pull_views_show_layers_bytes_and_the_layers_already_there(lab, page, unique_name, cleanup):
    reference = f"{REGISTRY}/{unique_name('dmbrowser')}:1"
    cleanup["images"].append(reference)  # whatever the notebook's last cell did
    # A new random layer each run (--no-cache), which `docker rmi` really removes: the legacy builder keeps no
    # build cache holding it, so the pull downloads it again and finds only busybox's layer already there.
    lab.write_notebook("transfer.ipynb", [
        "%load_ext dockmagic",
        f"%%dockerfile -t {reference} --quiet --no-cache --builder legacy\n"
        "FROM busybox\nRUN head -c 30000000 /dev/urandom > /blob",
        f"%docker_push {reference}",
        f"!docker rmi {reference} > /dev/null",
        f"%docker_pull {reference}",
        f"%docker_pull {REGISTRY}/no-such-image:1",
        f"!docker rmi -f {reference} > /dev/null",
    ])
    notebook = NotebookPage(page, lab, "transfer.ipynb")
    notebook.run_all()

    push = notebook.output(2).locator(".dockmagic-transfer[data-state='done']")
    push.wait_for(timeout=120000)
    rows = push.locator(".dm-transfer-row")
    assert rows.count() == 2
    statuses = sorted(row.locator(".dm-transfer-status").text_content() for row in rows.all())
    assert "Pushed" in statuses
    assert f"Push {reference}: done" in push.locator(".dm-transfer-header").text_content()

    pull = notebook.output(4).locator(".dockmagic-transfer[data-state='done']")
    pull.wait_for(timeout=120000)
    existing = pull.locator(".dm-transfer-row[data-phase='already exists']")
    assert existing.count() == 1 and "already on the engine" in existing.text_content()
    pulled = pull.locator(".dm-transfer-row[data-phase='done']")
    assert "Pull complete" in pulled.text_content()
    assert "30MB / 30MB" in pulled.locator(".dm-transfer-bytes").text_content()
    totals = pull.locator(".dm-transfer-total").text_content()
    assert "30MB of 30MB" in totals and "1 layer already existed" in totals and "sha256:" in totals
    screenshot(page, "transfer-pull-done", notebook.output(4))

    failed = notebook.output(5)
    failed.locator(".dockmagic-transfer[data-state='failed']").wait_for(timeout=60000)
    error = failed.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']")
    error.wait_for(timeout=60000)
    text = error.text_content()
    assert f"The registry at {REGISTRY} has no image {REGISTRY}/no-such-image:1" in text
    assert "Traceback" not in text
    screenshot(page, "transfer-pull-unknown", failed)
    notebook.wait_idle()
