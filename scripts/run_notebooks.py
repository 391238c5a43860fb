"""Execute every notebook in notebooks/ headless (nbclient) and write each executed notebook, with its
outputs and widget state, and an HTML export of it to one output folder.

Usage: python scripts/run_notebooks.py [--out DIR] [--update] [NOTEBOOK ...]
--update also writes the executed notebooks back into notebooks/ (what the repository shows).
Exits non-zero if any cell of any notebook fails.
"""

from __future__ import annotations

import argparse
import pathlib
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


def execute(path: pathlib.Path, timeout: int = 900) -> nbformat.NotebookNode:
    notebook = nbformat.read(path, as_version=4)
    remove_leftovers(notebook)
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", store_widget_state=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    return notebook


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "out" / "notebooks"))
    parser.add_argument("--update", action="store_true")
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
        started = time.monotonic()
        print(f"executing {path.name} ...", flush=True)
        try:
            notebook = execute(path)
        except CellExecutionError as error:
            failures += 1
            print(f"FAILED {path.name}:\n{str(error)[-2000:]}", file=sys.stderr)
            continue
        executed = out / path.name
        nbformat.write(notebook, executed)
        body, _ = exporter.from_notebook_node(notebook)
        (out / path.with_suffix(".html").name).write_text(body, encoding="utf-8")
        if args.update:
            nbformat.write(notebook, path)
        print(f"  ok in {time.monotonic() - started:.1f} s -> {executed} and {executed.with_suffix('.html')}")
    print(f"\nExecuted notebooks and HTML exports are in {out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
