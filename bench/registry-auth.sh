#!/usr/bin/env bash
# CPU per request of Berth's registry with token auth against the same registry with auth off, side by side.
#
#   bench/registry-auth.sh     # REPS=3 N=30000 CONC=16 PORT=5160 OUT=/tmp/berth-auth-bench-XXXX
#
# For each repetition and mode (anonymous = auth off, token = bearer token on every request) it starts a fresh
# registry (Release build), warms it up, runs the read workloads of bench/RegistryLoad with a fixed request count, and reads the
# server's CPU time (utime + stime from /proc/PID/stat) before and after each workload. CPU per request is that
# difference over the request count: it does not depend on how busy the rest of the machine is, unlike requests/s.
# Needs: dotnet build -c Release src/Registry bench/RegistryLoad; curl.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
reps=${REPS:-3}
n=${N:-30000}
conc=${CONC:-16}
port=${PORT:-5160}
out=${OUT:-$(mktemp -d /tmp/berth-auth-bench-XXXX)}
mkdir -p "$out"
tool="$root/bench/RegistryLoad/bin/Release/net10.0/Berth.Bench.RegistryLoad"
dll="$root/src/Registry/bin/Release/net10.0/Berth.Registry.dll"
workloads=(head-blob get-manifest pull-1m)
ticks=$(getconf CLK_TCK)
pid=""

log() { printf '[auth-bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
cleanup() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; }
trap cleanup EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

start_registry() { # mode data-dir
  local enabled=true
  [ "$1" = anonymous ] && enabled=false
  dotnet "$dll" --urls "http://127.0.0.1:$port" --data-dir "$2" --Registry:Auth:Enabled="$enabled" >"$2.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && return 0
    sleep 0.1
  done
  log "registry did not start"; cat "$2.log"; exit 1
}

stop_registry() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }

token_for() { # data-dir
  local password scopes=""
  password=$(cat "$1/initial-admin-password")
  for w in small pull-1m; do scopes+="&scope=repository:authbench/$w:pull,push"; done
  curl -fsS -u "admin:$password" "http://127.0.0.1:$port/auth/token?service=berth-registry$scopes" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}

printf 'rep\tmode\tworkload\trequests\tcpu_us_per_request\treq_per_s\n' >"$out/results.tsv"
for rep in $(seq 1 "$reps"); do
  for mode in anonymous token; do
    data="$out/data-$rep-$mode"
    rm -rf "$data"; mkdir -p "$data"
    start_registry "$mode" "$data"
    auth=()
    [ "$mode" = token ] && auth=(--token "$(token_for "$data")")
    # Unmeasured warm-up: JIT and tiered compilation of both paths (the token path is the larger) must not count.
    "$tool" --url "http://127.0.0.1:$port" -w "$(IFS=,; echo "${workloads[*]}")" -c "$conc" -n 3000 -d 60 --repo-prefix authbench "${auth[@]}" >>"$out/tool.log"
    for w in "${workloads[@]}"; do
      count=$n
      [ "$w" = pull-1m ] && count=$((n / 10))
      before=$(cpu_ticks "$pid")
      line=$("$tool" --url "http://127.0.0.1:$port" -w "$w" -c "$conc" -n "$count" -d 120 --repo-prefix authbench "${auth[@]}" | tee -a "$out/tool.log" | grep -E "^$w[[:space:]]" | tail -1)
      after=$(cpu_ticks "$pid")
      # Columns: workload ops err sec ops/s unit MiB/s p50 p90 p99.
      ops=$(echo "$line" | awk '{print $2}'); errors=$(echo "$line" | awk '{print $3}'); rps=$(echo "$line" | awk '{print $5}')
      [ "$errors" = 0 ] || { log "$w had $errors errors in mode $mode"; exit 1; }
      us=$(awk -v d=$((after - before)) -v t="$ticks" -v c="$ops" 'BEGIN { printf "%.1f", d * 1e6 / t / c }')
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$rep" "$mode" "$w" "$count" "$us" "$rps" | tee -a "$out/results.tsv" >&2
    done
    stop_registry
  done
done

# Median CPU per request per mode and workload, and the overhead of token auth.
python3 - "$out/results.tsv" <<'PY' | tee "$out/summary.md"
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter='\t'))
print("| workload | CPU µs/request, auth off | CPU µs/request, bearer token | overhead |")
print("| --- | ---: | ---: | ---: |")
for w in dict.fromkeys(r["workload"] for r in rows):
    med = {m: statistics.median(float(r["cpu_us_per_request"]) for r in rows if r["workload"] == w and r["mode"] == m) for m in ("anonymous", "token")}
    print(f"| {w} | {med['anonymous']:.1f} | {med['token']:.1f} | {100 * (med['token'] / med['anonymous'] - 1):+.1f}% |")
PY
log "results in $out"
