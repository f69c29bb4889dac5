"""Run every fidelity scenario with every planner listed for it and write the fidelity table.

Not a ``bench_*`` script (``run_all.py`` does not run it): ``make fidelity`` runs it on a quiet
machine. For each (scenario, planner) of :data:`splitinfer.runtime.fidelity.FIDELITY` it runs::

    splitinfer run fidelity-<key> --planner P --view original --compute shipped --verify \
        --out <work>/<scenario>/<P>

one at a time (each run needs the machine to itself), samples the one-minute load average every
second while the run goes on, and the CPU that processes other than the run's used meanwhile
(:func:`splitinfer.report.fidelity_table.other_cpus`), keeps a small copy of the run's ``run.json``
(:func:`splitinfer.report.fidelity_table.trim_run`) in ``docs/data/fidelity/`` and writes the
table into ``docs/runtime.md`` between its marker comments. Without ``--run`` it only rewrites
the table from the files already in ``docs/data/fidelity/``; ``--check`` exits 1 when the doc's
table is not what those files give.

Usage::

    python benchmarks/fidelity_table.py --run                  # every pair (about 20 minutes)
    python benchmarks/fidelity_table.py --run --compute measure  # profile in every run (longer)
    python benchmarks/fidelity_table.py --run --scenarios fidelity-li2022 --planners mw
    python benchmarks/fidelity_table.py                         # rewrite the table only
    python benchmarks/fidelity_table.py --check                 # the doc matches the data
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from splitinfer.machine import busy_cpu_seconds, children_cpu_seconds
from splitinfer.report.fidelity_table import (
    load_runs,
    other_cpus,
    render_table,
    run_file_name,
    trim_run,
    update_doc,
)
from splitinfer.runtime.fidelity import FIDELITY, fidelity_names

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "docs" / "data" / "fidelity"
DOC = ROOT / "docs" / "runtime.md"


def _splitinfer() -> list[str]:
    exe = Path(sys.executable).with_name("splitinfer")
    return [str(exe)] if exe.exists() else [shutil.which("splitinfer") or "splitinfer"]


def run_pair(scenario: str, planner: str, work: Path, timeout_s: float,
             compute: str = "shipped") -> tuple[dict | None, str]:
    """Run one pair with the CLI; return (trimmed run.json or None, a one-line status)."""
    out = work / scenario / planner
    out.mkdir(parents=True, exist_ok=True)
    argv = [*_splitinfer(), "run", scenario, "--planner", planner, "--view", "original",
            "--compute", compute, "--verify", "--out", str(out)]
    samples: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(1.0):
            samples.append(os.getloadavg()[0])

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    cpu0 = busy_cpu_seconds(), children_cpu_seconds()
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout_s:.0f} s"
    finally:
        done.set()
        sampler.join()
    took = time.perf_counter() - t0
    cpu1 = busy_cpu_seconds(), children_cpu_seconds()
    (out / "cli.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["(no output)"]
        return None, f"exit {proc.returncode} after {took:.0f} s: {tail[0]}"
    run = json.loads((out / "run.json").read_text())
    others = None
    if cpu0[0] is not None and cpu1[0] is not None:
        others = other_cpus(cpu1[0] - cpu0[0], cpu1[1] - cpu0[1], took)
    return trim_run(run, samples, others), f"ok in {took:.0f} s"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", action="store_true", help="run the pairs (else only rewrite)")
    ap.add_argument("--scenarios", nargs="*", default=None, help="fidelity scenarios (all)")
    ap.add_argument("--planners", nargs="*", default=None, help="only these planners")
    ap.add_argument("--work", type=Path, default=Path("fidelity-runs"),
                    help="where the full run directories go")
    ap.add_argument("--data", type=Path, default=DATA, help="trimmed run.json files")
    ap.add_argument("--doc", type=Path, default=DOC, help="document with the table markers")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    ap.add_argument("--compute", choices=("shipped", "measure"), default="shipped",
                    help="compute calibration of each run: the shipped cpu-1t profiles "
                         "(default; all pairs in about 20 min) or profile in every run "
                         "(about 3x longer)")
    ap.add_argument("--check", action="store_true", help="exit 1 if the doc's table is stale")
    args = ap.parse_args(argv)

    failed = 0
    if args.run:
        names = args.scenarios or fidelity_names()
        unknown = sorted(set(names) - set(FIDELITY))
        if unknown:
            print(f"error: unknown fidelity scenario(s) {unknown}; known: {fidelity_names()}",
                  file=sys.stderr)
            return 2
        args.data.mkdir(parents=True, exist_ok=True)
        t_all = time.perf_counter()
        for name in names:
            for planner in FIDELITY[name].planners:
                if args.planners and planner not in args.planners:
                    continue
                trimmed, status = run_pair(name, planner, args.work, args.timeout,
                                           args.compute)
                print(f"{name} {planner}: {status}", flush=True)
                path = args.data / run_file_name(name, planner)
                if trimmed is None:
                    failed += 1
                    path.unlink(missing_ok=True)   # never keep a stale run for a failed pair
                else:
                    path.write_text(json.dumps(trimmed, indent=1, default=float) + "\n")
        print(f"all runs: {time.perf_counter() - t_all:.0f} s, {failed} failed")

    table = render_table(load_runs(args.data))
    text = args.doc.read_text()
    new = update_doc(text, table)
    if args.check:
        if new != text:
            print(f"{args.doc}: the fidelity table is not what {args.data} gives; run "
                  "python benchmarks/fidelity_table.py", file=sys.stderr)
            return 1
        return 0
    if new != text:
        args.doc.write_text(new)
        print(f"table -> {args.doc}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
