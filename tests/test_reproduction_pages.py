"""Reproduction pages are written by the code: each committed page equals what its template and
the experiments' quick configurations produce now (`splitinfer reproduce --write-docs`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from splitinfer.errors import SplitInferError
from splitinfer.experiments.pages import (
    TIMING_COLUMNS,
    list_pages,
    render_page,
    without_provenance,
    write_pages,
)

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "reproductions"
TEMPLATES = DOCS / "templates"


def test_every_page_has_a_template_and_every_template_a_page():
    pages = sorted(p.stem for p in DOCS.glob("*.md"))
    assert pages and pages == list_pages(TEMPLATES)


@pytest.mark.parametrize("page", list_pages(TEMPLATES))
def test_committed_page_is_what_the_code_produces(page):
    fresh = render_page(page, quick=True, templates_dir=TEMPLATES)
    committed = (DOCS / f"{page}.md").read_text(encoding="utf-8")
    assert "<!-- provenance -->" in committed and "load average" in committed
    assert without_provenance(committed) == without_provenance(fresh), (
        f"docs/reproductions/{page}.md is stale: run `make docs` (splitinfer reproduce "
        "--write-docs) and commit the page")
    assert "plan_time_s" in TIMING_COLUMNS and "plan_time_s" not in fresh


def test_a_template_without_its_header_and_an_unknown_page_are_errors(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "bad.md.j2").write_text("# no header\n")
    with pytest.raises(SplitInferError, match="first line must be"):
        render_page("bad", templates_dir=tmp_path / "templates")
    with pytest.raises(SplitInferError, match="no reproduction page 'nope'"):
        write_pages(["nope"], docs_dir=tmp_path)


def test_write_pages_writes_a_page_with_its_provenance(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "toy.md.j2").write_text(
        "{# experiments: duan2021-fig14 #}\n# Toy\n\n{{ E['duan2021-fig14'].rows | length }} rows, "
        "{{ E['duan2021-fig14'].config.jobs }} jobs\n")
    [path] = write_pages(docs_dir=tmp_path)
    text = path.read_text()
    assert text.startswith("# Toy\n\n<!-- provenance -->\n") and "logical CPUs" in text
    assert without_provenance(text).endswith("11 rows, 10 jobs\n")
