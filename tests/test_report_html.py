"""The static HTML report: content from a real experiment run, and rendering in headless Chromium."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from splitinfer.experiments.registry import EXPERIMENTS, experiment, plotter, summarizer
from splitinfer.experiments.runner import run_experiment
from splitinfer.report.html import build_report


@pytest.fixture()
def toy_run(tmp_path):
    @experiment("toy-report", title="Toy figure", source="seed 999 Fig. 1",
                claim="Planner b is 50% faster than a.", quick={"seeds": [0, 1]}, full={})
    def _run(config):
        return [{"planner": p, "seed": s, "objective": v + s}
                for s in config["seeds"] for p, v in (("a", 2.0), ("b", 1.0))]

    @plotter("toy-report")
    def _plot(rows, path):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(4, 3))
        ax.bar([r["planner"] for r in rows], [r["objective"] for r in rows])
        fig.savefig(path)
        plt.close(fig)

    @summarizer("toy-report")
    def _summary(rows):
        return "b is 40% faster than a on average."

    try:
        run_experiment("toy-report", quick=True, out=tmp_path)
        yield tmp_path
    finally:
        EXPERIMENTS.remove("toy-report")


def test_report_holds_claim_measurement_plot_and_table(toy_run):
    page = build_report(toy_run, toy_run / "report.html").read_text()
    assert "Planner b is 50% faster than a." in page
    assert "b is 40% faster than a on average." in page
    assert "data:image/png;base64," in page
    assert "<td>a</td><td>2</td><td>2.5</td>" in page  # mean objective of planner a over 2 seeds


def test_foreign_and_hostile_files_in_the_folder_are_skipped_or_one_line(toy_run, tmp_path):
    """Files of the folder that are not the report's (a 5000-digit number, deep nesting, bytes
    that are not UTF-8) are skipped; a result table the report needs but cannot read is one
    :class:`~splitinfer.datafile.DataFileError`, not a traceback."""
    from splitinfer.datafile import DataFileError

    (toy_run / "huge.json").write_text('{"claim": 1, "id": ' + "9" * 5000 + "}")
    (toy_run / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (toy_run / "binary.json").write_bytes(b"\xff\xfe{\x00")
    page = build_report(toy_run, tmp_path / "report.html").read_text()
    assert "Planner b is 50% faster than a." in page
    (toy_run / "toy-report.csv").write_bytes(b"planner,objective\n\xff\xfe\n")
    with pytest.raises(DataFileError, match="result table"):
        build_report(toy_run, tmp_path / "report2.html")


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="Debian package chromium is not installed")
def test_report_renders_in_headless_chromium(toy_run, tmp_path):
    page = build_report(toy_run, toy_run / "report.html")
    shot = tmp_path / "shot.png"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,900"]
    subprocess.run([_chromium(), *flags, f"--screenshot={shot}", page.as_uri()], check=True,
                   capture_output=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 10_000  # a real rendered page, not blank
    dom = subprocess.run([_chromium(), *flags, "--dump-dom", page.as_uri()], check=True,
                         capture_output=True, timeout=120, text=True).stdout
    assert "Paper claims" in dom and "toy-report" in dom
