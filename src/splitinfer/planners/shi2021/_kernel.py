"""The compiled passes of offline GSPI (Shi et al. 2021, Alg. 2) over array-encoded queues (Numba).

:mod:`splitinfer.planners.shi2021.offline` encodes a scenario's tasks and strategies as arrays
and calls these functions; they do exactly what the Python strategy center
(:class:`~splitinfer.planners.shi2021.state.CenterState` with
:class:`~splitinfer.planners.shi2021.queue.FifoServer` queues) does, operation for operation in
the same floating-point order, so the plans are the same bit for bit (the former Python passes
are kept as the test oracle :mod:`splitinfer.testing.gspi_oracle`). Why Numba: the passes are
sequential greedy loops (each decision depends on every earlier one), which NumPy cannot
vectorise; Numba compiles them from PyPI wheels on Linux, macOS and Windows without a C
compiler, and caches the machine code on disk (``cache=True``), as the simulator's loop does.

Layout (``S`` servers in the scenario's order, ``W`` the queue capacity, grown by doubling):

* ``Q[s, f, i]`` — the ``i``-th task in service order at server ``s``; fields ``f``: ``KR`` the
  ready time rounded to 12 decimals (the queue key, as :func:`~splitinfer.planners.shi2021.queue.queue_key`),
  ``KA`` the task's generation time, ``KI`` its generation index, ``RD`` ready time, ``WK``
  work, ``EN`` end time, ``TK`` the task's row; ``qlen[s]`` tasks, ``unl[s]`` unlimited server;
* ``PS[s, i]`` — the work of the first ``i`` tasks summed left to right (eq. (7)'s sum), valid
  up to ``pvalid[s]``;
* per task row ``k``: ``t_arr``, ``t_idx`` (generation index), ``t_ty`` (its option set),
  and the placement ``t_opt`` (-1: not placed), ``t_rd``, ``t_kr``, ``t_est``, ``t_seq`` (the
  order of placement: the Python center's dict order, which fixes the order of its sums);
* per option ``o`` (each type's options contiguous, sorted by no-wait time then order):
  ``o_srv`` (-1 = all-local), ``o_work``, ``o_order``, ``o_nowait``, ``o_pre[o, :o_npre[o]]``,
  ``o_post[o, :o_npost[o]]``; the groups of :func:`~splitinfer.planners.shi2021.model.group_options`
  as ``ty_local``, ``ty_goff``, ``g_srv``, ``g_first``, ``g_minrest``, ``g_off``/``g_opts``;
* ``fl[0]`` the running total of t(m), ``cnt[0]`` the next placement number.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

KR, KA, KI, RD, WK, EN, TK = range(7)
NF = 7
_SPLIT = 134217729.0  # 2**27 + 1 (Dekker's split)


@njit(cache=True)
def round12(x):
    """Python's ``round(x, 12)`` exactly (correctly rounded, ties to even on the exact value).

    ``x * 1e12`` is formed exactly as ``p + e`` (Dekker's product), rounded half-even to the
    integer ``n``, and ``n / 1e12`` is the double nearest to ``n * 10**-12``, which is what
    CPython returns. At ``|x| >= 8192`` a double's spacing exceeds 1e-12 and ``round`` gives
    ``x`` back.
    """
    if x != x or x == 0.0 or math.isinf(x):
        return x
    a = abs(x)
    if a >= 8192.0:
        return x
    b = 1e12
    p = a * b
    c = _SPLIT * a
    ah = c - (c - a)
    al = a - ah
    c = _SPLIT * b
    bh = c - (c - b)
    bl = b - bh
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    n = math.floor(p)
    d = (p - n) - 0.5
    if d > -e or (d == -e and n % 2.0 == 1.0):
        n += 1.0
    r = n / b
    return -r if x < 0.0 else r


@njit(cache=True)
def _argsort(keys):
    """Stable argsort (bottom-up merge sort; cheaper to compile than ``np.argsort``)."""
    n = keys.shape[0]
    a = np.arange(n)
    b = np.empty(n, np.int64)
    width = 1
    while width < n:
        for lo in range(0, n, 2 * width):
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            i, j, k = lo, mid, lo
            while i < mid and j < hi:
                if keys[a[j]] < keys[a[i]]:
                    b[k] = a[j]
                    j += 1
                else:
                    b[k] = a[i]
                    i += 1
                k += 1
            while i < mid:
                b[k] = a[i]
                i += 1
                k += 1
            while j < hi:
                b[k] = a[j]
                j += 1
                k += 1
        a, b = b, a
        width *= 2
    return a


@njit(cache=True)
def _kless(Q, s, i, kr, ka, ki):
    """Is the key at ``Q[s, :, i]`` smaller than ``(kr, ka, ki)``?"""
    a = Q[s, KR, i]
    if a != kr:
        return a < kr
    a = Q[s, KA, i]
    if a != ka:
        return a < ka
    return Q[s, KI, i] < ki


@njit(cache=True)
def _bisect(Q, qlen, s, kr, ka, ki):
    lo, hi = 0, qlen[s]
    while lo < hi:
        mid = (lo + hi) // 2
        if _kless(Q, s, mid, kr, ka, ki):
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def _ready(arr, o_pre, o_npre, o):
    r = arr
    for j in range(o_npre[o]):
        r = r + o_pre[o, j]
    return r


@njit(cache=True)
def _finish(end, o_post, o_npost, o):
    for j in range(o_npost[o]):
        end = end + o_post[o, j]
    return end


@njit(cache=True)
def _cascade(Q, qlen, unl, s, pos, prev, has_prev, apply, bound):
    """:meth:`FifoServer._cascade`; with ``apply`` False, returns ``inf`` as soon as the sum of
    moves exceeds ``bound`` (the caller's candidate is then out of the race: moves only add)."""
    if unl[s]:
        return 0.0
    if not has_prev:
        prev = Q[s, EN, pos - 1] if pos > 0 else -np.inf
    moved = 0.0
    n = qlen[s]
    for i in range(pos, n):
        r = Q[s, RD, i]
        new = (r if r >= prev else prev) + Q[s, WK, i]
        old = Q[s, EN, i]
        if new == old:
            break
        moved += new - old
        if apply:
            Q[s, EN, i] = new
        elif moved > bound:
            return np.inf
        prev = new
    return moved


@njit(cache=True)
def _grow(Q, PS):
    S, nf, W = Q.shape
    W2 = max(2 * W, 16)
    Q2 = np.zeros((S, nf, W2))
    PS2 = np.zeros((S, W2 + 1))
    for s in range(S):  # loops: cheaper to compile than slice assignment
        for f in range(nf):
            for i in range(W):
                Q2[s, f, i] = Q[s, f, i]
        for i in range(W + 1):
            PS2[s, i] = PS[s, i]
    return Q2, PS2


@njit(cache=True)
def _estimate(Q, PS, qlen, pvalid, unl, fifo, k, o, t_arr, t_idx, o_srv, o_work, o_pre, o_npre,
              o_post, o_npost):
    """:meth:`CenterState.estimate` (offline): ``(t(m), ready, rounded key)``."""
    arr = t_arr[k]
    ready = _ready(arr, o_pre, o_npre, o)
    s = o_srv[o]
    if s < 0:
        return ready - arr, ready, 0.0
    kr = round12(ready)
    if fifo or unl[s]:
        if unl[s]:
            start = ready
        else:
            pos = _bisect(Q, qlen, s, kr, arr, t_idx[k])
            if pos == 0:
                start = ready
            else:
                prev = Q[s, EN, pos - 1]
                start = ready if ready >= prev else prev
    else:  # eq. (7) with (8): work queued ahead, summed left to right
        pos = _bisect(Q, qlen, s, kr, arr, t_idx[k])
        v = pvalid[s]
        while v < pos:
            PS[s, v + 1] = PS[s, v] + Q[s, WK, v]
            v += 1
        pvalid[s] = v
        ahead = PS[s, pos]
        start = ready + max(0.0, ahead - ready)
    return _finish(start + o_work[o], o_post, o_npost, o) - arr, ready, kr


@njit(cache=True)
def _lt3(a0, a1, a2, b0, b1, b2):
    if a0 != b0:
        return a0 < b0
    if a1 != b1:
        return a1 < b1
    return a2 < b2


@njit(cache=True)
def _best(Q, PS, qlen, pvalid, unl, fifo, k, t_arr, t_idx, t_ty, ty_off, ty_local, ty_goff, g_srv,
          g_first, g_minrest, g_off, g_opts, o_srv, o_work, o_order, o_nowait, o_pre, o_npre,
          o_post, o_npost):
    """:meth:`CenterState.best`: ``(option, t(m))`` (the pruned search; eq. (7) scans all)."""
    ty = t_ty[k]
    arr = t_arr[k]
    idx = t_idx[k]
    if not fifo:  # CenterState._best_slow
        bo = -1
        b0 = b1 = b2 = bt = 0.0
        for o in range(ty_off[ty], ty_off[ty + 1]):
            t, _, _ = _estimate(Q, PS, qlen, pvalid, unl, fifo, k, o, t_arr, t_idx, o_srv, o_work,
                                o_pre, o_npre, o_post, o_npost)
            c0 = round12(t)
            if bo < 0 or _lt3(c0, o_work[o], o_order[o], b0, b1, b2):
                bo, b0, b1, b2, bt = o, c0, o_work[o], o_order[o], t
        return bo, bt
    bo = -1
    b0 = b1 = b2 = 0.0
    best_t = np.inf
    bt = 0.0
    loc = ty_local[ty]
    if loc >= 0:
        best_t = _ready(arr, o_pre, o_npre, loc) - arr
        bo, b0, b1, b2, bt = loc, round12(best_t), 0.0, o_order[loc], best_t
    for g in range(ty_goff[ty], ty_goff[ty + 1]):
        s = g_srv[g]
        if not unl[s] and qlen[s] > 0:
            r = _ready(arr, o_pre, o_npre, g_first[g])
            pos = _bisect(Q, qlen, s, round12(r), arr, idx)
            if pos > 0 and Q[s, EN, pos - 1] + g_minrest[g] - arr > best_t + 1e-9:
                continue
        for j in range(g_off[g], g_off[g + 1]):
            o = g_opts[j]
            if o_nowait[o] > best_t + 1e-9:
                break
            r = _ready(arr, o_pre, o_npre, o)
            start = r
            if not unl[s]:
                pos = _bisect(Q, qlen, s, round12(r), arr, idx)
                if pos > 0 and Q[s, EN, pos - 1] > r:
                    start = Q[s, EN, pos - 1]
            e = _finish(start + o_work[o], o_post, o_npost, o)
            t = e - arr
            if t > best_t + 1e-9:
                continue
            c0 = round12(t)
            if bo < 0 or _lt3(c0, o_work[o], o_order[o], b0, b1, b2):
                bo, b0, b1, b2, bt = o, c0, o_work[o], o_order[o], t
                best_t = min(best_t, t)
    return bo, bt


@njit(cache=True)
def _insert(Q, PS, qlen, pvalid, unl, s, kr, ka, ki, ready, work, task):
    """:meth:`FifoServer.insert`: ``(its end, delay added to later tasks)``; room must exist."""
    pos = _bisect(Q, qlen, s, kr, ka, ki)
    if unl[s] or pos == 0:
        start = ready
    else:
        prev = Q[s, EN, pos - 1]
        start = ready if ready >= prev else prev
    end = start + work
    n = qlen[s]
    for f in range(NF):
        for i in range(n, pos, -1):
            Q[s, f, i] = Q[s, f, i - 1]
    Q[s, KR, pos] = kr
    Q[s, KA, pos] = ka
    Q[s, KI, pos] = ki
    Q[s, RD, pos] = ready
    Q[s, WK, pos] = work
    Q[s, EN, pos] = end
    Q[s, TK, pos] = task
    qlen[s] = n + 1
    if pvalid[s] > pos:
        pvalid[s] = pos
    pushed = 0.0
    if pos + 1 < n + 1:
        pushed = _cascade(Q, qlen, unl, s, pos + 1, 0.0, False, True, 0.0)
    return end, pushed


@njit(cache=True)
def _place(Q, PS, qlen, pvalid, unl, fifo, k, o, fl, cnt, t_arr, t_idx, t_opt, t_rd, t_kr, t_est,
           t_seq, o_srv, o_work, o_pre, o_npre, o_post, o_npost):
    """:meth:`CenterState.place`; returns ``(Q, PS)`` (grown when a queue was full)."""
    t, ready, kr = _estimate(Q, PS, qlen, pvalid, unl, fifo, k, o, t_arr, t_idx, o_srv, o_work,
                             o_pre, o_npre, o_post, o_npost)
    s = o_srv[o]
    if s < 0:
        fl[0] += t
    else:
        if qlen[s] == Q.shape[2]:
            Q, PS = _grow(Q, PS)
        end, pushed = _insert(Q, PS, qlen, pvalid, unl, s, kr, t_arr[k], t_idx[k], ready,
                              o_work[o], k)
        fl[0] += _finish(end, o_post, o_npost, o) - t_arr[k] + pushed
    t_opt[k] = o
    t_rd[k] = ready
    t_kr[k] = kr
    t_est[k] = t
    t_seq[k] = cnt[0]
    cnt[0] += 1
    return Q, PS


@njit(cache=True)
def _position(Q, qlen, s, k, t_kr, t_arr, t_idx):
    pos = _bisect(Q, qlen, s, t_kr[k], t_arr[k], t_idx[k])
    if pos == qlen[s] or Q[s, TK, pos] != k:
        raise ValueError("task not found in its server's queue")
    return pos


@njit(cache=True)
def _remove(Q, PS, qlen, pvalid, unl, k, fl, t_arr, t_idx, t_opt, t_rd, t_kr, o_srv, o_post,
            o_npost):
    """:meth:`CenterState.remove` (its own t(m) out of the total, then the queue's cascade)."""
    o = t_opt[k]
    s = o_srv[o]
    if s < 0:
        fl[0] -= t_rd[k] - t_arr[k]
    else:
        pos = _position(Q, qlen, s, k, t_kr, t_arr, t_idx)
        fl[0] -= _finish(Q[s, EN, pos], o_post, o_npost, o) - t_arr[k]
        n = qlen[s]
        for f in range(NF):
            for i in range(pos, n - 1):
                Q[s, f, i] = Q[s, f, i + 1]
        qlen[s] = n - 1
        if pvalid[s] > pos:
            pvalid[s] = pos
        if pos != n - 1:
            fl[0] += _cascade(Q, qlen, unl, s, pos, 0.0, False, True, 0.0)
    t_opt[k] = -1


@njit(cache=True)
def slot_pass(Q, PS, qlen, pvalid, unl, fifo, replan, fl, cnt, t_arr, t_idx, t_ty, t_opt, t_rd,
              t_kr, t_est, t_seq, ty_off, ty_local, ty_goff, g_srv, g_first, g_minrest, g_off,
              g_opts, o_srv, o_work, o_order, o_nowait, o_pre, o_npre, o_post, o_npost):
    """Alg. 2 over the task rows in order (:func:`splitinfer.testing.gspi_oracle.slot_pass`):
    Step 2 per slot, then (``replan``) Step 3. Returns ``(Q, PS, slots, remade)``."""
    n = t_arr.shape[0]
    mark = np.full(n, -1, np.int64)
    improv = np.empty(n, np.int64)
    slots = 0
    remade = 0
    a = 0
    while a < n:
        b = a + 1
        while b < n and t_arr[b] == t_arr[a]:
            b += 1
        for k in range(a, b):  # Step 2
            o, _ = _best(Q, PS, qlen, pvalid, unl, fifo, k, t_arr, t_idx, t_ty, ty_off, ty_local,
                         ty_goff, g_srv, g_first, g_minrest, g_off, g_opts, o_srv, o_work, o_order,
                         o_nowait, o_pre, o_npre, o_post, o_npost)
            Q, PS = _place(Q, PS, qlen, pvalid, unl, fifo, k, o, fl, cnt, t_arr, t_idx, t_opt,
                           t_rd, t_kr, t_est, t_seq, o_srv, o_work, o_pre, o_npre, o_post, o_npost)
        if replan:  # Step 3: the tasks overtaken by this slot's tasks, remade in index order
            m = 0
            for k in range(a, b):
                s = o_srv[t_opt[k]]
                if s < 0:
                    continue
                pos = _position(Q, qlen, s, k, t_kr, t_arr, t_idx)
                mine = t_idx[k]
                for i in range(pos + 1, qlen[s]):
                    if Q[s, KI, i] < mine:
                        j = int(Q[s, TK, i])
                        if mark[j] != slots:
                            mark[j] = slots
                            improv[m] = j
                            m += 1
            for j in range(m):
                _remove(Q, PS, qlen, pvalid, unl, improv[j], fl, t_arr, t_idx, t_opt, t_rd, t_kr,
                        o_srv, o_post, o_npost)
            if m:
                order = _argsort(t_idx[improv[:m]])
                for j in range(m):
                    k = improv[order[j]]
                    o, _ = _best(Q, PS, qlen, pvalid, unl, fifo, k, t_arr, t_idx, t_ty, ty_off,
                                 ty_local, ty_goff, g_srv, g_first, g_minrest, g_off, g_opts,
                                 o_srv, o_work, o_order, o_nowait, o_pre, o_npre, o_post, o_npost)
                    Q, PS = _place(Q, PS, qlen, pvalid, unl, fifo, k, o, fl, cnt, t_arr, t_idx,
                                   t_opt, t_rd, t_kr, t_est, t_seq, o_srv, o_work, o_pre, o_npre,
                                   o_post, o_npost)
            remade += m
        slots += 1
        a = b
    return Q, PS, slots, remade


@njit(cache=True)
def _insert_cost(Q, qlen, unl, k, o, bound, t_arr, t_idx, o_srv, o_work, o_pre, o_npre, o_post,
                 o_npost):
    """:meth:`CenterState.insert_cost`; once the value exceeds ``bound`` it may stop short (it
    is then only known to exceed it)."""
    arr = t_arr[k]
    ready = _ready(arr, o_pre, o_npre, o)
    s = o_srv[o]
    if s < 0:
        return ready - arr
    kr = round12(ready)
    pos = _bisect(Q, qlen, s, kr, arr, t_idx[k])
    if unl[s] or pos == 0:
        start = ready
    else:
        prev = Q[s, EN, pos - 1]
        start = ready if ready >= prev else prev
    end = start + o_work[o]
    own = _finish(end, o_post, o_npost, o) - arr
    if own > bound:
        return own
    return own + _cascade(Q, qlen, unl, s, pos, end, True, False, bound - own)


@njit(cache=True)
def polish(Q, PS, qlen, pvalid, unl, fifo, scope_all, max_passes, fl, cnt, t_arr, t_idx, t_ty,
           t_opt, t_rd, t_kr, t_est, t_seq, ty_off, o_srv, o_work, o_order, o_nowait, o_pre,
           o_npre, o_post, o_npost):
    """The monotone polish (:func:`splitinfer.testing.gspi_oracle.polish`): move one task at a
    time to the strategy that lowers the total t(m) most. Returns ``(Q, PS, moves)``."""
    n = t_arr.shape[0]
    S = qlen.shape[0]
    moves = 0
    cand = np.empty(n, np.int64)
    for _ in range(max_passes):
        moved = False
        m = 0
        if scope_all:
            for k in range(n):
                if t_opt[k] >= 0:
                    cand[m] = k
                    m += 1
            order = _argsort(t_seq[cand[:m]])  # the dict's order
            cl = cand[:m][order]
        else:  # overtaken by a later-generated task: a larger index served before
            for s in range(S):
                seen = -1.0
                for i in range(qlen[s]):
                    ki = Q[s, KI, i]
                    if ki < seen:
                        cand[m] = int(Q[s, TK, i])
                        m += 1
                    seen = max(seen, ki)
            cl = cand[:m].copy()
        order = _argsort(t_idx[cl])
        cl = cl[order]
        for j in range(cl.shape[0]):
            k = cl[j]
            before = fl[0]
            old = t_opt[k]
            old_est = t_est[k]
            _remove(Q, PS, qlen, pvalid, unl, k, fl, t_arr, t_idx, t_opt, t_rd, t_kr, o_srv,
                    o_post, o_npost)
            current = before - fl[0]
            bo, b0, b1, b2, bd = old, round12(current), o_work[old], o_order[old], current
            for o in range(ty_off[t_ty[k]], ty_off[t_ty[k] + 1]):
                if o_nowait[o] > bd + 1e-9:
                    break
                if o == old:
                    continue
                delta = _insert_cost(Q, qlen, unl, k, o, bd + 1e-9, t_arr, t_idx, o_srv, o_work,
                                     o_pre, o_npre, o_post, o_npost)
                if delta > bd + 1e-9:
                    continue
                c0 = round12(delta)
                if _lt3(c0, o_work[o], o_order[o], b0, b1, b2):
                    bo, b0, b1, b2, bd = o, c0, o_work[o], o_order[o], delta
            gain = bd - current
            tol = 1e-12 * max(1.0, abs(fl[0]))
            if bo != old and gain < -tol:
                Q, PS = _place(Q, PS, qlen, pvalid, unl, fifo, k, bo, fl, cnt, t_arr, t_idx, t_opt,
                               t_rd, t_kr, t_est, t_seq, o_srv, o_work, o_pre, o_npre, o_post,
                               o_npost)
                moves += 1
                moved = True
            else:
                Q, PS = _place(Q, PS, qlen, pvalid, unl, fifo, k, old, fl, cnt, t_arr, t_idx,
                               t_opt, t_rd, t_kr, t_est, t_seq, o_srv, o_work, o_pre, o_npre,
                               o_post, o_npost)
                t_est[k] = old_est
        if not moved:
            break
    return Q, PS, moves


@njit(cache=True)
def latencies(Q, qlen, t_arr, t_opt, t_rd, o_srv, o_post, o_npost):
    """The real t(m) of every placed task (:meth:`CenterState.latencies`), NaN if unplaced."""
    n = t_arr.shape[0]
    out = np.full(n, np.nan)
    for k in range(n):
        if t_opt[k] >= 0 and o_srv[t_opt[k]] < 0:
            out[k] = t_rd[k] - t_arr[k]
    for s in range(qlen.shape[0]):
        for i in range(qlen[s]):
            k = int(Q[s, TK, i])
            out[k] = _finish(Q[s, EN, i], o_post, o_npost, t_opt[k]) - t_arr[k]
    return out


@njit(cache=True)
def seq_sum(values, order):
    """``sum(values[order])`` left to right, as Python's ``sum`` over a dict's values (3.11)."""
    acc = 0.0
    for j in range(order.shape[0]):
        acc += values[order[j]]
    return acc
