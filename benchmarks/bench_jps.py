"""Benchmark: JPS (Duan & Wu 2021) planning time for 10 to 10^6 identical jobs.

For ``n`` identical jobs JPS decides at most two job types, their counts and Johnson's order of
the types (:meth:`splitinfer.planners.duan2021.jps.JPSPlanner.schedule`, the *compact* plan); the count of
each type is chosen exactly by a vectorised O(n) scan over 0..n (NumPy). ``plan()`` then expands
it into the *full* plan, one decision per task, kept as arrays
(:class:`splitinfer.system.plan.ChainColumns`; ``TaskPlan`` objects are views built on demand).
Both are timed, wall clock with :func:`time.perf_counter` and CPU time with
:func:`time.process_time`, median of ``--repeats`` runs; building the 10^6-task scenario is setup
and reported separately. Target (issue 16): the full plan of 10^6 jobs in at most 1 s.

The model is AlexNet on this CPU at one thread (shipped scenario ``duan2021-alexnet``) at 5.85
Mbit/s; if its profile is not shipped, a synthetic 8-cut table model is used (named in the output).

Prints a markdown table and writes ``benchmarks/results/jps.json``.

Usage::

    python benchmarks/bench_jps.py [--sizes 10 1000 100000 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from dataclasses import replace
from pathlib import Path

from _common import printed_into_doc

RESULTS = Path(__file__).resolve().parent / "results"


def _base_scenario():
    from splitinfer.errors import SplitInferError
    from splitinfer.system import load_scenario, scenario_from_dict
    from splitinfer.testing.family_duan2021 import duan2021_dict

    try:
        return load_scenario("duan2021-alexnet"), "alexnet@cpu-1t (duan2021-alexnet, 5.85 Mbit/s)"
    except (SplitInferError, FileNotFoundError):
        d = duan2021_dict(4, max_cuts=8)
        return scenario_from_dict(d), "synthetic 8-cut table model (duan2021 family, seed 4)"


def _with_jobs(sc, n: int):
    from splitinfer.system.entities import Task

    t0 = sc.tasks[0]
    tasks = tuple(Task(f"t{i}", i, t0.device, t0.model, 0.0) for i in range(n))
    return replace(sc, tasks=tasks)


def _median_time(fn, repeats: int) -> tuple[float, object]:
    return _median_times(fn, repeats)[0], _median_times.last


def _median_times(fn, repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``fn()`` over ``repeats`` runs (result in ``.last``)."""
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        _median_times.last = fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark and return the result dictionary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[10, 1000, 100_000, 1_000_000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=RESULTS / "jps.json")
    ap.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    args = ap.parse_args(argv)

    from splitinfer.machine import cpu_model, load_average
    from splitinfer.planners.duan2021.jps import JPSPlanner

    before = load_average()
    base, label = _base_scenario()
    planner = JPSPlanner()
    rows = []
    for n in args.sizes:
        t0 = time.perf_counter()
        sc = _with_jobs(base, n)
        setup = time.perf_counter() - t0
        compact, sched = _median_time(lambda sc=sc: planner.schedule(sc), args.repeats)
        full, full_cpu = _median_times(lambda sc=sc: planner.plan(sc), max(1, args.repeats - 1))
        plan = _median_times.last
        assert len(plan.tasks) == n
        rows.append({"jobs": n, "setup_s": setup, "compact_s": compact, "full_s": full,
                     "full_cpu_s": full_cpu, "columnar": plan.columns is not None,
                     "types": [[t.label, c] for t, c in zip(sched.types, sched.counts,
                                                            strict=True)],
                     "predicted_makespan_s": sched.makespan})
    result = {"benchmark": "jps", "model": label, "cpu": cpu_model(),
              "python": platform.python_version(), "load_before_after": [(before or [None])[0], (load_average() or [None])[0]],
              "repeats": args.repeats, "rows": rows,
              "target": "full plan of 10^6 jobs in <= 1 s (issue 16)"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    with printed_into_doc("bench_jps", not args.no_doc and args.out == RESULTS / "jps.json"):
        lb, la = result["load_before_after"]
        print(f"JPS planning, {label}; CPU {result['cpu']}, Python {result['python']}; 1-min load "
              f"average {lb} before, {la} after; median of {args.repeats}")
        print()
        print("| jobs | compact plan (types + counts) | full plan (one decision per job, CPU) | "
              "scenario setup (not planning) | types |")
        print("|---:|---:|---:|---:|---|")
        for r in rows:
            types = ", ".join(f"{c} x {name}" for name, c in r["types"])
            print(f"| {r['jobs']:,} | {r['compact_s'] * 1e3:.1f} ms | {r['full_s'] * 1e3:.1f} ms "
                  f"({r['full_cpu_s'] * 1e3:.1f} ms) | {r['setup_s'] * 1e3:.1f} ms | {types} |")
        for r in rows:
            if r["jobs"] == 1_000_000:
                ok = r["full_s"] <= 1.0
                print("\n| issue 16 row | measured | target | met |\n|---|---|---|---|")
                print(f"| JPS, full plan of 10^6 jobs (wall, median) | {r['full_s']:.2f} s | "
                      f"<= 1 s | {'yes' if ok else 'NO'} |")
    return result


if __name__ == "__main__":
    main()
