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
from typing import Any

from splitinfer.machine import cpu_model, load_average, machine_info, package_version

# cpu_model and load_average live in splitinfer.machine; re-exported here for existing callers.
__all__ = ["hardware_info", "cpu_model", "slug", "default_hardware_name", "load_average"]


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
    return info
