#!/usr/bin/env python3
"""Turns bench/registry.sh's results.tsv and rss.tsv into the markdown of docs/benchmarks.md's Registry section.

For each workload and server the best repetition (highest ops/s) is compared; every repetition's ops/s is listed so
that a disturbed run is visible. Targets are issue 2's.
"""
import collections
import sys
from pathlib import Path

out = Path(sys.argv[1])
rows = collections.defaultdict(list)  # (workload, server) -> [row]
order = []
for line in (out / "results.tsv").read_text().splitlines():
    label, workload, c, ops, errors, sec, opss, unit, mibs, p50, p90, p99 = line.split("\t")
    server = label.split("#")[0]
    if workload not in order:
        order.append(workload)
    rows[(workload, server)].append(dict(c=int(c), ops=int(ops), errors=int(errors), opss=float(opss), unit=unit,
                                          mibs=float(mibs), p50=float(p50), p90=float(p90), p99=float(p99)))


def target(workload):
    """(metric, minimum ratio, text) or None."""
    if workload in ("ping", "head-blob", "get-manifest"):
        return ("opss", 10.0, ">= 10x req/s")
    if workload.startswith("push-") and workload.endswith("-1m"):
        return ("opss", 2.0, ">= 2x img/s")
    if workload.startswith(("push-", "pull-")):
        return ("mibs", 1.0, ">= 1x MiB/s")
    return None


def best(workload, server):
    runs = rows.get((workload, server), [])
    return max(runs, key=lambda r: r["opss"]) if runs else None


def cell(r):
    if r is None:
        return "-", "-", "-"
    errors = f", **{r['errors']} errors**" if r["errors"] else ""
    return (f"{r['opss']:,.1f} {r['unit']}/s{errors}", f"{r['mibs']:,.1f}", f"{r['p50']:.1f} / {r['p90']:.1f} / {r['p99']:.1f}")


print("| workload | distribution | MiB/s | p50 / p90 / p99 ms | Berth | MiB/s | p50 / p90 / p99 ms | Berth / distribution | target | met |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for workload in order:
    d, b = best(workload, "distribution"), best(workload, "berth")
    t = target(workload)
    metric = t[0] if t else "opss"
    ratio = (b[metric] / d[metric]) if d and b and d[metric] > 0 else None
    met = "-"
    if t and ratio is not None:
        met = "yes" if ratio >= t[1] and b["errors"] == 0 else "**no**"
    ratio_text = f"{ratio:.2f}x" if ratio is not None else "-"
    print(f"| {workload} | {' | '.join(cell(d))} | {' | '.join(cell(b))} | {ratio_text} | {t[2] if t else '(none)'} | {met} |")

print()
print("Every repetition's ops/s (distribution | Berth):")
print()
for workload in order:
    runs = {s: " / ".join(f"{r['opss']:,.1f}" for r in rows.get((workload, s), [])) for s in ("distribution", "berth")}
    print(f"- {workload}: {runs['distribution']} | {runs['berth']}")

rss = collections.defaultdict(dict)
loads = []
for line in (out / "rss.tsv").read_text().splitlines():
    server, rep, group, kib, load1 = line.split("\t")
    rss[server][(rep, group)] = int(kib)
    if load1 != "-":
        loads.append(f"{server}#{rep} {group}: {load1}")

print()
print("| RSS (MiB) | max VmRSS under load | peak VmHWM over the whole run | target |")
print("| --- | --- | --- | --- |")
for server in ("distribution", "berth"):
    under_load = max((v for (rep, g), v in rss[server].items() if g != "VmHWM"), default=0) / 1024
    hwm = max((v for (rep, g), v in rss[server].items() if g == "VmHWM"), default=0) / 1024
    goal = ("<= 150 MiB: " + ("yes" if under_load <= 150 else "**no**")) if server == "berth" else "-"
    print(f"| {server} | {under_load:.0f} | {hwm:.0f} | {goal} |")

print()
print("Max VmRSS per workload group (MiB, the maximum over repetitions):")
print()
groups = sorted({g for s in rss for (_, g) in rss[s] if g != "VmHWM"}, key=lambda g: [x for s in rss for (_, x) in rss[s]].index(g))
for group in groups:
    values = {s: max((v for (_, g), v in rss[s].items() if g == group), default=0) / 1024 for s in ("distribution", "berth")}
    print(f"- {group}: distribution {values['distribution']:.0f}, Berth {values['berth']:.0f}")

print()
print("1-minute load average when each run started: " + "; ".join(loads))
