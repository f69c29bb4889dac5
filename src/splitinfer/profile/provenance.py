"""Where and how a profile was measured: the ``hardware`` block of a profile file.

Examples
--------
>>> info = hardware_info("cpu", threads=1)
>>> info["name"], info["device"], info["threads"]
('cpu-1t', 'cpu', 1)
>>> sorted(k for k in info if k not in {"name", "device", "threads"})[:3]
['cpu_model', 'date', 'logical_cpus']
>>> slug("NVIDIA H100 80GB HBM3")
'nvidia-h100-80gb-hbm3'
"""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

from splitinfer.machine import cpu_model, load_average, machine_info, package_version

# cpu_model and load_average live in splitinfer.machine; re-exported here for existing callers.
__all__ = ["hardware_info", "cpu_model", "slug", "default_hardware_name", "load_average",
           "cuda_info", "nvidia_smi"]

#: Fields read from ``nvidia-smi --query-gpu`` when it is available.
NVIDIA_SMI_FIELDS = ("name", "driver_version", "pci.bus_id", "memory.total", "pstate",
                     "clocks.sm", "clocks.mem", "clocks.max.sm", "clocks.max.mem",
                     "clocks.applications.graphics", "power.limit", "temperature.gpu",
                     "compute_mode")


def nvidia_smi(index: int = 0) -> dict[str, str]:
    """What ``nvidia-smi`` says about GPU ``index`` (driver, clocks, power limit), or ``{}``.

    Every field of :data:`NVIDIA_SMI_FIELDS` that the tool reads is returned as its text (units
    included, e.g. ``"1980 MHz"``); fields it cannot read (``[N/A]``) are left out.

    Examples
    --------
    >>> isinstance(nvidia_smi(), dict)
    True
    """
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return {}
    try:
        out = subprocess.run([exe, f"--id={index}", "--format=csv,noheader",
                              "--query-gpu=" + ",".join(NVIDIA_SMI_FIELDS)],
                             capture_output=True, text=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    values = [v.strip() for v in out.strip().split(", ")]
    if len(values) != len(NVIDIA_SMI_FIELDS):
        return {"raw": out.strip()}
    return {k: v for k, v in zip(NVIDIA_SMI_FIELDS, values, strict=True)
            if v and "N/A" not in v and "Not Supported" not in v}


def cuda_info(index: int = 0) -> dict[str, Any]:
    """Provenance of a CUDA device: name, capability, memory, versions, precision flags, clocks.

    Needs torch with CUDA available; the ``nvidia_smi`` entry holds :func:`nvidia_smi`.
    ``tf32`` records whether cuDNN convolutions and cuBLAS matrix products may use TF32 (they
    change fp32 timings on Ampere and later).
    """
    import torch

    props = torch.cuda.get_device_properties(index)
    return {
        "gpu_name": torch.cuda.get_device_name(index),
        "capability": ".".join(map(str, torch.cuda.get_device_capability(index))),
        "multiprocessors": int(props.multi_processor_count),
        "memory_bytes": int(props.total_memory),
        "cuda_runtime": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
        "tf32": {"cudnn_conv": bool(torch.backends.cudnn.allow_tf32),
                 "cuda_matmul": bool(torch.backends.cuda.matmul.allow_tf32)},
        "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
        "nvidia_smi": nvidia_smi(index),
    }


def slug(text: str) -> str:
    """Lower-case, dash-separated form of a device name (for hardware names)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def default_hardware_name(device: str, threads: int | None, gpu_name: str | None = None) -> str:
    """``"cpu-<threads>t"`` for the CPU, ``"cuda-<gpu slug>"`` for a GPU.

    Examples
    --------
    >>> default_hardware_name("cpu", 1), default_hardware_name("cuda", None, "NVIDIA H100")
    ('cpu-1t', 'cuda-nvidia-h100')
    """
    if device.startswith("cuda"):
        return f"cuda-{slug(gpu_name or 'gpu')}"
    return f"{device}-{threads}t"


def hardware_info(device: str, threads: int, name: str | None = None,
                  gpu_name: str | None = None) -> dict[str, Any]:
    """The ``hardware`` block: name, device, CPU model or GPU name, threads, versions, date.

    Parameters
    ----------
    device : str
        ``"cpu"`` or ``"cuda"``.
    threads : int
        Intra-op threads used (``torch.get_num_threads()`` during the measurement).
    name : str, optional
        Hardware name; :func:`default_hardware_name` by default.
    gpu_name : str, optional
        ``torch.cuda.get_device_name()`` for CUDA.
    """
    machine = machine_info()
    info: dict[str, Any] = {
        "name": name or default_hardware_name(device, threads, gpu_name),
        "device": device,
        "cpu_model": machine["cpu_model"],
        "logical_cpus": machine["logical_cpus"],
        "threads": int(threads),
        "torch": machine["torch"],
        "torchvision": package_version("torchvision"),
        "python": machine["python"],
        "platform": machine["platform"],
        "date": machine["date"],
    }
    if gpu_name is not None:
        info["gpu_name"] = gpu_name
    if device.startswith("cuda"):
        info.update(cuda_info())
    return info
