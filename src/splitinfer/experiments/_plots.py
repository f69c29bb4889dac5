"""Plot helpers shared by the paper reproductions: figure setup and saving, seed bands.

The leading underscore keeps this module out of the experiment registry's auto-import. Figures
are drawn with the non-interactive ``Agg`` backend (matplotlib is imported only when a figure is
made). A *seed band* is the mean over seeds of ``y`` at each ``x`` with the min-max range as a
shaded band, the way every reproduction shows the spread of its seeds.

Examples
--------
>>> rows = [{"x": 1, "y": 2.0}, {"x": 1, "y": 4.0}, {"x": 2, "y": 5.0}]
>>> band(rows, "x", "y")
([1, 2], [3.0, 5.0], [2.0, 5.0], [4.0, 5.0])
>>> present(["a", "b", "c"], [{"p": "c"}, {"p": "a"}], "p")
['a', 'c']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["figure", "save", "band", "plot_band", "present"]


def figure(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """A new figure on the ``Agg`` backend: :func:`matplotlib.pyplot.subplots` with these arguments.

    Returns
    -------
    (Figure, Axes or array of Axes)
        What :func:`~matplotlib.pyplot.subplots` returns.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)


def save(fig: Any, path: str | Path, dpi: int = 120) -> None:
    """Lay the figure out tightly, write it to ``path`` and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def band(rows: Sequence[dict[str, Any]], x: str, y: str, *, scale: float = 1.0,
         ) -> tuple[list[Any], list[float], list[float], list[float]]:
    """Mean and min-max of ``y`` over the rows at each value of ``x`` (over seeds).

    Parameters
    ----------
    rows : sequence of dict
        Rows already narrowed to one curve (one planner, model, ...).
    x, y : str
        Column names.
    scale : float
        Factor applied to ``y`` (e.g. ``1e3`` for seconds to milliseconds).

    Returns
    -------
    xs, mean, lo, hi : list
        ``xs`` sorted; the other three aligned with it.

    Examples
    --------
    >>> band([{"n": 2, "t": 0.5}, {"n": 1, "t": 0.25}], "n", "t", scale=1e3)
    ([1, 2], [250.0, 500.0], [250.0, 500.0], [250.0, 500.0])
    """
    xs = sorted({r[x] for r in rows})
    vals = [[scale * float(r[y]) for r in rows if r[x] == v] for v in xs]
    return (xs, [float(np.mean(v)) for v in vals], [min(v) for v in vals],
            [max(v) for v in vals])


def plot_band(ax: Any, xs: Sequence[float], mean: Sequence[float], lo: Sequence[float],
              hi: Sequence[float], *fmt: str, alpha: float = 0.2, edge: bool = True,
              **plot_kwargs: Any) -> Any:
    """Draw the mean as a line and the min-max as a band of the line's colour.

    Parameters
    ----------
    ax : matplotlib Axes
    xs, mean, lo, hi : sequence of float
        As returned by :func:`band`.
    *fmt : str
        Optional format string for :meth:`~matplotlib.axes.Axes.plot` (``"r--"``).
    alpha : float
        Opacity of the band.
    edge : bool
        ``False`` draws the band without an outline (``linewidth=0``).
    **plot_kwargs
        Passed to :meth:`~matplotlib.axes.Axes.plot` (``label``, ``color``, ``marker``...).

    Returns
    -------
    matplotlib Line2D
        The mean line.
    """
    (line,) = ax.plot(xs, mean, *fmt, **plot_kwargs)
    extra = {} if edge else {"linewidth": 0}
    ax.fill_between(xs, lo, hi, color=line.get_color(), alpha=alpha, **extra)
    return line


def present(order: Iterable[Any], rows: Sequence[dict[str, Any]], key: str) -> list[Any]:
    """The values of ``order`` that occur in column ``key`` of ``rows``, in ``order``'s order."""
    seen = {r[key] for r in rows}
    return [v for v in order if v in seen]
