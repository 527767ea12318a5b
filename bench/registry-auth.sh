#!/usr/bin/env bash
# CPU per request of Berth's registry with token auth against the same registry with auth off, side by side.
#
#   bench/registry-auth.sh     # REPS=5 N=30000 CONC=16 PORT=5160 (and PORT+1) OUT=/tmp/berth-auth-bench-XXXX
#
# Each repetition starts two fresh registries from the same Release build: "anonymous" (auth off, no token sent) on
# PORT and "token" (auth on, a bearer token on every request) on PORT+1. Both are warmed up, then each workload runs
# against both AT THE SAME TIME with a fixed request count, and the CPU time of each server (utime + stime from
# /proc/PID/stat) is read before and after. CPU per request is that difference over the request count. Running the two
# at once puts them under the same neighbours: on a shared machine CPU per request itself moves by +-30% with the
# load (fewer requests per wake-up when starved), so only a side-by-side ratio is stable.
# Needs: dotnet build -c Release src/Registry bench/RegistryLoad; curl.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
reps=${REPS:-5}
n=${N:-30000}
conc=${CONC:-16}
port=${PORT:-5160}
out=${OUT:-$(mktemp -d /tmp/berth-auth-bench-XXXX)}
mkdir -p "$out"
tool="$root/bench/RegistryLoad/bin/Release/net10.0/Berth.Bench.RegistryLoad"
dll=${DLL:-"$root/src/Registry/bin/Release/net10.0/Berth.Registry.dll"}   # DLL=...: a copied build, so rebuilding does not change it mid-run
workloads=(head-blob get-manifest pull-1m)
modes=(anonymous token)
ticks=$(getconf CLK_TCK)
declare -A pid=() mode_port=([anonymous]=$port [token]=$((port + 1))) auth=()

log() { printf '[auth-bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
cleanup() {
  for m in "${!pid[@]}"; do kill "${pid[$m]}" 2>/dev/null || true; wait "${pid[$m]}" 2>/dev/null || true; done
}
trap cleanup EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

start_registry() { # mode data-dir
  local enabled=true p=${mode_port[$1]}
  [ "$1" = anonymous ] && enabled=false
  dotnet "$dll" --urls "http://127.0.0.1:$p" --data-dir "$2" --Registry:Auth:Enabled="$enabled" >"$2.log" 2>&1 &
  pid[$1]=$!
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$p/v2/" && return 0
    sleep 0.1
  done
  log "registry ($1) did not start"; cat "$2.log"; exit 1
}

stop_registries() {
  for m in "${modes[@]}"; do kill "${pid[$m]}"; wait "${pid[$m]}" 2>/dev/null || true; done
  pid=()
}

token_for() { # data-dir port
  local password scopes=""
  password=$(cat "$1/initial-admin-password")
  for w in small pull-1m; do scopes+="&scope=repository:authbench/$w:pull,push"; done
  curl -fsS -u "admin:$password" "http://127.0.0.1:$2/auth/token?service=berth-registry$scopes" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}

run_tool() { # mode workloads count
  local m=$1
  local args=()
  [ -n "${auth[$m]:-}" ] && args=(--token "${auth[$m]}")
  "$tool" --url "http://127.0.0.1:${mode_port[$m]}" -w "$2" -c "$conc" -n "$3" -d 180 --repo-prefix authbench "${args[@]}"
}

printf 'rep\tmode\tworkload\trequests\tcpu_us_per_request\treq_per_s\tload1\n' >"$out/results.tsv"
for rep in $(seq 1 "$reps"); do
  auth=()
  for m in "${modes[@]}"; do
    data="$out/data-$rep-$m"
    rm -rf "$data"; mkdir -p "$data"
    start_registry "$m" "$data"
    [ "$m" = token ] && auth[$m]=$(token_for "$data" "${mode_port[$m]}")
  done
  # Unmeasured warm-up: JIT and tiered compilation of both paths (the token path is the larger) must not count.
  for m in "${modes[@]}"; do
    run_tool "$m" "$(IFS=,; echo "${workloads[*]}")" 3000 >>"$out/tool.log" &
  done
  wait
  for w in "${workloads[@]}"; do
    count=$n
    [ "$w" = pull-1m ] && count=$((n / 10))
    load1=$(cut -d' ' -f1 /proc/loadavg)
    declare -A before=()
    for m in "${modes[@]}"; do before[$m]=$(cpu_ticks "${pid[$m]}"); done
    for m in "${modes[@]}"; do
      run_tool "$m" "$w" "$count" >"$out/run-$m.txt" &
    done
    wait
    for m in "${modes[@]}"; do
      after=$(cpu_ticks "${pid[$m]}")
      cat "$out/run-$m.txt" >>"$out/tool.log"
      # Columns: workload ops err sec ops/s unit MiB/s p50 p90 p99.
      line=$(grep -E "^$w[[:space:]]" "$out/run-$m.txt" | tail -1)
      ops=$(echo "$line" | awk '{print $2}'); errors=$(echo "$line" | awk '{print $3}'); rps=$(echo "$line" | awk '{print $5}')
      [ "$errors" = 0 ] || { log "$w had $errors errors in mode $m"; exit 1; }
      us=$(awk -v d=$((after - ${before[$m]})) -v t="$ticks" -v c="$ops" 'BEGIN { printf "%.1f", d * 1e6 / t / c }')
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rep" "$m" "$w" "$count" "$us" "$rps" "$load1" | tee -a "$out/results.tsv" >&2
    done
  done
  stop_registries
done

# Median CPU per request per mode and workload, the median of the per-repetition ratios, and the overhead.
python3 - "$out/results.tsv" <<'PY' | tee "$out/summary.md"
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter='\t'))
print("| workload | CPU µs/request, auth off | CPU µs/request, bearer token | overhead (median of per-repetition ratios) | every repetition |")
print("| --- | ---: | ---: | ---: | --- |")
for w in dict.fromkeys(r["workload"] for r in rows):
    cpu = {(r["rep"], r["mode"]): float(r["cpu_us_per_request"]) for r in rows if r["workload"] == w}
    reps = sorted({rep for rep, _ in cpu}, key=int)
    med = {m: statistics.median(cpu[(rep, m)] for rep in reps) for m in ("anonymous", "token")}
    ratios = [cpu[(rep, "token")] / cpu[(rep, "anonymous")] - 1 for rep in reps]
    every = ", ".join(f"{100 * r:+.0f}%" for r in ratios)
    print(f"| {w} | {med['anonymous']:.1f} | {med['token']:.1f} | {100 * statistics.median(ratios):+.1f}% | {every} |")
PY
log "results in $out"
