#!/usr/bin/env bash
# Everything dockmagic needs on this machine, idempotent: a venv with the package and its test tools,
# Debian's shellcheck and Chromium (for the lint step and the browser tests), a running container engine,
# and the base images (see setup-engine.sh). On a machine that has them all it changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

# Debian's packages the rest needs: a venv (python3-venv holds ensurepip), shellcheck for the scripts'
# lint, Chromium for the browser tests (Playwright drives it; it downloads no browser of its own).
PACKAGES=(python3 python3-venv shellcheck chromium)
if is_debian_root; then
  apt_install "${PACKAGES[@]}"
else
  for package in "${PACKAGES[@]}"; do
    command -v dpkg-query >/dev/null && is_installed "$package" && continue
    warn "cannot check or install Debian's $package here (not root on Debian); install it if the tests ask for it"
  done
fi

if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  python3 -m venv .venv
fi
# Reinstall only when setup.cfg changed since the last install.
stamp=.venv/.dockmagic-installed
if [ ! -f "$stamp" ] || [ setup.cfg -nt "$stamp" ] || ! .venv/bin/python -c "import dockmagic" 2>/dev/null; then
  say "installing dockmagic and its test tools into .venv"
  log=.venv/pip-install.log
  if ! { .venv/bin/python -m pip install -q --upgrade pip && .venv/bin/python -m pip install -q -e ".[test,bench]"; } >"$log" 2>&1; then
    cat "$log" >&2
    die "installing the package failed (see above)"
  fi
  touch "$stamp"
fi
# The %%dockerfile highlighting extension: a wheel installs it into share/jupyter/labextensions, an editable
# install does not (setuptools leaves data_files out of editable wheels), so link the built one there.
ext=.venv/share/jupyter/labextensions/dockmagic-highlight
[ -e "$ext" ] || { mkdir -p "$(dirname "$ext")" && ln -sfn "$PWD/dockmagic/labextension" "$ext"; }
bash scripts/setup-engine.sh
# The loopback registries (TLS + htpasswd on 5443, HTTP on 5000) for the pull, push and FROM-a-registry tests.
if is_debian_root; then bash scripts/setup-registry.sh; else warn "not root on Debian: no local registries (the registry tests skip)"; fi
