"""Generate the shipped profiles ``src/splitinfer/data/profiles/<model>@<hardware>.json``.

Re-runnable: on this machine's CPU at one thread (the default, hardware name ``cpu-1t``), or on a
GPU machine with ``--device cuda`` (hardware name ``cuda-<gpu>``). Every file records the exact
settings, the CPU/GPU model, the library versions, the load average before, during and after the
measurement and the share of preempted calls (``measurement.interference``).

Usage (``make profiles`` runs the first line)::

    python benchmarks/make_profiles.py                       # all 11 models, cpu-1t
    python benchmarks/make_profiles.py --show-settings       # what each would be measured with
    python benchmarks/make_profiles.py --models lenet5 alexnet --out /tmp/p
    python benchmarks/make_profiles.py --device cuda --out /tmp/gpu-profiles

Run it on a quiet machine: nothing else of yours running (``uptime`` near 0). It refuses to
start when the 1-minute load average leaves no idle core for the measurement (``--force``
overrides), measures every model, then runs the consistency check of
``splitinfer profile --check`` on every file it wrote and exits 1 if one fails.

Settings: each model is measured with the settings its shipped file records
(``measurement.repeats``, ``warmup``, ``segment_repeats``, ``segment_warmup`` of
``<model>@<hardware>.json`` in the package), so that a re-run reproduces the shipped profiles:
40 timed repeats after 5 warm-up passes for layers and whole model, and for each cut's head and
tail 7 repeats after 1 warm-up pass, except where a model was re-measured with more (AlexNet 21;
DeepFace, MobileNetV2, ResNet18 and VGG16-CIFAR 25, after dips in their head curves) or fewer
(VGG16 5: about 0.5 s per forward pass at one thread). ``--show-settings`` prints them per model
without measuring. A model without a shipped file (or ``--defaults``) takes 40 / 5 / 7 / 1 (VGG16
5 segment repeats); the flags ``--repeats``, ``--warmup``, ``--segment-repeats``,
``--segment-warmup`` override every model, ``--repeats-for`` / ``--segment-repeats-for`` one.
The statistic is the 20 % quantile of the repeats (:mod:`splitinfer.profile.timing`), which needs
fewer repeats than a mean to be stable. The whole run takes about 11 minutes on an idle 2-core
machine (the sum of the shipped files' ``measurement.seconds``; VGG16 about 3 of them); the
script prints each model's time and the total.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

DEFAULT_MODELS = [
    "lenet5", "vgg16-cifar", "alexnet", "squeezenet1_0", "mobilenet_v2", "googlenet",
    "resnet18", "resnet34", "deepface", "tiny-yolov2", "vgg16",
]
OUT = Path(__file__).resolve().parents[1] / "src" / "splitinfer" / "data" / "profiles"
#: the measurement settings a model without a shipped profile (or ``--defaults``) is measured with
DEFAULTS = {"repeats": 40, "warmup": 5, "segment_repeats": 7, "segment_warmup": 1}
#: per-model exceptions to :data:`DEFAULTS` (VGG16: about 0.5 s per forward pass at one thread)
DEFAULTS_FOR = {"vgg16": {"segment_repeats": 5}}


def shipped_settings(model: str, hardware: str | None, folder: Path = OUT) -> dict[str, int] | None:
    """The settings of :data:`DEFAULTS` that the shipped ``<model>@<hardware>.json`` recorded in
    its ``measurement`` block, or ``None`` when no such profile is shipped."""
    path = folder / f"{model}@{hardware}.json"
    if hardware is None or not path.is_file():
        return None
    measurement = json.loads(path.read_text())["measurement"]
    return {k: int(measurement[k]) for k in DEFAULTS if k in measurement}


def settings_for(model: str, hardware: str | None, args: argparse.Namespace
                 ) -> tuple[dict[str, int], str]:
    """The settings ``model`` is measured with, and where they come from: the shipped profile's
    (unless ``--defaults``) over :data:`DEFAULTS`, then the flags given for every model, then
    the ``--*-for MODEL=N`` ones."""
    out = {**DEFAULTS, **DEFAULTS_FOR.get(model, {})}
    source = "defaults"
    shipped = None if args.defaults else shipped_settings(model, hardware)
    if shipped:
        out.update(shipped)
        source = f"shipped {model}@{hardware}.json"
    flags = {k: getattr(args, k) for k in DEFAULTS if getattr(args, k) is not None}
    per_model = {k: v[model] for k, v in (("repeats", _overrides(args.repeats_for)),
                                          ("segment_repeats",
                                           _overrides(args.segment_repeats_for)))
                 if model in v}
    if flags or per_model:
        source += " + flags"
    out.update(flags)
    out.update(per_model)
    return out, source


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
    every = "for every model (default: each model's shipped setting, see the docstring)"
    ap.add_argument("--repeats", type=int, default=None, help=f"layer/whole repeats {every}")
    ap.add_argument("--warmup", type=int, default=None, help=f"layer/whole warm-up {every}")
    ap.add_argument("--segment-repeats", type=int, default=None, help=f"cut repeats {every}")
    ap.add_argument("--segment-warmup", type=int, default=None, help=f"cut warm-up {every}")
    ap.add_argument("--repeats-for", nargs="*", default=[], metavar="MODEL=N",
                    help="the layer/whole repeats of one model, e.g. vgg16=30")
    ap.add_argument("--segment-repeats-for", nargs="*", default=[], metavar="MODEL=N",
                    help="the segment repeats of one model, e.g. vgg16=5")
    ap.add_argument("--defaults", action="store_true",
                    help="ignore the shipped profiles' settings (use 40/5/7/1, VGG16 5 segment "
                         "repeats)")
    ap.add_argument("--show-settings", action="store_true",
                    help="print each model's settings and where they come from; measure nothing")
    ap.add_argument("--hardware", default=None, help="hardware name (default cpu-<N>t / cuda-<gpu>)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--force", action="store_true", help="measure even on a busy machine")
    args = ap.parse_args(argv)
    # the shipped file a model's settings come from (a GPU's name is known only when measuring)
    hardware = args.hardware or (f"cpu-{args.threads}t" if args.device == "cpu" else None)
    settings = {name: settings_for(name, hardware, args) for name in args.models}
    if args.show_settings:
        print("| model | repeats | warmup | segment repeats | segment warmup | from |")
        print("|---|---|---|---|---|---|")
        for name, (s, source) in settings.items():
            print(f"| {name} | {s['repeats']} | {s['warmup']} | {s['segment_repeats']} | "
                  f"{s['segment_warmup']} | {source} |")
        return 0

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

    print("| model | hardware | layers | cuts | GFLOPs | whole (20 % quantile) | repeats | "
          "segment repeats | settings from | time to measure |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    start = time.perf_counter()
    for name in args.models:
        s, source = settings[name]
        prof = measure_profile(name, device=args.device, threads=args.threads, batch=args.batch,
                               repeats=s["repeats"], warmup=s["warmup"],
                               hardware_name=args.hardware,
                               segment_repeats=s["segment_repeats"],
                               segment_warmup=s["segment_warmup"])
        written.append(prof.save(args.out / f"{prof.name}.json"))
        print(f"| {prof.model} | {prof.hardware_name} | {len(prof.layers)} | {prof.num_cuts} | "
              f"{prof.flops / 1e9:.3f} | {format_time(prof.whole_latency_s)} | {s['repeats']} | "
              f"{s['segment_repeats']} | {source} | {prof.measurement['seconds']:.1f} s |",
              flush=True)
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
