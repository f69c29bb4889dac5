"""Timing callables: warm-up, interleaved repeats, and the statistics a profile stores.

Interleaving
------------
:func:`time_interleaved` times several callables *round-robin*: each pass runs every callable once,
in order, and a measurement is ``repeats`` passes (after ``warmup`` untimed passes). The machines
that generate shipped profiles are shared, and their load drifts over seconds and minutes. Timed
one after the other in blocks, callable A could fall into a quiet minute and callable B into a busy
one, and the profile would show a difference that is only the load; timed round-robin, every
callable sees the same mixture of quiet and busy moments, so load scales all of them alike and
the *shape* of a profile (which layer or cut costs more) survives. For the layers of a model one
pass is one forward pass, node by node, which also keeps the caches as warm as in a real run.

Clocks
------
On the CPU every call is timed with :func:`time.perf_counter_ns`. On CUDA every call is bracketed by
two ``torch.cuda.Event(enable_timing=True)`` recorded on the current stream and the device is
synchronised after each pass (kernel launches are asynchronous, so a host timer would measure the
launch, not the work); the event pairs give per-call device times.

Statistic
---------
The summary statistic stored as ``latency_s`` is the *interquartile mean*: the sorted repeats lose
``max(1, floor(0.25 n))`` values at each end (none when ``n < 3``) and the rest are averaged. The
machines that generate shipped profiles are shared: on a 2-core machine with a load of 6, a repeat
is now and then preempted for a scheduler time slice of several milliseconds, a thousand times the
cost of a small layer, and up to a quarter of the repeats can be hit. The interquartile mean
ignores those and still averages the middle half, so it keeps the expected-time meaning that sums
of stage times and queueing formulas need better than the median does; cutting at least one value
at each end keeps it robust for the few repeats used for segments. Median and standard deviation
of all repeats are stored beside it (the standard deviation includes the disturbed repeats).

Examples
--------
>>> t = time_interleaved([lambda: sum(range(100)), lambda: sum(range(10))], repeats=5, warmup=1)
>>> t.shape, bool((t > 0).all())
((2, 5), True)
>>> # two of ten repeats disturbed by another process:
>>> summarize(np.array([1.0] * 8 + [100.0, 300.0]))  # doctest: +ELLIPSIS
(1.0, 1.0, 91.3..., 10)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["time_interleaved", "time_callable", "summarize", "TRIM", "TIMER_NAME"]

TRIM = 0.25


def time_interleaved(fns: Sequence[Callable[[], Any]], repeats: int, warmup: int,
                     device: str = "cpu") -> np.ndarray:
    """Time callables round-robin; return seconds per call, shape ``(len(fns), repeats)``.

    Parameters
    ----------
    fns : sequence of callable
        Zero-argument callables (the caller closes over the inputs and disables autograd).
    repeats : int
        Number of timed passes (>= 1); each pass calls every callable once, in order.
    warmup : int
        Number of untimed passes before (>= 0).
    device : str
        ``"cpu"`` (host timer) or ``"cuda"`` (CUDA events, synchronised after each pass).

    Returns
    -------
    numpy.ndarray
        ``out[i, r]`` is the time of ``fns[i]`` in pass ``r``, seconds.
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got {repeats}, {warmup}")
    fns = list(fns)
    for _ in range(warmup):
        for fn in fns:
            fn()
    out = np.empty((len(fns), repeats))
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
        for r in range(repeats):
            events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
                      for _ in fns]
            for fn, (start, end) in zip(fns, events, strict=True):
                start.record()
                fn()
                end.record()
            torch.cuda.synchronize()
            out[:, r] = [s.elapsed_time(e) * 1e-3 for s, e in events]
        return out
    clock = time.perf_counter_ns
    for r in range(repeats):
        for i, fn in enumerate(fns):
            t0 = clock()
            fn()
            out[i, r] = (clock() - t0) * 1e-9
    return out


def time_callable(fn: Callable[[], Any], repeats: int, warmup: int, device: str = "cpu") -> np.ndarray:
    """Time one callable: :func:`time_interleaved` with one entry; shape ``(repeats,)``.

    Examples
    --------
    >>> time_callable(lambda: None, repeats=3, warmup=0).shape
    (3,)
    """
    return time_interleaved([fn], repeats, warmup, device)[0]


def summarize(times: np.ndarray) -> tuple[float, float, float, int]:
    """Return ``(interquartile mean, median, std, n)`` of per-run times in seconds (module docstring).

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
