"""The timing model of Li et al. 2022 section II-B for fused-layer plans, vectorised.

One task, one end device, one edge server (ES). For an FL strategy ``(tau, grid)`` with
:class:`~splitinfer.graph.receptive.PathCosts` ``d`` (FLOPs per path and layer) and ``c`` (bytes
entering each layer), a plan gives the path scheduling order ``S`` and for every path the offload
position ``o_p`` in ``1 .. tau + 1``: layers ``1 .. o_p - 1`` run on the device, the tensor
entering layer ``o_p`` is sent, layers ``o_p .. tau`` run on the ES (``o_p = tau + 1`` sends the
path's tile of the fused layer). The completion time (eqs. 4-6) follows these rules:

* eq. 1: the device computes one layer at a time at ``f_end`` FLOP/s, paths in the order ``S``;
* eq. 2: transfers take ``latency + slowdown * 8 c / R`` (``R`` given or the Shannon rate) and
  go first-come-first-served in the same order on a ``fifo`` link (in parallel on a
  ``dedicated`` one); ``c`` is the bytes on the wire: a link whose wire dtype is compressed
  (``dtype: float16``, ``int8``...) sends :func:`~splitinfer.transfer.wire_bytes` of the float32
  bytes, as the simulator times it;
* eq. 3: the ES computes at ``f_es`` FLOP/s; "the computation order of the FL paths on the
  end device is the same as the transmission order and the computation order on the ES"
  (section II-B) is read as an ES that computes one path at a time in that order when its node
  has ``concurrency: 1``. With unlimited concurrency the ES runs paths side by side, which is
  eq. 4 taken literally (no ES waiting);
* eq. 5: the fused layer and the rest of the network start on the ES when every path is done;
* eq. 6: the objective is the completion of the last layer, plus the result return by the
  scenario's rule: the output bytes over the reverse link (``result_return: null``), a
  constant delay (``result_return: 0.005``), or nothing (``result_return: 0``, the paper's
  eq. 6 literally).

Every completion time is a max-plus recursion ``x_k = max(a_k, x_{k-1}) + t_k``, evaluated for
whole batches of plans with :func:`numpy.maximum.accumulate`.

Examples
--------
Two paths of two layers each, device speed 1, ES speed 2 (the units of Li et al. 2022 Fig. 2). Path 0
sends its input (2 s on the link) and the ES computes both its layers (2 s); path 1 computes its
first layer on the device (done at 2), waits for the link (free at 2), sends for 1 s and the ES,
busy with path 0 until 4, computes its second layer from 4 to 4.5.

>>> import numpy as np
>>> t = Timing(f_dev=1.0, f_srv=2.0, lat=0.0, slow=1.0, rate=8.0, fifo=True, serial=True,
...            ret=0.0)
>>> local = np.array([[0.0, 2.0, 4.0], [0.0, 2.0, 3.0]])   # device seconds for o = 1, 2, 3
>>> tx = np.array([[2.0, 2.0, 1.0], [2.0, 1.0, 1.0]])      # seconds to send the tensor
>>> srv = np.array([[2.0, 1.0, 0.0], [1.5, 0.5, 0.0]])     # ES seconds of the rest
>>> float(completion(t, local, tx, srv, order=np.array([0, 1]), off=np.array([0, 1]), tail=0.0))
4.5
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from splitinfer.errors import NotApplicableError
from splitinfer.graph.receptive import FLGeometry, PathCosts, load_geometry
from splitinfer.system.entities import Link, Task
from splitinfer.system.scenario import Scenario
from splitinfer.transfer import wire_bytes

__all__ = ["Timing", "timing_for", "geometry_for", "option_times", "completion",
           "completion_batch", "maxplus"]


@dataclass(frozen=True)
class Timing:
    """Speeds and sharing rules of one device-ES pair (see the module docstring).

    ``f_dev``, ``f_srv`` in FLOP/s; transfers timed by :meth:`Link.time
    <splitinfer.system.entities.Link.time>` of a link with ``lat``, ``slow`` and ``rate``;
    ``fifo``: one transfer at a time; ``serial``: the ES computes one path at a time;
    ``ret``: seconds to return the result (the scenario's constant ``result_return``, else the
    output bytes over the link back; 0 when nothing is returned); ``dtype``: the link's wire
    dtype (the plans' transfers leave it to the link), which sets the bytes sent.
    """

    f_dev: float
    f_srv: float
    lat: float
    slow: float
    rate: float
    fifo: bool
    serial: bool
    ret: float
    device: str = ""
    server: str = ""
    samples: int = 1
    dtype: str = "float32"

    def tx(self, nbytes):
        """Transfer seconds of ``nbytes`` float32 bytes, sent in the link's wire dtype (arrays
        allowed; nothing to send and no latency is 0).

        Examples
        --------
        >>> from dataclasses import replace
        >>> t = Timing(1.0, 2.0, lat=0.0, slow=1.0, rate=8.0, fifo=True, serial=True, ret=0.0)
        >>> float(t.tx(4.0)), float(replace(t, dtype="float16").tx(4.0))
        (4.0, 2.0)
        """
        nbytes = np.asarray(wire_bytes(np.asarray(nbytes, dtype=float) * self.samples,
                                       self.dtype), dtype=float)
        t = Link(self.device, self.server, self.rate, self.lat, self.slow).time(nbytes)
        return np.where((nbytes <= 0) & (self.lat == 0), 0.0, t)


def geometry_for(sc: Scenario, model: str, cache: dict | None = None) -> FLGeometry:
    """The FL geometry of ``model``: ``extra.fused.<model>`` (a shipped name, a JSON path or an
    inline geometry dict), else the shipped geometry named like the model.

    Raises
    ------
    NotApplicableError
        If none is found or its FLOPs disagree with the scenario's model (a different network).
    """
    if cache is not None and model in cache:
        return cache[model]
    ref = (sc.extra.get("fused") or {}).get(model, model)
    try:
        geom = FLGeometry.from_dict(ref) if isinstance(ref, dict) else load_geometry(str(ref))
    except (KeyError, ValueError, OSError) as exc:
        raise NotApplicableError(f"model {model!r} has no fused-layer geometry ({exc}); give "
                                 "extra.fused.<model> or use a shipped one") from None
    total = sc.models[model].flops
    if abs(geom.total_flops - total) > 1e-6 * max(1.0, total):
        raise NotApplicableError(f"FL geometry {geom.model!r} has {geom.total_flops:.6g} FLOPs "
                                 f"but model {model!r} of the scenario has {total:.6g}")
    if cache is not None:
        cache[model] = geom
    return geom


def timing_for(sc: Scenario, task: Task, server: str) -> Timing:
    """The :class:`Timing` of ``task``'s device and ``server``, or why FL plans do not apply."""
    dev, srv = sc.nodes[task.device], sc.nodes[server]
    for node in (dev, srv):
        if node.compute != "flops":
            raise NotApplicableError(f"fused-layer plans time tiles by FLOPs (Li et al. 2022 eqs. 1, 3); "
                                     f"node {node.name!r} has no flops_per_s")
        if node.divisible:
            raise NotApplicableError(f"node {node.name!r} is divisible into shares; the FL model "
                                     "has one ES")
    if srv.concurrency not in (1, None):
        raise NotApplicableError(f"the ES {server!r} must compute one path at a time "
                                 f"(concurrency 1) or without contention (null), not "
                                 f"{srv.concurrency}")
    if not sc.has_link(task.device, server):
        raise NotApplicableError(f"no link from {task.device!r} to {server!r}")
    link = sc.link(task.device, server)
    if link.sharing == "reserved":
        raise NotApplicableError("FL transfers are first-come-first-served (Li et al. 2022 eq. 2); "
                                 f"link {link.name} is reserved")
    if sc.result_return is None:
        if not sc.has_link(server, task.device):
            raise NotApplicableError(f"no link from {server!r} back to {task.device!r} for the "
                                     "result")
        ret = sc.transfer_time(server, task.device, sc.models[task.model].output_bytes
                               * task.samples)
    else:
        ret = float(sc.result_return)  # a constant delay (0: eq. 6 literally)
    return Timing(dev.speed, srv.speed, link.latency, link.slowdown, link.rate,
                  link.sharing == "fifo", srv.concurrency == 1, ret, task.device, server,
                  task.samples, link.dtype)


def option_times(t: Timing, costs: PathCosts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per path ``p`` and offload option ``o - 1`` (``o = 1 .. tau + 1``): device seconds of the
    layers before ``o``, transfer seconds of the tensor entering ``o``, ES seconds of the rest.

    Returns
    -------
    local, tx, srv : ndarray, shape (P, tau + 1)
    """
    cum = np.concatenate([np.zeros((costs.num_paths, 1)), np.cumsum(costs.flops, axis=1)], axis=1)
    local = cum * t.samples / t.f_dev
    srv = (cum[:, -1:] - cum) * t.samples / t.f_srv
    return local, t.tx(costs.bytes_in), srv


def maxplus(a: np.ndarray, d: np.ndarray) -> np.ndarray:
    """``x_k = max(a_k, x_{k-1}) + d_k`` along the last axis (``x_{-1} = -inf``).

    Examples
    --------
    >>> maxplus(np.array([0.0, 0.0, 5.0]), np.array([2.0, 1.0, 1.0])).tolist()
    [2.0, 3.0, 6.0]
    """
    c = np.cumsum(d, axis=-1)
    return c + np.maximum.accumulate(a - (c - d), axis=-1)


def completion_batch(t: Timing, local: np.ndarray, tx: np.ndarray, srv: np.ndarray,
                     has_srv: np.ndarray, tail: float) -> np.ndarray:
    """Completion times of a batch of plans whose per-position times are given in schedule order.

    Parameters
    ----------
    local, tx, srv : ndarray, shape (B, P)
        For plan ``b`` and schedule position ``k``: device, transfer and ES seconds.
    has_srv : ndarray of bool, shape (B, P)
        Whether that path runs any layer on the ES (``o <= tau``).
    tail : float
        ES seconds of the fused layer and the rest of the network.
    """
    dev_end = np.cumsum(local, axis=-1)
    tx_end = maxplus(dev_end, tx) if t.fifo else dev_end + tx
    if t.serial:
        es = maxplus(np.where(has_srv, tx_end, -np.inf), np.where(has_srv, srv, 0.0))
        done = np.where(has_srv, es, tx_end)
    else:
        done = tx_end + srv
    return done.max(axis=-1) + tail + t.ret


def completion(t: Timing, local: np.ndarray, tx: np.ndarray, srv: np.ndarray,
               order: np.ndarray, off: np.ndarray, tail: float) -> float:
    """Completion time (eq. 6) of one plan: ``order`` of paths, ``off[p]`` = ``o_p - 1``."""
    order = np.asarray(order)
    o = np.asarray(off)[order]
    has = o < local.shape[1] - 1
    return float(completion_batch(t, local[order, o][None], tx[order, o][None],
                                  srv[order, o][None], has[None], tail)[0])
