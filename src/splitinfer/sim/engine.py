"""The discrete-event engine: stage DAGs of tasks on resources with slots and shared pools.

This is the one simulator of the project. It knows nothing about models, papers or planners:
it executes, for every task, a small DAG of timed stages (built by
:func:`splitinfer.system.stages.build_stages`) on named resources. A resource has a number of
parallel slots (1 = one at a time; ``None`` = unlimited) and a queue ordered by the project's
one service order, :func:`splitinfer.system.order.service_key` (priority, ready time, task
arrival, task generation index), then stage index and task id: FIFO by default,
first-generated-first-served for ties (Shi et al. 2021, section 2.2), or the plan's order when
it gives priorities (Duan and Wu 2021's Johnson order). A stage may also hold an amount of a
pool (reserved bandwidth, Huang et al. 2019, eqs. 13-16) for its duration; a queue whose head
does not fit in its pool waits (no overtaking, so FIFO is kept).

Events within 1e-12 s of the earliest pending one are handled as one batch at that instant —
finishes, then arrivals, then newly ready stages — and only then are idle resources given work,
in resource-name order, so that tie rules do not depend on the order events were created.

The loop itself is compiled (:mod:`splitinfer.sim._kernel`, Numba; compiled lazily on the first
run and cached on disk). This class keeps the Python side: it interns stage lists into array
templates (one per distinct list object, so tasks with identical plans share one), names
resources and pools, grows the arrays, and hands control to online planners: the compiled loop
runs between arrivals that need a decision and returns at each of them.
The pure-Python engine it replaced is kept as the reference in
:mod:`splitinfer.testing.oracle_engine`; tests check that both give every stage the same times.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence

import numpy as np

from splitinfer.system.stages import Stage

__all__ = ["Engine", "INF_SLOTS"]

INF_SLOTS = math.inf
(_C_HSIZE, _C_SEQ, _C_BATCH, _C_EVENTS, _C_NFIN, _C_PEND, _C_INBATCH, _C_NTOUCH, _C_SCUR,
 _C_SLEN) = range(10)
_KIND_SHIFT = 58  # as splitinfer.sim._kernel.KIND_SHIFT
_F_NOW, _F_T, _F_LIMIT, _F_RELEASE = range(4)
_ARRIVE, _READY = 1, 2
_RANK_SPAN = 1 << 62  # resource ranks (name order) are labels in (0, _RANK_SPAN)


def _grow(a: np.ndarray, n: int, fill: float | int | None = None) -> np.ndarray:
    """``a`` with at least ``n`` rows (doubling), new rows set to ``fill`` when given."""
    if a.shape[0] >= n:
        return a
    size = max(n, 2 * a.shape[0], 16)
    out = np.empty((size, *a.shape[1:]), a.dtype)
    out[: a.shape[0]] = a
    if fill is not None:
        out[a.shape[0]:] = fill
    return out


class Engine:
    """Event loop over tasks made of stage DAGs.

    Parameters
    ----------
    slots : callable
        ``slots(resource_name) -> int | None`` (``None`` = unlimited), asked once per resource.
    pools : dict
        Pool name -> capacity (same unit as the stages' ``amount``).

    Notes
    -----
    Use :meth:`add_task` for every task known in advance, or :meth:`add_arrival` with a
    callback that supplies a task's stages when it arrives (online planning), then :meth:`run`.
    Task ids are integers. After the run, :attr:`finish` maps task id -> finish time and
    :attr:`finish_order` lists task ids in finishing order; ``ready``, ``start`` and ``end``
    give per task the stage times (dicts of lists, built when asked); the columnar arrays
    behind them are :attr:`g_ready`, :attr:`g_start`, :attr:`g_end` (one row per stage,
    task ``k`` — in the order tasks were added — owns rows ``t_base[k]`` onwards).
    Stage lists are read, never modified, so one list may be shared by many tasks.

    Examples
    --------
    >>> e = Engine(lambda r: 1, {})
    >>> a = [Stage("c", "compute", "cpu", "cpu", 2.0, ())]
    >>> b = [Stage("c", "compute", "cpu", "cpu", 1.0, ())]
    >>> e.add_task(0, a, 0.0, 0.0); e.add_task(1, b, 0.0, 0.0)
    >>> e.run(); e.finish
    {0: 2.0, 1: 3.0}
    """

    def __init__(self, slots: Callable[[str], int | None], pools: dict[str, float]) -> None:
        self._slots_of = slots
        self._res_id: dict[str, int] = {}
        self.resource_names: list[str] = []
        self._pool_id = {p: k for k, p in enumerate(pools)}
        self.p_cap = np.array([float(c) for c in pools.values()], float)
        # templates: one per distinct stage-list object
        self._tmpl_of: dict[int, int] = {}
        self.templates: list[Sequence[Stage]] = []
        i8 = np.int64
        self._ta: dict[str, np.ndarray] = {
            "res": np.zeros(0, i8), "dur": np.zeros(0), "pool": np.zeros(0, i8),
            "amt": np.zeros(0), "ndeps": np.zeros(0, i8), "sp": np.zeros(1, i8),
            "succ": np.zeros(0, i8), "tp_off": np.zeros(1, i8), "trc": np.zeros(0, i8),
            "bits": np.zeros(0)}
        self._ta_used = [0, 0]  # template rows, successor entries
        self._ts_arrays: tuple | None = None
        # bandwidth traces of traced transfers, interned by identity
        self._trace_id: dict[int, int] = {}
        self._traces: list = []
        self._tr_arrays: tuple | None = None
        # tasks: added in order; internal index k
        # tasks, in the order added (internal index k): columns not yet copied into the
        # arrays, as chunks of arrays and a buffer of single adds
        self._added = 0
        self._chunks: list[tuple[np.ndarray, ...]] = []
        self._single: list[tuple[int, int, float, float, int, float]] = []
        self._on_arrive: dict[int, Callable] = {}  # internal index -> supply
        self._st: dict[str, np.ndarray] | None = None
        self._queues = None
        self._r_synced = 0  # resources copied into the r_* arrays (their rows beyond: spare)
        self._by_name: list[str] = []  # resource names, sorted (for the rank labels)
        self._q_used = 0  # qbuf entries handed out as queue room
        self.now = 0.0

    # ------------------------------------------------------------------ building
    def _resource(self, name: str) -> int:
        r = self._res_id.get(name)
        if r is None:
            r = self._res_id[name] = len(self.resource_names)
            self.resource_names.append(name)
        return r

    def _template(self, stages: Sequence[Stage]) -> int:
        k = self._tmpl_of.get(id(stages))
        if k is not None and self.templates[k] is stages:
            return k
        k = len(self.templates)
        self._tmpl_of[id(stages)] = k
        self.templates.append(stages)
        succ: list[list[int]] = [[] for _ in stages]
        for i, s in enumerate(stages):
            for d in s.deps:
                succ[d].append(i)
        ta, used = self._ta, self._ta_used  # rows, successors, templates in use
        n = len(stages)
        flat = [j for row in succ for j in row]
        r0, s0 = used[0], used[1]
        for name in ("res", "dur", "pool", "amt", "ndeps", "trc", "bits"):
            ta[name] = _grow(ta[name], r0 + n)
        ta["sp"] = _grow(ta["sp"], r0 + n + 1)
        ta["succ"] = _grow(ta["succ"], s0 + len(flat))
        ta["tp_off"] = _grow(ta["tp_off"], k + 2)
        ta["res"][r0:r0 + n] = [-1 if s.resource is None else self._resource(s.resource)
                                for s in stages]
        ta["dur"][r0:r0 + n] = [s.duration if s.traced is None else s.traced.latency
                                for s in stages]
        ta["trc"][r0:r0 + n] = [-1 if s.traced is None else self._trace(s.traced.trace)
                                for s in stages]
        ta["bits"][r0:r0 + n] = [0.0 if s.traced is None else s.traced.bits for s in stages]
        ta["pool"][r0:r0 + n] = [-1 if s.pool is None else self._pool_id[s.pool] for s in stages]
        ta["amt"][r0:r0 + n] = [s.amount for s in stages]
        ta["ndeps"][r0:r0 + n] = [len(s.deps) for s in stages]
        ta["succ"][s0:s0 + len(flat)] = flat
        ta["sp"][r0 + 1:r0 + n + 1] = s0 + np.cumsum([len(row) for row in succ], dtype=np.int64)
        ta["tp_off"][k + 1] = r0 + n
        used[0], used[1] = r0 + n, s0 + len(flat)
        self._ts_arrays = None
        return k

    def _trace(self, trace) -> int:
        """The id of a bandwidth trace in the kernel's trace arrays (added on first use)."""
        k = self._trace_id.get(id(trace))
        if k is not None and self._traces[k] is trace:
            return k
        k = self._trace_id[id(trace)] = len(self._traces)
        self._traces.append(trace)
        self._tr_arrays = None
        return k

    def _trace_arrays(self) -> tuple:
        """The traces in use as the kernel takes them: offsets, times, cumulative bits, rates,
        periods (0: no repeat), bits per period."""
        if self._tr_arrays is None:
            trs = self._traces
            off = np.zeros(len(trs) + 1, np.int64)
            np.cumsum([len(tr.times) for tr in trs], out=off[1:])
            def cat(name: str) -> np.ndarray:
                return np.concatenate([getattr(tr, name) for tr in trs]) if trs else np.zeros(0)

            self._tr_arrays = (off, cat("times"), cat("cum"), cat("rates"),
                               np.array([tr.period or 0.0 for tr in trs], float),
                               np.array([tr.total for tr in trs], float))
        return self._tr_arrays

    def _add(self, tid: int, tmpl: int, arrival: float, priority: float, index: int,
             release: float) -> None:
        self._single.append((int(tid), tmpl, float(priority), float(arrival), int(index),
                             release))
        self._added += 1

    def _flush_single(self) -> None:
        if self._single:
            tid, tmpl, prio, arr, idx, rel = zip(*self._single, strict=True)
            self._chunks.append((np.array(tid, np.int64), np.array(tmpl, np.int64),
                                 np.array(prio, float), np.array(arr, float),
                                 np.array(idx, np.int64), np.array(rel, float)))
            self._single = []

    def add_task(self, tid: int, stages: Sequence[Stage], arrival: float, release: float,
                 priority: float = 0.0, index: int | None = None) -> None:
        """Add a task whose stages are known; its root stages become ready at ``release``."""
        self._add(tid, self._template(stages), arrival, priority, tid if index is None else index,
                  float(release))

    def add_tasks(self, tids: Sequence[int], stages: Sequence[Sequence[Stage]],
                  which: Sequence[int], arrival: Sequence[float], release: Sequence[float],
                  priority: Sequence[float], index: Sequence[int]) -> None:
        """Add many tasks at once: task ``tids[i]`` runs the stage list ``stages[which[i]]``.

        The same as :meth:`add_task` for each, in order, without a Python call per task.
        """
        tm = np.array([self._template(st) for st in stages], np.int64)
        self._flush_single()
        chunk = (np.asarray(tids, np.int64), tm[np.asarray(which, np.int64)],
                 np.asarray(priority, float), np.asarray(arrival, float),
                 np.asarray(index, np.int64), np.asarray(release, float))
        if len({c.shape for c in chunk}) != 1:
            raise ValueError("add_tasks needs one value per task in every column")
        self._chunks.append(chunk)
        self._added += len(chunk[0])

    def add_arrival(self, tid: int, arrival: float, index: int,
                    supply: Callable[[float], tuple[Sequence[Stage], float, float]]) -> None:
        """Add a task decided at its arrival: ``supply(now) -> (stages, release, priority)``."""
        self._add(tid, -1, arrival, 0.0, index, math.nan)
        self._on_arrive[self._added - 1] = supply

    # ------------------------------------------------------------------ arrays
    def _template_arrays(self) -> tuple:
        """Views of the template arrays in use (the order the kernel takes them)."""
        if self._ts_arrays is None:
            ta, (rows, succ) = self._ta, self._ta_used
            self._ts_arrays = (ta["res"][:rows], ta["dur"][:rows], ta["pool"][:rows],
                               ta["amt"][:rows], ta["ndeps"][:rows], ta["sp"][:rows + 1],
                               ta["succ"][:succ], ta["tp_off"][:len(self.templates) + 1],
                               ta["trc"][:rows], ta["bits"][:rows])
        return self._ts_arrays

    def _empty_state(self) -> dict[str, np.ndarray]:
        i8, f8 = np.int64, float
        st = {"cnt": np.zeros(10, i8), "fl": np.zeros(4, f8)}
        st["cnt"][_C_PEND] = -1
        for name, dt in (("t_tmpl", i8), ("t_prio", f8), ("t_arr", f8), ("t_idx", i8),
                         ("t_uid", i8), ("t_base", i8), ("t_rem", i8), ("t_fin", f8),
                         ("fin_order", i8), ("g_task", i8), ("g_left", i8), ("g_ready", f8),
                         ("g_start", f8), ("g_end", f8), ("h_time", f8), ("h_key", i8),
                         ("h_gs", i8), ("s_time", f8), ("s_key", i8), ("s_tid", i8),
                         ("s_stage", i8), ("r_slots", f8),
                         ("r_busy", i8), ("r_mark", i8), ("r_rank", i8), ("r_qlen", i8),
                         ("touched", i8), ("p_used", f8), ("p_wn", i8)):
            st[name] = np.zeros(0, dt)
        npool = len(self.p_cap)
        st["p_cap"] = self.p_cap
        st["p_used"] = np.zeros(npool, f8)
        st["p_wn"] = np.zeros(npool, i8)
        st["p_wlist"] = np.zeros((npool, 0), i8)
        st["p_wflag"] = np.zeros((npool, 0), np.bool_)
        st["g_used"] = np.zeros(1, i8)  # rows of g_* in use
        st["qbuf"] = np.zeros(0, i8)
        st["q_off"] = np.zeros(0, i8)
        st["q_cap"] = np.zeros(0, i8)  # queue capacity per resource
        st["r_count"] = np.zeros(0, i8)  # stages installed per resource
        return st

    def _sync_resources(self) -> None:
        """Give resources named since the last call their rows in the ``r_*``, ``q_*`` and
        ``p_w*`` arrays.

        Amortised O(1) array work per resource (an online run meets a new device at almost
        every arrival): the arrays keep spare rows and grow by doubling, and a new resource
        gets a rank label between its neighbours in name order (:meth:`_rank_new`).
        """
        st = self._st
        n, have = len(self.resource_names), self._r_synced
        if n == have:
            return
        if n > st["r_slots"].shape[0]:
            for name in ("r_slots", "r_busy", "r_qlen", "touched", "r_mark", "r_rank", "q_off",
                         "q_cap", "r_count"):
                st[name] = _grow(st[name], n, 0)
            size = st["r_slots"].shape[0]
            for name in ("p_wlist", "p_wflag"):
                old = st[name]
                grown = np.zeros((old.shape[0], size), old.dtype)
                grown[:, :old.shape[1]] = old
                st[name] = grown
        new = self.resource_names[have:]
        st["r_slots"][have:n] = [INF_SLOTS if s is None else float(s)
                                 for s in map(self._slots_of, new)]
        for name in ("r_busy", "r_qlen", "touched", "q_cap", "r_count"):
            st[name][have:n] = 0
        st["r_mark"][have:n] = -1
        st["q_off"][have:n] = self._q_used
        self._r_synced = n
        for r, name in enumerate(new, have):
            self._rank_new(r, name)

    def _rank_new(self, r: int, name: str) -> None:
        """Rank label of the new resource ``r``: the kernel only compares the ranks of two
        resources (idle resources take work in name order), so a label between those of its
        neighbours in name order will do. Labels are spaced evenly when a gap runs out (all at
        once, O(n)), leaving three quarters of the range for names sorted after every other,
        as numbered devices mostly are."""
        names, rank, ids = self._by_name, self._st["r_rank"], self._res_id
        i = bisect.bisect_left(names, name)
        names.insert(i, name)
        spacing = _RANK_SPAN // (4 * len(names))
        lo = int(rank[ids[names[i - 1]]]) if i > 0 else 0
        if i + 1 < len(names):
            hi = int(rank[ids[names[i + 1]]])
            label = (lo + hi) // 2 if hi - lo >= 2 else None
        else:
            label = lo + spacing if lo + spacing < _RANK_SPAN else None
        if label is None:  # no room left: spread every label again
            for k, other in enumerate(names, 1):
                rank[ids[other]] = k * spacing
        else:
            rank[r] = label

    def _alloc_stages(self, ks: np.ndarray) -> None:
        """Give the tasks ``ks`` (internal indices, templates set) rows in the ``g_*`` arrays."""
        st = self._st
        tp_off = self._template_arrays()[7]
        ndeps = self._template_arrays()[4]
        tm = st["t_tmpl"][ks]
        sizes = tp_off[tm + 1] - tp_off[tm]
        used = int(st["g_used"][0])
        total = used + int(sizes.sum())
        for name, fill in (("g_task", None), ("g_left", None), ("g_ready", math.nan),
                           ("g_start", math.nan), ("g_end", math.nan)):
            st[name] = _grow(st[name], total, fill)
        for name in ("h_time", "h_key", "h_gs"):  # at most one pending event per stage
            st[name] = _grow(st[name], total)
        if len(ks) == 1:
            k, n = int(ks[0]), int(sizes[0])
            st["t_base"][k] = used
            st["t_rem"][k] = n
            st["g_task"][used:total] = k
            o = tp_off[tm[0]]
            st["g_left"][used:total] = ndeps[o:o + n]
            st["g_used"][0] = total
            # queue room: a resource's queue never holds more than the stages installed on it
            used_res = self._template_arrays()[0][o:o + n]
            used_res = used_res[used_res >= 0]
            if len(used_res):  # one arrival: touch only its resources (no O(resources) scan)
                count = st["r_count"]
                np.add.at(count, used_res, 1)
                over = np.unique(used_res[count[used_res] > st["q_cap"][used_res]])
                if len(over):
                    self._relayout_queues(over)
            return
        from splitinfer.sim._columns import alloc_rows

        alloc_rows(ks, st["t_tmpl"], tp_off, ndeps, self._template_arrays()[0], used,
                   st["t_base"], st["t_rem"], st["g_task"], st["g_left"], st["r_count"])
        st["g_used"][0] = total
        over = np.flatnonzero(st["r_count"] > st["q_cap"])
        if len(over):
            self._relayout_queues(over)

    def _relayout_queues(self, over: np.ndarray) -> None:
        """New queue room for the resources ``over``, whose installed stages outgrew theirs: at
        least twice the old room, appended to ``qbuf`` (which grows by doubling), their queued
        stages moved along (the heap layout kept). The old room is not reused."""
        st = self._st
        cap, count, qlen, off = st["q_cap"], st["r_count"], st["r_qlen"], st["q_off"]
        room = np.maximum(count[over], 2 * cap[over])
        start = self._q_used + np.concatenate([[0], np.cumsum(room)[:-1]]).astype(np.int64)
        self._q_used += int(room.sum())
        st["qbuf"] = buf = _grow(st["qbuf"], self._q_used, 0)
        for r, o in zip(over.tolist(), start.tolist(), strict=True):
            n = int(qlen[r])
            if n:
                buf[o:o + n] = buf[off[r]:off[r] + n]
        off[over] = start
        cap[over] = room

    def _sync_tasks(self) -> None:
        """Copy tasks added since the last run into the arrays and queue their first events."""
        if self._st is None:
            self._st = self._empty_state()
        st = self._st
        self._sync_resources()
        self._flush_single()
        if not self._chunks:
            return
        cols = [np.concatenate(c) for c in zip(*self._chunks, strict=True)]
        self._chunks = []
        uid, tmpl_new, prio, arrival, idx, release = cols
        lo = st["t_tmpl"].shape[0]
        hi = lo + len(uid)
        for name, col in (("t_tmpl", tmpl_new), ("t_prio", prio), ("t_arr", arrival),
                          ("t_idx", idx), ("t_uid", uid)):
            st[name] = np.concatenate([st[name], col])
        for name, dt, fill in (("t_base", np.int64, 0), ("t_rem", np.int64, 0),
                               ("t_fin", float, math.nan), ("fin_order", np.int64, 0)):
            st[name] = np.concatenate([st[name], np.full(hi - lo, fill, dt)])
        arriving = np.isnan(release)
        known = np.flatnonzero(~arriving) + lo
        ts = self._template_arrays()
        self._alloc_stages(known)
        # first events, in the order the tasks were added: arrivals, or the root stages
        from splitinfer.sim._columns import first_events

        time, kind, tid, stage, empty = first_events(lo, st["t_tmpl"], arriving, arrival,
                                                     release, ts[7], ts[4], _ARRIVE, _READY)
        if len(empty):  # nothing to do: finished at its release, in the order added
            nf = int(st["cnt"][_C_NFIN])
            st["t_fin"][empty + lo] = release[empty]
            st["fin_order"][nf:nf + len(empty)] = empty + lo
            st["cnt"][_C_NFIN] += len(empty)
        self._push_many(time, kind, tid, stage)

    def _push_many(self, time: np.ndarray, kind: np.ndarray, tid: np.ndarray,
                   stage: np.ndarray) -> None:
        """Add events known before running to the sorted stream (not yet read part kept)."""
        st = self._st
        cnt = st["cnt"]
        n = len(time)
        key = (kind << _KIND_SHIFT) | (cnt[_C_SEQ] + 1 + np.arange(n, dtype=np.int64))
        cnt[_C_SEQ] += n
        cur, end = int(cnt[_C_SCUR]), int(cnt[_C_SLEN])
        cols = {"s_time": time, "s_key": key, "s_tid": tid, "s_stage": stage}
        if cur < end:
            cols = {k: np.concatenate([st[k][cur:end], v]) for k, v in cols.items()}
        from splitinfer.sim._columns import is_sorted

        if is_sorted(cols["s_time"], cols["s_key"]):  # tasks added in time order: no sort
            st.update(cols)
        else:
            order = np.lexsort((cols["s_key"], cols["s_time"]))
            for k, v in cols.items():
                st[k] = v[order]
        cnt[_C_SCUR] = 0
        cnt[_C_SLEN] = len(cols["s_time"])

    def _install_arrival(self, k: int, stages: Sequence[Stage], release: float,
                         priority: float) -> None:
        st = self._st
        tm = self._template(stages)
        st["t_tmpl"][k] = tm
        st["t_prio"][k] = float(priority)
        self._sync_resources()
        self._alloc_stages(np.array([k], np.int64))
        if not stages:
            st["t_fin"][k] = self.now
            st["fin_order"][st["cnt"][_C_NFIN]] = k
            st["cnt"][_C_NFIN] += 1
        st["fl"][_F_RELEASE] = release

    # ------------------------------------------------------------------ running
    def run(self, until: float = math.inf) -> None:
        """Process events up to time ``until`` (all of them by default).

        All events within 1e-12 s of the earliest pending one form a batch: finishes, then
        arrivals, then stages becoming ready; only then do idle resources take the head of their
        queues, in resource-name order.
        """
        from splitinfer.sim._kernel import run as kernel

        self._sync_tasks()
        st = self._st
        while True:
            ts = self._template_arrays()
            code = kernel(float(until), st["cnt"], st["fl"], *ts,
                          st["t_tmpl"], st["t_prio"], st["t_arr"], st["t_idx"], st["t_uid"],
                          st["t_base"], st["t_rem"], st["t_fin"], st["fin_order"],
                          st["g_task"], st["g_left"], st["g_ready"], st["g_start"], st["g_end"],
                          st["h_time"], st["h_key"], st["h_gs"], st["s_time"], st["s_key"],
                          st["s_tid"], st["s_stage"],
                          st["r_slots"], st["r_busy"], st["r_mark"], st["r_rank"], st["r_qlen"],
                          st["qbuf"], st["q_off"], st["touched"], st["p_cap"], st["p_used"], st["p_wn"],
                          st["p_wlist"], st["p_wflag"], self._trace_arrays())
            self.now = float(st["fl"][_F_NOW])
            if code == 0:
                return
            k = int(st["cnt"][_C_PEND])
            supply = self._on_arrive.pop(k)
            stages, release, priority = supply(self.now)
            self._install_arrival(k, stages, float(release), priority)

    # ------------------------------------------------------------------ reading
    @property
    def events(self) -> int:
        """Events processed so far."""
        return 0 if self._st is None else int(self._st["cnt"][_C_EVENTS])

    @property
    def num_finished(self) -> int:
        """How many tasks have finished so far."""
        return 0 if self._st is None else int(self._st["cnt"][_C_NFIN])

    @property
    def finish_positions(self) -> np.ndarray:
        """Internal indices (order of adding) of the finished tasks, in finishing order."""
        return self._st["fin_order"][: self.num_finished]

    @property
    def task_finish(self) -> np.ndarray:
        """Finish time per task in the order added (NaN while unfinished)."""
        return self._st["t_fin"]

    @property
    def t_base(self) -> np.ndarray:
        """First ``g_*`` row of every task, in the order added."""
        return self._st["t_base"]

    @property
    def t_tmpl(self) -> np.ndarray:
        """Template (index into :attr:`templates`) of every task; -1 while undecided."""
        return self._st["t_tmpl"]

    @property
    def g_ready(self) -> np.ndarray:
        """Ready time of every stage row."""
        return self._st["g_ready"][: self._st["g_used"][0]]

    @property
    def g_start(self) -> np.ndarray:
        """Start time of every stage row."""
        return self._st["g_start"][: self._st["g_used"][0]]

    @property
    def g_end(self) -> np.ndarray:
        """End time of every stage row."""
        return self._st["g_end"][: self._st["g_used"][0]]

    @property
    def template_resource(self) -> np.ndarray:
        """Resource id (index into :attr:`resource_names`, -1 = none) of every template row."""
        return self._template_arrays()[0]

    @property
    def template_offsets(self) -> np.ndarray:
        """First template row of every template (and the end)."""
        return self._template_arrays()[7]

    @property
    def finish(self) -> dict[int, float]:
        """Task id -> finish time, for the tasks finished so far."""
        if self._st is None:
            return {}
        fin = self._st["t_fin"]
        uid = self._st["t_uid"]
        return {int(uid[k]): float(fin[k]) for k in self.finish_positions}

    @property
    def finish_order(self) -> list[int]:
        """Task ids in the order they finished."""
        if self._st is None:
            return []
        return self._st["t_uid"][self.finish_positions].tolist()

    @property
    def stages(self) -> dict[int, Sequence[Stage]]:
        """Task id -> its stage list (decided tasks only)."""
        if self._st is None:
            return {}
        return {u: self.templates[t] for u, t in zip(self._st["t_uid"].tolist(),
                                                     self._st["t_tmpl"].tolist(), strict=True)
                if t >= 0}

    def _per_task(self, col: np.ndarray) -> dict[int, list[float]]:
        st = self._st
        out = {}
        for k, (u, tm) in enumerate(zip(st["t_uid"].tolist(), st["t_tmpl"].tolist(),
                                        strict=True)):
            if tm < 0:
                continue
            n = len(self.templates[tm])
            b = int(st["t_base"][k])
            out[u] = col[b:b + n].tolist()
        return out

    @property
    def ready(self) -> dict[int, list[float]]:
        """Task id -> ready time of each of its stages."""
        return self._per_task(self._st["g_ready"])

    @property
    def start(self) -> dict[int, list[float]]:
        """Task id -> start time of each of its stages."""
        return self._per_task(self._st["g_start"])

    @property
    def end(self) -> dict[int, list[float]]:
        """Task id -> end time of each of its stages."""
        return self._per_task(self._st["g_end"])

    def slots(self) -> dict[str, float]:
        """Parallel slots of every resource used (``inf`` for unlimited)."""
        if self._st is None:
            return {}
        return dict(zip(self.resource_names, self._st["r_slots"][:self._r_synced].tolist(),
                        strict=True))
