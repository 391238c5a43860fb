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
cd ..
echo "build-labextension: built into dockmagic/labextension"
# An editable install holds copies of the assets in the environment's share/jupyter: refresh them when
# that environment's dockmagic is this checkout (and leave other environments alone).
installed=$(cd / && "$python" -c 'import dockmagic, os; print(os.path.dirname(os.path.dirname(os.path.realpath(dockmagic.__file__))))' 2>/dev/null || true)
if [ "$installed" = "$(pwd -P)" ]; then
  "$python" -m pip install -q --no-deps -e .
  "$(dirname "$python")/jupyter" labextension list 2>&1 | grep dockmagic-highlight
else
  echo "build-labextension: $python's dockmagic is not this checkout; reinstall it (pip install .) to use the new build"
fi
