"""Execute every notebook in notebooks/ headless (nbclient) and write each executed notebook, with its
outputs and widget state, and an HTML export of it to one output folder.

Each notebook runs from a copy in the output folder, so the recordings it makes (%docker_recordings) land
there too and the repository is left as it was.

Usage: python scripts/run_notebooks.py [--out DIR] [--update] [--keep-recordings] [NOTEBOOK ...]
--update also writes the executed notebooks and their recordings back into notebooks/ (what the
repository shows, and what Binder replays).
Exits non-zero if any cell of any notebook fails.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter

ROOT = pathlib.Path(__file__).resolve().parent.parent


def remove_leftovers(notebook: nbformat.NotebookNode) -> None:
    """Remove what an interrupted earlier run of the notebook left (its metadata names its containers and
    images), so that the job can always run again. With no engine there is nothing to remove."""
    import docker

    from dockmagic.engine import connect
    from dockmagic.errors import EngineUnavailable

    leftovers = notebook.metadata.get("dockmagic", {}).get("leftovers", {})
    try:
        engine = connect()
    except EngineUnavailable:
        return
    for name in leftovers.get("containers", []):
        try:
            engine.client.containers.get(name).remove(force=True)
            print(f"  removed container {name} left by an earlier run")
        except docker.errors.NotFound:
            pass
    for name in leftovers.get("images", []):
        try:
            engine.client.images.remove(name, force=True)
            print(f"  removed image {name} left by an earlier run")
        except docker.errors.ImageNotFound:
            pass


def execute(path: pathlib.Path, workdir: pathlib.Path, timeout: int = 900) -> nbformat.NotebookNode:
    """Run the notebook in ``workdir`` (its cells' working folder) and return it with its outputs."""
    notebook = nbformat.read(path, as_version=4)
    remove_leftovers(notebook)
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", store_widget_state=True,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()
    return notebook


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def static_copy(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook as an HTML page shows it with no kernel and no network: each dockmagic view as its
    static HTML snapshot (which every view carries beside the widget) instead of a widget that needs the
    widget manager's script from a CDN."""
    copy = nbformat.from_dict(json.loads(json.dumps(notebook)))
    for cell in copy.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data and "text/html" in data:
                del data[WIDGET_VIEW]
    copy.metadata.pop("widgets", None)
    return copy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "out" / "notebooks"))
    parser.add_argument("--update", action="store_true")
    parser.add_argument("--keep-recordings", action="store_true",
                        help="Keep the recordings already in the output folder (to replay them with no engine).")
    parser.add_argument("notebooks", nargs="*")
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [pathlib.Path(p) for p in args.notebooks] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    if not paths:
        print("run_notebooks: no notebooks found in notebooks/", file=sys.stderr)
        return 1
    exporter = HTMLExporter()
    failures = 0
    for path in paths:
        path = path.resolve()
        if not args.keep_recordings:
            shutil.rmtree(out / "recordings" / path.stem, ignore_errors=True)
        started = time.monotonic()
        print(f"executing {path.name} ...", flush=True)
        try:
            notebook = execute(path, out)
        except CellExecutionError as error:
            failures += 1
            print(f"FAILED {path.name}:\n{str(error)[-2000:]}", file=sys.stderr)
            continue
        executed = out / path.name
        nbformat.write(notebook, executed)
        body, _ = exporter.from_notebook_node(static_copy(notebook))
        (out / path.with_suffix(".html").name).write_text(body, encoding="utf-8")
        if args.update:
            nbformat.write(notebook, path)
            recordings = out / "recordings" / path.stem
            if recordings.is_dir():
                target = path.parent / "recordings" / path.stem
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(recordings, target)
        print(f"  ok in {time.monotonic() - started:.1f} s -> {executed} and {executed.with_suffix('.html')}")
    print(f"\nExecuted notebooks and HTML exports are in {out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
