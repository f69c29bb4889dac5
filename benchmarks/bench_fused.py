"""Benchmark: fused-layer planning (seed 001) on the Table I scenarios.

Measures, with :func:`time.perf_counter` (wall) and :func:`time.process_time` (CPU), the planning
time of ``nfl``, ``mw`` with 2x2 grids, ``fl-bf`` with 2x2 grids (the paper's BF(2x2)) and ``mw``
with k x k grids (default cap ``max_paths=256``) on AlexNet, SqueezeNet 1.0 and Tiny YOLOv2 at
1.1 MB/s; the size of the brute-force search (the full enumeration ``sum_tau 24 (tau+1)^4``
against the partial schedules the dominance-pruned programme keeps); and whether the uncapped
MW(k x k) (Alg. 1 line 3: every ``k`` up to ``S_tau``) picks the same plan as the capped one on
AlexNet at 1.1 and 3 MB/s and SqueezeNet at 3 MB/s (``--no-uncapped`` skips that slow check).

Prints a markdown table and writes ``benchmarks/results/fused.json``.

Usage::

    python benchmarks/bench_fused.py [--repeats 3] [--no-uncapped]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
MODELS = ("alexnet", "squeezenet1_0", "tiny-yolov2")
PLANNERS = (("NFL", "nfl", {}), ("MW(2x2)", "mw", {"grids": "2x2"}),
            ("BF(2x2)", "fl-bf", {"grids": "2x2", "with_chain": False}),
            ("MW(kxk)", "mw", {}))


def _timed(fn, repeats: int):
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return out, min(walls), statistics.median(walls), min(cpus)


def _bf_states(sc) -> tuple[int, int]:
    """Full enumeration size and partial schedules kept by BF(2x2) over every tau."""
    import splitinfer.planners.li2022.brute_force as bf
    from splitinfer.planners import get_planner

    kept = []
    original = bf.pareto_front

    def counting(x, block=1024):
        idx = original(x, block)
        kept.append(idx.size)
        return idx

    bf.pareto_front = counting
    try:
        get_planner("fl-bf", grids="2x2", with_chain=False).plan(sc)
    finally:
        bf.pareto_front = original
    from splitinfer.planners.li2022.timing import geometry_for

    geom = geometry_for(sc, sc.tasks[0].model)
    full = sum(24 * (tau + 1) ** 4 for tau in range(1, geom.num_units + 1)
               if min(geom.fused_size(tau)) >= 2)
    return full, sum(kept)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-uncapped", action="store_true")
    args = ap.parse_args()

    from splitinfer.planners import get_planner
    from splitinfer.planners.li2022.scenarios import li2022_scenario

    rows = []
    for model in MODELS:
        sc = li2022_scenario(model, rate="1.1MB/s")
        for label, name, params in PLANNERS:
            reps = args.repeats if label != "MW(kxk)" else 1
            plan, wall, med, cpu = _timed(lambda n=name, p=params, s=sc: get_planner(n, **p).plan(s),
                                          reps)
            rows.append({"model": model, "planner": label, "wall_s": wall, "median_wall_s": med,
                         "cpu_s": cpu, "latency_ms": plan.info["predicted_latency"]["t0"] * 1e3})
        full, kept = _bf_states(sc)
        rows.append({"model": model, "planner": "BF(2x2) search", "enumerated": full,
                     "kept_states": kept})
    checks = []
    if not args.no_uncapped:
        for model, rate in (("alexnet", "1.1MB/s"), ("alexnet", "3MB/s"),
                            ("squeezenet1_0", "3MB/s")):
            sc = li2022_scenario(model, rate=rate)
            capped = get_planner("mw").plan(sc)
            (full, wall, _, cpu) = _timed(lambda s=sc: get_planner("mw", max_paths=None).plan(s), 1)
            checks.append({"model": model, "rate": rate,
                           "same_plan": full.tasks == capped.tasks,
                           "capped_ms": capped.info["predicted_latency"]["t0"] * 1e3,
                           "uncapped_ms": full.info["predicted_latency"]["t0"] * 1e3,
                           "uncapped_wall_s": wall, "uncapped_cpu_s": cpu,
                           "grid": full.info["strategies"]["t0"]["grid"]})
    print("| model | planner | wall s (best) | CPU s | latency ms (simulated) |")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        if "wall_s" in r:
            print(f"| {r['model']} | {r['planner']} | {r['wall_s']:.3f} | {r['cpu_s']:.3f} | "
                  f"{r['latency_ms']:.1f} |")
    print("\n| model | BF(2x2) full enumeration | partial schedules kept |")
    print("|---|---:|---:|")
    for r in rows:
        if "enumerated" in r:
            print(f"| {r['model']} | {r['enumerated']:,} | {r['kept_states']:,} |")
    if checks:
        print("\n| model | rate | uncapped MW(kxk) = capped | grid | uncapped wall s | CPU s |")
        print("|---|---|---|---|---:|---:|")
        for c in checks:
            print(f"| {c['model']} | {c['rate']} | {c['same_plan']} | {c['grid']} | "
                  f"{c['uncapped_wall_s']:.1f} | {c['uncapped_cpu_s']:.1f} |")
    RESULTS.mkdir(exist_ok=True)
    meta = {"machine": platform.processor() or platform.machine(),
            "python": platform.python_version(), "date": time.strftime("%Y-%m-%d")}
    (RESULTS / "fused.json").write_text(json.dumps({"meta": meta, "planning": rows,
                                                    "uncapped": checks}, indent=1))


if __name__ == "__main__":
    main()
