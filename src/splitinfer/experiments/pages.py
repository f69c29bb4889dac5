"""Documentation pages written by the code: ``splitinfer reproduce --write-docs`` (``make docs``).

Every number and every conclusion on ``docs/reproductions/<page>.md`` comes from the rows that
the registered experiments return, through a Jinja template ``docs/reproductions/templates/
<page>.md.j2``. The feature pages with simulated numbers (``docs/energy.md``, ``docs/traces.md``,
``docs/dtype.md``) are written the same way from ``docs/templates/<page>.md.j2``
(:data:`PAGE_DIRS`: each folder holds its pages, its ``templates/`` their templates). A template names the experiments it reads in its first line::

    {# experiments: duan2021-table1 duan2021-fig12 #}

and reads them as ``E["duan2021-table1"]`` (an :class:`ExperimentView`: ``rows``, ``where()``,
``one()``, ``values()``, ``mean()``, ``config``, ``claim``). Conclusions are written as template
logic over those rows (``{% if ... %}``), so they change when the numbers do. Templates also
call ``ranking_sentence(rows, x, value, pairs, ...)`` (:mod:`splitinfer.experiments.variants`:
one sentence on whether the paper presets rank the planners as the improved defaults do),
``reported(paper, figure)`` / ``reported_points(...)`` (:mod:`splitinfer.experiments.reported`:
the values the papers print), ``compare(scenario, planners)`` (the rows of ``splitinfer compare``
on a shipped scenario or a scenario file, :func:`splitinfer.experiments.compare.compare_planners`,
as an :class:`ExperimentView`), ``scenario(name)`` (a loaded scenario, for quantities such as
a model's bytes at a cut) and ``full_config(id)`` (an experiment's full configuration, which the
committed figures of the feature pages use: ``make docs-figures``).

Mode and what is left out
    Pages are rendered from the experiments' **quick** configurations (every one runs in seconds),
    so that a test can re-run all of them: ``tests/test_reproduction_pages.py`` fails when a
    committed page differs from what the code now produces. The numbers are simulated and
    deterministic; the only wall-clock measurement in the rows, the planning time
    (``plan_time_s``), is removed before a template sees the rows (:data:`TIMING_COLUMNS`).

Provenance
    Each page starts with a block between ``<!-- provenance -->`` markers: the command, the mode,
    the machine (CPU model, logical CPUs), its load average and the date. The test compares pages
    without that block (:func:`without_provenance`), since it differs from machine to machine.

Examples
--------
>>> view = ExperimentView("toy", [{"n": 1, "x": 2.0}, {"n": 2, "x": 4.0}], {}, "", "", "")
>>> view.one(n=2)["x"], view.mean("x"), view.values("n")
(4.0, 3.0, [1, 2])
>>> without_provenance("a\\n<!-- provenance -->\\nmachine X\\n<!-- /provenance -->\\nb\\n")
'a\\nb\\n'
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from splitinfer.errors import SplitInferError

__all__ = ["ExperimentView", "render_page", "write_pages", "list_pages", "without_provenance",
           "TIMING_COLUMNS", "DOCS_DIR", "TEMPLATES_DIR", "PAGE_DIRS", "page_dir"]

#: Wall-clock columns removed from the rows before rendering.
TIMING_COLUMNS = ("plan_time_s", "seconds", "wall_s", "sim_time_s")
#: Where the pages go and where their templates are, relative to the repository root.
DOCS_DIR = Path("docs/reproductions")
TEMPLATES_DIR = DOCS_DIR / "templates"
#: Every folder of written pages (its templates in ``<folder>/templates``): the reproduction pages
#: and the feature pages of ``docs/``.
PAGE_DIRS = (DOCS_DIR, Path("docs"))

_HEADER = re.compile(r"\{#\s*experiments:\s*(?P<ids>[^#]*?)\s*#\}")
_BLOCK = re.compile(r"<!-- provenance -->\n.*?<!-- /provenance -->\n", re.S)


@dataclass
class ExperimentView:
    """The rows of one experiment as a template reads them.

    Attributes
    ----------
    id, title, source, claim : str
        From the registry.
    rows : list of dict
        The experiment's rows (quick configuration), without :data:`TIMING_COLUMNS`.
    config : dict
        The configuration that produced them.
    """

    id: str
    rows: list[dict[str, Any]]
    config: dict[str, Any]
    title: str
    source: str
    claim: str

    def where(self, **match: Any) -> list[dict[str, Any]]:
        """Rows whose fields equal every ``key=value`` given."""
        return [r for r in self.rows if all(r.get(k) == v for k, v in match.items())]

    def one(self, **match: Any) -> dict[str, Any]:
        """The single row matching; an error naming the experiment otherwise."""
        found = self.where(**match)
        if len(found) != 1:
            raise SplitInferError(f"{self.id}: expected one row with {match}, found {len(found)}")
        return found[0]

    def values(self, column: str, **match: Any) -> list[Any]:
        """Column ``column`` of the matching rows, in order."""
        return [r[column] for r in self.where(**match)]

    def unique(self, column: str, **match: Any) -> list[Any]:
        """Distinct values of ``column`` in first-seen order."""
        out: list[Any] = []
        for v in self.values(column, **match):
            if v not in out:
                out.append(v)
        return out

    def mean_at(self, column: str, match: dict[str, Any]) -> float:
        """:meth:`mean` with the match given as a dict (templates cannot pass ``**kwargs``)."""
        return self.mean(column, **match)

    def mean(self, column: str, **match: Any) -> float:
        """Mean of ``column`` over the matching rows."""
        vals = [float(v) for v in self.values(column, **match)]
        if not vals:
            raise SplitInferError(f"{self.id}: no rows with {match} for the mean of {column!r}")
        return sum(vals) / len(vals)


def _fmt(value: Any, digits: int = 1) -> str:
    """Fixed-point with ``digits`` decimals (``-0.0`` printed as ``0.0``)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    text = f"{float(value):.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _pct(value: Any, digits: int = 1) -> str:
    return _fmt(100 * float(value), digits) + " %"


def _ms(seconds: Any, digits: int = 1) -> str:
    return _fmt(1e3 * float(seconds), digits)


def _from_json(value: Any) -> Any:
    """A JSON string parsed (rows keep lists as JSON text); anything else unchanged."""
    import json

    return json.loads(value) if isinstance(value, str) else value


def list_pages(templates_dir: str | Path = TEMPLATES_DIR) -> list[str]:
    """Page names (template stems) in ``templates_dir``."""
    folder = Path(templates_dir)
    return sorted(p.name[: -len(".md.j2")] for p in folder.glob("*.md.j2"))


def _experiments_of(text: str, name: str) -> list[str]:
    m = _HEADER.search(text.split("\n", 1)[0])
    if m is None:
        raise SplitInferError(f"template {name}: the first line must be "
                              "'{# experiments: <id> <id> ... #}'")
    return m.group("ids").split()


def _views(ids: Iterable[str], quick: bool) -> dict[str, ExperimentView]:
    from splitinfer.experiments.registry import get_experiment

    out = {}
    for eid in ids:
        exp = get_experiment(eid)
        cfg = dict(exp.quick if quick else exp.full)
        rows = [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in exp.run(cfg)]
        out[eid] = ExperimentView(eid, rows, cfg, exp.title, exp.source, exp.claim)
    return out


def page_dir(name: str) -> Path:
    """The folder of :data:`PAGE_DIRS` whose ``templates/`` holds page ``name``.

    Examples
    --------
    >>> page_dir("duan2021"), page_dir("energy")
    (PosixPath('docs/reproductions'), PosixPath('docs'))
    """
    for folder in PAGE_DIRS:
        if name in list_pages(folder / "templates"):
            return folder
    known = sorted(n for folder in PAGE_DIRS for n in list_pages(folder / "templates"))
    raise SplitInferError(f"no documentation page {name!r}; pages: {', '.join(known)}")


def _compare_view(scenario: str, planners: str, **params: Any) -> ExperimentView:
    """``splitinfer compare <scenario> --planners <planners>`` as rows (timings left out)."""
    from splitinfer.experiments.compare import compare_planners
    from splitinfer.system import load_scenario

    sc = load_scenario(scenario)
    rows = [{k: v for k, v in r.items() if k not in TIMING_COLUMNS}
            for r in compare_planners(sc, planners.split(","), params={"*": params} if params
                                      else None, keep=True)]
    for r in rows:  # each task's first cut by name ("local": all on its device)
        plan = r.get("plan")
        r["task_cuts"] = [] if plan is None else [
            sc.models[t.model].cut_names[plan.tasks[t.id].cuts[0]] if plan.tasks[t.id].cuts
            else "local" for t in sc.tasks]
    return ExperimentView(f"compare {scenario}", rows, {"planners": planners, **params},
                          f"compare {scenario}", scenario, "")


def _full_config(eid: str) -> dict[str, Any]:
    from splitinfer.experiments.registry import get_experiment

    return dict(get_experiment(eid).full)


def _scenario(name: str) -> Any:
    from splitinfer.system import load_scenario

    return load_scenario(name)


def _provenance(name: str, quick: bool, template: str | Path | None = None) -> str:
    from splitinfer import __version__
    from splitinfer.machine import machine_info

    info = machine_info()
    load = "/".join(f"{x:.2f}" for x in info["load_average"]) or "unknown"
    mode = "quick" if quick else "full"
    return ("<!-- provenance -->\n"
            f"*Written by `splitinfer reproduce --write-docs` ({mode} configurations) from "
            f"`{template or TEMPLATES_DIR / (name + '.md.j2')}`; do not edit this page, edit the "
            f"template. Produced on {info['cpu_model']} ({info['logical_cpus']} logical CPUs, "
            f"load average {load} over 1/5/15 min), splitinfer {__version__}, Python "
            f"{info['python']}, {info['date'][:10]}. The numbers are simulated and do not depend "
            "on the machine; planning times, the only wall-clock measurements in the rows, are "
            "left out.*\n"
            "<!-- /provenance -->\n")


def render_page(name: str, *, quick: bool = True,
                templates_dir: str | Path = TEMPLATES_DIR) -> str:
    """Render page ``name`` from its template and the experiments it names (module docstring).

    Parameters
    ----------
    name : str
        Template stem, e.g. ``"duan2021"``.
    quick : bool
        Use the experiments' quick configurations (what committed pages use).
    templates_dir : path
        Folder of the templates.

    Returns
    -------
    str
        The page, starting with its provenance block after the title line.
    """
    import jinja2

    folder = Path(templates_dir)
    path = folder / f"{name}.md.j2"
    if not path.is_file():
        raise SplitInferError(f"no template {path} (pages: {', '.join(list_pages(folder)) or 'none'})")
    text = path.read_text(encoding="utf-8")
    ids = _experiments_of(text, path.name)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True, autoescape=False)
    env.filters.update(f=_fmt, pct=_pct, ms=_ms, from_json=_from_json)
    env.globals.update(max=max, min=min, abs=abs, sorted=sorted, len=len, sum=sum, round=round,
                       any=any, all=all, zip=zip)
    from splitinfer.experiments.reported import reported, reported_points
    from splitinfer.experiments.variants import ranking_sentence

    # the papers' printed values and the presets-vs-defaults sentence (experiments/variants.py)
    env.globals.update(reported=reported, reported_points=reported_points,
                       ranking_sentence=ranking_sentence, compare=_compare_view,
                       scenario=_scenario, full_config=_full_config)
    body = env.from_string(text).render(E=_views(ids, quick), quick=quick)
    title, _, rest = body.lstrip("\n").partition("\n")
    return f"{title}\n\n{_provenance(name, quick, path)}\n{rest.lstrip(chr(10))}"


def without_provenance(page: str) -> str:
    """The page without its provenance block (what the docs test compares)."""
    return _BLOCK.sub("", page)


def write_pages(names: Iterable[str] | None = None, *, quick: bool = True,
                docs_dir: str | Path | None = None,
                templates_dir: str | Path | None = None) -> list[Path]:
    """Render pages and write ``<docs_dir>/<name>.md``; all pages by default.

    Parameters
    ----------
    names : iterable of str, optional
        Page names; all pages of the folder(s) by default.
    quick : bool
        Use the experiments' quick configurations (what committed pages use).
    docs_dir : path, optional
        One folder of pages; by default every folder of :data:`PAGE_DIRS` (each page in the
        folder whose ``templates/`` holds its template).
    templates_dir : path, optional
        The templates of ``docs_dir`` (default ``<docs_dir>/templates``).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    if docs_dir is None:
        chosen = list(names) if names else None
        if chosen is None:
            return [p for folder in PAGE_DIRS for p in write_pages(quick=quick, docs_dir=folder)]
        by_dir: dict[Path, list[str]] = {}
        for n in chosen:
            by_dir.setdefault(page_dir(n), []).append(n)
        return [p for folder, ns in by_dir.items()
                for p in write_pages(ns, quick=quick, docs_dir=folder)]
    docs = Path(docs_dir)
    folder = Path(templates_dir) if templates_dir is not None else docs / "templates"
    chosen = list(names) if names else list_pages(folder)
    known = list_pages(folder)
    for n in chosen:
        if n not in known:
            raise SplitInferError(f"no reproduction page {n!r}; pages: {', '.join(known)}")
    written = []
    for n in chosen:
        target = docs / f"{n}.md"
        target.write_text(render_page(n, quick=quick, templates_dir=folder), encoding="utf-8")
        written.append(target)
    return written
