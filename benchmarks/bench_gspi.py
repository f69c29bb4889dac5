"""Benchmark: planning time of the GSPI family (seed 000) as the number of tasks N grows.

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
* ``gspi`` with ``wait="paper"`` (eq. (7), a sum over the queue per evaluation) up to
  ``--paper-max`` tasks, to show the quadratic growth the incremental queue avoids.

Prints a markdown table and writes ``benchmarks/results/gspi.json``.

Usage::

    python benchmarks/bench_gspi.py [--sizes 100,300,1000,3000,10000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _common import print_machine, run_meta

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


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,300,1000,3000,10000")
    ap.add_argument("--bandwidths", default="4e6,16e6")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--paper-max", type=int, default=3000)
    args = ap.parse_args(argv)

    from splitinfer.experiments.shi2021 import paper_scenario

    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
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
    RESULTS.mkdir(exist_ok=True)
    meta = run_meta(density_tasks_per_slot=DENSITY)
    (RESULTS / "gspi.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    print_machine(meta)


if __name__ == "__main__":
    main()
