"""Check at full size: the compiled engine against the reference engine (issue 16's done-when).

Two parts, both failing the script (exit status 1) on any difference above 1e-9 s:

* ``--workloads`` random stage-graph workloads (:func:`splitinfer.testing.oracle_engine.random_workload`:
  slots 1/2/unlimited, pools, priorities, releases, zero durations, pure delays, forks and joins,
  ties), each run offline and online on both engines: every stage's ready, start and end time,
  every finish, the finishing order and the event count must agree;
* every shipped scenario with every registered planner that applies to it
  (:func:`splitinfer.testing.oracle_engine.max_difference`: ``simulate`` or ``simulate_online``
  against the reference engine on the same decisions). The exact yardsticks (``exact=True`` in
  the registry: CP-SAT, brute force) run only on scenarios of at most ``--exact-max-tasks``
  tasks; larger ones are listed as skipped.

It is a check, not a timing: it prints what it compared and how long that took, writes
``benchmarks/results/sim_oracle.json`` and, at its full count (500 workloads, every scenario),
a summary into the ``bench_sim_oracle`` block of ``docs/benchmarks.md``; ``--doc-from FILE``
writes that block from an earlier run's JSON file. Usage::

    python benchmarks/bench_sim_oracle.py [--workloads 500] [--scenarios all] [--exact-max-tasks 8] [--pair-timeout 120]
    python benchmarks/bench_sim_oracle.py --doc-from benchmarks/results/sim_oracle.json
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def check_workloads(count: int) -> tuple[int, list[str]]:
    """Compare both engines on ``count`` random workloads, offline and online."""
    import numpy as np

    from splitinfer.sim.engine import Engine
    from splitinfer.testing.oracle_engine import compare_engines

    bad = []
    for seed in range(count):
        for online in (False, True):
            new, ref = compare_engines(Engine, seed, online)
            where = f"workload {seed} ({'online' if online else 'offline'})"
            ok = new.finish.keys() == ref.finish.keys() and new.events == ref.events and \
                new.finish_order == ref.finish_order
            for tid in ref.finish if ok else ():
                ok = ok and math.isclose(new.finish[tid], ref.finish[tid], abs_tol=1e-9)
                for name in ("ready", "start", "end"):
                    x, y = getattr(new, name)[tid], getattr(ref, name)[tid]
                    ok = ok and len(x) == len(y) and bool(
                        np.allclose(x, y, rtol=0, atol=1e-9, equal_nan=True))
            if not ok:
                bad.append(where)
    return 2 * count, bad


class _OverTime(Exception):
    pass


def _alarm(signum, frame):  # noqa: ARG001 - the signal handler's signature
    raise _OverTime


def check_shipped(names: list[str], exact_max: int, pair_timeout: float = 0.0) -> list[dict]:
    """Every shipped scenario x every applicable planner: the largest difference in seconds.

    With ``pair_timeout`` > 0 (and ``SIGALRM``, i.e. not on Windows), a pair whose planning and
    two simulations take longer is listed as skipped: the paper-literal presets search spaces
    that grow with the input (``mw-paper`` on a 224 x 224 SqueezeNet tries every grid up to
    every tile of the fused layer: 5.3e7 path schedules, about a minute; on a 416 x 416 input
    it does not apply), and their plans are simulated by the same engine as everyone's."""
    import signal

    from splitinfer.errors import NotApplicableError
    from splitinfer.planners import get_planner, list_planners, planner_info
    from splitinfer.system import load_scenario
    from splitinfer.testing.oracle_engine import max_difference

    rows = []
    for name in names:
        sc = load_scenario(name)
        for planner in list_planners():
            row = {"scenario": name, "tasks": len(sc.tasks), "planner": planner}
            if planner_info(planner).exact and len(sc.tasks) > exact_max:
                rows.append(row | {"status": f"skipped (exact yardstick, {len(sc.tasks)} tasks)"})
                continue
            t0 = time.perf_counter()
            timed = pair_timeout > 0 and hasattr(signal, "SIGALRM")
            if timed:
                old = signal.signal(signal.SIGALRM, _alarm)
                signal.setitimer(signal.ITIMER_REAL, pair_timeout)
            try:
                diff = max_difference(sc, get_planner(planner))
            except NotApplicableError:
                rows.append(row | {"status": "not applicable"})
                continue
            except _OverTime:
                rows.append(row | {"status": f"skipped (over {pair_timeout:.0f} s)"})
                print(f"  {name} ({len(sc.tasks)} tasks) x {planner}: skipped, over "
                      f"{pair_timeout:.0f} s", flush=True)
                continue
            except Exception as exc:  # noqa: BLE001 - a planner's fault: listed, the run goes on
                msg = " ".join(f"{type(exc).__name__}: {exc}".split())
                rows.append(row | {"status": "FAILED", "error": msg})
                print(f"  {name} ({len(sc.tasks)} tasks) x {planner}: FAILED: {msg}", flush=True)
                continue
            finally:
                if timed:
                    signal.setitimer(signal.ITIMER_REAL, 0.0)
                    signal.signal(signal.SIGALRM, old)
            rows.append(row | {"status": "ok" if diff <= 1e-9 else "DIFFERENT",
                               "max_diff_s": diff, "seconds": time.perf_counter() - t0})
            print(f"  {name} ({len(sc.tasks)} tasks) x {planner}: max difference {diff:.1e} s",
                  flush=True)
    return rows


def summary(data: dict) -> str:
    """The markdown block of a run's JSON file: what was compared and what differed."""
    rows = data["shipped"]
    compared = [r for r in rows if "max_diff_s" in r]
    different = [r for r in compared if r["status"] != "ok"]
    failed = [r for r in rows if r["status"] == "FAILED"]
    skipped = [r for r in rows if r["status"].startswith("skipped")]
    worst = max((r["max_diff_s"] for r in compared), default=0.0)
    lines = [
        "| check | compared | different | largest difference |",
        "|---|---:|---:|---:|",
        f"| random workloads, offline and online (ready, start, end of every stage; finish "
        f"order; events) | {data['workload_runs']} runs | {len(data['workloads_different'])} | "
        "<= 1e-9 s |" if not data["workloads_different"] else
        f"| random workloads | {data['workload_runs']} runs | "
        f"{len(data['workloads_different'])} | > 1e-9 s |",
        f"| shipped scenarios x applicable planners ({len({r['scenario'] for r in rows})} "
        f"scenarios) | {len(compared)} pairs | {len(different)} | {worst:.1e} s |",
        "",
        f"{sum(r['status'] == 'not applicable' for r in rows)} (scenario, planner) pairs do not "
        f"apply; {sum('exact' in r['status'] for r in skipped)} exact yardsticks skipped on "
        f"scenarios above {data.get('exact_max_tasks', 8)} tasks; "
        f"{sum('over' in r['status'] for r in skipped)} pairs skipped for taking over "
        f"{data.get('pair_timeout_s', 0):.0f} s"
        + "".join(f"{': ' if i == 0 else ', '}{r['scenario']} x {r['planner']}"
                  for i, r in enumerate(r for r in skipped if "over" in r["status"]))
        + f". Time: {data.get('seconds', float('nan')):.0f} s"
        f" ({data.get('machine', '?')}, load average {data.get('load_before', '?')} before, "
        f"{data.get('load_after', '?')} after)."]
    for r in different:
        lines.append(f"DIFFERENT: {r['scenario']} x {r['planner']}: {r['max_diff_s']:.3g} s")
    for r in failed:
        lines.append(f"FAILED (the planner, before any comparison): {r['scenario']} x "
                     f"{r['planner']}: {r['error']}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run both parts; return 0 when everything agreed."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workloads", type=int, default=500)
    ap.add_argument("--scenarios", default="all", help="comma-separated shipped names, or all")
    ap.add_argument("--exact-max-tasks", type=int, default=8)
    ap.add_argument("--pair-timeout", type=float, default=120.0,
                    help="seconds per (scenario, planner) pair before it is listed as skipped "
                         "(0: none)")
    ap.add_argument("--out", type=Path, default=RESULTS / "sim_oracle.json")
    ap.add_argument("--doc-from", type=Path, default=None,
                    help="only write docs/benchmarks.md's block from this run's JSON file")
    args = ap.parse_args(argv)
    from _common import write_doc_block

    if args.doc_from is not None:
        write_doc_block("bench_sim_oracle", summary(json.loads(args.doc_from.read_text())))
        return 0
    import os

    from splitinfer.machine import cpu_model

    load_before = [round(x, 2) for x in os.getloadavg()]

    from splitinfer.data import list_shipped_scenarios

    t0 = time.perf_counter()
    runs, bad = check_workloads(args.workloads)
    t1 = time.perf_counter()
    print(f"random workloads: {runs} runs ({args.workloads} workloads, offline and online), "
          f"{runs - len(bad)} identical, {len(bad)} different; {t1 - t0:.1f} s")
    for where in bad:
        print(f"  DIFFERENT: {where}")
    names = list_shipped_scenarios() if args.scenarios == "all" else args.scenarios.split(",")
    rows = check_shipped(names, args.exact_max_tasks, args.pair_timeout)
    t2 = time.perf_counter()
    compared = [r for r in rows if "max_diff_s" in r]
    different = [r for r in compared if r["status"] != "ok"]
    print(f"shipped scenarios: {len(names)} scenarios, {len(compared)} (scenario, planner) pairs "
          f"compared, {len(different)} different, "
          f"{sum(r['status'] == 'not applicable' for r in rows)} not applicable, "
          f"{sum(r['status'].startswith('skipped') for r in rows)} skipped; {t2 - t1:.1f} s")
    for r in different:
        print(f"  DIFFERENT: {r['scenario']} x {r['planner']}: {r['max_diff_s']:.3g} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    data = {"benchmark": "sim_oracle", "workload_runs": runs, "workloads_different": bad,
            "shipped": rows, "exact_max_tasks": args.exact_max_tasks,
            "pair_timeout_s": args.pair_timeout, "seconds": t2 - t0,
            "machine": f"{cpu_model()}, {os.cpu_count()} CPUs", "load_before": load_before,
            "load_after": [round(x, 2) for x in os.getloadavg()]}
    args.out.write_text(json.dumps(data, indent=1, default=float))
    if args.workloads >= 500 and args.scenarios == "all":  # the full count: into the docs
        write_doc_block("bench_sim_oracle", summary(data))
    failed = [r for r in rows if r["status"] == "FAILED"]
    for r in failed:
        print(f"  FAILED: {r['scenario']} x {r['planner']}: {r['error']}")
    return 1 if bad or different or failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
