"""Long fuzz run of the frame and metadata decoders (issue 15): every input is accepted or raises
the decoder's own ``WireError``, in bounded memory.

Runs :func:`splitinfer.runtime.wirefuzz.decode_all` on ``--inputs`` hostile inputs (default
100 000; mutated valid frames: bit flips, truncation, extreme header fields, metadata with deep
nesting, numbers with thousands of digits, non-finite or huge floats, invalid UTF-8 ...) and
prints how many were tried, accepted and rejected with ``WireError``, how many escaped with any
other exception (must be 0: the script then exits with status 1 and prints the first few), the
throughput and the peak memory (``ru_maxrss`` of the process, and ``tracemalloc``'s peak over a
sample of the inputs). Writes ``benchmarks/results/wirefuzz.json`` and the figures into the
marked block of ``docs/benchmarks.md``. Run: ``.venv/bin/python benchmarks/bench_wirefuzz.py``.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path

from _common import DOC, print_machine, run_meta, write_doc_block

from splitinfer.runtime.wire import Limits
from splitinfer.runtime.wirefuzz import decode_all, hostile_inputs

HERE = Path(__file__).resolve().parent


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run(n: int, seed: int, limits: Limits) -> dict:
    """Decode ``n`` hostile inputs; the counts, escapes, time and memory."""
    outcomes: Counter = Counter()
    escaped: list[str] = []
    rss_before = _rss_mib()
    t0 = time.perf_counter()
    for buf in hostile_inputs(random.Random(seed), n):
        try:
            outcomes[decode_all(buf, limits)] += 1
        except Exception as exc:  # noqa: BLE001 - exactly what the property forbids
            outcomes["escaped"] += 1
            if len(escaped) < 5:
                escaped.append(f"{type(exc).__name__}: {str(exc)[:120]}")
    seconds = time.perf_counter() - t0
    # tracemalloc slows decoding a lot: its peak is taken over a sample of the same inputs
    sample = min(n, 5000)
    tracemalloc.start()
    for buf in hostile_inputs(random.Random(seed), sample):
        try:
            decode_all(buf, limits)
        except Exception:  # noqa: BLE001 - counted above
            pass
    traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return {"inputs": n, "seed": seed, "accepted": outcomes["accepted"],
            "rejected_wire_error": outcomes["rejected"], "escaped": outcomes["escaped"],
            "escaped_examples": escaped, "seconds": seconds, "inputs_per_s": n / seconds,
            "max_payload_bytes": limits.max_payload_bytes,
            "peak_rss_mib": _rss_mib(), "rss_before_mib": rss_before,
            "tracemalloc_peak_mib": traced_peak, "tracemalloc_sample": sample}


def doc_block(r: dict, meta: dict) -> str:
    """The markdown that goes into the marked block of docs/benchmarks.md
    (:func:`_common.write_doc_block` adds the markers and the line naming the script)."""
    return "\n".join([
        f"{meta['machine']}, {meta['logical_cpus']} logical CPUs, load average at the end "
        f"{meta['loadavg_end'][0]:.1f}.",
        "",
        "| inputs tried | accepted | rejected with `WireError` | other exceptions | inputs/s "
        "| peak RSS | tracemalloc peak (sample) |",
        "|---|---|---|---|---|---|---|",
        f"| {r['inputs']} | {r['accepted']} | {r['rejected_wire_error']} | {r['escaped']} | "
        f"{r['inputs_per_s']:.0f} | {r['peak_rss_mib']:.0f} MiB (before: "
        f"{r['rss_before_mib']:.0f} MiB) | {r['tracemalloc_peak_mib']:.1f} MiB "
        f"({r['tracemalloc_sample']} inputs) |"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--no-doc", action="store_true", help="Do not update docs/benchmarks.md.")
    args = ap.parse_args(argv)
    r = run(args.inputs, args.seed, Limits(max_payload_bytes=1 << 20))
    meta = run_meta()
    print(f"inputs tried {r['inputs']}: accepted {r['accepted']}, rejected with WireError "
          f"{r['rejected_wire_error']}, other exceptions {r['escaped']}")
    print(f"{r['inputs_per_s']:.0f} inputs/s ({r['seconds']:.1f} s); peak RSS "
          f"{r['peak_rss_mib']:.0f} MiB (before {r['rss_before_mib']:.0f} MiB); tracemalloc "
          f"peak {r['tracemalloc_peak_mib']:.1f} MiB over {r['tracemalloc_sample']} inputs")
    for e in r["escaped_examples"]:
        print(f"  escaped: {e}")
    print_machine(meta)
    out = HERE / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "wirefuzz.json").write_text(json.dumps({"meta": meta, "result": r}, indent=1))
    if not args.no_doc and not write_doc_block("bench_wirefuzz", doc_block(r, meta), DOC):
        print(f"note: no <!-- bench_wirefuzz:begin --> block in {DOC}; not updated")
    return 1 if r["escaped"] else 0


if __name__ == "__main__":
    sys.exit(main())
