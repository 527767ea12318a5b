#!/usr/bin/env bash
# Builds the image of a Debian machine whose PID 1 is systemd (a stand-in for a VM: deploy/agent/install.sh runs
# in it as on a real host), unless it exists already:
#   deploy/provisioners/systemd-container/build-image.sh [IMAGE]                   (default test/debian-systemd:1)
#   deploy/provisioners/systemd-container/build-image.sh --with-engine [IMAGE]     (default test/debian-systemd-docker:1)
# debootstrap (minbase + systemd, dbus, iproute2, ca-certificates) from the mirror apt uses here, then `docker import`.
# Takes ~80 s on an idle machine. --with-engine adds Debian's docker.io (and iptables) from the same mirror on top of
# the first image (built first when missing; ~50 s more), so the machine has its own engine (engine/Dockerfile).
# Needs root, debootstrap and docker.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
base=test/debian-systemd:1
if [ "${1:-}" = "--with-engine" ]; then
  image=${2:-test/debian-systemd-docker:1}
  if docker image inspect "$image" >/dev/null 2>&1; then
    echo "$image exists" >&2
    exit 0
  fi
  "$0" "$base"
  echo "building $image: $base + docker.io" >&2
  docker build -q --build-arg "BASE=$base" -t "$image" "$here/engine" >&2
  echo "built $image" >&2
  exit 0
fi
image=${1:-$base}
if docker image inspect "$image" >/dev/null 2>&1; then
  echo "$image exists" >&2
  exit 0
fi
command -v debootstrap >/dev/null || { echo "build-image.sh: apt-get install -y debootstrap" >&2; exit 1; }
# The mirror apt uses (deb822 sources first, then the one-line format).
mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
mirror=${mirror:-http://deb.debian.org/debian}
root=$(mktemp -d /tmp/berth-debian-systemd-XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "debootstrap bookworm from $mirror into $root" >&2
debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,iproute2,ca-certificates bookworm "$root" "$mirror" >&2
# A machine id is made at first boot; the console getty would wait on a terminal the container does not have.
: >"$root/etc/machine-id"
rm -f "$root/etc/systemd/system/getty.target.wants/"* 2>/dev/null || true
tar -C "$root" -c . | docker import -c 'CMD ["/sbin/init"]' - "$image" >/dev/null
echo "built $image" >&2
