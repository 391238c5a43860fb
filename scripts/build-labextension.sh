#!/usr/bin/env bash
# Rebuilds the JupyterLab / Notebook 7 extension that colours %%dockerfile cells as Dockerfiles, from
# labextension/ into dockmagic/labextension/ (the built assets are committed: installing dockmagic needs no
# node). For developers who change labextension/src; needs node and npm, and JupyterLab in .venv (its
# package list tells the builder which modules JupyterLab shares). Set PYTHON to use another environment.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "build-labextension: $tool is missing; install Node.js 18 or later" >&2; exit 1; }
done
core=$("$python" -c 'import jupyterlab, os; print(os.path.join(os.path.dirname(jupyterlab.__file__), "staging"))') || {
  echo "build-labextension: JupyterLab is not installed in $python's environment; run scripts/setup.sh first" >&2
  exit 1
}
cd labextension
npm ci --no-audit --no-fund --loglevel=error
npx tsc
node node_modules/@jupyterlab/builder/lib/build-labextension.js --core-path "$core" .
# The builder empties its output folder; install.json tells `jupyter labextension list` who installed it.
cp install.json ../dockmagic/labextension/install.json
# .venv's share/jupyter/labextensions/dockmagic-highlight is a link to that folder (scripts/setup.sh makes it):
# reload JupyterLab to use the new build. Another environment needs `pip install .` again.
echo "build-labextension: built into dockmagic/labextension"
