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
printed with its gRPC status and exits with status 3. A warning (a busy machine while measuring,
say) is one ``warning:`` line.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

from splitinfer.cli._app import app

__all__ = ["app", "main", "UserError", "EXTRAS", "COMMAND_EXTRAS", "missing_extra_message"]


class UserError(Exception):
    """An error caused by the user's input, printed without a traceback (exit status 2)."""


def _load_commands() -> None:
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


#: The extra that provides each optional top-level module (``pip install 'splitinfer[extra]'``).
EXTRAS = {"torch": "torch", "torchvision": "torch", "grpc": "runtime", "dask": "cluster",
          "distributed": "cluster"}


def _is(exc: BaseException, name: str) -> bool:
    """Whether ``exc`` is a click exception class ``name``: by name along the MRO, so that both
    standalone click and the click that typer >= 0.26 bundles (``typer._click``) match."""
    return any(cls.__name__ == name for cls in type(exc).__mro__)


#: Commands that need more than one extra: the install line names them all at once.
COMMAND_EXTRAS = {"run": ("torch", "runtime"), "serve": ("torch", "runtime"),
                  "device": ("torch", "runtime")}


def missing_extra_message(exc: ModuleNotFoundError, command: str | None = None) -> str | None:
    """The one-line message for a missing optional dependency, or ``None`` if not an extra's.

    Parameters
    ----------
    exc : ModuleNotFoundError
        The failed import.
    command : str, optional
        The ``splitinfer`` command that needed it (named in the message).

    Examples
    --------
    >>> missing_extra_message(ModuleNotFoundError("No module named 'torch'", name="torch"), "demo")
    "'splitinfer demo' needs PyTorch, which is not installed: pip install 'splitinfer[torch]'"
    >>> missing_extra_message(ModuleNotFoundError("x", name="grpc.aio"), "run")
    "'splitinfer run' needs gRPC, which is not installed: pip install 'splitinfer[torch,runtime]'"
    >>> missing_extra_message(ModuleNotFoundError("x", name="numpy")) is None
    True
    """
    top = (exc.name or "").split(".")[0]
    extra = EXTRAS.get(top)
    if extra is None:
        return None
    what = {"torch": "PyTorch", "runtime": "gRPC", "cluster": "Dask distributed"}[extra]
    extras = COMMAND_EXTRAS.get(command or "", ())
    spec = ",".join(extras) if extra in extras else extra
    who = f"'splitinfer {command}'" if command else "this command"
    return f"{who} needs {what}, which is not installed: pip install 'splitinfer[{spec}]'"


def _usage_error(exc: Exception) -> int:
    """Print a click usage error as one ``error:`` line and the command's usage; its exit code."""
    ctx = getattr(exc, "ctx", None)
    if _is(exc, "NoArgsIsHelpError") and ctx is not None:
        print(ctx.get_help())
        return 0 if ctx.parent is None else 2
    message = " ".join(exc.format_message().split())
    print(f"error: {message}", file=sys.stderr)
    if ctx is not None:
        print(ctx.get_usage(), file=sys.stderr)
        print(f"Try '{ctx.command_path} --help' for help.", file=sys.stderr)
    return int(getattr(exc, "exit_code", 2))


def _interrupted() -> int:
    from splitinfer.cli._progress import interrupted_step

    what = interrupted_step()
    print(f"interrupted{f' while {what}' if what else ''} (Ctrl-C); stopped", file=sys.stderr)
    return 130


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """A warning as the CLI prints it: ``warning: <message>`` on one line, without the source
    line Python's default format adds (:data:`warnings.formatwarning`).

    Examples
    --------
    >>> _one_line_warning(UserWarning("busy machine\\nre-measure"), UserWarning, "f.py", 3)
    'warning: busy machine re-measure\\n'
    """
    return "warning: " + " ".join(str(message).split()) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Run the command line.

    Usage errors (an unknown command or option, a missing or bad value) print one ``error:``
    line and the command's usage and exit with status 2; the bare ``splitinfer`` prints its help.
    Errors in the user's input (:class:`UserError`, :class:`~splitinfer.errors.SplitInferError`)
    print one line and exit 2, a missing optional dependency names the extra to install (exit 2),
    a failed remote call exits 3 and Ctrl-C says what it interrupted and exits 130. Nothing a
    user can cause prints a traceback.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; ``sys.argv[1:]`` by default.
    """
    import warnings

    from splitinfer.errors import SplitInferError

    warnings.formatwarning = _one_line_warning
    args = list(argv if argv is not None else sys.argv[1:])
    command = next((a for a in args if not a.startswith("-")), None)
    try:
        _load_commands()
        code = app(args=args, standalone_mode=False,
                   prog_name="splitinfer")
    except SystemExit:  # typer/click exit
        raise
    except KeyboardInterrupt:
        raise SystemExit(_interrupted()) from None
    except (SplitInferError, UserError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except ModuleNotFoundError as exc:
        message = missing_extra_message(exc, command)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2) from None
    except Exception as exc:  # click usage errors and aborts (standalone or typer's own click)
        if _is(exc, "ClickException"):
            raise SystemExit(_usage_error(exc)) from None
        if _is(exc, "Abort"):  # click < typer 0.26 turns Ctrl-C into Abort
            if isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt):
                raise SystemExit(_interrupted()) from None
            print("aborted", file=sys.stderr)
            raise SystemExit(1) from None
        if type(exc).__module__.startswith("grpc") and hasattr(exc, "code"):
            # a remote call that failed (unreachable server, deadline, rejected request)
            print(f"error: remote call failed: {exc.code().name}: {exc.details()}", file=sys.stderr)
            raise SystemExit(3) from None
        if _is(exc, "RouteFailed"):  # a stage of a real run failed at a peer (runtime.route)
            print(f"error: remote call failed: {' '.join(str(exc).split())}", file=sys.stderr)
            raise SystemExit(3) from None
        raise
    if code == 130:  # typer >= 0.26 turns Ctrl-C into Exit(130)
        raise SystemExit(_interrupted())
    if isinstance(code, int) and code != 0:  # typer.Exit(code) returns it without standalone mode
        raise SystemExit(code)
