"""Benchmark: the discrete-event simulator on 10^5 tasks of 4 stages on 3 servers, against SimPy.

Workload (seeded): ``--devices`` phones, each with Poisson arrivals at ``--rate`` per second,
``--tasks`` tasks in all. Every task runs its head on its phone (10 ms, FIFO), sends the
activation over the phone's FIFO uplink to one of three heterogeneous edge servers (5 ms, round
robin over the servers), runs the tail there (9 / 4.5 / 3 ms, FIFO) and gets its result back
over a dedicated link (0.1 ms): 4 stages. Server utilisations are about 0.6, 0.3 and 0.2.

Measured: wall clock (:func:`time.perf_counter`, best and median of ``--repeats``) and CPU time
of the process (:func:`time.process_time`, best), which is the better figure on a machine shared
with other jobs:

* ``splitinfer``: :func:`splitinfer.sim.simulate` end to end (building the stages from the plan,
  the event loop, and the per-stage result records);
* ``simpy``: the same workload written as a SimPy 4 model (one ``simpy.Resource`` per phone,
  uplink and server, one process per task started at its arrival by a source process), with the
  stage durations taken from :func:`splitinfer.system.build_stages` so both run the very same
  numbers. It is the yardstick (SimPy is a benchmark-only dependency).

The two must agree: the script checks that every task's finish time is the same in both (FIFO
with continuous random arrivals has no ties) and reports the largest difference.

Prints a markdown table and writes ``benchmarks/results/sim.json``.

Usage::

    python benchmarks/bench_sim.py [--tasks 100000] [--repeats 3] [--sizes 1000,10000]
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
    """Cut after the first piece; servers in turn by task order."""
    from splitinfer.system import Plan, TaskPlan

    chosen = sc.tasks[:tasks]
    return sc.with_tasks(chosen), Plan("round-robin", {
        t.id: TaskPlan(t.id, (t.device, SERVERS[k % 3]), (1,)) for k, t in enumerate(chosen)})


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
    """Time both simulators on one workload and compare their timelines."""
    ours, simpy_s = [], []
    res = finish = None
    for _ in range(repeats):
        s, res = run_ours(sc, plan)
        ours.append(s)
        s, finish = run_simpy(sc, plan)
        simpy_s.append(s)
    diff = max(abs(a.finish - b) for a, b in zip(res.tasks, finish, strict=True))
    wall = {"splitinfer": [w for w, _ in ours], "simpy": [w for w, _ in simpy_s]}
    cpu = {"splitinfer": [c for _, c in ours], "simpy": [c for _, c in simpy_s]}
    return {"tasks": len(sc.tasks), "stages": sum(len(t.stages) for t in res.tasks),
            "events": res.info["events"],
            "splitinfer_best_s": min(wall["splitinfer"]),
            "splitinfer_median_s": statistics.median(wall["splitinfer"]),
            "splitinfer_cpu_best_s": min(cpu["splitinfer"]),
            "simpy_best_s": min(wall["simpy"]), "simpy_median_s": statistics.median(wall["simpy"]),
            "simpy_cpu_best_s": min(cpu["simpy"]),
            "max_finish_diff_s": diff, "mean_latency_s": res.mean_latency,
            "p95_latency_s": res.percentile(95),
            "utilisation": {k: round(v, 4) for k, v in res.utilisation().items() if k in SERVERS}}


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print a markdown table, write the JSON; return the results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=100_000)
    ap.add_argument("--sizes", default="1000,10000", help="smaller sizes also measured")
    ap.add_argument("--devices", type=int, default=10)
    ap.add_argument("--rate", type=float, default=20.0, help="arrivals per second per phone")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=RESULTS / "sim.json")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    full = build_scenario(args.tasks, args.devices, args.rate, args.seed)
    load_s = time.perf_counter() - t0
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
           "scenario_load_s": load_s, "rows": rows,
           "machine": {"cpu": cpu_model(), "cpus": os.cpu_count(),
                       "load_average": os.getloadavg()[0], "python": platform.python_version(),
                       "simpy": simpy.__version__, "splitinfer": __version__}}
    print(f"simulator benchmark: {args.devices} phones x Poisson({args.rate}/s), 4 stages per "
          f"task, 3 servers; {out['machine']['cpu']}, {out['machine']['cpus']} CPUs, load "
          f"{out['machine']['load_average']:.2f}; best (median) of {args.repeats}\n")
    print("| tasks | stages | events | splitinfer wall s | splitinfer CPU s | SimPy wall s | "
          "SimPy CPU s | SimPy / splitinfer (CPU) | max finish diff s | mean latency ms |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['tasks']} | {r['stages']} | {r['events']} | {r['splitinfer_best_s']:.3f} "
              f"({r['splitinfer_median_s']:.3f}) | {r['splitinfer_cpu_best_s']:.3f} | "
              f"{r['simpy_best_s']:.3f} ({r['simpy_median_s']:.3f}) | {r['simpy_cpu_best_s']:.3f} | "
              f"{r['simpy_cpu_best_s'] / r['splitinfer_cpu_best_s']:.2f} | "
              f"{r['max_finish_diff_s']:.1e} | {1e3 * r['mean_latency_s']:.2f} |")
    print(f"\nscenario load (validation + {args.tasks} generated tasks): {load_s:.2f} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
