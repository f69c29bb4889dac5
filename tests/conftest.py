"""Test-wide settings.

Tests run two at a time on a 2-core CI machine (pytest-xdist), so torch is limited to one
thread per test process: with its default (all cores) every worker would oversubscribe the CPU.
"""

from __future__ import annotations

import os
import sys

import pytest

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Pin torch to one intra-op thread for every test that has imported it."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != 1:
        torch.set_num_threads(1)
    yield
