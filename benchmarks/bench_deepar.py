"""Benchmark: DeePar planning time (Alg. 1 online, and the exact assignment (20)-(25)).

Measured (wall clock, :func:`time.perf_counter`) on the section V-B simulation setting
(:func:`splitinfer.experiments.huang2019.paper_scenario`: AlexNet / VGG-16 / DeepFace / LeNet tasks,
device profiles ``<model>@cpu-1t``):

* ``deepar``: the time spent inside Alg. 1's ``decide`` over a whole online run (``plan_time_s``
  from :func:`splitinfer.sim.simulate_online`), per run and per task, and the time of the whole
  simulated run; for n = 20 ... 1000 tasks on m = 10 and 40 edge servers, arrivals within 50 s
  (the busiest setting of Fig. 4) and within 300 s;
* ``deepar-exact``: filling W (3m+1 options per task, best cut pair each) and solving (20)-(25)
  with HiGHS, for n = 5 ... 80 tasks on m = 10 edges, and whether HiGHS proved optimality.

Prints markdown tables and writes ``benchmarks/results/deepar.json``.

Usage::

    python benchmarks/bench_deepar.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

from splitinfer.machine import cpu_model

RESULTS = Path(__file__).resolve().parent / "results"


def bench_online(sizes, edges_list, horizons, repeats):
    from splitinfer.experiments.huang2019 import paper_scenario
    from splitinfer.planners import get_planner
    from splitinfer.sim import simulate_online

    rows = []
    for m in edges_list:
        for h in horizons:
            for n in sizes:
                sc = paper_scenario(0, n, m, h)
                plan_s, run_s = [], []
                for _ in range(repeats if n <= 200 else 1):
                    t0 = time.perf_counter()
                    plan, result = simulate_online(sc, get_planner("deepar"))
                    run_s.append(time.perf_counter() - t0)
                    plan_s.append(plan.plan_time_s)
                p = statistics.median(plan_s)
                rows.append({"planner": "deepar", "tasks": n, "edges": m, "horizon_s": h,
                             "plan_s": p, "plan_per_task_ms": 1e3 * p / n,
                             "run_s": statistics.median(run_s),
                             "mean_latency_s": result.mean_latency})
                print(f"| deepar | {n} | {m} | {h:g} | {p:.3f} | {1e3 * p / n:.2f} | "
                      f"{statistics.median(run_s):.3f} |", flush=True)
    return rows


def bench_exact(sizes, m):
    from splitinfer.experiments.huang2019 import paper_scenario
    from splitinfer.planners import get_planner

    rows = []
    for n in sizes:
        sc = paper_scenario(0, n, m, 50.0)
        plan = get_planner("deepar-exact", time_limit_s=60.0).plan(sc)
        rows.append({"planner": "deepar-exact", "tasks": n, "edges": m,
                     "plan_s": plan.plan_time_s, "optimal": plan.info["optimal"],
                     "assignment_total_s": plan.info["assignment_total_s"]})
        print(f"| deepar-exact | {n} | {m} | {plan.plan_time_s:.3f} | {plan.info['optimal']} |",
              flush=True)
    return rows


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark and return the result dictionary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=RESULTS / "deepar.json")
    args = ap.parse_args(argv)

    sizes = [20, 80] if args.quick else [20, 80, 320, 1000]
    print("| planner | tasks | edges | arrivals within (s) | plan (s) | plan per task (ms) | "
          "whole simulated run (s) |")
    print("|---|---|---|---|---|---|---|")
    online = bench_online(sizes, [10, 40], [50.0] if args.quick else [50.0, 300.0],
                          args.repeats)
    print("\n| planner | tasks | edges | plan (s) | optimal |")
    print("|---|---|---|---|---|")
    exact = bench_exact([5, 10] if args.quick else [5, 10, 20, 40, 80], 10)
    import numpy
    import scipy

    out = {"benchmark": "deepar", "cpu": cpu_model(), "python": platform.python_version(),
           "numpy": numpy.__version__, "scipy": scipy.__version__,
           "date": time.strftime("%Y-%m-%d"), "online": online, "exact": exact}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
