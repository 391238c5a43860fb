#!/usr/bin/env bash
# The tests, against the real engine: sets everything up first (idempotent), then runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
set +e
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "run-tests: pytest collected no tests; that is a failure here" >&2
  exit 1
fi
exit "$status"
