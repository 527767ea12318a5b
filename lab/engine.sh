#!/usr/bin/env bash
# Starts or stops the dockerd of one lab host:  LAB_ID=x lab/engine.sh start|stop|status N
# start waits until the engine answers; stop sends SIGTERM to the pid in the engine's own pid file (never by
# name), waits for the pid file to go, SIGKILLs after 30 s, and unmounts what a killed engine left mounted.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
. "$here/common.sh"

action=${1:?start|stop|status}
n=${2:?host number}
ns=$(lab_host_ns "$n")
dir=$(lab_host_dir "$n")
sock=$(lab_host_sock "$n")
pidfile="$dir/docker.pid"

engine_pid() { [ -s "$pidfile" ] && cat "$pidfile"; }
alive() { local p; p=$(engine_pid) && kill -0 "$p" 2>/dev/null; }

umount_leftovers() {
  # Deepest first. Only mounts under this host's own directory.
  awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
}

case "$action" in
  start)
    [ -e "/var/run/netns/$ns" ] || { log "no namespace $ns: run lab/up.sh first"; exit 1; }
    if alive; then log "engine of $ns already runs (pid $(engine_pid))"; exit 0; fi
    # A killed engine leaves its pid file and mounts behind.
    rm -f "$pidfile"
    umount_leftovers
    mkdir -p "$dir/data" "$dir/exec"
    # gVisor, when installed, registered as the engine's `runsc` runtime. `--network=host` makes it use the
    # container's network namespace through the host kernel's stack (its own netstack cannot start here); the
    # agent runs FARGATE tasks with it (docs/agent.md).
    if [ -x /usr/bin/runsc ]; then
      printf '{"runtimes":{"runsc":{"path":"/usr/bin/runsc","runtimeArgs":["--network=host"]}}}\n' >"$dir/daemon.json"
    else
      printf '{}\n' >"$dir/daemon.json"
    fi
    # `ip netns exec` remounts /sys and dockerd then fails ("Devices cgroup isn't mounted"); nsenter does not.
    nsenter --net="/var/run/netns/$ns" \
      setsid dockerd \
        --config-file "$dir/daemon.json" \
        --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$pidfile" \
        -H "unix://$sock" --bip "$(lab_host_bip "$n")" --cgroup-parent "/$ns" \
        --insecure-registry "10.231.0.0/16" --insecure-registry "127.0.0.0/8" \
        >>"$dir/dockerd.log" 2>&1 </dev/null &
    for _ in $(seq 1 150); do
      if docker -H "unix://$sock" version >/dev/null 2>&1; then
        log "engine of $ns answers at unix://$sock (pid $(engine_pid))"
        exit 0
      fi
      sleep 0.2
    done
    log "engine of $ns did not answer within 30 s"; tail -20 "$dir/dockerd.log" >&2; exit 1
    ;;
  stop)
    if pid=$(engine_pid) && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
      done
      if kill -0 "$pid" 2>/dev/null; then
        log "engine of $ns (pid $pid) ignored SIGTERM for 30 s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
      fi
      log "engine of $ns stopped"
    fi
    rm -f "$pidfile" "$sock"
    umount_leftovers
    ;;
  kill)
    # The crash case: SIGKILL, leaving what a crashed engine leaves.
    if pid=$(engine_pid) && kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid"
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
      log "engine of $ns killed"
    fi
    ;;
  status)
    if alive; then echo "running $(engine_pid)"; else echo "stopped"; exit 1; fi
    ;;
  *) echo "engine.sh: start|stop|kill|status N" >&2; exit 2 ;;
esac
