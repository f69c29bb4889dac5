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

__all__ = ["cpu_model", "load_average", "busy_cpu_seconds", "children_cpu_seconds",
           "package_version", "machine_info"]


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


def busy_cpu_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot, all CPUs together (user, nice,
    system, interrupts; not idle, I/O wait or time stolen by a hypervisor), from
    :func:`psutil.cpu_times`; ``None`` without psutil.

    The difference over an interval, less what one's own processes used
    (:func:`children_cpu_seconds`), is what *others* ran meanwhile: unlike the load average,
    it does not count one's own processes.

    Examples
    --------
    >>> a = busy_cpu_seconds()
    >>> a is None or busy_cpu_seconds() >= a
    True
    """
    try:
        import psutil
    except ImportError:
        return None
    t = psutil.cpu_times()
    return float(sum(getattr(t, k, 0.0) for k in ("user", "nice", "system", "irq", "softirq")))


def children_cpu_seconds() -> float:
    """User and system CPU seconds of this process and of its waited-for descendants
    (:func:`resource.getrusage`; this process alone where that is missing).

    Examples
    --------
    >>> children_cpu_seconds() > 0
    True
    """
    try:
        import resource
    except ImportError:  # Windows
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


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
