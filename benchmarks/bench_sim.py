"""Benchmark: the discrete-event simulator on 10^5 tasks of 4 stages on 3 servers, against SimPy.

Workload (seeded): ``--devices`` phones, each with Poisson arrivals at ``--rate`` per second,
``--tasks`` tasks in all. Every task runs its head on its phone (10 ms, FIFO), sends the
activation over the phone's FIFO uplink to one of three heterogeneous edge servers (5 ms, round
robin over the servers), runs the tail there (9 / 4.5 / 3 ms, FIFO) and gets its result back
over a dedicated link (0.1 ms): 4 stages. Server utilisations are about 0.6, 0.3 and 0.2.

Measured, interleaved (splitinfer, SimPy, splitinfer, ...) so that both see the same machine
load, over ``--repeats`` runs: wall clock (:func:`time.perf_counter`) and CPU time of the
process (:func:`time.process_time`); the table gives medians (best in brackets), and the
speed-up is the ratio of median CPU times, the better figure on a machine shared with other jobs:

* ``splitinfer``: :func:`splitinfer.sim.simulate` end to end (stage lists from the plan, the
  compiled event loop, the columnar result with its metrics) on a plan kept as arrays
  (:meth:`splitinfer.system.Plan.from_columns`); the first call of the process, which loads the
  compiled loop from Numba's cache, is timed apart on a small plan;
* ``simpy``: the same workload written as a SimPy 4 model (one ``simpy.Resource`` per phone,
  uplink and server, one process per task started at its arrival by a source process), with the
  stage durations taken from :func:`splitinfer.system.build_stages` so both run the very same
  numbers. It is the yardstick (SimPy is a benchmark-only dependency).

The two must agree: the script checks that every task's finish time is the same in both (FIFO
with continuous random arrivals has no ties) and reports the largest difference. Under the
table, each simulator row of the speed table in issue 16 is printed beside its target.

Prints markdown tables, writes ``benchmarks/results/sim.json`` and replaces the block between
``<!-- bench_sim:begin -->`` and ``<!-- bench_sim:end -->`` in ``docs/benchmarks.md`` with them
(``--no-doc`` leaves the page alone).

Usage::

    python benchmarks/bench_sim.py [--tasks 1000000] [--repeats 3] [--sizes 1000,100000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from splitinfer.machine import cpu_model

RESULTS = Path(__file__).resolve().parent / "results"
DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench_sim:begin -->", "<!-- bench_sim:end -->"
SERVERS = ("edge0", "edge1", "edge2")


def build_scenario(tasks: int, devices: int, rate: float, seed: int):
    """The benchmark scenario with ``tasks`` tasks spread evenly over ``devices`` phones."""
    from splitinfer.system import scenario_from_dict

    phones = [f"phone{i}" for i in range(devices)]
    nodes = [{"name": p, "kind": "device", "compute": {"flops_per_s": "1GFLOPS"}} for p in phones]
    nodes += [{"name": s, "kind": "edge", "compute": {"flops_per_s": f"{10 * (k + 1)}GFLOPS"}}
              for k, s in enumerate(SERVERS)]
    links = [{"src": p, "dst": s, "bandwidth": "80Mbps", "sharing": "fifo", "symmetric": False}
             for p in phones for s in SERVERS]
    links += [{"src": s, "dst": p, "bandwidth": "80Mbps", "symmetric": False}
              for p in phones for s in SERVERS]
    per_device = -(-tasks // devices)
    return scenario_from_dict({
        "name": "bench-sim",
        "nodes": nodes, "links": links,
        "models": {"m": {"cuts": [{"transfer_bytes": "150KB", "head_flops": 0},
                                  {"transfer_bytes": "50KB", "head_flops": 1e7},
                                  {"transfer_bytes": "1KB", "head_flops": 1e8}]}},
        "workload": {"seed": seed, "generators": [
            {"kind": "poisson", "devices": phones, "model": "m", "rate": rate,
             "count": per_device}]}})


def round_robin_plan(sc, tasks: int):
    """Cut after the first piece; servers in turn by task order (a plan kept as arrays)."""
    import numpy as np

    from splitinfer.system.plan import ChainColumns, Plan

    chosen = sc.tasks[:tasks]
    devices = sorted({t.device for t in chosen})
    names = devices + list(SERVERS)
    code = {d: i for i, d in enumerate(devices)}
    n = len(chosen)
    nodes = np.column_stack([np.array([code[t.device] for t in chosen], np.int64),
                             len(devices) + np.arange(n) % 3])
    cols = ChainColumns([t.id for t in chosen], names, nodes, np.ones((n, 1), np.int64))
    return sc.with_tasks(chosen), Plan.from_columns("round-robin", cols)


def run_simpy(sc, plan) -> tuple[tuple[float, float], list[float]]:
    """Simulate the plan with SimPy; returns ((wall s, CPU s), finish time per task)."""
    import simpy

    from splitinfer.system import build_stages

    slots_of = sc.resource_slots
    jobs = []
    for task in sc.tasks:
        stages = build_stages(sc, task, plan.tasks[task.id])
        assert all(s.deps == ((i - 1,) if i else ()) for i, s in enumerate(stages)), "chain only"
        jobs.append((task.arrival, [(s.resource, s.duration) for s in stages]))
    t0, c0 = time.perf_counter(), time.process_time()
    env = simpy.Environment()
    resources: dict[str, simpy.Resource | None] = {}
    for _, stages in jobs:
        for name, _ in stages:
            if name is not None and name not in resources:
                slots = slots_of(name)
                resources[name] = None if slots is None else simpy.Resource(env, capacity=slots)
    finish = [0.0] * len(jobs)

    def job(k, stages):
        for name, duration in stages:
            res = resources.get(name) if name is not None else None
            if res is None:
                yield env.timeout(duration)
            else:
                with res.request() as req:
                    yield req
                    yield env.timeout(duration)
        finish[k] = env.now

    def source():
        for k, (arrival, stages) in enumerate(jobs):
            if arrival > env.now:
                yield env.timeout(arrival - env.now)
            env.process(job(k, stages))

    env.process(source())
    env.run()
    return (time.perf_counter() - t0, time.process_time() - c0), finish


def run_ours(sc, plan):
    """Simulate the plan with splitinfer; returns ((wall s, CPU s), result)."""
    from splitinfer.sim import simulate

    t0, c0 = time.perf_counter(), time.process_time()
    res = simulate(sc, plan)
    return (time.perf_counter() - t0, time.process_time() - c0), res


def measure(sc, plan, repeats: int) -> dict:
    """Time both simulators on one workload, interleaved, and compare their timelines."""
    ours, simpy_s, parts = [], [], []
    res = finish = None
    for _ in range(repeats):
        s, res = run_ours(sc, plan)
        ours.append(s)
        parts.append({k: res.info[k] for k in ("build_s", "loop_s", "records_s")})
        s, finish = run_simpy(sc, plan)
        simpy_s.append(s)
    diff = float(max(abs(res.finishes - finish))) if len(finish) else 0.0
    wall = {"splitinfer": [w for w, _ in ours], "simpy": [w for w, _ in simpy_s]}
    cpu = {"splitinfer": [c for _, c in ours], "simpy": [c for _, c in simpy_s]}
    med = statistics.median
    return {"tasks": len(sc.tasks), "stages": len(res.timeline.ready),
            "events": res.info["events"],
            "splitinfer_best_s": min(wall["splitinfer"]),
            "splitinfer_median_s": med(wall["splitinfer"]),
            "splitinfer_cpu_best_s": min(cpu["splitinfer"]),
            "splitinfer_cpu_median_s": med(cpu["splitinfer"]),
            "simpy_best_s": min(wall["simpy"]), "simpy_median_s": med(wall["simpy"]),
            "simpy_cpu_best_s": min(cpu["simpy"]), "simpy_cpu_median_s": med(cpu["simpy"]),
            "speedup_cpu_median": med(cpu["simpy"]) / max(med(cpu["splitinfer"]), 1e-9),
            "parts_median_s": {k: med(p[k] for p in parts) for k in parts[0]},
            "max_finish_diff_s": diff, "mean_latency_s": res.mean_latency,
            "p95_latency_s": res.percentile(95),
            "utilisation": {k: round(v, 4) for k, v in res.utilisation().items() if k in SERVERS}}


def first_call_s(full) -> float:
    """Wall seconds of the first simulation in this process (loads the compiled loop)."""
    sc, plan = round_robin_plan(full, 10)
    t0 = time.perf_counter()
    run_ours(sc, plan)
    return time.perf_counter() - t0


def targets(rows: list[dict]) -> list[tuple[str, str, str, bool | None]]:
    """Issue 16's simulator rows: (what, measured, target, met or None when no target)."""
    out = []
    for r in rows:
        if r["tasks"] in (100_000, 1_000_000):
            out.append((f"simulator vs SimPy at {r['tasks']:,} tasks (CPU, medians)",
                        f"{r['speedup_cpu_median']:.1f}x", ">= 10x",
                        r["speedup_cpu_median"] >= 10))
    for r in rows:
        if r["tasks"] == 1_000_000:
            out.append(("10^6 tasks x 4 stages, simulate incl. results (CPU, median)",
                        f"{r['splitinfer_cpu_median_s']:.2f} s", "<= 2 s",
                        r["splitinfer_cpu_median_s"] <= 2))
    for r in rows:
        if r["tasks"] == 100_000:
            p = r["parts_median_s"]
            out.append(("where the time goes at 10^5 (wall, median)",
                        f"stage lists {p['build_s']:.3f} s, event loop {p['loop_s']:.3f} s, "
                        f"results {p['records_s']:.3f} s", "-", None))
    return out


def report_lines(out: dict, args) -> list[str]:
    """The markdown the script prints (and writes into docs/benchmarks.md)."""
    m, rows = out["machine"], out["rows"]
    lines = [f"simulator benchmark: {args.devices} phones x Poisson({args.rate}/s), 4 stages per "
             f"task, 3 servers; {m['cpu']}, {m['cpus']} CPUs, load average {m['load_average']:.2f}"
             f" at the end; median (best) of {args.repeats}, interleaved with SimPy", "",
             "| tasks | stages | events | splitinfer wall s | splitinfer CPU s | SimPy wall s | "
             "SimPy CPU s | SimPy / splitinfer (CPU) | max finish diff s | mean latency ms |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['tasks']} | {r['stages']} | {r['events']} | {r['splitinfer_median_s']:.3f} "
            f"({r['splitinfer_best_s']:.3f}) | {r['splitinfer_cpu_median_s']:.3f} "
            f"({r['splitinfer_cpu_best_s']:.3f}) | {r['simpy_median_s']:.3f} "
            f"({r['simpy_best_s']:.3f}) | {r['simpy_cpu_median_s']:.3f} "
            f"({r['simpy_cpu_best_s']:.3f}) | {r['speedup_cpu_median']:.1f} | "
            f"{r['max_finish_diff_s']:.1e} | {1e3 * r['mean_latency_s']:.2f} |")
    lines += ["", "| issue 16 row | measured | target | met |", "|---|---|---|---|"]
    for t in out["targets"]:
        met = "-" if t["met"] is None else ("yes" if t["met"] else "NO")
        lines.append(f"| {t['what']} | {t['measured']} | {t['target']} | {met} |")
    lines += ["", f"First simulation in a process (loads the compiled event loop from Numba's "
              f"cache): {out['first_call_s']:.2f} s."]
    return lines


def write_doc(lines: list[str], out: dict) -> bool:
    """Replace the marked block of docs/benchmarks.md; False if the markers are missing."""
    from _common import write_doc_block

    return write_doc_block("bench_sim", "\n".join(lines), DOC)


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print a markdown table, write the JSON; return the results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=1_000_000)
    ap.add_argument("--sizes", default="1000,100000", help="smaller sizes also measured")
    ap.add_argument("--devices", type=int, default=10)
    ap.add_argument("--rate", type=float, default=20.0, help="arrivals per second per phone")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=RESULTS / "sim.json")
    ap.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    full = build_scenario(args.tasks, args.devices, args.rate, args.seed)
    load_s = time.perf_counter() - t0
    first_s = first_call_s(full)
    sizes = sorted({int(x) for x in args.sizes.split(",") if x} | {args.tasks})
    rows = []
    for n in sizes:
        t0 = time.perf_counter()
        sc, plan = round_robin_plan(full, n)
        plan_s = time.perf_counter() - t0
        row = measure(sc, plan, args.repeats)
        row["plan_build_s"] = plan_s
        rows.append(row)
        if row["max_finish_diff_s"] > 1e-9:
            raise SystemExit(f"splitinfer and SimPy disagree by {row['max_finish_diff_s']:.3g} s "
                             f"at {n} tasks")

    import simpy

    from splitinfer import __version__

    out = {"benchmark": "sim", "workload": {"devices": args.devices, "rate_per_device": args.rate,
                                            "stages_per_task": 4, "servers": len(SERVERS),
                                            "seed": args.seed, "repeats": args.repeats},
           "scenario_load_s": load_s, "first_call_s": first_s, "rows": rows,
           "targets": [{"what": w, "measured": m, "target": t, "met": ok}
                       for w, m, t, ok in targets(rows)],
           "machine": {"cpu": cpu_model(), "cpus": os.cpu_count(),
                       "load_average": os.getloadavg()[0], "python": platform.python_version(),
                       "simpy": simpy.__version__, "splitinfer": __version__}}
    lines = report_lines(out, args)
    print("\n".join(lines))
    print(f"\nscenario load (validation + {args.tasks} generated tasks): {load_s:.2f} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1))
    # only runs that measure the rows (10^5 or 10^6 tasks) are written into the page
    if not args.no_doc and out["targets"] and not write_doc(lines, out):
        print(f"note: no {BEGIN} block in {DOC}; not updated")
    return out


if __name__ == "__main__":
    main()
