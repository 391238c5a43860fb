"""How ``%%dockerfile`` shows its build in a real notebook kernel, as a frontend receives it on iopub: a build
that ends within ``SHOW_LIVE_AFTER_SECONDS`` appears once, already ended; a longer one appears while it runs
and is updated to its end."""

from __future__ import annotations

import queue
import time

import pytest

from dockmagic.magics.display import SHOW_LIVE_AFTER_SECONDS

from .conftest import docker_cli

pytestmark = [pytest.mark.engine]

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", cwd=str(tmp_path_factory.mktemp("kernel")))
    try:
        assert run_cell(client, "%load_ext dockmagic")["status"] == "ok"
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def run_cell(client, code: str, timeout: float = 120, cell_id: str | None = None) -> dict:
    """Run ``code`` (as the notebook cell ``cell_id``, which JupyterLab and Notebook 7 send in the request's
    metadata); return its status and the iopub messages it caused, each with its arrival time."""
    if cell_id is None:
        msg_id = client.execute(code)
    else:
        content = {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                   "allow_stdin": False, "stop_on_error": True}
        request = client.session.msg("execute_request", content, metadata={"cellId": cell_id})
        client.shell_channel.send(request)
        msg_id = request["header"]["msg_id"]
    started = time.monotonic()
    messages = []
    while True:
        try:
            message = client.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no answer within {timeout} s: {code[:80]!r}") from None
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        message["arrived"] = time.monotonic() - started
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            break
        messages.append(message)
    reply = client.get_shell_msg(timeout=timeout)
    return {"status": reply["content"]["status"], "messages": messages, "seconds": time.monotonic() - started}


def build_widget_opens(messages) -> list[dict]:
    return [m for m in messages if m["msg_type"] == "comm_open"
            and m["content"]["data"]["state"].get("_model_name") == "AnyModel"
            and "header" in m["content"]["data"]["state"]]


def widget_updates(messages, comm_id: str) -> list[dict]:
    return [m for m in messages if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == comm_id
            and m["content"]["data"].get("method") == "update"]


@pytest.fixture
def tag(unique_name):
    name = unique_name("dmshown")
    yield name
    docker_cli("rmi", "-f", name, check=False)


def test_a_quick_build_is_shown_once_already_ended(kernel, tag):
    dockerfile = f"FROM busybox\nRUN echo {tag} > /marker\n"
    first = run_cell(kernel, f"%%dockerfile -t {tag}\n{dockerfile}")
    assert first["status"] == "ok"
    cached = run_cell(kernel, f"%%dockerfile -t {tag}\n{dockerfile}")  # a cached rebuild: a few tens of ms
    assert cached["status"] == "ok"
    if cached["seconds"] >= SHOW_LIVE_AFTER_SECONDS:
        pytest.skip(f"the cached rebuild took {cached['seconds']:.2f} s here, not quick enough to test this")
    opens = build_widget_opens(cached["messages"])
    assert len(opens) == 1
    state = opens[0]["content"]["data"]["state"]
    # Created in its final state: done, every row cached, the image named; and nothing sent after that.
    assert state["header"]["state"] == "done" and state["header"]["tags"] == [f"{tag}:latest"]
    rows = [row for row in state["steps"] if not row["internal"]]
    assert [row["instruction"] for row in rows] == ["FROM busybox", f"RUN echo {tag} > /marker"]
    assert rows[1]["state"] == "cached"
    assert rows[0]["state"] in ("cached", "done")  # BuildKit's FROM row: as the engine reports it
    assert widget_updates(cached["messages"], opens[0]["content"]["comm_id"]) == []
    shown = [m for m in cached["messages"] if m["msg_type"] in ("display_data", "update_display_data")]
    assert [m["msg_type"] for m in shown] == ["display_data"]
    assert WIDGET_MIME in shown[0]["content"]["data"]
    # The snapshot a saved notebook keeps says the build ended (never "building").
    assert "building" not in shown[0]["content"]["data"]["text/plain"].lower()
    assert "cached" in shown[0]["content"]["data"]["text/plain"].lower()


@pytest.mark.parametrize("builder", ["buildkit", "legacy"])
def test_a_longer_build_is_shown_while_it_runs_then_updated_to_its_end(kernel, tag, builder):
    ran = run_cell(kernel, f"%%dockerfile -t {tag} --no-cache --builder {builder}\n"
                           f"FROM busybox\nRUN sleep 2 && echo {tag}\n")
    assert ran["status"] == "ok"
    opens = build_widget_opens(ran["messages"])
    assert len(opens) == 1
    opened = opens[0]
    # It appeared while the build ran (about SHOW_LIVE_AFTER_SECONDS in, well before the 2-second step ended),
    # with the rows as they were then: the step running.
    state = opened["content"]["data"]["state"]
    assert state["header"]["state"] == "building"
    assert opened["arrived"] < ran["seconds"] - 1.0
    running = [row["instruction"] for row in state["steps"] if row["state"] == "running"]
    assert running == [f"RUN sleep 2 && echo {tag}"]
    updates = widget_updates(ran["messages"], opened["content"]["comm_id"])
    last_header = next(u["content"]["data"]["state"]["header"] for u in reversed(updates)
                       if "header" in u["content"]["data"]["state"])
    assert last_header["state"] == "done"
    shown = [m["msg_type"] for m in ran["messages"] if m["msg_type"] in ("display_data", "update_display_data")]
    assert shown == ["display_data", "update_display_data"]  # the saved snapshot is replaced by the ended one


def widget_shown(messages) -> str:
    (shown,) = [m for m in messages if m["msg_type"] == "display_data"]
    return shown["content"]["data"][WIDGET_MIME]["model_id"]


def test_a_cell_run_again_shows_its_build_in_the_widget_of_its_earlier_run(kernel, tag, unique_name):
    cell = f"%%dockerfile -t {tag}\nFROM busybox\nRUN echo {tag} > /marker\n"
    cell_id = unique_name("cell")
    first = run_cell(kernel, cell, cell_id=cell_id)
    assert first["status"] == "ok"
    model = widget_shown(first["messages"])
    again = run_cell(kernel, cell, cell_id=cell_id)
    assert again["status"] == "ok"
    # No new widget: the earlier one, its state replaced in one message, shown again.
    assert build_widget_opens(again["messages"]) == [] and widget_shown(again["messages"]) == model
    (update,) = widget_updates(again["messages"], model)
    header = update["content"]["data"]["state"]["header"]
    first_header = build_widget_opens(first["messages"])[0]["content"]["data"]["state"]["header"]
    assert header["state"] == "done" and header["log_dir"] != first_header["log_dir"]
    # Another cell, and two builds in one run of a cell, each get a widget of their own.
    other = run_cell(kernel, cell, cell_id=cell_id + "-other")
    assert len(build_widget_opens(other["messages"])) == 1 and widget_shown(other["messages"]) != model
    twice = run_cell(kernel, "for _ in range(2):\n    get_ipython().run_cell_magic('dockerfile', "
                             f"'-t {tag}', 'FROM busybox\\nRUN echo {tag} > /marker\\n')", cell_id=cell_id)
    models = [m["content"]["data"][WIDGET_MIME]["model_id"] for m in twice["messages"]
              if m["msg_type"] == "display_data"]
    assert len(models) == 2 and models[0] == model and models[1] != model
