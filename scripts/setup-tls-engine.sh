#!/usr/bin/env bash
# Make sure a second, remote-style Docker Engine answers on tcp://127.0.0.1:2376 over mutual TLS and holds
# busybox:latest and debian:bookworm, for running dockmagic and its tests against an engine that is not a
# local unix socket (DOCKER_HOST=tcp://..., DOCKER_TLS_VERIFY=1, DOCKER_CERT_PATH=..., as docker-py and the
# docker CLI read them).
#
# Why a second daemon rather than the main one on a TCP port as well: a remote engine cannot see the client's
# files or sockets, has its own image store and is reached only through TLS. A separate dockerd with its own
# data root shows every place where dockmagic assumed "the engine is on this machine"; and it leaves the main
# dockerd (the one scripts/setup-engine.sh starts, and that other tests kill and restart) alone.
#
# What it does, each step only when needed (idempotent: on a ready machine it changes nothing and says so):
#   - certificates, made once with openssl under /var/lib/dockmagic-tls/:
#       ca/ca.pem, ca/ca-key.pem            a private CA made for this engine only (10 years)
#       server/{ca,cert,key}.pem            the daemon's certificate: SAN IP:127.0.0.1 and DNS:localhost
#       client/{ca,cert,key}.pem            the client's certificate, laid out as DOCKER_CERT_PATH expects
#       client/env.sh                       exports DOCKER_HOST, DOCKER_TLS_VERIFY=1, DOCKER_CERT_PATH
#   - its own containerd (config, root, state and sockets of its own, not the main dockerd's managed one nor
#     a system containerd at /run/containerd), so stopping either daemon never disturbs the other;
#   - a dockerd listening only on tcp://127.0.0.1:2376 with --tlsverify (no unix socket), its own --data-root,
#     --exec-root, --pidfile and --config-file, and no bridge network (--bridge=none: containers get loopback
#     only, as with the main engine; no private-range address is ever made);
#   - busybox:latest and debian:bookworm loaded from the main engine (`docker save | docker load`), starting
#     the main engine with scripts/setup-engine.sh first if they are missing and it does not answer.
# Logs: /var/log/dockmagic-tls-dockerd.log and /var/log/dockmagic-tls-containerd.log.
# Debian, root only.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$(dirname "$0")/.."

ADDRESS=tcp://127.0.0.1:2376
BASE=/var/lib/dockmagic-tls
CA_DIR=$BASE/ca
SERVER_DIR=$BASE/server
CLIENT_DIR=$BASE/client
DATA_ROOT=$BASE/docker
CONTAINERD_ROOT=$BASE/containerd
RUN_DIR=/run/dockmagic-tls
EXEC_ROOT=$RUN_DIR/docker
PIDFILE=$RUN_DIR/dockerd.pid
CONTAINERD_DIR=$RUN_DIR/containerd
CONTAINERD_SOCK=$CONTAINERD_DIR/containerd.sock
CONTAINERD_PIDFILE=$RUN_DIR/containerd.pid
CONTAINERD_CONFIG=$BASE/containerd.toml
DOCKERD_CONFIG=$BASE/daemon.json
DOCKERD_LOG=/var/log/dockmagic-tls-dockerd.log
CONTAINERD_LOG=/var/log/dockmagic-tls-containerd.log
IMAGES=(busybox:latest debian:bookworm)

CHANGED=0
changed() { CHANGED=1; say "$*"; }

require_debian_root "elsewhere, start a dockerd with --tlsverify on $ADDRESS yourself."

# The docker CLI against this engine, and against the main one (never this one, even if the caller sourced
# client/env.sh before running this script again).
tls_docker() {
  DOCKER_HOST=$ADDRESS DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=$CLIENT_DIR DOCKER_CONTEXT='' docker "$@"
}
main_docker() {
  if [ "${DOCKER_HOST:-}" = "$ADDRESS" ]; then
    env -u DOCKER_HOST -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH docker "$@"
  else
    docker "$@"
  fi
}

ensure_packages() {
  local package absent=0
  for package in docker.io containerd runc openssl; do is_installed "$package" || absent=1; done
  [ "$absent" = 0 ] || { apt_install docker.io containerd runc openssl; CHANGED=1; }
}

# --- certificates ---------------------------------------------------------------------------------------

sign() {  # sign NAME DIR EXTENSIONS SUBJECT: a key and a certificate signed by the CA, valid 10 years
  local name=$1 dir=$2 extensions=$3 subject=$4
  mkdir -p "$dir"
  (umask 077; openssl genrsa -out "$dir/key.pem" 2048 2>/dev/null)
  openssl req -new -key "$dir/key.pem" -subj "$subject" -out "$dir/$name.csr"
  printf '%s\n' "$extensions" > "$dir/$name.ext"
  openssl x509 -req -in "$dir/$name.csr" -CA "$CA_DIR/ca.pem" -CAkey "$CA_DIR/ca-key.pem" -CAcreateserial \
    -days 3650 -sha256 -extfile "$dir/$name.ext" -out "$dir/cert.pem" 2>/dev/null
  rm -f "$dir/$name.csr" "$dir/$name.ext"
  cp "$CA_DIR/ca.pem" "$dir/ca.pem"
}

cert_ok() {  # cert_ok DIR PURPOSE: DIR holds a key and a certificate the CA signed, valid for another day
  local dir=$1 purpose=$2
  [ -s "$dir/key.pem" ] && [ -s "$dir/cert.pem" ] && cmp -s "$dir/ca.pem" "$CA_DIR/ca.pem" || return 1
  openssl verify -purpose "$purpose" -CAfile "$CA_DIR/ca.pem" "$dir/cert.pem" >/dev/null 2>&1 || return 1
  openssl x509 -checkend 86400 -noout -in "$dir/cert.pem" >/dev/null 2>&1 || return 1
  # The key is the certificate's.
  [ "$(openssl x509 -pubkey -noout -in "$dir/cert.pem" | sha256sum)" = \
    "$(openssl pkey -pubout -in "$dir/key.pem" 2>/dev/null | sha256sum)" ]
}

ensure_certificates() {
  CERTS_CHANGED=0
  if ! { [ -s "$CA_DIR/ca.pem" ] && [ -s "$CA_DIR/ca-key.pem" ] \
         && openssl x509 -checkend 86400 -noout -in "$CA_DIR/ca.pem" >/dev/null 2>&1; }; then
    mkdir -p "$CA_DIR"; chmod 700 "$CA_DIR"
    (umask 077; openssl genrsa -out "$CA_DIR/ca-key.pem" 2048 2>/dev/null)
    openssl req -x509 -new -key "$CA_DIR/ca-key.pem" -sha256 -days 3650 -subj "/CN=dockmagic test CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -addext "subjectKeyIdentifier=hash" -out "$CA_DIR/ca.pem"
    changed "made a CA in $CA_DIR"
    CERTS_CHANGED=1
  fi
  local common='authorityKeyIdentifier=keyid,issuer
subjectKeyIdentifier=hash
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment'
  if [ "$CERTS_CHANGED" = 1 ] || ! cert_ok "$SERVER_DIR" sslserver \
     || ! openssl x509 -noout -ext subjectAltName -in "$SERVER_DIR/cert.pem" 2>/dev/null \
          | grep -q 'DNS:localhost, IP Address:127.0.0.1'; then
    sign server "$SERVER_DIR" "$common
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1" "/CN=localhost"
    changed "made the server certificate (127.0.0.1, localhost) in $SERVER_DIR"
    CERTS_CHANGED=1
  fi
  if [ "$CERTS_CHANGED" = 1 ] || ! cert_ok "$CLIENT_DIR" sslclient; then
    sign client "$CLIENT_DIR" "$common
extendedKeyUsage=clientAuth" "/CN=dockmagic client"
    changed "made the client certificate in $CLIENT_DIR (ca.pem, cert.pem, key.pem)"
  fi
  local env_text
  env_text=$(cat <<EOF
# The remote Docker Engine over TLS that scripts/setup-tls-engine.sh starts: source this file.
export DOCKER_HOST=$ADDRESS
export DOCKER_TLS_VERIFY=1
export DOCKER_CERT_PATH=$CLIENT_DIR
EOF
)
  if ! [ -f "$CLIENT_DIR/env.sh" ] || [ "$(cat "$CLIENT_DIR/env.sh")" != "$env_text" ]; then
    printf '%s\n' "$env_text" > "$CLIENT_DIR/env.sh"
    changed "wrote $CLIENT_DIR/env.sh"
  fi
}

# --- containerd and dockerd -----------------------------------------------------------------------------

engine_answers() { tls_docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }
containerd_answers() { [ -S "$CONTAINERD_SOCK" ] && timeout 5 ctr --address "$CONTAINERD_SOCK" version >/dev/null 2>&1; }
alive() {  # alive PIDFILE WORD: the process named in PIDFILE runs (a zombie does not) and its command has WORD
  local pid state
  pid=$(cat "$1" 2>/dev/null) && [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
  [ -n "$state" ] && [ "$state" != Z ] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2"
}

ensure_config_files() {
  local want
  want=$(cat <<EOF
# Written by dockmagic's scripts/setup-tls-engine.sh: the TLS engine's own containerd.
version = 2
root = "$CONTAINERD_ROOT"
state = "$CONTAINERD_DIR/daemon"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$CONTAINERD_SOCK"

[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"

[debug]
  address = "$CONTAINERD_DIR/debug.sock"

[plugins."io.containerd.internal.v1.opt"]
  path = "$CONTAINERD_ROOT/opt"
EOF
)
  if ! [ -f "$CONTAINERD_CONFIG" ] || [ "$(cat "$CONTAINERD_CONFIG")" != "$want" ]; then
    mkdir -p "$BASE"
    printf '%s\n' "$want" > "$CONTAINERD_CONFIG"
    changed "wrote $CONTAINERD_CONFIG"
  fi
  # Its own (empty) daemon.json: /etc/docker/daemon.json is the main dockerd's.
  if ! [ -f "$DOCKERD_CONFIG" ]; then
    printf '{}\n' > "$DOCKERD_CONFIG"
    changed "wrote $DOCKERD_CONFIG"
  fi
}

ensure_containerd() {
  containerd_answers && return 0
  if alive "$CONTAINERD_PIDFILE" "$CONTAINERD_CONFIG"; then
    for _ in $(seq 1 20); do containerd_answers && return 0; sleep 0.5; done
    die "containerd (pid $(cat "$CONTAINERD_PIDFILE")) runs for $CONTAINERD_SOCK but does not answer; stop it, then run this again"
  fi
  mkdir -p "$CONTAINERD_DIR" "$CONTAINERD_ROOT" /var/log
  rm -f "$CONTAINERD_SOCK" "$CONTAINERD_SOCK.ttrpc" "$CONTAINERD_DIR/debug.sock"
  say "starting its own containerd on $CONTAINERD_SOCK; log in $CONTAINERD_LOG"
  # setsid: its own session, so neither a Ctrl-C in the caller's terminal nor the end of the caller stops it.
  setsid nohup env -C / containerd --config "$CONTAINERD_CONFIG" >>"$CONTAINERD_LOG" 2>&1 < /dev/null &
  echo $! > "$CONTAINERD_PIDFILE"
  for _ in $(seq 1 40); do containerd_answers && { CHANGED=1; return 0; }; sleep 0.25; done
  die "containerd did not answer within 10 s; see $CONTAINERD_LOG"
}

ensure_dockerd() {
  ensure_containerd
  if engine_answers; then
    if [ "$CERTS_CHANGED" = 1 ]; then
      say "the engine on $ADDRESS answers with new certificates; it was started with other ones: restarting it"
      kill "$(cat "$PIDFILE")" 2>/dev/null || true
      for _ in $(seq 1 40); do alive "$PIDFILE" "$PIDFILE" || break; sleep 0.25; done
    else
      say "engine answers on $ADDRESS (Docker $(tls_docker version --format '{{.Server.Version}}'))"
      return 0
    fi
  fi
  if alive "$PIDFILE" "$PIDFILE"; then
    for _ in $(seq 1 20); do engine_answers && return 0; sleep 0.5; done
    die "a dockerd (pid $(cat "$PIDFILE")) runs with $PIDFILE but $ADDRESS does not answer; see $DOCKERD_LOG, stop it, then run this again"
  fi
  mkdir -p "$DATA_ROOT" "$EXEC_ROOT" /var/log
  say "starting dockerd on $ADDRESS (TLS verified both ways, no unix socket, no bridge network); log in $DOCKERD_LOG"
  setsid nohup env -C / dockerd \
      --host "$ADDRESS" --tlsverify \
      --tlscacert "$SERVER_DIR/ca.pem" --tlscert "$SERVER_DIR/cert.pem" --tlskey "$SERVER_DIR/key.pem" \
      --data-root "$DATA_ROOT" --exec-root "$EXEC_ROOT" --pidfile "$PIDFILE" \
      --config-file "$DOCKERD_CONFIG" --containerd "$CONTAINERD_SOCK" \
      --bridge=none --iptables=false --ip-forward=false \
      >>"$DOCKERD_LOG" 2>&1 < /dev/null &
  for _ in $(seq 1 60); do engine_answers && { CHANGED=1; break; }; sleep 0.5; done
  engine_answers || die "dockerd did not answer on $ADDRESS within 30 s; see $DOCKERD_LOG"
  say "engine answers on $ADDRESS (Docker $(tls_docker version --format '{{.Server.Version}}'), pid $(cat "$PIDFILE"))"
}

# --- images ---------------------------------------------------------------------------------------------

main_engine_answers() { main_docker info >/dev/null 2>&1; }

ensure_main_engine() {
  main_engine_answers && return 0
  # Another process may be restarting the main dockerd this very moment: give it a little time.
  if [ -s /var/run/docker.pid ] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    for _ in $(seq 1 30); do main_engine_answers && return 0; sleep 0.5; done
  fi
  say "the main engine does not answer: starting it with scripts/setup-engine.sh"
  if [ "${DOCKER_HOST:-}" = "$ADDRESS" ]; then
    env -u DOCKER_HOST -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH bash scripts/setup-engine.sh
  else
    bash scripts/setup-engine.sh
  fi
}

ensure_images() {
  local missing=()
  for image in "${IMAGES[@]}"; do
    tls_docker image inspect "$image" >/dev/null 2>&1 || missing+=("$image")
  done
  if [ ${#missing[@]} -eq 0 ]; then say "the engine holds ${IMAGES[*]}"; return 0; fi
  ensure_main_engine
  for image in "${missing[@]}"; do
    main_docker image inspect "$image" >/dev/null 2>&1 || {
      say "the main engine lacks $image: making it with scripts/setup-engine.sh"
      ensure_main_engine_images; break; }
  done
  say "loading ${missing[*]} from the main engine (docker save | docker load)"
  main_docker save "${missing[@]}" | tls_docker load -q >/dev/null
  for image in "${missing[@]}"; do
    tls_docker image inspect "$image" >/dev/null 2>&1 || die "$image is still missing on $ADDRESS after docker load"
  done
  changed "loaded ${missing[*]} into the engine on $ADDRESS"
}

ensure_main_engine_images() {
  if [ "${DOCKER_HOST:-}" = "$ADDRESS" ]; then
    env -u DOCKER_HOST -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH bash scripts/setup-engine.sh
  else
    bash scripts/setup-engine.sh
  fi
}

ensure_packages
ensure_certificates
ensure_config_files
ensure_dockerd
ensure_images
if [ "$CHANGED" = 0 ]; then
  say "already ready, nothing changed: Docker $(tls_docker version --format '{{.Server.Version}}') on $ADDRESS (TLS), with ${IMAGES[*]}; source $CLIENT_DIR/env.sh to use it"
else
  say "ready: Docker $(tls_docker version --format '{{.Server.Version}}') on $ADDRESS (TLS), with ${IMAGES[*]}; source $CLIENT_DIR/env.sh to use it"
fi
