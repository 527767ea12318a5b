#!/usr/bin/env bash
# Berth's registry against CNCF distribution (Debian's docker-registry 2.8) with a large registry: 1,000,000 manifests
# in 100,000 repositories, GET of manifests by digest spread at random over all of them, side by side.
#
#   bench/registry-scale.sh     # DIR=/tmp/berth-scale REPOS=100000 PER=10 REPS=2 CONC=16 DURATION=20 SKIP_BUILD=0
#
# Populates once into DIR (kept between runs; under load here Berth's side took 4 minutes, distribution's 25-40) with
# bench/RegistryScale: Berth in its own schema (the registry's migrations, the rows a push writes, batched),
# distribution in its own filesystem layout on a loop-mounted ext4 image with 1 KiB blocks (4 million small files and
# directories; on the root filesystem they would take 16 GB). Then, per repetition, starts each server on the
# populated data, measures Berth's start-up (process start to the first answer of GET /v2/, and the index load it
# logs), runs the get-manifest-spread workload of bench/RegistryLoad (every body checked against its digest), samples
# each server's VmRSS under load, stops exactly the processes it started, and prints a summary (also in
# DIR/summary-*.md).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

dir=${DIR:-/tmp/berth-scale}
repos=${REPOS:-100000}
per=${PER:-10}
reps=${REPS:-2}
conc=${CONC:-16}
duration=${DURATION:-20}
dist_port=${DIST_PORT:-5160}
berth_port=${BERTH_PORT:-5161}
berth_env=${BERTH_ENV-$(grep -v '^#' deploy/registry.env | xargs)}
stamp=$(date -u +%Y%m%d-%H%M%S)
results="$dir/results-$stamp.tsv"
summary="$dir/summary-$stamp.md"
load_tool="$root/bench/RegistryLoad/bin/Release/net10.0/Berth.Bench.RegistryLoad"
scale_tool="$root/bench/RegistryScale/bin/Release/net10.0/Berth.Bench.RegistryScale"
berth_dll="$root/src/Registry/bin/Release/net10.0/Berth.Registry.dll"

log() { printf '[scale %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

stop() { # pid
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local kept=()
  for pid in "${pids[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
  pids=("${kept[@]}")
}

wait_ready() { # port -> seconds waited
  local start=$EPOCHREALTIME
  for _ in $(seq 1 1200); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$1/v2/" 2>/dev/null; then
      echo "$start $EPOCHREALTIME" | awk '{ printf "%.2f", $2 - $1 }'
      return 0
    fi
    sleep 0.05
  done
  log "nothing answers on port $1"; return 1
}

status_kib() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

sample_rss() { # pid flag file
  local max=0 rss
  while [ -e "$2" ]; do
    rss=$(status_kib "$1" VmRSS)
    [ "${rss:-0}" -gt "$max" ] && max=$rss
    sleep 0.2
  done
  echo "$max" >"$3"
}

if [ "${SKIP_BUILD:-0}" != 1 ]; then # SKIP_BUILD=1: the Release builds are there (a no-op build takes minutes under load)
  log "building (Release)"
  for project in src/Registry bench/RegistryLoad bench/RegistryScale; do
    dotnet build "$root/$project" -c Release -nologo -clp:ErrorsOnly >/dev/null
  done
fi

mkdir -p "$dir/dist"
if [ ! -f "$dir/berth/registry.db" ]; then
  log "populating Berth: $repos repositories x $per manifests"
  "$scale_tool" berth "$dir/berth" "$repos" "$per"
fi
if ! mountpoint -q "$dir/dist"; then
  if [ ! -f "$dir/dist.img" ]; then
    truncate -s 14G "$dir/dist.img"
    mkfs.ext4 -q -F -b 1024 -N $((repos * per * 5)) -m 0 -O ^has_journal "$dir/dist.img"
  fi
  mount -o loop,noatime "$dir/dist.img" "$dir/dist"
fi
if [ ! -d "$dir/dist/docker" ]; then
  log "populating distribution: $repos repositories x $per manifests"
  "$scale_tool" distribution "$dir/dist" "$repos" "$per"
fi

cat >"$dir/distribution.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/dist
  cache:
    blobdescriptor: inmemory
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$dist_port
  secret: berth-bench
YML

measure() { # server pid port rep
  local flag="$dir/.sampling" maxfile="$dir/.maxrss" load1
  load1=$(cut -d' ' -f1 /proc/loadavg)
  sync
  touch "$flag"
  sample_rss "$2" "$flag" "$maxfile" &
  local sampler=$!
  log "$1#$4 get-manifest-spread (load average $load1)"
  "$load_tool" --url "http://127.0.0.1:$3" -c "$conc" -n 5000000 -d "$duration" --warmup 2000 --scale "$repos:$per" \
    -w get-manifest-spread --label "$1#$4" --results "$results" | tee -a "$dir/$1-$stamp.txt" || true
  rm -f "$flag"
  wait "$sampler"
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$4" "$(cat "$maxfile")" "$(status_kib "$2" VmHWM)" "$load1" >>"$dir/rss-$stamp.tsv"
}

for rep in $(seq 1 "$reps"); do
  /usr/bin/docker-registry serve "$dir/distribution.yml" >"$dir/distribution-$stamp-$rep.log" 2>&1 &
  pid=$!; pids+=("$pid")
  wait_ready "$dist_port" >/dev/null
  measure distribution "$pid" "$dist_port" "$rep"
  stop "$pid"

  sync
  env $berth_env dotnet "$berth_dll" --urls "http://127.0.0.1:$berth_port" --data-dir "$dir/berth" --Registry:Auth:Enabled=false >"$dir/berth-$stamp-$rep.log" 2>&1 &
  pid=$!; pids+=("$pid")
  ready=$(wait_ready "$berth_port")
  idle=$(status_kib "$pid" VmRSS)
  cpu=$(awk -v h="$(getconf CLK_TCK)" '{ printf "user %.1f s, sys %.1f s", $14 / h, $15 / h }' "/proc/$pid/stat")
  indexed=$(grep -o 'indexed in [0-9]* MiB in [0-9.]* s' "$dir/berth-$stamp-$rep.log" | head -1)
  printf 'berth\t%s\tstart-up %s s to the first answer (%s; CPU %s), RSS after start %s MiB, load average %s\n' \
    "$rep" "$ready" "$indexed" "$cpu" "$((idle / 1024))" "$(cut -d' ' -f1 /proc/loadavg)" >>"$dir/startup-$stamp.tsv"
  log "berth#$rep answered after $ready s ($indexed; CPU $cpu), RSS $((idle / 1024)) MiB"
  measure berth "$pid" "$berth_port" "$rep"
  stop "$pid"
done

{
  echo "# Scale benchmark $stamp: $repos repositories x $per manifests, c=$conc, ${duration} s per run"
  echo
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo); berth $(git rev-parse --short HEAD); $(uptime)"
  echo
  echo '| label | ops | errors | seconds | req/s | p50 ms | p90 ms | p99 ms |'
  echo '| --- | --- | --- | --- | --- | --- | --- | --- |'
  awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $4, $5, $6, $7, $10, $11, $12 }' "$results"
  echo
  echo '| server | rep | max VmRSS under load (MiB) | VmHWM (MiB) | load average |'
  echo '| --- | --- | --- | --- | --- |'
  awk -F'\t' '{ printf "| %s | %s | %d | %d | %s |\n", $1, $2, $3 / 1024, $4 / 1024, $5 }' "$dir/rss-$stamp.tsv"
  echo
  cat "$dir/startup-$stamp.tsv"
} | tee "$summary"
