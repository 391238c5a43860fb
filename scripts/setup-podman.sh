#!/usr/bin/env bash
# Make sure a Podman engine answers on unix:///run/podman/podman.sock (its Docker-compatible API) and holds
# busybox:latest and debian:bookworm, for running dockmagic and its tests against Podman.
#
# Idempotent: with the service answering, the config in place and the images present it changes nothing.
# Debian, root only. It never touches the Docker daemon: it only reads images from it (`docker save`).
#
# What Podman 4.3 (Debian 12) needed on this kind of machine (no systemd, cgroup v1, root without
# CAP_SYS_RESOURCE, no bridge networking wanted):
#   - /etc/containers/containers.conf.d/50-dockmagic.conf:
#       cgroup_manager = "cgroupfs"   (no systemd to manage cgroups; podman picks it by itself, set to be sure)
#       events_logger  = "file"       (no journald)
#       default_ulimits              (podman's default nofile=1048576 cannot be set without CAP_SYS_RESOURCE:
#                                     "runc create failed: ... error setting rlimit type 7: operation not
#                                     permitted"; podman's own processes run with nproc 32768, so a container
#                                     cannot get more than that either)
#       netns = "none"               (`podman run` without --network: loopback only, like Docker started with
#                                     --bridge=none)
#   - the service runs inside its own network namespace, dockmagic-podman (loopback only). Through the
#     Docker-compatible API, Podman ignores netns="none": containers get its default bridge network
#     (10.88.0.0/16) and RUN steps of builds share the service's own network namespace. In the private
#     namespace neither can reach or create anything on the host's network. Pulls fail (no registry here
#     anyway). Only the network namespace is private: storage and mounts are the host's, so the podman CLI
#     sees the same images and containers.
#   - storage: the default (overlay on /var/lib/containers/storage, native diff on ext4) works as it is.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/busybox-rootfs.sh
source "$(dirname "${BASH_SOURCE[0]}")/busybox-rootfs.sh"

SOCK_PATH=/run/podman/podman.sock
SOCK=unix://$SOCK_PATH
NETNS=dockmagic-podman
CONF=/etc/containers/containers.conf.d/50-dockmagic.conf
LOG=/var/log/podman-service.log

require_debian_root "install Podman and start 'podman system service' yourself elsewhere."

ensure_packages() {
  apt_install podman iproute2 curl procps python3
  say "podman $(podman version --format '{{.Client.Version}}') installed"
}

ensure_config() {
  # Limits the container may have: at most this shell's hard limits, and nproc at most podman's own 32768.
  local nofile nproc
  nofile=$(ulimit -Hn); [ "$nofile" = unlimited ] && nofile=1048576
  nproc=$(ulimit -Hu)
  if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then nproc=32768; fi
  local want
  want=$(cat <<EOF
# Written by dockmagic's scripts/setup-podman.sh; see the notes at its top.
[containers]
netns = "none"
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
)
  if [ -f "$CONF" ] && [ "$(cat "$CONF")" = "$want" ]; then say "config $CONF in place"; return 0; fi
  mkdir -p "$(dirname "$CONF")"
  printf '%s\n' "$want" > "$CONF"
  say "wrote $CONF (cgroupfs, file events, nofile=$nofile nproc=$nproc, netns none)"
  CONFIG_CHANGED=1
}

service_answers() { curl -sf --max-time 5 --unix-socket "$SOCK_PATH" http://d/_ping >/dev/null 2>&1; }

ensure_netns() {
  if ! ip netns list | grep -qw "^$NETNS"; then
    ip netns add "$NETNS"
    say "made network namespace $NETNS (loopback only)"
  fi
  ip -n "$NETNS" link set lo up
}

service_pids() {
  # Only the service this script starts: `podman system service ... $SOCK`.
  pgrep -f "^podman system service --time=0 $SOCK\$" || true
}

service_lost_its_folder() {
  # A service started (by an older setup) from a folder since deleted answers pings but starts no container.
  local pid
  for pid in $(service_pids); do
    case "$(readlink "/proc/$pid/cwd" 2>/dev/null)" in *" (deleted)") return 0 ;; esac
  done
  return 1
}

ensure_service() {
  if service_answers && service_lost_its_folder; then
    say "the service on $SOCK runs in a deleted folder, where it cannot start containers: restarting it"
    local pids; mapfile -t pids < <(service_pids)
    kill "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 1 20); do [ -z "$(service_pids)" ] && break; sleep 0.5; done
  fi
  if service_answers; then
    if [ "${CONFIG_CHANGED:-0}" = 1 ]; then
      say "note: the service on $SOCK was started before the config changed; restart it to apply it"
    fi
    say "service answers on $SOCK"
    return 0
  fi
  local stale; stale=$(service_pids)
  [ -z "$stale" ] || die "a podman service (pid $stale) runs for $SOCK but does not answer; stop it, then run this again"
  ensure_netns
  mkdir -p "$(dirname "$SOCK_PATH")" /var/log
  rm -f "$SOCK_PATH"
  say "starting podman system service on $SOCK in network namespace $NETNS; log in $LOG"
  # env -C /: conmon inherits the service's folder, and fails ("Failed to get working directory", every
  # container start "write child: broken pipe") once the clone the service was started from is deleted.
  nohup env -C / nsenter --net="/run/netns/$NETNS" podman system service --time=0 "$SOCK" >>"$LOG" 2>&1 &
  for _ in $(seq 1 60); do service_answers && break; sleep 0.5; done
  service_answers || die "the service did not answer within 30 s; see $LOG"
  say "service answers on $SOCK (pid $(service_pids | paste -sd ' '))"
}

podman_has() { podman image exists "$1" 2>/dev/null; }
docker_has() { command -v docker >/dev/null && docker image inspect "$1" >/dev/null 2>&1; }

# Give the loaded image the name a pull from Docker Hub would give it (docker.io/library/NAME:TAG): the
# Docker-compatible API resolves a short name there first. `podman load` of a `docker save` names it
# localhost/NAME:TAG, which is dropped again.
name_like_a_pull() {
  local short=$1 full=docker.io/library/$1
  podman tag "localhost/$short" "$full"
  podman untag "localhost/$short" "localhost/$short" 2>/dev/null || true
}

make_busybox_rootfs() {
  # As scripts/setup-engine.sh does for Docker.
  local root; new_temp_dir root
  busybox_rootfs "$root"
  tar -C "$root" -c . | podman import -q -c 'CMD ["sh"]' \
    -m "made locally by dockmagic's setup (busybox-static)" - docker.io/library/busybox:latest >/dev/null
  remove_temp_dir "$root"
}

ensure_image() {
  local short=$1 full=docker.io/library/$1
  if podman_has "$full"; then say "podman has $full"; return 0; fi
  if podman_has "localhost/$short"; then
    name_like_a_pull "$short"; say "named podman's localhost/$short $full"; return 0
  fi
  if docker_has "$short"; then
    docker save "$short" | podman load -q >/dev/null
    name_like_a_pull "$short"
    say "loaded $full into podman from the Docker engine's $short"
  elif [ "$short" = busybox:latest ]; then
    make_busybox_rootfs
    say "made $full in podman from busybox-static (no Docker image to copy)"
  else
    die "$short is in neither Podman's store nor the Docker engine's; run scripts/setup-engine.sh (it makes it), then this again"
  fi
  podman_has "$full" || die "$full is still missing from Podman's store after loading it"
}

check_run() {
  # The podman CLI on the host network, with no network: shows the config lets a container start.
  local out
  if out=$(podman run --rm --network none docker.io/library/busybox:latest echo ok 2>&1) && [ "$out" = ok ]; then
    say "podman run works"
  else
    die "podman cannot start a container: $out"
  fi
}

CONFIG_CHANGED=0
ensure_packages
ensure_config
ensure_service
ensure_image busybox:latest
ensure_image debian:bookworm
check_run
say "podman ready: $(curl -sf --unix-socket "$SOCK_PATH" http://d/version | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["Version"], "API", v["ApiVersion"])') on $SOCK"
