"""``splitinfer planners``: the planner registry as a table."""

from __future__ import annotations

import typer

from splitinfer.cli._app import app


@app.command("planners")
def planners(json_: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List every registered planner with its description, source, parameters and the
    objectives it supports (energy objectives: docs/energy.md)."""
    import json

    from rich.console import Console
    from rich.table import Table

    from splitinfer.planners import list_planners, planner_info
    from splitinfer.report.names import readable

    infos = [planner_info(n) for n in list_planners()]
    if json_:
        typer.echo(json.dumps([{"name": i.name, "description": readable(i.description),
                                "source": readable(i.source),
                                "alias_of": i.alias_of, "exact": i.exact,
                                "objectives": list(i.objectives),
                                "online": bool(getattr(i.cls, "online", False)),
                                "proven_range": None if i.proven_range is None else {
                                    "tasks": i.proven_range.tasks,
                                    "options": i.proven_range.options,
                                    "nodes": i.proven_range.nodes,
                                    "limit": i.proven_range.limit,
                                    "evidence": i.proven_range.evidence},
                                "params": i.cls._param_names()} for i in infos], indent=1))
        return
    table = Table("name", "description", "source", "parameters", "objectives")
    for i in infos:
        name = i.name + (f" (= {i.alias_of})" if i.alias_of else "")
        table.add_row(name, readable(i.description), readable(i.source),
                      ", ".join(i.cls._param_names()),
                      "latency, energy" if "energy" in i.objectives else "latency")
    Console().print(table)
