"""The compiled event loop of :class:`splitinfer.sim.engine.Engine` (Numba, ``nopython`` mode).

Why Numba: it installs from PyPI as binary wheels on Linux, macOS and Windows (x86-64 and arm64)
with its own LLVM (llvmlite), so users need no C compiler, and the loop stays readable Python
over NumPy arrays. Functions are compiled on first use and cached on disk (``cache=True``), so
``import splitinfer`` and the CLI never import Numba; only the first simulation of a process
loads (or, once per installation, compiles) this module.

Everything is arrays; the engine (:mod:`splitinfer.sim.engine`) owns and grows them. Names:

* template stages ``ts_*`` (one row per stage of each distinct stage list): resource id (-1 =
  none), duration, pool id (-1 = none), pool amount, number of dependencies, successors in CSR
  form (``ts_sp`` offsets into ``ts_succ``, local stage indices); ``tp_off[k]`` is the first row
  of template ``k``;
* tasks ``t_*``: template, priority, arrival, generation index, user id, first global stage
  (``t_base``), stages not finished yet, finish time;
* global stages ``g_*`` (one row per stage of every installed task): the task, dependencies
  left, ready, start and end times;
* the event heap ``h_*`` keyed ``(time, kind, seq)``, kinds finish 0 < arrival 1 < ready 2;
* resources ``r_*``: slots (``inf`` = unlimited), busy slots, the batch that last touched it,
  its rank in name order; ``queues[r]`` is a binary heap of global stage ids;
* pools ``p_*``: capacity, amount held, resources whose queue head waits for the pool;
* ``cnt`` (int64) and ``fl`` (float64) hold the scalars that survive between calls (indices
  ``C_*`` and ``F_*`` below).

The service order of a resource's queue is the project's one rule, ``(priority, ready time,
task arrival, task generation index, stage index, task id)``, as written in
:mod:`splitinfer.sim.engine` (and in ``splitinfer.testing``'s reference engine).
"""

from __future__ import annotations

import numpy as np
from numba import njit

EPS = 1e-12
FINISH, ARRIVE, READY = 0, 1, 2
# cnt indices
C_HSIZE, C_SEQ, C_BATCH, C_EVENTS, C_NFIN, C_PEND, C_INBATCH, C_NTOUCH = range(8)
# fl indices
F_NOW, F_T, F_LIMIT, F_RELEASE = range(4)


@njit(cache=True, inline="always")
def _hless(h_time, h_kind, h_seq, a, b):
    if h_time[a] != h_time[b]:
        return h_time[a] < h_time[b]
    if h_kind[a] != h_kind[b]:
        return h_kind[a] < h_kind[b]
    return h_seq[a] < h_seq[b]


@njit(cache=True, inline="always")
def _hswap(h_time, h_kind, h_seq, h_tid, h_stage, a, b):
    h_time[a], h_time[b] = h_time[b], h_time[a]
    h_kind[a], h_kind[b] = h_kind[b], h_kind[a]
    h_seq[a], h_seq[b] = h_seq[b], h_seq[a]
    h_tid[a], h_tid[b] = h_tid[b], h_tid[a]
    h_stage[a], h_stage[b] = h_stage[b], h_stage[a]


@njit(cache=True)
def heap_push(h_time, h_kind, h_seq, h_tid, h_stage, cnt, time, kind, tid, stage):
    """Push one event (the caller guarantees capacity)."""
    n = cnt[C_HSIZE]
    cnt[C_SEQ] += 1
    h_time[n] = time
    h_kind[n] = kind
    h_seq[n] = cnt[C_SEQ]
    h_tid[n] = tid
    h_stage[n] = stage
    cnt[C_HSIZE] = n + 1
    while n > 0:
        p = (n - 1) >> 1
        if _hless(h_time, h_kind, h_seq, n, p):
            _hswap(h_time, h_kind, h_seq, h_tid, h_stage, n, p)
            n = p
        else:
            break


@njit(cache=True, inline="always")
def _heap_pop(h_time, h_kind, h_seq, h_tid, h_stage, cnt):
    n = cnt[C_HSIZE] - 1
    cnt[C_HSIZE] = n
    _hswap(h_time, h_kind, h_seq, h_tid, h_stage, 0, n)
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and _hless(h_time, h_kind, h_seq, c + 1, c):
            c += 1
        if _hless(h_time, h_kind, h_seq, c, i):
            _hswap(h_time, h_kind, h_seq, h_tid, h_stage, c, i)
            i = c
        else:
            break


@njit(cache=True, inline="always")
def _qless(a, b, g_task, g_ready, t_prio, t_arr, t_idx, t_uid, t_base):
    ta = g_task[a]
    tb = g_task[b]
    if t_prio[ta] != t_prio[tb]:
        return t_prio[ta] < t_prio[tb]
    if g_ready[a] != g_ready[b]:
        return g_ready[a] < g_ready[b]
    if t_arr[ta] != t_arr[tb]:
        return t_arr[ta] < t_arr[tb]
    if t_idx[ta] != t_idx[tb]:
        return t_idx[ta] < t_idx[tb]
    ja = a - t_base[ta]
    jb = b - t_base[tb]
    if ja != jb:
        return ja < jb
    return t_uid[ta] < t_uid[tb]


@njit(cache=True)
def _qpush(queues, r_qlen, r, gs, g_task, g_ready, t_prio, t_arr, t_idx, t_uid, t_base):
    q = queues[r]
    n = r_qlen[r]
    if n == q.shape[0]:
        bigger = np.empty(max(16, 2 * n), np.int64)
        bigger[:n] = q[:n]
        queues[r] = bigger
        q = bigger
    q[n] = gs
    r_qlen[r] = n + 1
    while n > 0:
        p = (n - 1) >> 1
        if _qless(q[n], q[p], g_task, g_ready, t_prio, t_arr, t_idx, t_uid, t_base):
            q[n], q[p] = q[p], q[n]
            n = p
        else:
            break


@njit(cache=True)
def _qpop(queues, r_qlen, r, g_task, g_ready, t_prio, t_arr, t_idx, t_uid, t_base):
    q = queues[r]
    n = r_qlen[r] - 1
    r_qlen[r] = n
    q[0] = q[n]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and _qless(q[c + 1], q[c], g_task, g_ready, t_prio, t_arr, t_idx, t_uid,
                                t_base):
            c += 1
        if _qless(q[c], q[i], g_task, g_ready, t_prio, t_arr, t_idx, t_uid, t_base):
            q[c], q[i] = q[i], q[c]
            i = c
        else:
            break


@njit(cache=True)
def run(until, cnt, fl,
        ts_res, ts_dur, ts_pool, ts_amt, ts_ndeps, ts_sp, ts_succ, tp_off,
        t_tmpl, t_prio, t_arr, t_idx, t_uid, t_base, t_rem, t_fin, fin_order,
        g_task, g_left, g_ready, g_start, g_end,
        h_time, h_kind, h_seq, h_tid, h_stage,
        r_slots, r_busy, r_mark, r_rank, r_qlen, queues, touched,
        p_cap, p_used, p_wn, p_wlist, p_wflag):
    """Process events up to ``until``; return 0 when done, 1 at an arrival to be decided.

    At an arrival the loop stops in the middle of its batch with the task's id in
    ``cnt[C_PEND]``; the caller installs the task's stages, sets ``fl[F_RELEASE]`` and calls
    again, which first makes the task's root stages ready and then goes on with the batch.
    """
    while True:
        if cnt[C_INBATCH] == 0:
            if cnt[C_HSIZE] == 0 or h_time[0] > until:
                return 0
            t = h_time[0]
            limit = t + EPS
            fl[F_NOW] = t
            fl[F_T] = t
            fl[F_LIMIT] = limit
            cnt[C_BATCH] += 1
            cnt[C_NTOUCH] = 0
            cnt[C_INBATCH] = 1
        t = fl[F_T]
        limit = fl[F_LIMIT]
        batch = cnt[C_BATCH]
        pend = cnt[C_PEND]
        if pend >= 0:  # resume after the caller installed an arriving task
            cnt[C_PEND] = -1
            k = t_tmpl[pend]
            o = tp_off[k]
            n = tp_off[k + 1] - o
            base = t_base[pend]
            release = fl[F_RELEASE]
            for j in range(n):
                if ts_ndeps[o + j] != 0:
                    continue
                if release > limit:
                    heap_push(h_time, h_kind, h_seq, h_tid, h_stage, cnt, release, READY, pend, j)
                    continue
                gs = base + j
                g_ready[gs] = t
                r = ts_res[o + j]
                if r < 0:
                    g_start[gs] = t
                    heap_push(h_time, h_kind, h_seq, h_tid, h_stage, cnt, t + ts_dur[o + j],
                              FINISH, pend, j)
                else:
                    _qpush(queues, r_qlen, r, gs, g_task, g_ready, t_prio, t_arr, t_idx, t_uid,
                           t_base)
                    if r_mark[r] != batch:
                        r_mark[r] = batch
                        touched[cnt[C_NTOUCH]] = r
                        cnt[C_NTOUCH] += 1
        while cnt[C_HSIZE] > 0 and h_time[0] <= limit:
            kind = h_kind[0]
            tid = h_tid[0]
            i = h_stage[0]
            _heap_pop(h_time, h_kind, h_seq, h_tid, h_stage, cnt)
            cnt[C_EVENTS] += 1
            if kind == ARRIVE:
                cnt[C_PEND] = tid
                return 1
            k = t_tmpl[tid]
            o = tp_off[k]
            base = t_base[tid]
            if kind == FINISH:
                g_end[base + i] = t
                r = ts_res[o + i]
                if r >= 0:
                    r_busy[r] -= 1
                    if r_mark[r] != batch:
                        r_mark[r] = batch
                        touched[cnt[C_NTOUCH]] = r
                        cnt[C_NTOUCH] += 1
                    p = ts_pool[o + i]
                    if p >= 0:
                        p_used[p] -= ts_amt[o + i]
                        for w in range(p_wn[p]):
                            rr = p_wlist[p, w]
                            p_wflag[p, rr] = False
                            if r_mark[rr] != batch:
                                r_mark[rr] = batch
                                touched[cnt[C_NTOUCH]] = rr
                                cnt[C_NTOUCH] += 1
                        p_wn[p] = 0
                for s in range(ts_sp[o + i], ts_sp[o + i + 1]):
                    j = ts_succ[s]
                    gs = base + j
                    g_left[gs] -= 1
                    if g_left[gs] == 0:
                        g_ready[gs] = t
                        r = ts_res[o + j]
                        if r < 0:
                            g_start[gs] = t
                            heap_push(h_time, h_kind, h_seq, h_tid, h_stage, cnt,
                                      t + ts_dur[o + j], FINISH, tid, j)
                        else:
                            _qpush(queues, r_qlen, r, gs, g_task, g_ready, t_prio, t_arr, t_idx,
                                   t_uid, t_base)
                            if r_mark[r] != batch:
                                r_mark[r] = batch
                                touched[cnt[C_NTOUCH]] = r
                                cnt[C_NTOUCH] += 1
                t_rem[tid] -= 1
                if t_rem[tid] == 0:
                    t_fin[tid] = t
                    fin_order[cnt[C_NFIN]] = tid
                    cnt[C_NFIN] += 1
                continue
            # READY: stage i of task tid becomes ready at t
            gs = base + i
            g_ready[gs] = t
            r = ts_res[o + i]
            if r < 0:
                g_start[gs] = t
                heap_push(h_time, h_kind, h_seq, h_tid, h_stage, cnt, t + ts_dur[o + i], FINISH,
                          tid, i)
            else:
                _qpush(queues, r_qlen, r, gs, g_task, g_ready, t_prio, t_arr, t_idx, t_uid, t_base)
                if r_mark[r] != batch:
                    r_mark[r] = batch
                    touched[cnt[C_NTOUCH]] = r
                    cnt[C_NTOUCH] += 1
        # idle resources take the heads of their queues, in resource-name order
        nt = cnt[C_NTOUCH]
        for a in range(1, nt):
            x = touched[a]
            b = a - 1
            while b >= 0 and r_rank[touched[b]] > r_rank[x]:
                touched[b + 1] = touched[b]
                b -= 1
            touched[b + 1] = x
        for a in range(nt):
            r = touched[a]
            while r_qlen[r] > 0 and r_busy[r] < r_slots[r]:
                gs = queues[r][0]
                tid = g_task[gs]
                j = gs - t_base[tid]
                o = tp_off[t_tmpl[tid]]
                p = ts_pool[o + j]
                if p >= 0:
                    amount = ts_amt[o + j]
                    if p_used[p] + amount > p_cap[p] * (1 + 1e-9):
                        if not p_wflag[p, r]:
                            p_wflag[p, r] = True
                            p_wlist[p, p_wn[p]] = r
                            p_wn[p] += 1
                        break  # no overtaking: the head waits for bandwidth
                    p_used[p] += amount
                _qpop(queues, r_qlen, r, g_task, g_ready, t_prio, t_arr, t_idx, t_uid, t_base)
                r_busy[r] += 1
                g_start[gs] = t
                heap_push(h_time, h_kind, h_seq, h_tid, h_stage, cnt, t + ts_dur[o + j], FINISH,
                          tid, j)
        cnt[C_NTOUCH] = 0
        cnt[C_INBATCH] = 0
