"""Offline GSPI (Shi et al. 2021, Alg. 2) over array-encoded queues, emitting a columnar plan.

:class:`ArrayCenter` is the strategy center of :mod:`splitinfer.planners.shi2021.state` with
every task, strategy and queue held in NumPy arrays, and its passes compiled
(:mod:`splitinfer.planners.shi2021._kernel`):

:meth:`ArrayCenter.slot_pass` is Alg. 2 itself: Step 2 (each task of a slot, in generation
order, takes ``arg min_{k, p} t(m)`` of eq. (1) against the tasks placed so far) and, with
``replan``, Step 3 (Fig. 3: the tasks that a task of this slot overtakes at a server —
generated earlier, reaching the server later — are taken out and their strategies remade in
generation order). Remade strategies are kept, as in the paper.

:meth:`ArrayCenter.polish` is our addition after Alg. 2 (``GSPIPlanner(polish=...)``): re-plan
tasks one at a time, each time moving the task to the strategy that lowers the sum of t(m) over
all tasks the most, and stop when no move lowers it. It only ever lowers the total, so starting
it from the better of the Step-3 plan and the Step-2-only plan (which is exactly the online
center's plan) makes GSPI never worse than the online algorithm — which the paper claims ("GSPI
is always the best") but its Step 3 alone does not guarantee (docs/reproductions/shi2021.md).
A candidate strategy's cost is its own t(m) plus the delay it pushes onto the tasks queued
behind it; the sum of delays stops as soon as the strategy can no longer beat the best one
found, so a move on a long busy period costs what the best strategy's gain allows, not the
whole queue.

The decisions and every floating-point operation are the former Python passes'
(:mod:`splitinfer.testing.gspi_oracle`), so the plans are the same bit for bit (tested); the
cost is O(N log N) for Step 2 plus the busy periods the queue updates touch, with no Python
object per task, and the plan is :class:`~splitinfer.system.plan.ChainColumns` (cut and
server per task as arrays).

Examples
--------
>>> from splitinfer.system import load_scenario
>>> from splitinfer.planners.shi2021.model import OptionCache
>>> sc = load_scenario("shi2021").with_link_rate(16e6)
>>> a = ArrayCenter(sc, OptionCache(sc)); _ = a.slot_pass(replan=False)
>>> b = ArrayCenter(sc, OptionCache(sc)); stats = b.slot_pass(replan=True)
>>> stats["remade"] > 0
True
>>> before = min(a.total(), b.total())
>>> best = a if a.total() <= b.total() else b
>>> moves = best.polish(scope="improvable")
>>> best.total() <= before
True
>>> best.columns()[sc.tasks[0].id].nodes[0] == sc.tasks[0].device
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from splitinfer.planners.shi2021.model import OptionCache
from splitinfer.system.plan import ChainColumns
from splitinfer.system.scenario import Scenario

__all__ = ["ArrayCenter"]


class ArrayCenter:
    """The offline strategy center on arrays (see the module docstring).

    Parameters
    ----------
    scenario : Scenario
        Its tasks, in generation order, are the rows.
    options : OptionCache
        Each task's strategies (sorted by no-wait time).
    wait : {"fifo", "paper"}
        Waiting model used to choose: the real FIFO queue, or eq. (7) with (8) (the work queued
        ahead, summed left to right in service order, minus the arrival time).
    """

    def __init__(self, scenario: Scenario, options: OptionCache, wait: str = "fifo") -> None:
        if wait not in ("fifo", "paper"):
            raise ValueError(f"wait must be 'fifo' or 'paper', got {wait!r}")
        self.sc = scenario
        self.wait = wait
        tasks = scenario.tasks
        n = len(tasks)
        servers = list(scenario.servers)
        sid = {s: i for i, s in enumerate(servers)}
        types: dict[tuple[str, str, int], int] = {}
        t_ty = np.empty(n, np.int64)
        type_opts: list[list] = []
        type_groups: list[tuple] = []
        for k, t in enumerate(tasks):
            key = (t.device, t.model, t.samples)
            ty = types.get(key)
            if ty is None:
                ty = types[key] = len(type_opts)
                type_opts.append(options(t))
                type_groups.append(options.grouped(t))
            t_ty[k] = ty
        opts = [o for lst in type_opts for o in lst]
        m = len(opts)
        ty_off = np.zeros(len(type_opts) + 1, np.int64)
        np.cumsum([len(lst) for lst in type_opts], out=ty_off[1:])
        wpre = max([len(o.pre) for o in opts] + [1])
        wpost = max([len(o.post) for o in opts] + [1])
        o_pre, o_post = np.zeros((m, wpre)), np.zeros((m, wpost))
        o_npre = np.array([len(o.pre) for o in opts], np.int64)
        o_npost = np.array([len(o.post) for o in opts], np.int64)
        for i, o in enumerate(opts):
            o_pre[i, :len(o.pre)] = o.pre
            o_post[i, :len(o.post)] = o.post
        ty_local = np.full(len(type_opts), -1, np.int64)
        ty_goff = np.zeros(len(type_opts) + 1, np.int64)
        g_srv, g_first, g_minrest, g_off, g_opts = [], [], [], [0], []
        for ty, (local, groups) in enumerate(type_groups):
            oid = {o.order: ty_off[ty] + i for i, o in enumerate(type_opts[ty])}
            if local is not None:
                ty_local[ty] = oid[local.order]
            for g in groups:
                g_srv.append(sid[g.server])
                g_first.append(oid[g.first.order])
                g_minrest.append(g.min_rest)
                g_opts.extend(oid[o.order] for o in g.options)
                g_off.append(len(g_opts))
            ty_goff[ty + 1] = len(g_srv)
        self.ids = [t.id for t in tasks]
        self.servers = servers
        self.opts = opts
        self.t = {"t_arr": np.array([t.arrival for t in tasks], float),
                  "t_idx": np.array([t.index for t in tasks], float),
                  "t_ty": t_ty}
        self.o = {"ty_off": ty_off, "ty_local": ty_local, "ty_goff": ty_goff,
                  "g_srv": np.array(g_srv, np.int64), "g_first": np.array(g_first, np.int64),
                  "g_minrest": np.array(g_minrest, float), "g_off": np.array(g_off, np.int64),
                  "g_opts": np.array(g_opts, np.int64),
                  "o_srv": np.array([-1 if o.server is None else sid[o.server] for o in opts],
                                    np.int64),
                  "o_work": np.array([o.work for o in opts], float),
                  "o_order": np.array([o.order for o in opts], float),
                  "o_nowait": np.array([o.no_wait for o in opts], float),
                  "o_pre": o_pre, "o_npre": o_npre, "o_post": o_post, "o_npost": o_npost}
        self.dev = [t.device for t in tasks]
        width = min(max(n, 1), 1024)
        self.Q = np.zeros((len(servers), 7, width))
        self.PS = np.zeros((len(servers), width + 1))
        self.qlen = np.zeros(len(servers), np.int64)
        self.pvalid = np.zeros(len(servers), np.int64)
        self.unl = np.array([scenario.nodes[s].concurrency is None for s in servers], bool)
        self.fl = np.zeros(1)
        self.cnt = np.zeros(1, np.int64)
        self.p = {"t_opt": np.full(n, -1, np.int64), "t_rd": np.zeros(n), "t_kr": np.zeros(n),
                  "t_est": np.zeros(n), "t_seq": np.zeros(n)}

    @property
    def running_total(self) -> float:
        """Sum of the real t(m) of the placed tasks, kept incrementally (as the center's)."""
        return float(self.fl[0])

    def slot_pass(self, replan: bool = True) -> dict[str, int]:
        """Alg. 2 over every task (ordered by generation): Step 2, then Step 3 per slot.

        Returns
        -------
        dict
            ``{"slots": frames processed, "remade": strategies remade in Step 3}``.
        """
        from splitinfer.planners.shi2021 import _kernel

        t, o, p = self.t, self.o, self.p
        self.Q, self.PS, slots, remade = _kernel.slot_pass(
            self.Q, self.PS, self.qlen, self.pvalid, self.unl, self.wait == "fifo", bool(replan),
            self.fl, self.cnt, t["t_arr"], t["t_idx"], t["t_ty"], p["t_opt"], p["t_rd"],
            p["t_kr"], p["t_est"], p["t_seq"], o["ty_off"], o["ty_local"], o["ty_goff"],
            o["g_srv"], o["g_first"], o["g_minrest"], o["g_off"], o["g_opts"], o["o_srv"],
            o["o_work"], o["o_order"], o["o_nowait"], o["o_pre"], o["o_npre"], o["o_post"],
            o["o_npost"])
        return {"slots": int(slots), "remade": int(remade)}

    def polish(self, scope: str = "improvable", max_passes: int = 20) -> int:
        """Move tasks one at a time to the strategy that lowers the total t(m) most (see above).

        Parameters
        ----------
        scope : {"improvable", "all"}
            Which tasks may move: those overtaken by a later-generated task (Fig. 3's
            improvable strategies), or every task (a plain local search).
        max_passes : int
            Passes over the candidates in generation order; stops early when a pass moves
            nothing.

        Returns
        -------
        int
            Number of moves made.
        """
        if scope not in ("improvable", "all"):
            raise ValueError(f"scope must be 'improvable' or 'all', got {scope!r}")
        from splitinfer.planners.shi2021 import _kernel

        t, o, p = self.t, self.o, self.p
        self.Q, self.PS, moves = _kernel.polish(
            self.Q, self.PS, self.qlen, self.pvalid, self.unl, self.wait == "fifo",
            scope == "all", int(max_passes), self.fl, self.cnt, t["t_arr"], t["t_idx"],
            t["t_ty"], p["t_opt"], p["t_rd"], p["t_kr"], p["t_est"], p["t_seq"], o["ty_off"],
            o["o_srv"], o["o_work"], o["o_order"], o["o_nowait"], o["o_pre"], o["o_npre"],
            o["o_post"], o["o_npost"])
        return int(moves)

    # ------------------------------------------------------------------ reading
    def _order(self) -> np.ndarray:
        """Placed rows in the order they were (last) placed: the Python center's dict order,
        which fixes the order of its sums."""
        placed = np.flatnonzero(self.p["t_opt"] >= 0)
        return placed[np.argsort(self.p["t_seq"][placed], kind="stable")]

    def latencies(self) -> np.ndarray:
        """Real t(m) of every task row under the current queues (NaN: not placed)."""
        from splitinfer.planners.shi2021 import _kernel

        return _kernel.latencies(self.Q, self.qlen, self.t["t_arr"], self.p["t_opt"],
                                 self.p["t_rd"], self.o["o_srv"], self.o["o_post"],
                                 self.o["o_npost"])

    def total(self) -> float:
        """Sum of the real t(m) of every placed task (N x eq. (9)), in placement order."""
        return float(sum(self.latencies()[self._order()].tolist()))

    def mean(self) -> float:
        """Mean real t(m) of the placed tasks (0 when none)."""
        n = int((self.p["t_opt"] >= 0).sum())
        return self.total() / n if n else 0.0

    def info(self) -> dict[str, Any]:
        """``predicted_latency`` (task id -> real t(m)), its mean, the waiting model and, for
        ``wait="paper"``, the estimates the tasks were placed with."""
        order = self._order()
        ids = [self.ids[k] for k in order.tolist()]
        real = self.latencies()[order].tolist()
        info: dict[str, Any] = {"predicted_latency": dict(zip(ids, real, strict=True)),
                                "predicted_mean": float(sum(real) / len(real)) if real else 0.0,
                                "wait_model": self.wait}
        if self.wait == "paper":
            est = self.p["t_est"][order].tolist()
            info["estimated_latency"] = dict(zip(ids, est, strict=True))
            info["estimated_mean"] = float(sum(est) / len(est)) if est else 0.0
        return info

    def columns(self) -> ChainColumns:
        """The placed tasks' strategies as :class:`ChainColumns` (rows in task order): the
        device, then the server at the chosen cut; the device alone for the all-local point."""
        opt = self.p["t_opt"]
        rows = np.flatnonzero(opt >= 0)
        names = list(dict.fromkeys(self.dev)) + self.servers
        index = {x: i for i, x in enumerate(names)}
        dev_id = np.array([index[self.dev[k]] for k in rows.tolist()], np.int64)
        srv = self.o["o_srv"][opt[rows]]
        cut = np.array([o.cut for o in self.opts], np.int64)[opt[rows]]
        first_server = len(names) - len(self.servers)
        nodes = np.stack([dev_id, np.where(srv >= 0, srv + first_server, -1)], axis=1)
        cuts = np.where(srv >= 0, cut, -1).reshape(-1, 1)
        return ChainColumns([self.ids[k] for k in rows.tolist()], names, nodes, cuts)
