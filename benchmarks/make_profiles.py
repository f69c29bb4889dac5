"""Generate the shipped profiles ``src/splitinfer/data/profiles/<model>@<hardware>.json``.

Re-runnable: on this machine's CPU at one thread (the default, hardware name ``cpu-1t``), or on a
GPU machine with ``--device cuda`` (hardware name ``cuda-<gpu>``). Every file records the exact
settings, the CPU/GPU model, the library versions and the load average during the measurement.

Usage::

    python benchmarks/make_profiles.py                       # all models, cpu-1t
    python benchmarks/make_profiles.py --models lenet5 alexnet --repeats 20
    python benchmarks/make_profiles.py --device cuda --out /tmp/gpu-profiles

The shipped CPU profiles were made with::

    python benchmarks/make_profiles.py --repeats-for vgg16=30 --segment-repeats-for vgg16=5

i.e. 100 repeats (10 warm-up) for layers and whole model and 10 repeats (2 warm-up) for each cut's
head and tail, except VGG16 (about 0.7 s per forward pass at one thread): 30 and 5, to keep the
whole run near 15 minutes on a 2-core machine. The values used are in each file's
``measurement`` block.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

DEFAULT_MODELS = [
    "lenet5", "vgg16-cifar", "alexnet", "squeezenet1_0", "mobilenet_v2", "googlenet",
    "resnet18", "resnet34", "deepface", "tiny-yolov2", "vgg16",
]
OUT = Path(__file__).resolve().parents[1] / "src" / "splitinfer" / "data" / "profiles"


def _overrides(items: list[str]) -> dict[str, int]:
    out = {}
    for item in items:
        name, _, value = item.partition("=")
        out[name] = int(value)
    return out


def main(argv: list[str] | None = None) -> None:
    """Measure the models and write one profile file each."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=DEFAULT_MODELS)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--segment-repeats", type=int, default=10)
    ap.add_argument("--segment-warmup", type=int, default=2)
    ap.add_argument("--repeats-for", nargs="*", default=[], metavar="MODEL=N",
                    help="lower the layer/whole repeats of slow models, e.g. vgg16=30")
    ap.add_argument("--segment-repeats-for", nargs="*", default=[], metavar="MODEL=N",
                    help="lower the segment repeats of slow models, e.g. vgg16=5")
    ap.add_argument("--hardware", default=None, help="hardware name (default cpu-<N>t / cuda-<gpu>)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)

    from splitinfer.profile import measure_profile
    from splitinfer.units import format_time

    special = _overrides(args.repeats_for)
    special_seg = _overrides(args.segment_repeats_for)
    print("| model | hardware | layers | cuts | GFLOPs | whole (interquartile mean) | repeats | time to measure |")
    print("|---|---|---|---|---|---|---|---|")
    start = time.perf_counter()
    for name in args.models:
        repeats = special.get(name, args.repeats)
        prof = measure_profile(name, device=args.device, threads=args.threads, batch=args.batch,
                               repeats=repeats, warmup=args.warmup,
                               hardware_name=args.hardware,
                               segment_repeats=special_seg.get(name, args.segment_repeats),
                               segment_warmup=args.segment_warmup)
        path = prof.save(args.out / f"{prof.name}.json")
        print(f"| {prof.model} | {prof.hardware_name} | {len(prof.layers)} | {prof.num_cuts} | "
              f"{prof.flops / 1e9:.3f} | {format_time(prof.whole_latency_s)} | {repeats} | "
              f"{prof.measurement['seconds']:.1f} s |", flush=True)
        del path
    print(f"\ntotal {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
