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

import datetime as _dt
import os
import platform
import re
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

__all__ = ["hardware_info", "cpu_model", "slug", "default_hardware_name", "load_average"]


def cpu_model() -> str:
    """The CPU model from ``/proc/cpuinfo`` (Linux), else :func:`platform.processor`."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def slug(text: str) -> str:
    """Lower-case, dash-separated form of a device name (for hardware names)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def load_average() -> list[float]:
    """``os.getloadavg()`` rounded (1, 5, 15 minutes), or ``[]`` where unavailable."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return []


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
    info: dict[str, Any] = {
        "name": name or default_hardware_name(device, threads, gpu_name),
        "device": device,
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "threads": int(threads),
        "torch": _version("torch"),
        "torchvision": _version("torchvision"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    if gpu_name is not None:
        info["gpu_name"] = gpu_name
    return info
