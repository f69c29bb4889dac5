"""``splitinfer sweep`` and ``splitinfer report``."""

from __future__ import annotations

from pathlib import Path

import typer

from splitinfer.cli._app import app


@app.command("sweep")
def sweep(
    spec: Path = typer.Argument(..., help="Sweep spec (YAML)."),
    executor: str = typer.Option("local", "--executor", help="local | dask | serial"),
    address: str = typer.Option(None, "--address", help="Dask scheduler, tcp://host:port."),
    workers: int = typer.Option(None, "--workers", min=1,
                                help="Processes (local) or LocalCluster workers."),
    out: Path = typer.Option(Path("sweep-output"), "--out", help="Output directory."),
) -> None:
    """Run a grid/random sweep over scenario parameters x planners x seeds (resumable)."""
    from splitinfer.cli._progress import bar
    from splitinfer.experiments.sweep import run_sweep

    with bar(f"sweeping {spec.name} ({executor})") as advance:
        res = run_sweep(spec, out, executor=executor, address=address, workers=workers,
                        progress=lambda n, total: advance(n, f"sweeping {spec.name} ({n} of "
                                                          f"{total} runs done)", total=total))
    typer.echo(f"{res['ran']} runs in {res['seconds']:.1f} s ({res['skipped']} already done) "
               f"-> {res['csv']}")


@app.command("report")
def report(
    folder: Path = typer.Argument(..., help="Folder written by reproduce and/or sweep."),
    output: Path = typer.Option(Path("report.html"), "-o", "--output", help="HTML file to write."),
) -> None:
    """Write a static HTML report of reproductions and sweeps."""
    from splitinfer.cli import UserError
    from splitinfer.report.html import build_report

    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder")
    typer.echo(f"wrote {build_report(folder, output)}")
