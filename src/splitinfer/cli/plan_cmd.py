"""``splitinfer plan``, ``simulate``, ``compare`` and ``demo``.

Command bodies parse arguments, call :mod:`splitinfer.experiments.compare`,
:mod:`splitinfer.sim`, :mod:`splitinfer.report` and :mod:`splitinfer.experiments.demo`, and
print; they hold no logic. Errors a user can cause (a bad scenario file, an unknown planner or
parameter, a bad plan file) surface as one line on stderr with exit status 2.
"""

from __future__ import annotations

from pathlib import Path

import typer

from splitinfer.cli._app import app

_SCENARIO = typer.Argument(..., help="Scenario file (.yaml/.json) or shipped scenario name. In a "
                           "file, bandwidths and durations need units (60Mbps, 5ms; a bare 0 is "
                           "fine): see docs/scenario-format.md.")
_PARAM = typer.Option(None, "--param", help="Planner parameter key=value (repeatable; "
                      "planner.key=value addresses one planner in compare).")


def _console():
    """A rich console; 120 columns wide when the output is not a terminal (pipes, files)."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=120)


def _fmt(value, unit: str = "s") -> str:
    from splitinfer.units import format_time

    if value is None:
        return "-"
    return format_time(value) if unit == "s" else f"{value:.4g}"


def plan_table(sc, plan, limit: int):
    """A Rich table of the plan's decisions: task, device, cuts, nodes, priority, release."""
    from rich.table import Table

    from splitinfer.units import format_time

    shown = list(plan.tasks.values())[:limit] if limit else list(plan.tasks.values())
    table = Table(title=f"{plan.planner} on {sc.name}: {len(plan)} task(s)")
    for col in ("task", "device", "cuts", "nodes", "priority", "release"):
        table.add_column(col, justify="right" if col in ("priority", "release") else "left")
    for tp in shown:
        cuts = ", ".join(map(str, tp.cuts)) if tp.cuts else ("steps" if tp.steps else "-")
        if tp.dtype is not None and any(d not in (None, "float32") for d in tp.dtype):
            cuts += f" ({', '.join(d or 'link' for d in tp.dtype)})"  # the wire dtype per hop
        table.add_row(str(tp.task), tp.nodes[0], cuts, " -> ".join(tp.nodes),
                      f"{tp.priority:g}" if isinstance(tp.priority, int | float) else str(tp.priority),
                      "-" if tp.release is None else format_time(tp.release))
    if len(shown) < len(plan):
        table.caption = f"first {len(shown)} of {len(plan)} tasks (--show 0 lists all)"
    return table


@app.command("plan")
def plan_command(
    scenario: str = _SCENARIO,
    planner: str = typer.Option(..., "--planner", help="Registered planner (see `splitinfer planners`)."),
    param: list[str] = _PARAM,
    output: Path = typer.Option(..., "-o", "--output", help="Plan file to write: .json, or .npz (plain chain plans as columns; fast for 10^6 tasks)."),
    show: int = typer.Option(20, "--show", help="Tasks listed in the table (0: all)."),
) -> None:
    """Plan SCENARIO with one planner, show the decisions and write the plan (splitinfer.plan/1).

    The plan file records the scenario it was made for (name and content hash), so that
    `splitinfer simulate` warns when it is given another one.
    """
    from splitinfer.cli._progress import step
    from splitinfer.experiments.compare import planner_params, stamp_plan
    from splitinfer.planners import get_planner
    from splitinfer.system import load_scenario

    if show < 0:
        raise typer.BadParameter("must be 0 (all) or more", param_hint="'--show'")
    sc = load_scenario(scenario)
    the_planner = get_planner(planner, **planner_params(planner, param or []))
    with step(f"planning {len(sc.tasks)} task(s) of {sc.name} with {planner}"):
        plan = stamp_plan(the_planner.plan(sc), sc)
    output.parent.mkdir(parents=True, exist_ok=True)
    plan.save(output)
    console = _console()
    console.print(plan_table(sc, plan, show))
    console.print(f"{plan.planner}: planned {len(plan)} task(s) of {sc.name} in "
                  f"{_fmt(plan.plan_time_s)} -> {output}", markup=False, highlight=False)
    from splitinfer.planners.common.registry import proof_note

    note = proof_note(planner, sc, plan)  # an exact planner's unproven plan (not an error)
    if note is not None:
        typer.echo(note, err=True)


@app.command("simulate")
def simulate_command(
    scenario: str = _SCENARIO,
    plan: Path | None = typer.Option(None, "--plan", help="Plan file written by `splitinfer plan`."),
    planner: str | None = typer.Option(None, "--planner", help="Plan with this planner first."),
    param: list[str] = _PARAM,
    output: Path | None = typer.Option(None, "-o", "--output", help="Result file to write: .json, or .npz (columns; fast for 10^6 tasks)."),
    gantt: Path | None = typer.Option(None, "--gantt", help="Gantt chart PNG to write."),
    gantt_tasks: int = typer.Option(200, "--gantt-tasks", min=1,
                                     help="Tasks drawn in the Gantt chart."),
    gantt_colour: str = typer.Option(
        "task", "--gantt-colour", "--gantt-color",
        help="Colour Gantt bars by 'task' or by device 'power' (W; needs power figures, "
             "docs/energy.md)."),
) -> None:
    """Simulate a plan of SCENARIO: per-stage timelines, latency metrics, utilisation, and the
    device energy when the devices give power figures (docs/energy.md)."""
    from rich.table import Table

    from splitinfer.cli._progress import step
    from splitinfer.errors import SplitInferError
    from splitinfer.experiments.compare import load_plan, plan_scenario_mismatch, planner_params
    from splitinfer.planners import get_planner
    from splitinfer.sim import simulate
    from splitinfer.system import load_scenario

    if (plan is None) == (planner is None):
        raise SplitInferError("give exactly one of --plan FILE or --planner NAME")
    if gantt_colour not in ("task", "power"):
        raise SplitInferError(f"--gantt-colour must be 'task' or 'power', not {gantt_colour!r}")
    sc = load_scenario(scenario)
    if gantt is not None and gantt_colour == "power" and not any(
            sc.nodes[d].power is not None for d in sc.devices):
        raise SplitInferError(f"--gantt-colour power: no device of {sc.name} gives power "
                              "figures (nodes.*.power, docs/energy.md)")
    if plan is not None:
        the_plan = load_plan(str(plan))
        mismatch = plan_scenario_mismatch(the_plan, sc)
        if mismatch is not None:
            typer.echo(f"warning: {plan}: {mismatch}; simulating it anyway", err=True)
    else:
        the_planner = get_planner(planner, **planner_params(planner, param or []))
        with step(f"planning {len(sc.tasks)} task(s) of {sc.name} with {planner}"):
            the_plan = the_planner.plan(sc)
        from splitinfer.planners.common.registry import proof_note

        note = proof_note(planner, sc, the_plan)  # an exact planner's unproven plan
        if note is not None:
            typer.echo(note, err=True)
    with step(f"simulating {len(sc.tasks)} task(s) of {sc.name}"):
        result = simulate(sc, the_plan)
    console = _console()
    table = Table(title=f"{the_plan.planner} on {sc.name} (simulated, {len(result.tasks)} tasks)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row(f"objective ({sc.objective})", _fmt(result.objective(sc.objective))
                  if sc.objective != "energy" else f"{result.objective('energy'):.4g} J")
    for key, value in result.metrics().items():
        table.add_row(key, _fmt(value) if key.endswith("_s") else
                      f"{value:.4g} J" if key.endswith("_j") else str(value))
    # a resource with slots: busy share of the makespan; one without (a reserved or dedicated
    # link, a node of unlimited concurrency): how many stages it carries at once, on average
    # (its "utilisation" would exceed 100 %)
    limited, unlimited = [], []
    for resource, u in result.utilisation().items():
        try:
            slots = sc.resource_slots(resource)
        except (KeyError, SplitInferError):  # not a resource this scenario names
            slots = 1
        (limited if slots is not None else unlimited).append((u, resource))
    for u, resource in sorted(limited, key=lambda x: (-x[0], x[1]))[:12]:
        table.add_row(f"utilisation {resource}", f"{100 * u:.1f} %")
    for u, resource in sorted(unlimited, key=lambda x: (-x[0], x[1]))[:6]:
        table.add_row(f"in use at once {resource}", f"{u:.2f} (mean; no slot limit)")
    console.print(table)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        result.save(output)
        console.print(f"result -> {output}")
    if gantt is not None:
        from splitinfer.report.gantt import plot_gantt

        path = plot_gantt(result, gantt, sc, max_tasks=gantt_tasks, colour_by=gantt_colour)
        console.print(f"Gantt chart -> {path}")


@app.command("compare")
def compare_command(
    scenario: str = _SCENARIO,
    planners: str = typer.Option("all", "--planners", help="Comma-separated planners, or 'all'."),
    param: list[str] = _PARAM,
    json_: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    plot: Path | None = typer.Option(None, "--plot", help="Comparison figure PNG to write."),
) -> None:
    """Plan and simulate SCENARIO with several planners; objective, latency, makespan, gap to exact."""
    import json

    from splitinfer.cli._progress import bar
    from splitinfer.experiments.compare import (
        check_shared_params,
        compare_planners,
        parse_params,
        resolve_planners,
        rows_to_json,
    )
    from splitinfer.system import load_scenario

    sc = load_scenario(scenario)
    chosen = resolve_planners(planners)
    params = parse_params(param or [])
    check_shared_params(chosen, params)  # every error before the first planner starts
    with bar(f"comparing {len(chosen)} planners on {sc.name}", total=len(chosen)) as advance:
        rows = compare_planners(
            sc, chosen, params,
            progress=lambda name, i, n: advance(i, f"planning and simulating with {name} "
                                                   f"({i + 1} of {n})", total=n))
    if json_:
        typer.echo(json.dumps(rows_to_json(sc, rows), indent=1, default=str))
    else:
        from splitinfer.report.compare_plot import comparison_table, skipped_reasons

        console = _console()
        console.print(comparison_table(rows, f"{sc.name}: {len(sc.tasks)} tasks, objective "
                                             f"{sc.objective} (simulated)"))
        from rich.padding import Padding
        from rich.text import Text

        for line in skipped_reasons(rows):  # whole, wrapped with a hanging indent
            name, _, reason = line.partition(": ")
            console.print(Padding(Text.assemble((name, "bold"), ": ", reason), (0, 0, 0, 2)))
    if plot is not None:
        from splitinfer.report.compare_plot import plot_comparison

        out = plot_comparison(rows, plot, scenario=sc.name)
        if not json_:
            typer.echo(f"figure -> {out}")


@app.command("demo")
def demo_command(
    out: Path = typer.Option(Path("demo-output"), "--out", help="Output folder."),
    model: str = typer.Option("resnet18", "--model", help="Model to profile on this CPU."),
    tasks: int = typer.Option(8, "--tasks", help="Tasks in the burst."),
    repeats: int = typer.Option(5, "--repeats", help="Timed runs per layer when profiling."),
    measure: bool = typer.Option(
        False, "--measure", help="Measure the model on this CPU instead of using its shipped "
        "<model>@cpu-1t profile (results then depend on the machine's load)."),
) -> None:
    """Build a device/edge/cloud scenario around a model's profile and compare every planner.

    Uses the shipped <model>@cpu-1t profile (deterministic) unless --measure is given.
    """
    from splitinfer.cli._progress import step
    from splitinfer.experiments.demo import run_demo

    if measure:
        import torch  # noqa: F401  (without the extra: say which to install, before any output)
    with step(f"demo: {'profiling ' + model + ' on this CPU, ' if measure else ''}"
              f"planning and simulating {tasks} task(s) with every planner"):
        run_demo(out, model=model, tasks=tasks, repeats=repeats, echo=True, measure=measure)
