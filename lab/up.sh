#!/usr/bin/env bash
# Creates a lab of N hosts (default 2), each a network namespace with its own dockerd:
#   LAB_ID=1 LAB_NET=0 lab/up.sh 3
# Prints one line per host: `host N NAMESPACE IP DOCKER_HOST`, and writes them to $LAB_DIR/hosts.
# lab/down.sh tears it down. Needs root, iproute2, nsenter (util-linux) and docker.io.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
. "$here/common.sh"

count=${1:-2}
[[ "$count" =~ ^[0-9]+$ ]] && ((count >= 1 && count <= 15)) || { echo "up.sh: 1-15 hosts" >&2; exit 2; }

if [ -e "/var/run/netns/$LAB_SWITCH" ]; then
  log "lab exists already: lab/down.sh first"; exit 1
fi

mkdir -p "$LAB_DIR"
# If anything below fails, leave nothing half-made behind.
trap 'log "setup failed; tearing down"; "$here/down.sh" >/dev/null 2>&1 || true' ERR

lab_switch_up

: >"$LAB_DIR/hosts"
for n in $(seq 1 "$count"); do
  lab_host_up "$n"
  ns=$(lab_host_ns "$n")
  echo "host $n $ns $(lab_host_ip "$n") unix://$(lab_host_sock "$n")" >>"$LAB_DIR/hosts"
done

for n in $(seq 1 "$count"); do
  "$here/engine.sh" start "$n"
done
trap - ERR
cat "$LAB_DIR/hosts"
