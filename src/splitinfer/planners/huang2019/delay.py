"""DeePar's delay model: the six delay components, the best cut pair, the delay matrix W.

Huang et al. 2019, section III eqs. (1)-(6) and section IV-A. A task ``i``
with ``N_i`` samples runs the layers before cut ``c1`` on its device, ``c1..c2`` on an edge server
``e`` and the rest in the cloud; per sample

* t1 = F_i(c1, i)                       device compute                       (eq. 1)
* t2 = G_i(c1) / b1                     device -> edge, reserved rate b1      (eq. 2)
* t3 = F_i(c2, e) - F_i(c1, e)          edge compute                          (eq. 3)
* t4 = G_i(c2) / b2                     edge -> cloud, reserved rate b2       (eq. 4)
* t5 = F_i(l, c) - F_i(c2, c)           cloud compute                         (eq. 5)
* t6 = G_i(l) / b2 + G_i(l) / b1        result back along the chain           (eq. 6)

each multiplied by ``N_i`` (the samples are processed one after another). Only the parts a plan
uses count (x, y, z of eqs. 17-19). The columns of W (section IV-A) are the 3m+1 *options*:
``j = 0`` device only, ``1..m`` device + edge ``j``, ``m+1..2m`` device + cloud through edge ``j``
(``c1 = c2``: the edge only relays), ``2m+1..3m`` device + edge ``j`` + cloud (``c1 < c2 < l``).
For fixed bandwidths the best cut pair of an option is found by exhaustive search (section IV-A)
— here in O(l) per option, because the delay separates into a term of ``c1`` plus a term of
``c2`` (a prefix minimum replaces the double loop; :func:`brute_force_best` is the literal double
loop the tests compare against).

Readings (all written down in ``docs/algorithms/huang2019.md``):

* all times come from the scenario (:meth:`Scenario.compute_time`, :meth:`Link.time`), so a link
  latency, if the scenario gives one, is counted once per transfer (the paper has none), and a
  tensor crosses a link in the link's wire dtype (``G_i(c)`` is float32 bytes; a compressed
  link carries :func:`splitinfer.transfer.wire_bytes` of them, as the simulator times it);
* an option's piece on the device may be empty (``c1 = 0``): option ``j`` of W is "using the
  resources of device i and edge j", and the device is always one of them;
* the result returns along the chain at the same reserved rates (eq. 6), never over a link the
  plan did not reserve — unless the scenario fixes a constant ``result_return``, which then
  replaces t6 (a ``kind="return"`` step, the rule every planner's plans follow).

Examples
--------
>>> from splitinfer.system.load import scenario_from_dict
>>> sc = scenario_from_dict(toy_three_tier())
>>> curves = TaskCurves(sc, sc.tasks[0])
>>> [o.label for o in option_list(sc)]
['device', 'edge:e0', 'cloud:e0', 'edge+cloud:e0']
>>> ch = curves.best(option_list(sc)[3], 8e6, 8e6)
>>> (ch.c1, ch.c2), round(ch.delay, 4)
((1, 2), 0.3412)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from splitinfer.errors import NotApplicableError
from splitinfer.system.entities import Task
from splitinfer.system.plan import Step, TaskPlan
from splitinfer.system.scenario import Scenario
from splitinfer.transfer import wire_bytes
from splitinfer.units import parse_bandwidth

__all__ = ["Option", "Choice", "TaskCurves", "option_list", "backbone_cap", "deepar_plan",
           "stage_durations", "brute_force_best", "cut_pairs", "toy_three_tier", "the_cloud"]

Kind = Literal["device", "edge", "cloud", "edge+cloud"]

_NONE = np.zeros(0)  # an absent curve or hop of the compiled searches (nothing to write)


@dataclass(frozen=True, slots=True)
class Option:
    """One column ``j`` of the delay matrix W (Huang et al. 2019 section IV-A).

    ``x`` (device -> edge link used), ``y`` (edge -> cloud link used) and ``z`` (edge computes)
    are the indicators of eqs. (17)-(19) for this option.
    """

    j: int
    kind: Kind
    edge: str | None = None

    @property
    def x(self) -> bool:
        """Whether the option uses the device -> edge connection (eq. 17)."""
        return self.kind != "device"

    @property
    def y(self) -> bool:
        """Whether the option uses the edge -> cloud connection (eq. 18)."""
        return self.kind in ("cloud", "edge+cloud")

    @property
    def z(self) -> bool:
        """Whether the edge server computes a piece, i.e. holds one of its r_e slots (eq. 19)."""
        return self.kind in ("edge", "edge+cloud")

    @property
    def label(self) -> str:
        """``"device"``, ``"edge:<e>"``, ``"cloud:<e>"`` or ``"edge+cloud:<e>"``."""
        return self.kind if self.edge is None else f"{self.kind}:{self.edge}"


@dataclass(frozen=True, slots=True)
class Choice:
    """The best cut pair of one option at given bandwidths, and its delay (seconds, all samples)."""

    option: Option
    c1: int
    c2: int
    b1: float | None
    b2: float | None
    delay: float


def the_cloud(sc: Scenario) -> str | None:
    """The scenario's one cloud (``None`` if it has none).

    Raises
    ------
    NotApplicableError
        If there are several clouds (Huang et al. 2019 has "one centralized cloud platform").
    """
    clouds = sc.clouds
    if len(clouds) > 1:
        raise NotApplicableError(f"DeePar plans for one cloud; scenario {sc.name!r} has "
                                 f"{len(clouds)}: {clouds}")
    return clouds[0] if clouds else None


def option_list(sc: Scenario) -> list[Option]:
    """The 3m+1 options (columns of W) in the paper's order: device; edges; clouds via edges;
    edge + cloud.

    Examples
    --------
    >>> from splitinfer.system.load import scenario_from_dict
    >>> [o.j for o in option_list(scenario_from_dict(toy_three_tier()))]
    [0, 1, 2, 3]
    """
    edges = sc.edges
    m = len(edges)
    out = [Option(0, "device")]
    for k, kind in enumerate(("edge", "cloud", "edge+cloud")):
        out += [Option(1 + k * m + i, kind, e) for i, e in enumerate(edges)]
    return out


def backbone_cap(sc: Scenario, task: Task) -> float | None:
    """The task's own cap B_i^2 on the edge -> cloud rate, if the scenario gives one.

    Read from ``extra.deepar.backbone_cap``, a mapping from task id or device name to a
    bandwidth (``"30Mbps"`` or bit/s): the edge -> cloud link is shared by every task of an edge,
    so its ``bandwidth`` can only be a common cap; the per-task caps of Huang et al. 2019 section III live
    here. ``None`` when absent (the link's rate is then the only cap).
    """
    caps = (sc.extra.get("deepar") or {}).get("backbone_cap") or {}
    value = caps.get(task.id, caps.get(task.device))
    if type(value) is float and 0.0 < value < math.inf:  # bit/s already: parse_bandwidth's
        return value
    return None if value is None else parse_bandwidth(value)


class TaskCurves:
    """Everything about one task that the delays of eqs. (1)-(6) need, precomputed as arrays.

    Parameters
    ----------
    sc : Scenario
    task : Task
    edges : sequence of str, optional
        ``sc.edges`` and ``the_cloud(sc)``, when the caller already has them (an online
        planner builds one ``TaskCurves`` per task, and listing the edges scans every node).
    cloud : str, optional
        Used only together with ``edges``.
    compiled : bool
        Search the cut pairs with the compiled loop
        (:func:`splitinfer.planners.huang2019._kernel.best_cut`, the same numbers) instead of
        NumPy: for the online planner, which searches many times per task (loading Numba
        takes about a second, which a single search does not repay).
    units : dict, optional
        A dict the caller keeps over the tasks of one scenario: the head curves of one sample
        per model and node speed (or hardware), and the links' timings that the compiled
        searches take, are computed once in it (an online planner builds one
        ``TaskCurves`` per task).

    Notes
    -----
    ``head[node][c]`` is the compute time of all ``N_i`` samples of the layers before cut ``c`` on
    ``node`` (``Scenario.compute_time(node, model, 0, c, N_i)``); the piece ``a..b`` takes
    ``head[node][b] - head[node][a]``.
    """

    def __init__(self, sc: Scenario, task: Task, edges: Sequence[str] | None = None,
                 cloud: str | None = None, compiled: bool = False,
                 units: dict | None = None) -> None:
        if edges is None:
            edges, cloud = sc.edges, the_cloud(sc)
        self.sc = sc
        self.task = task
        self.model = sc.models[task.model]
        self.last = self.model.last_cut
        self.samples = task.samples
        self.nbytes = self.model.transfer_bytes * task.samples  # G_i(c) * N_i
        self.out_bytes = float(self.model.output_bytes) * task.samples  # G_i(l) * N_i
        self.cloud = cloud
        links, dev = sc.links, task.device
        self.reach = [e for e in edges if (dev, e) in links]  # E_i (sc.has_link)
        self.cap2 = backbone_cap(sc, task)
        self._head: dict[str, np.ndarray] = {}
        self._scaled: dict[tuple, np.ndarray] = {}  # head curves of all samples, by unit key
        self._cache: dict[tuple, Choice | None] = {}
        self._caps: dict[int, tuple[float | None, float | None]] = {}  # link_caps by option
        self.compiled = compiled
        self._units = units
        self._args: dict[tuple[int, int | None], tuple | bool] = {}  # kernel_args
        self._wires: dict[tuple, Any] = {}  # wire bytes by hop (kernel_args)
        self._pack: tuple | None = None  # (first_cut, ints, curv, lnk, ret, row by j): pack
        self._at_caps: dict[tuple, tuple[float, float, float]] = {}  # (c1, c2, delay): row
        self._out = None  # the compiled search's output buffer

    def head(self, node: str) -> np.ndarray:
        """Compute time of the head before every cut on ``node`` (all samples). Read only:
        nodes of one speed (or hardware) share one array."""
        h = self._head.get(node)
        if h is None:
            h = self._head[node] = self._heads(node)
        return h

    def _curve_key(self, node: str) -> tuple | None:
        """What the head curve on ``node`` depends on (the node's kind of compute and its
        speed or hardware, the model, its last cut), or ``None`` when it is computed cut by cut
        (a table node, a model of one cut)."""
        n, m = self.sc.nodes[node], self.model
        if self.last >= 1 and (n.compute == "flops" or (n.compute == "hardware"
                                                       and n.hardware in m.head_latency)):
            return (n.compute, n.speed if n.compute == "flops" else n.hardware, self.task.model,
                    self.last)
        return None

    def _heads(self, node: str) -> np.ndarray:
        """``Scenario.compute_time(node, model, 0, c, N_i)`` for every cut ``c``, computed on
        the whole curve at once with the same floating-point operations."""
        n, m = self.sc.nodes[node], self.model
        key = self._curve_key(node)
        if key is not None:
            t = self._scaled.get(key)  # nodes of one speed or hardware share the curve
            if t is not None:
                return t
            unit = None if self._units is None else self._units.get(key)
            if unit is None:
                self.sc.compute_time(node, self.task.model, 0, self.last, self.samples)  # checks
                if n.compute == "flops":
                    curve = np.asarray(m.head_flops, dtype=float)
                    t = (curve[:self.last + 1] - curve[0]) / n.speed
                else:
                    curve = np.asarray(m.head_latency[n.hardware], dtype=float)
                    t = curve[:self.last + 1] - curve[0]
                unit = np.where(0.0 > t, 0.0, t)  # max(t, 0.0), one sample
                if self._units is not None:
                    self._units[key] = unit
            t = self._scaled[key] = self.samples * unit  # samples * max(t, 0.0)
            t[0] = 0.0  # a == b: no piece at all
            return t
        return np.array([self.sc.compute_time(node, self.task.model, 0, c, self.samples)
                         for c in range(self.last + 1)])

    def link_caps(self, option: Option) -> tuple[float | None, float | None]:
        """The per-task caps (B_i^1, B_i^2) of the option's two hops (``None`` if unused)."""
        got = self._caps.get(option.j)
        if got is None:
            got = self._caps[option.j] = self._link_caps(option)
        return got

    def _link_caps(self, option: Option) -> tuple[float | None, float | None]:
        if not option.x:
            return None, None
        b1 = self.sc.link(self.task.device, option.edge).rate
        if not option.y:
            return b1, None
        b2 = self.sc.link(option.edge, self.cloud).rate
        return b1, (b2 if self.cap2 is None else min(b2, self.cap2))

    def feasible(self, option: Option) -> bool:
        """Whether the task can take the option at all (E_i of eq. 13, a cloud link)."""
        if option.kind == "device":
            return True
        if option.edge not in self.reach:
            return False
        return not option.y or (self.cloud is not None and self.sc.has_link(option.edge, self.cloud)
                                and self.sc.has_link(self.cloud, option.edge))

    def _t(self, src: str, dst: str, nbytes: Any, rate: Any) -> Any:
        """Seconds to send ``nbytes`` float32 bytes over ``src -> dst`` at ``rate``: the bytes
        the link's wire dtype puts on the wire (:func:`splitinfer.transfer.wire_bytes`), as the
        simulator times every transfer step of a DeePar plan (none names a dtype)."""
        link = self.sc.link(src, dst)
        if link.dtype != "float32":  # float32: the bytes as they are
            nbytes = wire_bytes(nbytes, link.dtype)
        return link.time(nbytes, rate)

    def best(self, option: Option, b1: float | None = None, b2: float | None = None,
             first_cut: int | None = None) -> Choice | None:
        """The best cut pair of ``option`` at rates ``b1``, ``b2`` (default: the caps).

        ``first_cut`` fixes ``c1`` (the baselines: edge-only and cloud-only send the raw input,
        ``first_cut=0``). ``None`` if the option is infeasible for this task.
        """
        asked = (option.j, b1, b2, first_cut)
        cache = self._cache
        if asked in cache:  # the rates as given (a default is the cap)
            return cache[asked]
        if not self.feasible(option):
            cache[asked] = None
            return None
        cap1, cap2 = self.link_caps(option)
        b1 = cap1 if b1 is None else b1
        b2 = cap2 if b2 is None else b2
        key = (option.j, b1, b2, first_cut)
        if key in cache:
            choice = cache[key]
        else:
            choice = cache[key] = self._search(option, b1, b2, first_cut)
        cache[asked] = choice
        return choice

    def w_row(self, options: Sequence[Option], first_cut: int | None = None
              ) -> list[tuple[float, int, Option]]:
        """Row ``i`` of the delay matrix W (section IV-A): ``(delay, j, option)`` for every
        option of ``options`` (in their order) that the task can take, its delay that of
        :meth:`best` at the caps; an option without a cut pair (:meth:`best` ``None``) is
        left out.

        Compiled (``compiled=True``), the whole row is one call
        (:func:`splitinfer.planners.huang2019._curves.pack_rows` over :meth:`pack`), with
        the same numbers as :meth:`best`, which then answers at the caps without searching.

        Examples
        --------
        >>> from splitinfer.system.load import scenario_from_dict
        >>> sc = scenario_from_dict(toy_three_tier())
        >>> row = TaskCurves(sc, sc.tasks[0], compiled=True).w_row(option_list(sc))
        >>> [(round(w, 4), j) for w, j, _ in row]
        [(6.0, 0), (0.7901, 1), (0.3592, 2), (0.3412, 3)]
        >>> row == TaskCurves(sc, sc.tasks[0]).w_row(option_list(sc))
        True
        """
        if not self.compiled:
            out = []
            for o in options:
                ch = self.best(o, first_cut=first_cut)
                if ch is not None:
                    out.append((ch.delay, o.j, o))
            return out
        got = self._pack
        if got is None or got[0] != first_cut or got[6] != [o.j for o in options]:
            got = self._pack = self._packed(options, first_cut)
        return got[7]

    def pack(self, options: Sequence[Option], first_cut: int | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, dict[int, int]]:
        """The data of the compiled cut searches of ``options`` (those the task can take that
        allow a cut pair, the device-only option excepted), one row per option:
        ``(ints, curv, lnk, ret, rows)``, where ``rows`` maps an option's ``j`` to its row.

        ``ints[k] = (kind, lo, hi, last)`` (kind 1 edge, 2 cloud, 3 edge + cloud; ``c1`` in
        ``[lo, hi)``); ``curv[k]`` holds five curves over the cuts: head times on the device,
        the edge and the cloud, wire bytes on the uplink and on the backbone (zeros where the
        option has no such part); ``lnk[k]`` the ``(latency, slowdown)`` of the uplink and of
        the backbone, then ``(latency, slowdown, result wire bytes)`` of the return hops
        edge -> device and cloud -> edge; ``ret`` the scenario's constant ``result_return``
        (NaN when none). The numbers of :meth:`kernel_args`, laid out for
        :func:`splitinfer.planners.huang2019._curves.best_row`. Built once per task (by
        :meth:`w_row` as well); read only.

        Examples
        --------
        >>> from splitinfer.system.load import scenario_from_dict
        >>> sc = scenario_from_dict(toy_three_tier())
        >>> ints, curv, lnk, ret, rows = TaskCurves(sc, sc.tasks[0]).pack(option_list(sc))
        >>> ints.tolist(), curv.shape, rows
        ([[1, 0, 3, 3], [2, 0, 3, 3], [3, 0, 3, 3]], (3, 5, 4), {1: 0, 2: 1, 3: 2})
        """
        got = self._pack
        if got is None or got[0] != first_cut or got[6] != [o.j for o in options]:
            got = self._pack = self._packed(options, first_cut)
        return got[1], got[2], got[3], got[4], got[5]

    def _packed(self, options: Sequence[Option], first_cut: int | None) -> tuple:
        """:meth:`pack` and :meth:`w_row` of ``options``: ``(first_cut, ints, curv, lnk,
        ret, rows, js, row)``. The distinct curves are computed once each into one array; the
        options of one edge share its links; one compiled call gathers the rows and searches
        them all at the caps."""
        from splitinfer.planners.huang2019._curves import best_row, pack_rows, scaled_head

        self._best_row, self._out = best_row, np.empty(3)  # for _search

        sc, links, dev, cloud, last = self.sc, self.sc.links, self.task.device, self.cloud, \
            self.last
        reach, samples, nodes, model = self.reach, float(self.samples), sc.nodes, self.model
        lo, hi = (0, last) if first_cut is None else (first_cut, first_cut + 1)
        ret = sc.result_return
        ret_f = math.nan if ret is None else float(ret)
        # rows: zeros, then each distinct head curve or wire bytes (at most one per node and
        # one per hop of a reached edge)
        curves = np.empty((4 + 3 * len(reach), last + 1))
        curves[0] = 0.0
        at: dict[Any, int] = {}  # what a row of ``curves`` holds -> the row
        used = [1]  # rows taken (row 0: zeros)
        heads = self._head

        def new_row(name: Any) -> int:
            r = at[name] = used[0]
            used[0] += 1
            return r

        def head(node: str) -> int:  # the row of head(node)
            r = at.get(("node", node))
            if r is not None:
                return r
            h = heads.get(node)
            key = self._curve_key(node) if h is None else None
            r = None if key is None else at.get(key)
            if r is None:
                r = new_row(("node", node) if key is None else key)
                n = nodes[node]
                raw = None if h is not None or key is None else np.ascontiguousarray(
                    model.head_flops if n.compute == "flops" else model.head_latency[n.hardware],
                    dtype=float)
                if raw is not None and len(raw) > last and (n.compute == "hardware" or n.speed):
                    scaled_head(raw, last, float(n.speed) if n.compute == "flops" else 1.0,
                                samples, curves[r])
                    self._scaled.setdefault(key, curves[r])
                else:  # computed cut by cut, or already known
                    curves[r] = self.head(node) if h is None else h
            at[("node", node)] = r
            if h is None:
                heads[node] = curves[r]
            return r

        def wire(dtype: str) -> int:  # the row of the float32 bytes sent as ``dtype``
            r = at.get(dtype)
            if r is None:
                r = new_row(dtype)
                curves[r] = self.nbytes if dtype == "float32" else wire_bytes(self.nbytes, dtype)
            return r

        def back(src: str, dst: str) -> list[float]:  # a return hop (sc.link: it must exist)
            if ret is not None:
                return [0.0, 0.0, 0.0]
            link = sc.link(src, dst)
            nbytes = self.out_bytes if link.dtype == "float32" else \
                wire_bytes(self.out_bytes, link.dtype)
            return [link.latency, link.slowdown, float(nbytes)]

        hd = head(dev)
        hc = -1
        table: list[float] = []  # 21 numbers a row: ints, curve rows, lnk, caps (pack_rows)
        rows: dict[int, int] = {}
        row: list[Any] = []  # w_row, a None where a compiled answer goes
        kept: list[tuple[Option, float, float | None]] = []
        hops: dict[str, list] = {}  # edge -> its links' part of a row (options of one edge)
        caps = self._caps
        no_pair = hi > last or lo >= hi
        for o in options:
            kind, e = o.kind, o.edge
            if kind == "device":
                row.append((float(curves[hd, last]), o.j, o))  # best(): all on the device
                continue
            if e not in reach:
                continue  # not feasible
            if no_pair or (kind == "edge+cloud" and lo + 1 >= last):
                continue  # no cut pair (best() is None)
            got = hops.get(e)
            if got is None:
                up = links[(dev, e)]
                got = hops[e] = [up.rate, wire(up.dtype), [up.latency, up.slowdown],
                                 back(e, dev), None]
            cap1, up_row, up_lnk, back1, bb = got
            if kind == "edge":
                caps[o.j] = (cap1, None)
                table += (1.0, lo, hi, last, hd, head(e), 0, up_row, 0, *up_lnk, 0.0, 0.0,
                          *back1, 0.0, 0.0, 0.0, cap1, math.nan)
                cap2 = None
            else:
                if bb is None:  # the edge's cloud hop, False when it has none (feasible)
                    if cloud is not None and (e, cloud) in links and (cloud, e) in links:
                        link = links[(e, cloud)]
                        rate = link.rate if self.cap2 is None else min(link.rate, self.cap2)
                        bb = [rate, wire(link.dtype), link.latency, link.slowdown,
                              back(cloud, e)]
                    else:
                        bb = False
                    got[4] = bb
                if bb is False:
                    continue
                cap2 = bb[0]
                caps[o.j] = (cap1, cap2)
                if hc < 0:
                    hc = head(cloud)
                table += (2.0 if kind == "cloud" else 3.0, lo, hi, last, hd,
                          0 if kind == "cloud" else head(e), hc, up_row, bb[1], *up_lnk, bb[2],
                          bb[3], *back1, *bb[4], cap1, cap2)
            rows[o.j] = len(kept)
            row.append(None)
            kept.append((o, cap1, cap2))
        n = len(kept)
        ints, curv = np.empty((n, 4), dtype=np.int64), np.empty((n, 5, last + 1))
        lnk, res = np.empty((n, 10)), np.empty((n, 4))
        pack_rows(np.array(table, dtype=float).reshape(n, 21), curves, ret_f, ints, curv, lnk,
                  res)
        answers = iter(zip(kept, res.tolist(), strict=True))
        w = []
        for item in row:
            if item is not None:
                w.append(item)
                continue
            (o, cap1, cap2), (c1, c2, delay, fine) = next(answers)
            if fine:
                self._at_caps[(o.j, cap1, cap2, first_cut)] = (c1, c2, delay)
                w.append((delay, o.j, o))
            else:  # a NaN arose: NumPy's search decides, as best() does
                ch = self.best(o, first_cut=first_cut)
                if ch is not None:
                    w.append((ch.delay, o.j, o))
        return (first_cut, ints, curv, lnk, ret_f, rows, [o.j for o in options], w)

    def kernel_args(self, option: Option, first_cut: int | None = None) -> tuple | bool:
        """The arguments (all but the rates) of the compiled searches of ``option``
        (:func:`~splitinfer.planners.huang2019._kernel.best_cut`, ``best_delays``): kind, cut
        range, head curves, wire bytes and ``(latency, slowdown)`` of every hop, the return;
        ``False`` when no cut pair is allowed (:meth:`_search` returns ``None`` there). Not for
        the device-only option. Cached; read from :meth:`pack` when the option is in it."""
        key = (option.j, first_cut)
        got = self._args.get(key)
        if got is None:
            pack = self._pack
            if pack is not None and pack[0] == first_cut and option.j in pack[5]:
                got = self._args[key] = self._pack_args(pack, pack[5][option.j])
            else:
                got = self._args[key] = self._kernel_args(option, first_cut)
        return got

    @staticmethod
    def _pack_args(pack: tuple, k: int) -> tuple:
        """:meth:`kernel_args` from row ``k`` of a pack (views; the same numbers)."""
        _, ints, curv, lnk, ret, _, _, _ = pack
        kind, lo, hi, last = ints[k].tolist()
        none = _NONE
        c, link = curv[k], lnk[k]
        has_ret = ret == ret
        return (kind, lo, hi, last, c[0], c[1] if kind != 2 else none,
                c[2] if kind != 1 else none, c[3], link[0:2],
                c[4] if kind != 1 else none, link[2:4] if kind != 1 else none,
                none if has_ret else link[4:7], none if has_ret or kind == 1 else link[7:10],
                ret)

    def _kernel_args(self, option: Option, first_cut: int | None) -> tuple | bool:
        sc, dev, e, c, last = self.sc, self.task.device, option.edge, self.cloud, self.last
        lo, hi = (0, last) if first_cut is None else (first_cut, first_cut + 1)
        if hi > last or lo >= hi or (option.kind == "edge+cloud" and lo + 1 >= last):
            return False

        # a link's (latency, slowdown) and its return's (latency, slowdown, bytes) are kept
        # over the tasks in ``units`` (one array each, read only), the wire bytes per task
        shared = self._units if self._units is not None else self._wires

        def wire(src: str, dst: str, nbytes: Any) -> Any:  # the bytes _t puts on the wire
            got = self._wires.get((src, dst))
            if got is None:
                link = sc.link(src, dst)
                got = self._wires[(src, dst)] = nbytes if link.dtype == "float32" else \
                    wire_bytes(nbytes, link.dtype)
            return got

        def timing(src: str, dst: str) -> np.ndarray:
            got = shared.get(("timing", src, dst))
            if got is None:
                link = sc.link(src, dst)
                got = shared[("timing", src, dst)] = np.array([link.latency, link.slowdown],
                                                              dtype=float)
            return got

        def back(src: str, dst: str) -> np.ndarray:
            got = shared.get(("back", src, dst, self.out_bytes))
            if got is None:
                link = sc.link(src, dst)
                nbytes = self.out_bytes if link.dtype == "float32" else \
                    wire_bytes(self.out_bytes, link.dtype)
                got = shared[("back", src, dst, self.out_bytes)] = np.array(
                    [link.latency, link.slowdown, nbytes], dtype=float)
            return got

        def floats(x: Any) -> np.ndarray:
            return np.ascontiguousarray(x, dtype=float)

        none = np.zeros(0)
        ret = sc.result_return
        kind = {"edge": 1, "cloud": 2, "edge+cloud": 3}[option.kind]
        hd = floats(self.head(dev))
        he = floats(self.head(e)) if kind != 2 else none
        hc = floats(self.head(c)) if kind != 1 else none
        up = floats(wire(dev, e, self.nbytes))
        back1 = back(e, dev) if ret is None else none
        if kind == 1:
            bb, bb_link, back2 = none, none, none
        else:
            bb, bb_link = floats(wire(e, c, self.nbytes)), timing(e, c)
            back2 = back(c, e) if ret is None else none
        return (kind, lo, hi, last, hd, he, hc, up, timing(dev, e), bb, bb_link, back1, back2,
                math.nan if ret is None else float(ret))

    def _search(self, option: Option, b1: float | None, b2: float | None,
                first_cut: int | None) -> Choice | None:
        pack = self._pack
        packed = self.compiled and pack is not None and pack[0] == first_cut and \
            option.j in pack[5]
        if packed:  # compiled, from the pack (w_row's answer at the caps)
            got = self._at_caps.get((option.j, b1, b2, first_cut))
            if got is not None:
                return Choice(option, int(got[0]), int(got[1]), b1, b2, got[2])
            out = self._out
            if self._best_row(pack[1], pack[2], pack[3], pack[4], pack[5][option.j], float(b1),
                              math.nan if b2 is None else float(b2), out):
                return Choice(option, int(out[0]), int(out[1]), b1, b2, float(out[2]))
        dev, e, c, last = self.task.device, option.edge, self.cloud, self.last
        hd = self.head(dev)
        if option.kind == "device":
            return Choice(option, last, last, None, None, float(hd[last]))
        if self.compiled and not packed:
            from splitinfer.planners.huang2019._kernel import best_cut

            args = self.kernel_args(option, first_cut)
            if args is False:
                return None
            out = np.empty(3)
            if best_cut(*args, float(b1), math.nan if b2 is None else float(b2), out):
                return Choice(option, int(out[0]), int(out[1]), b1, b2, float(out[2]))
        # a NaN arose: NumPy's search below decides the ties as it always did
        lo, hi = (0, last) if first_cut is None else (first_cut, first_cut + 1)
        if hi > last or lo >= hi:
            return None
        g = self.nbytes
        up = hd + self._t(dev, e, g, b1)  # device compute + uplink, by c1
        ret = self.sc.result_return  # a constant return replaces eq. 6 (the scenario's rule)
        back1 = self._t(e, dev, self.out_bytes, b1) if ret is None else ret
        if option.kind == "edge":
            he = self.head(e)
            val = (up - he)[lo:hi] + he[last] + back1
            k = int(np.argmin(val))
            return Choice(option, lo + k, last, b1, None, float(val[k]))
        hc = self.head(c)
        back = self._t(c, e, self.out_bytes, b2) + back1 if ret is None else ret
        hop = self._t(e, c, g, b2) + hc[last] - hc  # backbone + cloud compute, by c2
        if option.kind == "cloud":
            val = (up + hop)[lo:hi] + back
            k = int(np.argmin(val))
            return Choice(option, lo + k, lo + k, b1, b2, float(val[k]))
        if lo + 1 >= last:  # no room for c1 < c2 < l
            return None
        he = self.head(e)
        f = (up - he)[lo:hi]
        g2 = (he + hop)[lo + 1:last]  # c2 in (lo, last)
        pref = np.minimum.accumulate(f)
        # for c2 = lo+1+k the best c1 is over f[0 .. min(k, len(f)-1)]
        idx = np.minimum(np.arange(len(g2)), len(f) - 1)
        total = pref[idx] + g2
        k = int(np.argmin(total))
        head_f = f[:idx[k] + 1]  # its first minimum (np.argmin's, unless a value is NaN)
        c1 = lo + (int(_prefix_argmin(head_f)[-1]) if np.isnan(head_f).any()
                   else int(np.argmin(head_f)))
        return Choice(option, c1, lo + 1 + k, b1, b2, float(total[k] + back))


def _prefix_argmin(values: np.ndarray) -> np.ndarray:
    """Index of the first minimum of ``values[:k+1]`` for every ``k``."""
    out = np.empty(len(values), dtype=int)
    best = 0
    for k, v in enumerate(values):
        if v < values[best]:
            best = k
        out[k] = best
    return out


def cut_pairs(kind: str, last: int) -> list[tuple[int, int]]:
    """Every cut pair ``(c1, c2)`` an option of ``kind`` allows (section IV-A): the device runs
    layers before ``c1``, the edge those from ``c1`` to ``c2``, the cloud the rest; ``last``
    is the model's last cut.

    Examples
    --------
    >>> cut_pairs("edge+cloud", 3), cut_pairs("cloud", 2), cut_pairs("device", 2)
    ([(0, 1), (0, 2), (1, 2)], [(0, 0), (1, 1)], [(2, 2)])
    """
    if kind == "device":
        return [(last, last)]
    if kind == "edge":
        return [(c1, last) for c1 in range(last)]
    if kind == "cloud":
        return [(c1, c1) for c1 in range(last)]
    return [(c1, c2) for c1 in range(last) for c2 in range(c1 + 1, last)]


def brute_force_best(curves: TaskCurves, option: Option, b1: float | None = None,
                     b2: float | None = None, first_cut: int | None = None) -> Choice | None:
    """The literal exhaustive search of section IV-A: every cut pair, timed by the simulator's
    own stage builder (:func:`splitinfer.system.stages.no_wait_latency`). For tests."""
    from splitinfer.system.stages import no_wait_latency

    if not curves.feasible(option):
        return None
    cap1, cap2 = curves.link_caps(option)
    b1 = cap1 if b1 is None else b1
    b2 = cap2 if b2 is None else b2
    last, best = curves.last, None
    pairs = cut_pairs(option.kind, last)
    if first_cut is not None and option.kind != "device":
        pairs = [p for p in pairs if p[0] == first_cut]
    for c1, c2 in pairs:
        tp = deepar_plan(curves.sc, curves.task, Choice(option, c1, c2, b1, b2, 0.0))
        d = no_wait_latency(curves.sc, curves.task, tp)
        if best is None or d < best.delay:
            best = Choice(option, c1, c2, b1, b2, d)
    return best


def deepar_plan(sc: Scenario, task: Task, choice: Choice, release: float | None = None,
                cloud: str | None = None) -> TaskPlan:
    """The :class:`TaskPlan` of a choice: an explicit stage chain (``steps``) whose transfers,
    result return included, run at the reserved rates b1 and b2 (eqs. 2, 4 and 6).

    When the scenario has a constant ``result_return``, the result is one ``kind="return"``
    step from the last computing node instead of eq. 6's transfers, so the scenario's rule
    applies exactly as it does to every other planner.

    ``nodes``, ``cuts`` and ``bandwidth`` are filled in for display and for the runtime;
    the simulator times the ``steps``. ``cloud`` is ``the_cloud(sc)`` when the caller has it.

    Examples
    --------
    >>> from splitinfer.system.load import scenario_from_dict
    >>> sc = scenario_from_dict(toy_three_tier())
    >>> tp = deepar_plan(sc, sc.tasks[0], Choice(option_list(sc)[3], 1, 2, 8e6, 4e6, 0.0))
    >>> tp.nodes, tp.cuts, tp.bandwidth
    (('d0', 'e0', 'cloud'), (1, 2), (8000000.0, 4000000.0))
    >>> [s.label for s in tp.steps]
    ['device', 'uplink', 'edge', 'backbone', 'cloud', 'return', 'return']
    """
    o, dev = choice.option, task.device
    if o.kind == "device":
        return TaskPlan(task.id, (dev,), (), release=release)
    model = sc.models[task.model]
    last = model.last_cut
    c1, c2 = choice.c1, choice.c2
    steps: list[Step] = []

    def add(**kw: Any) -> None:
        deps = (len(steps) - 1,) if steps else ()
        steps.append(Step(deps=deps, **kw))

    if c1 > 0:
        add(kind="compute", node=dev, segment=(0, c1), label="device")
    add(kind="transfer", src=dev, dst=o.edge, nbytes=float(model.transfer_bytes[c1]),
        rate=choice.b1, label="uplink")
    if o.kind == "edge":
        add(kind="compute", node=o.edge, segment=(c1, last), label="edge")
        if sc.result_return is not None:
            add(kind="return", src=o.edge, label="return")
        else:
            add(kind="transfer", src=o.edge, dst=dev, nbytes=float(model.output_bytes),
                rate=choice.b1, label="return")
        return TaskPlan(task.id, (dev, o.edge), (c1,), release=release, bandwidth=(choice.b1,),
                        steps=tuple(steps))
    if cloud is None:
        cloud = the_cloud(sc)
    if c2 > c1:
        add(kind="compute", node=o.edge, segment=(c1, c2), label="edge")
    add(kind="transfer", src=o.edge, dst=cloud, nbytes=float(model.transfer_bytes[c2]),
        rate=choice.b2, label="backbone")
    add(kind="compute", node=cloud, segment=(c2, last), label="cloud")
    if sc.result_return is not None:
        add(kind="return", src=cloud, label="return")
    else:
        add(kind="transfer", src=cloud, dst=o.edge, nbytes=float(model.output_bytes),
            rate=choice.b2, label="return")
        add(kind="transfer", src=o.edge, dst=dev, nbytes=float(model.output_bytes),
            rate=choice.b1, label="return")
    return TaskPlan(task.id, (dev, o.edge, cloud), (c1, c2), release=release,
                    bandwidth=(choice.b1, choice.b2), steps=tuple(steps))


def stage_durations(sc: Scenario, task: Task, choice: Choice, cloud: str | None = None
                    ) -> tuple[float, ...]:
    """The durations of the stages of :func:`deepar_plan`'s plan, in order, without building
    it: the very floating-point numbers :func:`splitinfer.system.stages.build_stages` gives
    (the same expressions: ``Scenario.compute_time`` per piece, ``Link.time`` of the wire
    bytes at the reserved rate per transfer, the scenario's constant return), so a finish time
    summed from them is the simulator's to the last bit. For a scenario DeePar accepts (no
    divisible node, no traced link). ``cloud`` is ``the_cloud(sc)`` when the caller has it.

    Examples
    --------
    >>> from splitinfer.system.load import scenario_from_dict
    >>> from splitinfer.system.stages import build_stages
    >>> sc = scenario_from_dict(toy_three_tier())
    >>> ch = Choice(option_list(sc)[3], 1, 2, 8e6, 4e6, 0.0)
    >>> tp = deepar_plan(sc, sc.tasks[0], ch)
    >>> stage_durations(sc, sc.tasks[0], ch) == tuple(s.duration for s in build_stages(sc, sc.tasks[0], tp))
    True
    """
    o, dev, name, n = choice.option, task.device, task.model, task.samples
    model = sc.models[name]
    last = model.last_cut
    nodes, latency = sc.nodes, model.head_latency

    def compute(node: str, _: str, a: int, b: int, n: int) -> float:
        # Scenario.compute_time's expressions for a FLOP/s or profiled node (its method
        # otherwise, and for the checks it makes)
        spec = nodes[node]
        if a == b or not 0 <= a < b <= last:
            return sc.compute_time(node, name, a, b, n)
        if spec.compute == "flops" and spec.speed:
            t = float(model.head_flops[b] - model.head_flops[a]) / spec.speed
        elif spec.compute == "hardware" and spec.hardware in latency:
            curve = latency[spec.hardware]
            t = float(curve[b] - curve[a])
        else:
            return sc.compute_time(node, name, a, b, n)
        return n * max(t, 0.0)

    if o.kind == "device":  # one piece on the device (a chain plan without steps)
        return (compute(dev, name, 0, last, n),) if last > 0 else ()

    def hop(src: str, dst: str, nbytes: float, rate: float | None) -> float:
        link = sc.link(src, dst)  # the link's wire dtype (the steps name none)
        if link.trace is not None or rate is None:
            return link.time(float(wire_bytes(nbytes * n, link.dtype)), rate)
        x = nbytes * n if link.dtype == "float32" else float(wire_bytes(nbytes * n, link.dtype))
        return link.latency + link.slowdown * 8.0 * x / rate  # Link.time at a reserved rate

    c1, c2, ret = choice.c1, choice.c2, sc.result_return
    out: list[float] = []
    if c1 > 0:
        out.append(compute(dev, name, 0, c1, n))
    out.append(hop(dev, o.edge, float(model.transfer_bytes[c1]), choice.b1))
    if o.kind == "edge":
        out.append(compute(o.edge, name, c1, last, n))
        out.append(ret if ret is not None else
                   hop(o.edge, dev, float(model.output_bytes), choice.b1))
        return tuple(out)
    if cloud is None:
        cloud = the_cloud(sc)
    if c2 > c1:
        out.append(compute(o.edge, name, c1, c2, n))
    out.append(hop(o.edge, cloud, float(model.transfer_bytes[c2]), choice.b2))
    out.append(compute(cloud, name, c2, last, n))
    if ret is not None:
        out.append(ret)
    else:
        out.append(hop(cloud, o.edge, float(model.output_bytes), choice.b2))
        out.append(hop(o.edge, dev, float(model.output_bytes), choice.b1))
    return tuple(out)


def toy_three_tier(tasks: int = 1, samples: int = 1) -> dict[str, Any]:
    """A tiny device-edge-cloud scenario dict for examples and doctests: ``tasks`` devices
    ``d0, d1, ...`` with one task each at time 0, one edge server with 2 slots, one cloud, 4 cuts,
    FLOP/s nodes, reserved links with pools.

    Examples
    --------
    >>> toy = toy_three_tier(tasks=2)
    >>> [n["name"] for n in toy["nodes"]], toy["pools"]
    (['d0', 'd1', 'e0', 'cloud'], {'e0.access': 20000000.0, 'e0.backbone': 10000000.0})
    """
    devices = [f"d{k}" for k in range(tasks)]
    return {
        "name": "toy-three-tier",
        "nodes": [{"name": d, "kind": "device", "compute": {"flops_per_s": 1e9}} for d in devices]
        + [{"name": "e0", "kind": "edge", "compute": {"flops_per_s": 1e10}, "concurrency": 2},
           {"name": "cloud", "kind": "cloud", "compute": {"flops_per_s": 1e11},
            "concurrency": None}],
        "pools": {"e0.access": 2e7, "e0.backbone": 1e7},
        "links": [{"src": d, "dst": "e0", "bandwidth": 8e6, "sharing": "reserved",
                   "pool": "e0.access"} for d in devices]
        + [{"src": "e0", "dst": "cloud", "bandwidth": 8e6, "sharing": "reserved",
            "pool": "e0.backbone"}],
        "models": {"m": {"cuts": [{"transfer_bytes": 1e6, "head_flops": 0},
                                  {"transfer_bytes": 1e5, "head_flops": 1e8},
                                  {"transfer_bytes": 1e3, "head_flops": 1e9},
                                  {"transfer_bytes": 1e2, "head_flops": 6e9}]}},
        "workload": {"tasks": [{"device": d, "model": "m", "samples": samples} for d in devices]},
    }
