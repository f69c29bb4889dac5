"""``splitinfer agreement``: measure (or show) a model's top-1 agreement per cut and wire dtype.

The file it writes (``splitinfer.agreement/1``, :mod:`splitinfer.profile.agreement`) goes beside
the model's profile as ``<model>.agreement.json``; planners that choose the dtype of each cut
(``--param wire_dtypes=all``) read it without torch (``docs/dtype.md``).
"""

from __future__ import annotations

from pathlib import Path

import typer

from splitinfer.cli._app import app


@app.command("agreement")
def agreement_command(
    model: str | None = typer.Argument(None, help="Model name (see `splitinfer models`)."),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Agreement JSON file to write (<model>.agreement.json "
        "beside the model's profile)."),
    inputs: int = typer.Option(32, "--inputs", help="Seeded random inputs to measure on."),
    seed: int = typer.Option(0, "--seed", help="Seed of the inputs."),
    dtypes: str = typer.Option("float16,bfloat16,int8", "--dtypes",
                               help="Compressed wire dtypes to measure, comma-separated."),
    show: Path | None = typer.Option(None, "--show", help="Print an agreement file instead "
                                     "of measuring."),
) -> None:
    """Measure MODEL's top-1 agreement with float32 when each cut's tensor is sent as float16,
    bfloat16 or int8 (needs torch; about a minute for ResNet18 at 32 inputs), or --show a file.
    """
    from splitinfer.errors import SplitInferError
    from splitinfer.profile.agreement import load_agreement, measure_agreement

    if show is not None:
        if model is not None:
            raise SplitInferError("give either MODEL (to measure) or --show FILE, not both")
        _print(load_agreement(show))
        return
    if model is None:
        raise SplitInferError("missing MODEL (see `splitinfer models`), or use --show FILE")
    if output is None:
        raise SplitInferError("missing -o/--output: the agreement JSON file to write "
                              f"(e.g. {model}.agreement.json beside the profile)")
    wanted = tuple(d.strip() for d in dtypes.split(",") if d.strip())
    from splitinfer.cli._progress import bar

    with bar(f"measuring the top-1 agreement of {model} on {inputs} seeded inputs"):
        result = measure_agreement(model, inputs=inputs, seed=seed, dtypes=wanted)
    result.save(output)
    _print(result)
    typer.echo(f"-> {output}")


def _print(a) -> None:
    from rich.console import Console
    from rich.table import Table

    dts = list(a.top1)
    table = Table(title=f"{a.model}: top-1 agreement with float32 ({a.inputs} inputs, seed "
                        f"{a.seed}); largest |output difference|")
    table.add_column("cut", justify="right")
    table.add_column("after layer")
    for d in dts:
        table.add_column(f"{d} top-1", justify="right")
        table.add_column(f"{d} max|diff|", justify="right")
    for c, name in enumerate(a.cut_names):
        cells = []
        for d in dts:
            cells += [f"{a.top1[d][c]:.3f}", f"{a.max_abs_diff[d][c]:.3g}"]
        table.add_row(str(c), name, *cells)
    Console(width=max(Console().width, 100)).print(table)
