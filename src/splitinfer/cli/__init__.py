"""The ``splitinfer`` command.

The CLI is a package rather than one ``cli.py``: each command module (``models_cmd``,
``profile_cmd``, ``plan_cmd``, ``serve_cmd``, ``reproduce_cmd``, ...) registers its commands on the
shared typer app of :mod:`splitinfer.cli._app`, so that the engineers of different layers do not
edit one file, and each module stays small. Command bodies only parse arguments, call library
functions and print; they hold no logic of their own and import heavy libraries lazily so the
command starts fast.

Errors meant for the user derive from :class:`UserError` or
:class:`splitinfer.errors.SplitInferError` (bad files, unknown names, infeasible plans,
malformed messages): :func:`main` prints them as one clear line and exits with status 2. A failed
remote call (an unreachable worker or controller, a missed deadline, a rejected request) is
printed with its gRPC status and exits with status 3.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

from splitinfer.cli._app import app

__all__ = ["app", "main", "UserError"]


class UserError(Exception):
    """An error caused by the user's input, printed without a traceback (exit status 2)."""


def _load_commands() -> None:
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


def main(argv: list[str] | None = None) -> None:
    """Run the command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; ``sys.argv[1:]`` by default.
    """
    _load_commands()
    from splitinfer.errors import SplitInferError

    try:
        code = app(args=argv if argv is not None else sys.argv[1:], standalone_mode=False)
    except SystemExit:  # typer/click exit
        raise
    except (SplitInferError, UserError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except Exception as exc:  # click usage errors and aborts
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            raise SystemExit(exc.exit_code) from None
        if isinstance(exc, click.exceptions.Abort):
            raise SystemExit(1) from None
        if type(exc).__module__.startswith("grpc") and hasattr(exc, "code"):
            # a remote call that failed (unreachable server, deadline, rejected request)
            print(f"error: remote call failed: {exc.code().name}: {exc.details()}", file=sys.stderr)
            raise SystemExit(3) from None
        raise
    if isinstance(code, int) and code != 0:  # typer.Exit(code) returns it without standalone mode
        raise SystemExit(code)
