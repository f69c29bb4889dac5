"""``splitinfer reproduce``: run registered reproductions of the papers' figures and tables."""

from __future__ import annotations

from pathlib import Path

import typer

from splitinfer.cli._app import app


@app.command("reproduce")
def reproduce(
    ids: list[str] = typer.Argument(None, help="Experiment ids, or 'all'."),
    list_: bool = typer.Option(False, "--list", help="List the registered experiments."),
    quick: bool = typer.Option(False, "--quick", help="Small configuration (under a minute each)."),
    seeds: int = typer.Option(None, "--seeds", help="Number of seeds per point."),
    out: Path = typer.Option(Path("reproductions"), "--out", help="Output directory."),
    write_docs: bool = typer.Option(
        False, "--write-docs", help="Write docs/reproductions/<page>.md and the feature pages "
        "docs/energy.md, docs/traces.md, docs/dtype.md from their templates (quick "
        "configurations; the arguments are page names, default all; run from the repository "
        "root)."),
) -> None:
    """Run reproductions: each writes <out>/<id>.csv, <id>.png and <id>.json."""
    from rich.console import Console
    from rich.table import Table

    from splitinfer.experiments import get_experiment, list_experiments, run_experiment

    console = Console()
    if write_docs:
        from splitinfer.experiments.pages import write_pages

        for path in write_pages([i for i in ids or [] if i != "all"] or None, quick=True):
            console.print(f"wrote {path}")
        return
    if list_ or not ids:
        from splitinfer.papers import paper_of
        from splitinfer.report.names import readable

        table = Table("id", "paper", "title", "where in the paper")
        for eid in list_experiments():
            exp = get_experiment(eid)
            paper = paper_of(eid)
            table.add_row(eid, paper.cite() if paper else "-", readable(exp.title),
                          readable(exp.source))
        console.print(table)
        return
    chosen = list_experiments() if ids == ["all"] else ids
    for eid in chosen:
        get_experiment(eid)  # unknown ids fail before anything runs
    from splitinfer.cli._progress import bar
    from splitinfer.report.names import readable

    mode = "quick" if quick else "full"
    with bar(f"reproducing {len(chosen)} experiment(s) ({mode})", total=len(chosen)) as advance:
        for i, eid in enumerate(chosen):
            advance(i, f"reproducing {eid} ({i + 1} of {len(chosen)}, {mode})")
            res = run_experiment(eid, quick=quick, seeds=seeds, out=out)
            console.print(f"[bold]{eid}[/]: {res['rows']} rows in {res['seconds']:.1f} s -> "
                          f"{res['csv']}" + (f", {res['png']}" if res["png"] else ""))
            if res["summary"]:
                console.print(f"  {readable(res['summary'])}", markup=False, highlight=False)
        advance(len(chosen))
