"""``splitinfer models``: the model zoo with default input shapes, as a table (no torch import)."""

from __future__ import annotations

import typer

from splitinfer.cli._app import app


@app.command("models")
def models(
    source: str = typer.Option(None, "--source", help="Only 'torchvision' or 'splitinfer' models."),
    json_: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List every model of the zoo with its default input shape (C, H, W)."""
    import json

    from splitinfer.models import list_models, model_info

    specs = [model_info(n) for n in list_models(source)]
    if json_:
        typer.echo(json.dumps([{"name": s.name, "source": s.source, "family": s.family,
                                "input_shape": list(s.input_shape),
                                "small_input_shape": list(s.small_input_shape),
                                "papers": [p.key for p in _papers(s.papers)]} for s in specs],
                              indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "family", "source", "input (C, H, W)", "papers",
                  title=f"{len(specs)} models",
                  caption="papers: splitinfer reproduce --list, and README.md")
    for s in specs:
        table.add_row(s.name, s.family, s.source, "x".join(map(str, s.input_shape)),
                      ", ".join(f"{p.etal} {p.year}" for p in _papers(s.papers)))
    Console().print(table)


def _papers(refs):
    """The papers a model spec names (by paper key, alias or index in the specification)."""
    from splitinfer.papers import PAPERS, get_paper

    by_index = {p.seed: p for p in PAPERS.values() if p.seed}
    return [by_index[r] if r in by_index else get_paper(r) for r in refs]
