"""Running a registered experiment: rows to a tidy CSV with provenance, then the plot.

Examples
--------
>>> import tempfile
>>> from splitinfer.experiments.registry import EXPERIMENTS, experiment
>>> @experiment("toy-runner", title="t", source="s", claim="c", quick={"seeds": [0, 1]}, full={})
... def _toy(config):
...     return [{"seed": s, "value": s * 2} for s in config["seeds"]]
>>> out = run_experiment("toy-runner", quick=True, out=tempfile.mkdtemp())
>>> [r["value"] for r in read_rows(out["csv"])]
[0, 2]
>>> _ = EXPERIMENTS.remove("toy-runner")
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

from splitinfer.experiments.registry import get_experiment
from splitinfer.machine import machine_info

__all__ = ["run_experiment", "write_rows", "read_rows", "provenance"]


def provenance() -> dict[str, str]:
    """Versions and machine (:func:`splitinfer.machine.machine_info`), stamped on every row.

    ``machine`` is the architecture and ``date`` the UTC day (``YYYY-MM-DD``).
    """
    from splitinfer import __version__

    info = machine_info()
    return {"splitinfer": __version__, "python": info["python"],
            "machine": info["machine"], "date": info["date"][:10]}


def write_rows(rows: list[dict[str, Any]], path: str | Path) -> None:
    """Write rows as a CSV with the union of their keys as columns (first-seen order)."""
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({k: (json.dumps(v) if isinstance(v, dict | list | tuple) else v)
                        for k, v in r.items()})


def _parse(value: str) -> Any:
    if value == "":
        return None
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    if value in ("True", "False"):
        return value == "True"
    if value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """Read a CSV written by :func:`write_rows`, turning numbers back into numbers."""
    with open(path, newline="") as fh:
        return [{k: _parse(v) for k, v in r.items()} for r in csv.DictReader(fh)]


def run_experiment(id: str, *, quick: bool = False, seeds: int | None = None,
                   out: str | Path = "reproductions", config: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
    """Run experiment ``id`` and write ``<out>/<id>.csv`` and ``<out>/<id>.png``.

    Parameters
    ----------
    quick : bool
        Use the experiment's quick config.
    seeds : int, optional
        Override the number of seeds (``config["seeds"] = list(range(seeds))``).
    out : path
        Output directory (created).
    config : dict, optional
        Extra overrides of the config.

    Returns
    -------
    dict
        ``{"csv": path, "png": path or None, "rows": n, "seconds": t, "summary": str or None}``.
    """
    exp = get_experiment(id)
    cfg = dict(exp.quick if quick else exp.full)
    if seeds is not None:
        cfg["seeds"] = list(range(seeds))
    cfg.update(config or {})
    t0 = time.perf_counter()
    rows = exp.run(cfg)
    seconds = time.perf_counter() - t0
    prov = provenance()
    rows = [{"experiment": id, **r, **{k: v for k, v in prov.items() if k not in r}} for r in rows]
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / f"{id}.csv"
    write_rows(rows, csv_path)
    png = None
    if exp.plot is not None:
        png = folder / f"{id}.png"
        exp.plot(read_rows(csv_path), png)
    summary = exp.summary(read_rows(csv_path)) if exp.summary else None
    meta = {"id": id, "title": exp.title, "source": exp.source, "claim": exp.claim,
            "quick": quick, "config": cfg, "seconds": seconds, "summary": summary,
            "csv": csv_path.name, "png": png.name if png else None}
    (folder / f"{id}.json").write_text(json.dumps(meta, indent=1, default=str))
    return {"csv": csv_path, "png": png, "rows": len(rows), "seconds": seconds, "summary": summary}
