"""The resource book of DeePar's online scheduler: what every scheduled task holds, and when.

Huang et al. 2019 section III: a task holds its reserved bandwidths b1 (device -> edge) and b2 (edge ->
cloud) "once the connection is established" and one of the edge server's r_e slots (eqs. 8-10)
for as long as it runs; Alg. 1 adds a task to the running set I at its start and removes it at
its end. A :class:`Ledger` keeps these holdings as intervals ``[start, end)`` with an amount per
resource, so that Alg. 1 can ask, for a candidate start time and duration, how much of each
resource is left over the whole interval (a task delayed to a future event must not collide
with tasks already booked for later).

Resources are plain names with a capacity: ``"slot:<node>"`` (a node's concurrency, e.g. r_e),
``"pool:<pool>"`` (a reserved-bandwidth pool, B_e^1 or B_e^2, in bit/s), ``"fifo:<link>"`` (a
link that carries one transfer at a time).

Intervals that touch (one ends where the next starts, up to ``TOL`` seconds of rounding) do not
overlap.

Examples
--------
>>> book = Ledger({"slot:e0": 2, "pool:e0.access": 100.0})
>>> book.book(0.0, 10.0, {"slot:e0": 1, "pool:e0.access": 60.0})
>>> book.book(5.0, 8.0, {"pool:e0.access": 30.0})
>>> book.residual("pool:e0.access", 0.0, 4.0), book.residual("pool:e0.access", 0.0, 6.0)
(40.0, 10.0)
>>> book.residual("pool:e0.access", 10.0, 20.0)
100.0
>>> book.fits({"slot:e0": 1}, 2.0, 3.0), book.times_after(1.0)
(True, [5.0, 8.0, 10.0])
"""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = ["Ledger", "TOL"]

#: Seconds of rounding below which two intervals are taken to touch rather than overlap.
TOL = 1e-9


class Ledger:
    """Booked holdings of resources over time (see the module docstring).

    Parameters
    ----------
    capacity : mapping
        Resource name -> capacity (slots or bit/s). Resources not listed are unlimited.
    """

    def __init__(self, capacity: Mapping[str, float]) -> None:
        self.capacity = dict(capacity)
        self._by_res: dict[str, list[tuple[float, float, float]]] = {}
        self._bookings: list[tuple[float, float]] = []

    def book(self, start: float, end: float, demands: Mapping[str, float]) -> None:
        """Hold ``demands`` (resource -> amount) over ``[start, end)``."""
        self._bookings.append((start, end))
        for res, amount in demands.items():
            if amount > 0:
                self._by_res.setdefault(res, []).append((start, end, float(amount)))

    def forget(self, now: float) -> None:
        """Drop every holding that ended by ``now`` (they can no longer matter)."""
        keep = now + TOL
        self._bookings = [b for b in self._bookings if b[1] > keep]
        for res, items in self._by_res.items():
            self._by_res[res] = [it for it in items if it[1] > keep]

    def peak(self, resource: str, t0: float, t1: float) -> float:
        """The largest amount of ``resource`` held at any instant of ``[t0, t1)``
        (the instant ``t0`` alone when ``t1 <= t0``)."""
        instant = t1 <= t0 + TOL
        items = [(s, e, a) for s, e, a in self._by_res.get(resource, ())
                 if e > t0 + TOL and (s <= t0 + TOL if instant else s < t1 - TOL)]
        if not items:
            return 0.0
        points = [t0] if instant else [t0] + [s for s, _, _ in items if s > t0 + TOL]
        return max(sum(a for s, e, a in items if s <= p + TOL < e) for p in points)

    def residual(self, resource: str, t0: float, t1: float) -> float:
        """Capacity of ``resource`` left over all of ``[t0, t1)`` (``inf`` if unlimited)."""
        cap = self.capacity.get(resource, math.inf)
        if math.isinf(cap):
            return cap
        return cap - self.peak(resource, t0, t1)

    def fits(self, demands: Mapping[str, float], t0: float, t1: float) -> bool:
        """Whether ``demands`` can be held over ``[t0, t1)`` on top of what is booked."""
        return all(amount <= self.residual(res, t0, t1) * (1 + 1e-9) + 1e-12
                   for res, amount in demands.items() if amount > 0)

    def times_after(self, now: float) -> list[float]:
        """The known future events: starts and ends of bookings later than ``now``, sorted."""
        times = {t for b in self._bookings for t in b if t > now + TOL}
        return sorted(times)

    def __len__(self) -> int:
        return len(self._bookings)
