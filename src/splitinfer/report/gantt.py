"""Gantt charts of a simulated (or measured) plan: a row per resource, a bar per stage.

Rows are resources: each device's and server's compute (a divisible node's shares as
``node#group`` rows under it), and each link (``src->dst``) that carried a transfer, under its
source node. With a scenario, every node has its compute row (an idle node shows as an empty
row) and the nodes come in its order (devices, then edge servers, then clouds, as in the file);
without one, only resources that were used appear, nodes in order of first use. Bars are coloured by task (a 20-colour cycle, so with
many tasks colours repeat; the legend names tasks when there are at most 20). Pure delays (a
constant result-return time) hold no resource and are not drawn. The title says whether the
timeline was simulated or measured.

Examples
--------
>>> from splitinfer.system.result import Result, TaskRecord, StageRecord
>>> r = Result("s", "p", [TaskRecord("t0", "d", "m", 0.0, 3.0, [
...     StageRecord("compute", "compute", "d", "d", 0.0, 0.0, 1.0),
...     StageRecord("uplink", "transfer", "d->e", None, 1.0, 1.0, 2.0),
...     StageRecord("compute", "compute", "e", "e", 2.0, 2.0, 3.0)])])
>>> [(row.resource, [(b.start, b.duration, b.task) for b in row.bars]) for row in gantt_rows(r)]
[('d', [(0.0, 1.0, 0)]), ('d->e', [(1.0, 1.0, 0)]), ('e', [(2.0, 1.0, 0)])]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from splitinfer.system.result import Result
from splitinfer.system.scenario import Scenario

__all__ = ["GanttBar", "GanttRow", "gantt_rows", "plot_gantt"]

_COLOURS = 20


@dataclass(frozen=True)
class GanttBar:
    """One stage: ``start`` and ``duration`` in seconds, ``task`` its index in the result."""

    start: float
    duration: float
    task: int
    label: str


@dataclass
class GanttRow:
    """One resource and its bars."""

    resource: str
    node: str
    bars: list[GanttBar] = field(default_factory=list)


def _owner(resource: str) -> str:
    """The node a resource row belongs under: a link's source, a share's node."""
    if "->" in resource:
        return resource.split("->", 1)[0]
    return resource.split("#", 1)[0]


def _within(resource: str) -> tuple[int, str]:
    """Order of rows under one node: its compute, its shares, then its links."""
    if "->" in resource:
        return 2, resource
    return (1 if "#" in resource else 0), resource


def gantt_rows(result: Result, scenario: Scenario | None = None,
               max_tasks: int | None = None) -> list[GanttRow]:
    """The rows of the chart, in display order (top to bottom).

    Parameters
    ----------
    result : Result
    scenario : Scenario, optional
        Orders the rows as the scenario lists its nodes.
    max_tasks : int, optional
        Keep only the first ``max_tasks`` tasks (in the result's order, i.e. by arrival).
    """
    rows: dict[str, GanttRow] = {}
    first_use: dict[str, float] = {}
    tasks = result.tasks if max_tasks is None else result.tasks[:max_tasks]
    for k, task in enumerate(tasks):
        for s in task.stages:
            if s.resource is None:
                continue
            row = rows.get(s.resource)
            if row is None:
                row = rows[s.resource] = GanttRow(s.resource, _owner(s.resource))
            row.bars.append(GanttBar(s.start, s.end - s.start, k, f"{task.id}:{s.name}"))
            owner = row.node
            first_use[owner] = min(first_use.get(owner, s.start), s.start)
    if scenario is not None:
        order = scenario.devices + scenario.edges + scenario.clouds
        rank = {name: i for i, name in enumerate(order)}
        for name in order:  # every node gets its compute row, even when idle
            if name not in rows and not scenario.nodes[name].divisible:
                rows[name] = GanttRow(name, name)
    else:
        rank = {n: i for i, n in enumerate(sorted(first_use, key=lambda n: (first_use[n], n)))}
    return sorted(rows.values(), key=lambda r: (rank.get(r.node, len(rank)), r.node,
                                                *_within(r.resource)))


def plot_gantt(result: Result, path: str | Path, scenario: Scenario | None = None, *,
               title: str | None = None, max_tasks: int | None = 200) -> Path:
    """Draw the Gantt chart of ``result`` to a PNG (matplotlib, Agg backend).

    Parameters
    ----------
    result : Result
        A simulated or measured timeline.
    path : str or Path
        Output file (parent folders are created).
    scenario : Scenario, optional
        Orders rows as the scenario's nodes.
    title : str, optional
        Defaults to ``"<planner> on <scenario> (simulated|measured)"``.
    max_tasks : int or None
        Draw only the first ``max_tasks`` tasks (default 200, so large runs stay readable);
        ``None`` draws all. The title then says how many of how many are shown.

    Returns
    -------
    Path
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = gantt_rows(result, scenario, max_tasks)
    shown = len(result.tasks) if max_tasks is None else min(max_tasks, len(result.tasks))
    end = max((b.start + b.duration for r in rows for b in r.bars), default=1.0) or 1.0
    scale, unit = (1e3, "ms") if end < 1.0 else (1.0, "s")
    cmap = plt.get_cmap("tab20")
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.45 * max(len(rows), 1)))
    for y, row in enumerate(rows):
        by_colour: dict[int, list[tuple[float, float]]] = {}
        for b in row.bars:
            by_colour.setdefault(b.task % _COLOURS, []).append((b.start * scale, b.duration * scale))
        for colour, spans in sorted(by_colour.items()):
            ax.broken_barh(spans, (y - 0.38, 0.76), facecolors=cmap(colour),
                           edgecolors="black", linewidth=0.3)
    ax.set_yticks(range(len(rows)), [r.resource for r in rows])
    ax.invert_yaxis()
    ax.set_xlabel(f"time ({unit})")
    ax.set_xlim(0, end * scale * 1.02)
    ax.grid(axis="x", alpha=0.3)
    kind = "measured" if result.measured else "simulated"
    text = title or f"{result.planner} on {result.scenario} ({kind})"
    if shown < len(result.tasks):
        text += f": first {shown} of {len(result.tasks)} tasks"
    ax.set_title(text)
    if 0 < shown <= _COLOURS:
        from matplotlib.patches import Patch

        ax.legend(handles=[Patch(facecolor=cmap(k % _COLOURS), edgecolor="black", label=t.id)
                           for k, t in enumerate(result.tasks[:shown])],
                  title="task", loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
