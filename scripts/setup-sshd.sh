#!/usr/bin/env bash
# Make sure an ssh server answers on 127.0.0.1:2222 for reaching the local Docker Engine as a remote one,
# DOCKER_HOST=ssh://root@127.0.0.1:2222, the way docker-py and the docker CLI reach an engine over ssh (they run
# `docker system dial-stdio` on the far side, which talks to that machine's /var/run/docker.sock).
#
# A dedicated sshd, not the machine's: its own config, host key and pid file under /var/lib/dockmagic-ssh/,
# listening on 127.0.0.1 only, public-key login only (root, with a key pair made here for this purpose), so
# stopping it (the tests do, mid-build) never touches anything else.
#
# What it makes, each step only when needed (idempotent: on a ready machine it changes nothing and says so):
#   /var/lib/dockmagic-ssh/host_ed25519_key         the server's host key
#   /var/lib/dockmagic-ssh/sshd_config              its config (ListenAddress 127.0.0.1, Port 2222, keys only)
#   /var/lib/dockmagic-ssh/client/id_ed25519        the client's key pair; its .pub is the only authorized key
#   /var/lib/dockmagic-ssh/client/known_hosts       the server's host key, so no prompt ever appears
#   /var/lib/dockmagic-ssh/client/ssh_config        Host 127.0.0.1 / Port 2222 / IdentityFile / known_hosts:
#                                                   copy it to ~/.ssh/config (or include it) to use the engine
#   /var/lib/dockmagic-ssh/client/home/.ssh/        config and known_hosts as a home folder holds them, for
#                                                   HOME=.../home: docker-py's ssh transport (paramiko) reads
#                                                   ~/.ssh from HOME
#   /var/lib/dockmagic-ssh/client/bin/ssh           `ssh -F client/ssh_config`, first on PATH for the docker
#                                                   CLI (OpenSSH reads the passwd entry's home, never HOME)
#   /var/lib/dockmagic-ssh/client/env.sh            source it: DOCKER_HOST, HOME and PATH set as above, so the
#                                                   machine's own ~/.ssh is neither used nor changed
# Log: /var/log/dockmagic-sshd.log. Debian, root only.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT=2222
BASE=/var/lib/dockmagic-ssh
CLIENT_DIR=$BASE/client
HOST_KEY=$BASE/host_ed25519_key
CONFIG=$BASE/sshd_config
AUTHORIZED=$BASE/authorized_keys
PIDFILE=/run/dockmagic-sshd.pid
LOG=/var/log/dockmagic-sshd.log
ADDRESS=ssh://root@127.0.0.1:$PORT

CHANGED=0
SERVER_CHANGED=0  # the server's own files changed: a running sshd must be restarted to read them
changed() { CHANGED=1; say "$*"; }

require_debian_root "elsewhere, give ssh access to a machine running Docker yourself."
apt_install openssh-server openssh-client

mkdir -p "$BASE" "$CLIENT_DIR"
chmod 700 "$BASE" "$CLIENT_DIR"
if ! [ -s "$HOST_KEY" ]; then
  ssh-keygen -q -t ed25519 -N '' -C "dockmagic test sshd" -f "$HOST_KEY"
  changed "made the server's host key $HOST_KEY"; SERVER_CHANGED=1
fi
if ! [ -s "$CLIENT_DIR/id_ed25519" ]; then
  ssh-keygen -q -t ed25519 -N '' -C "dockmagic test client" -f "$CLIENT_DIR/id_ed25519"
  changed "made the client's key pair $CLIENT_DIR/id_ed25519"
fi
if ! cmp -s "$CLIENT_DIR/id_ed25519.pub" "$AUTHORIZED"; then
  install -m 600 "$CLIENT_DIR/id_ed25519.pub" "$AUTHORIZED"
  changed "authorized $CLIENT_DIR/id_ed25519.pub (and only it)"; SERVER_CHANGED=1
fi

write_if_changed() {  # write_if_changed FILE TEXT
  if ! [ -f "$1" ] || [ "$(cat "$1")" != "$2" ]; then
    printf '%s\n' "$2" > "$1"
    changed "wrote $1"
  fi
}

before=$CHANGED; CHANGED=0
write_if_changed "$CONFIG" "# Written by dockmagic's scripts/setup-sshd.sh: a dedicated sshd for reaching the engine over ssh.
ListenAddress 127.0.0.1
Port $PORT
HostKey $HOST_KEY
PidFile $PIDFILE
AuthorizedKeysFile $AUTHORIZED
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes yes
# The docker CLI found on the remote side: dial-stdio needs it on PATH.
SetEnv PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LogLevel INFO"
[ "$CHANGED" = 0 ] || SERVER_CHANGED=1
[ "$before" = 0 ] || CHANGED=1
write_if_changed "$CLIENT_DIR/known_hosts" "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$HOST_KEY.pub")"
write_if_changed "$CLIENT_DIR/ssh_config" "# The engine over ssh that scripts/setup-sshd.sh serves: DOCKER_HOST=$ADDRESS
Host 127.0.0.1
  Port $PORT
  User root
  IdentityFile $CLIENT_DIR/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $CLIENT_DIR/known_hosts
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 5"

mkdir -p "$CLIENT_DIR/home/.ssh" "$CLIENT_DIR/bin"
chmod 700 "$CLIENT_DIR/home/.ssh"
write_if_changed "$CLIENT_DIR/home/.ssh/config" "$(sed "s|$CLIENT_DIR/known_hosts|$CLIENT_DIR/home/.ssh/known_hosts|" \
  "$CLIENT_DIR/ssh_config")"
write_if_changed "$CLIENT_DIR/home/.ssh/known_hosts" "$(cat "$CLIENT_DIR/known_hosts")"
write_if_changed "$CLIENT_DIR/bin/ssh" "#!/bin/sh
# The docker CLI's ssh for the engine of scripts/setup-sshd.sh: OpenSSH ignores HOME, so name the config.
exec /usr/bin/ssh -F $CLIENT_DIR/ssh_config \"\$@\""
chmod 755 "$CLIENT_DIR/bin/ssh"
write_if_changed "$CLIENT_DIR/env.sh" "# The engine over ssh that scripts/setup-sshd.sh serves: source this file.
export DOCKER_HOST=$ADDRESS
export HOME=$CLIENT_DIR/home
export PATH=$CLIENT_DIR/bin:\$PATH
unset DOCKER_TLS_VERIFY DOCKER_CERT_PATH DOCKER_CONTEXT SSH_AUTH_SOCK"

alive() {  # the sshd named in the pid file runs with this config
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null) && [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] \
    && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$CONFIG"
}
answers() {
  ssh -F "$CLIENT_DIR/ssh_config" -o ConnectTimeout=3 127.0.0.1 docker version --format '{{.Server.Version}}' \
    >/dev/null 2>&1
}

mkdir -p /run/sshd  # the privilege separation directory sshd insists on
/usr/sbin/sshd -t -f "$CONFIG" || die "sshd refuses $CONFIG (see above)"
if alive && [ "$SERVER_CHANGED" = 1 ]; then
  say "restarting the sshd (pid $(cat "$PIDFILE")): its configuration changed"
  kill "$(cat "$PIDFILE")"
  for _ in $(seq 1 20); do alive || break; sleep 0.1; done
fi
if ! alive; then
  say "starting sshd on 127.0.0.1:$PORT (keys only); log in $LOG"
  # setsid and /: its own session, so neither a Ctrl-C in the caller's terminal nor the caller's end stops it.
  setsid env -C / /usr/sbin/sshd -f "$CONFIG" -E "$LOG" < /dev/null
  for _ in $(seq 1 40); do alive && break; sleep 0.1; done
  alive || die "sshd did not start; see $LOG"
  CHANGED=1
fi
answers || die "ssh to 127.0.0.1:$PORT does not reach the engine (docker version failed); see $LOG and check that the local engine answers"
if [ "$CHANGED" = 0 ]; then
  say "already ready, nothing changed: $ADDRESS reaches Docker; ssh settings in $CLIENT_DIR/ssh_config"
else
  say "ready: $ADDRESS reaches Docker; copy $CLIENT_DIR/ssh_config to ~/.ssh/config (or Include it) to use it"
fi
