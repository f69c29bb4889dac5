"""The mixed-feature conformance suite at scale (issue 17 item 10): many random mixed scenarios.

``tests/test_mixed_conformance.py`` runs 10 cases in ``make test``; this script runs ``--cases``
(default 150) cases of :func:`splitinfer.testing.mixed.mixed_cases` through
:func:`~splitinfer.testing.mixed.check_case`: every registered planner that declares itself
applicable must plan feasibly and deterministically, and a chain plan must not beat ``exact``'s
proven optimum. It prints one line per case with a finding, a summary table (per planner: cases
run, held to the bound, failures), writes ``benchmarks/results/mixed.json`` and exits non-zero
when any planner failed. The counts do not depend on the machine; the run's seconds do.

Usage::

    python benchmarks/bench_mixed.py [--cases 150] [--start 0]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

from _common import print_machine, run_meta

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    from splitinfer.testing.mixed import check_case, mixed_cases

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=150)
    ap.add_argument("--start", type=int, default=0)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    ran, held, failed = Counter(), Counter(), Counter()
    reports, unproven = [], 0
    for seed, features in mixed_cases(args.cases, args.start):
        r = check_case(seed, features)
        ran.update(r.checked + list(r.failures))
        held.update(r.bound_checked)
        failed.update(r.failures)
        unproven += r.exact_optimal is False
        for name, why in r.failures.items():
            print(f"case {seed} ({r.scenario}): {name}: {why}", flush=True)
        reports.append({"seed": seed, "scenario": r.scenario, "features": r.features,
                        "exact_optimal": r.exact_optimal, "bound": r.bound,
                        "checked": r.checked, "bound_checked": r.bound_checked,
                        "failures": r.failures})
    seconds = time.perf_counter() - t0
    print(f"\n{args.cases} mixed cases (seeds {args.start}..{args.start + args.cases - 1}); "
          f"exact unproven (a gap reported) on {unproven}; {seconds:.0f} s\n")
    print("| planner | cases run | held to exact's bound | failures |")
    print("|---|---:|---:|---:|")
    for name in sorted(ran):
        print(f"| {name} | {ran[name]} | {held[name]} | {failed[name]} |")
    meta = run_meta(seconds=seconds)
    print_machine(meta)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "mixed.json").write_text(json.dumps({"meta": meta, "cases": reports}, indent=1))
    return 1 if sum(failed.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
