#!/usr/bin/env bash
# Berth's registry against CNCF distribution (Debian's docker-registry 2.8) on this machine, side by side.
#
#   bench/registry.sh            # REPS=2 CONC=16 DIST_PORT=5150 BERTH_PORT=5151 OUT=/tmp/berth-bench-XXXX
#
# Starts both servers on loopback with fresh data directories (again for every repetition), runs the same
# workloads of bench/RegistryLoad against each, interleaved per workload group (distribution, Berth, distribution,
# Berth ...), samples each server's RSS while it is under load (max VmRSS every 0.2 s, VmHWM at the end), stops
# exactly the processes it started, and writes results.tsv, rss.tsv and summary.md under OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

reps=${REPS:-2}
servers=${SERVERS:-distribution berth}   # either alone is useful to check the script
scale=${SCALE:-1}                        # divides -n, for a quick trial run
conc=${CONC:-16}
dist_port=${DIST_PORT:-5150}
berth_port=${BERTH_PORT:-5151}
# Berth's process environment as shipped (deploy/registry.env, which berth up and docker-compose use too);
# BERTH_ENV="" runs without it, BERTH_ENV="A=1 B=2" with other settings.
berth_env=${BERTH_ENV-$(grep -v '^#' deploy/registry.env | xargs)}
out=${OUT:-$(mktemp -d /tmp/berth-bench-XXXX)}
mkdir -p "$out"
tool="$root/bench/RegistryLoad/bin/Release/net10.0/Berth.Bench.RegistryLoad"
berth_dll="$root/src/Registry/bin/Release/net10.0/Berth.Registry.dll"

# name | workloads | -n | -d seconds | warm-up operations. -n is set so that the faster server, too, runs for about
# the whole duration: a run of a second or two says more about the machine's neighbours than about the server.
groups=(
  "light|ping,head-blob,get-manifest,catalog|400000|8|500"
  "push-1m|push-monolithic-1m,push-streamed-1m,push-chunked-1m|2000|10|16"
  "push-10m|push-monolithic-10m,push-streamed-10m,push-chunked-10m|160|12|4"
  "push-100m|push-monolithic-100m,push-streamed-100m,push-chunked-100m|16|30|1"
  "pull|pull-1m,pull-10m|10000|10|16"
  "pull-100m|pull-100m|64|20|2"
  "mixed|mixed|10000|10|16"
)

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

pids=()
declare -A server_pid
declare -A server_port=([distribution]=$dist_port [berth]=$berth_port)
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$out"/data-*
}
trap cleanup EXIT

wait_ready() { # port
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$1/v2/" 2>/dev/null && return 0
    sleep 0.1
  done
  log "nothing answers on port $1"; return 1
}

start_distribution() { # rep
  local data="$out/data-distribution-$1"
  mkdir -p "$data"
  # Configured for its best showing: no access log, the in-memory blob descriptor cache of Debian's default config.
  cat >"$out/distribution.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $data
  cache:
    blobdescriptor: inmemory
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$dist_port
  secret: berth-bench
EOF
  /usr/bin/docker-registry serve "$out/distribution.yml" >"$out/distribution-$1.log" 2>&1 &
  server_pid[distribution]=$!
  pids+=("$!")
  wait_ready "$dist_port"
}

start_berth() { # rep
  local data="$out/data-berth-$1"
  mkdir -p "$data"
  # Auth off, as distribution runs here: this compares the registries; bench/registry-auth.sh measures auth's cost.
  env $berth_env dotnet "$berth_dll" --urls "http://127.0.0.1:$berth_port" --data-dir "$data" --Registry:Auth:Enabled=false >"$out/berth-$1.log" 2>&1 &
  server_pid[berth]=$!
  pids+=("$!")
  wait_ready "$berth_port"
}

stop() { # pid
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local kept=()
  for pid in "${pids[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
  pids=("${kept[@]}")
}

status_kib() { # pid field
  awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# Samples VmRSS of $1 every 0.2 s while $2 exists; writes the maximum (KiB) to $3.
sample_rss() {
  local pid=$1 flag=$2 file=$3 max=0 rss
  while [ -e "$flag" ]; do
    rss=$(status_kib "$pid" VmRSS)
    [ "${rss:-0}" -gt "$max" ] && max=$rss
    sleep 0.2
  done
  echo "$max" >"$file"
}

run_group() { # server pid port rep group-spec
  local server=$1 pid=$2 port=$3 rep=$4 spec=$5
  local name workloads n duration warmup
  IFS='|' read -r name workloads n duration warmup <<<"$spec"
  n=$(( (n + scale - 1) / scale ))
  local flag="$out/.sampling" maxfile="$out/.maxrss"
  local load1
  load1=$(cut -d' ' -f1 /proc/loadavg)
  # Each run starts with nothing left to write back: distribution acknowledges pushes without fsync, and what the
  # kernel still has to write of one run's bytes must not land in the next run, where Berth's fsyncs would wait
  # behind it (or the reverse).
  sync
  touch "$flag"
  sample_rss "$pid" "$flag" "$maxfile" &
  local sampler=$!
  log "$server#$rep $name (load average $load1)"
  "$tool" --url "http://127.0.0.1:$port" -c "$conc" -n "$n" -d "$duration" --warmup "$warmup" \
    -w "$workloads" --label "$server#$rep" --results "$out/results.tsv" | tee -a "$out/$server.txt" || true
  rm -f "$flag"
  wait "$sampler"
  printf '%s\t%s\t%s\t%s\t%s\n' "$server" "$rep" "$name" "$(cat "$maxfile")" "$load1" >>"$out/rss.tsv"
}

log "building (Release)"
dotnet build "$root/src/Registry/Berth.Registry.csproj" -c Release -nologo -clp:ErrorsOnly >/dev/null
dotnet build "$root/bench/RegistryLoad/Berth.Bench.RegistryLoad.csproj" -c Release -nologo -clp:ErrorsOnly >/dev/null

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "nproc: $(nproc)"
  echo "memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "distribution: $(/usr/bin/docker-registry --version 2>&1 | head -1)"
  echo "berth: $(git -C "$root" rev-parse --short HEAD)${berth_env:+ with $berth_env}"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/machine.txt"
cat "$out/machine.txt" >&2

: >"$out/results.tsv"
: >"$out/rss.tsv"
for rep in $(seq 1 "$reps"); do
  for server in $servers; do
    "start_$server" "$rep"
    log "rep $rep: $server pid ${server_pid[$server]}"
  done
  for spec in "${groups[@]}"; do
    for server in $servers; do
      run_group "$server" "${server_pid[$server]}" "${server_port[$server]}" "$rep" "$spec"
    done
  done
  for server in $servers; do
    printf '%s\t%s\tVmHWM\t%s\t-\n' "$server" "$rep" "$(status_kib "${server_pid[$server]}" VmHWM)" >>"$out/rss.tsv"
    stop "${server_pid[$server]}"
  done
  rm -rf "$out"/data-*
done

python3 "$root/bench/registry-summary.py" "$out" >"$out/summary.md"
cat "$out/summary.md"
log "results in $out"
