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
On the CPU every call is timed with :func:`time.perf_counter_ns` (wall clock) and, beside it,
:func:`time.thread_time_ns` (CPU time of the calling thread). With one intra-op thread the work
of a call runs on the calling thread, so ``wall - cpu`` is the time the thread was *not* running:
preempted by another process. :func:`interference` turns the two into the share of disturbed
calls, which a profile records as a measure of how busy the machine was. On CUDA every call is
bracketed by two ``torch.cuda.Event(enable_timing=True)`` recorded on the current stream and the
device is synchronised after each pass (kernel launches are asynchronous, so a host timer would
measure the launch, not the work); the event pairs give per-call device times.

Statistic
---------
The summary statistic stored as ``latency_s`` is a *low quantile* of the repeats, the
``QUANTILE`` (20 %) quantile with linear interpolation (:func:`numpy.quantile`). Interference
from other processes only ever adds time to a call (a preempted repeat waits for a scheduler time
slice of several milliseconds, a thousand times the cost of a small layer; a polluted cache makes
the next calls slower), so the undisturbed cost of a call is near the bottom of its distribution.
The minimum would be the purest estimate but is the most sensitive to one lucky repeat (a timer
tick, a branch-predictor state that a real run never sees); the 20 % quantile sits just above it
and stays put when up to 80 % of the repeats are disturbed, where a mean or an interquartile mean
moves with the load (the profiles shipped before this estimator were measured at a load of 6-10
on 2 cores, and their segments disagreed with the whole model by up to 70 %). Median and standard
deviation of all repeats are stored beside it (the standard deviation includes the disturbed
repeats).

Examples
--------
>>> t = time_interleaved([lambda: sum(range(100)), lambda: sum(range(10))], repeats=5, warmup=1)
>>> t.shape, bool((t > 0).all())
((2, 5), True)
>>> # six of ten repeats disturbed by another process:
>>> summarize(np.array([1.0] * 4 + [5.0, 9.0, 40.0, 100.0, 300.0, 7.0]))[:2]
(1.0, 6.0)
>>> interference(np.array([1e-3, 5e-3]), np.array([1e-3, 1e-3]))  # the second call was preempted
0.5
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["time_interleaved", "time_callable", "summarize", "interference", "QUANTILE",
           "TIMER_NAME"]

#: The quantile of the repeats stored as ``latency_s`` (module docstring).
QUANTILE = 0.2

#: A call counts as disturbed when its wall time exceeds its thread CPU time by this factor ...
DISTURBED_RATIO = 1.2
#: ... plus this many seconds (timer resolution and the cost of reading two clocks).
DISTURBED_SLACK_S = 20e-6


def time_interleaved(fns: Sequence[Callable[[], Any]], repeats: int, warmup: int,
                     device: str = "cpu", *, cpu_times: bool = False
                     ) -> np.ndarray | tuple[np.ndarray, np.ndarray | None]:
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
    cpu_times : bool
        Also return the thread CPU time of every call (``None`` on CUDA), see
        :func:`interference`.

    Returns
    -------
    numpy.ndarray or tuple
        ``out[i, r]`` is the time of ``fns[i]`` in pass ``r``, seconds; with ``cpu_times`` the
        pair ``(wall, cpu)``.

    Examples
    --------
    >>> wall, cpu = time_interleaved([lambda: sum(range(1000))], 3, 0, cpu_times=True)
    >>> wall.shape == cpu.shape == (1, 3)
    True
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
        return (out, None) if cpu_times else out
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    cpu = np.empty((len(fns), repeats))
    for r in range(repeats):
        for i, fn in enumerate(fns):
            c0 = cpu_clock()
            t0 = clock()
            fn()
            t1 = clock()
            cpu[i, r] = (cpu_clock() - c0) * 1e-9
            out[i, r] = (t1 - t0) * 1e-9
    return (out, cpu) if cpu_times else out


def time_callable(fn: Callable[[], Any], repeats: int, warmup: int, device: str = "cpu") -> np.ndarray:
    """Time one callable: :func:`time_interleaved` with one entry; shape ``(repeats,)``.

    Examples
    --------
    >>> time_callable(lambda: None, repeats=3, warmup=0).shape
    (3,)
    """
    return time_interleaved([fn], repeats, warmup, device)[0]


def summarize(times: np.ndarray) -> tuple[float, float, float, int]:
    """Return ``(low quantile, median, std, n)`` of per-run times in seconds (module docstring).

    Examples
    --------
    >>> summarize(np.array([2.0, 4.0]))
    (2.4, 3.0, 1.0, 2)
    >>> summarize(np.array([1.0, 1.0, 1.0, 50.0, 60.0]))[0]  # two of five repeats disturbed
    1.0
    """
    t = np.asarray(times, dtype=np.float64)
    return (float(np.quantile(t, QUANTILE)), float(np.median(t)), float(np.std(t)), int(t.size))


def interference(wall: np.ndarray, cpu: np.ndarray) -> float:
    """Share of calls that were disturbed: wall time above ``1.2 x`` CPU time ``+ 20 us``.

    Meaningful for one intra-op thread on the CPU (module docstring, *Clocks*); with more threads
    the other threads' work is missing from the calling thread's CPU time.

    Parameters
    ----------
    wall, cpu : numpy.ndarray
        Wall and thread CPU seconds of the same calls (:func:`time_interleaved` with
        ``cpu_times=True``).

    Returns
    -------
    float
        In ``[0, 1]``; 0 for no calls.
    """
    wall, cpu = np.asarray(wall, dtype=float), np.asarray(cpu, dtype=float)
    if wall.size == 0:
        return 0.0
    return float(np.mean(wall > DISTURBED_RATIO * cpu + DISTURBED_SLACK_S))


TIMER_NAME = {"cpu": "time.perf_counter_ns (thread CPU time beside it)", "cuda": "torch.cuda.Event"}
