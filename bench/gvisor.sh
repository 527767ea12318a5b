#!/usr/bin/env bash
# What gVisor (runsc) costs against runc, on one lab host (its own dockerd, runsc registered as lab/engine.sh does):
#
#   bench/gvisor.sh            # RUNS=10 REQUESTS=300 LAB_ID=gvb OUT=/tmp/berth-gvisor-XXXX
#
# For each run, runc then runsc (interleaved, so both see the same neighbours on a shared machine):
#   start    `docker run -d` of a busybox httpd until it answers its first HTTP request (create + start + the runtime's
#            boot: gVisor's Sentry and Gofer for runsc),
#   latency  REQUESTS sequential HTTP GETs from the host's namespace to the container's address (a new TCP connection
#            each: busybox httpd closes it), curl's time_total per request,
#   memory   the container's cgroup memory.usage_in_bytes once it has served them (the Sentry and Gofer are charged to
#            it with runsc; the page cache of its files with both).
# runsc is registered with --network=host: gVisor uses the container namespace's kernel network stack, so the latency
# difference is gVisor's system call interception in the server, not a second network stack.
# Needs root, docker.io, runsc, busybox-static, curl, iproute2. Prints medians and p99s; raw samples under OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
runs=${RUNS:-10}
requests=${REQUESTS:-300}
export LAB_ID=${LAB_ID:-gvb} LAB_NET=${LAB_NET:-77}
out=${OUT:-$(mktemp -d /tmp/berth-gvisor-XXXX)}
mkdir -p "$out"
log() { printf '[gvisor-bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
[ -x /usr/bin/runsc ] || { log "runsc is not installed (apt-get install runsc)"; exit 1; }

cleanup() { "$root/lab/down.sh" >/dev/null 2>&1 || true; rm -rf "$out/rootfs"; }
trap cleanup EXIT
"$root/lab/down.sh" >/dev/null 2>&1 || true
read -r _ _ ns _ dockerhost < <("$root/lab/up.sh" 1 | grep '^host 1 ')
export DOCKER_HOST=$dockerhost
docker info --format '{{json .Runtimes}}' | grep -q runsc || { log "runsc is not registered with the lab engine"; exit 1; }

# The test image: busybox httpd serving one small page, with a TERM trap (busybox as PID 1 ignores SIGTERM).
mkdir -p "$out/rootfs/bin" "$out/rootfs/www" "$out/rootfs/tmp"
cp /bin/busybox "$out/rootfs/bin/"
for a in sh httpd sleep; do ln -sf busybox "$out/rootfs/bin/$a"; done
echo "hello from the bench" >"$out/rootfs/www/index.html"
tar -C "$out/rootfs" -c . | docker import --change 'ENV PATH=/bin' - berth-bench/httpd:1 >/dev/null

ms() { date +%s%N; }
cgroup_usage() {
  local f="/sys/fs/cgroup/memory/$ns/$1/memory.usage_in_bytes"
  if [ -r "$f" ]; then cat "$f"; else log "no $f ($(docker inspect --format '{{.State.Status}}' "$1"))"; ls "/sys/fs/cgroup/memory/$ns" >&2; fi
}

for i in $(seq 1 "$runs"); do
  for runtime in runc runsc; do
    t0=$(ms)
    id=$(docker run -d --runtime "$runtime" berth-bench/httpd:1 sh -c "trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait")
    ip=$(docker inspect --format '{{.NetworkSettings.IPAddress}}' "$id")
    until nsenter --net="/var/run/netns/$ns" curl -sf -o /dev/null --max-time 1 "http://$ip:8080/"; do :; done
    t1=$(ms)
    echo "$(( (t1 - t0) / 1000000 ))" >>"$out/start-$runtime"
    urls=()
    for _ in $(seq 1 "$requests"); do urls+=(-o /dev/null "http://$ip:8080/"); done
    # A failed request (reset under load) is counted by curl's own time and does not stop the run.
    nsenter --net="/var/run/netns/$ns" curl -s -w '%{time_total}\n' "${urls[@]}" >>"$out/latency-$runtime" || true
    usage=$(cgroup_usage "$id")
    [ -n "$usage" ] && echo "$usage" >>"$out/memory-$runtime"
    docker rm -f "$id" >/dev/null
  done
  log "run $i/$runs: start runc $(tail -1 "$out/start-runc") ms, runsc $(tail -1 "$out/start-runsc") ms"
done

python3 - "$out" <<'PY'
import sys, statistics
out = sys.argv[1]
def read(name): return [float(l) for l in open(f"{out}/{name}") if l.strip()]
def pct(xs, p): xs = sorted(xs); return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]
print(f"{'':8} {'start p50':>10} {'start max':>10} {'req p50':>9} {'req p99':>9} {'memory p50':>11}")
for r in ("runc", "runsc"):
    s, l, m = read(f"start-{r}"), [x * 1000 for x in read(f"latency-{r}")], read(f"memory-{r}")
    print(f"{r:8} {statistics.median(s):>8.0f}ms {max(s):>8.0f}ms {statistics.median(l):>7.2f}ms {pct(l, 99):>7.2f}ms {statistics.median(m) / 2**20:>9.1f}MiB")
PY
log "samples in $out"
