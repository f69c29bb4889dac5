"""Benchmark: DeePar planning time (Alg. 1 online, and the exact assignment (20)-(25)).

Measured (wall clock, :func:`time.perf_counter`) on the section V-B simulation setting
(:func:`splitinfer.experiments.huang2019.paper_scenario`: AlexNet / VGG-16 / DeepFace / LeNet tasks,
device profiles ``<model>@cpu-1t``):

* ``deepar``: the time spent inside Alg. 1's ``decide`` over a whole online run (``plan_time_s``
  from :func:`splitinfer.sim.simulate_online`), per run and per task, and the time of the whole
  simulated run; for n = 20 ... 1000 tasks on m = 10 and 40 edge servers, arrivals within 50 s
  (the busiest setting of Fig. 4) and within 300 s;
* ``deepar-exact``: filling W (3m+1 options per task, best cut pair each), its relaxation bound
  and solving (20)-(25) with HiGHS at the planner's default time limit (30 s), for n = 5 ...
  4000 tasks on m = 10 edges, and whether HiGHS proved optimality: the range in which the
  planner is exact.

Issue 16's rows (``--scaling``, on by default): Alg. 1's CPU time inside ``decide``
(:func:`time.process_time`) for n tasks on m = 10 edges, overloaded (all arrivals within
h = 50 s) and at a constant arrival rate of 10/3 tasks per second (h = 0.3 n s; n = 1000 is the
h = 300 s setting above), and overloaded again with the paper preset ``deepar-paper`` (line 12
compares W's entry), for n = 250 ... 10^4, the issue's target size (``--max-n 4000`` leaves
the 10^4 rows out);
the growth exponent of each series is fitted by least squares on log(time) against log(n)
over the measured sizes, and each row is printed beside its target (10^4 tasks overloaded
<= 10 s CPU; growth <= n log n, i.e. a fitted exponent <= 1.15 over this range).

Prints markdown tables and writes ``benchmarks/results/deepar.json``.

Usage::

    python benchmarks/bench_deepar.py [--quick] [--max-n 4000|10000] [--no-scaling]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from _common import printed_into_doc

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


def decide_cpu(n: int, m: int, horizon: float, planner_name: str = "deepar"
               ) -> tuple[float, float]:
    """CPU seconds spent inside ``planner_name``'s ``decide`` (``deepar`` or its paper preset
    ``deepar-paper``) over one online run, and the whole run's CPU seconds (simulation
    included)."""
    from splitinfer.experiments.huang2019 import paper_scenario
    from splitinfer.planners import get_planner
    from splitinfer.sim import simulate_online

    sc = paper_scenario(0, n, m, horizon)
    planner = get_planner(planner_name)
    spent = [0.0]
    decide = planner.decide

    def timed(task, state):
        c0 = time.process_time()
        try:
            return decide(task, state)
        finally:
            spent[0] += time.process_time() - c0

    planner.decide = timed
    c0 = time.process_time()
    simulate_online(sc, planner)
    return spent[0], time.process_time() - c0


def growth(sizes: list[int], seconds: list[float]) -> float:
    """Least-squares slope of log(seconds) against log(n): the fitted growth exponent."""
    import numpy as np

    x, y = np.log(np.asarray(sizes, float)), np.log(np.maximum(seconds, 1e-9))
    return float(np.polyfit(x, y, 1)[0])


def bench_scaling(sizes: list[int], m: int = 10) -> tuple[list[dict], list[tuple]]:
    """Issue 16's DeePar rows: overloaded (h = 50 s) and constant rate (h = 0.3 n s), and the
    overloaded series again for the paper preset (``deepar-paper``: line 12 compares W's
    entry)."""
    rows, targets = [], []
    print("\n| series | tasks | horizon (s) | decide CPU (s) | whole run CPU (s) |")
    print("|---|---|---|---|---|")
    overloaded, constant = (lambda n: 50.0), (lambda n: 0.3 * n)
    for series, name, who, kind, horizon_of in (
            ("overloaded", "deepar", "DeePar", "overloaded", overloaded),
            ("constant rate", "deepar", "DeePar", "constant rate", constant),
            ("paper preset, overloaded", "deepar-paper", "DeePar, paper preset,", "overloaded",
             overloaded)):
        cpu = []
        for n in sizes:
            h = horizon_of(n)
            plan_cpu, run_cpu = decide_cpu(n, m, h, name)
            cpu.append(plan_cpu)
            rows.append({"series": series, "planner": name, "tasks": n, "edges": m,
                         "horizon_s": h, "decide_cpu_s": plan_cpu, "run_cpu_s": run_cpu})
            print(f"| {series} | {n} | {h:g} | {plan_cpu:.2f} | {run_cpu:.2f} |", flush=True)
        k = growth(sizes, cpu) if len(sizes) > 1 else float("nan")
        targets.append((f"{who} {kind}: fitted growth of decide CPU, n = {sizes[0]}.."
                        f"{sizes[-1]}", f"n^{k:.2f}", "<= n log n (exponent <= 1.15)", k <= 1.15))
        if kind != "overloaded":
            continue
        what = f"{who} 10^4 tasks overloaded (h = 50 s), decide CPU"
        if sizes[-1] == 10_000:
            targets.append((what, f"{cpu[-1]:.1f} s", "<= 10 s", cpu[-1] <= 10.0))
        else:
            targets.append((what, "not run (--max-n 10000 runs it, about 1 min more)",
                            "<= 10 s", None))
    print("\n| issue 16 row | measured | target | met |\n|---|---|---|---|")
    for what, got, want, ok in targets:
        print(f"| {what} | {got} | {want} | {'-' if ok is None else 'yes' if ok else 'NO'} |")
    return rows, targets


def bench_exact(sizes, m):
    from splitinfer.experiments.huang2019 import paper_scenario
    from splitinfer.planners import get_planner

    rows = []
    for n in sizes:
        sc = paper_scenario(0, n, m, 50.0)
        planner = get_planner("deepar-exact")
        plan = planner.plan(sc)
        rows.append({"planner": "deepar-exact", "tasks": n, "edges": m,
                     "time_limit_s": planner.time_limit_s, "plan_s": plan.plan_time_s,
                     "optimal": plan.info["optimal"],
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
    ap.add_argument("--max-n", type=int, default=10_000,
                    help="largest n of the scaling rows (4000 leaves the 10^4 rows out)")
    ap.add_argument("--no-scaling", action="store_true", help="skip issue 16's scaling rows")
    ap.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    args = ap.parse_args(argv)
    with printed_into_doc("bench_deepar", not (args.no_doc or args.quick)
                          and args.out == RESULTS / "deepar.json"):
        return _run(args)


def _run(args: argparse.Namespace) -> dict:
    load_before = os.getloadavg()[0]
    print(f"{cpu_model()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; 1-min load "
          f"average {load_before:.2f} before\n")
    sizes = [20, 80] if args.quick else [20, 80, 320, 1000]
    print("| planner | tasks | edges | arrivals within (s) | plan (s) | plan per task (ms) | "
          "whole simulated run (s) |")
    print("|---|---|---|---|---|---|---|")
    online = bench_online(sizes, [10, 40], [50.0] if args.quick else [50.0, 300.0],
                          args.repeats)
    print("\n| planner | tasks | edges | plan (s) | optimal |")
    print("|---|---|---|---|---|")
    exact = bench_exact([5, 10] if args.quick else [5, 10, 20, 40, 80, 320, 1000, 4000], 10)
    scaling, targets = [], []
    if not args.no_scaling:
        top = 1000 if args.quick else args.max_n
        sizes = [n for n in (250, 500, 1000, 2000, 4000, 10_000) if n <= top]
        scaling, targets = bench_scaling(sizes)
    import numpy
    import scipy

    out = {"benchmark": "deepar", "cpu": cpu_model(), "python": platform.python_version(),
           "numpy": numpy.__version__, "scipy": scipy.__version__,
           "date": time.strftime("%Y-%m-%d"), "loadavg_end": os.getloadavg(),
           "online": online, "exact": exact, "scaling": scaling,
           "targets": [{"what": w, "measured": g, "target": t, "met": ok}
                       for w, g, t, ok in targets]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1))
    print(f"\n1-min load average {os.getloadavg()[0]:.2f} after")
    return out


if __name__ == "__main__":
    main()
