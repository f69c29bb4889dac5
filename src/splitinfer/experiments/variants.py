"""Paper presets beside the improved defaults: where do they rank the planners differently?

A reproduction figure draws each planner's improved default and its paper preset (``gspi`` and
``gspi-paper``, ``jps`` and ``jps-paper``, ...). :func:`ranking_sentence` compares, at every point
of the figure, the ranking of the planners when each uses its default with the ranking when each
uses its paper preset (planners without a preset are in both), and says in one sentence whether
and where they differ. The reproduction pages print that sentence (``docs/reproductions/``), so
the conclusion changes when the numbers do.

Examples
--------
>>> rows = [{"b": 2, "planner": p, "ms": v} for p, v in
...         [("GSPI", 80.0), ("online", 81.0), ("GSPI (paper)", 90.0), ("online (paper)", 91.0)]]
>>> rows += [{"b": 16, "planner": p, "ms": v} for p, v in
...          [("GSPI", 69.7), ("online", 72.6), ("GSPI (paper)", 76.4), ("online (paper)", 62.9)]]
>>> pairs = {"GSPI": "GSPI (paper)", "online": "online (paper)"}
>>> ranking_sentence(rows, "b", "ms", pairs, x_text="{} Mbps")
'The paper presets rank the planners differently from the improved defaults at 1 of 2 points (16 Mbps): there online (paper) (62.9 ms) beats GSPI (paper) (76.4 ms), while GSPI (69.7 ms) beats online (72.6 ms).'
>>> ranking_sentence(rows[:4], "b", "ms", pairs, x_text="{} Mbps")
'The paper presets rank the planners as the improved defaults do at every point (1 point).'
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import Any

__all__ = ["ranking_sentence", "rank_flips"]

_TOL = 1e-9


def _key(row: dict[str, Any], x: str | Sequence[str]) -> tuple:
    cols = [x] if isinstance(x, str) else list(x)
    return tuple(row[c] for c in cols)


def _means(rows, x, value, label) -> dict[tuple, dict[str, float]]:
    acc: dict[tuple, dict[str, list[float]]] = {}
    for r in rows:
        if r.get(value) is None:
            continue
        acc.setdefault(_key(r, x), {}).setdefault(r[label], []).append(float(r[value]))
    return {k: {p: sum(v) / len(v) for p, v in d.items()} for k, d in acc.items()}


def rank_flips(rows: list[dict[str, Any]], x: str | Sequence[str], value: str,
               pairs: dict[str, str], *, others: Sequence[str] = (), label: str = "planner",
               lower_is_better: bool = True) -> list[dict[str, Any]]:
    """Every point and pair of planners whose order differs between defaults and presets.

    Parameters
    ----------
    rows : list of dict
        One row per (point, planner, seed); seeds are averaged.
    x : str or sequence of str
        The column(s) that make a point.
    value : str
        The column compared (e.g. ``"mean_latency_ms"``).
    pairs : dict
        Improved label -> paper-preset label.
    others : sequence of str
        Labels without a preset, ranked in both.
    label : str
        The column holding the labels.
    lower_is_better : bool
        Whether a smaller ``value`` ranks first.

    Returns
    -------
    list of dict
        ``{"point", "a", "b", "improved": (a, b values), "paper": (a', b' values)}`` where
        ``a`` ranks before ``b`` with the defaults and after with the presets (ties are no
        order), sorted by the size of the swap (relative), largest first.
    """
    sign = 1.0 if lower_is_better else -1.0
    out = []
    for point, m in _means(rows, x, value, label).items():
        names = [p for p in list(pairs) + list(others) if p in m and pairs.get(p, p) in m]
        for a, b in combinations(names, 2):
            ia, ib = m[a], m[b]
            pa, pb = m[pairs.get(a, a)], m[pairs.get(b, b)]
            d_imp = sign * (ia - ib)
            d_pap = sign * (pa - pb)
            scale = max(abs(ia), abs(ib), abs(pa), abs(pb), _TOL)
            if abs(d_imp) <= _TOL * scale or abs(d_pap) <= _TOL * scale or (d_imp < 0) == (d_pap < 0):
                continue
            if d_imp > 0:  # name the one the defaults put first as ``a``
                a, b, ia, ib, pa, pb = b, a, ib, ia, pb, pa
            out.append({"point": point, "a": a, "b": b, "improved": (ia, ib), "paper": (pa, pb),
                        "size": (abs(d_imp) + abs(d_pap)) / scale})
    return sorted(out, key=lambda f: -f["size"])


def _fmt_point(point: tuple, x_text: str, x_scale: float) -> str:
    vals = [v * x_scale if isinstance(v, (int, float)) and not isinstance(v, bool) else v
            for v in point]
    vals = [f"{v:g}" if isinstance(v, float) else v for v in vals]
    return x_text.format(*vals)


def ranking_sentence(rows: list[dict[str, Any]], x: str | Sequence[str], value: str,
                     pairs: dict[str, str], *, others: Sequence[str] = (),
                     label: str = "planner", x_text: str = "{}", x_scale: float = 1.0,
                     unit: str = "ms", digits: int = 1, lower_is_better: bool = True,
                     max_points: int = 4) -> str:
    """One sentence: do the paper presets rank the planners as the improved defaults do?

    Parameters are those of :func:`rank_flips`, plus how a point is written (``x_text``, a
    format string over the point's columns, after multiplying numbers by ``x_scale``), the
    ``unit`` and ``digits`` of the values, and how many points are listed at most.

    Returns
    -------
    str
        "The paper presets rank the planners as the improved defaults do at every point (N
        points)." or a sentence naming the points where they differ and the largest swap.
    """
    points = _means(rows, x, value, label)
    n = len(points)
    flips = rank_flips(rows, x, value, pairs, others=others, label=label,
                       lower_is_better=lower_is_better)
    if not flips:
        return (f"The paper presets rank the planners as the improved defaults do at every point "
                f"({n} point{'s' if n != 1 else ''}).")
    order = list(points)  # the rows' order of points
    where = sorted(dict.fromkeys(f["point"] for f in flips), key=order.index)
    shown = ", ".join(_fmt_point(p, x_text, x_scale) for p in where[:max_points])
    if len(where) > max_points:
        shown += ", ..."
    top = flips[0]
    a, b = top["a"], top["b"]
    pa, pb = pairs.get(a, a), pairs.get(b, b)
    verb = "beats"
    at = "there" if len(where) == 1 else f"at {_fmt_point(top['point'], x_text, x_scale)}"
    return (f"The paper presets rank the planners differently from the improved defaults at "
            f"{len(where)} of {n} points ({shown}): {at} {pb} ({top['paper'][1]:.{digits}f} "
            f"{unit}) {verb} {pa} ({top['paper'][0]:.{digits}f} {unit}), while {a} "
            f"({top['improved'][0]:.{digits}f} {unit}) {verb} {b} ({top['improved'][1]:.{digits}f} "
            f"{unit}).")
