#!/usr/bin/env bash
# What happens to fresh connections to a server in a FARGATE-style task under gVisor (runsc --network=host) and runc:
#
#   bench/gvisor-sockets.sh       # REQUESTS=2000 LAB_ID=gvs LAB_NET=78 OUT=/tmp/berth-gvisor-sockets-XXXX
#                                 # RUNTIMES="runc runsc runsc-netstack" SERVERS="httpd probe-read probe-recv probe-fork"
#                                 # LOADS="quiet loaded" BIG=1 (0 skips the big-write case) SHARE=1 STRACE=0
#                                 # (SERVERS= skips the counts) TFO=0 (1: the counts' client uses TCP Fast Open)
#
# On one lab host (its own dockerd, runsc registered as lab/engine.sh does), each server runs in a task namespace made
# the way the agent makes an awsvpc task's: a sandbox container (runc, network none) wired by Debian's CNI bridge and
# host-local plugins, and the server's container joining it (`--network container:`, private IPC, no-new-privileges)
# under the runtime measured. The client runs in the root namespace and reaches the task's address through the host,
# as the balancer does. Servers:
#   httpd        busybox `httpd -f -vvv -p 8080` started by `sh -c "... & wait"` (the lab tests' target; it reads the
#                request with read(2) in a child it forks per connection; -vvv logs each connection's start, response
#                code and end to stderr),
#   probe-read   bench/gvisor-sockets.c, one process, reads the request with read(2),
#   probe-recv   the same, with recv(2),
#   probe-fork   the same, forking a child per connection that reads with read(2), as busybox httpd does.
# Runtimes: runc; runsc as Berth registers it (`--network=host`: gVisor's "hostinet", the task namespace's kernel
# stack); and, as an experiment, runsc-netstack: runsc with its own network stack (`--network=sandbox`, gVisor's default),
# through a wrapper (written to OUT, registered on this lab engine only) that hides /proc/sys/net from runsc: release
# 20221219 takes any namespace where /proc/sys/net/core/rmem_default exists for the root namespace ("cannot run with
# network enabled in root network namespace"), and on kernel 6.x that file exists in every namespace. The wrapper
# refuses a container whose spec names no network namespace of its own (`--network host`), which the check was for.
# Each is measured quiet and loaded (two `yes` burners on the two cores, killed by pid afterwards): REQUESTS sequential
# fresh connections (connect, one GET, read to the end), counted by outcome. Then, per runtime, one 8 MiB answer to a
# client that waits 1 s before reading: the probe's, written with blocking write(2) calls and then with send(2) calls,
# and busybox httpd's (a file).
# The servers' stderr (each failed read or write with its errno and the socket's O_NONBLOCK flag; httpd's -vvv lines)
# goes to OUT/log-SERVER-RUNTIME, the table to OUT/results. TFO=1 makes the counts' client send its request in the SYN
# (TCP Fast Open: net.ipv4.tcp_fastopen in each task namespace, fastopen_no_cookie on this bench's route), so that it
# is queued before the server's accept(2) returns. SHARE=1 checks, per runtime, what a second container of
# the same task (the probe's client, run there) reaches: the first's server on 127.0.0.1 and on the task's address
# (awsvpc's containers share localhost; under runsc each container is a sandbox of its own). STRACE=1 then runs
# probe-read once more under runsc-strace (runsc --network=host with --debug --strace on the server's socket calls,
# registered on this lab engine only) for STRACE_REQUESTS (500) connections, loaded, and prints the Sentry's record of
# the reads that failed, from OUT/runsc-debug.
# Needs root, docker.io, runsc, busybox-static, gcc with a static libc (libc6-dev), containernetworking-plugins, iproute2.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
requests=${REQUESTS:-2000}
read -ra runtime_list <<<"${RUNTIMES:-runc runsc runsc-netstack}"
read -ra server_list <<<"${SERVERS-httpd probe-read probe-recv probe-fork}"
read -ra load_list <<<"${LOADS:-quiet loaded}"
tfo=()
[ "${TFO:-0}" = 1 ] && tfo=(tfo)
export LAB_ID=${LAB_ID:-gvs} LAB_NET=${LAB_NET:-78}
out=${OUT:-$(mktemp -d /tmp/berth-gvisor-sockets-XXXX)}
mkdir -p "$out"
subnet="10.238.$LAB_NET"
log() { printf '[gvisor-sockets %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
[ -x /usr/bin/runsc ] || { log "runsc is not installed (apt-get install runsc)"; exit 1; }
[ -x /usr/lib/cni/bridge ] || { log "the CNI plugins are not installed (apt-get install containernetworking-plugins)"; exit 1; }

burners=()
cleanup() {
  [ ${#burners[@]} -eq 0 ] || kill "${burners[@]}" 2>/dev/null || true
  ip route del "$subnet.0/24" 2>/dev/null || true
  "$root/lab/down.sh" >/dev/null 2>&1 || true
  rm -rf "$out/rootfs"
}
trap cleanup EXIT
"$root/lab/down.sh" >/dev/null 2>&1 || true
read -r _ _ ns hostip dockerhost < <("$root/lab/up.sh" 1 | grep '^host 1 ')
export DOCKER_HOST=$dockerhost
runtimes() { docker info --format '{{json .Runtimes}}'; }
[[ $(runtimes) == *'"runsc"'* ]] || { log "runsc is not registered with the lab engine"; exit 1; }

# The experiments' runtimes, registered beside lab/engine.sh's runsc on this lab engine only; dockerd reloads them on
# SIGHUP.
cat >"$out/runsc-netstack" <<'WRAPPER'
#!/bin/sh
# runsc with its own network stack, for containers in a network namespace of their own (an experiment of
# bench/gvisor-sockets.sh). Refuses a create whose spec joins no network namespace (the host's).
prev=
for a in "$@"; do
  case $prev in --bundle) bundle=$a ;; esac
  case $a in --bundle=*) bundle=${a#--bundle=} ;; esac
  prev=$a
done
if [ -n "${bundle:-}" ] && ! grep -q '"type":"network","path":"' "$bundle/config.json"; then
  echo "runsc-netstack: the container has no network namespace of its own" >&2
  exit 1
fi
exec unshare -m --propagation private sh -c 'mount -t tmpfs -o ro none /proc/sys/net && exec /usr/bin/runsc "$@"' runsc "$@"
WRAPPER
chmod +x "$out/runsc-netstack"
hostdir=$(dirname "${dockerhost#unix://}")
mkdir -p "$out/runsc-debug"
cat >"$hostdir/daemon.json" <<JSON
{"runtimes":{
  "runsc":{"path":"/usr/bin/runsc","runtimeArgs":["--network=host"]},
  "runsc-strace":{"path":"/usr/bin/runsc","runtimeArgs":["--network=host","--debug","--debug-log=$out/runsc-debug/",
    "--debug-command=boot","--strace","--strace-syscalls=accept,accept4,read,recvfrom,write,close,fcntl"]},
  "runsc-netstack":{"path":"$out/runsc-netstack"}}}
JSON
kill -HUP "$(cat "$hostdir/docker.pid")"
for _ in $(seq 1 50); do [[ $(runtimes) == *runsc-netstack* ]] && break; sleep 0.1; done

# The image: busybox (sh, httpd, sleep) and the probe, statically linked.
mkdir -p "$out/rootfs/bin" "$out/rootfs/www" "$out/rootfs/tmp"
cp /bin/busybox "$out/rootfs/bin/"
for a in sh httpd sleep; do ln -sf busybox "$out/rootfs/bin/$a"; done
gcc -O2 -Wall -static -o "$out/rootfs/bin/probe" "$root/bench/gvisor-sockets.c"
gcc -O2 -Wall -o "$out/probe" "$root/bench/gvisor-sockets.c"
echo ok >"$out/rootfs/www/index.html"
head -c $((8 << 20)) /dev/zero >"$out/rootfs/www/big"
tar -C "$out/rootfs" -c . | docker import --change 'ENV PATH=/bin' - berth-bench/sockets:1 >/dev/null
if [ "${TFO:-0}" = 1 ]; then
  # The client's SYN carries its request without a cookie, on this bench's route only.
  ip route replace "$subnet.0/24" via "$hostip" fastopen_no_cookie 1
else
  ip route replace "$subnet.0/24" via "$hostip"
fi

cni() { # COMMAND CONTAINER-ID NETNS: the agent's CNI network (src/Agent/Networking/CniBridge.cs), on this bench's subnet
  printf '{"cniVersion":"1.0.0","name":"berth-awsvpc","type":"bridge","bridge":"berth0","isGateway":true,"ipMasq":false,"ipam":{"type":"host-local","ranges":[[{"subnet":"%s.0/24","gateway":"%s.1"}]],"routes":[{"dst":"0.0.0.0/0"}],"dataDir":"%s/ipam"}}' \
    "$subnet" "$subnet" "$out" |
    nsenter --net="/var/run/netns/$ns" env CNI_COMMAND="$1" CNI_CONTAINERID="$2" CNI_NETNS="$3" CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni /usr/lib/cni/bridge
}

# Starts NAME under RUNTIME in a task namespace of its own; prints the task's address.
task_up() {
  local name=$1 runtime=$2 sandbox pid address
  shift 2
  sandbox=$(docker run -d --name "$name-sandbox" --network none berth-bench/sockets:1 sh -c "trap 'exit 0' TERM; sleep 1000000 & wait")
  pid=$(docker inspect --format '{{.State.Pid}}' "$sandbox")
  address=$(cni ADD "$sandbox" "/proc/$pid/ns/net" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ips"][0]["address"].split("/")[0])')
  # TFO=1: the task namespace's listeners take data in the SYN (0x2 server, 0x200 no cookie needed, 0x400 without
  # setsockopt), so accept(2) returns a connection whose request is already queued.
  [ "${TFO:-0}" = 1 ] && nsenter --net="/proc/$pid/ns/net" sysctl -q -w net.ipv4.tcp_fastopen=$((0x602)) >&2
  docker run -d --name "$name" --network "container:$sandbox" --runtime "$runtime" --ipc private \
    --security-opt no-new-privileges berth-bench/sockets:1 "$@" >/dev/null
  echo "$address"
}

task_down() {
  local sandbox pid
  docker rm -f "$1" >/dev/null
  sandbox=$(docker inspect --format '{{.Id}}' "$1-sandbox")
  pid=$(docker inspect --format '{{.State.Pid}}' "$sandbox")
  cni DEL "$sandbox" "/proc/$pid/ns/net" >/dev/null
  docker rm -f "$sandbox" >/dev/null
}

wait_answering() { # ADDRESS PORT
  for _ in $(seq 1 100); do
    "$out/probe" client "$1" "$2" 1 | grep -q '^ok=1 ' && return 0
    sleep 0.1
  done
  log "$1:$2 never answered"; return 1
}

load_on() { yes >/dev/null & burners+=($!); yes >/dev/null & burners+=($!); }
load_off() { kill "${burners[@]}"; wait "${burners[@]}" 2>/dev/null || true; burners=(); }

printf '%-14s %-11s %-6s %5s %5s  %s\n' runtime server load load1 secs "outcomes of $requests fresh connections" | tee "$out/results"
for runtime in "${runtime_list[@]}"; do
  for server in "${server_list[@]}"; do
    case $server in
      httpd) command=(sh -c "trap 'exit 0' TERM; httpd -f -vvv -p 8080 -h /www & wait") ;;
      probe-read) command=(probe serve read 8080) ;;
      probe-recv) command=(probe serve recv 8080) ;;
      probe-fork) command=(probe serve fork 8080) ;;
    esac
    address=$(task_up "$server-$runtime" "$runtime" "${command[@]}")
    wait_answering "$address" 8080
    for load in "${load_list[@]}"; do
      [ "$load" = loaded ] && load_on
      started=$SECONDS
      counts=$("$out/probe" client "$address" 8080 "$requests" "${tfo[@]}")
      [ "$load" = loaded ] && load_off
      # load1: the machine's one-minute load average as the run ends (the machine is shared; quiet means no burners).
      printf '%-14s %-11s %-6s %5s %5s  %s\n' "$runtime" "$server" "$load" "$(cut -d' ' -f1 /proc/loadavg)" \
        $((SECONDS - started)) "$counts" | tee -a "$out/results"
    done
    docker logs "$server-$runtime" >"$out/log-$server-$runtime" 2>&1 || true
    task_down "$server-$runtime"
  done
done

if [ "${BIG:-1}" = 1 ]; then
  echo | tee -a "$out/results"
  for runtime in "${runtime_list[@]}"; do
    for call in write send; do
      address=$(task_up "big$call-$runtime" "$runtime" probe big "$call" 8081)
      wait_answering "$address" 8081 >/dev/null 2>&1 || true
      printf '%-14s probe: 8 MiB by blocking %-10s reader 1 s late: %s %s\n' "$runtime" "$call(2)," \
        "$("$out/probe" slow "$address" 8081)" "$(docker logs "big$call-$runtime" 2>&1 | grep -m1 'failed after' || true)" |
        tee -a "$out/results"
      task_down "big$call-$runtime"
    done
    address=$(task_up "bighttpd-$runtime" "$runtime" sh -c "trap 'exit 0' TERM; httpd -f -vvv -p 8082 -h /www & wait")
    wait_answering "$address" 8082 >/dev/null 2>&1 || true
    printf '%-14s httpd: an 8 MiB file,               reader 1 s late: %s\n' "$runtime" "$("$out/probe" slow "$address" 8082 /big)" |
      tee -a "$out/results"
    docker logs "bighttpd-$runtime" >"$out/log-bighttpd-$runtime" 2>&1 || true
    task_down "bighttpd-$runtime"
  done
fi

if [ "${SHARE:-1}" = 1 ]; then
  echo | tee -a "$out/results"
  for runtime in "${runtime_list[@]}"; do
    address=$(task_up "share-$runtime" "$runtime" probe serve recv 8080)
    wait_answering "$address" 8080 || true
    second() { docker run --rm --network "container:share-$runtime-sandbox" --runtime "$runtime" --ipc private \
      --security-opt no-new-privileges berth-bench/sockets:1 probe client "$1" 8080 3 2>&1 | tail -1; }
    printf '%-14s a second container of the task -> 127.0.0.1: %s; -> %s: %s\n' "$runtime" "$(second 127.0.0.1)" \
      "$address" "$(second "$address")" | tee -a "$out/results"
    task_down "share-$runtime"
  done
fi

if [ "${STRACE:-0}" = 1 ]; then
  address=$(task_up "strace-runsc" runsc-strace probe serve read 8080)
  wait_answering "$address" 8080
  # Loaded: tracing slows the server enough that, quiet, the request is in before its read(2).
  load_on
  counts=$("$out/probe" client "$address" 8080 "${STRACE_REQUESTS:-500}")
  load_off
  printf '\nrunsc-strace   probe-read  loaded %5s  %s\n' "$(cut -d' ' -f1 /proc/loadavg)" "$counts" | tee -a "$out/results"
  task_down "strace-runsc"
  # The Sentry logs each traced call on entry (E) and on exit (X, with its result): the failed reads of the server, and
  # the F_GETFL it asks after each (0x2 is O_RDWR alone: the descriptor is blocking).
  traced=$(cat "$out"/runsc-debug/*boot*)
  printf 'traced: %s reads returned, %s of them failed: %s\n' "$(grep -c ' X read(' <<<"$traced" || true)" \
    "$(grep ' X read(' <<<"$traced" | grep -c 'errno=' || true)" \
    "$(grep ' X read(' <<<"$traced" | grep -o 'errno=.*)' | sed -E 's/ \([0-9.]+[^)]*\)$//' | sort | uniq -c | tr -s ' ' | paste -sd';' || true)" |
    tee -a "$out/results"
  { grep ' X read(' <<<"$traced" | grep -m2 'errno=' || true; grep -m2 ' X fcntl(' <<<"$traced" || true; } | sed -E 's/^.*strace.go:[0-9]+\] //' |
    tee -a "$out/results"
fi
log "results and the servers' logs in $out"
