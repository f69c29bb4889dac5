"""Plan and result files: devices, FIFOs, non-JSON and deep nesting are one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from splitinfer.datafile import DataFileError
from splitinfer.system.plan import Plan
from splitinfer.system.result import Result

SPLITINFER = str(Path(sys.executable).with_name("splitinfer"))


@pytest.mark.parametrize("load", [Plan.load, Result.load])
@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_device_is_refused(load, suffix, tmp_path):
    link = tmp_path / f"zero{suffix}"
    link.symlink_to("/dev/zero")
    with pytest.raises(DataFileError, match="not a regular file"):
        load(link)


@pytest.mark.parametrize("load", [Plan.load, Result.load])
def test_fifo_and_deep_json_are_refused(load, tmp_path):
    fifo = tmp_path / "p.json"
    os.mkfifo(fifo)
    with pytest.raises(DataFileError, match="named pipe"):
        load(fifo)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 5000 + "]" * 5000)
    with pytest.raises(DataFileError, match="nested deeper"):
        load(deep)


def test_cli_plan_from_a_device_is_one_line(tmp_path):
    p = subprocess.run([SPLITINFER, "simulate", "demo", "--plan", "/dev/zero"],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert p.returncode != 0
    assert "Traceback" not in p.stderr + p.stdout
    assert "not a regular file" in p.stderr + p.stdout
