"""The real FIFO queue of one edge server, kept incrementally (the cost model of the GSPI family).

Shi et al. 2021 (GSPI, section 2.1) give every edge server one task at a time; tasks that reach
it wait in arrival order, and tasks that arrive at the same instant are served
first-generated-first (the FGFS rule under eq. 7). :class:`FifoServer` holds the tasks assigned
to one server sorted by the project's service order (:func:`~splitinfer.system.order.service_key`:
arrival at the server, generation time, generation index, all priorities 0), which is exactly
the order in which the simulator serves a single-slot resource when all priorities are equal,
and the start and end time of every task:

    start_i = max(ready_i, end_{i-1}),    end_i = start_i + work_i.

Inserting or removing a task changes only the tasks after it, and only until the first one whose
start does not move (the server idled before it), so each update costs O(log n) to find the
position plus the length of the busy period that follows it. Evaluating where a new task would
start is O(log n) (its predecessor's end). This is what makes GSPI (Alg. 2) run in
O(N log N + N x busy period) rather than the paper's O(N^2) sum of eq. (7) (section 3.3).

A server with unlimited concurrency (``concurrency: null``) never queues: start = ready.

The floating-point operations are the simulator's: ``end = start + work`` with ``start`` the later
of the two instants, and keys use the ready time rounded to 12 decimals as the engine does, so
the times here equal the simulated ones exactly (up to the engine's 1e-12 batching of
simultaneous events).

Examples
--------
Two tasks of 5 ms and 3 ms reach an idle server at 10 ms and 12 ms; the second waits 3 ms.
A third task of 1 ms reaching it at 11 ms goes between them and pushes the last one back:

>>> q = FifoServer()
>>> q.insert(queue_key(0.010, 0.0, 0), 0.010, 0.005)
(0, 0.015, 0.0)
>>> q.insert(queue_key(0.012, 0.0, 1), 0.012, 0.003)
(1, 0.018, 0.0)
>>> q.start_if_inserted(queue_key(0.011, 0.0, 2), 0.011)
0.015
>>> pos, end, pushed = q.insert(queue_key(0.011, 0.0, 2), 0.011, 0.001)
>>> pos, round(end, 9), round(pushed, 9)
(1, 0.016, 0.001)
>>> [round(e, 9) for e in q.end]
[0.015, 0.016, 0.019]
>>> round(q.remove(queue_key(0.011, 0.0, 2)), 9)
-0.001
>>> [round(e, 9) for e in q.end]
[0.015, 0.018]
"""

from __future__ import annotations

from bisect import bisect_left
from typing import NamedTuple

from splitinfer.system.order import service_key

__all__ = ["Key", "FifoServer", "queue_key"]


class Key(NamedTuple):
    """Service order at a server (:func:`splitinfer.system.order.service_key`): priority (0 in
    this model), arrival there (rounded as the engine batches events), generation time,
    generation index (FGFS on ties)."""

    priority: float
    ready: float
    arrival: float
    index: int


def queue_key(ready: float, arrival: float, index: int) -> Key:
    """The key the simulator sorts a waiting stage by, with the ready time rounded to 12 decimals
    (events within 1e-12 s are one batch in the engine).

    Examples
    --------
    >>> queue_key(0.1 + 0.2, 0.0, 3) == queue_key(0.3, 0.0, 3)
    True
    """
    return Key(*service_key(0.0, round(ready, 12), arrival, index))


class FifoServer:
    """Tasks assigned to one server, in service order, with their start and end times.

    Parameters
    ----------
    unlimited : bool
        True for a server with unlimited concurrency (no task ever waits).

    Attributes
    ----------
    keys, ready, work, end : list
        Parallel lists in service order.
    busy : float
        Sum of ``work`` (the server's total load).
    """

    __slots__ = ("unlimited", "keys", "ready", "work", "end", "busy")

    def __init__(self, unlimited: bool = False) -> None:
        self.unlimited = unlimited
        self.keys: list[Key] = []
        self.ready: list[float] = []
        self.work: list[float] = []
        self.end: list[float] = []
        self.busy = 0.0

    def __len__(self) -> int:
        return len(self.keys)

    def start_if_inserted(self, key: Key, ready: float) -> float:
        """When a task with this key and ready time would start (the queue is not changed)."""
        if self.unlimited:
            return ready
        pos = bisect_left(self.keys, key)
        if pos == 0:
            return ready
        prev = self.end[pos - 1]
        return ready if ready >= prev else prev

    def work_before(self, key: Key) -> float:
        """Sum of the work of the tasks served before ``key`` (eq. (7)'s first two sums)."""
        pos = bisect_left(self.keys, key)
        return float(sum(self.work[:pos]))

    def position(self, key: Key) -> int:
        """Index of the task with exactly this key (``ValueError`` if it is not queued)."""
        pos = bisect_left(self.keys, key)
        if pos == len(self.keys) or self.keys[pos] != key:
            raise ValueError(f"no task with key {key} in this queue")
        return pos

    def _start(self, pos: int, ready: float) -> float:
        """Start of a task ready at ``ready`` queued at ``pos`` (after the task before it)."""
        if self.unlimited or pos == 0:
            return ready
        prev = self.end[pos - 1]
        return ready if ready >= prev else prev

    def _cascade(self, pos: int, prev: float | None = None, *, apply: bool = True) -> float:
        """Recompute start/end from ``pos`` on until an end stops moving; return the sum of moves.

        The task before ``pos`` ends at ``prev`` (default: as queued). ``apply=False`` only
        measures the moves, leaving the queue as it is.
        """
        if self.unlimited:
            return 0.0
        ready, work, end = self.ready, self.work, self.end
        if prev is None:
            prev = end[pos - 1] if pos > 0 else float("-inf")
        moved = 0.0
        for i in range(pos, len(end)):
            r = ready[i]
            new = (r if r >= prev else prev) + work[i]
            if new == end[i]:
                break
            moved += new - end[i]
            if apply:
                end[i] = new
            prev = new
        return moved

    def insert_cost(self, key: Key, ready: float, work: float) -> tuple[float, float]:
        """What :meth:`insert` would return as ``(its end, delay added to later tasks)``,
        without changing the queue.

        Examples
        --------
        >>> q = FifoServer()
        >>> _ = q.insert(queue_key(0.0, 0.0, 0), 0.0, 0.004)
        >>> _ = q.insert(queue_key(0.002, 0.0, 1), 0.002, 0.004)
        >>> [round(x, 9) for x in q.insert_cost(queue_key(0.001, 0.0, 2), 0.001, 0.001)]
        [0.005, 0.001]
        >>> len(q)
        2
        """
        pos = bisect_left(self.keys, key)
        end = self._start(pos, ready) + work
        return end, self._cascade(pos, end, apply=False)

    def insert(self, key: Key, ready: float, work: float) -> tuple[int, float, float]:
        """Queue a task; return ``(position, its end, total delay it adds to later tasks)``."""
        pos = bisect_left(self.keys, key)
        end = self._start(pos, ready) + work
        self.keys.insert(pos, key)
        self.ready.insert(pos, ready)
        self.work.insert(pos, work)
        self.end.insert(pos, end)
        self.busy += work
        pushed = self._cascade(pos + 1) if pos + 1 < len(self.end) else 0.0
        return pos, end, pushed

    def remove(self, key: Key) -> float:
        """Take a task out; return the total change of the later tasks' ends (<= 0)."""
        pos = self.position(key)
        self.busy -= self.work[pos]
        for lst in (self.keys, self.ready, self.work, self.end):
            del lst[pos]
        if pos == len(self.end):
            return 0.0
        return self._cascade(pos)
