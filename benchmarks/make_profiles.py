"""Generate the shipped profiles ``src/splitinfer/data/profiles/<model>@<hardware>.json``.

Re-runnable: on this machine's CPU at one thread (the default, hardware name ``cpu-1t``), or on a
GPU machine with ``--device cuda`` (hardware name ``cuda-<gpu>``). Every file records the exact
settings, the CPU/GPU model, the library versions, the load average before, during and after the
measurement and the share of preempted calls (``measurement.interference``).

Usage (``make profiles`` runs the first line)::

    python benchmarks/make_profiles.py                       # all 11 models, cpu-1t
    python benchmarks/make_profiles.py --models lenet5 alexnet --out /tmp/p
    python benchmarks/make_profiles.py --device cuda --out /tmp/gpu-profiles

Run it on a quiet machine: nothing else of yours running (``uptime`` near 0). It refuses to
start when the 1-minute load average leaves no idle core for the measurement (``--force``
overrides), measures every model, then runs the consistency check of
``splitinfer profile --check`` on every file it wrote and exits 1 if one fails.

Settings: 40 timed repeats after 5 warm-up passes for layers and whole model, 7 repeats after
1 warm-up pass for each cut's head and tail; VGG16 (about 0.5 s per forward pass at one thread)
5 segment repeats. The statistic is the 20 % quantile of the repeats
(:mod:`splitinfer.profile.timing`), which needs fewer repeats than a mean to be stable. The
whole run takes about 9 minutes on an idle 2-core machine (VGG16 about 4 of them); the script
prints each model's time and the total.
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


def main(argv: list[str] | None = None) -> int:
    """Measure the models, write one profile file each, check them; return the exit status."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=DEFAULT_MODELS)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--segment-repeats", type=int, default=7)
    ap.add_argument("--segment-warmup", type=int, default=1)
    ap.add_argument("--repeats-for", nargs="*", default=[], metavar="MODEL=N",
                    help="lower the layer/whole repeats of slow models, e.g. vgg16=30")
    ap.add_argument("--segment-repeats-for", nargs="*", default=["vgg16=5"], metavar="MODEL=N",
                    help="lower the segment repeats of slow models, e.g. vgg16=5")
    ap.add_argument("--hardware", default=None, help="hardware name (default cpu-<N>t / cuda-<gpu>)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--force", action="store_true", help="measure even on a busy machine")
    args = ap.parse_args(argv)

    import os
    import warnings

    from splitinfer.machine import load_average
    from splitinfer.profile import Profile, measure_profile
    from splitinfer.profile.check import check_profile
    from splitinfer.profile.measure import busy_reason
    from splitinfer.units import format_time

    load = load_average()
    threads = args.threads if args.device == "cpu" else 1
    reason = busy_reason(load, os.cpu_count(), threads, None, self_in_load=False)
    if reason and not args.force:
        print(f"error: the machine is busy ({reason}); shipped profiles must be measured on a "
              "quiet machine (stop other jobs, or pass --force)")
        return 2
    warnings.simplefilter("always")
    written = []

    special = _overrides(args.repeats_for)
    special_seg = _overrides(args.segment_repeats_for)
    print("| model | hardware | layers | cuts | GFLOPs | whole (20 % quantile) | repeats | time to measure |")
    print("|---|---|---|---|---|---|---|---|")
    start = time.perf_counter()
    for name in args.models:
        repeats = special.get(name, args.repeats)
        prof = measure_profile(name, device=args.device, threads=args.threads, batch=args.batch,
                               repeats=repeats, warmup=args.warmup,
                               hardware_name=args.hardware,
                               segment_repeats=special_seg.get(name, args.segment_repeats),
                               segment_warmup=args.segment_warmup)
        written.append(prof.save(args.out / f"{prof.name}.json"))
        print(f"| {prof.model} | {prof.hardware_name} | {len(prof.layers)} | {prof.num_cuts} | "
              f"{prof.flops / 1e9:.3f} | {format_time(prof.whole_latency_s)} | {repeats} | "
              f"{prof.measurement['seconds']:.1f} s |", flush=True)
    print(f"\ntotal {time.perf_counter() - start:.1f} s\n")
    failed = 0
    for path in written:
        report = check_profile(Profile.load(path))
        print(report.summary())
        for line in report.violations:
            print(f"  violation: {line}")
        failed += not report.ok
    if failed:
        print(f"{failed} of {len(written)} profile(s) fail the consistency check; re-measure them "
              "on a quieter machine (--models NAME ...)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
