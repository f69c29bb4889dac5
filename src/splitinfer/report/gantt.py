"""Gantt charts of a simulated (or measured) plan: a row per resource, a bar per stage.

Rows are resources: each device's and server's compute (a divisible node's shares as
``node#group`` rows under it), and each link (``src->dst``) that carried a transfer, under its
source node. Rows are **ordered by hop**: the devices first, then the servers one link away, then
those two links away (an edge before the cloud behind it), so a task's route reads top to bottom:
device, its uplink, edge, edge-to-cloud link, cloud. With a scenario, hops follow its links, ties
go by kind (device, edge, cloud) and by the order of the file, and every node has its compute row
(an idle node shows as an empty row); without one, hops follow the routes the tasks took and
only resources that were used appear. Bars are coloured by task (``tab20`` up to 20 tasks, an
evenly sampled colour map beyond) and the legend, below the chart in as many columns as fit,
names every task drawn. Pure delays (a constant result-return time) hold no resource and are not
drawn. The title says whether the timeline was simulated or measured.

With ``colour_by="power"`` (``splitinfer simulate --gantt-colour power``) bars are coloured by
the power the task's own device draws during the stage instead (its compute, transmit or receive
figure, in W, on one colour scale with a colour bar; :mod:`splitinfer.system.energy`), and
stages that do not involve the device (server compute, edge-to-cloud links) are light grey: where
the energy goes shows at a glance. This needs a scenario whose devices give power figures.

:func:`plot_run_gantt` draws a real run's measured timeline above its prediction, two panels of
one figure on one shared time axis and with the same rows, so a stage that took longer than
predicted shows as a longer bar right below the other (``splitinfer run`` writes it).

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

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from splitinfer.system.energy import NONE, stage_role
from splitinfer.system.result import Result, TaskRecord
from splitinfer.system.scenario import Scenario

__all__ = ["GanttBar", "GanttRow", "gantt_rows", "plot_gantt", "plot_run_gantt"]

_COLOURS = 20
_KIND_RANK = {"device": 0, "edge": 1, "cloud": 2}


@dataclass(frozen=True)
class GanttBar:
    """One stage: ``start`` and ``duration`` in seconds, ``task`` its index in the result;
    ``power`` the watts its task's device draws during it (``None``: not the device's stage, or
    no power figures)."""

    start: float
    duration: float
    task: int
    label: str
    power: float | None = None


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


def _route_hops(tasks: Sequence[TaskRecord]) -> dict[str, int]:
    """Hop of every node on the tasks' routes: the device 0, the next node 1, and so on (the
    smallest over all tasks)."""
    hops: dict[str, int] = {}
    for task in tasks:
        route = [task.device]
        for s in sorted(task.stages, key=lambda s: (s.start, s.end)):
            if s.resource is None:
                continue
            names = s.resource.split("->", 1) if "->" in s.resource else [_owner(s.resource)]
            route += [n for n in names if n not in route]
        for k, n in enumerate(route):
            hops[n] = min(hops.get(n, k), k)
    return hops


def _scenario_hops(scenario: Scenario) -> dict[str, int]:
    """Hop of every node from the nearest device over the scenario's links (breadth first)."""
    hops = dict.fromkeys(scenario.devices, 0)
    queue = deque(scenario.devices)
    while queue:
        a = queue.popleft()
        for b in scenario.nodes:
            if b not in hops and scenario.has_link(a, b):
                hops[b] = hops[a] + 1
                queue.append(b)
    return hops


def _node_order(tasks: Sequence[TaskRecord], scenario: Scenario | None,
                first_use: dict[str, float]) -> dict[str, tuple]:
    """Sort key of every node's block of rows (module docstring)."""
    if scenario is not None:
        hops = _scenario_hops(scenario)
        order = scenario.devices + scenario.edges + scenario.clouds
        far = len(order) + 1
        return {n: (_KIND_RANK.get(scenario.nodes[n].kind, 3), hops.get(n, far), i)
                for i, n in enumerate(order)}
    hops = _route_hops(tasks)
    far = len(hops) + len(first_use) + 1
    return {n: (hops.get(n, far), first_use[n], n) for n in first_use}


def _stage_power(scenario: Scenario | None, task: TaskRecord, stage: Any) -> float | None:
    """Watts ``task``'s device draws during ``stage`` (``None`` if not its stage or unknown)."""
    if scenario is None or task.device not in scenario.nodes:
        return None
    power = scenario.nodes[task.device].power
    role = stage_role(stage, task.device)
    if power is None or role == NONE:
        return None
    return (power.compute, power.transmit, power.receive)[role]


def _rows(results: Sequence[Result], scenario: Scenario | None,
          max_tasks: int | None) -> list[list[GanttRow]]:
    """The rows of each result, all in one order over the union of their resources."""
    per: list[dict[str, GanttRow]] = []
    first_use: dict[str, float] = {}
    kept: list[TaskRecord] = []
    for result in results:
        rows: dict[str, GanttRow] = {}
        tasks = result.tasks if max_tasks is None else result.tasks[:max_tasks]
        kept += tasks
        for k, task in enumerate(tasks):
            for s in task.stages:
                if s.resource is None:
                    continue
                row = rows.get(s.resource)
                if row is None:
                    row = rows[s.resource] = GanttRow(s.resource, _owner(s.resource))
                row.bars.append(GanttBar(s.start, s.end - s.start, k, f"{task.id}:{s.name}",
                                         _stage_power(scenario, task, s)))
                first_use[row.node] = min(first_use.get(row.node, s.start), s.start)
        per.append(rows)
    names: dict[str, str] = {res: row.node for rows in per for res, row in rows.items()}
    if scenario is not None:
        for name in scenario.devices + scenario.edges + scenario.clouds:
            if name not in names and not scenario.nodes[name].divisible:
                names[name] = name  # every node gets its compute row, even when idle
    rank = _node_order(kept, scenario, first_use)
    last = (len(rank) + 1,)
    ordered = sorted(names, key=lambda r: (rank.get(names[r], last), names[r], *_within(r)))
    return [[rows.get(r) or GanttRow(r, names[r]) for r in ordered] for rows in per]


def gantt_rows(result: Result, scenario: Scenario | None = None,
               max_tasks: int | None = None) -> list[GanttRow]:
    """The rows of the chart, in display order (top to bottom).

    Parameters
    ----------
    result : Result
    scenario : Scenario, optional
        Orders the rows by hop over its links, then kind and file order; adds idle nodes.
    max_tasks : int, optional
        Keep only the first ``max_tasks`` tasks (in the result's order, i.e. by arrival).

    Returns
    -------
    list of GanttRow
    """
    return _rows([result], scenario, max_tasks)[0]


def _colours(n: int) -> list[Any]:
    """``n`` task colours: ``tab20`` up to 20 tasks, an evenly sampled ``turbo`` map beyond."""
    import matplotlib.pyplot as plt

    if n <= _COLOURS:
        cmap = plt.get_cmap("tab20")
        return [cmap(k) for k in range(n)]
    cmap = plt.get_cmap("turbo")
    return [cmap(0.05 + 0.9 * k / (n - 1)) for k in range(n)]


def _draw(ax: Any, rows: list[GanttRow], colours: list[Any], scale: float,
          by_power: Any = None) -> None:
    """Bars coloured by task, or by ``by_power`` (a ``ScalarMappable``) from each bar's power."""
    for y, row in enumerate(rows):
        by_colour: dict[Any, list[tuple[float, float]]] = {}
        for b in row.bars:
            if by_power is None:
                key = b.task
            else:
                key = "none" if b.power is None else b.power
            by_colour.setdefault(key, []).append((b.start * scale, b.duration * scale))
        for key, spans in sorted(by_colour.items(), key=lambda kv: str(kv[0])):
            if by_power is None:
                face = colours[key]
            else:
                face = "#dddddd" if key == "none" else by_power.to_rgba(key)
            ax.broken_barh(spans, (y - 0.38, 0.76), facecolors=face,
                           edgecolors="black", linewidth=0.3)
    ax.set_yticks(range(len(rows)), [r.resource for r in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.grid(axis="x", alpha=0.3)


def _legend(fig: Any, tasks: Sequence[TaskRecord], colours: list[Any]) -> None:
    """Every task drawn, below the axes, in up to 10 columns (``bbox_inches="tight"`` on save
    keeps it inside the image)."""
    from matplotlib.patches import Patch

    if not tasks:
        return
    ncol = min(len(tasks), 10)
    fig.legend(handles=[Patch(facecolor=colours[k], edgecolor="black", label=t.id)
                        for k, t in enumerate(tasks)],
               title="task", loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=ncol,
               fontsize=8, frameon=False)


def _save(fig: Any, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return out


def _time_unit(end: float) -> tuple[float, str]:
    return (1e3, "ms") if end < 1.0 else (1.0, "s")


def _end(rows: list[GanttRow]) -> float:
    return max((b.start + b.duration for r in rows for b in r.bars), default=1.0) or 1.0


def plot_gantt(result: Result, path: str | Path, scenario: Scenario | None = None, *,
               title: str | None = None, max_tasks: int | None = 200,
               colour_by: str = "task") -> Path:
    """Draw the Gantt chart of ``result`` to a PNG (matplotlib, Agg backend).

    Parameters
    ----------
    result : Result
        A simulated or measured timeline.
    path : str or Path
        Output file (parent folders are created).
    scenario : Scenario, optional
        Orders rows by hop over its links and adds idle nodes.
    title : str, optional
        Defaults to ``"<planner> on <scenario> (simulated|measured)"``.
    max_tasks : int or None
        Draw only the first ``max_tasks`` tasks (default 200, so large runs stay readable);
        ``None`` draws all. The title then says how many of how many are shown.
    colour_by : {"task", "power"}
        Colour bars by task (default, with a legend) or by the device power of each stage (W,
        with a colour bar; needs ``scenario`` with power figures on the devices).

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        ``colour_by="power"`` without power figures, or an unknown ``colour_by``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if colour_by not in ("task", "power"):
        raise ValueError(f"colour_by must be 'task' or 'power', not {colour_by!r}")
    rows = gantt_rows(result, scenario, max_tasks)
    shown = result.tasks if max_tasks is None else result.tasks[:max_tasks]
    scale, unit = _time_unit(_end(rows))
    colours = _colours(len(shown))
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.45 * max(len(rows), 1)))
    mappable = None
    if colour_by == "power":
        watts = [b.power for r in rows for b in r.bars if b.power is not None]
        if not watts:
            plt.close(fig)
            raise ValueError("colouring by power needs a scenario whose devices give power "
                             "figures (nodes.*.power, docs/energy.md)")
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize

        mappable = ScalarMappable(Normalize(0.0, max(watts)), plt.get_cmap("plasma"))
    _draw(ax, rows, colours, scale, mappable)
    ax.set_xlabel(f"time ({unit})")
    ax.set_xlim(0, _end(rows) * scale * 1.02)
    kind = "measured" if result.measured else "simulated"
    text = title or f"{result.planner} on {result.scenario} ({kind})"
    if len(shown) < len(result.tasks):
        text += f": first {len(shown)} of {len(result.tasks)} tasks"
    ax.set_title(text)
    fig.tight_layout()
    if mappable is None:
        _legend(fig, shown, colours)
    else:
        fig.colorbar(mappable, ax=ax, label="device power (W); grey: not on the device",
                     fraction=0.04, pad=0.01)
    return _save(fig, path)


def plot_run_gantt(measured: Result, predicted: Result, path: str | Path,
                   scenario: Scenario | None = None, *, title: str | None = None) -> Path:
    """Draw a real run: measured timeline above predicted, one time axis, the same rows.

    Parameters
    ----------
    measured, predicted : Result
        The run's measured result and the simulator's prediction of the executed plan. Tasks
        are matched by id, so a task has one colour in both panels.
    path : str or Path
        Output PNG.
    scenario : Scenario, optional
        Orders rows by hop over its links and adds idle nodes.
    title : str, optional
        Defaults to ``"<planner> on <scenario>: measured vs predicted"``.

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from splitinfer.system.result import Result, TaskRecord, StageRecord
    >>> def one(end, measured):
    ...     return Result("s", "p", [TaskRecord("t0", "d", "m", 0.0, end, [
    ...         StageRecord("compute", "compute", "d", "d", 0.0, 0.0, end)])], measured=measured)
    >>> out = plot_run_gantt(one(1.2, True), one(1.0, False),
    ...                      pathlib.Path(tempfile.mkdtemp()) / "g.png")
    >>> out.read_bytes()[:4] == b"\\x89PNG"
    True
    """
    return _save(_run_figure(measured, predicted, scenario, title), path)


def _run_figure(measured: Result, predicted: Result, scenario: Scenario | None,
                title: str | None) -> Any:
    """The figure of :func:`plot_run_gantt`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = {t.id: k for k, t in enumerate(measured.tasks)}
    tasks = list(measured.tasks)
    for t in predicted.tasks:
        if t.id not in order:
            order[t.id] = len(tasks)
            tasks.append(t)
    meas_rows, pred_rows = _rows([measured, predicted], scenario, None)
    colours = _colours(len(tasks))
    by_result = [[colours[order[t.id]] for t in r.tasks] for r in (measured, predicted)]
    end = max(_end(meas_rows), _end(pred_rows))
    scale, unit = _time_unit(end)
    n = max(len(meas_rows), 1)
    fig, axes = plt.subplots(2, 1, sharex=True, figsize=(10, 1.6 + 0.8 * n))
    for ax, rows, cols, label in ((axes[0], meas_rows, by_result[0], "measured (real run)"),
                                  (axes[1], pred_rows, by_result[1], "predicted (simulated)")):
        _draw(ax, rows, cols, scale)
        ax.set_title(label, fontsize=10, loc="left")
    axes[1].set_xlabel(f"time ({unit})")
    axes[1].set_xlim(0, end * scale * 1.02)
    fig.suptitle(title or f"{measured.planner} on {measured.scenario}: measured vs predicted")
    fig.tight_layout()
    _legend(fig, tasks, colours)
    return fig
