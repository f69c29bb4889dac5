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
  its rank in name order; the queue of ``r`` is a binary heap of global stage rows in
  ``qbuf[q_off[r]:]`` (the caller sizes it: at most the stages installed on ``r``);
* pools ``p_*``: capacity, amount held, resources whose queue head waits for the pool;
* bandwidth traces ``tr_*``: the steps of every trace in use, concatenated (trace ``k`` owns
  rows ``tr_off[k]:tr_off[k + 1]`` of the start times ``tr_t``, cumulative bits ``tr_c`` and
  rates ``tr_r``), its period (0: no repeat) and bits per period; a template stage with
  ``ts_trc >= 0`` is a transfer of ``ts_bits`` bits on that trace, and its ``ts_dur`` is the
  fixed latency after the last bit;
* ``cnt`` (int64) and ``fl`` (float64) hold the scalars that survive between calls (indices
  ``C_*`` and ``F_*`` below).

The service order of a resource's queue (``_qless``) is the project's one rule,
:func:`splitinfer.system.order.service_key` — priority, ready time, task arrival, task
generation index — then stage index and task id, as in the reference engine
(:mod:`splitinfer.testing.oracle_engine`).

``_nrt=False``: the loop allocates nothing, and without Numba's reference counting the array
arguments of the inlined helpers cost no atomic increments (about 5x faster per event).
"""

from __future__ import annotations

from numba import njit

from splitinfer.system.order import service_key
from splitinfer.traces import finish_time

EPS = 1e-12

#: The project's service order (system.order), compiled into the loop.
_service_key = njit(cache=True, _nrt=False, inline="always")(service_key)
#: A transfer's end on a bandwidth trace (splitinfer.traces), compiled unchanged.
_finish_time = njit(cache=True, _nrt=False)(finish_time)
FINISH, ARRIVE, READY = 0, 1, 2
# cnt indices
C_HSIZE, C_SEQ, C_BATCH, C_EVENTS, C_NFIN, C_PEND, C_INBATCH, C_NTOUCH, C_SCUR, C_SLEN = \
    range(10)
# fl indices
F_NOW, F_T, F_LIMIT, F_RELEASE = range(4)


KIND_SHIFT = 58  # an event's order key: kind << KIND_SHIFT | seq (kind first, then seq)


@njit(cache=True, _nrt=False, inline="always")
def _hless(h_time, h_key, a, b):
    if h_time[a] != h_time[b]:
        return h_time[a] < h_time[b]
    return h_key[a] < h_key[b]


@njit(cache=True, _nrt=False, inline="always")
def _hswap(h_time, h_key, h_gs, a, b):
    h_time[a], h_time[b] = h_time[b], h_time[a]
    h_key[a], h_key[b] = h_key[b], h_key[a]
    h_gs[a], h_gs[b] = h_gs[b], h_gs[a]


@njit(cache=True, _nrt=False, inline="always")
def _heap_push(h_time, h_key, h_gs, cnt, time, kind, gs):
    n = cnt[C_HSIZE]
    cnt[C_SEQ] += 1
    h_time[n] = time
    h_key[n] = (kind << KIND_SHIFT) | cnt[C_SEQ]
    h_gs[n] = gs
    cnt[C_HSIZE] = n + 1
    while n > 0:
        p = (n - 1) >> 1
        if _hless(h_time, h_key, n, p):
            _hswap(h_time, h_key, h_gs, n, p)
            n = p
        else:
            break


@njit(cache=True, _nrt=False, inline="always")
def _heap_pop(h_time, h_key, h_gs, cnt):
    n = cnt[C_HSIZE] - 1
    cnt[C_HSIZE] = n
    _hswap(h_time, h_key, h_gs, 0, n)
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and _hless(h_time, h_key, c + 1, c):
            c += 1
        if _hless(h_time, h_key, c, i):
            _hswap(h_time, h_key, h_gs, c, i)
            i = c
        else:
            break


@njit(cache=True, _nrt=False, inline="always")
def _qless(a, b, g_task, g_ready, t_prio, t_arr, t_idx, t_uid, t_base):
    ta = g_task[a]
    tb = g_task[b]
    ka = _service_key(t_prio[ta], g_ready[a], t_arr[ta], t_idx[ta])
    kb = _service_key(t_prio[tb], g_ready[b], t_arr[tb], t_idx[tb])
    if ka != kb:
        return ka < kb
    ja = a - t_base[ta]
    jb = b - t_base[tb]
    if ja != jb:
        return ja < jb
    return t_uid[ta] < t_uid[tb]


@njit(cache=True, _nrt=False, inline="always")
def _qpush(qbuf, q_off, r_qlen, r, gs, g_task, g_ready, t_prio, t_arr, t_idx, t_uid, t_base):
    o = q_off[r]
    n = r_qlen[r]
    qbuf[o + n] = gs
    r_qlen[r] = n + 1
    while n > 0:
        p = (n - 1) >> 1
        if _qless(qbuf[o + n], qbuf[o + p], g_task, g_ready, t_prio, t_arr, t_idx, t_uid, t_base):
            qbuf[o + n], qbuf[o + p] = qbuf[o + p], qbuf[o + n]
            n = p
        else:
            break


@njit(cache=True, _nrt=False, inline="always")
def _qpop(qbuf, q_off, r_qlen, r, g_task, g_ready, t_prio, t_arr, t_idx, t_uid, t_base):
    o = q_off[r]
    n = r_qlen[r] - 1
    r_qlen[r] = n
    qbuf[o] = qbuf[o + n]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and _qless(qbuf[o + c + 1], qbuf[o + c], g_task, g_ready, t_prio, t_arr,
                                t_idx, t_uid, t_base):
            c += 1
        if _qless(qbuf[o + c], qbuf[o + i], g_task, g_ready, t_prio, t_arr, t_idx, t_uid, t_base):
            qbuf[o + c], qbuf[o + i] = qbuf[o + i], qbuf[o + c]
            i = c
        else:
            break


@njit(cache=True, _nrt=False, inline="always")
def _next(h_time, h_key, s_time, s_key, cnt):
    """Where the earliest pending event is: 0 the heap, 1 the stream, -1 nowhere."""
    cur = cnt[C_SCUR]
    if cur < cnt[C_SLEN]:
        if cnt[C_HSIZE] == 0:
            return 1
        if s_time[cur] != h_time[0]:
            return 1 if s_time[cur] < h_time[0] else 0
        return 1 if s_key[cur] < h_key[0] else 0
    return 0 if cnt[C_HSIZE] > 0 else -1


@njit(cache=True, _nrt=False, inline="always")
def _end(t, row, ts_dur, ts_trc, ts_bits, tr):
    """When template stage ``row`` started at ``t`` ends: its fixed duration, or for a transfer
    on a bandwidth trace its bits integrated over the trace from ``t`` plus its latency."""
    k = ts_trc[row]
    if k < 0:
        return t + ts_dur[row]
    tr_off, tr_t, tr_c, tr_r, tr_per, tr_tot = tr
    return _finish_time(t, ts_bits[row], tr_t, tr_c, tr_r, tr_off[k], tr_off[k + 1], tr_per[k],
                        tr_tot[k]) + ts_dur[row]


@njit(cache=True, _nrt=False, inline="always")
def _touch(r, batch, r_mark, touched, cnt):
    if r_mark[r] != batch:
        r_mark[r] = batch
        touched[cnt[C_NTOUCH]] = r
        cnt[C_NTOUCH] += 1


@njit(cache=True, _nrt=False)
def run(until, cnt, fl,
        ts_res, ts_dur, ts_pool, ts_amt, ts_ndeps, ts_sp, ts_succ, tp_off, ts_trc, ts_bits,
        t_tmpl, t_prio, t_arr, t_idx, t_uid, t_base, t_rem, t_fin, fin_order,
        g_task, g_left, g_ready, g_start, g_end,
        h_time, h_key, h_gs, s_time, s_key, s_tid, s_stage,
        r_slots, r_busy, r_mark, r_rank, r_qlen, qbuf, q_off, touched,
        p_cap, p_used, p_wn, p_wlist, p_wflag, tr):
    """Process events up to ``until``; return 0 when done, 1 at an arrival to be decided.

    Pending events are the heap ``h_*`` (events created while running, with the global stage
    row) and the stream ``s_*`` (the events known before the run, sorted by the same key, read
    from ``cnt[C_SCUR]``): the next event is the smaller head of the two, so the heap stays as
    small as the number of stages in flight. At an arrival the loop stops in the middle of its
    batch with the task in ``cnt[C_PEND]``; the caller installs the task's stages, sets
    ``fl[F_RELEASE]`` and calls again, which first makes the task's root stages ready and then
    goes on with the batch.
    """
    while True:
        if cnt[C_INBATCH] == 0:
            src = _next(h_time, h_key, s_time, s_key, cnt)
            if src < 0:
                return 0
            t = h_time[0] if src == 0 else s_time[cnt[C_SCUR]]
            if t > until:
                return 0
            fl[F_NOW] = t
            fl[F_T] = t
            fl[F_LIMIT] = t + EPS
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
                gs = base + j
                if release > limit:
                    _heap_push(h_time, h_key, h_gs, cnt, release, READY, gs)
                    continue
                g_ready[gs] = t
                r = ts_res[o + j]
                if r < 0:
                    g_start[gs] = t
                    end = _end(t, o + j, ts_dur, ts_trc, ts_bits, tr)
                    _heap_push(h_time, h_key, h_gs, cnt, end, FINISH, gs)
                else:
                    _qpush(qbuf, q_off, r_qlen, r, gs, g_task, g_ready, t_prio, t_arr, t_idx, t_uid,
                           t_base)
                    _touch(r, batch, r_mark, touched, cnt)
        while True:
            src = _next(h_time, h_key, s_time, s_key, cnt)
            if src < 0:
                break
            if src == 0:
                if h_time[0] > limit:
                    break
                kind = h_key[0] >> KIND_SHIFT
                gs = h_gs[0]
                tid = g_task[gs]
                i = gs - t_base[tid]
                _heap_pop(h_time, h_key, h_gs, cnt)
            else:
                cur = cnt[C_SCUR]
                if s_time[cur] > limit:
                    break
                kind = s_key[cur] >> KIND_SHIFT
                tid = s_tid[cur]
                i = s_stage[cur]
                cnt[C_SCUR] = cur + 1
                if kind == ARRIVE:
                    cnt[C_EVENTS] += 1
                    cnt[C_PEND] = tid
                    return 1
                gs = t_base[tid] + i
            cnt[C_EVENTS] += 1
            o = tp_off[t_tmpl[tid]]
            base = t_base[tid]
            if kind == FINISH:
                g_end[gs] = t
                r = ts_res[o + i]
                if r >= 0:
                    r_busy[r] -= 1
                    _touch(r, batch, r_mark, touched, cnt)
                    p = ts_pool[o + i]
                    if p >= 0:
                        p_used[p] -= ts_amt[o + i]
                        for w in range(p_wn[p]):
                            rr = p_wlist[p, w]
                            p_wflag[p, rr] = False
                            _touch(rr, batch, r_mark, touched, cnt)
                        p_wn[p] = 0
                for s in range(ts_sp[o + i], ts_sp[o + i + 1]):
                    j = ts_succ[s]
                    g2 = base + j
                    g_left[g2] -= 1
                    if g_left[g2] == 0:
                        g_ready[g2] = t
                        r = ts_res[o + j]
                        if r < 0:
                            g_start[g2] = t
                            end = _end(t, o + j, ts_dur, ts_trc, ts_bits, tr)
                            _heap_push(h_time, h_key, h_gs, cnt, end, FINISH, g2)
                        else:
                            _qpush(qbuf, q_off, r_qlen, r, g2, g_task, g_ready, t_prio, t_arr, t_idx,
                                   t_uid, t_base)
                            _touch(r, batch, r_mark, touched, cnt)
                t_rem[tid] -= 1
                if t_rem[tid] == 0:
                    t_fin[tid] = t
                    fin_order[cnt[C_NFIN]] = tid
                    cnt[C_NFIN] += 1
                continue
            # READY: stage i of task tid becomes ready at t
            g_ready[gs] = t
            r = ts_res[o + i]
            if r < 0:
                g_start[gs] = t
                end = _end(t, o + i, ts_dur, ts_trc, ts_bits, tr)
                _heap_push(h_time, h_key, h_gs, cnt, end, FINISH, gs)
            else:
                _qpush(qbuf, q_off, r_qlen, r, gs, g_task, g_ready, t_prio, t_arr, t_idx, t_uid, t_base)
                _touch(r, batch, r_mark, touched, cnt)
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
                gs = qbuf[q_off[r]]
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
                _qpop(qbuf, q_off, r_qlen, r, g_task, g_ready, t_prio, t_arr, t_idx, t_uid, t_base)
                r_busy[r] += 1
                g_start[gs] = t
                end = _end(t, o + j, ts_dur, ts_trc, ts_bits, tr)
                _heap_push(h_time, h_key, h_gs, cnt, end, FINISH, gs)
        cnt[C_NTOUCH] = 0
        cnt[C_INBATCH] = 0
