"""Reproduction pages and the feature pages of docs/ with simulated numbers (energy, traces, dtype)
are written by the code: each committed page equals what its template and the experiments' quick
configurations produce now (`splitinfer reproduce --write-docs`), and every figure a feature page
shows is drawn by `make docs-figures`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from splitinfer.errors import SplitInferError
from splitinfer.experiments.pages import (
    PAGE_DIRS,
    TIMING_COLUMNS,
    list_pages,
    render_page,
    without_provenance,
    write_pages,
)

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "reproductions"
TEMPLATES = DOCS / "templates"
#: (folder of pages, page) for every written page, reproduction and feature pages alike.
ALL_PAGES = [(ROOT / folder, page) for folder in PAGE_DIRS
             for page in list_pages(ROOT / folder / "templates")]
FEATURE_PAGES = [page for folder, page in ALL_PAGES if folder == ROOT / "docs"]


def test_every_page_has_a_template_and_every_template_a_page():
    pages = sorted(p.stem for p in DOCS.glob("*.md"))
    assert pages and pages == list_pages(TEMPLATES)


def test_the_feature_pages_are_written_pages():
    assert {"energy", "traces", "dtype"} <= set(FEATURE_PAGES)
    for page in FEATURE_PAGES:
        assert (ROOT / "docs" / f"{page}.md").is_file()


@pytest.mark.parametrize(("folder", "page"), ALL_PAGES,
                         ids=[page for _, page in ALL_PAGES])
def test_committed_page_is_what_the_code_produces(folder, page, monkeypatch):
    monkeypatch.chdir(ROOT)  # templates name scenario files relative to the repository root
    fresh = render_page(page, quick=True, templates_dir=folder / "templates")
    committed = (folder / f"{page}.md").read_text(encoding="utf-8")
    rel = (folder / f"{page}.md").relative_to(ROOT)
    assert "<!-- provenance -->" in committed and "load average" in committed
    assert without_provenance(committed) == without_provenance(fresh), (
        f"{rel} is stale: run `make docs` (splitinfer reproduce --write-docs) and commit the "
        "page; edit its template, not the page")
    assert "plan_time_s" in TIMING_COLUMNS and "plan_time_s" not in fresh


def test_a_template_without_its_header_and_an_unknown_page_are_errors(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "bad.md.j2").write_text("# no header\n")
    with pytest.raises(SplitInferError, match="first line must be"):
        render_page("bad", templates_dir=tmp_path / "templates")
    with pytest.raises(SplitInferError, match="no reproduction page 'nope'"):
        write_pages(["nope"], docs_dir=tmp_path)
    with pytest.raises(SplitInferError, match="no documentation page 'nope'; pages: .*energy"):
        write_pages(["nope"])  # every folder of pages: nothing is written


def test_write_pages_writes_a_page_with_its_provenance(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "toy.md.j2").write_text(
        "{# experiments: duan2021-fig14 #}\n# Toy\n\n{{ E['duan2021-fig14'].rows | length }} rows, "
        "{{ E['duan2021-fig14'].config.jobs }} jobs\n")
    [path] = write_pages(docs_dir=tmp_path)
    text = path.read_text()
    assert text.startswith("# Toy\n\n<!-- provenance -->\n") and "logical CPUs" in text
    assert without_provenance(text).endswith("11 rows, 10 jobs\n")


@pytest.mark.parametrize("page", FEATURE_PAGES)
def test_every_figure_of_a_feature_page_is_drawn_by_make_docs_figures(page):
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    target = re.search(r"^docs-figures:.*?\n((?:\t.*\n|.*\\\n)+)", makefile, re.M)
    assert target is not None, "the Makefile has no docs-figures target"
    recipe = target.group(1)
    text = (ROOT / "docs" / f"{page}.md").read_text(encoding="utf-8")
    for image in re.findall(r"!\[[^]]*\]\(([^)]+\.png)\)", text):
        path = f"docs/{image}"
        assert (ROOT / path).is_file(), f"{page}.md shows {path}, which is not committed"
        assert path in recipe, f"{page}.md shows {path}; no command of `make docs-figures` draws it"
