#!/usr/bin/env bash
# Berth's registry start-up on the large registry that bench/registry-scale.sh populates (1,000,000 manifests in
# 100,000 repositories): process start -> first answer of GET /v2/, the index load it logs, and the CPU it spent.
#
#   bench/registry-startup.sh   # DIR=/tmp/berth-scale RUNS=3 QUIET=4 WAIT=300 COLD=0 LABEL=default EXTRA_ENV=
#
# The machine is shared, so each run waits (up to WAIT seconds, polling /proc/loadavg every 5 s) for the 1-minute
# load average to drop to QUIET or below, and starts at the lowest it saw if it never does; the load at the start is
# recorded beside each figure. COLD=1 evicts registry.db from the page cache first (posix_fadvise DONTNEED on that
# file only, not the machine's whole cache), as after a reboot. EXTRA_ENV adds settings to the registry's
# environment (deploy/registry.env stays), e.g. EXTRA_ENV="DOTNET_TieredCompilation=0" to compare runtime settings.
# Per run: wall seconds to the first answer; the index load's own figure from the log; user and system CPU seconds
# at that moment (/proc/PID/stat); VmRSS then. Starts one server at a time and stops exactly the process it started.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

dir=${DIR:-/tmp/berth-scale}
runs=${RUNS:-3}
quiet=${QUIET:-4}
wait_max=${WAIT:-300}
cold=${COLD:-0}
label=${LABEL:-default}
port=${BERTH_PORT:-5161}
berth_env=${BERTH_ENV-$(grep -v '^#' deploy/registry.env | xargs)}
extra_env=${EXTRA_ENV:-}
berth_dll=${BERTH_DLL:-"$root/src/Registry/bin/Release/net10.0/Berth.Registry.dll"}
results="$dir/startup.tsv"
ticks=$(getconf CLK_TCK)

log() { printf '[startup %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

[ -f "$dir/berth/registry.db" ] || { log "no $dir/berth/registry.db: populate with bench/registry-scale.sh first"; exit 1; }

pid=
cleanup() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; }
trap cleanup EXIT

load1() { cut -d' ' -f1 /proc/loadavg; }

# Waits for load1 <= quiet (or wait_max seconds), prints the load at the moment chosen.
wait_quiet() {
  local best waited=0 now
  best=$(load1)
  while awk -v l="$(load1)" -v q="$quiet" 'BEGIN { exit !(l > q) }' && [ "$waited" -lt "$wait_max" ]; do
    sleep 5; waited=$((waited + 5))
    now=$(load1)
    awk -v a="$now" -v b="$best" 'BEGIN { exit !(a < b) }' && best=$now
  done
  # Never quiet: wait until the load is back near the lowest seen (a minute more at most).
  if awk -v l="$(load1)" -v q="$quiet" 'BEGIN { exit !(l > q) }'; then
    for _ in $(seq 1 12); do
      awk -v l="$(load1)" -v b="$best" 'BEGIN { exit !(l > b * 1.1) }' || break
      sleep 5
    done
  fi
  load1
}

evict() { # file: drop its pages from the page cache (this file only)
  python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.fsync(fd)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
os.close(fd)' "$1"
}

for run in $(seq 1 "$runs"); do
  sync
  load=$(wait_quiet)
  [ "$cold" = 1 ] && { evict "$dir/berth/registry.db"; [ -f "$dir/berth/registry.db-wal" ] && evict "$dir/berth/registry.db-wal"; }
  logfile="$dir/startup-$label-$run.log"
  start=$EPOCHREALTIME
  # shellcheck disable=SC2086 # the settings are KEY=VALUE words
  env $berth_env $extra_env dotnet "$berth_dll" --urls "http://127.0.0.1:$port" --data-dir "$dir/berth" \
    --Registry:Auth:Enabled=false >"$logfile" 2>&1 &
  pid=$!
  ready=
  for _ in $(seq 1 2400); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/v2/" 2>/dev/null; then
      ready=$(echo "$start $EPOCHREALTIME" | awk '{ printf "%.2f", $2 - $1 }')
      break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$ready" ] || { log "run $run: no answer on port $port (log: $logfile)"; exit 1; }
  read -r utime stime < <(awk '{ print $14, $15 }' "/proc/$pid/stat")
  rss=$(awk '$1 == "VmRSS:" { print int($2 / 1024) }' "/proc/$pid/status")
  index=$(grep -o '[0-9]* tags indexed in [0-9]* MiB in [0-9.]* s' "$logfile" | head -1 | awk '{ print $8 }')
  after=$(load1)
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
  cpu_user=$(awk -v t="$utime" -v h="$ticks" 'BEGIN { printf "%.2f", t / h }')
  cpu_sys=$(awk -v t="$stime" -v h="$ticks" 'BEGIN { printf "%.2f", t / h }')
  log "$label#$run: first answer after $ready s (index load $index s), CPU user $cpu_user s sys $cpu_sys s, RSS $rss MiB, load $load -> $after, cold=$cold"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$label" "$run" "$cold" "$ready" "$index" \
    "$cpu_user" "$cpu_sys" "$rss" "$load" "$after" >>"$results"
done

echo "# date label run cold first-answer-s index-load-s cpu-user-s cpu-sys-s rss-MiB load1-before load1-after"
tail -n "$runs" "$results"
