"""Writing a fused-layer schedule as a ``steps`` TaskPlan that the simulator executes.

Per path, in schedule order: one device compute step (the FLOPs of its layers before the offload
layer, on the path's crop), one transfer of the tensor entering the offload layer, one ES compute
step (the rest of the path); then the fused layer and the rest of the network on the ES (eq. 5)
and a ``return`` step that the simulator times by the
scenario's rule (a constant ``result_return`` delay, 0 s in eq. 6, or the output bytes over
the link back), as
:class:`~splitinfer.planners.li2022.timing.Timing`'s ``ret`` does. Dependencies make the device
compute the paths in order (eq. 1: one layer at a time); on a ``fifo`` link each transfer also
waits for the previous one, and on an ES with ``concurrency: 1`` each path's ES step waits for the
previous path's, so the simulator reproduces the order of section II-B exactly and its timeline
equals :func:`~splitinfer.planners.li2022.timing.completion`. Consecutive layers of one path on
one node are one step: they run back to back anyway.

Given the model's geometry, every step also *names* what it computes, so the runtime can execute
it (:mod:`splitinfer.system.tiles`): a path's compute step is a spatial tile
(``Step.tile``) of the chain piece between the cuts before and after its FL layers
(``segment``), the tile being the path's crop of the tensor at the step's last layer (the
receptive field of its fused-layer tile, :func:`~splitinfer.graph.receptive.path_regions`); a
path's transfer carries its crop of the tensor entering the offload layer; the tail is the
piece from the fused layer's cut to the end. The FLOPs still time every compute step
(eqs. 1, 3, the overlap of neighbouring crops included), so the simulated times do not change.

Examples
--------
>>> import numpy as np
>>> from splitinfer.graph.receptive import FLGeometry, path_costs
>>> from splitinfer.planners.li2022.timing import Timing
>>> g = FLGeometry.from_layers("m", (1, 8, 8), [("conv", 3, 1, 1, 2), ("conv", 3, 1, 1, 2)])
>>> t = Timing(1e9, 1e10, 0.0, 1.0, 1e6, fifo=True, serial=True, ret=0.0, device="d", server="e")
>>> tp = fl_taskplan("t0", t, path_costs(g, 2, (1, 2)), np.array([1, 0]), np.array([0, 2]))

Path 1 first, both layers on the device (``o = 3``: its fused tile is sent); then path 0 sends its
input after path 1's transfer and the ES computes both its layers; the tail joins them:

>>> [(s.kind, s.node or f"{s.src}->{s.dst}", s.deps) for s in tp.steps]
[('compute', 'd', ()), ('transfer', 'd->e', (0,)), ('transfer', 'd->e', (0, 1)), ('compute', 'e', (2,)), ('compute', 'e', (1, 3)), ('return', 'e->None', (4,))]

With the geometry, the steps name their pieces and tiles: path 1 computes columns 4..8 of the
second layer's output (cut 2) from the input; path 0 sends columns 0..6 of the input (its
tile's receptive field, halo included); the tail runs from cut 2 to the end:

>>> tp = fl_taskplan("t0", t, path_costs(g, 2, (1, 2)), np.array([1, 0]), np.array([0, 2]), g)
>>> [(s.segment, s.tile) for s in tp.steps]
[((0, 2), (2, 0, 8, 4, 8)), (None, (2, 0, 8, 4, 8)), (None, (0, 0, 8, 0, 6)), ((0, 2), (2, 0, 8, 0, 4)), ((2, 3), None), (None, None)]
"""

from __future__ import annotations

import numpy as np

from splitinfer.graph.receptive import FLGeometry, PathCosts, path_regions
from splitinfer.planners.li2022.timing import Timing
from splitinfer.system.plan import Step, TaskPlan

__all__ = ["fl_taskplan"]


def fl_taskplan(task_id: str, t: Timing, costs: PathCosts, order: np.ndarray, off: np.ndarray,
                geom: FLGeometry | None = None) -> TaskPlan:
    """The steps of one FL plan (see the module docstring).

    Parameters
    ----------
    task_id : str
    t : Timing
        Names the device and ES and says whether the link is FIFO, the ES serial, and whether a
        result is returned.
    costs : PathCosts
    order : ndarray of int
        Paths in schedule order.
    off : ndarray of int
        ``o_p - 1`` per path.
    geom : FLGeometry, optional
        The model's geometry: the steps then also name their pieces and tiles (module
        docstring), which the runtime needs; without it they give FLOPs only.
    """
    tau = costs.tau
    steps: list[Step] = []
    last_dev: int | None = None
    last_tx: int | None = None
    last_es: int | None = None
    finals: list[int] = []

    def cut(u: int) -> int:  # the model's cut after FL layer u (0: the input)
        return geom.unit_cuts[u - 1] if u > 0 else 0

    def crop(p: int, u: int) -> tuple[int, int, int, int, int] | None:  # path p's crop, cut(u)
        if geom is None:
            return None
        regions = path_regions(geom, tau, costs.grid, p)
        return (cut(u), *regions[geom.unit_outputs[u - 1] if u > 0 else -1])

    def piece(a: int, b: int) -> tuple[int, int] | None:
        return None if geom is None else (cut(a), cut(b))

    for p in (int(v) for v in order):
        o = int(off[p])  # o_p - 1 layers on the device
        tx_deps: tuple[int, ...] = ()
        if o > 0:
            steps.append(Step("compute", node=t.device, flops=float(costs.flops[p, :o].sum()),
                              deps=() if last_dev is None else (last_dev,),
                              label=f"path{p}:L1-{o}", segment=piece(0, o), tile=crop(p, o)))
            last_dev = len(steps) - 1
            tx_deps = (last_dev,)
        elif last_dev is not None:
            tx_deps = (last_dev,)
        if t.fifo and last_tx is not None:
            tx_deps += (last_tx,)
        steps.append(Step("transfer", src=t.device, dst=t.server,
                          nbytes=float(costs.bytes_in[p, o]), deps=tx_deps,
                          label=f"path{p}:send", tile=crop(p, o)))
        last_tx = len(steps) - 1
        if o < tau:
            es_deps = (last_tx,) + ((last_es,) if t.serial and last_es is not None else ())
            steps.append(Step("compute", node=t.server, flops=float(costs.flops[p, o:].sum()),
                              deps=es_deps, label=f"path{p}:L{o + 1}-{tau}",
                              segment=piece(o, tau), tile=crop(p, tau)))
            last_es = len(steps) - 1
            finals.append(last_es)
        else:
            finals.append(last_tx)
    deps = tuple(sorted(set(finals)))
    steps.append(Step("compute", node=t.server, flops=float(costs.tail_flops), deps=deps,
                      label="fused+tail",
                      segment=None if geom is None else (cut(tau), len(geom.chain) - 1)))
    # the result goes back by the scenario's rule (a 0 s delay with eq. 6's result_return: 0)
    steps.append(Step("return", src=t.server, deps=(len(steps) - 1,), label="return"))
    return TaskPlan(task_id, nodes=(t.device, t.server), cuts=(), steps=tuple(steps))
