"""Benchmark: planning time of the GSPI family (Shi et al. 2021) as the number of tasks N grows.

Workload: the shipped scenario ``shi2021`` (Table 2: one device type, 4 FIFO edge servers,
1 ms slots) with N tasks drawn uniformly over h = N / 0.75 slots, i.e. the density of the paper's
Fig. 7(b) point (75 tasks in 100 slots) kept as N grows, at B = 4 Mbps (the paper's bandwidth:
no task overtakes another) and 16 Mbps (inner cuts are used, tasks overtake, so GSPI's Step 3
and polish work).

Planners timed (wall clock :func:`time.perf_counter` and CPU :func:`time.process_time`, best of
``--repeats``):

* ``gspi`` (default: Alg. 2 + the monotone polish), ``gspi`` verbatim (``polish="none"``);
* ``gspi-online``: the decisions only (``plan.plan_time_s``: time inside ``decide``; the
  simulation that drives it is not counted);
* ``server-only``;
* ``gspi`` with ``wait="paper"`` (eq. (7), the work queued ahead) up to ``--paper-max`` tasks.

Then issue 16's row: ``gspi`` and ``gspi-paper`` at N = 10^4 and 10^5, 16 Mbps, planning CPU
beside the target (10^5 tasks in at most 10 s). Offline GSPI runs compiled (Numba); the first
plan of a process loads the compiled code from Numba's cache, or compiles it once per
installation: that one-time cost is measured apart (``warm-up``) and not in the rows.
``--check`` also compares every offline plan up to ``--check-max`` tasks with the former Python
passes (:mod:`splitinfer.testing.gspi_oracle`): cut and server of every task and every
predicted latency must be equal.

Prints markdown tables and writes ``benchmarks/results/gspi.json``. Under a minute on the
2-core machine once the kernels are compiled (``--check`` adds about a minute).

Usage::

    python benchmarks/bench_gspi.py [--sizes 100,300,1000,3000,10000] [--repeats 3]
                                    [--scaling 10000,100000] [--check] [--check-max 3000]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from _common import print_machine, printed_into_doc, run_meta

RESULTS = Path(__file__).resolve().parent / "results"
DENSITY = 0.75  # tasks per 1 ms slot (75 tasks in 100 slots)
PLANNERS = [("gspi", {}), ("gspi", {"polish": "none"}), ("gspi-online", {}), ("server-only", {}),
            ("gspi", {"wait": "paper"})]


def label(name: str, params: dict) -> str:
    """``name[k=v,...]``."""
    return name + (f"[{','.join(f'{k}={v}' for k, v in params.items())}]" if params else "")


def time_one(name: str, params: dict, sc, repeats: int) -> dict:
    """Best wall and CPU seconds of planning ``sc`` ``repeats`` times."""
    from splitinfer.planners import get_planner

    walls, cpus, plan = [], [], None
    for _ in range(repeats):
        planner = get_planner(name, **params)
        w0, c0 = time.perf_counter(), time.process_time()
        plan = planner.plan(sc)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        if name == "gspi-online":  # decisions only; the driving simulation is not planning
            cpu, wall = cpu * plan.plan_time_s / wall, plan.plan_time_s
        walls.append(wall)
        cpus.append(cpu)
    return {"wall_s": min(walls), "cpu_s": min(cpus),
            "predicted_mean_ms": 1e3 * plan.info.get("predicted_mean", float("nan"))}


def warm_up() -> float:
    """CPU seconds of the first offline plans of this process (load or compile the kernels)."""
    from splitinfer.experiments.shi2021 import paper_scenario
    from splitinfer.planners import get_planner

    sc = paper_scenario(75, 16e6, seed=0)
    c0 = time.process_time()
    for name in ("gspi", "gspi-paper"):
        get_planner(name).plan(sc)
    return time.process_time() - c0


def check(name: str, params: dict, sc) -> bool:
    """Is the plan the same as the former Python passes' (every task and predicted latency)?"""
    from splitinfer.planners import get_planner
    from splitinfer.testing.gspi_oracle import reference_gspi

    planner = get_planner(name, **params)
    fast = planner.plan(sc)
    plans, info = reference_gspi(sc, planner)
    return (len(fast.tasks) == len(plans) and all(fast.tasks[t] == p for t, p in plans.items())
            and fast.info == info)


def bench_scaling(sizes: list[int], repeats: int) -> tuple[list[dict], list[tuple]]:
    """Issue 16's row: ``gspi`` and ``gspi-paper`` at 16 Mbps, planning CPU."""
    from splitinfer.experiments.shi2021 import paper_scenario

    rows, targets = [], []
    print("\n| planner | N (16 Mbps) | slots | wall (s) | CPU (s) | mean t(m) (ms) |")
    print("|---|---|---|---|---|---|")
    for n in sizes:
        slots = max(1, round(n / DENSITY))
        sc = paper_scenario(n, 16e6, seed=0, slots=slots)
        for name in ("gspi", "gspi-paper"):
            r = {"planner": name, "bandwidth_bps": 16e6, "tasks": n, "slots": slots,
                 **time_one(name, {}, sc, 1 if n >= 100_000 else repeats)}
            rows.append(r)
            print(f"| {name} | {n} | {slots} | {r['wall_s']:.3f} | {r['cpu_s']:.3f} | "
                  f"{r['predicted_mean_ms']:.1f} |", flush=True)
            if n == 100_000:
                targets.append((f"GSPI ({name}), 10^5 tasks at 16 Mbps, planning CPU",
                                f"{r['cpu_s']:.2f} s", "<= 10 s", r["cpu_s"] <= 10.0))
    if targets:
        print("\n| issue 16 row | measured | target | met |\n|---|---|---|---|")
        for what, got, want, ok in targets:
            print(f"| {what} | {got} | {want} | {'yes' if ok else 'NO'} |")
    return rows, targets


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,300,1000,3000,10000")
    ap.add_argument("--bandwidths", default="4e6,16e6")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--paper-max", type=int, default=10000)
    ap.add_argument("--scaling", default="10000,100000",
                    help="sizes of issue 16's row (empty: skip it)")
    ap.add_argument("--check", action="store_true",
                    help="compare offline plans with the former Python passes")
    ap.add_argument("--check-max", type=int, default=3000)
    ap.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    args = ap.parse_args(argv)
    with printed_into_doc("bench_gspi", not args.no_doc):
        _run(args)


def _run(args: argparse.Namespace) -> None:
    from splitinfer.experiments.shi2021 import paper_scenario

    load_before = os.getloadavg()[0]
    print(f"1-min load average before: {load_before:.2f}\n")
    warm = warm_up()
    print(f"warm-up (first offline plans of the process: load or compile the kernels): "
          f"{warm:.2f} s CPU\n")
    sizes = [int(s) for s in args.sizes.split(",")]
    rows, checks = [], []
    print("| B (Mbps) | N | slots | planner | wall (s) | CPU (s) | mean t(m) (ms) |")
    print("|---|---|---|---|---|---|---|")
    for bw in (float(b) for b in args.bandwidths.split(",")):
        for n in sizes:
            slots = max(1, round(n / DENSITY))
            sc = paper_scenario(n, bw, seed=0, slots=slots)
            for name, params in PLANNERS:
                if params.get("wait") == "paper" and n > args.paper_max:
                    continue
                reps = 1 if n >= 10000 else args.repeats
                r = {"bandwidth_bps": bw, "tasks": n, "slots": slots,
                     "planner": label(name, params), **time_one(name, params, sc, reps)}
                rows.append(r)
                print(f"| {bw / 1e6:g} | {n} | {slots} | {r['planner']} | {r['wall_s']:.3f} | "
                      f"{r['cpu_s']:.3f} | {r['predicted_mean_ms']:.1f} |", flush=True)
                if args.check and n <= args.check_max and name == "gspi":
                    checks.append({"bandwidth_bps": bw, "tasks": n, "planner": r["planner"],
                                   "same_as_oracle": check(name, params, sc)})
    scaling, targets = [], []
    if args.scaling.strip():
        scaling, targets = bench_scaling([int(s) for s in args.scaling.split(",")], args.repeats)
    if checks:
        same = sum(c["same_as_oracle"] for c in checks)
        print(f"\n--check: {same} of {len(checks)} offline plans (N <= {args.check_max}) equal "
              "the former Python passes' (every task's cut and server, every predicted latency)")
    RESULTS.mkdir(exist_ok=True)
    meta = run_meta(density_tasks_per_slot=DENSITY, warm_up_cpu_s=warm, loadavg_before=load_before)
    (RESULTS / "gspi.json").write_text(json.dumps(
        {"meta": meta, "rows": rows, "scaling": scaling, "checks": checks,
         "targets": [{"what": w, "measured": g, "target": t, "met": ok}
                     for w, g, t, ok in targets]}, indent=1))
    print_machine(meta)
    if checks and not all(c["same_as_oracle"] for c in checks):
        raise SystemExit("some offline plans differ from the former Python passes")


if __name__ == "__main__":
    main()
