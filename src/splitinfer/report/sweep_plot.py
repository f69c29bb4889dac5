"""Sweep figures: every metric against every swept parameter, one line per planner.

:func:`sweep_series` turns the rows of ``sweep.csv`` (written by
:func:`splitinfer.experiments.sweep.run_sweep`) into, for each swept parameter (a ``param:<path>``
column with more than one value), per planner the mean, minimum and maximum of each metric at
each value of the parameter, over the seeds and over the other parameters' values.
:func:`plot_sweep` draws one figure per swept parameter with one panel per metric. Values with
units (``4Mbps``, ``5ms``, ``10KB``) are read as numbers in base units (bit/s, s, bytes) so that
the axis is ordered and scaled; anything else is drawn as categories in the order first seen.
Runs whose ``status`` is not ``ok`` are left out and counted.

Examples
--------
>>> rows = [{"planner": p, "status": "ok", "seed": str(s), "param:bw": bw,
...          "objective": str(v + s)} for p, v in (("a", 1.0), ("b", 2.0))
...         for bw in ("4Mbps", "8Mbps") for s in (0, 1)]
>>> series = sweep_series(rows)
>>> series["bw"]["x"], series["bw"]["unit"]
([4000000.0, 8000000.0], 'bit/s')
>>> series["bw"]["lines"][("a", "")]["objective"]["mean"]
[1.5, 1.5]
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["METRICS", "swept_parameters", "sweep_series", "plot_sweep"]

#: Metric columns of ``sweep.csv`` drawn against the parameters, with their labels.
METRICS = {"objective": "objective", "mean_latency_s": "mean latency",
           "p95_latency_s": "p95 latency", "makespan_s": "makespan",
           "plan_time_s": "planning time", "mean_energy_j": "mean device energy (J)"}


def _float(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _numeric(values: Sequence[str]) -> tuple[list[float] | None, str]:
    """All values as numbers in one base unit, or ``None``; and the unit's name."""
    from splitinfer import units

    plain = [_float(v) for v in values]
    if all(x is not None for x in plain):
        return plain, ""
    for parse, unit in ((units.parse_bandwidth, "bit/s"), (units.parse_time, "s"),
                        (units.parse_bytes, "bytes"), (units.parse_flops, "FLOP/s")):
        try:
            return [parse(v) for v in values], unit
        except Exception:  # not this kind of quantity: try the next
            continue
    return None, ""


def swept_parameters(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The parameter paths that take more than one value in ``rows`` (``param:`` columns).

    Examples
    --------
    >>> swept_parameters([{"param:a": "1", "param:b": "2"}, {"param:a": "3", "param:b": "2"}])
    ['a']
    """
    if not rows:
        return []
    cols = [c for c in rows[0] if c.startswith("param:")]
    return [c[len("param:"):] for c in cols if len({str(r.get(c)) for r in rows}) > 1]


def sweep_series(rows: Sequence[dict[str, Any]], max_split: int = 4
                 ) -> dict[str, dict[str, Any]]:
    """Per swept parameter: x values, unit and, per line and metric, mean/min/max per x.

    A line is a planner and, when the other swept parameters take at most ``max_split``
    combinations of values, one such combination (``"count=8"``); with more, a planner's line is
    the mean over them (and over the seeds), with min and max.

    Returns
    -------
    dict
        ``{param: {"x": [...], "labels": [...], "unit": str, "numeric": bool, "failed": n,
        "others": [...], "split": bool, "combos": [...],
        "lines": {(planner, combo): {metric: {"mean": [...], "min": [...], "max": [...]}}}}}``;
        ``None`` where a line has no successful run at that value.
    """
    ok = [r for r in rows if r.get("status") == "ok"]
    failed = len(rows) - len(ok)
    out: dict[str, dict[str, Any]] = {}
    # the metrics some successful run has a number for (energy only with power figures)
    metrics = [m for m in METRICS if any(_float(r.get(m)) is not None for r in ok)]
    for param in swept_parameters(rows):
        col = f"param:{param}"
        labels = list(dict.fromkeys(str(r.get(col)) for r in rows))
        xs, unit = _numeric(labels)
        order = sorted(range(len(labels)), key=lambda i: xs[i]) if xs else range(len(labels))
        labels = [labels[i] for i in order]
        x = [xs[i] for i in order] if xs else list(range(len(labels)))
        where = {lab: i for i, lab in enumerate(labels)}
        others = [c for c in (f"param:{q}" for q in swept_parameters(rows)) if c != col]
        combos = list(dict.fromkeys(", ".join(f"{c[6:]}={r.get(c)}" for c in others)
                                    for r in rows))
        split = 1 < len(combos) <= max_split  # a line per value of the other parameters

        def line_of(r: dict[str, Any], others=others, split=split) -> tuple[str, str]:
            combo = ", ".join(f"{c[6:]}={r.get(c)}" for c in others) if split else ""
            return r["planner"], combo

        groups: dict[tuple[tuple[str, str], str, int], list[float]] = defaultdict(list)
        for r in ok:
            for m in metrics:
                v = _float(r.get(m))
                if v is not None:
                    groups[(line_of(r), m, where[str(r.get(col))])].append(v)
        lines: dict[tuple[str, str], dict[str, dict[str, list]]] = {}
        for key in dict.fromkeys(line_of(r) for r in rows):
            lines[key] = {}
            for m in metrics:
                vals = [groups.get((key, m, i)) for i in range(len(labels))]
                lines[key][m] = {
                    "mean": [sum(v) / len(v) if v else None for v in vals],
                    "min": [min(v) if v else None for v in vals],
                    "max": [max(v) if v else None for v in vals]}
        kinds = {r.get("objective_kind") for r in ok}
        out[param] = {"x": x, "labels": labels, "unit": unit, "numeric": xs is not None,
                      "objective_kind": kinds.pop() if len(kinds) == 1 else None,
                      "failed": failed, "lines": lines, "others": [c[6:] for c in others],
                      "split": split, "combos": combos if split else []}
    return out


def _scale(unit: str, values: Sequence[float]) -> tuple[float, str]:
    top = max((abs(v) for v in values), default=0.0)
    if unit == "bit/s":
        for f, name in ((1e9, "Gbit/s"), (1e6, "Mbit/s"), (1e3, "kbit/s")):
            if top >= f:
                return f, name
    if unit == "s" and 0 < top < 1:
        return 1e-3, "ms"
    if unit == "bytes":
        for f, name in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
            if top >= f:
                return f, name
    return 1.0, unit


def _short(combo: str) -> str:
    """``"workload.generators.0.count=8"`` -> ``"count=8"`` (legend labels)."""
    parts = []
    for item in combo.split(", "):
        path, _, value = item.partition("=")
        names = [q for q in path.split(".") if q != "*" and not q.isdigit()]
        parts.append(f"{names[-1] if names else path}={value}")
    return ", ".join(parts)


def plot_sweep(rows: Sequence[dict[str, Any]], folder: str | Path, *, stem: str = "sweep"
               ) -> list[Path]:
    """Draw ``<folder>/<stem>-<param>.png`` for each swept parameter; the paths written.

    Each figure has one panel per metric and one line per planner (per value of the other swept
    parameters when they have at most four combinations, by line style; else the mean over
    them), mean over seeds with a band from minimum to maximum. The numbers are simulated.

    Examples
    --------
    >>> import tempfile
    >>> rows = [{"planner": "a", "status": "ok", "seed": "0", "param:n": str(n),
    ...          "objective": str(n), "makespan_s": "1"} for n in (1, 2)]
    >>> [p.name for p in plot_sweep(rows, tempfile.mkdtemp())]
    ['sweep-n.png']
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for param, s in sweep_series(rows).items():
        metrics = next(iter(s["lines"].values()), {})
        names = list(metrics)
        if not names:
            continue
        cols = min(3, len(names))
        nrows = math.ceil(len(names) / cols)
        fig, axes = plt.subplots(nrows, cols, figsize=(4.4 * cols, 3.2 * nrows + 0.8),
                                 squeeze=False)
        xf, xunit = _scale(s["unit"], s["x"]) if s["numeric"] else (1.0, "")
        x = [v / xf for v in s["x"]]
        styles = ["-", "--", ":", "-."]
        colours: dict[str, Any] = {}
        for k, m in enumerate(names):
            ax = axes[k // cols][k % cols]
            every = [v for ln in s["lines"].values() for v in ln[m]["max"] if v is not None]
            joules = m == "objective" and s.get("objective_kind") == "energy"
            yf, yunit = (1, "J") if joules else _scale("s", every) \
                if m.endswith("_s") or m == "objective" else (1, "")
            for (planner, combo), ln in s["lines"].items():
                pts = [(xi, mean, lo, hi) for xi, mean, lo, hi in
                       zip(x, ln[m]["mean"], ln[m]["min"], ln[m]["max"], strict=True)
                       if mean is not None]
                if not pts:
                    continue
                px, py, plo, phi = zip(*pts, strict=True)
                style = styles[s["combos"].index(combo) % 4] if s["split"] else "-"
                line, = ax.plot(px, [v / yf for v in py], marker="o", ms=3, ls=style,
                                color=colours.get(planner),
                                label=planner + (f" ({_short(combo)})" if combo else ""))
                colours.setdefault(planner, line.get_color())
                if any(lo != hi for _, _, lo, hi in pts):
                    ax.fill_between(px, [v / yf for v in plo], [v / yf for v in phi],
                                    color=line.get_color(), alpha=0.12, lw=0)
            ax.set_title(METRICS[m] + (f" ({yunit})" if yunit else ""), fontsize=10)
            ax.set_xlabel(param + (f" ({xunit})" if xunit else ""), fontsize=9)
            if not s["numeric"]:
                ax.set_xticks(x, s["labels"], rotation=30, fontsize=8)
            ax.grid(alpha=0.3)
        for k in range(len(names), nrows * cols):
            axes[k // cols][k % cols].set_visible(False)
        handles, labels = axes[0][0].get_legend_handles_labels()
        others = s["others"]
        over = "mean over seeds" + (" and over " + ", ".join(others)
                                    if others and not s["split"] else "")
        note = (over + "; band: min-max" + (f"; line style: {', '.join(others)}"
                                             if s["split"] else "")
                + (f"; {s['failed']} failed run(s) left out" if s["failed"] else ""))
        fig.suptitle(f"sweep: metrics against {param}, per planner (simulated)\n{note}",
                     fontsize=10)
        ncol = 3 if s["split"] else 6
        fig.legend(handles, labels, loc="lower center", ncol=min(ncol, len(labels)), fontsize=8,
                   frameon=False)
        fig.tight_layout(rect=(0, 0.04 + 0.035 * math.ceil(len(labels) / ncol), 1, 1))
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in param)
        path = folder / f"{stem}-{safe}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written
