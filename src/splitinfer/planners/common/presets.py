"""Presets: named sets of a planner's parameters, ``"improved"`` (the default) and ``"paper"``.

Several planners improve on their paper (GSPI keeps the better of two plans and polishes it; JPS
picks the exact best mix of its two cut types instead of the floored ratio; ...). Each such
planner takes ``preset="improved" | "paper"``; a parameter left at ``None`` takes the preset's
value, one given explicitly wins. ``preset="paper"`` is the algorithm as the paper writes it, and
is registered under a second name ending in ``-paper`` (``gspi-paper``, ``jps-paper``, ...; see
``splitinfer planners`` and ``docs/planners.md``), so that figures can draw both side by side.

Examples
--------
>>> table = {"improved": {"mix": "best"}, "paper": {"mix": "paper"}}
>>> resolve_preset("demo", table, "paper", mix=None)
{'mix': 'paper'}
>>> resolve_preset("demo", table, "paper", mix="best")
{'mix': 'best'}
>>> resolve_preset("demo", table, "verbatim", mix=None)
Traceback (most recent call last):
...
ValueError: demo: preset must be one of ['improved', 'paper'], got 'verbatim'
"""

from __future__ import annotations

from typing import Any

__all__ = ["PRESETS", "resolve_preset"]

#: The preset names every preset-taking planner accepts.
PRESETS = ("improved", "paper")


def resolve_preset(owner: str, table: dict[str, dict[str, Any]], preset: str,
                   **given: Any) -> dict[str, Any]:
    """The settings of ``preset`` from ``table``, overridden by every ``given`` value not None.

    Parameters
    ----------
    owner : str
        Named in the error (the planner's class or registered name).
    table : dict
        ``{preset: {parameter: value}}``.
    preset : str
        The preset asked for.
    **given
        The constructor's values (``None``: take the preset's).

    Returns
    -------
    dict
        One value per parameter of the preset.

    Raises
    ------
    ValueError
        For an unknown preset.
    """
    if preset not in table:
        raise ValueError(f"{owner}: preset must be one of {sorted(table)}, got {preset!r}")
    out = dict(table[preset])
    out.update({k: v for k, v in given.items() if v is not None})
    return out
