#!/usr/bin/env python3
"""Times `./berth up` to ready on a built checkout: a first start on an empty data dir, then restarts on it.

Usage: bench/berth-up.py [RUNS]   (default 3). Prints one line per run: wall seconds to ready (as `berth up`
reports it: from its start to the agent being connected and the CLI logged in), and the CPU seconds of the whole
process tree (berth + registry + scheduler + agent) from start to stopped, from getrusage(RUSAGE_CHILDREN), which
is the figure that still means something on a loaded machine. Uses free ports and a private BERTH_HOME.
"""
import json, os, resource, signal, socket, subprocess, sys, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

# Build once (a no-op when up to date) so that no run includes a build.
subprocess.run([os.path.join(root, "berth"), "--help"], check=True, stdout=subprocess.DEVNULL)
work = tempfile.mkdtemp(prefix="berth-up-bench-")
env = dict(os.environ, BERTH_HOME=os.path.join(work, "home"))
args = ["--data-dir", os.path.join(work, "data"), "--registry-port", str(free_port()), "--scheduler-port", str(free_port()),
        "--agent-scope", "bench-" + str(os.getpid())]
with open("/proc/loadavg") as f:
    print("load average before:", f.read().split()[0])
for run in range(runs):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.Popen([os.path.join(root, "berth"), "-o", "json", "up", *args], env=env, stdout=subprocess.PIPE, text=True)
    text = ""
    while '"readySeconds"' not in text or not text.rstrip().endswith("}"):
        line = p.stdout.readline()
        if not line:
            sys.exit("berth up exited before it was ready")
        text += line
    ready = json.loads(text[text.index("{"):])["readySeconds"]
    p.send_signal(signal.SIGTERM)
    p.wait()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"run {run + 1} ({'first start' if run == 0 else 'restart'}): ready in {ready:.2f} s wall, {cpu:.2f} s CPU (start to stopped, all processes)")
