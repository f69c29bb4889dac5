"""``splitinfer profile`` (measure a model, write a profile file) and ``splitinfer inspect``.

Command bodies parse arguments, call :mod:`splitinfer.profile` and print; torch is imported only
inside ``profile`` and inside ``inspect`` when no profile is given.
"""

from __future__ import annotations

from pathlib import Path

import typer

from splitinfer.cli._app import app

_DEVICES = ("cpu", "cuda")


def _si(value: float, unit: str) -> str:
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.2f} {prefix}{unit}"
    return f"{value:.0f} {unit}"


def _layer_table(source, title: str):
    from rich.table import Table

    from splitinfer.profile import layer_table
    from splitinfer.units import format_time

    rows = layer_table(source)
    timed = bool(rows) and "latency_s" in rows[0]
    table = Table(title=f"{title}: {len(rows)} layers")
    for col in ("#", "layer", "op", "FLOPs", "output", "params", *(["latency"] if timed else [])):
        table.add_column(col, justify="left" if col in ("layer", "op") else "right")
    for r in rows:
        table.add_row(str(r["index"]), r["name"], r["op"], _si(r["flops"], "FLOP"),
                      _si(r["out_bytes"], "B"), _si(r["param_bytes"], "B"),
                      *([format_time(r["latency_s"])] if timed else []))
    return table


def _cut_table(source, title: str):
    from rich.table import Table

    from splitinfer.profile import cut_table
    from splitinfer.units import format_time

    rows = cut_table(source)
    timed = bool(rows) and "head_latency_s" in rows[0]
    table = Table(title=f"{title}: {len(rows)} cut points")
    cols = ["cut", "after layer", "transfer", "head FLOPs", "head share"]
    for col in cols + (["head time", "tail time"] if timed else []):
        table.add_column(col, justify="left" if col == "after layer" else "right")
    for r in rows:
        table.add_row(str(r["index"]), r["after"], _si(r["transfer_bytes"], "B"),
                      _si(r["head_flops"], "FLOP"), f"{100 * r['head_fraction']:.1f} %",
                      *([format_time(r["head_latency_s"]), format_time(r["tail_latency_s"])]
                        if timed else []))
    return table


@app.command("profile")
def profile_command(
    model: str = typer.Argument(..., help="Model name (see `splitinfer models`)."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    threads: int | None = typer.Option(None, "--threads", help="CPU threads (default: torch's current)."),
    batch: int = typer.Option(1, "--batch", help="Batch size."),
    repeats: int = typer.Option(100, "--repeats", help="Timed runs per layer and whole model."),
    warmup: int = typer.Option(10, "--warmup", help="Untimed runs before timing."),
    segment_repeats: int = typer.Option(
        10, "--segment-repeats", help="Timed runs of each cut's head and tail (0: layer sums)."),
    hardware: str | None = typer.Option(None, "--hardware", help="Hardware name (default cpu-<N>t)."),
    output: Path = typer.Option(..., "-o", "--output", help="Profile JSON file to write."),
) -> None:
    """Measure MODEL on this machine and write a profile file (format splitinfer.profile/1)."""
    from splitinfer.errors import SplitInferError

    if device not in _DEVICES:
        raise SplitInferError(f"--device must be one of {', '.join(_DEVICES)}, got {device!r}")
    from splitinfer.profile import measure_profile
    from splitinfer.units import format_time

    prof = measure_profile(model, device=device, threads=threads, batch=batch, repeats=repeats,
                           warmup=warmup, hardware_name=hardware, segment_repeats=segment_repeats)
    prof.save(output)
    typer.echo(f"{prof.name}: {len(prof.layers)} layers, {prof.num_cuts} cuts, whole model "
               f"{format_time(prof.whole_latency_s)} ({prof.measurement['seconds']:.1f} s to "
               f"measure) -> {output}")


@app.command("inspect")
def inspect_command(
    model: str = typer.Argument(..., help="Model name (see `splitinfer models`)."),
    profile: str | None = typer.Option(
        None, "--profile", help="Profile file or shipped name <model>@<hardware>."),
    plot: Path | None = typer.Option(None, "--plot", help="Write the cut-profile figure (needs a profile)."),
    layers: bool = typer.Option(True, "--layers/--no-layers", help="Show the layer table."),
) -> None:
    """Show MODEL's layers and cut points: FLOPs, bytes and, with a profile, head/tail latency."""
    from rich.console import Console

    from splitinfer.errors import SplitInferError

    if profile is not None:
        from splitinfer.profile import load_profile

        source = load_profile(profile)
        if source.model != model:
            raise SplitInferError(f"profile {profile!r} is for model {source.model!r}, not {model!r}")
    else:
        if plot is not None:
            raise SplitInferError("--plot needs --profile (the figure shows measured latency)")
        from splitinfer import graph, models

        source = graph.trace(models.get_model(model), models.example_input(model), name=model)
    title = model if profile is None else source.name
    console = Console()
    if layers:
        console.print(_layer_table(source, title))
    console.print(_cut_table(source, title))
    if plot is not None:
        from splitinfer.report.cutplot import plot_cut_profile

        console.print(f"figure -> {plot_cut_profile(source, plot)}")
