#!/usr/bin/env bash
# Tears a lab down: stops its engines (by their pid files), unmounts what they left, deletes its namespaces,
# links and files. Safe to run twice, or on a half-made lab:  LAB_ID=1 lab/down.sh
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
. "$here/common.sh"

for dir in "$LAB_DIR"/h*; do
  [ -d "$dir" ] || continue
  n=${dir##*/h}
  "$here/engine.sh" stop "$n" || true
  # A provisioned host's agent (lab/host.sh) goes before its engine.
  [ -f "$dir/agent.pid" ] && "$here/host.sh" stop-agent "$n" || true
  lab_host_down "$n"
done
# Hosts whose directory is gone but whose namespace is not (an interrupted up.sh).
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$LAB_PREFIX-h[0-9]+$"); do
  ip netns del "$ns" 2>/dev/null || true
done
ip netns del "$LAB_SWITCH" 2>/dev/null || true
ip link del "$LAB_ROOT_LINK" 2>/dev/null || true
if awk -v d="$LAB_DIR/" 'index($2, d) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
  log "mounts are left under $LAB_DIR; not deleting it"
  exit 1
fi
rm -rf "$LAB_DIR"
log "lab torn down"
