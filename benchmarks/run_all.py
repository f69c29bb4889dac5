"""Run every ``benchmarks/bench_*.py`` in turn (``make bench``).

Each script runs as its own subprocess with this interpreter (the project's virtualenv when
started by ``make bench``), so one benchmark's imports, threads or memory do not affect the next.
Their output is shown as it comes and collected into ``benchmarks/results/run_all.md``; a failing
benchmark is reported and the others still run, and the exit status is non-zero at the end if
any failed.

Usage::

    python benchmarks/run_all.py [NAME ...]     # e.g. sim profile; default: all of them
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def discover(names: list[str] | None = None) -> list[Path]:
    """The benchmark scripts, sorted; only those named ``bench_<name>.py`` if ``names``."""
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        wanted = {n.removeprefix("bench_").removesuffix(".py") for n in names}
        unknown = wanted - {p.stem.removeprefix("bench_") for p in scripts}
        if unknown:
            raise SystemExit(f"unknown benchmark(s) {sorted(unknown)}; have "
                             f"{[p.stem.removeprefix('bench_') for p in scripts]}")
        scripts = [p for p in scripts if p.stem.removeprefix("bench_") in wanted]
    return scripts


def run_one(script: Path) -> tuple[int, float, str]:
    """Run one script, echoing its output; return (exit status, seconds, output)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(script)], cwd=HERE.parent,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        lines.append(line)
    status = proc.wait()
    return status, time.perf_counter() - t0, "".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; return the number that failed (0 when all passed)."""
    scripts = discover(list(sys.argv[1:] if argv is None else argv))
    report, failed = [], []
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        status, seconds, output = run_one(script)
        verdict = "ok" if status == 0 else f"FAILED (exit status {status})"
        print(f"--- {script.name}: {verdict} in {seconds:.1f} s", flush=True)
        report.append(f"## {script.name}: {verdict}, {seconds:.1f} s\n\n```\n{output}```\n")
        if status != 0:
            failed.append(script.name)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "run_all.md").write_text("# benchmark run\n\n" + "\n".join(report))
    print(f"\n{len(scripts) - len(failed)} of {len(scripts)} benchmarks passed"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return len(failed)


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
