"""The one typer application that every command module of :mod:`splitinfer.cli` registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="splitinfer",
    help="Split DNNs across device, edge and cloud: trace, profile, plan, simulate, run, reproduce.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
