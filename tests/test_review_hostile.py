"""Hostile input against this round's new surfaces (review round): Mahimahi traces, the traces
command, wire dtypes and tiles in plan files, int8 quantisation scales, and energy weights that
the exact planner cannot put in integers. Each is one line (a SplitInferError or exit 2), never a
traceback."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from splitinfer.errors import SplitInferError


# ---------------------------------------------------------------- Mahimahi traces
@pytest.mark.parametrize("word", ["\u00b2", "--5", "99999999999999999999", "1" * 5000, "+-3"])
def test_mahimahi_garbage_is_a_trace_error(tmp_path, word):
    from splitinfer.traces import TraceError, read_trace

    p = tmp_path / "cell.mahi"
    p.write_text(f"1\n{word}\n7\n")
    with pytest.raises(TraceError, match="cell.mahi") as exc:
        read_trace(p)
    assert "\n" not in str(exc.value)


def _run_cli(argv, capsys):
    from splitinfer.cli import main

    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr()


@pytest.mark.parametrize("until", ["-5", "0", "nan", "inf"])
def test_traces_command_refuses_a_bad_until(tmp_path, capsys, until):
    png = tmp_path / "t.png"
    code, out = _run_cli(["traces", "step-drop", "--until", until, "--plot", str(png)], capsys)
    assert code == 2 and "--until" in out.err and "Traceback" not in out.err
    assert not png.exists()


def test_traces_command_refuses_a_directory_as_plot(tmp_path, capsys):
    code, out = _run_cli(["traces", "step-drop", "--plot", str(tmp_path)], capsys)
    assert code == 2 and "--plot" in out.err and "Traceback" not in out.err
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- plan files
def _tile_plan() -> dict:
    return {"format": "splitinfer.plan/1", "planner": "x", "tasks": [
        {"task": "t0", "nodes": ["phone", "es"], "cuts": [], "steps": [
            {"kind": "transfer", "src": "phone", "dst": "es", "nbytes": 1000.0,
             "tile": [0, 0, 10, 0, 10]},
            {"kind": "compute", "node": "es", "segment": [0, 5], "flops": 1e6, "deps": [0],
             "tile": [5, 0, 4, 0, 4]},
            {"kind": "return", "src": "es", "deps": [1]}]}]}


@pytest.mark.parametrize("step,field,value", [
    (1, "tile", "abc"), (1, "tile", [5, 1, 2]), (1, "tile", [5, -4, 2, 0, 3]),
    (1, "tile", [5, 3, 3, 0, 3]), (1, "tile", [5, 5, 3, 0, 3]), (1, "tile", [5, 0.5, 2, 0, 3]),
    (1, "tile", [True, 0, 2, 0, 3]), (1, "tile", [[5], 0, 2, 0, 3]), (1, "tile", {"a": 1}),
    (1, "tile", [-1, 0, 2, 0, 3]), (1, "tile", [5, 0, 10**30, 0, 3]),
])
def test_bad_step_tile_is_refused_when_the_plan_loads(tmp_path, step, field, value):
    import json

    from splitinfer.experiments.compare import load_plan

    d = _tile_plan()
    d["tasks"][0]["steps"][step][field] = value
    p = tmp_path / "p.json"
    p.write_text(json.dumps(d))
    with pytest.raises(SplitInferError, match="not a splitinfer plan") as exc:
        load_plan(p)
    assert "tile must be five integers" in str(exc.value)


@pytest.mark.parametrize("value", [["int8"], {"x": 1}, "int4", 7])
def test_bad_step_dtype_is_one_line_when_the_plan_is_timed(tmp_path, value):
    import json

    from splitinfer.errors import InfeasiblePlanError
    from splitinfer.experiments.compare import load_plan
    from splitinfer.sim import simulate
    from splitinfer.system.load import load_scenario

    d = _tile_plan()
    d["tasks"][0]["steps"][0]["dtype"] = value
    for s in d["tasks"][0]["steps"]:
        s.pop("tile", None)
    p = tmp_path / "p.json"
    p.write_text(json.dumps(d))
    plan = load_plan(p)
    with pytest.raises(InfeasiblePlanError, match="unknown wire dtype"):
        simulate(load_scenario("li2022-alexnet"), plan)


def test_good_tile_plan_loads_and_keeps_integer_tiles(tmp_path):
    from splitinfer.system.plan import Plan, Step

    plan = Plan.from_dict(_tile_plan())
    assert plan["t0"].steps[1].tile == (5, 0, 4, 0, 4)
    assert Step("compute", node="es", segment=(0, 5), tile=tuple(np.int64([5, 0, 4, 0, 4]))
                ).tile == (5, 0, 4, 0, 4)


@pytest.mark.parametrize("value", ["int8", [["x"]], 3])
def test_task_dtype_must_be_a_list_of_names(value):
    from splitinfer.system.plan import TaskPlan

    with pytest.raises(ValueError, match="dtype"):
        TaskPlan.from_dict({"task": "t0", "nodes": ["d", "e"], "cuts": [2], "dtype": value})


def test_check_wire_dtype_refuses_unhashable_names():
    from splitinfer.transfer import check_wire_dtype

    with pytest.raises(ValueError, match="unknown wire dtype"):
        check_wire_dtype(["int8"])


# ---------------------------------------------------------------- int8 scales
@pytest.mark.parametrize("scale", [1e300, 1e39, 1e-300, 1e-46])
def test_int8_scale_outside_float32_is_a_codec_error(scale):
    from splitinfer.codec import CodecError, decode_wire

    with pytest.raises(CodecError, match="scale"):
        decode_wire(np.array([1, 2], np.int8), "int8", {"scale": scale, "zero_point": 0})


@pytest.mark.parametrize("scale,zero", [(1e38, 127), (1e38, 0), (2e36, -128)])
def test_int8_scale_and_zero_point_that_overflow_float32_are_a_codec_error(scale, zero):
    from splitinfer.codec import CodecError, decode_wire

    with pytest.raises(CodecError, match="overflows float32"):
        decode_wire(np.array([-128, 127], np.int8), "int8", {"scale": scale, "zero_point": zero})


def test_int8_of_the_widest_float32_range_round_trips_finite():
    from splitinfer.codec import decode_wire, encode_wire

    big = float(np.finfo(np.float32).max)
    for x in (np.array([-big, 0.0, big], np.float32), np.array([0.0, big], np.float32),
              np.array([-big, 0.0], np.float32)):
        wire, params = encode_wire(x, "int8")
        assert np.isfinite(decode_wire(wire, "int8", params)).all()


def test_int8_of_a_tiny_range_still_round_trips():
    from splitinfer.codec import decode_wire, encode_wire

    x = np.array([0.0, 1e-43, -1e-44], np.float32)  # (max - min) / 255 underflows float32
    wire, params = encode_wire(x, "int8")
    out = decode_wire(wire, "int8", params)
    assert np.isfinite(out).all() and np.abs(out - x).max() <= 1e-42


# ---------------------------------------------------------------- exact and huge weights
@pytest.mark.parametrize("weight", [1e308, 1e30])
def test_exact_refuses_energy_weights_too_large_for_integers(weight):
    from pathlib import Path

    from splitinfer.errors import NotApplicableError
    from splitinfer.planners import get_planner
    from splitinfer.system.load import read_scenario_file, scenario_from_dict

    examples = Path(__file__).resolve().parents[1] / "docs" / "examples"
    data = copy.deepcopy(read_scenario_file(examples / "energy-phone.yaml"))
    data["objective"] = {"kind": "latency+energy", "weight_s_per_j": weight}
    data["workload"]["tasks"] = data["workload"]["tasks"][:2]
    sc = scenario_from_dict(data, "energy-phone.yaml", examples)
    with pytest.raises(NotApplicableError, match="too large"):
        get_planner("exact", time_limit_s=5).plan(sc)


# ---------------------------------------------------------------- agreement measurement
@pytest.mark.parametrize("inputs", [0, 10**8])
def test_agreement_inputs_are_bounded_before_anything_is_allocated(inputs):
    from splitinfer.profile.agreement import MAX_INPUTS, AgreementError, measure_agreement

    with pytest.raises(AgreementError, match=f"1 to {MAX_INPUTS}"):
        measure_agreement("lenet5", inputs=inputs)


# ---------------------------------------------------------------- over-long and NUL names
@pytest.mark.parametrize("name", ["x" * 300, "x" * 5000, "a\x00b"])
def test_trace_names_the_system_refuses_are_one_line(tmp_path, name):
    from pathlib import Path

    from splitinfer.errors import ScenarioError
    from splitinfer.system.load import read_scenario_file, scenario_from_dict

    shipped = Path(__file__).resolve().parents[1] / "src/splitinfer/data/scenarios"
    data = read_scenario_file(shipped / "trace-drop.yaml")
    data["links"][0]["bandwidth"] = {"trace": name}
    with pytest.raises(ScenarioError, match="no trace file"):
        scenario_from_dict(data, "trace-drop.yaml", tmp_path)


@pytest.mark.parametrize("argv", [["traces", "x" * 300], ["simulate", "x" * 300, "--planner", "local"],
                                  ["traces", "../traces/step-drop"]])
def test_over_long_or_relative_shipped_names_are_unknown_names(capsys, argv):
    code, out = _run_cli(argv, capsys)
    assert code == 2 and "unknown" in out.err and "Traceback" not in out.err


# ---------------------------------------------------------------- fused-layer geometry files
def _geometry_cases():
    from splitinfer.graph.receptive import load_geometry

    good = load_geometry("alexnet").to_dict()
    out = [[], None, {"format": "splitinfer.fused/1"}]
    for key, value in [("input_shape", None), ("input_shape", [[1]]), ("input_shape", [3, 0, 5]),
                       ("nodes", "x"), ("chain", [1, 2]), ("unit_ends", 7)]:
        d = copy.deepcopy(good)
        d[key] = value
        out.append(d)
    for key, value in [("size", [10**9, 10**9]), ("channels", -5), ("preds", None),
                       ("axes", [[1]]), ("size", "ab")]:
        d = copy.deepcopy(good)
        d["nodes"][0][key] = value
        out.append(d)
    return out


@pytest.mark.parametrize("case", range(14))
def test_hostile_geometry_dicts_are_value_errors(case):
    from splitinfer.graph.receptive import FLGeometry

    with pytest.raises(ValueError):
        FLGeometry.from_dict(_geometry_cases()[case])


def test_geometry_files_are_read_through_the_bounded_reader(tmp_path):
    import os

    from splitinfer.graph.receptive import load_geometry

    fifo = tmp_path / "g.json"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        load_geometry(fifo)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 5000 + "]" * 5000)
    with pytest.raises(ValueError, match="nested deeper"):
        load_geometry(deep)


def test_a_scenario_with_a_hostile_inline_geometry_is_one_line():
    from splitinfer.errors import InfeasiblePlanError
    from splitinfer.system.load import load_scenario
    from splitinfer.system.tiles import scenario_geometry

    sc = load_scenario("li2022-alexnet")
    bad = _geometry_cases()[4]  # input_shape [[1]]
    sc.extra["fused"] = {name: bad for name in sc.models}
    with pytest.raises(InfeasiblePlanError, match="no fused-layer geometry"):
        scenario_geometry(sc, next(iter(sc.models)))


# ---------------------------------------------------------------- run --pause
@pytest.mark.slow
def test_run_pause_of_an_unknown_node_is_one_line(tmp_path):
    from splitinfer.runtime.run import RunOptions, run_scenario

    spec = {"name": "pause",
            "nodes": [{"name": "phone", "kind": "device", "compute": {"hardware": "cpu-1t"}},
                      {"name": "edge", "kind": "edge", "compute": {"hardware": "cpu-1t"}}],
            "links": [{"src": "phone", "dst": "edge", "bandwidth": "50Mbps"}],
            "models": {"lenet5": {"profile": "lenet5@cpu-1t",
                                  "profiles": {"cpu-1t": "lenet5@cpu-1t"}}},
            "workload": {"tasks": [{"device": "phone", "model": "lenet5"}]}}
    with pytest.raises(SplitInferError, match="--pause 'nosuch': not a worker"):
        run_scenario(spec, RunOptions(planner="local", out_dir=tmp_path, compute="shipped",
                                      pause=("nosuch",), calibrate_links=False))


# ---------------------------------------------------------------- tiles on the wire
def test_a_delivered_tile_outside_its_value_is_a_wire_error():
    from splitinfer.runtime.pieces import ModelPieces
    from splitinfer.runtime.route import unpack_values
    from splitinfer.runtime.wire import WireError

    mp = ModelPieces("alexnet")
    key = (1, 0, 9999, 0, 3)  # rows past the 55 x 55 output of layer 1
    with pytest.raises(WireError, match="outside value 1"):
        unpack_values([[list(key), [1, 64, 9999, 3]]], np.zeros(10, np.float32), [key],
                      lambda v: mp.value_shape(v, 1))
