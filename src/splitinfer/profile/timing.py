"""Timing one callable: warm-up, repeats, and the statistics a profile stores.

On the CPU every repeat is timed with :func:`time.perf_counter_ns` around one call. On CUDA every
repeat is bracketed by two ``torch.cuda.Event(enable_timing=True)`` recorded on the current stream
and the device is synchronised once after all repeats (kernel launches are asynchronous, so a host
timer would measure the launch, not the work); the event pairs give per-repeat device times.

The summary statistic stored as ``latency_s`` is a trimmed mean: the sorted repeats lose
``max(1, floor(0.1 n))`` values at each end (none when ``n < 3``) and the rest are averaged. The
machines that generate shipped profiles are shared, and a trimmed mean keeps the expected-time
meaning that sums of stage times and queueing formulas need while ignoring the repeats hit by
another process; cutting at least one value at each end makes it robust also for the few repeats
used for segments (a plain 10 % trim of 5 repeats cuts nothing). Median and standard deviation of
all repeats are stored beside it.

Examples
--------
>>> t = time_callable(lambda: sum(range(100)), repeats=5, warmup=1)
>>> t.shape, bool((t > 0).all())
((5,), True)
>>> # one of ten repeats disturbed by another process:
>>> summarize(np.array([1.0] * 9 + [100.0]))  # doctest: +ELLIPSIS
(1.0, 1.0, 29.69..., 10)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["time_callable", "summarize", "TRIM", "TIMER_NAME"]

TRIM = 0.1


def time_callable(fn: Callable[[], Any], repeats: int, warmup: int, device: str = "cpu") -> np.ndarray:
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` times timed; return seconds per run.

    Parameters
    ----------
    fn : callable
        Zero-argument callable (the caller closes over the inputs and disables autograd).
    repeats : int
        Number of timed runs (>= 1).
    warmup : int
        Number of untimed runs before (>= 0).
    device : str
        ``"cpu"`` (host timer) or ``"cuda"`` (CUDA events, synchronised).

    Returns
    -------
    numpy.ndarray
        Shape ``(repeats,)``, seconds.
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got {repeats}, {warmup}")
    for _ in range(warmup):
        fn()
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
        events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
                  for _ in range(repeats)]
        for start, end in events:
            start.record()
            fn()
            end.record()
        torch.cuda.synchronize()
        return np.array([s.elapsed_time(e) * 1e-3 for s, e in events])
    out = np.empty(repeats)
    clock = time.perf_counter_ns
    for i in range(repeats):
        t0 = clock()
        fn()
        out[i] = (clock() - t0) * 1e-9
    return out


def summarize(times: np.ndarray) -> tuple[float, float, float, int]:
    """Return ``(trimmed mean, median, std, n)`` of per-run times in seconds (module docstring).

    Examples
    --------
    >>> summarize(np.array([2.0, 4.0]))
    (3.0, 3.0, 1.0, 2)
    >>> summarize(np.array([1.0, 1.0, 1.0, 1.0, 50.0]))[0]  # one of five repeats disturbed
    1.0
    """
    t = np.sort(np.asarray(times, dtype=np.float64))
    k = max(1, int(TRIM * t.size)) if t.size >= 3 else 0
    kept = t[k: t.size - k]
    return (float(kept.mean()), float(np.median(t)), float(np.std(t)), int(t.size))


TIMER_NAME = {"cpu": "time.perf_counter_ns", "cuda": "torch.cuda.Event"}
