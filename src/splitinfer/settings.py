"""Settings that bound what a file may ask of the library, read from the environment.

A scenario or profile file comes from outside; these limits keep a hostile or mistaken one from
taking unbounded time or memory. Each has a sane default and an environment variable that raises
(or lowers) it; the value is read each time it is needed, so a test or a session can change it.

========================== =============== ====================================================
variable                   default         what it bounds
========================== =============== ====================================================
``SPLITINFER_MAX_FILE_BYTES`` 8 MiB        bytes read from one scenario or profile file
``SPLITINFER_MAX_TASKS``   1 000 000       tasks one workload may hold (explicit + generated)
``SPLITINFER_MAX_SAMPLES`` 1 000 000 000   samples summed over a workload's tasks (the work)
========================== =============== ====================================================

The task limit is about memory: a task costs about half a kilobyte as a Python object, and the
simulator and planners keep several arrays per task, so a million tasks already take gigabytes
along the whole pipeline. Limits on the parsed structure (nesting depth and the number of values
after YAML aliases are expanded) are fixed: see :mod:`splitinfer.datafile`.

Examples
--------
>>> max_tasks()
1000000
>>> import os
>>> os.environ["SPLITINFER_MAX_TASKS"] = "12"
>>> max_tasks()
12
>>> os.environ["SPLITINFER_MAX_TASKS"] = "many"
>>> max_tasks()
Traceback (most recent call last):
...
splitinfer.errors.SplitInferError: setting SPLITINFER_MAX_TASKS='many' is not a positive integer
>>> del os.environ["SPLITINFER_MAX_TASKS"]
"""

from __future__ import annotations

import os

from splitinfer.errors import SplitInferError

__all__ = ["max_file_bytes", "max_tasks", "max_samples", "DEFAULTS"]

DEFAULTS = {
    "SPLITINFER_MAX_FILE_BYTES": 8 * 2**20,
    "SPLITINFER_MAX_TASKS": 10**6,
    "SPLITINFER_MAX_SAMPLES": 10**9,
}


def _read(name: str) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return DEFAULTS[name]
    text = raw.strip().replace("_", "")
    if not text.isdigit() or len(text) > 30 or int(text) < 1:
        raise SplitInferError(f"setting {name}={raw[:40]!r} is not a positive integer")
    return int(text)


def max_file_bytes() -> int:
    """Most bytes read from one scenario or profile file (``SPLITINFER_MAX_FILE_BYTES``)."""
    return _read("SPLITINFER_MAX_FILE_BYTES")


def max_tasks() -> int:
    """Most tasks in one workload, explicit and generated (``SPLITINFER_MAX_TASKS``)."""
    return _read("SPLITINFER_MAX_TASKS")


def max_samples() -> int:
    """Most samples summed over a workload's tasks (``SPLITINFER_MAX_SAMPLES``)."""
    return _read("SPLITINFER_MAX_SAMPLES")
