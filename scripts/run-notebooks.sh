#!/usr/bin/env bash
# The main job: set everything up (idempotent), execute the notebooks headless with their widget state,
# and write the executed notebooks and an HTML export of each to one folder (default: out/notebooks).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python scripts/run_notebooks.py "$@"
