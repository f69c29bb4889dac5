"""Benchmark: each heuristic's gap to the exact optimum as the instance grows (issue 17 item 9).

Four yardsticks, each the proven optimum of its paper's problem:

* DMCJIA (Zheng 2021): ``dmcjia`` (improved preset), ``dmcjia-paper`` (Alg. 1 as written),
  ``greedy`` and the load-aware ``zheng-neurosurgeon`` against ``dmcjia-exact`` (branch and
  bound, P1 of eq. 3-7) on :func:`splitinfer.experiments.zheng2021.paper_scenario` with D edge
  nodes (5-9 GMAC/s, one task type each). The gap is in P1; a planner that finds no cut vector
  with stable queues (``dmcjia-paper``'s random population under C3 at D = 100) is counted
  as such. The GA's inner share problem is
  solved exactly (``inner="kkt"``) here: the paper's augmented Lagrangian lands within 1e-10 of
  it (``benchmarks/bench_dmcjia.py``) at five to ten times the cost, which would put D = 100
  out of reach.
* JPS (Duan & Wu 2021): ``jps``, ``jps-paper`` and ``po`` against ``jps-bf`` (every multiset of
  candidate cuts in Johnson's order: the optimal makespan over chain cuts) on the shipped
  ``duan2021-*`` models at the paper's 3G / 4G / Wi-Fi rates with n identical jobs.
* DeePar (Huang et al. 2019): ``deepar``, ``deepar-paper`` and ``deepar-exact`` (the optimum
  of the static assignment problem (20)-(25), which charges every task as if all ran at once,
  so its simulated latency is no optimum) against ``exact`` (CP-SAT: the optimum of the
  simulated mean latency over chain plans at the caps, which DeePar's plans are in all but
  form) on the ``huang2019`` conformance family grown to n tasks arriving together. A DeePar
  plan that lowers a rate below its cap lies outside that space, so a gap can be negative.
* GSPI (Shi et al. 2021): ``gspi``, ``gspi-paper``, ``gspi-online`` against ``exact`` (CP-SAT
  over every chain plan and service order, deterministic work limit) on the ``shi2021``
  family grown to n tasks; where CP-SAT does not prove optimality within its work limit the
  row says so (the gap is then to its best plan, not to a proven optimum).

Gaps are ``objective / optimum - 1`` (mean and worst over the seeds), deterministic: every
planner and yardstick runs under fixed seeds and CP-SAT under a deterministic work limit; only
the seconds in the last line depend on the machine. Prints the tables, writes
``benchmarks/results/gap.json`` and the block between ``<!-- bench_gap:begin -->`` and
``<!-- bench_gap:end -->`` in ``docs/benchmarks.md`` (``--no-doc``: not).

Usage::

    python benchmarks/bench_gap.py [--dmcjia-sizes 5,10,20,40,100] [--jps-sizes 2,4,8,16,32]
        [--deepar-sizes 2,4,6,8] [--gspi-sizes 2,4,6,8] [--seeds 3] [--no-doc]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path
from typing import Any

from _common import print_machine, run_meta, write_doc_block

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DOC = HERE.parent / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench_gap:begin -->", "<!-- bench_gap:end -->"

#: exact's limits: CP-SAT's deterministic time, so the gaps do not depend on the machine
EXACT = {"work_limit": 1.0, "time_limit_s": 600.0}


def _objective(sc, plan) -> float:
    from splitinfer.sim import simulate

    return simulate(sc, plan).objective(sc.objective)


def _row(family: str, size: int, planner: str, gaps: list[float], proven: list[bool]
         ) -> dict[str, Any]:
    return {"family": family, "size": size, "planner": planner, "seeds": len(gaps),
            "gap_mean": statistics.fmean(gaps), "gap_max": max(gaps),
            "unstable": sum(not math.isfinite(g) for g in gaps), "proven": sum(proven)}


def dmcjia_rows(sizes: list[int], seeds: int) -> list[dict[str, Any]]:
    """P1 gaps of DMCJIA's planners to ``dmcjia-exact`` at D edge nodes."""
    from splitinfer.errors import NotApplicableError
    from splitinfer.experiments.zheng2021 import paper_scenario
    from splitinfer.planners import get_planner

    planners = [("dmcjia", {"inner": "kkt"}), ("dmcjia-paper", {"inner": "kkt"}),
                ("greedy", {}), ("zheng-neurosurgeon", {})]
    rows = []
    for d in sizes:
        gaps: dict[str, list[float]] = {p: [] for p, _ in planners}
        proven = []
        for seed in range(seeds):
            sc = paper_scenario(nodes=d, edge_gmacs=(5.0, 9.0), horizon=1.0, seed=seed)
            sc = sc.with_tasks([next(t for t in sc.tasks if t.device == dev)
                                for dev in sc.devices if any(t.device == dev for t in sc.tasks)])
            opt = get_planner("dmcjia-exact").plan(sc).info
            proven.append(bool(opt["optimal"]))
            for name, params in planners:
                try:
                    p1 = get_planner(name, **params).plan(sc).info["objective_p1"]
                except NotApplicableError:  # no cut vector with stable queues found
                    p1 = math.inf
                gaps[name].append(p1 / opt["objective_p1"] - 1)
        rows += [_row("zheng2021", d, p, gaps[p], proven) for p, _ in planners]
    return rows


def jps_rows(sizes: list[int]) -> list[dict[str, Any]]:
    """Makespan gaps of ``jps``, ``jps-paper`` and ``po`` to ``jps-bf``, over 4 models x 3 rates."""
    from splitinfer.experiments.duan2021 import BANDWIDTHS, duan_scenario
    from splitinfer.planners import get_planner

    planners = ["jps", "jps-paper", "po"]
    rows = []
    for n in sizes:
        gaps: dict[str, list[float]] = {p: [] for p in planners}
        proven = []
        for model in ("alexnet", "googlenet", "mobilenet_v2", "resnet18"):
            for rate in BANDWIDTHS.values():
                sc = duan_scenario(model, n, rate)
                bf = get_planner("jps-bf", dag=False).plan(sc)
                best = _objective(sc, bf)
                proven.append(bool(bf.info["optimal"]))
                for name in planners:
                    gaps[name].append(_objective(sc, get_planner(name).plan(sc)) / best - 1)
        rows += [_row("duan2021", n, p, gaps[p], proven) for p in planners]
    return rows


def _grown(make_dict, n: int, seed: int, together: bool):
    from splitinfer.system.load import scenario_from_dict

    d = make_dict(seed, max_tasks=max(n, 2))
    tasks = d["workload"]["tasks"]
    k = 1000 * seed
    while len(tasks) < n:  # draws with fewer tasks: the next seed of the same stream
        k += 1
        d = make_dict(k, max_tasks=n)
        tasks = d["workload"]["tasks"]
    d["workload"]["tasks"] = tasks[:n]
    if together:
        for t in d["workload"]["tasks"]:
            t["arrival"] = 0.0
    return scenario_from_dict(d, source=f"bench_gap({seed}, n={n})")


def deepar_rows(sizes: list[int], seeds: int) -> list[dict[str, Any]]:
    """Mean-latency gaps of DeePar's planners to ``exact`` with n tasks arriving together."""
    from splitinfer.planners import get_planner
    from splitinfer.testing.family_huang2019 import small_huang2019_dict

    planners = ["deepar", "deepar-paper", "deepar-exact"]
    rows = []
    for n in sizes:
        gaps: dict[str, list[float]] = {p: [] for p in planners}
        proven = []
        for seed in range(seeds):
            sc = _grown(small_huang2019_dict, n, seed, together=True)
            ex = get_planner("exact", max_tasks=max(8, n), **EXACT).plan(sc)
            best = ex.info["objective"]
            proven.append(bool(ex.info["optimal"]))
            for name in planners:
                gaps[name].append(_objective(sc, get_planner(name).plan(sc)) / best - 1)
        rows += [_row("huang2019", n, p, gaps[p], proven) for p in planners]
    return rows


def gspi_rows(sizes: list[int], seeds: int) -> list[dict[str, Any]]:
    """Mean-latency gaps of GSPI's planners to ``exact`` (CP-SAT) with n tasks."""
    from splitinfer.planners import get_planner
    from splitinfer.sim import simulate_online
    from splitinfer.testing.family_shi2021 import shi2021_dict

    planners = ["gspi", "gspi-paper", "gspi-online"]
    rows = []
    for n in sizes:
        gaps: dict[str, list[float]] = {p: [] for p in planners}
        proven = []
        for seed in range(seeds):
            sc = _grown(shi2021_dict, n, seed, together=False)
            ex = get_planner("exact", max_tasks=max(8, n), **EXACT).plan(sc)
            best = ex.info["objective"]
            proven.append(bool(ex.info["optimal"]))
            for name in planners:
                planner = get_planner(name)
                if getattr(planner, "online", False):
                    _, res = simulate_online(sc, planner)
                    value = res.objective(sc.objective)
                else:
                    value = _objective(sc, planner.plan(sc))
                gaps[name].append(value / best - 1)
        rows += [_row("shi2021", n, p, gaps[p], proven) for p in planners]
    return rows


TITLES = {
    "zheng2021": ("DMCJIA (Zheng 2021) against `dmcjia-exact`, P1 at D edge nodes", "D"),
    "duan2021": ("JPS (Duan & Wu 2021) against `jps-bf`, makespan of n jobs "
                 "(4 models x 3G/4G/Wi-Fi; BF is proven only for AlexNet, the one model "
                 "without multi-path regions: on the others it is the optimum over "
                 "single-tensor cuts and `jps`'s Alg. 3 cuts may go below it)", "n"),
    "huang2019": ("DeePar (Huang et al. 2019) against `exact` (CP-SAT), mean latency of n "
                  "tasks arriving together (`deepar-exact` solves the static problem (20)-(25), "
                  "not this one)", "n"),
    "shi2021": ("GSPI (Shi et al. 2021) against `exact` (CP-SAT), mean latency of n tasks", "n"),
}


def _cell(r: dict[str, Any]) -> str:
    if not math.isfinite(r["gap_max"]):  # an unstable plan (P1 = inf) or none found
        return f"no stable plan on {r['unstable']} of {r['seeds']}"
    return f"{100 * r['gap_mean']:+.2f} % ({100 * r['gap_max']:+.2f} %)"


def report_lines(rows: list[dict[str, Any]], meta: dict[str, Any]) -> list[str]:
    """The markdown tables (printed and written into docs/benchmarks.md)."""
    lines = []
    for fam, (title, size) in TITLES.items():
        mine = [r for r in rows if r["family"] == fam]
        if not mine:
            continue
        planners = list(dict.fromkeys(r["planner"] for r in mine))
        lines += [f"**{title}.** Gap = objective / optimum - 1, mean (worst) over the instances; "
                  "'proven' counts the instances whose yardstick proved optimality.", "",
                  f"| {size} | instances | proven | " + " | ".join(f"`{p}`" for p in planners)
                  + " |", "|---:|---:|---:|" + "---:|" * len(planners)]
        for s in dict.fromkeys(r["size"] for r in mine):
            at = {r["planner"]: r for r in mine if r["size"] == s}
            first = at[planners[0]]
            cells = [_cell(at[p]) for p in planners]
            lines.append(f"| {s} | {first['seeds']} | {first['proven']} | " + " | ".join(cells)
                         + " |")
        lines.append("")
    load = meta["loadavg_end"]
    lines.append(f"Run of {meta['date']} on {meta['machine']} ({meta['logical_cpus']} logical CPUs, "
                 f"load average at the end {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}), "
                 f"{meta['seconds']:.0f} s in all; the gaps do not depend on the machine.")
    return lines


def write_doc(lines: list[str]) -> bool:
    """Replace the marked block of docs/benchmarks.md; False if the markers are missing."""
    return write_doc_block("bench_gap", "\n".join(lines), DOC)


def _sizes(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dmcjia-sizes", default="5,10,20,40,100")
    ap.add_argument("--jps-sizes", default="2,4,8,16,32")
    ap.add_argument("--deepar-sizes", default="2,4,6,8")
    ap.add_argument("--gspi-sizes", default="2,4,6,8")
    ap.add_argument("--seeds", type=int, default=3, help="instances per size (DMCJIA: 1)")
    ap.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    rows = []
    for fam, run in [("zheng2021", lambda: dmcjia_rows(_sizes(args.dmcjia_sizes), 1)),
                     ("duan2021", lambda: jps_rows(_sizes(args.jps_sizes))),
                     ("huang2019", lambda: deepar_rows(_sizes(args.deepar_sizes), args.seeds)),
                     ("shi2021", lambda: gspi_rows(_sizes(args.gspi_sizes), args.seeds))]:
        t = time.perf_counter()
        rows += run()
        print(f"{fam}: {time.perf_counter() - t:.0f} s", flush=True)
    meta = run_meta(seconds=time.perf_counter() - t0)
    lines = report_lines(rows, meta)
    print("\n" + "\n".join(lines))
    print_machine(meta)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {"meta": meta, "rows": rows}
    (RESULTS / "gap.json").write_text(json.dumps(out, indent=1))
    if not args.no_doc and not write_doc(lines):
        print(f"note: no {BEGIN} block in {DOC}; not updated")
    return out


if __name__ == "__main__":
    main()
