"""The service order of waiting work: one rule for the simulator, the runtime and the planners.

Work that waits for a resource (a server's slot, a first-come-first-served link) is served in
the order of :func:`service_key`:

1. lower **priority** first — plans that give none have 0 everywhere, so the rule is plain FIFO;
   a plan's priorities impose its own order (Duan & Wu 2021's Johnson order);
2. then the earlier **ready** time: when the work reached the resource;
3. then the earlier **arrival** of its task: when the task was generated;
4. then the smaller generation **index**: first-generated-first-served for tasks generated at
   the same instant (Shi et al. 2021, section 2.2, the rule under eq. 7).

The simulator (:mod:`splitinfer.sim`), the runtime's priority-ordered resources
(:mod:`splitinfer.runtime.shaping`) and GSPI's model of a server's queue
(:mod:`splitinfer.planners.shi2021.queue`) all sort by this key; a caller that needs a total
order appends its own tie-breaks (a stage index, a sequence number) after it.

Examples
--------
>>> waiting = [service_key(0, 2.0, 0.0, 1), service_key(0, 1.0, 0.5, 2), service_key(0, 1.0, 0.5, 0)]
>>> [k[3] for k in sorted(waiting)]
[0, 2, 1]
>>> service_key(-1.0, 9.0, 9.0, 9) < service_key(0.0, 0.0, 0.0, 0)   # priority comes first
True
"""

from __future__ import annotations

__all__ = ["service_key"]


def service_key(priority: float, ready: float, arrival: float, index: int
                ) -> tuple[float, float, float, int]:
    """The sort key of one piece of waiting work (smaller is served first).

    Parameters
    ----------
    priority : float
        The plan's priority of the task (lower first; 0 when the plan gives none).
    ready : float
        When the work reached the resource (seconds).
    arrival : float
        When its task was generated (seconds).
    index : int
        The task's generation index.

    Returns
    -------
    tuple
        ``(priority, ready, arrival, index)``, compared lexicographically.

    Examples
    --------
    >>> service_key(0.0, 0.25, 0.0, 3)
    (0.0, 0.25, 0.0, 3)
    """
    return (priority, ready, arrival, index)
