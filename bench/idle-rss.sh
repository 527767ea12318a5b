#!/usr/bin/env bash
# Idle RSS of the three services as built (Release), REPS times each, on fresh data directories:
#
#   bench/idle-rss.sh            # REPS=3 SETTLE=15 REGISTRY_PORT=5161 SCHEDULER_PORT=7161
#
# Starts a registry (with deploy/registry.env, as berth up and compose run it), a scheduler and an agent on this
# host's Docker engine (joined to that scheduler, scope bench-idle-*); once each answers (the registry's /v2/, the
# scheduler's admin-token file and the agent's session: instance connected), waits SETTLE seconds and reads VmRSS
# from /proc. Prints one TSV line per repetition and stops exactly the processes it started, by PID.
# AGENT_DATA_SWITCH=--state-dir measures builds from before the agent took --data-dir.
# Needs a Release build (`dotnet build Platform.sln -c Release`) and a Docker engine.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
reps=${REPS:-3}
settle=${SETTLE:-15}
registry_port=${REGISTRY_PORT:-5161}
scheduler_port=${SCHEDULER_PORT:-7161}
bin=Release/net10.0
registry_env=$(grep -v '^#' deploy/registry.env | xargs)

pids=()
work=""
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
  [ -n "$work" ] && rm -rf "$work"
  return 0
}
trap cleanup EXIT

rss() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
until_true() { # seconds command...
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo "timed out waiting for: $*" >&2; return 1; }
    sleep 0.2
  done
}
answers() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" != 000 ]; }

printf 'rep\tcommit\tregistry_idle_mib\tscheduler_idle_mib\tagent_idle_mib\tload_1m\n'
for rep in $(seq 1 "$reps"); do
  work=$(mktemp -d /tmp/berth-idle-XXXX)
  env $registry_env dotnet "src/Registry/bin/$bin/Berth.Registry.dll" --urls "http://127.0.0.1:$registry_port" \
    --data-dir "$work/registry" >"$work/registry.log" 2>&1 &
  pids+=($!); registry=$!
  dotnet "src/Scheduler/bin/$bin/Berth.Scheduler.dll" --urls "http://127.0.0.1:$scheduler_port" \
    --data-dir "$work/scheduler" --Logging:LogLevel:Default Information >"$work/scheduler.log" 2>&1 &
  pids+=($!); scheduler=$!
  until_true 60 test -s "$work/scheduler/join-token"
  echo '{}' >"$work/agent.json"
  BERTH_JOINTOKEN=$(cat "$work/scheduler/join-token") "src/Agent/bin/$bin/Berth.Agent" --config "$work/agent.json" \
    --scheduler-url "http://127.0.0.1:$scheduler_port" --cluster default "${AGENT_DATA_SWITCH:---data-dir}" "$work/agent" \
    --scope "bench-idle-$$" --Logging:LogLevel:Default Warning >"$work/agent.log" 2>&1 &
  pids+=($!); agent=$!
  until_true 60 answers "http://127.0.0.1:$registry_port/v2/"
  until_true 60 test -s "$work/agent/instance.json"
  sleep "$settle"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$rep" "$(git rev-parse --short HEAD)" "$(rss $registry)" "$(rss $scheduler)" "$(rss $agent)" \
    "$(cut -d' ' -f1 /proc/loadavg)"
  cleanup
  work=""
done
