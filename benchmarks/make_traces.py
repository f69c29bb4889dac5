"""Write the shipped synthetic bandwidth traces under ``src/splitinfer/data/traces/`` (seeded).

    .venv/bin/python benchmarks/make_traces.py            # rewrite them (a second or two)
    .venv/bin/python benchmarks/make_traces.py --check    # exit 1 if the files differ

The traces (format: ``docs/traces.md``):

* ``step-drop.csv``: 20 Mbit/s, a drop to 2 Mbit/s from 10 s to 20 s, then 20 Mbit/s again;
* ``ramp.csv``: from 40 Mbit/s down to 2 Mbit/s over 30 s in steps of 1 s;
* ``noisy-walk.csv``: a random walk of the log-rate in steps of 0.5 s for 60 s, between 1 and
  50 Mbit/s around 10 Mbit/s (seed 20);
* ``noisy-walk-ms.mahi``: the same kind of walk for 10 s in Mahimahi's packet-delivery format,
  one line per 1500-byte delivery opportunity, the packets of each millisecond drawn from a
  Poisson law of the walk's rate (seed 21).

Nothing is measured: the files are a pure function of the seeds, so ``--check`` (run by the
tests) proves the shipped files are what this script writes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "src" / "splitinfer" / "data" / "traces"
MTU_BITS = 1500 * 8


def _csv(times, rates_mbps, comment: str) -> str:
    rows = [f"# {comment}", "time_s,rate_mbps"]
    rows += [f"{t:g},{r:.4f}" for t, r in zip(times, rates_mbps, strict=True)]
    return "\n".join(rows) + "\n"


def step_drop() -> str:
    """20 Mbit/s, 2 Mbit/s from 10 s to 20 s, 20 Mbit/s after."""
    return _csv([0, 10, 20], [20, 2, 20], "step drop: 20 Mbit/s, 2 Mbit/s from 10 s to 20 s, then 20 "
                "Mbit/s (make_traces.py)")


def ramp() -> str:
    """40 Mbit/s down to 2 Mbit/s over 30 s."""
    t = np.arange(31)
    return _csv(t, np.linspace(40, 2, 31), "ramp: 40 Mbit/s down to 2 Mbit/s in 1 s steps "
                "(make_traces.py)")


def _walk(n: int, seed: int, sigma: float) -> np.ndarray:
    """A mean-reverting random walk of log10(rate in Mbit/s) around 10 Mbit/s in [1, 50]."""
    rng = np.random.default_rng(seed)
    x = np.empty(n)
    x[0] = 1.0
    for i in range(1, n):
        x[i] = x[i - 1] + 0.1 * (1.0 - x[i - 1]) + rng.normal(0, sigma)
        x[i] = min(max(x[i], 0.0), np.log10(50))
    return 10 ** x


def noisy_walk() -> str:
    """Steps of 0.5 s for 60 s (seed 20)."""
    rates = _walk(120, 20, 0.12)
    return _csv(np.arange(120) * 0.5, rates, "noisy walk of the log-rate, 0.5 s steps, seed 20 "
                "(make_traces.py)")


def noisy_walk_ms() -> str:
    """10 s of Mahimahi delivery opportunities (seed 21): Poisson packets per millisecond."""
    rng = np.random.default_rng(21)
    rates = np.repeat(_walk(100, 21, 0.12), 100) * 1e6  # 0.1 s steps, bit/s
    packets = rng.poisson(rates * 1e-3 / MTU_BITS)
    packets[-1] = max(packets[-1], 1)  # the last millisecond ends the trace
    ms = np.repeat(np.arange(1, len(packets) + 1), packets)
    return "\n".join(str(v) for v in ms) + "\n"


FILES = {"step-drop.csv": step_drop, "ramp.csv": ramp, "noisy-walk.csv": noisy_walk,
         "noisy-walk-ms.mahi": noisy_walk_ms}


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) every trace; 1 if a checked file differs."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare instead of writing")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    bad = []
    for name, make in FILES.items():
        text, path = make(), args.out / name
        if args.check:
            if not path.is_file() or path.read_text() != text:
                bad.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path}")
    if bad:
        print(f"differ from make_traces.py: {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
