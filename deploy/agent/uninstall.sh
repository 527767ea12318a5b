#!/usr/bin/env bash
# Removes the Berth agent: stops and disables the unit, deletes /opt/berth/agent and the unit file.
#   sudo deploy/agent/uninstall.sh [--purge]
# --purge also deletes /etc/berth/agent.json and the state dir (the instance identity: a later install then
# registers as a new container instance). Containers the agent started are left to the engine. DESTDIR as in install.sh.
set -euo pipefail

destdir=${DESTDIR:-}
purge=0
case "${1:-}" in
  --purge) purge=1 ;;
  "") ;;
  *) echo "uninstall.sh: unknown option $1" >&2; exit 2 ;;
esac

unit=/etc/systemd/system/berth-agent.service
if [ -n "$destdir" ]; then
  if command -v systemctl >/dev/null && [ -f "$destdir$unit" ]; then
    systemctl --root="$destdir" disable berth-agent.service || true
  fi
elif [ -d /run/systemd/system ]; then
  systemctl disable --now berth-agent.service 2>/dev/null || true
else
  systemctl disable berth-agent.service 2>/dev/null || true
fi

rm -f "$destdir$unit"
rm -f "$destdir/etc/systemd/system/multi-user.target.wants/berth-agent.service"
rm -rf "$destdir/opt/berth/agent"
rmdir "$destdir/opt/berth" 2>/dev/null || true
if ((purge)); then
  rm -f "$destdir/etc/berth/agent.json"
  rmdir "$destdir/etc/berth" 2>/dev/null || true
  rm -rf "$destdir/var/lib/berth/agent"
  rmdir "$destdir/var/lib/berth" 2>/dev/null || true
fi
if [ -z "$destdir" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
fi
echo "removed the Berth agent from ${destdir:-/}"
