"""``splitinfer scenarios``: the shipped scenarios, each with its paper and what it is."""

from __future__ import annotations

import typer

from splitinfer.cli._app import app


def scenario_rows() -> list[dict[str, str]]:
    """Name, paper citation and one-line description of each shipped scenario.

    Reads the files without validating them (fast, no torch); the description is the file's
    ``description:`` field up to its first sentence.

    Examples
    --------
    >>> rows = scenario_rows()
    >>> demo = next(r for r in rows if r["name"] == "demo")
    >>> demo["paper"], bool(demo["description"])
    ('-', True)
    """
    import re

    from splitinfer.data import list_shipped_scenarios, shipped_scenario_path
    from splitinfer.papers import paper_of
    from splitinfer.report.names import readable
    from splitinfer.system.load import read_scenario_file

    rows = []
    for name in list_shipped_scenarios():
        data = read_scenario_file(shipped_scenario_path(name))
        text = readable(" ".join(str(data.get("description") or "").split()))
        text = re.split(r"(?<=[.;])\s+(?=[A-Z(])", text, maxsplit=1)[0].rstrip(";")
        paper = paper_of(name)
        rows.append({"name": name, "paper": paper.cite() if paper else "-",
                     "description": text})
    return rows


@app.command("scenarios")
def scenarios_command(
    json_: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the shipped scenarios (usable by name in plan, simulate, compare, run, sweep)."""
    import json

    rows = scenario_rows()
    if json_:
        typer.echo(json.dumps(rows, indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "paper", "what it is", title=f"{len(rows)} shipped scenarios",
                  caption="e.g. splitinfer compare demo; a file of your own: "
                          "docs/scenario-format.md")
    for r in rows:
        table.add_row(r["name"], r["paper"], r["description"])
    console = Console()
    (console if console.is_terminal else Console(width=140)).print(table)
