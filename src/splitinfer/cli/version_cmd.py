"""``splitinfer --version`` and ``splitinfer version``."""

from __future__ import annotations

import typer

from splitinfer.cli._app import app


def _show_version(value: bool) -> None:
    if value:
        from splitinfer import __version__

        typer.echo(f"splitinfer {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Split DNNs across device, edge and cloud: trace, profile, plan, simulate, run, reproduce."""


@app.command("version")
def version_command() -> None:
    """Print the version."""
    _show_version(True)
