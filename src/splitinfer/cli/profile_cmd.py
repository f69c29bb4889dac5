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
    model: str | None = typer.Argument(None, help="Model name (see `splitinfer models`)."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    threads: int | None = typer.Option(None, "--threads", help="CPU threads (default: torch's current)."),
    batch: int = typer.Option(1, "--batch", help="Batch size."),
    repeats: int = typer.Option(100, "--repeats", help="Timed runs per layer and whole model."),
    warmup: int = typer.Option(10, "--warmup", help="Untimed runs before timing."),
    segment_repeats: int = typer.Option(
        10, "--segment-repeats", help="Timed runs of each cut's head and tail (0: layer sums)."),
    hardware: str | None = typer.Option(None, "--hardware", help="Hardware name (default cpu-<N>t)."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Profile JSON file to write."),
    check: list[str] | None = typer.Option(
        None, "--check", help="Check a profile file or shipped name (repeatable; 'shipped' = every "
        "shipped profile) for consistency instead of measuring; exit 1 on a violation."),
) -> None:
    """Measure MODEL on this machine and write a profile file, or --check existing profiles.

    --check reports, per profile, the sum of layer latencies over the whole model, (head + tail)
    / whole at every cut and where the raw head curve falls; it prints one line per violation of
    the bounds (docs/profile-format.md, "Consistency check") and exits 1 if there is one.
    """
    from splitinfer.errors import SplitInferError

    if check:
        if model is not None:
            raise SplitInferError("give either MODEL (to measure) or --check FILE, not both")
        _check(check)
        return
    if model is None:
        raise SplitInferError("missing MODEL (see `splitinfer models`), or use --check FILE")
    if output is None:
        raise SplitInferError("missing -o/--output: the profile JSON file to write")
    if device not in _DEVICES:
        raise SplitInferError(f"--device must be one of {', '.join(_DEVICES)}, got {device!r}")
    import warnings

    from splitinfer.cli._progress import bar
    from splitinfer.profile import measure_profile
    from splitinfer.units import format_time

    with warnings.catch_warnings(record=True) as caught, bar(
            f"profiling {model} on {device} ({repeats} timed runs per layer, "
            f"{segment_repeats} per cut)"):
        warnings.simplefilter("always")
        prof = measure_profile(model, device=device, threads=threads, batch=batch,
                               repeats=repeats, warmup=warmup, hardware_name=hardware,
                               segment_repeats=segment_repeats)
    prof.save(output)
    typer.echo(f"{prof.name}: {len(prof.layers)} layers, {prof.num_cuts} cuts, whole model "
               f"{format_time(prof.whole_latency_s)} ({prof.measurement['seconds']:.1f} s to "
               f"measure) -> {output}")
    for w in caught:
        typer.echo(f"warning: {w.message}", err=True)


def _check(refs: list[str]) -> None:
    """Check profiles (see ``profile_command``); raise ``typer.Exit(1)`` on a violation."""
    from rich.console import Console
    from rich.table import Table

    from splitinfer.profile import list_shipped_profiles, load_profile
    from splitinfer.profile.check import check_profile

    names = [n for r in refs for n in (list_shipped_profiles() if r == "shipped" else [r])]
    reports = [check_profile(load_profile(n)) for n in names]
    console = Console(width=max(Console().width, 100))
    if len(reports) == 1:
        rep = reports[0]
        prof = load_profile(names[0])
        table = Table(title=f"{rep.name}: (head + tail) / whole per cut")
        for col in ("cut", "after layer", "head", "tail", "(head+tail)/whole", "head step"):
            table.add_column(col, justify="left" if col == "after layer" else "right")
        for k, cut in enumerate(prof.cuts):
            step = "" if k == 0 else f"{1e3 * rep.head_steps[k - 1]:+.3f} ms"
            table.add_row(str(k), cut.after or "input", f"{1e3 * cut.head_latency_s:.3f} ms",
                          f"{1e3 * cut.tail_latency_s:.3f} ms", f"{rep.split_ratio[k]:.2f}",
                          step + (" (dip)" if k in rep.dips else ""))
        console.print(table)
    for rep in reports:
        console.print(rep.summary(), markup=False, highlight=False)
    violations = [v for rep in reports for v in rep.violations]
    for line in violations:
        typer.echo(f"violation: {line}", err=True)
    if violations:
        bad = sum(1 for rep in reports if not rep.ok)
        typer.echo(f"{bad} of {len(reports)} profile(s) fail the consistency check "
                   f"({len(violations)} violation(s))", err=True)
        raise typer.Exit(1)


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
