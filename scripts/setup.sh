#!/usr/bin/env bash
# Everything dockmagic needs on this machine, idempotent: a venv with the package and its test tools,
# a running container engine, and the base images (see setup-engine.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
# Reinstall only when setup.cfg changed since the last install.
stamp=.venv/.dockmagic-installed
if [ ! -f "$stamp" ] || [ setup.cfg -nt "$stamp" ] || ! .venv/bin/python -c "import dockmagic" 2>/dev/null; then
  echo "setup: installing dockmagic and its test tools into .venv"
  log=.venv/pip-install.log
  if ! { .venv/bin/python -m pip install -q --upgrade pip && .venv/bin/python -m pip install -q -e ".[test,bench]"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "setup: installing the package failed (see above)" >&2
    exit 1
  fi
  touch "$stamp"
fi
# The %%dockerfile highlighting extension: a wheel installs it into share/jupyter/labextensions, an editable
# install does not (setuptools leaves data_files out of editable wheels), so link the built one there.
ext=.venv/share/jupyter/labextensions/dockmagic-highlight
[ -e "$ext" ] || { mkdir -p "$(dirname "$ext")" && ln -sfn "$PWD/dockmagic/labextension" "$ext"; }
# The browser tests drive Debian's Chromium (Playwright uses it; it downloads no browser of its own).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing chromium from Debian's packages (for the browser tests)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null
  else
    echo "setup: /usr/bin/chromium is missing; the browser tests need it (apt-get install chromium)" >&2
  fi
fi
bash scripts/setup-engine.sh
