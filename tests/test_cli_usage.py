"""The installed ``splitinfer`` command as a newcomer meets it: usage errors and missing extras.

Every case runs the real console script in a subprocess and checks the contract of
:func:`splitinfer.cli.main`: one ``error:`` line (plus the command's usage for usage errors), the
exit status, and never a traceback. Missing extras are simulated by a ``sitecustomize`` on
``PYTHONPATH`` that makes ``import torch`` (and the runtime's and cluster's modules) fail, as in
the light install ``pip install splitinfer``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SPLITINFER = Path(sys.executable).with_name("splitinfer")

pytestmark = pytest.mark.skipif(not SPLITINFER.exists(), reason="console script not installed")

_HIDE = textwrap.dedent("""
    import os, sys
    _HIDDEN = tuple(m for m in os.environ["SPLITINFER_TEST_HIDE"].split(",") if m)

    class _Hide:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in _HIDDEN:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, _Hide())
""")


def _run(args, *, hide: str = "", cwd=None, timeout: float = 120):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["COLUMNS"] = "100"
    if hide:
        shim = Path(cwd) / "_shim"
        shim.mkdir(exist_ok=True)
        (shim / "sitecustomize.py").write_text(_HIDE)
        env["PYTHONPATH"] = str(shim)
        env["SPLITINFER_TEST_HIDE"] = hide
    return subprocess.run([str(SPLITINFER), *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=timeout)


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_bare_command_prints_help():
    out = _run([])
    assert out.returncode == 0, out.stderr
    assert "Usage: splitinfer" in out.stdout and "plan" in out.stdout and "compare" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["nope"], "error: No such command 'nope'."),
    (["plan", "demo", "--planner", "local", "-o", "p.json", "--bogus"],
     "error: No such option: --bogus"),
    (["plan", "demo", "-o", "p.json"], "error: Missing option '--planner'."),
    (["profile", "resnet18", "-o", "p.json", "--repeats", "abc"],
     "error: Invalid value for '--repeats'"),
])
def test_usage_errors_are_one_line_and_usage(tmp_path, args, message):
    out = _run(args, cwd=tmp_path)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr + out.stdout
    errors = _error_lines(out.stderr)
    assert len(errors) == 1 and errors[0].startswith(message), out.stderr
    command = " ".join(a for a in args[:1] if a in ("plan", "profile"))
    assert f"Usage: splitinfer {command}".rstrip() in out.stderr
    assert not (tmp_path / "p.json").exists()


def test_group_without_subcommand_prints_its_help():
    out = _run(["serve"])
    assert out.returncode == 2
    assert "Usage: splitinfer serve" in out.stdout and "worker" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr


def _sweep_spec(folder: Path) -> Path:
    spec = folder / "sweep.yaml"
    spec.write_text("scenario: demo\ngrid:\n  links.*.bandwidth: [4Mbps, 8Mbps]\n"
                    "planners: [local]\nseeds: 1\n")
    return spec


@pytest.mark.parametrize(("args", "hide", "extra"), [
    (["inspect", "resnet18"], "torch,torchvision", "torch"),
    (["profile", "resnet18", "-o", "out/p.json", "--repeats", "1"], "torch,torchvision", "torch"),
    (["demo", "--measure", "--out", "out"], "torch,torchvision", "torch"),
    (["run", "demo", "--planner", "local", "--out", "out"], "torch,torchvision,grpc",
     "torch,runtime"),
    (["sweep", "sweep.yaml", "--executor", "dask", "--out", "out"], "dask,distributed",
     "cluster"),
])
def test_missing_extras_name_the_extra(tmp_path, args, hide, extra):
    _sweep_spec(tmp_path)
    out = _run(args, hide=hide, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    errors = _error_lines(out.stderr)
    assert len(errors) == 1, out.stderr
    assert f"'splitinfer {args[0]}' needs" in errors[0]
    assert errors[0].endswith(f"pip install 'splitinfer[{extra}]'")
    assert not (tmp_path / "out" / "sweep.csv").exists()


def test_light_install_still_plans_and_simulates(tmp_path):
    hide = "torch,torchvision,grpc,dask,distributed"
    out = _run(["plan", "demo", "--planner", "local", "-o", "out/plan.json"], hide=hide,
               cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    out = _run(["simulate", "demo", "--plan", "out/plan.json"], hide=hide, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "mean_latency_s" in out.stdout


def _with_click_command(monkeypatch, command):
    import splitinfer.cli as cli

    monkeypatch.setattr(cli, "app", lambda args, standalone_mode, prog_name: command.main(
        args=args, standalone_mode=standalone_mode, prog_name=prog_name))
    return cli


def test_standalone_click_errors_are_handled_too(monkeypatch, capsys):
    """typer < 0.26 raises standalone click's exceptions: the same one line, usage and exit 2."""
    click = pytest.importorskip("click")

    @click.command()
    @click.option("--repeats", type=int, required=True)
    def command(repeats):
        raise KeyboardInterrupt

    cli = _with_click_command(monkeypatch, command)
    with pytest.raises(SystemExit) as exc:
        cli.main(["--repeats", "abc"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "Traceback" not in err
    assert len(_error_lines(err)) == 1 and "Usage: splitinfer" in err
    with pytest.raises(SystemExit) as exc:  # click turns Ctrl-C into Abort
        cli.main(["--repeats", "3"])
    assert exc.value.code == 130
    assert "interrupted" in capsys.readouterr().err


def test_ctrl_c_in_compare_names_the_planner_and_exits_130(monkeypatch, capsys):
    import splitinfer.experiments.compare as compare
    from splitinfer.cli import main

    real = compare.evaluate_planner

    def evaluate(scenario, name, params=None):
        if name == "exact":
            raise KeyboardInterrupt
        return real(scenario, name, params)

    monkeypatch.setattr(compare, "evaluate_planner", evaluate)
    with pytest.raises(SystemExit) as exc:
        main(["compare", "demo", "--planners", "local,exact,edge"])
    err = capsys.readouterr().err
    assert exc.value.code == 130
    assert "interrupted while planning and simulating with exact (2 of 3)" in err
    assert "Traceback" not in err


def _main(argv, capsys):
    from splitinfer.cli import main

    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize(("argv", "message"), [
    (["compare", "demo", "--planners", "local,exact", "--param", "time_limt_s=2"],
     "did you mean 'time_limit_s'?"),
    (["compare", "demo", "--planners", "local,exact", "--param", "time_limit_s=abc"],
     "planner 'exact': time_limit_s must be a number (float), got 'abc'"),
    (["compare", "demo", "--planners", "local,exact", "--param", "exact.time_limit_s=-1"],
     "planner 'exact': time_limit_s must be positive, got -1"),
    (["compare", "demo", "--planners", "local", "--param", "exact.seed=1"],
     "--param for planner 'exact', which is not among the planners run (local)"),
    (["plan", "demo", "--planner", "exact", "--param", "max_task=3", "-o", "x.json"],
     "planner 'exact' has no parameter 'max_task'; did you mean 'max_tasks'?"),
])
def test_parameters_are_checked_by_every_command(argv, message, capsys, tmp_path,
                                                 monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = _main(argv, capsys)
    assert code == 2 and "Traceback" not in err
    assert len(_error_lines(err)) == 1 and message in err, err
    assert not (tmp_path / "x.json").exists()


def test_plan_shows_its_decisions_and_records_its_scenario(tmp_path, capsys):
    import json

    import yaml

    from splitinfer.data import shipped_scenario_path

    plan = tmp_path / "out" / "plan.json"
    code, out, err = _main(["plan", "demo", "--planner", "neurosurgeon", "-o", str(plan)], capsys)
    assert code == 0, err
    header = next(line for line in out.splitlines() if "task" in line and "device" in line)
    for col in ("task", "device", "cuts", "nodes", "priority", "release"):
        assert col in header
    assert "phone" in out and "t7" in out
    made = json.loads(plan.read_text())["info"]["scenario"]
    assert made["name"] == "demo" and len(made["sha256"]) == 64

    code, out, err = _main(["simulate", "demo", "--plan", str(plan)], capsys)
    assert code == 0 and "warning" not in err
    other = yaml.safe_load(shipped_scenario_path("demo").read_text())
    other["objective"] = "makespan"
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(other))
    for profile in shipped_scenario_path("demo").parent.glob("*.json"):
        (tmp_path / profile.name).write_text(profile.read_text())
    code, out, err = _main(["simulate", str(tmp_path / "other.yaml"), "--plan", str(plan)],
                           capsys)
    assert code == 0, err
    assert "warning:" in err and "made for scenario 'demo'" in err


def test_scenarios_models_and_planners_cite_papers_by_name(capsys):
    import json
    import re

    code, out, _ = _main(["scenarios", "--json"], capsys)
    rows = json.loads(out)
    assert code == 0 and {r["name"] for r in rows} >= {"demo", "shi2021", "zheng2021"}
    shi = next(r for r in rows if r["name"] == "shi2021")
    assert shi["paper"].startswith("Shi et al., GSPI") and shi["description"]
    internal = re.compile(r"\b[Ss]eed 00\d|\b00\d_[0-9a-f]{8,}\.txt|issue \d+ yardstick")
    assert not internal.search(out)
    code, out, _ = _main(["models"], capsys)
    assert code == 0 and "papers" in out and "seeds" not in out
    code, out, _ = _main(["planners", "--json"], capsys)
    assert code == 0 and not internal.search(out)


def test_simulate_shows_resources_without_slots_as_stages_at_once_not_as_a_percentage(
        tmp_path, capsys):
    """Reserved links and the cloud have no slot limit: many transfers run on one at once, so
    their busy time over the makespan is a mean count (here above 1), never a utilisation
    above 100 %; resources with slots keep their percentage."""
    import json
    import re

    from splitinfer.experiments.huang2019 import paper_scenario_dict
    from splitinfer.system.schema import scenario_file_dict

    path = tmp_path / "crowded.json"
    path.write_text(json.dumps(scenario_file_dict(paper_scenario_dict(0, 60, 2, 2.0))))
    code, out, err = _main(["simulate", str(path), "--planner", "deepar-cloud-only"], capsys)
    assert code == 0, err
    at_once = [float(v) for v in re.findall(r"in use at once \S+\s*│\s*([\d.]+) \(mean", out)]
    assert at_once and max(at_once) > 1.0 and "%" not in out
    code, out, err = _main(["simulate", str(path), "--planner", "deepar"], capsys)
    assert code == 0, err
    percent = re.findall(r"utilisation (\S+)\s*│\s*([\d.]+) %", out)
    assert {name for name, _ in percent} >= {"edge0", "edge1"}
    assert all(float(p) <= 100.0 and "->" not in name for name, p in percent)
