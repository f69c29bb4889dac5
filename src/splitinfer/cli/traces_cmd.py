"""``splitinfer traces``: the shipped bandwidth traces, or one trace file, summed up and plotted.

A link's ``bandwidth`` may follow a trace (``docs/traces.md``); this command shows what a trace
holds before a scenario uses it.
"""

from __future__ import annotations

from pathlib import Path

import typer

from splitinfer.cli._app import app


def trace_row(name: str, trace) -> dict:
    """One line about ``trace``: steps, length, period, and its rates in Mbit/s."""
    end = trace.end if trace.end > 0 else 1.0
    return {"name": name, "steps": len(trace.times), "seconds": round(end, 3),
            "repeats": trace.repeats, "mean_mbps": round(trace.mean_rate(0.0, end) / 1e6, 3),
            "min_mbps": round(float(trace.rates.min()) / 1e6, 3),
            "max_mbps": round(float(trace.rates.max()) / 1e6, 3)}


@app.command("traces")
def traces_command(
    trace: str = typer.Argument(None, help="A shipped trace's name or a trace file (CSV or "
                                "Mahimahi); default: list the shipped traces."),
    repeat: bool = typer.Option(False, "--repeat", help="Loop the trace (a Mahimahi trace's "
                                "period is its last timestamp)."),
    period: float = typer.Option(None, "--period", help="Seconds after which a repeated CSV "
                                 "trace starts again."),
    plot: Path = typer.Option(None, "--plot", help="Write the rate over time to this PNG."),
    until: float = typer.Option(None, "--until", help="Seconds to plot (default: the trace's "
                                "length, or two periods)."),
    json_: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the shipped bandwidth traces, or describe (and plot) one (docs/traces.md)."""
    import json

    from splitinfer.data import list_shipped_traces, shipped_trace_path
    from splitinfer.datafile import path_exists
    from splitinfer.traces import read_trace

    if until is not None and not 0 < until < float("inf"):
        raise typer.BadParameter(f"must be a positive number of seconds, got {until}",
                                 param_hint="'--until'")
    if plot is not None and plot.is_dir():
        raise typer.BadParameter(f"{plot} is a directory; give a PNG file",
                                 param_hint="'--plot'")
    if trace is None:
        names = list_shipped_traces()
        loaded = [(n, read_trace(shipped_trace_path(n), repeat=repeat and n.endswith("-ms")))
                  for n in names]
    else:
        p = Path(trace)
        if not path_exists(p) and not p.suffix:
            p = shipped_trace_path(trace)
        loaded = [(trace, read_trace(p, repeat=repeat, period=period))]
    rows = [trace_row(n, t) for n, t in loaded]
    if json_:
        typer.echo(json.dumps(rows, indent=1))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table("name", "steps", "seconds", "repeats", "mean Mbit/s", "min", "max",
                      title=f"{len(rows)} bandwidth trace(s)",
                      caption="in a scenario: bandwidth: {trace: <name or file>} "
                              "(docs/traces.md)")
        for r in rows:
            table.add_row(r["name"], str(r["steps"]), f"{r['seconds']:g}", str(r["repeats"]),
                          f"{r['mean_mbps']:g}", f"{r['min_mbps']:g}", f"{r['max_mbps']:g}")
        console = Console()
        (console if console.is_terminal else Console(width=120)).print(table)
    if plot is not None:
        import numpy as np

        from splitinfer.experiments._plots import figure, save

        fig, ax = figure(figsize=(7, 3.2))
        for name, tr in loaded:
            end = until or (2 * tr.period if tr.repeats else max(tr.end, 1.0))
            t = np.linspace(0.0, end, 2000)
            ax.step(t, tr.rate_at(t) / 1e6, where="post", lw=0.8, label=name)
            if tr.window > 0:
                ax.plot(t, [tr.rate_in_force(x) / 1e6 for x in t], lw=1.2,
                        label=f"{name}: rate in force ({tr.window * 1e3:g} ms mean)")
        ax.set_xlabel("time (s)")
        ax.set_ylabel("rate (Mbit/s)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        plot.parent.mkdir(parents=True, exist_ok=True)
        save(fig, plot)
        typer.echo(f"wrote {plot}")
