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

_SCENARIO = typer.Argument(..., help="Scenario file (.yaml/.json) or shipped scenario name.")
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


@app.command("plan")
def plan_command(
    scenario: str = _SCENARIO,
    planner: str = typer.Option(..., "--planner", help="Registered planner (see `splitinfer planners`)."),
    param: list[str] = _PARAM,
    output: Path = typer.Option(..., "-o", "--output", help="Plan JSON file to write."),
) -> None:
    """Plan SCENARIO with one planner and write the plan (format splitinfer.plan/1)."""
    from splitinfer.experiments.compare import planner_params
    from splitinfer.planners import get_planner
    from splitinfer.system import load_scenario

    sc = load_scenario(scenario)
    plan = get_planner(planner, **planner_params(planner, param or [])).plan(sc)
    plan.save(output)
    typer.echo(f"{plan.planner}: planned {len(plan)} task(s) of {sc.name} in "
               f"{_fmt(plan.plan_time_s)} -> {output}")


@app.command("simulate")
def simulate_command(
    scenario: str = _SCENARIO,
    plan: Path | None = typer.Option(None, "--plan", help="Plan file written by `splitinfer plan`."),
    planner: str | None = typer.Option(None, "--planner", help="Plan with this planner first."),
    param: list[str] = _PARAM,
    output: Path | None = typer.Option(None, "-o", "--output", help="Result JSON file to write."),
    gantt: Path | None = typer.Option(None, "--gantt", help="Gantt chart PNG to write."),
    gantt_tasks: int = typer.Option(200, "--gantt-tasks", help="Tasks drawn in the Gantt chart."),
) -> None:
    """Simulate a plan of SCENARIO: per-stage timelines, latency metrics, utilisation."""
    from rich.table import Table

    from splitinfer.errors import SplitInferError
    from splitinfer.experiments.compare import load_plan, planner_params
    from splitinfer.planners import get_planner
    from splitinfer.sim import simulate
    from splitinfer.system import load_scenario

    if (plan is None) == (planner is None):
        raise SplitInferError("give exactly one of --plan FILE or --planner NAME")
    sc = load_scenario(scenario)
    the_plan = (load_plan(str(plan)) if plan is not None
                else get_planner(planner, **planner_params(planner, param or [])).plan(sc))
    result = simulate(sc, the_plan)
    console = _console()
    table = Table(title=f"{the_plan.planner} on {sc.name} (simulated, {len(result.tasks)} tasks)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row(f"objective ({sc.objective})", _fmt(result.objective(sc.objective)))
    for key, value in result.metrics().items():
        table.add_row(key, _fmt(value) if key.endswith("_s") else str(value))
    for resource, u in sorted(result.utilisation().items(), key=lambda kv: -kv[1])[:12]:
        table.add_row(f"utilisation {resource}", f"{100 * u:.1f} %")
    console.print(table)
    if output is not None:
        result.save(output)
        console.print(f"result -> {output}")
    if gantt is not None:
        from splitinfer.report.gantt import plot_gantt

        console.print(f"Gantt chart -> {plot_gantt(result, gantt, sc, max_tasks=gantt_tasks)}")


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

    from splitinfer.experiments.compare import compare_planners, parse_params, rows_to_json
    from splitinfer.system import load_scenario

    sc = load_scenario(scenario)
    rows = compare_planners(sc, planners, parse_params(param or []))
    if json_:
        typer.echo(json.dumps(rows_to_json(sc, rows), indent=1, default=str))
    else:
        from splitinfer.report.compare_plot import comparison_table, skipped_reasons

        console = _console()
        console.print(comparison_table(rows, f"{sc.name}: {len(sc.tasks)} tasks, objective "
                                             f"{sc.objective} (simulated)"))
        for line in skipped_reasons(rows):
            console.print(f"  {line}", markup=False, highlight=False)
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
) -> None:
    """Profile a model on this CPU, build a device/edge/cloud scenario, compare every planner."""
    from splitinfer.experiments.demo import run_demo

    run_demo(out, model=model, tasks=tasks, repeats=repeats, echo=True)
