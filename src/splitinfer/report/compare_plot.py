"""The comparison figure and table of ``splitinfer compare`` and the demo: planners side by side.

Left panel: each planner's mean latency (bar) with its p95 latency (black tick), sorted by the
scenario's objective (best first); the ``exact`` planner's objective is drawn as a dashed line
when it ran. Right panel: makespan. Planners that did not apply or failed are listed under the
figure with their whole reason (wrapped), not drawn. The numbers are simulated (the title says so).

Examples
--------
>>> import tempfile, pathlib
>>> rows = [{"planner": "a", "status": "ok", "objective": 1.0, "objective_kind": "mean_latency",
...          "mean_latency_s": 1.0, "p95_latency_s": 1.5, "makespan_s": 3.0},
...         {"planner": "b", "status": "not_applicable", "error": "needs slots",
...          "objective": None}]
>>> out = plot_comparison(rows, pathlib.Path(tempfile.mkdtemp()) / "c.png", scenario="toy")
>>> out.stat().st_size > 0
True
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["plot_comparison", "comparison_table", "skipped_reasons"]


def skipped_reasons(rows: Sequence[dict[str, Any]]) -> list[str]:
    """One line per planner that did not run: ``"name: status: reason"``, the reason whole.

    Examples
    --------
    >>> skipped_reasons([{"planner": "gspi", "status": "not_applicable", "error": "needs  slots"}])
    ['gspi: not applicable: needs slots']
    """
    from splitinfer.report.names import readable

    lines = []
    for r in rows:
        if r.get("status") != "ok":
            reason = readable(" ".join(str(r.get("error") or "").split()))
            lines.append(f"{r['planner']}: {str(r.get('status')).replace('_', ' ')}: {reason}")
    return lines


def _time(value: float | None) -> str:
    from splitinfer.units import format_time

    return "-" if value is None else format_time(value)


def comparison_table(rows: Sequence[dict[str, Any]], title: str = ""):
    """A :class:`rich.table.Table` of the rows, best objective first, non-runs last.

    Columns: planner, objective, mean and p95 latency, makespan, planning time, gap to exact
    (percent). Planners that did not apply or failed are listed last, dimmed; their reasons come
    from :func:`skipped_reasons`.

    Examples
    --------
    >>> t = comparison_table([{"planner": "a", "status": "ok", "objective": 0.5,
    ...     "mean_latency_s": 0.5, "p95_latency_s": 0.7, "makespan_s": 2.0, "plan_time_s": 1e-3,
    ...     "gap_to_exact": 0.1}])
    >>> t.row_count, [c.header for c in t.columns][:3]
    (1, ['planner', 'objective', 'mean latency'])
    """
    from rich.table import Table

    ok = sorted((r for r in rows if r.get("status") == "ok"), key=lambda r: r["objective"])
    rest = [r for r in rows if r.get("status") != "ok"]
    table = Table(title=title or None)
    for col in ("planner", "objective", "mean latency", "p95 latency", "makespan", "plan time",
                "gap to exact"):
        table.add_column(col, justify="left" if col == "planner" else "right", no_wrap=True)
    for r in ok:
        gap = r.get("gap_to_exact")
        objective = f"{r['objective']:.4g} J" if r.get("objective_kind") == "energy" \
            else _time(r["objective"])
        table.add_row(r["planner"] + (" *" if r.get("optimal") else ""), objective,
                      _time(r["mean_latency_s"]), _time(r["p95_latency_s"]),
                      _time(r["makespan_s"]), _time(r["plan_time_s"]),
                      "-" if gap is None else f"{100 * gap:+.1f} %")
    for r in rest:
        table.add_row(r["planner"], "-", "-", "-", "-", "-",
                      str(r.get("status")).replace("_", " "), style="dim")
    notes = []
    if any(r.get("optimal") for r in ok):
        notes.append("* the planner proved its plan optimal")
    if any(r["planner"] == "exact" and not r.get("optimal") for r in ok):
        notes.append("exact stopped at its limit without a proof: the gap is to its best plan")
    if notes:
        table.caption = "; ".join(notes)
    return table


def plot_comparison(rows: Sequence[dict[str, Any]], path: str | Path, *, scenario: str = "",
                    title: str | None = None) -> Path:
    """Draw the rows of :func:`splitinfer.experiments.compare.compare_planners` to a PNG.

    Parameters
    ----------
    rows : list of dict
        With ``planner``, ``status``, ``objective``, ``mean_latency_s``, ``p95_latency_s``,
        ``makespan_s`` (and ``error`` for planners that did not run).
    path : str or Path
        Output PNG (parent folders are created).
    scenario : str
        Scenario name for the title.
    title : str, optional
        Overrides the title.

    Returns
    -------
    Path
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = sorted((r for r in rows if r.get("status") == "ok"), key=lambda r: r["objective"])
    skipped = [r for r in rows if r.get("status") != "ok"]
    names = [r["planner"] for r in ok]
    scale, unit = 1.0, "s"
    top = max((r["p95_latency_s"] for r in ok), default=0.0)
    if 0 < top < 1.0:
        scale, unit = 1e3, "ms"
    kind = ok[0].get("objective_kind", "objective") if ok else "objective"
    main_h = 1.8 + 0.32 * max(len(ok), 1)
    notes = []
    for line in skipped_reasons(skipped):  # every reason whole, wrapped to the figure's width
        notes += textwrap.wrap(f"not shown: {line}", width=150, subsequent_indent="    ")
    note_h = 0.14 * len(notes) + (0.15 if notes else 0.0)
    height = main_h + note_h
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, height), sharey=True,
                                      gridspec_kw={"width_ratios": [3, 2]})
    y = list(range(len(ok)))
    colours = ["tab:red" if n == "exact" else "tab:blue" for n in names]
    left.barh(y, [r["mean_latency_s"] * scale for r in ok], color=colours, alpha=0.8,
              label="mean latency")
    left.scatter([r["p95_latency_s"] * scale for r in ok], y, marker="|", s=160, color="black",
                 label="p95 latency", zorder=3)
    exact = next((r for r in ok if r["planner"] == "exact"), None)
    if exact is not None and kind in ("mean_latency", "mean_sojourn"):
        left.axvline(exact["objective"] * scale, color="tab:red", ls="--", lw=1,
                     label="exact (objective)")
    left.set_yticks(y, names)
    left.invert_yaxis()
    left.set_xlabel(f"latency ({unit})")
    left.legend(loc="lower right", fontsize=8)
    left.grid(axis="x", alpha=0.3)
    mk_scale, mk_unit = (1e3, "ms") if 0 < max((r["makespan_s"] for r in ok), default=0) < 1 \
        else (1.0, "s")
    right.barh(y, [r["makespan_s"] * mk_scale for r in ok], color=colours, alpha=0.8)
    if exact is not None and kind == "makespan":
        right.axvline(exact["objective"] * mk_scale, color="tab:red", ls="--", lw=1)
    right.set_xlabel(f"makespan ({mk_unit})")
    right.grid(axis="x", alpha=0.3)
    fig.suptitle(title or f"planners on {scenario or 'scenario'} (simulated; objective: {kind}, "
                          "best first)")
    if notes:
        fig.text(0.01, (note_h - 0.05) / height, "\n".join(notes), fontsize=7, va="top",
                 family="monospace")
    fig.tight_layout(rect=(0, note_h / height, 1, 1))
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
