"""Benchmark: the issue-3 planners — ``exact`` (CP-SAT) by instance size, ``dads`` and
``neurosurgeon`` on the shipped measured profiles.

1. ``exact`` on random chain scenarios (:func:`splitinfer.testing.random.random_chain_scenario`)
   with ``--tasks`` tasks (2 .. 8), ``--seeds`` seeds each, one CP-SAT worker, wall-clock limit
   ``--limit`` s: planning time, status (proven optimal or not), final gap, and the number of
   chain options in the model.
2. ``dads`` and ``neurosurgeon`` for one task of every shipped ``<model>@cpu-1t`` profile: a
   phone running the measured ``cpu-1t`` profile, one edge server of ``--edge-gflops`` GFLOP/s
   (a documented FLOP/s choice: no GPU profile is shipped) over a ``--mbps`` Mbit/s link.
   Planning time of DADS (building the flow network from the profile's layer DAG and the
   networkx min cut, per server) and of Neurosurgeon, the number of layers, and both plans'
   simulated latencies (simulated, not measured), with whether DADS's head is a general DAG cut
   (a ``steps`` plan) rather than a single-tensor cut.

Prints markdown tables and writes ``benchmarks/results/baselines.json``.

Usage::

    python benchmarks/bench_baselines.py [--tasks 2,4,6,8] [--seeds 3] [--limit 10]
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


def bench_exact(sizes: list[int], seeds: int, limit: float) -> list[dict]:
    from splitinfer.planners import get_planner
    from splitinfer.testing.random import random_chain_scenario

    rows = []
    for n in sizes:
        seed, done = 0, 0
        while done < seeds:
            sc = random_chain_scenario(1000 * n + seed, max_tasks=n)
            seed += 1
            if len(sc.tasks) != n:
                continue
            done += 1
            t0 = time.perf_counter()
            plan = get_planner("exact", time_limit_s=limit, max_tasks=n).plan(sc)
            elapsed = time.perf_counter() - t0
            rows.append({"tasks": n, "scenario": sc.name, "objective": sc.objective,
                         "options": plan.info["options"], "status": plan.info["status"],
                         "optimal": plan.info["optimal"], "gap": plan.info["gap"],
                         "seconds": elapsed})
    return rows


def _scenario(profile: str, edge_flops: float, mbps: float):
    from splitinfer.system import scenario_from_dict

    return scenario_from_dict({
        "name": f"bench-{profile}",
        "nodes": [{"name": "phone", "kind": "device", "compute": {"hardware": "cpu-1t"}},
                  {"name": "edge", "kind": "edge", "compute": {"flops_per_s": edge_flops}}],
        "links": [{"src": "phone", "dst": "edge", "bandwidth": mbps * 1e6}],
        "models": {"m": {"profiles": {"cpu-1t": profile}}},
        "workload": {"tasks": [{"device": "phone", "model": "m"}]}})


def bench_partition(edge_flops: float, mbps: float, repeats: int) -> list[dict]:
    from splitinfer.planners import get_planner
    from splitinfer.profile import list_shipped_profiles
    from splitinfer.sim import simulate

    rows = []
    for name in list_shipped_profiles():
        if not name.endswith("@cpu-1t"):
            continue
        sc = _scenario(name, edge_flops, mbps)
        row = {"profile": name, "layers": sc.models["m"].layers.n,
               "cuts": sc.models["m"].num_cuts}
        for planner in ("dads", "neurosurgeon"):
            times, plan = [], None
            for _ in range(repeats):
                t0 = time.perf_counter()
                plan = get_planner(planner).plan(sc)
                times.append(time.perf_counter() - t0)
            row[f"{planner}_plan_s"] = statistics.median(times)
            row[f"{planner}_latency_s"] = simulate(sc, plan).mean_latency
            if planner == "dads":
                row["dads_general_cut"] = plan["t0"].steps is not None
                row["dads_mode"] = plan.info["mode"]["t0"]
        row["local_latency_s"] = float(sc.models["m"].head_latency["cpu-1t"][-1])
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default="2,4,6,8")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--limit", type=float, default=10.0)
    ap.add_argument("--edge-gflops", type=float, default=1000.0)
    ap.add_argument("--mbps", type=float, default=20.0)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    sizes = [int(x) for x in args.tasks.split(",")]
    exact = bench_exact(sizes, args.seeds, args.limit)
    part = bench_partition(args.edge_gflops * 1e9, args.mbps, args.repeats)
    print(f"## exact (CP-SAT, 1 worker, wall limit {args.limit:g} s) on random chain scenarios\n")
    print("| tasks | options (mean) | proven optimal | median s | max s | max gap |")
    print("|---|---|---|---|---|---|")
    for n in sizes:
        rs = [r for r in exact if r["tasks"] == n]
        print(f"| {n} | {statistics.mean(r['options'] for r in rs):.0f} | "
              f"{sum(r['optimal'] for r in rs)}/{len(rs)} | "
              f"{statistics.median(r['seconds'] for r in rs):.3f} | "
              f"{max(r['seconds'] for r in rs):.3f} | {max(r['gap'] for r in rs):.2e} |")
    print(f"\n## dads vs neurosurgeon, one task, phone = cpu-1t profile, edge "
          f"{args.edge_gflops:g} GFLOP/s, {args.mbps:g} Mbit/s (latencies simulated)\n")
    print("| profile | layers | cuts | local s | neurosurgeon s | dads s | general DAG cut | "
          "dads plan ms | neurosurgeon plan ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in part:
        print(f"| {r['profile']} | {r['layers']} | {r['cuts']} | {r['local_latency_s']:.4f} | "
              f"{r['neurosurgeon_latency_s']:.4f} | {r['dads_latency_s']:.4f} | "
              f"{'yes' if r['dads_general_cut'] else 'no'} | {1e3 * r['dads_plan_s']:.2f} | "
              f"{1e3 * r['neurosurgeon_plan_s']:.2f} |")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "baselines.json").write_text(json.dumps(
        {"machine": {"cpu": cpu_model(), "cpus": os.cpu_count(), "python": platform.python_version()},
         "args": vars(args), "exact": exact, "partition": part}, indent=1))


if __name__ == "__main__":
    main()
