"""A static HTML report of reproductions and sweeps: one self-contained file, no server.

:func:`build_report` reads what :func:`splitinfer.experiments.run_experiment` wrote into a folder
(``<id>.json`` metadata, ``<id>.csv`` rows, ``<id>.png`` plot) and any ``sweep.csv``, and writes
one page: per reproduction the paper (cited by authors, method and year), the plot (embedded as
base64, so the page opens from disk anywhere), the paper's claim beside our measured figure, and
a planner comparison table (mean of every numeric result column per planner, from the CSV rows
alone); for a sweep, each metric against each swept parameter per planner
(:mod:`splitinfer.report.sweep_plot`) and the table of runs.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> html = build_report(d, d / "report.html")
>>> "splitinfer report" in html.read_text()
True
"""

from __future__ import annotations

import base64
import csv
import html
import time
from collections import defaultdict
from pathlib import Path
from statistics import mean

from splitinfer.papers import paper_of
from splitinfer.report.names import readable

__all__ = ["build_report", "planner_table"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#1d2733;line-height:1.45;padding:0 1rem}
h1{font-size:1.7rem;margin-bottom:.2rem} h2{margin-top:2.4rem;border-bottom:2px solid #dde3ea;padding-bottom:.3rem}
.meta{color:#5b6b7c;font-size:.9rem} .card{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:1.2rem;align-items:start}
.card img{width:100%;border:1px solid #dde3ea;border-radius:6px;background:#fff}
.claim,.ours{border-radius:6px;padding:.7rem 1rem;margin:.4rem 0}
.claim{background:#f3f6fa;border-left:4px solid #7a8ca3} .ours{background:#eef8f0;border-left:4px solid #3f9d5a}
.label{font-weight:600;font-size:.8rem;text-transform:uppercase;letter-spacing:.04em;color:#5b6b7c}
table{border-collapse:collapse;margin:.6rem 0;font-size:.88rem} th,td{border:1px solid #dde3ea;padding:.25rem .55rem;text-align:right}
th{background:#f3f6fa} td:first-child,th:first-child{text-align:left}
nav a{margin-right:.8rem} .scroll{overflow-x:auto} .fig img{max-width:100%;height:auto} @media(max-width:800px){.card{grid-template-columns:1fr}}
"""


def _rows(path: Path) -> list[dict[str, str]]:
    """The rows of a result CSV, read within :mod:`splitinfer.datafile`'s bounds (size, UTF-8);
    a file that cannot be read or parsed is one :class:`~splitinfer.datafile.DataFileError`."""
    import io

    from splitinfer.datafile import DataFileError, read_text

    text = read_text(path, what="result table")
    try:
        return list(csv.DictReader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise DataFileError(f"cannot parse result table {path}: {exc}") from None


def _num(v: str | None) -> float | None:
    try:
        return float(v) if v not in (None, "") else None
    except ValueError:
        return None


_METRICS = ("objective", "mean_latency_s", "p95_latency_s", "makespan_s", "plan_time_s",
            "mean_latency", "latency_s", "delay_s", "makespan", "mean_energy_j", "energy_j")


def planner_table(rows: list[dict[str, str]]) -> tuple[list[str], list[list[str]]]:
    """Per planner, the mean of each known metric column present in ``rows``.

    Examples
    --------
    >>> planner_table([{"planner": "a", "objective": "1"}, {"planner": "a", "objective": "3"}])
    (['planner', 'runs', 'objective'], [['a', '2', '2']])
    """
    if not rows or "planner" not in rows[0]:
        return [], []
    cols = [c for c in _METRICS if c in rows[0]]
    groups: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        groups[r["planner"]].append(r)
    body = []
    for planner, rs in groups.items():
        line = [planner, str(len(rs))]
        for c in cols:
            vals = [x for x in (_num(r.get(c)) for r in rs) if x is not None]
            line.append(f"{mean(vals):.4g}" if vals else "")
        body.append(line)
    return ["planner", "runs", *cols], body


def _table(header: list[str], body: list[list[str]]) -> str:
    if not header:
        return ""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in body)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _image(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


def _sweep_section(rows: list[dict[str, str]]) -> str:
    """The sweep: each metric against each swept parameter per planner, then the run table."""
    import tempfile

    from splitinfer.report.sweep_plot import plot_sweep, swept_parameters

    params = swept_parameters(rows)
    failed = sum(r.get("status") != "ok" for r in rows)
    intro = (f"<p class='meta'>{len(rows)} runs, {failed} not ok; swept: "
             f"{html.escape(', '.join(params) or 'nothing (one point)')}. Simulated.</p>")
    with tempfile.TemporaryDirectory() as tmp:
        figures = "".join(f"<p class='fig'>{_image(p)}</p>" for p in plot_sweep(rows, tmp))
    header, body = planner_table(rows)
    table = (f"<h3>All runs, per planner</h3><div class='scroll'>{_table(header, body)}</div>"
             if header else "")
    return f'<h2 id="sweep">Sweep</h2>{intro}{figures}{table}'


def build_report(folder: str | Path, out: str | Path, title: str = "splitinfer report") -> Path:
    """Write a self-contained HTML report of everything in ``folder``.

    Parameters
    ----------
    folder : path
        A folder written by ``splitinfer reproduce`` and/or ``splitinfer sweep``.
    out : path
        The HTML file to write.
    title : str
        Page title.

    Returns
    -------
    Path
        ``out``.
    """
    folder = Path(folder)
    metas = sorted(folder.glob("*.json"))
    sections, nav = [], []
    from splitinfer.datafile import DataFileError, load_data_file

    for mp in metas:
        try:  # bounded (size, UTF-8, nesting, number sizes); files that are not ours are skipped
            meta = load_data_file(mp, what="result metadata")
        except DataFileError:
            continue
        if not isinstance(meta, dict) or "claim" not in meta or "id" not in meta:
            continue
        eid = meta["id"]
        nav.append(f'<a href="#{html.escape(eid)}">{html.escape(eid)}</a>')
        png = folder / (meta.get("png") or "")
        img = _image(png) if meta.get("png") and png.is_file() else "<p>(no plot)</p>"
        csv_path = folder / meta.get("csv", f"{eid}.csv")
        table = _table(*planner_table(_rows(csv_path))) if csv_path.is_file() else ""
        mode = "quick configuration" if meta.get("quick") else "full configuration"
        paper = paper_of(eid)
        where = readable(meta.get("source", ""))
        cited = (f"{paper.cite()} · " if paper is not None and paper.cite() not in where
                 else "")
        ours = html.escape(readable(meta.get("summary") or "(no summary)"))
        sections.append(
            f'<h2 id="{html.escape(eid)}">{html.escape(eid)}: {html.escape(readable(meta.get("title", "")))}</h2>'
            f'<p class="meta">{html.escape(cited)}{html.escape(where)} · {mode} · '
            f'{meta.get("seconds", 0):.1f} s</p>'
            f'<div class="card"><div>{img}</div><div>'
            f'<div class="claim"><div class="label">Paper claims</div>{html.escape(readable(meta["claim"]))}</div>'
            f'<div class="ours"><div class="label">We measured (simulated unless stated)</div>{ours}</div>'
            f'</div></div><div class="scroll">{table}</div>')
    sweep = folder / "sweep.csv"
    if sweep.is_file():
        nav.append('<a href="#sweep">sweep</a>')
        sections.append(_sweep_section(_rows(sweep)))
    if not sections:
        sections.append("<p>Nothing to report yet: run <code>splitinfer reproduce</code> or "
                        "<code>splitinfer sweep</code> into this folder first.</p>")
    from splitinfer import __version__

    page = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><p class='meta'>splitinfer {__version__} · generated "
            f"{time.strftime('%Y-%m-%d %H:%M')} from {html.escape(str(folder))}</p>"
            f"<nav>{''.join(nav)}</nav>{''.join(sections)}</body></html>")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page)
    return out
