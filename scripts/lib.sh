# shellcheck shell=bash
# Sourced by the setup scripts: their messages, the root check, installing Debian packages, and temporary
# folders that are removed however the script ends.

# Messages start with the script's name (setup-engine: ...), as the user ran it.
SCRIPT_NAME=$(basename "$0" .sh)

say() { printf '%s: %s\n' "$SCRIPT_NAME" "$*"; }
warn() { printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2; }
die() { warn "$*"; exit 1; }

# True as root on Debian (or a derivative) with apt: where the scripts may install and start things.
is_debian_root() { [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ] && command -v apt-get >/dev/null; }

# require_debian_root WHAT-TO-DO-ELSEWHERE: stop with that advice unless is_debian_root.
require_debian_root() {
  is_debian_root || die "needs root on Debian (apt-get); $*"
}

is_installed() { dpkg-query -W -f '${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# apt_install PACKAGE...: install those of Debian's packages that are missing (nothing, quickly, if none is).
apt_install() {
  local missing=() package
  for package in "$@"; do is_installed "$package" || missing+=("$package"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  require_debian_root "install ${missing[*]} yourself, then run this again."
  say "installing ${missing[*]} from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# new_temp_dir VARIABLE: a new empty folder in VARIABLE, removed when the script exits, done or failed.
_TEMP_DIRS=()
new_temp_dir() {
  local folder
  folder=$(mktemp -d "${TMPDIR:-/tmp}/dockmagic-$SCRIPT_NAME.XXXXXX")
  _TEMP_DIRS+=("$folder")
  printf -v "$1" '%s' "$folder"
}

# remove_temp_dir FOLDER: now, rather than at exit. Anything a failed debootstrap left mounted inside is
# unmounted first, and rm never crosses into another file system (the host's /proc, /sys or /dev).
remove_temp_dir() {
  local folder=$1 mount_point
  [ -d "$folder" ] || return 0
  # Deepest first; /proc/self/mounts escapes spaces as \040, which mktemp's names never hold.
  while read -r mount_point; do
    umount -l "$mount_point" 2>/dev/null || true
  done < <(awk -v top="$folder" '$2 == top || index($2, top "/") == 1 { print $2 }' /proc/self/mounts | sort -r)
  rm -rf --one-file-system "$folder"
}

_remove_temp_dirs() {
  local folder
  for folder in "${_TEMP_DIRS[@]}"; do remove_temp_dir "$folder"; done
}
trap _remove_temp_dirs EXIT
# A signal ends the script through exit, so the EXIT trap runs then too.
trap 'exit 130' INT
trap 'exit 143' TERM
