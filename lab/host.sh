#!/usr/bin/env bash
# One provisioned lab host at a time, by name: the scheduler's `lab` host provisioner drives this script
# (src/Scheduler/Provisioning/Lab), and an operator may too. docs/provisioning.md describes it.
#
#   LAB_ID=p1 LAB_NET=40 LAB_DIR=/var/lib/berth/provisioning/lab BERTH_AGENT=/path/Berth.Agent lab/host.sh ACTION
#
#   network         makes the lab's switch and root leg if missing; prints the root address (where a scheduler
#                   listens to be reachable from the hosts)
#   create NAME     makes a host: a network namespace on the lab's bridge, its own dockerd, and an agent process
#                   (setsid, so it outlives whoever called this) with the configuration read from stdin (the agent's
#                   JSON: SchedulerUrl, JoinToken, Cluster, Zone, Attributes...). Waits until the agent has
#                   registered (its instance.json exists). Prints one JSON object: name, slot, namespace, address,
#                   instanceArn. A failed create leaves the host recorded (state "creating"): destroy it.
#   destroy NAME    removes everything of the host: agent, containers, engine, mounts, cgroups, namespace, files.
#                   A host that does not exist is not an error (destroy is idempotent).
#   list            prints a JSON array of every host of the lab with its state: creating (a create is running),
#                   running (namespace, engine and agent alive, registered) or failed (anything else: half-made,
#                   crashed).
#   stop-agent N    stops the agent of slot N (lab/down.sh uses it).
#
# LAB_FORWARD_PORTS (optional, e.g. "5000"): TCP ports of each host's own 127.0.0.1 forwarded to the same port of the
# root leg (a DNAT in the host's namespace). A registry the platform names 127.0.0.1:5000 (`berth up`'s) then answers
# by that same name inside the hosts: images keep the names users push them with.
#
# Exit codes: 0 done; 64 bad arguments (a retry cannot help); 1 anything else. Diagnostics go to stderr.
# A lab holds up to 15 hosts (each engine's container bridge is numbered by lab and slot, see common.sh).
set -euo pipefail
shopt -s inherit_errexit
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
. "$here/common.sh"
# The engines and agents made here belong to the lab, not to whoever runs this script: `berth up` starts the scheduler
# with this set (its parts stop when `berth up`'s pipe closes), and an agent started with it and stdin at /dev/null
# would stop at once.
unset BERTH_STOP_WITH_PARENT

usage() { echo "host.sh: network | create NAME | destroy NAME | list | stop-agent N" >&2; exit 64; }
fail() { log "$*"; exit 1; }
valid_name() { [[ "$1" =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]]; }

# Owner-only: the hosts' directories hold their agents' join tokens and engine sockets.
mkdir -p -m 0700 "$LAB_DIR"
lock="$LAB_DIR/.lock"
[ -e "$lock" ] || (umask 077 && : >>"$lock")

# The slot (N of hN) holding host NAME, or nothing.
slot_of() {
  local f
  for f in "$LAB_DIR"/h*/name; do
    [ -f "$f" ] || continue
    if [ "$(cat "$f")" = "$1" ]; then
      f=${f%/name}
      echo "${f##*/h}"
      return 0
    fi
  done
  return 1
}

pid_alive_as() { # PID WORD: the process lives and its command line holds WORD (a reused pid does not count)
  [ -n "$1" ] && [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q -- "$2"
}

stop_agent() {
  local n=$1 dir pid
  dir=$(lab_host_dir "$n")
  pid=$(cat "$dir/agent.pid" 2>/dev/null || true)
  if pid_alive_as "$pid" Berth.Agent; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
      pid_alive_as "$pid" Berth.Agent || break
      sleep 0.2
    done
    if pid_alive_as "$pid" Berth.Agent; then
      log "agent of h$n (pid $pid) ignored SIGTERM for 30 s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$dir/agent.pid"
}

ensure_network() {
  if [ ! -e "/var/run/netns/$LAB_SWITCH" ]; then
    # Half of a switch (an interrupted run) goes first.
    ip link del "$LAB_ROOT_LINK" 2>/dev/null || true
    lab_switch_up
    log "switch $LAB_SWITCH up, root leg $LAB_ROOT_IP"
  fi
}

# LAB_FORWARD_PORTS inside host N's namespace: 127.0.0.1:PORT is DNATed to the root leg's PORT. Locally made packets
# from 127.0.0.1 may leave by eth0 only with route_localnet, and are masqueraded to the host's address so the reply
# comes back to it. The rules live in the host's namespace and go with it.
forward_loopback() {
  local n=$1 port
  local -a ns
  [ -n "${LAB_FORWARD_PORTS:-}" ] || return 0
  ns=(nsenter --net="/var/run/netns/$(lab_host_ns "$n")")
  "${ns[@]}" sysctl -q -w net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.eth0.route_localnet=1
  for port in $LAB_FORWARD_PORTS; do
    [[ "$port" =~ ^[0-9]{1,5}$ ]] || fail "LAB_FORWARD_PORTS: '$port' is not a port"
    "${ns[@]}" iptables -w -t nat -A OUTPUT -d 127.0.0.1/32 -p tcp --dport "$port" -j DNAT --to-destination "$LAB_ROOT_IP:$port"
  done
  "${ns[@]}" iptables -w -t nat -A POSTROUTING -s 127.0.0.0/8 -o eth0 -j MASQUERADE
}

host_json() { # N STATE
  local n=$1 dir arn=""
  dir=$(lab_host_dir "$n")
  [ -f "$dir/agent/instance.json" ] && arn=$(sed -n 's/.*"containerInstanceArn": *"\([^"]*\)".*/\1/p' "$dir/agent/instance.json")
  printf '{"name":"%s","slot":%d,"state":"%s","namespace":"%s","address":"%s","instanceArn":"%s","createdAt":"%s"}' \
    "$(cat "$dir/name")" "$n" "$2" "$(lab_host_ns "$n")" "$(lab_host_ip "$n")" "$arn" "$(cat "$dir/created" 2>/dev/null || true)"
}

host_state() {
  local n=$1 dir
  dir=$(lab_host_dir "$n")
  if [ -f "$dir/creating" ] && pid_alive_as "$(cat "$dir/creating")" host.sh; then echo creating; return; fi
  if [ ! -f "$dir/creating" ] && [ -e "/var/run/netns/$(lab_host_ns "$n")" ] \
    && pid_alive_as "$(cat "$dir/docker.pid" 2>/dev/null || true)" dockerd \
    && pid_alive_as "$(cat "$dir/agent.pid" 2>/dev/null || true)" Berth.Agent \
    && [ -f "$dir/agent/instance.json" ]; then
    echo running
  else
    echo failed
  fi
}

# Under the lab's lock (fd 9): the switch, the name check and the slot are decided once. Prints the slot.
allocate_slot() {
  local name=$1 i dir
  flock 9
  ensure_network
  if slot_of "$name" >/dev/null; then log "host $name exists already (destroy it first)"; return 1; fi
  for i in $(seq 1 15); do
    if [ ! -e "$(lab_host_dir "$i")" ] && [ ! -e "/var/run/netns/$(lab_host_ns "$i")" ]; then
      dir=$(lab_host_dir "$i")
      mkdir -p "$dir"
      echo $$ >"$dir/creating"
      echo "$name" >"$dir/name"
      date -u +%Y-%m-%dT%H:%M:%SZ >"$dir/created"
      echo "$i"
      return 0
    fi
  done
  log "the lab has no free slot (15 hosts at most)"; return 1
}

action=${1:-}
case "$action" in
  network)
    (flock 9; ensure_network) 9>"$lock"
    echo "$LAB_ROOT_IP"
    ;;

  create)
    name=${2:-}
    valid_name "$name" || { log "host name '$name' must be 1-63 lower-case letters, digits or '-'"; exit 64; }
    [ -n "${BERTH_AGENT:-}" ] || { log "BERTH_AGENT (the agent's executable or .dll) is not set"; exit 64; }
    config=$(cat)
    [ -n "$config" ] || { log "no agent configuration on stdin"; exit 64; }
    # Under the lab's lock: the switch, the name check and the slot are decided once.
    n=$(allocate_slot "$name" 9>"$lock")
    dir=$(lab_host_dir "$n")
    ns=$(lab_host_ns "$n")
    log "creating host $name in slot $n ($ns, $(lab_host_ip "$n"))"
    lab_host_up "$n"
    forward_loopback "$n"
    "$here/engine.sh" start "$n"
    (umask 077; printf '%s\n' "$config" >"$dir/agent.json")
    agent=("$BERTH_AGENT")
    [[ "$BERTH_AGENT" == *.dll ]] && agent=(dotnet "$BERTH_AGENT")
    # nsenter (not `ip netns exec`, which remounts /sys) execs into setsid, which execs the agent: $! is the agent.
    nsenter --net="/var/run/netns/$ns" setsid "${agent[@]}" \
      --config "$dir/agent.json" --data-dir "$dir/agent" --docker-endpoint "unix://$(lab_host_sock "$n")" \
      --Cgroups:Parent "/$ns/berth" >>"$dir/agent.log" 2>&1 </dev/null &
    echo $! >"$dir/agent.pid"
    # Registered = the agent wrote the scheduler's answer (its instance id) into its data directory.
    for _ in $(seq 1 600); do
      [ -f "$dir/agent/instance.json" ] && break
      if ! kill -0 "$(cat "$dir/agent.pid")" 2>/dev/null; then
        log "the agent of $name exited before it registered:"; tail -30 "$dir/agent.log" >&2; exit 1
      fi
      sleep 0.2
    done
    [ -f "$dir/agent/instance.json" ] || { log "the agent of $name did not register within 120 s:"; tail -30 "$dir/agent.log" >&2; exit 1; }
    rm -f "$dir/creating"
    log "host $name registered"
    host_json "$n" running
    echo
    ;;

  destroy)
    name=${2:-}
    valid_name "$name" || { log "host name '$name' must be 1-63 lower-case letters, digits or '-'"; exit 64; }
    n=$(slot_of "$name") || { log "host $name does not exist: nothing to destroy"; exit 0; }
    dir=$(lab_host_dir "$n")
    sock=$(lab_host_sock "$n")
    # A create still running for this host would keep making it: stop it first.
    cpid=$(cat "$dir/creating" 2>/dev/null || true)
    if [ "$cpid" != "$$" ] && pid_alive_as "$cpid" host.sh; then kill -KILL "$cpid" 2>/dev/null || true; fi
    stop_agent "$n"
    # The engine's containers go with SIGKILL (the host is being thrown away), then the engine.
    if "$here/engine.sh" status "$n" >/dev/null 2>&1; then
      ids=$(docker -H "unix://$sock" ps -aq 2>/dev/null || true)
      [ -z "$ids" ] || docker -H "unix://$sock" rm -f -v $ids >/dev/null 2>&1 || true
    fi
    "$here/engine.sh" stop "$n" || true
    lab_host_down "$n"
    if awk -v d="$dir/" 'index($2, d) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
      fail "mounts are left under $dir; not deleting it"
    fi
    rm -rf "$dir"
    log "host $name destroyed"
    ;;

  list)
    first=1
    printf '['
    for dir in "$LAB_DIR"/h*; do
      [ -f "$dir/name" ] || continue
      n=${dir##*/h}
      ((first)) || printf ','
      first=0
      host_json "$n" "$(host_state "$n")"
    done
    printf ']\n'
    ;;

  stop-agent)
    [[ "${2:-}" =~ ^[0-9]+$ ]] || usage
    stop_agent "$2"
    ;;

  *) usage ;;
esac
