# shellcheck shell=bash
# Sourced by setup-engine.sh and setup-podman.sh (after lib.sh): the busybox base image's root file system,
# as the official image lays it out, made from Debian's busybox-static.

# busybox_rootfs ROOT: fill the empty folder ROOT.
busybox_rootfs() {
  local root=$1
  apt_install busybox-static
  mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/root"
  cp /bin/busybox "$root/bin/busybox"
  # One link per applet, as the official busybox image has them.
  (cd "$root" && /bin/busybox --list-full | while read -r applet; do
     [ "$applet" = bin/busybox ] && continue
     mkdir -p "$(dirname "$applet")"; ln -sf /bin/busybox "$applet"; done)
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' > "$root/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' > "$root/etc/group"
  chmod 1777 "$root/tmp"
}
