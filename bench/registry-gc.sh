#!/usr/bin/env bash
# Online garbage collection at scale (issue 15's target: 100,000 manifests and 1,000,000 blobs collected in under 60 s
# of work on 2 cores, small-request throughput during GC >= 80% of idle).
#
#   bench/registry-gc.sh     # DIR=/tmp/berth-gc REPOS=1000 PORT=5170 CONC=16 DURATION=8 RUNS="collect load"
#
# Populates once (kept in DIR/template.img between runs) with `Berth.Bench.RegistryScale gc`: REPOS repositories of
# 100 manifests and 1,000 blobs each (bench/RegistryScale/GcImages.cs: 19% of the manifests untagged, 27.9% of the
# blobs garbage), rows written in the registry's own schema so that its triggers fill the review queues, real blob
# files on a loop-mounted ext4 image with 1 KiB blocks. Every run works on a fresh copy of that image and starts the
# real registry process on it (review delay 0, the background collector off, collections started through the admin
# API):
#   collect  one collection alone: wall time (the run's own start/finish), the process's CPU time over it
#            (/proc/PID/stat), rows and bytes reclaimed, then gc-verify (database, files, and over HTTP);
#   load     bench/RegistryLoad's ping, head-blob and get-manifest idle, then during a collection, then idle again
#            after it, side by side; then gc-verify. LOAD_DELAY=S starts the load during the collection S seconds
#            after the collection (0 by default: its stamp phase; ~45 on an idle 2-core machine: its blob phase,
#            85% of the work).
# Stops exactly the processes it started and prints a summary (also DIR/summary-STAMP.md).
# GC_BATCH=N sets Registry:Gc:BatchSize for the runs (the registry's default otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

dir=${DIR:-/tmp/berth-gc}
repos=${REPOS:-1000}
port=${PORT:-5170}
conc=${CONC:-16}
duration=${DURATION:-8}
runs=${RUNS:-collect load}
batch=${GC_BATCH:-}
load_delay=${LOAD_DELAY:-0}
berth_env=${BERTH_ENV-$(grep -v '^#' deploy/registry.env | xargs)}
stamp=$(date -u +%Y%m%d-%H%M%S)
out="$dir/out-$stamp"
summary="$dir/summary-$stamp.md"
scale_tool="$root/bench/RegistryScale/bin/Release/net10.0/Berth.Bench.RegistryScale"
load_tool="$root/bench/RegistryLoad/bin/Release/net10.0/Berth.Bench.RegistryLoad"
berth_dll=${BERTH_DLL:-$root/src/Registry/bin/Release/net10.0/Berth.Registry.dll}  # another build: a before/after comparison
ticks=$(getconf CLK_TCK)

log() { printf '[gc %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if mountpoint -q "$dir/run"; then umount "$dir/run"; fi
  if mountpoint -q "$dir/template"; then umount "$dir/template"; fi
  rm -f "$dir/run.img"
}
trap cleanup EXIT

stop() { # pid
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local kept=()
  for pid in "${pids[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
  pids=("${kept[@]}")
}

wait_ready() { # port
  for _ in $(seq 1 1200); do
    curl -fsS -o /dev/null "http://127.0.0.1:$1/v2/" 2>/dev/null && return 0
    sleep 0.1
  done
  log "nothing answers on port $1"; return 1
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

rows() { # data dir -> "manifests blobs links references tags manifest-queue blob-queue"
  sqlite3 "$1/registry.db" 'SELECT (SELECT COUNT(*) FROM "Manifests"), (SELECT COUNT(*) FROM "Blobs"), (SELECT COUNT(*) FROM "RepositoryBlobs"),
    (SELECT COUNT(*) FROM "ManifestBlobs"), (SELECT COUNT(*) FROM "Tags"), (SELECT COUNT(*) FROM "GcManifestReviews"), (SELECT COUNT(*) FROM "GcBlobReviews");' | tr '|' ' '
}

used_kib() { # data dir -> "blob files KiB, database KiB (with its WAL)"
  echo "$(du -sk "$1/blobs" | cut -f1) KiB blob files, $(cat "$1"/registry.db* | wc -c | awk '{ printf "%d", $1 / 1024 }') KiB database"
}

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  log "building (Release)"
  for project in src/Registry bench/RegistryLoad bench/RegistryScale; do
    nice -n 10 dotnet build "$root/$project" -c Release -nologo -clp:ErrorsOnly >/dev/null
  done
fi

mkdir -p "$dir/template" "$dir/run" "$out"
if [ ! -f "$dir/template.img" ]; then
  log "populating: $repos repositories x 100 manifests, 1,000 blobs"
  truncate -s $((repos * 8))M "$dir/template.img.tmp"
  mkfs.ext4 -q -F -b 1024 -N $((repos * 1200 + 10000)) -m 0 -O ^has_journal "$dir/template.img.tmp"
  mount -o loop,noatime "$dir/template.img.tmp" "$dir/template"
  nice -n 10 "$scale_tool" gc "$dir/template/data" "$repos" | tee "$dir/populate.txt"
  umount "$dir/template"
  mv "$dir/template.img.tmp" "$dir/template.img"
fi

start_run() { # name -> sets data, pid
  log "$1: fresh copy of the populated registry"
  cp --sparse=always "$dir/template.img" "$dir/run.img"
  mount -o loop,noatime "$dir/run.img" "$dir/run"
  data="$dir/run/data"
  local settings=(--Registry:Auth:Enabled=false --Registry:Gc:Enabled=false --Registry:Gc:ReviewDelay=00:00:00)
  [ -n "$batch" ] && settings+=("--Registry:Gc:BatchSize=$batch")
  env $berth_env dotnet "$berth_dll" --urls "http://127.0.0.1:$port" --data-dir "$data" "${settings[@]}" >"$out/berth-$1.log" 2>&1 &
  pid=$!; pids+=("$pid")
  wait_ready "$port"
  password=$(cat "$data/initial-admin-password")
}

end_run() { # name
  log "$1: verifying"
  "$scale_tool" gc-verify "$data" "$repos" "http://127.0.0.1:$port" 10 | tee "$out/verify-$1.txt" || true
  stop "$pid"
  umount "$dir/run"
  rm -f "$dir/run.img"
}

collect() { # name -> the run's report in $out/gc-NAME.json; curl's own timing in $out/gc-NAME.time
  curl -fsS -u "admin:$password" -X POST -o "$out/gc-$1.json" -w '%{time_total}\n' "http://127.0.0.1:$port/api/v1/gc/runs" >"$out/gc-$1.time"
}

run_summary() { # json -> "wall_s manifests blobs bytes error"
  python3 - "$1" <<'PY'
import json, sys
from datetime import datetime
run = json.load(open(sys.argv[1]))["run"]
wall = (datetime.fromisoformat(run["finishedAt"]) - datetime.fromisoformat(run["startedAt"])).total_seconds()
print(f"{wall:.1f} {run['manifestsDeleted']} {run['blobsDeleted']} {run['bytesDeleted']} {run.get('error') or '-'}")
PY
}

for run in $runs; do
  case $run in
  collect)
    start_run collect
    sync; sleep 2
    before_rows=$(rows "$data"); before_used=$(used_kib "$data"); load1=$(cut -d' ' -f1 /proc/loadavg)
    cpu0=$(cpu_ticks "$pid")
    log "collect: collecting (load average $load1)"
    collect collect
    cpu1=$(cpu_ticks "$pid")
    sync
    after_rows=$(rows "$data"); after_used=$(used_kib "$data"); load1_end=$(cut -d' ' -f1 /proc/loadavg)
    read -r wall manifests blobs bytes error < <(run_summary "$out/gc-collect.json")
    cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v t="$ticks" 'BEGIN { printf "%.1f", (b - a) / t }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$wall" "$cpu" "$manifests" "$blobs" "$bytes" "$error" \
      "$before_rows" "$after_rows" "$before_used" "$after_used" "$load1" "$load1_end" >"$out/collect.tsv"
    log "collect: $wall s wall, $cpu s CPU, $manifests manifests and $blobs blobs deleted"
    end_run collect
    ;;
  load)
    start_run load
    results="$out/load.tsv"
    workloads=ping,head-blob,get-manifest
    load() { # label
      "$load_tool" --url "http://127.0.0.1:$port" -c "$conc" -n 100000000 -d "$duration" --warmup 500 -w "$workloads" \
        --repo-prefix bench-gc --label "$1" --results "$results" | tee -a "$out/load.txt"
    }
    log "load: idle (load average $(cut -d' ' -f1 /proc/loadavg))"
    load idle
    cpu0=$(cpu_ticks "$pid")
    started=$EPOCHREALTIME
    (collect load; echo "$EPOCHREALTIME" >"$out/gc-load.end") &
    collector=$!; pids+=("$collector")
    sleep "$load_delay"
    log "load: during the collection, ${load_delay} s after its start (load average $(cut -d' ' -f1 /proc/loadavg))"
    load during-gc
    load_end=$EPOCHREALTIME
    if kill -0 "$collector" 2>/dev/null; then covered=yes; else covered=no; fi
    wait "$collector"
    pids=("${pids[@]/$collector}")
    gc_end=$(cat "$out/gc-load.end")
    log "load: idle again (load average $(cut -d' ' -f1 /proc/loadavg))"
    load idle-after
    read -r wall manifests blobs bytes error < <(run_summary "$out/gc-load.json")
    printf '%s\t%s\t%s\t%s\t%s\n' "$wall" "$manifests" "$blobs" "$covered" \
      "$(awk -v s="$started" -v l="$load_end" -v g="$gc_end" -v d="$load_delay" 'BEGIN { printf "load from %d s to %.1f s, collection %.1f s", d, l - s, g - s }')" >"$out/load-gc.tsv"
    end_run load
    ;;
  *) log "unknown run $run"; exit 2 ;;
  esac
done

{
  echo "# GC benchmark $stamp: $repos repositories, $((repos * 100)) manifests, $((repos * 1000)) blobs${batch:+, BatchSize $batch}${BERTH_DLL:+, registry $BERTH_DLL}"
  echo
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo); berth $(git rev-parse --short HEAD); $(uptime)"
  if [ -f "$out/collect.tsv" ]; then
    echo
    echo '| collection alone | wall s | CPU s | manifests deleted | blobs deleted | bytes | error | load avg start/end |'
    echo '| --- | --- | --- | --- | --- | --- | --- | --- |'
    awk -F'\t' '{ printf "| | %s | %s | %s | %s | %s | %s | %s / %s |\n", $1, $2, $3, $4, $5, $6, $11, $12 }' "$out/collect.tsv"
    echo
    echo 'rows (manifests blobs links references tags manifest-queue blob-queue), space:'
    awk -F'\t' '{ printf "- before: %s; %s\n- after:  %s; %s\n", $7, $9, $8, $10 }' "$out/collect.tsv"
    grep -h 'gc-verify' "$out/verify-collect.txt" | sed 's/^/    /'
  fi
  if [ -f "$out/load.tsv" ]; then
    echo
    echo "| workload (c=$conc, ${duration} s) | idle req/s | during GC req/s | during/idle | idle after req/s | p99 ms idle / during |"
    echo '| --- | --- | --- | --- | --- | --- |'
    awk -F'\t' '{ rate[$1 FS $2] = $7; p99[$1 FS $2] = $12; if (!seen[$2]++) order[++n] = $2 }
      END { for (i = 1; i <= n; i++) { w = order[i]; idle = rate["idle" FS w]; gc = rate["during-gc" FS w];
        printf "| %s | %s | %s | %.0f%% | %s | %s / %s |\n", w, idle, gc, (idle > 0 ? 100 * gc / idle : 0), rate["idle-after" FS w], p99["idle" FS w], p99["during-gc" FS w] } }' "$out/load.tsv"
    echo
    awk -F'\t' '{ printf "collection during the load: %s s wall, %s manifests and %s blobs deleted; still running when the load ended: %s (%s)\n", $1, $2, $3, $4, $5 }' "$out/load-gc.tsv"
    grep -h 'gc-verify' "$out/verify-load.txt" | sed 's/^/    /'
  fi
} | tee "$summary"
