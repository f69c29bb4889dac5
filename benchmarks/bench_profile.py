"""Benchmark: how long tracing and profiling ResNet18 take on this machine's CPU.

Measured (wall clock, :func:`time.perf_counter`):

* ``trace``: :func:`splitinfer.graph.trace` of ResNet18 at batch 1 (FLOP counting and shape
  propagation included), median of ``--trace-repeats`` runs;
* ``profile``: one :func:`splitinfer.profile.measure_profile` of ResNet18 at one thread with the
  given repeats (default: the shipped-profile settings, 100 repeats for layers and the whole model,
  10 for each cut's head and tail), split into its phases through the profile's own numbers;
* ``forward``: the whole-model latency that profile measured (interquartile mean), for scale.

Prints a markdown row and writes ``benchmarks/results/bench_profile.json``.

Usage::

    python benchmarks/bench_profile.py [--repeats 100] [--segment-repeats 10] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark and return the result dictionary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--segment-repeats", type=int, default=10)
    ap.add_argument("--trace-repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=RESULTS / "bench_profile.json")
    args = ap.parse_args(argv)

    import torch

    from splitinfer import graph, models
    from splitinfer.machine import cpu_model, load_average
    from splitinfer.profile import measure_profile

    torch.set_num_threads(args.threads)
    module = models.get_model(args.model)
    x = models.example_input(args.model)
    trace_s = []
    for _ in range(args.trace_repeats):
        t0 = time.perf_counter()
        g = graph.trace(module, x, name=args.model)
        trace_s.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    prof = measure_profile(args.model, threads=args.threads, repeats=args.repeats,
                           warmup=args.warmup, segment_repeats=args.segment_repeats)
    profile_s = time.perf_counter() - t0
    result = {
        "benchmark": "tracing and profiling",
        "model": args.model,
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "threads": args.threads,
        "torch": torch.__version__,
        "nodes": len(g.nodes),
        "cuts": len(g.cuts),
        "trace_median_s": statistics.median(trace_s),
        "trace_runs_s": trace_s,
        "profile_s": profile_s,
        "profile_settings": {"repeats": args.repeats, "warmup": args.warmup,
                             "segment_repeats": args.segment_repeats},
        "forward_interquartile_mean_s": prof.whole_latency_s,
        "forward_median_s": prof.whole_latency_median_s,
        "layer_latency_sum_s": float(prof.layer_latency.sum()),
        "load": load_average(),
        "date": prof.hardware["date"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print("| model | CPU | threads | nodes | cuts | trace (median) | profile (repeats/segment) "
          "| forward | load |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.model} | {result['cpu_model']} ({result['logical_cpus']} logical) | "
          f"{args.threads} | {result['nodes']} | {result['cuts']} | "
          f"{result['trace_median_s'] * 1e3:.0f} ms | {profile_s:.1f} s "
          f"({args.repeats}/{args.segment_repeats}) | {prof.whole_latency_s * 1e3:.1f} ms | "
          f"{result['load']} |")
    return result


if __name__ == "__main__":
    main()
