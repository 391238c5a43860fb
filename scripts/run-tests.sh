#!/usr/bin/env bash
# The tests, against real engines: sets everything up first (idempotent), lints, then runs pytest.
#
# Always first: ruff over the Python code and shellcheck over scripts/*.sh (either complaining fails the run).
# With no arguments: the engine-free tests (tests/unit/) with DOCKER_HOST pointing at no engine, then the
# whole suite against the local Docker Engine, then the integration tests (build, cache, run, shell, diff,
# commit, history) again against Podman and against a remote Docker Engine reached over TLS on 127.0.0.1.
# DOCKMAGIC_ENGINES chooses among "docker podman tls ssh" (the first three by default; "ssh" runs them again
# through scripts/setup-sshd.sh's sshd on 127.0.0.1:2222, which takes several times as long: one ssh session
# per request).
# With arguments: pytest with those arguments, against the local Docker Engine only.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

PYTEST=(.venv/bin/python -m pytest -q -rR -p no:cacheprovider)  # -rR: name any test that needed a rerun
NOWHERE=unix:///nonexistent/dockmagic-no-engine.sock
failed=0

lint() {  # lint LABEL COMMAND...: a linter that must find nothing
  local label=$1; shift
  echo "run-tests: $label"
  "$@" || { echo "run-tests: $label found problems (see above)" >&2; failed=1; }
}

run() {  # run LABEL PYTEST-ARGS...: one pytest run; exit 5 (nothing collected) is a failure here
  local label=$1; shift
  echo "run-tests: $label"
  set +e
  "${PYTEST[@]}" "$@"
  local status=$?
  set -e
  if [ "$status" -eq 5 ]; then
    echo "run-tests: $label: pytest collected no tests; that is a failure here" >&2
    status=1
  fi
  [ "$status" -eq 0 ] || { echo "run-tests: $label failed (exit $status)" >&2; failed=1; }
}

lint "ruff" .venv/bin/ruff check --no-cache --output-format concise .
command -v shellcheck >/dev/null || { echo "run-tests: shellcheck is missing (apt-get install shellcheck)" >&2; exit 1; }
lint "shellcheck scripts/*.sh" shellcheck -x scripts/*.sh

if [ "$#" -gt 0 ]; then
  run "pytest $*" "$@"
  exit "$failed"
fi

# The claim that parsing, models, views, --check and replay need no engine, checked: no engine answers here.
DOCKER_HOST=$NOWHERE run "the engine-free tests (tests/unit/) with DOCKER_HOST=$NOWHERE" tests/unit

engines=${DOCKMAGIC_ENGINES:-docker podman tls}
for engine in $engines; do
  case $engine in
    docker)
      run "the whole suite on the local Docker Engine" ;;
    podman)
      bash scripts/setup-podman.sh
      DOCKER_HOST=unix:///run/podman/podman.sock run "integration tests on Podman" -m integration ;;
    tls)
      bash scripts/setup-tls-engine.sh
      # shellcheck disable=SC1091
      ( source /var/lib/dockmagic-tls/client/env.sh
        run "integration tests on the remote engine over TLS" -m integration
        run "registry tests on the remote engine over TLS (it trusts the same certs.d)" tests/test_registry.py
        exit "$failed" ) || failed=1 ;;
    ssh)
      bash scripts/setup-sshd.sh
      # shellcheck disable=SC1091
      ( source /var/lib/dockmagic-ssh/client/env.sh
        run "integration tests on the engine over ssh" -m integration
        exit "$failed" ) || failed=1 ;;
    *)
      echo "run-tests: unknown engine '$engine' in DOCKMAGIC_ENGINES (use docker, podman, tls, ssh)" >&2; failed=1 ;;
  esac
done
exit "$failed"
