"""Measured GPU profiles and a real CUDA worker, in one run on a lent GPU machine (issue 19).

What it does, in order, within a time budget (default 450 s, under the 8 minutes the issue allows):

1. **Provenance** of the GPU (:func:`splitinfer.profile.provenance.cuda_info`: name, capability,
   memory, CUDA runtime and cuDNN versions, the TF32 flags, and what ``nvidia-smi`` reads:
   driver, clocks, power limit, temperature) -> ``summary.json``.
2. **Profiles** of the 11 shipped models (:data:`MODELS`), batch 1, per layer and per cut
   (:func:`splitinfer.profile.measure_profile`: CUDA events around every call, synchronised after
   every pass), first all in fp32 (``<model>@<hw>.json``), then all in fp16
   (``<model>@<hw>-fp16.json``; a model that fails in fp16 is listed, not fatal). Each profile
   is checked with :func:`splitinfer.profile.check.check_profile` and the result goes into the
   summary. Models left when the profile budget (default 240 s) runs out are listed as skipped.
   All profiles are packed into ``profiles.tar.gz`` (the device tool brings back at most 8
   files, so nothing is returned file by file).
3. **A real run with CUDA workers**: ``splitinfer run fidelity-demo --planner neurosurgeon
   --verify --cuda-node edge-wifi --cuda-node cloud`` (the phone on the CPU, the two GPU-class
   servers of the demo on the GPU; the CPU server ``edge-bs`` stays on the CPU; on this
   machine's CPU the plans offload to ``edge-wifi``), its ``run.json``, Gantt chart and
   calibrated scenario packed into ``run.tar.gz``.
4. **The CUDA tests**: ``pytest -m cuda`` on the test files that carry the marker
   -> ``pytest-cuda.txt``.

``--device cpu`` runs the same code path on the CPU (no ``--cuda-node``; the CUDA tests then
skip): the dry run that checks the script before device time is spent::

    python benchmarks/gpu_profiles.py --device cpu --hardware cpu-dryrun \\
        --models lenet5 vgg16-cifar --out /tmp/gpu-dry

On the device machine (Python 3.12 with torch 2.11, grpcio, typer, rich, numpy, scipy,
matplotlib, networkx, pyyaml, numba, pytest there already), the project is run from the source
tree, with the missing packages carried as wheels in the git-ignored folder ``.whl``::

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \\
        --target /tmp/site .whl/*.whl && export PYTHONPATH=$PWD/src:/tmp/site && \\
    PYTHONUNBUFFERED=1 python3 benchmarks/gpu_profiles.py --device cuda --hardware h200 \\
        --out $OUT 2>&1 | tee $OUT/log.txt

(run with ``carry: [".whl"]`` and ``timeout_s`` about 540). The wheels (``--no-deps``, for
CPython 3.12 on manylinux x86-64; the versions are those of this project's environment) are
listed in :data:`CARRIED_WHEELS`; ``python benchmarks/gpu_profiles.py --download-wheels .whl``
fetches them with ``pip download`` (the device README's command). They are what the GPU machine
lacks of the imports on this path: pydantic (scenario schema) with pydantic-core,
annotated-types, typing-inspection and a recent typing-extensions; OR-Tools (``exact`` and the
planner registry import it) with protobuf and immutabledict; pymoo (DMCJIA) with moocore, cffi,
pycparser, platformdirs, alive-progress, about-time, graphemeu, cma, autograd and Deprecated;
simpy (a test helper). ``--check-imports`` verifies the list on this machine: it installs the
same wheels for *this* Python into a temporary folder and re-runs the dry run with those
packages hidden from the virtual environment (:data:`HIDDEN`), so a missing wheel shows up as an
import error here rather than on the device.

Nothing measured by the dry run is committed; the GPU numbers exist only once this script has
run on a GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: The shipped models, as in ``benchmarks/make_profiles.py``.
MODELS = ["lenet5", "vgg16-cifar", "alexnet", "squeezenet1_0", "mobilenet_v2", "googlenet",
          "resnet18", "resnet34", "deepface", "tiny-yolov2", "vgg16"]

#: Wheels to carry to the GPU machine (``NAME==VERSION``; pip download --no-deps).
CARRIED_WHEELS = [
    "pydantic==2.14.4", "pydantic-core==2.50.5", "annotated-types==0.8.0",
    "typing-inspection==0.4.5", "typing-extensions==4.16.0",
    "ortools==9.15.6755", "protobuf==6.33.6", "immutabledict==4.3.1",
    "pymoo==0.6.2", "moocore==0.3.2", "cffi==2.0.0", "pycparser==2.23", "platformdirs==4.5.0",
    "alive-progress==3.3.0", "about-time==4.2.1", "graphemeu==0.7.2", "cma==4.5.0",
    "autograd==1.9.1", "Deprecated==1.3.1", "simpy==4.1.2",
]

#: Top-level modules of the carried wheels, hidden from the virtual environment by
#: ``--check-imports`` (they must then come from the wheels).
HIDDEN = ["pydantic", "pydantic_core", "annotated_types", "typing_inspection", "ortools",
          "immutabledict", "pymoo", "moocore", "cffi", "_cffi_backend", "pycparser",
          "platformdirs", "alive_progress", "about_time", "graphemeu", "cma", "autograd",
          "deprecated", "simpy"]

_PIP_PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
                  "manylinux2014_x86_64", "manylinux1_x86_64"]


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _cli(*args: str) -> list[str]:
    from splitinfer.runtime.launch import cli_argv

    return cli_argv(*args)


def _profiles(args: argparse.Namespace, work: Path, deadline: float) -> dict:
    """Step 2: measure every model in every dtype until the profile budget is spent."""
    import warnings

    from splitinfer.profile import measure_profile
    from splitinfer.profile.check import check_profile

    warnings.simplefilter("always")
    done, failed, skipped = [], [], []
    for dtype in args.dtypes:
        suffix = "" if dtype == "float32" else "-" + {"float16": "fp16", "bfloat16": "bf16"}[dtype]
        for name in args.models:
            hw = args.hardware + suffix
            if time.monotonic() > deadline:
                skipped.append(f"{name}@{hw}")
                continue
            t0 = time.monotonic()
            try:
                prof = measure_profile(name, device=args.device, threads=1, batch=1,
                                       repeats=args.repeats, warmup=args.warmup,
                                       hardware_name=hw, segment_repeats=args.segment_repeats,
                                       segment_warmup=args.segment_warmup, dtype=dtype)
            except Exception as exc:  # a model that does not run in this precision
                failed.append({"profile": f"{name}@{hw}", "error": f"{type(exc).__name__}: {exc}"})
                _log(f"{name}@{hw}: FAILED {type(exc).__name__}: {exc}")
                continue
            path = prof.save(work / "profiles" / f"{prof.name}.json")
            report = check_profile(prof)
            done.append({"profile": prof.name, "file": path.name, "dtype": dtype,
                         "whole_ms": round(prof.whole_latency_s * 1e3, 4),
                         "layers": len(prof.layers), "cuts": prof.num_cuts,
                         "seconds": round(time.monotonic() - t0, 2), "check": report.summary(),
                         "violations": report.violations})
            _log(f"{prof.name}: whole {prof.whole_latency_s * 1e3:.3f} ms, {prof.num_cuts} cuts, "
                 f"{time.monotonic() - t0:.1f} s; {report.summary().split(': ', 1)[1]}")
    return {"done": done, "failed": failed, "skipped": skipped}


def _run(args: argparse.Namespace, work: Path, timeout: float) -> dict:
    """Step 3: a real run of the demo fidelity scenario with the cloud worker on the GPU."""
    run_dir = work / "run"
    argv = _cli("run", "fidelity-demo", "--planner", args.planner, "--verify",
                "--out", str(run_dir), "--compute", "measure")
    if args.device == "cuda":
        argv += [a for node in args.cuda_node for a in ("--cuda-node", node)]
    _log("run: " + " ".join(argv[3:]))
    t0 = time.monotonic()
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        rc, out = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        rc, out = 124, f"timed out after {timeout:.0f} s\n{exc.stdout or ''}{exc.stderr or ''}"
    (work / "run-output.txt").write_text(out if isinstance(out, str) else out.decode())
    _log(f"run: exit {rc} in {time.monotonic() - t0:.1f} s")
    print(out[-4000:] if isinstance(out, str) else "", flush=True)
    return {"exit": rc, "seconds": round(time.monotonic() - t0, 1),
            "cuda_node": args.cuda_node if args.device == "cuda" else None}


def _tests(work: Path, timeout: float) -> dict:
    """Step 4: ``pytest -m cuda`` on the test files that use the marker."""
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_*.py")
                   if "mark.cuda" in p.read_text(encoding="utf-8"))
    argv = [sys.executable, "-m", "pytest", "-m", "cuda", "-q", "-rA", "-p", "no:randomly",
            "-p", "no:cacheprovider", "-o", "addopts=", *files]
    _log("tests: " + " ".join(argv[1:]))
    t0 = time.monotonic()
    try:
        # no third-party plugin autoload: the CUDA tests need none, and an environment's stray
        # entry points (a plugin of a package the wheels replaced) must not break collection
        env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                              env=env)
        rc, out = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        rc, out = 124, f"timed out after {timeout:.0f} s\n{exc.stdout or ''}"
    (work / "pytest-cuda.txt").write_text(out if isinstance(out, str) else str(out))
    last = (out.strip().splitlines() or [""])[-1] if isinstance(out, str) else ""
    _log(f"tests: exit {rc} in {time.monotonic() - t0:.1f} s: {last}")
    return {"exit": rc, "files": files, "last_line": last}


def _pack(folder: Path, target: Path) -> None:
    with tarfile.open(target, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)


def download_wheels(dest: Path, python_version: str = "3.12") -> int:
    """``pip download`` :data:`CARRIED_WHEELS` for CPython ``python_version`` on manylinux x86-64."""
    dest.mkdir(parents=True, exist_ok=True)
    plat = [a for p in _PIP_PLATFORMS for a in ("--platform", p)]
    argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--python-version", python_version, "--implementation", "cp", *plat,
            "-d", str(dest), *CARRIED_WHEELS]
    return subprocess.run(argv).returncode


_BLOCKER = '''
import importlib.machinery, sys
HIDDEN = set({hidden!r})
ALLOWED = {allowed!r}
class _OnlyFromWheels:
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top not in HIDDEN or path is not None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, [ALLOWED])
        if spec is None:
            raise ModuleNotFoundError(f"No module named {{name!r}} (hidden: not in the carried "
                                      "wheels)", name=name)
        return spec
sys.meta_path.insert(0, _OnlyFromWheels())
'''


def check_imports(args: argparse.Namespace) -> int:
    """Re-run the dry run with :data:`HIDDEN` importable only from the carried wheels."""
    tmp = Path(tempfile.mkdtemp(prefix="gpu-imports-"))
    wheels, site, hook = tmp / "whl", tmp / "site", tmp / "hook"
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    if download_wheels(wheels, version) != 0:
        print("error: pip download of the carried wheels failed")
        return 2
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps",
                    "--no-compile", "--target", str(site), *map(str, wheels.glob("*.whl"))],
                   check=True)
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(_BLOCKER.format(hidden=HIDDEN, allowed=str(site)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(hook), str(site), str(ROOT / "src")]))
    argv = [sys.executable, str(Path(__file__).resolve()), "--device", "cpu", "--hardware",
            "cpu-dryrun", "--models", *args.models, "--out", str(args.out),
            "--dtypes", *args.dtypes, "--repeats", str(args.repeats), "--segment-repeats",
            str(args.segment_repeats), *(["--skip-run"] if args.skip_run else []),
            *(["--skip-tests"] if args.skip_tests else [])]
    probe = subprocess.run([sys.executable, "-c", "import pydantic, ortools, pymoo; "
                            "print(pydantic.__file__, ortools.__file__, pymoo.__file__)"],
                           env=env, capture_output=True, text=True)
    print("imports come from:", probe.stdout.strip() or probe.stderr.strip())
    return subprocess.run(argv, env=env).returncode


def main(argv: list[str] | None = None) -> int:
    """Run the steps of the module docstring; return 0 when everything ran and passed."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--hardware", default="h200", help="hardware name of the profiles")
    ap.add_argument("--models", nargs="*", default=MODELS)
    ap.add_argument("--dtypes", nargs="*", default=["float32", "float16"],
                    choices=["float32", "float16", "bfloat16"])
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--segment-repeats", type=int, default=20)
    ap.add_argument("--segment-warmup", type=int, default=5)
    ap.add_argument("--budget-s", type=float, default=450.0, help="whole script")
    ap.add_argument("--profile-budget-s", type=float, default=240.0)
    ap.add_argument("--run-timeout-s", type=float, default=150.0)
    ap.add_argument("--planner", default="neurosurgeon")
    ap.add_argument("--cuda-node", nargs="*", default=["edge-wifi", "cloud"])
    ap.add_argument("--skip-run", action="store_true")
    ap.add_argument("--skip-tests", action="store_true")
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "gpu-output")))
    ap.add_argument("--download-wheels", type=Path, metavar="DIR",
                    help="only pip-download the carried wheels (CPython 3.12) into DIR")
    ap.add_argument("--check-imports", action="store_true",
                    help="dry run with the carried packages hidden from this environment")
    args = ap.parse_args(argv)
    if args.download_wheels:
        return download_wheels(args.download_wheels)
    if args.check_imports:
        return check_imports(args)

    start = time.monotonic()
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="gpu-profiles-"))
    summary: dict = {"device": args.device, "hardware": args.hardware, "argv": sys.argv[1:],
                     "settings": {k: getattr(args, k) for k in ("repeats", "warmup",
                                                                "segment_repeats",
                                                                "segment_warmup", "dtypes")}}
    status = 0
    try:
        import torch

        from splitinfer.machine import machine_info
        from splitinfer.profile.provenance import cuda_info

        summary["machine"] = machine_info()
        summary["torch"] = torch.__version__
        if args.device == "cuda":
            if not torch.cuda.is_available():
                print("error: --device cuda but torch.cuda.is_available() is False")
                return 2
            summary["gpu"] = cuda_info()
            _log(f"GPU: {summary['gpu']['gpu_name']}, driver "
                 f"{summary['gpu']['nvidia_smi'].get('driver_version', '?')}, CUDA "
                 f"{summary['gpu']['cuda_runtime']}, torch {torch.__version__}")
        summary["profiles"] = _profiles(args, work, start + args.profile_budget_s)
        if (work / "profiles").is_dir():
            _pack(work / "profiles", args.out / "profiles.tar.gz")
        left = args.budget_s - (time.monotonic() - start)
        if not args.skip_run:
            summary["run"] = _run(args, work, min(args.run_timeout_s, max(left - 60, 30)))
            if (work / "run").is_dir():
                _pack(work / "run", args.out / "run.tar.gz")
            status |= summary["run"]["exit"] != 0
        left = args.budget_s - (time.monotonic() - start)
        if not args.skip_tests:
            summary["tests"] = _tests(work, max(left - 10, 30))
            status |= summary["tests"]["exit"] not in (0, 5)  # 5: no tests selected
        for name in ("run-output.txt", "pytest-cuda.txt"):
            if (work / name).exists():
                (args.out / name).write_text((work / name).read_text())
        status |= bool(summary["profiles"]["failed"] and args.dtypes == ["float32"])
    except Exception:
        summary["error"] = traceback.format_exc()
        print(summary["error"], flush=True)
        status = 1
    finally:
        summary["seconds"] = round(time.monotonic() - start, 1)
        (args.out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
        _log(f"done in {summary['seconds']} s -> {args.out} (summary.json, profiles.tar.gz, "
             "run.tar.gz, run-output.txt, pytest-cuda.txt)")
    return int(status)


if __name__ == "__main__":
    raise SystemExit(main())
