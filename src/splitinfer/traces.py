"""Bandwidth that changes over time: piecewise-constant rate traces (bottom layer, NumPy only).

A :class:`BandwidthTrace` is a sequence of steps: from ``times[i]`` on, the link delivers
``rates[i]`` bit/s, until the next step. ``times[0]`` is 0. A trace either repeats with a
``period`` (the steps cover ``[0, period)`` and start again, as Mahimahi loops its traces) or
does not, in which case the last rate holds for ever.

Two file formats are read (through :func:`splitinfer.datafile.read_text`: regular files only,
bounded size, one-line errors):

* **CSV** (``.csv``): a header naming ``time_s`` and one rate column, ``rate_bps``,
  ``rate_kbps``, ``rate_mbps`` or ``rate_gbps``; then one row per step, times increasing from 0.
  Lines starting with ``#`` are comments.
* **Mahimahi** packet-delivery traces (any other name): one integer per line, a millisecond
  timestamp at which one 1500-byte packet can be delivered; the same timestamp on several lines
  means several packets in that millisecond. The packets of timestamp ``k`` become the rate of
  the millisecond ending at ``k`` (``count * 12000`` bit per ms), so the fluid trace has
  delivered exactly the packets of timestamps ``<= k`` at ``k`` ms. Repeated, the period is the
  last timestamp, as in Mahimahi's ``mm-link``.

A transfer of ``b`` bits that starts at ``s`` ends when the cumulative delivered bits reach
``B(s) + b`` (:meth:`BandwidthTrace.finish`): the integral of the rate, computed exactly with a
binary search over the cumulative bits at the step starts. :func:`finish_time` is the same
computation on plain arrays, which the compiled simulator (:mod:`splitinfer.sim._kernel`)
compiles unchanged.

Examples
--------
8 Mbit/s for one second, then 2 Mbit/s. 1 MB (8 Mbit) sent from 0.5 s: 4 Mbit in the first
half second, the other 4 Mbit at 2 Mbit/s take 2 s, so it ends at 3 s:

>>> tr = BandwidthTrace([0.0, 1.0], [8e6, 2e6])
>>> tr.finish(0.5, 8e6)
3.0
>>> tr.rate_at(2.0), tr.delivered(3.0)
(2000000.0, 12000000.0)
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from splitinfer.datafile import DataFileError, read_text

__all__ = ["BandwidthTrace", "TracedTransfer", "finish_time", "read_trace", "MTU_BITS",
           "TraceError"]

#: Bits in one Mahimahi delivery opportunity (one 1500-byte packet).
MTU_BITS = 1500 * 8
_RATE_UNITS = {"rate_bps": 1.0, "rate_kbps": 1e3, "rate_mbps": 1e6, "rate_gbps": 1e9}
#: Most steps a trace may have (a Mahimahi trace of one hour has 3.6 million milliseconds).
MAX_STEPS = 4_000_000


class TraceError(DataFileError):
    """A bandwidth trace that cannot be read or used (one line, naming the file)."""


def finish_time(start: float, bits: float, t: Any, c: Any, r: Any, lo: int, hi: int,
                period: float, total: float) -> float:
    """When ``bits`` bits sent from ``start`` are delivered on the steps ``lo:hi`` of the arrays.

    ``t`` are step start times (``t[lo] == 0``), ``r`` their rates and ``c`` the bits delivered
    by each step start; ``period`` > 0 repeats the steps every ``period`` seconds (delivering
    ``total`` bits per period), ``period == 0`` keeps the last rate for ever. Plain scalar code,
    so that the compiled simulator can compile it as it is.

    Examples
    --------
    >>> t, c, r = [0.0, 1.0], [0.0, 8.0], [8.0, 2.0]
    >>> finish_time(0.5, 8.0, t, c, r, 0, 2, 0.0, 0.0)
    3.0
    >>> finish_time(1.5, 10.0, t, c, r, 0, 2, 2.0, 10.0)   # 1 bit by 2 s, 8 by 3 s, 1 more
    3.5
    """
    if bits <= 0.0:
        return start
    x0 = start
    m0 = 0.0
    if period > 0.0:
        m0 = math.floor(start / period)
        x0 = start - m0 * period
    i, b = lo, hi  # the step in force at x0: last i with t[i] <= x0
    while b - i > 1:
        mid = (i + b) >> 1
        if t[mid] <= x0:
            i = mid
        else:
            b = mid
    if period > 0.0:
        target = m0 * total + c[i] + r[i] * (x0 - t[i]) + bits
        m = math.floor(target / total)
        y = target - m * total
        if y <= 0.0:
            m -= 1
            y += total
        base = m * period
    else:
        y = c[i] + r[i] * (start - t[i]) + bits
        base = 0.0
    # the step in which the cumulative bits reach y: last j with c[j] < y
    a, b = lo, hi
    while b - a > 1:
        mid = (a + b) >> 1
        if c[mid] < y:
            a = mid
        else:
            b = mid
    if r[a] <= 0.0:
        return math.inf
    return base + t[a] + (y - c[a]) / r[a]


class BandwidthTrace:
    """A piecewise-constant rate over time (see the module docstring).

    Parameters
    ----------
    times : array_like
        Step start times in seconds, strictly increasing, the first 0.
    rates : array_like
        Rate of each step in bit/s (>= 0).
    period : float, optional
        Repeat the steps every ``period`` seconds (> the last step time). ``None``: no repeat,
        the last rate holds for ever (it must then be > 0).
    window : float
        Seconds over which :meth:`rate_in_force` averages (0: the step's own rate). Mahimahi
        traces change every millisecond, so their rate in force is averaged over the last
        ``window`` seconds.
    name : str
        Where the trace came from (messages, plots).

    Examples
    --------
    >>> tr = BandwidthTrace([0, 2], [10e6, 0], period=3)
    >>> tr.delivered(7.0), tr.finish(2.5, 5e6)     # 2 periods (40 Mbit) + 1 s at 10 Mbit/s
    (50000000.0, 3.5)
    >>> tr.mean_rate()
    6666666.666666667
    """

    def __init__(self, times: Any, rates: Any, period: float | None = None, window: float = 0.0,
                 name: str = "<trace>") -> None:
        t = np.asarray(times, float).ravel()
        r = np.asarray(rates, float).ravel()
        if len(t) == 0 or len(t) != len(r):
            raise TraceError(f"trace {name}: needs one rate per step time and at least one step")
        if len(t) > MAX_STEPS:
            raise TraceError(f"trace {name}: {len(t)} steps, more than the {MAX_STEPS} allowed")
        if not (np.isfinite(t).all() and np.isfinite(r).all()):
            raise TraceError(f"trace {name}: times and rates must be finite numbers")
        if t[0] != 0:
            raise TraceError(f"trace {name}: the first step must start at time 0, not {t[0]:g}")
        if (np.diff(t) <= 0).any():
            raise TraceError(f"trace {name}: step times must be strictly increasing")
        if (r < 0).any():
            raise TraceError(f"trace {name}: rates must be >= 0")
        if period is not None:
            if not period > t[-1]:
                raise TraceError(f"trace {name}: the period {period:g} s must be longer than the "
                                 f"last step time {t[-1]:g} s")
        elif r[-1] <= 0:
            raise TraceError(f"trace {name}: does not repeat and its last rate is 0, so a "
                             "transfer after it would never end (repeat it, or end on a rate > 0)")
        if window < 0:
            raise TraceError(f"trace {name}: window must be >= 0")
        c = np.zeros(len(t))
        np.cumsum(r[:-1] * np.diff(t), out=c[1:])
        self.times, self.rates, self.cum = t, r, c
        self.period = None if period is None else float(period)
        self.total = 0.0 if period is None else float(c[-1] + r[-1] * (period - t[-1]))
        if period is not None and self.total <= 0:
            raise TraceError(f"trace {name}: delivers nothing in its period")
        self.window = float(window)
        self.name = name
        #: How the trace was read (``read_trace``'s arguments, the file as an absolute path), so
        #: that a scenario written back to a file (the runtime's) names the same trace.
        self.source: dict[str, Any] | None = None
        for a in (t, r, c):
            a.setflags(write=False)

    def __repr__(self) -> str:
        rep = f", period={self.period:g}" if self.period else ""
        return f"BandwidthTrace({self.name!r}, {len(self.times)} steps{rep})"

    def __reduce__(self):  # pickles by value (sweeps send scenarios to worker processes)
        return (_rebuild, (self.times, self.rates, self.period, self.window, self.name,
                           self.source))

    # ------------------------------------------------------------------ reading
    @property
    def repeats(self) -> bool:
        """True when the trace loops."""
        return self.period is not None

    @property
    def end(self) -> float:
        """The time the steps cover: the period, or the last step's start."""
        return self.period if self.period is not None else float(self.times[-1])

    def _local(self, t: Any) -> np.ndarray:
        t = np.asarray(t, float)
        if self.period is None:
            return t
        return np.mod(t, self.period)

    def rate_at(self, t: Any) -> Any:
        """The step rate (bit/s) at time ``t`` (scalar or array)."""
        i = np.searchsorted(self.times, self._local(t), side="right") - 1
        out = self.rates[np.maximum(i, 0)]
        return float(out) if np.ndim(out) == 0 else out

    def delivered(self, t: Any) -> Any:
        """Bits delivered from time 0 to ``t`` (the integral of the rate)."""
        t = np.asarray(t, float)
        x = self._local(t)
        i = np.maximum(np.searchsorted(self.times, x, side="right") - 1, 0)
        out = self.cum[i] + self.rates[i] * (x - self.times[i])
        if self.period is not None:
            out = out + np.floor(t / self.period) * self.total
        return float(out) if np.ndim(out) == 0 else out

    def mean_rate(self, t0: float = 0.0, t1: float | None = None) -> float:
        """Mean rate over ``[t0, t1]`` (default: over the trace's steps or its period)."""
        t1 = self.end if t1 is None else t1
        if t1 <= t0:
            return self.rate_at(t0)
        return (self.delivered(t1) - self.delivered(t0)) / (t1 - t0)

    def rate_in_force(self, t: float) -> float:
        """The rate a planner deciding at ``t`` sees: the step's rate, or (with a ``window``)
        the mean over the last ``window`` seconds (the first ``window`` seconds near 0)."""
        if self.window <= 0:
            return self.rate_at(t)
        lo = max(0.0, t - self.window)
        return self.mean_rate(lo, lo + self.window)

    def finish(self, start: float, bits: float) -> float:
        """When ``bits`` bits sent from ``start`` are all delivered (``inf`` if never)."""
        return float(finish_time(float(start), float(bits), self.times, self.cum, self.rates, 0,
                                 len(self.times), self.period or 0.0, self.total))

    def coarse(self, step: float, until: float) -> tuple[np.ndarray, np.ndarray]:
        """Mean rates over windows of ``step`` seconds from 0 to ``until`` (what a shaper that
        cannot change its rate every millisecond, ``tc``, applies); consecutive equal means
        merged."""
        edges = np.arange(math.ceil(until / step) + 1) * step
        means = np.diff(self.delivered(edges)) / step
        keep = np.r_[True, ~np.isclose(means[1:], means[:-1], rtol=1e-9, atol=1e-6)]
        return edges[:-1][keep], means[keep]

    def scaled(self, factor: float) -> BandwidthTrace:
        """The trace with every rate multiplied by ``factor`` (> 0)."""
        return BandwidthTrace(self.times, self.rates * factor, self.period, self.window,
                              self.name)

    def steps(self, until: float) -> tuple[np.ndarray, np.ndarray]:
        """Step times and rates from 0 up to ``until`` seconds, repeating as the trace does
        (what a shaper applies)."""
        if self.period is None:
            keep = self.times < until
            return self.times[keep], self.rates[keep]
        n = max(1, math.ceil(until / self.period))
        t = (self.times[None, :] + self.period * np.arange(n)[:, None]).ravel()
        r = np.tile(self.rates, n)
        keep = t < until
        return t[keep], r[keep]


def _rebuild(times, rates, period, window, name, source) -> BandwidthTrace:
    trace = BandwidthTrace(times, rates, period, window, name)
    trace.source = source
    return trace


@dataclass(frozen=True, slots=True)
class TracedTransfer:
    """A transfer timed on a trace: ``bits`` (already multiplied by the link's slowdown) start
    entering the link when the transfer starts; it ends ``latency`` seconds after the last bit.

    Examples
    --------
    >>> TracedTransfer(BandwidthTrace([0, 1], [8e6, 2e6]), 8e6, 0.01).end(0.5)
    3.01
    """

    trace: BandwidthTrace
    bits: float
    latency: float = 0.0

    def end(self, start: float) -> float:
        """When the transfer that starts at ``start`` ends."""
        return self.trace.finish(start, self.bits) + self.latency


# ---------------------------------------------------------------------- files
def _csv(text: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise TraceError(f"trace {name}: empty (expected a header 'time_s,rate_mbps' and rows)")
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    header = [h.strip().lower() for h in rows[0]]
    units = [h for h in header if h in _RATE_UNITS]
    if "time_s" not in header or len(units) != 1:
        raise TraceError(f"trace {name}: the header must name 'time_s' and one of "
                         f"{', '.join(_RATE_UNITS)}; got {','.join(header)!r}")
    ti, ri = header.index("time_s"), header.index(units[0])
    times, rates = [], []
    for k, row in enumerate(rows[1:], start=2):
        try:
            times.append(float(row[ti]))
            rates.append(float(row[ri]) * _RATE_UNITS[units[0]])
        except (IndexError, ValueError):
            raise TraceError(f"trace {name}: data row {k - 1} is not two numbers: "
                             f"{','.join(row)!r}") from None
    if not times:
        raise TraceError(f"trace {name}: no rows after the header")
    return np.array(times), np.array(rates)


def _mahimahi(text: str, name: str) -> tuple[np.ndarray, np.ndarray, float]:
    words = text.split()
    # ASCII digits only, at most 18 of them (int64), so that int() cannot fail or overflow
    bad = next((w for w in words if not (w.isascii() and w.isdigit() and len(w) <= 18)), None)
    if bad is not None:
        raise TraceError(f"trace {name}: a Mahimahi trace holds one integer millisecond "
                         f"timestamp (>= 0, at most 18 digits) per line, got {bad[:30]!r}")
    ms = np.array([int(w) for w in words], np.int64)
    if len(ms) == 0:
        raise TraceError(f"trace {name}: no timestamps")
    if (ms < 0).any() or (np.diff(ms) < 0).any():
        raise TraceError(f"trace {name}: timestamps must be >= 0 and non-decreasing")
    last = int(ms[-1])
    if last <= 0:
        raise TraceError(f"trace {name}: the last timestamp must be > 0 ms")
    if last > MAX_STEPS:
        raise TraceError(f"trace {name}: {last} ms long, more than {MAX_STEPS} ms")
    # packets of timestamp k are delivered during the millisecond (k-1, k]; timestamp 0 is the
    # same instant as the period's end (Mahimahi's loop), so it counts in the last millisecond
    counts = np.bincount((ms - 1) % last, minlength=last).astype(float)
    rate = counts * MTU_BITS * 1000.0
    change = np.flatnonzero(np.r_[True, rate[1:] != rate[:-1]])
    return change / 1000.0, rate[change], last / 1000.0


def read_trace(path: str | Path, *, fmt: str | None = None, repeat: bool = False,
               period: float | None = None, window: float | None = None,
               scale: float = 1.0) -> BandwidthTrace:
    """Read a CSV or Mahimahi trace file (see the module docstring).

    Parameters
    ----------
    path : str or Path
        The file.
    fmt : {"csv", "mahimahi"}, optional
        Default: ``csv`` for a ``.csv`` name, else ``mahimahi``.
    repeat : bool
        Loop the trace. A Mahimahi trace's period is its last timestamp; a CSV trace needs
        ``period``.
    period : float, optional
        Seconds after which a repeated trace starts again (CSV; overrides Mahimahi's).
    window : float, optional
        Averaging window of :meth:`BandwidthTrace.rate_in_force`; default 0 for CSV, 0.1 s for
        Mahimahi.
    scale : float
        Multiply every rate (e.g. to fit a trace to another network).

    Raises
    ------
    TraceError
        One line naming the file: unreadable, malformed, or inconsistent options.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "cell.mahi"
    >>> _ = p.write_text("1\\n1\\n2\\n4\\n")      # 2 packets at 1 ms, 1 at 2 ms, 1 at 4 ms
    >>> tr = read_trace(p, repeat=True)
    >>> tr.times.tolist(), tr.rates.tolist(), tr.period
    ([0.0, 0.001, 0.002, 0.003], [24000000.0, 12000000.0, 0.0, 12000000.0], 0.004)
    >>> tr.finish(0.0, 3 * MTU_BITS)             # the third packet goes at 2 ms
    0.002
    """
    p = Path(path)
    fmt = fmt or ("csv" if p.suffix.lower() == ".csv" else "mahimahi")
    if fmt not in ("csv", "mahimahi"):
        raise TraceError(f"trace {p}: unknown format {fmt!r} (csv or mahimahi)")
    text = read_text(p, what="bandwidth trace", error=TraceError)
    if fmt == "csv":
        times, rates = _csv(text, str(p))
        if repeat and period is None:
            raise TraceError(f"trace {p}: a repeated CSV trace needs 'period' (seconds after "
                             "which it starts again)")
        win = 0.0 if window is None else window
    else:
        times, rates, last = _mahimahi(text, str(p))
        period = period if period is not None else last
        win = 0.1 if window is None else window
    if not scale > 0:
        raise TraceError(f"trace {p}: scale must be > 0")
    trace = BandwidthTrace(times, rates * scale, period if repeat else None, win, str(p))
    trace.source = {"trace": str(p.resolve()), "format": fmt, "repeat": bool(repeat),
                    **({"period": float(period)} if period is not None and fmt == "csv" else {}),
                    "window": win, "scale": float(scale)}
    return trace
