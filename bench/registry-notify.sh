#!/usr/bin/env bash
# The cost of pull events on the hottest pull path: small-request throughput of the registry without notification
# endpoints ("off") and with one endpoint subscribed to push, delete and pull ("pull"), interleaved round by round.
#
#   bench/registry-notify.sh     # REPS=3 CONC=16 DURATION=8 N=400000 PORT=5181 HOOK_PORT=5182 HOOK_URL= WORKLOADS=get-manifest,head-blob OUT=
#
# Before/after in one run: BASE_DLL=/path/to/another/build/Berth.Registry.dll MODES=off,pull,pull-base runs the
# "-base" modes with that build (say, main's, built in a worktree of its own), interleaved with this one's.
#
# The endpoint is a local receiver on loopback (python3, answers 200 to every POST and counts the events), so the
# figures include delivering every pull event, not only noting it. Starts and stops exactly the processes it started;
# writes results.tsv (the load tool's lines), cpu-ms.tsv (the registry's CPU milliseconds per run) and the receiver's
# event counts under OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

reps=${REPS:-3}
conc=${CONC:-16}
duration=${DURATION:-8}
n=${N:-400000}
port=${PORT:-5181}
hook_port=${HOOK_PORT:-5182}
# HOOK_URL=http://127.0.0.1:9/events (nothing listens): events are noted and written but never delivered, which
# separates the cost of recording pull events from the cost of delivering them.
hook_url=${HOOK_URL:-http://127.0.0.1:$hook_port/events}
workloads=${WORKLOADS:-get-manifest,head-blob}
modes=${MODES:-off,pull}
base_dll=${BASE_DLL:-}
berth_env=${BERTH_ENV-$(grep -v '^#' deploy/registry.env | xargs)}
out=${OUT:-$(mktemp -d /tmp/berth-notify-XXXX)}
mkdir -p "$out"
tool="$root/bench/RegistryLoad/bin/Release/net10.0/Berth.Bench.RegistryLoad"
berth_dll="$root/src/Registry/bin/Release/net10.0/Berth.Registry.dll"

log() { printf '[notify-bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$out"/data-*
}
trap cleanup EXIT

wait_ready() { # url
  for _ in $(seq 1 150); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  log "nothing answers at $1"; return 1
}

cat >"$out/receiver.py" <<'PY'
import http.server, json, sys
counts = {}
class Hook(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        # Counted without parsing the JSON: the receiver shares the two cores with the registry and should cost little.
        body = self.rfile.read(int(self.headers["Content-Length"]))
        for action in ("push", "delete", "pull"):
            counts[action] = counts.get(action, 0) + body.count(b'"action":"%s"' % action.encode())
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def do_GET(self):
        data = json.dumps(counts).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(data))); self.end_headers(); self.wfile.write(data)
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Hook).serve_forever()
PY
python3 "$out/receiver.py" "$hook_port" &
pids+=("$!")
wait_ready "http://127.0.0.1:$hook_port/"

for rep in $(seq 1 "$reps"); do
  for mode in ${modes//,/ }; do
    data="$out/data-$mode-$rep"
    mkdir -p "$data"
    dll=$berth_dll
    case $mode in
      *-base) [ -n "$base_dll" ] || { log "mode $mode needs BASE_DLL"; exit 1; }; dll=$base_dll ;;
    esac
    extra=()
    if [[ $mode == pull* ]]; then
      extra=(--Registry:Notifications:Endpoints:0:Name=hook "--Registry:Notifications:Endpoints:0:Url=$hook_url"
             --Registry:Notifications:Endpoints:0:Actions:0=push --Registry:Notifications:Endpoints:0:Actions:1=delete
             --Registry:Notifications:Endpoints:0:Actions:2=pull)
    fi
    env $berth_env dotnet "$dll" --urls "http://127.0.0.1:$port" --data-dir "$data" --Registry:Auth:Enabled=false "${extra[@]}" >"$out/berth-$mode-$rep.log" 2>&1 &
    pid=$!
    pids+=("$pid")
    wait_ready "http://127.0.0.1:$port/v2/"
    log "$mode#$rep (load average $(cut -d' ' -f1 /proc/loadavg))"
    for workload in ${workloads//,/ }; do
      # The registry's CPU time (utime + stime, clock ticks) over the run, warm-up and seeding included: with the
      # endpoint it counts writing and delivering every pull event too, wherever the wall-clock rate lands.
      before=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
      "$tool" --url "http://127.0.0.1:$port" -w "$workload" -c "$conc" -n "$n" -d "$duration" --warmup 500 \
        --label "$mode-$rep" --results "$out/results.tsv" >>"$out/load-$mode-$rep.txt"
      # Pull events still being written or delivered after the run belong to it.
      if [[ $mode == pull* ]]; then sleep 2; fi
      after=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
      printf '%s\t%s\t%s\n' "$mode-$rep" "$workload" "$(( (after - before) * 1000 / $(getconf CLK_TCK) ))" >>"$out/cpu-ms.tsv"
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true
    kept=(); for p in "${pids[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done; pids=("${kept[@]}")
    if [[ $mode == pull* ]]; then log "receiver so far: $(curl -fsS "http://127.0.0.1:$hook_port/")"; fi
  done
done
log "receiver events: $(curl -fsS "http://127.0.0.1:$hook_port/" | tee "$out/receiver.json")"
cat "$out/results.tsv"
cat "$out/cpu-ms.tsv"
log "results in $out"
