"""What several benchmark scripts share: the ``meta`` block of their results file.

Not a benchmark itself (``run_all.py`` runs only ``bench_*.py``). The scripts run as
``python benchmarks/bench_<name>.py``, so this folder is on ``sys.path`` and they import it as
``_common``. The machine facts come from :mod:`splitinfer.machine`.
"""

from __future__ import annotations

import os
import time
from typing import Any

from splitinfer.machine import machine_info


def run_meta(**extra: Any) -> dict[str, Any]:
    """The machine a benchmark ran on, its load at the end and the local time, plus ``extra``.

    Keys: ``machine`` (CPU model), ``logical_cpus``, ``python``, ``loadavg_end``
    (:func:`os.getloadavg`), ``date`` (``YYYY-MM-DD HH:MM``), then ``extra``.
    """
    info = machine_info()
    return {"machine": info["cpu_model"], "logical_cpus": info["logical_cpus"],
            "python": info["python"], "loadavg_end": os.getloadavg(),
            "date": time.strftime("%Y-%m-%d %H:%M"), **extra}


def print_machine(meta: dict[str, Any]) -> None:
    """Print the one-line machine summary under a benchmark's table."""
    print(f"\nmachine: {meta['machine']}, {meta['logical_cpus']} logical CPUs, "
          f"load average at the end {meta['loadavg_end']}")
