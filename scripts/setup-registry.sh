#!/usr/bin/env bash
# Make sure two real registries (Debian's docker-registry, Docker's own distribution registry) answer on
# loopback and hold the base images, for %docker_pull, %docker_push and builds FROM a registry:
#
#   127.0.0.1:5443  TLS (a certificate made here, which the engine trusts) and htpasswd auth
#   127.0.0.1:5000  plain HTTP, no auth (the engine allows plain HTTP to 127.0.0.0/8: an insecure registry
#                   by default)
#
# What it does, each step only when needed (idempotent: on a ready machine it changes nothing and says so):
#   - installs docker-registry, apache2-utils (htpasswd) and openssl from Debian's packages;
#   - makes, once, under /var/lib/dockmagic-registry/: ca/ca.pem (a CA for this registry only), server
#     cert.pem/key.pem (SAN IP:127.0.0.1), a test user with a random password in htpasswd (bcrypt), and
#     credentials.json (root only, 0600) holding that user and password for the tests;
#   - makes the engines trust the CA: /etc/docker/certs.d/127.0.0.1:5443/ca.crt (read at each pull and push,
#     no daemon restart), and the same under /etc/containers/certs.d for Podman;
#   - starts each registry in the background (setsid, from /, its own storage folder and config), unless
#     something already answers on its port; logs in /var/log/dockmagic-registry-PORT.log;
#   - pushes busybox:latest and debian:bookworm into both, unless the registry already lists them (the TLS
#     one with a throwaway DOCKER_CONFIG, so the user's ~/.docker/config.json is never touched).
# Debian, root only; the base images come from the main engine (scripts/setup-engine.sh).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$(dirname "$0")/.."

BASE=/var/lib/dockmagic-registry
TLS_PORT=5443
PLAIN_PORT=5000
USER_NAME=dockmagic
IMAGES=(busybox:latest debian:bookworm)

CHANGED=0
changed() { CHANGED=1; say "$*"; }

require_debian_root "elsewhere, start a registry on 127.0.0.1 yourself."
apt_install docker-registry apache2-utils openssl curl

mkdir -p "$BASE"
chmod 700 "$BASE"

# --- certificates: a CA of its own, and the server's certificate for 127.0.0.1 ---
if [ ! -f "$BASE/server/cert.pem" ]; then
  mkdir -p "$BASE/ca" "$BASE/server"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=dockmagic test registry CA" \
    -keyout "$BASE/ca/ca-key.pem" -out "$BASE/ca/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$BASE/server/key.pem" -out "$BASE/server/request.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$BASE/server/extensions.cnf"
  openssl x509 -req -days 3650 -in "$BASE/server/request.csr" -CA "$BASE/ca/ca.pem" \
    -CAkey "$BASE/ca/ca-key.pem" -CAcreateserial -extfile "$BASE/server/extensions.cnf" \
    -out "$BASE/server/cert.pem" 2>/dev/null
  changed "made a CA and a certificate for 127.0.0.1 in $BASE"
fi
for trust in "/etc/docker/certs.d/127.0.0.1:$TLS_PORT" "/etc/containers/certs.d/127.0.0.1:$TLS_PORT"; do
  if ! cmp -s "$BASE/ca/ca.pem" "$trust/ca.crt"; then
    mkdir -p "$trust"
    cp "$BASE/ca/ca.pem" "$trust/ca.crt"
    changed "the engine trusts the registry's CA: $trust/ca.crt"
  fi
done

# --- the test user: htpasswd for the registry, credentials.json for the tests ---
if [ ! -f "$BASE/credentials.json" ]; then
  password=$(openssl rand -hex 16)
  htpasswd -bBc "$BASE/htpasswd" "$USER_NAME" "$password" 2>/dev/null
  (umask 077 && printf '{"registry": "127.0.0.1:%s", "username": "%s", "password": "%s"}\n' \
    "$TLS_PORT" "$USER_NAME" "$password" >"$BASE/credentials.json")
  changed "made the test user $USER_NAME (its password in $BASE/credentials.json, root only)"
fi

# write_config PORT: the registry's config, its own storage; TLS and htpasswd on TLS_PORT.
write_config() {
  local port=$1 config=$BASE/registry-$1.yml
  mkdir -p "$BASE/storage-$port"
  {
    printf 'version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n'
    printf 'storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n' "$BASE/storage-$port"
    printf 'http:\n  addr: 127.0.0.1:%s\n  secret: %s\n' "$port" "dockmagic-$port"
    if [ "$port" = "$TLS_PORT" ]; then
      printf '  tls:\n    certificate: %s\n    key: %s\n' "$BASE/server/cert.pem" "$BASE/server/key.pem"
      printf 'auth:\n  htpasswd:\n    realm: dockmagic-registry\n    path: %s\n' "$BASE/htpasswd"
    fi
  } >"$config.new"
  if cmp -s "$config.new" "$config"; then rm "$config.new"; else mv "$config.new" "$config"; fi
}

# answers PORT: the registry's /v2/ answers (200 without auth, 401 with).
answers() {
  local scheme=http
  [ "$1" = "$TLS_PORT" ] && scheme=https
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 --cacert "$BASE/ca/ca.pem" \
    "$scheme://127.0.0.1:$1/v2/" || true)
  [ "$code" = 200 ] || [ "$code" = 401 ]
}

start_registry() {
  local port=$1
  write_config "$port"
  answers "$port" && return 0
  local log=/var/log/dockmagic-registry-$port.log
  (cd / && setsid nohup docker-registry serve "$BASE/registry-$port.yml" >>"$log" 2>&1 </dev/null &
   echo $! >"/run/dockmagic-registry-$port.pid")
  local _
  for _ in $(seq 50); do answers "$port" && { changed "started the registry on 127.0.0.1:$port"; return 0; }; sleep 0.1; done
  tail -n 20 "$log" >&2
  die "the registry on 127.0.0.1:$port did not answer (its log: $log)"
}

start_registry "$TLS_PORT"
start_registry "$PLAIN_PORT"

# --- the base images, in both ---
bash scripts/setup-engine.sh >/dev/null
password=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["password"])' "$BASE/credentials.json")

# has_tag PORT NAME TAG: the registry lists TAG of NAME.
has_tag() {
  local url="http://127.0.0.1:$1/v2/$2/tags/list" auth=()
  if [ "$1" = "$TLS_PORT" ]; then url="https://127.0.0.1:$1/v2/$2/tags/list"; auth=(-u "$USER_NAME:$password"); fi
  curl -s --max-time 5 --cacert "$BASE/ca/ca.pem" "${auth[@]}" "$url" | grep -q "\"$3\""
}

docker_config=''
logged_in=0
login_once() {  # a throwaway DOCKER_CONFIG, so the user's ~/.docker/config.json is never touched
  [ "$logged_in" = 1 ] && return 0
  new_temp_dir docker_config
  # docker login warns that this config holds the credential unencrypted: shown only on failure.
  printf '%s' "$password" | DOCKER_CONFIG=$docker_config docker login -u "$USER_NAME" --password-stdin \
    "127.0.0.1:$TLS_PORT" >"$docker_config/login.log" 2>&1 ||
    { cat "$docker_config/login.log" >&2; die "docker login to 127.0.0.1:$TLS_PORT failed"; }
  logged_in=1
}
for port in "$TLS_PORT" "$PLAIN_PORT"; do
  for image in "${IMAGES[@]}"; do
    name=${image%%:*} tag=${image##*:}
    has_tag "$port" "$name" "$tag" && continue
    login_once
    docker tag "$image" "127.0.0.1:$port/$image"
    DOCKER_CONFIG=$docker_config docker push -q "127.0.0.1:$port/$image" >/dev/null
    docker rmi "127.0.0.1:$port/$image" >/dev/null
    changed "pushed $image to 127.0.0.1:$port"
  done
done

[ "$CHANGED" = 1 ] || say "the registries on 127.0.0.1:$TLS_PORT (TLS, htpasswd) and 127.0.0.1:$PLAIN_PORT (HTTP) are up and hold ${IMAGES[*]}; nothing to do"
