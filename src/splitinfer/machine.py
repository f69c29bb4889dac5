"""The machine a measurement ran on: CPU model, cores, load, versions, date.

Bottom layer (like :mod:`splitinfer.units`): usable from every layer, the benchmarks and the
profiler alike, so that the provenance of a number is read in one place. Nothing here imports
torch; its version is read from the installed distribution's metadata.

Examples
--------
>>> info = machine_info()
>>> sorted(info)  # doctest: +NORMALIZE_WHITESPACE
['cpu_model', 'date', 'load_average', 'logical_cpus', 'machine', 'platform', 'python',
 'torch']
>>> isinstance(cpu_model(), str) and cpu_model() != ""
True
>>> package_version("surely-not-a-distribution")
'not installed'
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

__all__ = ["cpu_model", "load_average", "package_version", "machine_info"]


def cpu_model() -> str:
    """The CPU model name.

    Returns
    -------
    str
        The ``model name`` line of ``/proc/cpuinfo`` (Linux), else :func:`platform.processor`,
        else :func:`platform.machine`, else ``"unknown"``.

    Examples
    --------
    >>> len(cpu_model()) > 0
    True
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages, rounded to 0.01.

    Returns
    -------
    list of float
        ``os.getloadavg()`` rounded, or ``[]`` where the platform has none.

    Examples
    --------
    >>> len(load_average()) in (0, 3)
    True
    """
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return []


def package_version(dist: str) -> str:
    """The installed version of distribution ``dist`` (without importing it).

    Parameters
    ----------
    dist : str
        Distribution name, e.g. ``"torch"``.

    Returns
    -------
    str
        Its version, or ``"not installed"``.

    Examples
    --------
    >>> package_version("numpy") != "not installed"
    True
    """
    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def machine_info() -> dict[str, Any]:
    """Where a number was measured, as one JSON-ready dict.

    Returns
    -------
    dict
        ``cpu_model`` (:func:`cpu_model`), ``logical_cpus`` (:func:`os.cpu_count`),
        ``load_average`` (:func:`load_average`), ``python`` (``X.Y.Z``), ``platform``
        (:func:`platform.platform`), ``machine`` (the architecture, :func:`platform.machine`),
        ``torch`` (:func:`package_version`, ``"not installed"`` without torch) and ``date`` (UTC,
        ISO 8601 to the second).

    Examples
    --------
    >>> info = machine_info()
    >>> info["python"] == platform.python_version(), info["date"].endswith("+00:00")
    (True, True)
    """
    return {
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "load_average": load_average(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "torch": package_version("torch"),
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
