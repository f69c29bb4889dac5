"""Progress for long commands: a Rich status line or bar on stderr, and what was running.

Every step of a command that can take more than a few seconds runs inside :func:`step` (a
spinner with a description) or :func:`bar` (a progress bar with a count). Both write to stderr
so that stdout stays machine-readable (``--json``), draw only on a terminal (elsewhere they
print one line when the step starts), and remember the innermost running step: when the user
presses Ctrl-C, :func:`splitinfer.cli.main` says which step was interrupted
(:func:`interrupted_step`).

Examples
--------
>>> with step("counting"):
...     current_step()
'counting'
>>> current_step() is None
True
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["step", "bar", "current_step", "interrupted_step", "stderr_console"]

#: Off a terminal, a bar prints at most one line per this many seconds.
_QUIET_S = 2.0
_running: list[str] = []
_interrupted: list[str] = []


def stderr_console():
    """A Rich console on stderr (plain lines when stderr is not a terminal)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def current_step() -> str | None:
    """The innermost step running now, or ``None``."""
    return _running[-1] if _running else None


def interrupted_step() -> str | None:
    """The innermost step that a ``KeyboardInterrupt`` (Ctrl-C) left, or ``None``."""
    return _interrupted[0] if _interrupted else None


@contextmanager
def _track(text: str) -> Iterator[None]:
    _running.append(text)
    try:
        yield
    except KeyboardInterrupt:
        if not _interrupted:
            _interrupted.append(_running[-1])
        raise
    finally:
        _running.pop()


@contextmanager
def step(text: str) -> Iterator[Callable[[str], None]]:
    """Show ``text`` with a spinner while the block runs; yields ``update(new_text)``.

    Parameters
    ----------
    text : str
        What is happening, e.g. ``"profiling resnet18 (100 repeats per layer)"``.

    Examples
    --------
    >>> with step("planning") as update:
    ...     update("planning with exact")
    ...     current_step()
    'planning with exact'
    """
    console = stderr_console()
    if not console.is_terminal:
        print(f"{text} ...", file=sys.stderr, flush=True)
    with _track(text):
        def update(new: str) -> None:
            _running[-1] = new
            if status is not None:
                status.update(new)

        status = console.status(text) if console.is_terminal else None
        if status is None:
            yield update
            return
        with status:
            yield update


@contextmanager
def bar(text: str, total: int | None = None) -> Iterator[Callable[..., None]]:
    """A progress bar for ``total`` units of work; yields ``advance(n=None, text=None)``.

    ``advance(done, text)`` sets the count done so far (``None`` keeps it) and the description.
    Off a terminal it prints the new description instead, at most one line every two seconds.

    Examples
    --------
    >>> with bar("runs", total=2) as advance:
    ...     advance(1, "run 1 of 2")
    ...     current_step()
    'run 1 of 2'
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    console = stderr_console()
    with _track(text):
        if not console.is_terminal:
            print(f"{text} ...", file=sys.stderr, flush=True)
            last = [time.monotonic()]

            def advance(done: int | None = None, new: str | None = None, total: int | None = None
                        ) -> None:
                if new is not None and new != _running[-1]:
                    _running[-1] = new
                    if time.monotonic() - last[0] >= _QUIET_S:  # a line every few seconds
                        last[0] = time.monotonic()
                        print(f"{new} ...", file=sys.stderr, flush=True)

            yield advance
            return
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                      transient=True) as progress:
            job = progress.add_task(text, total=total)

            def advance(done: int | None = None, new: str | None = None, total: int | None = None
                        ) -> None:
                if new is not None:
                    _running[-1] = new
                progress.update(job, completed=done, description=new, total=total)

            yield advance
