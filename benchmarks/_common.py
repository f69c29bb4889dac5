"""What several benchmark scripts share: the ``meta`` block of their results file.

Not a benchmark itself (``run_all.py`` runs only ``bench_*.py``). The scripts run as
``python benchmarks/bench_<name>.py``, so this folder is on ``sys.path`` and they import it as
``_common``. The machine facts come from :mod:`splitinfer.machine`.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
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


#: The page the benchmarks write their marked blocks into.
DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def write_doc_block(name: str, text: str, doc: Path = DOC) -> bool:
    """Replace the block between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->`` of ``doc``
    with ``text`` (and a line saying which script wrote it, when); False without the markers."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    page = doc.read_text()
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(page):
        return False
    block = "\n".join([begin, f"Written by `benchmarks/{name}.py` on "
                        f"{time.strftime('%Y-%m-%d %H:%M')}:", "", text.rstrip("\n"), end])
    doc.write_text(pattern.sub(lambda _: block, page))
    return True


@contextlib.contextmanager
def printed_into_doc(name: str, enabled: bool = True, doc: Path = DOC) -> Iterator[None]:
    """Print as usual inside the block, and write what was printed into ``doc``'s marked block
    ``name`` (:func:`write_doc_block`) when it ends without an error and ``enabled``."""
    buf = io.StringIO()

    out = sys.stdout

    class _Tee(io.TextIOBase):
        def write(self, s: str) -> int:
            buf.write(s)
            return out.write(s)

    with contextlib.redirect_stdout(_Tee()):
        yield
    if enabled and write_doc_block(name, buf.getvalue(), doc):
        print(f"(written into {doc.name}, block {name})")
