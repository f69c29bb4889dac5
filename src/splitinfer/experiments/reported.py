"""The values the papers report, as the reproduction figures draw them (markers beside curves).

They are read from the shipped file ``splitinfer/data/papers/reported.yaml``, which names for
every entry the table, figure or sentence of the paper it was read from. Only numbers the papers
print are there; where a paper gives a curve without numbers, the entry has no ``points`` and its
``claims`` hold the percentages the text states.

Examples
--------
>>> t1 = reported("duan2021", "table1")
>>> t1["source"].startswith("Duan & Wu 2021, Table 1")
True
>>> reported_points("duan2021", "table1", model="alexnet", network="3G", scheme="JPS")
[{'model': 'alexnet', 'network': '3G', 'scheme': 'JPS', 'reduction_pct': 22.06}]
>>> reported_points("shi2021", "fig7")
[]
"""

from __future__ import annotations

from functools import cache
from typing import Any

from splitinfer.errors import SplitInferError

__all__ = ["reported", "reported_points", "all_reported"]


@cache
def all_reported() -> dict[str, dict[str, Any]]:
    """The whole file: ``{paper key: {figure or table: entry}}``."""
    import yaml

    from splitinfer.data import data_path

    with open(data_path("papers", "reported.yaml"), encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def reported(paper: str, figure: str) -> dict[str, Any]:
    """The entry of ``figure`` (e.g. ``"table1"``) of paper ``paper`` (its key).

    Raises
    ------
    SplitInferError
        When the file has no such entry.
    """
    entry = all_reported().get(paper, {}).get(figure)
    if entry is None:
        raise SplitInferError(f"no reported values for {paper} {figure} in data/papers/reported.yaml")
    return entry


def reported_points(paper: str, figure: str, **match: Any) -> list[dict[str, Any]]:
    """The reported points of an entry whose fields equal every ``key=value`` given."""
    return [dict(p) for p in reported(paper, figure).get("points", [])
            if all(p.get(k) == v for k, v in match.items())]
