#!/usr/bin/env bash
# Make sure a container engine answers and holds the base images dockmagic's notebooks and tests use.
#
# Idempotent: on a machine with a working engine and the images it changes nothing.
# On a Debian machine where we are root and no engine answers, it installs Docker Engine and starts it
# with no bridge network (containers get loopback only unless they ask for the host network).
# With no registry reachable, it makes busybox:latest and debian:bookworm locally with `docker import`.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/busybox-rootfs.sh
source "$(dirname "${BASH_SOURCE[0]}")/busybox-rootfs.sh"

engine_answers() { docker info >/dev/null 2>&1; }

start_dockerd() {
  # No init system here: start the daemon ourselves. --bridge=none: never create docker0 (a private range).
  mkdir -p /var/log
  say "starting dockerd (no bridge network); log in /var/log/dockerd.log"
  # env -C /: a daemon must not keep the caller's folder as its own (a deleted clone breaks its children).
  nohup env -C / dockerd --host unix:///var/run/docker.sock --bridge=none --iptables=false --ip-forward=false \
    >>/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do engine_answers && return 0; sleep 0.5; done
  die "dockerd did not answer within 30 s; see /var/log/dockerd.log"
}

ensure_engine() {
  if engine_answers; then return 0; fi
  if [ -n "${DOCKER_HOST:-}" ]; then
    die "DOCKER_HOST=$DOCKER_HOST does not answer. Start that engine, or unset DOCKER_HOST to use a local one."
  fi
  if ! is_debian_root; then
    die "no container engine answers. Install and start Docker (https://docs.docker.com/engine/install/) or Podman ('podman system service'), or point DOCKER_HOST at one, then run this again."
  fi
  command -v dockerd >/dev/null || apt_install docker.io
  start_dockerd
}

# Bumped when the way the base images are made changes, so that old local copies are made again.
BASE_VERSION=2

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

made_here_before() {
  # A local copy made by an older version of this script (pulled images are left alone).
  local comment made
  comment=$(docker image inspect -f '{{.Comment}}' "$1" 2>/dev/null || true)
  case "$comment" in "made locally by dockmagic"*) ;; *) return 1 ;; esac
  made=$(docker image inspect -f '{{index .Config.Labels "org.dockmagic.base-version"}}' "$1" 2>/dev/null || true)
  [ "$made" != "$BASE_VERSION" ]
}

try_pull() {
  # A registry may be reachable elsewhere; here it is not, and the pull fails fast or within the timeout.
  timeout 20 docker pull -q "$1" >/dev/null 2>&1
}

make_busybox() {
  local root; new_temp_dir root
  busybox_rootfs "$root"
  tar -C "$root" -c . | docker import -c 'CMD ["sh"]' -c "LABEL org.dockmagic.base-version=$BASE_VERSION" \
    -m "made locally by dockmagic's setup (busybox-static)" - busybox:latest >/dev/null
  remove_temp_dir "$root"
}

make_debian() {
  apt_install debootstrap ca-certificates
  local root; new_temp_dir root
  # debootstrap's own default mirror; DOCKMAGIC_DEBIAN_MIRROR (a URL) replaces it where that one is out of reach.
  debootstrap --variant=minbase bookworm "$root" ${DOCKMAGIC_DEBIAN_MIRROR:+"$DOCKMAGIC_DEBIAN_MIRROR"} \
    >/tmp/dockmagic-debootstrap.log 2>&1 || die "debootstrap failed; see /tmp/dockmagic-debootstrap.log"
  # Trust the machine's CA bundle, as an image made behind a TLS-inspecting proxy would (pip over HTTPS).
  # It lives where no package rewrites it (installing ca-certificates regenerates /etc/ssl/certs), and
  # update-ca-certificates adds it to the system bundle too.
  local bundle=/usr/local/share/ca-certificates/machine-bundle.crt
  mkdir -p "$root/etc/ssl/certs" "$root$(dirname "$bundle")"
  cp /etc/ssl/certs/ca-certificates.crt "$root$bundle"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import \
    -c 'CMD ["bash"]' \
    -c "ENV SSL_CERT_FILE=$bundle PIP_CERT=$bundle REQUESTS_CA_BUNDLE=$bundle CURL_CA_BUNDLE=$bundle" \
    -c "LABEL org.dockmagic.base-version=$BASE_VERSION" \
    -m "made locally by dockmagic's setup (debootstrap minbase bookworm)" - debian:bookworm >/dev/null
  remove_temp_dir "$root"
}

ensure_image() {
  local name=$1 maker=$2
  if have_image "$name" && made_here_before "$name"; then
    say "$name was made by an older setup: making it again"
    "$maker"
    return 0
  fi
  have_image "$name" && return 0
  if try_pull "$name"; then say "pulled $name"; return 0; fi
  is_debian_root || die "$name is missing and cannot be pulled; pull or build it on this engine, then run this again."
  say "$name is missing and cannot be pulled: making it locally ($maker)"
  "$maker"
  say "made $name locally"
}

ensure_engine
ensure_image busybox:latest make_busybox
ensure_image debian:bookworm make_debian
say "engine ready: $(docker version --format '{{.Server.Version}}' 2>/dev/null) with busybox:latest and debian:bookworm"
