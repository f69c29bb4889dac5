"""Benchmark: DMCJIA (seed 004) planning time and quality as the number of edge nodes D grows.

Two parts, both on :func:`splitinfer.experiments.zheng2021.paper_scenario` (ResNet34 t1/t2/t3,
node speeds 5-9 GMAC/s, a 400 GMAC/s cloud, lambda = 1/s, one task per node: the planners decide
per node, so the workload size does not matter):

1. The share subproblem P4 (eq. 3-11) for the cut vector "everything from the raw input" at D
   nodes: the paper's augmented Lagrangian (:mod:`splitinfer.planners.zheng2021.lagrangian`, SciPy TNC
   inner solves) against the exact KKT solution (:mod:`splitinfer.planners.zheng2021.shares`):
   seconds per solve (median of ``--repeats``) and the relative difference of the objective.
2. Whole planners: ``dmcjia`` with the paper's K = 50, N = 32 (KKT inner everywhere; AL inner
   up to ``--al-max`` nodes), ``dmcjia-exact`` (branch and bound; nodes explored) and ``greedy``:
   wall and CPU seconds, P1 and the gap to the proven optimum.

Wall clock :func:`time.perf_counter`, CPU :func:`time.process_time`. Prints markdown tables and
writes ``benchmarks/results/dmcjia.json``.

Usage::

    python benchmarks/bench_dmcjia.py [--sizes 5,10,15,20] [--repeats 3] [--al-max 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from _common import print_machine, run_meta

RESULTS = Path(__file__).resolve().parent / "results"


def timed(fn, *args, **kwargs):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - w0, time.process_time() - c0


def share_rows(sizes, repeats):
    import numpy as np

    from splitinfer.experiments.zheng2021 import paper_scenario
    from splitinfer.planners.zheng2021.lagrangian import augmented_lagrangian_shares
    from splitinfer.planners.zheng2021.problem import DmcjiaProblem
    from splitinfer.planners.zheng2021.shares import optimal_shares

    rows = []
    print("| D | AL (s/solve) | KKT (s/solve) | AL outer iterations | (AL - KKT) / KKT |")
    print("|---|---|---|---|---|")
    for d in sizes:
        sc = paper_scenario(nodes=d, edge_gmacs=(5.0, 9.0), horizon=1.0, seed=0)
        pb = DmcjiaProblem.from_scenario(sc)
        gamma = [0] * pb.size
        _, w, _ = pb.gather(gamma)
        al_t, kkt_t = [], []
        for _ in range(repeats):
            al, t, _ = timed(augmented_lagrangian_shares, pb.lam, w, pb.cloud_speed)
            al_t.append(t)
            ex, t, _ = timed(optimal_shares, pb.lam, w, pb.cloud_speed)
            kkt_t.append(t)
        rel = float((al.value - ex.value) / ex.value) if np.isfinite(ex.value) else float("nan")
        r = {"part": "shares", "nodes": d, "al_s": statistics.median(al_t),
             "kkt_s": statistics.median(kkt_t), "al_outer": al.outer_iterations,
             "relative_difference": rel}
        rows.append(r)
        print(f"| {d} | {r['al_s']:.4f} | {r['kkt_s']:.4f} | {al.outer_iterations} | {rel:.1e} |",
              flush=True)
    return rows


def planner_rows(sizes, al_max):
    from splitinfer.experiments.zheng2021 import paper_scenario
    from splitinfer.planners import get_planner

    rows = []
    print("\n| D | planner | wall (s) | CPU (s) | P1 (s) | gap to optimum | notes |")
    print("|---|---|---|---|---|---|---|")
    for d in sizes:
        sc = paper_scenario(nodes=d, edge_gmacs=(5.0, 9.0), horizon=1.0, seed=0)
        sc = sc.with_tasks([next(t for t in sc.tasks if t.device == dev) for dev in sc.devices
                            if any(t.device == dev for t in sc.tasks)])
        opt, w, c = timed(get_planner("dmcjia-exact").plan, sc)
        best = opt.info["objective_p1"]
        todo = [("dmcjia-exact", {}, opt, w, c)]
        for name, params in [("dmcjia", {"inner": "kkt"}), ("dmcjia", {"inner": "al"}),
                             ("greedy", {})]:
            if params.get("inner") == "al" and d > al_max:
                continue
            plan, w, c = timed(get_planner(name, **params).plan, sc)
            todo.append((name, params, plan, w, c))
        for name, params, plan, w, c in todo:
            p1 = plan.info["objective_p1"]
            notes = (f"B&B nodes {plan.info['bb_nodes']}, optimal {plan.info['optimal']}"
                     if name == "dmcjia-exact" else
                     f"{plan.info['evaluations']} cut vectors" if name == "dmcjia" else "")
            label = name + (f" ({params['inner']})" if params else "")
            r = {"part": "planners", "nodes": d, "planner": label, "wall_s": w, "cpu_s": c,
                 "p1_s": p1, "gap": p1 / best - 1, "notes": notes}
            rows.append(r)
            print(f"| {d} | {label} | {w:.2f} | {c:.2f} | {p1:.4f} | {100 * r['gap']:+.2f}% | "
                  f"{notes} |", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="5,10,15,20")
    ap.add_argument("--share-sizes", default="5,10,20,50")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--al-max", type=int, default=10)
    args = ap.parse_args()
    rows = share_rows([int(s) for s in args.share_sizes.split(",")], args.repeats)
    rows += planner_rows([int(s) for s in args.sizes.split(",")], args.al_max)
    RESULTS.mkdir(exist_ok=True)
    meta = run_meta()
    (RESULTS / "dmcjia.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    print_machine(meta)


if __name__ == "__main__":
    main()
