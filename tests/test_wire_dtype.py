"""Smaller tensors on the wire (issue 20, part 3): byte counts, plans, codec, wire frames,
agreement tables and the planners that choose a dtype per cut."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from splitinfer.codec import CodecError, decode_wire, encode_wire, roundtrip
from splitinfer.errors import InfeasiblePlanError, NotApplicableError, ScenarioError
from splitinfer.planners import get_planner
from splitinfer.profile.agreement import (
    Agreement,
    AgreementError,
    agreement_path,
    find_agreement,
    load_agreement,
)
from splitinfer.runtime.wire import (
    BFLOAT16,
    KIND_REQUEST,
    Limits,
    WireError,
    decode_frame,
    encode_frame,
    encode_tensor,
    tensor_float32,
)
from splitinfer.runtime.wirefuzz import decode_all, valid_frames
from splitinfer.sim import simulate
from splitinfer.system.load import load_scenario, scenario_from_dict
from splitinfer.system.plan import ChainColumns, Plan, Step, TaskPlan
from splitinfer.system.stages import build_stages
from splitinfer.testing.oracle_engine import reference_run
from splitinfer.transfer import QUANT_HEADER_BYTES, wire_bytes


def _toy(dtype: str = "float32") -> dict:
    # 8 Mbit/s: 1 byte = 1 us; cut 1 crosses 1 MB in float32
    return {"nodes": [{"name": "d", "kind": "device", "compute": {"flops_per_s": 1e9}},
                      {"name": "e", "kind": "edge", "compute": {"flops_per_s": 1e10}}],
            "links": [{"src": "d", "dst": "e", "bandwidth": 8e6, "latency": 0.01,
                       "dtype": dtype}],
            "models": {"m": {"cuts": [{"transfer_bytes": 4e6},
                                      {"transfer_bytes": 1e6, "head_flops": 1e9},
                                      {"transfer_bytes": 4e3, "head_flops": 3e9}]}},
            "workload": {"tasks": [{"device": "d", "model": "m"}]}}


def _agreement(n: int, int8: float = 1.0, f16: float = 1.0) -> Agreement:
    names = tuple(f"c{i}" for i in range(n))
    return Agreement("m", names, {"float16": (f16,) * n, "int8": (int8,) * n},
                     {"float16": (0.0,) * n, "int8": (0.0,) * n}, inputs=8, seed=0)


# ----------------------------------------------------------------------------- byte counts
def test_wire_bytes_are_elements_times_itemsize_plus_the_int8_header():
    assert wire_bytes(4e6) == 4e6
    assert wire_bytes(4e6, "float16") == wire_bytes(4e6, "bfloat16") == 2e6
    assert wire_bytes(4e6, "int8") == 1e6 + QUANT_HEADER_BYTES == 1e6 + 8
    assert np.allclose(wire_bytes(np.array([0.0, 400.0]), "int8"), [0.0, 108.0])
    with pytest.raises(ValueError, match="unknown wire dtype 'fp8'"):
        wire_bytes(4.0, "fp8")


@pytest.mark.parametrize("dtype, seconds", [("float32", 0.01 + 1.0), ("float16", 0.01 + 0.5),
                                            ("bfloat16", 0.01 + 0.5),
                                            ("int8", 0.01 + (250_000 + 8) * 8 / 8e6)])
def test_link_dtype_times_the_cut_at_its_real_bytes_and_the_return_stays_float32(dtype, seconds):
    sc = scenario_from_dict(_toy(dtype))
    stages = build_stages(sc, sc.tasks[0], TaskPlan("t0", ("d", "e"), (1,)))
    up = stages[1]
    assert (up.name, up.dtype) == ("uplink", dtype)
    assert up.duration == pytest.approx(seconds)   # hand-computed: latency + 8 bytes / rate
    ret = stages[-1]
    assert (ret.name, ret.dtype, ret.nbytes) == ("return", "float32", 4e3)


def test_plan_dtype_overrides_the_link_and_the_simulators_agree():
    sc = scenario_from_dict(_toy("float32"))
    tp = TaskPlan("t0", ("d", "e"), (1,), dtype=("int8",))
    assert build_stages(sc, sc.tasks[0], tp)[1].nbytes == 250_008
    plan = Plan("p", {"t0": tp})
    fast, oracle = simulate(sc, plan), reference_run(sc, plan)
    assert fast.tasks[0].finish == pytest.approx(oracle["t0"][3])
    f32 = simulate(sc, Plan("p", {"t0": TaskPlan("t0", ("d", "e"), (1,))}))
    assert f32.tasks[0].finish - fast.tasks[0].finish == pytest.approx((1e6 - 250_008) * 8 / 8e6)


def test_steps_transfer_dtype():
    sc = scenario_from_dict(_toy())
    steps = (Step("compute", node="d", segment=(0, 1)),
             Step("transfer", src="d", dst="e", nbytes=1e6, deps=(0,), dtype="float16"),
             Step("compute", node="e", segment=(1, 2), deps=(1,)),
             Step("return", src="e", deps=(2,)))
    stages = build_stages(sc, sc.tasks[0], TaskPlan("t0", ("d", "e"), steps=steps))
    assert (stages[1].dtype, stages[1].nbytes) == ("float16", 5e5)
    bad = (steps[0], replace(steps[1], dtype="fp8"), *steps[2:])
    with pytest.raises(InfeasiblePlanError, match="unknown wire dtype 'fp8'"):
        build_stages(sc, sc.tasks[0], TaskPlan("t0", ("d", "e"), steps=bad))


def test_taskplan_dtype_round_trips_and_is_checked(tmp_path):
    tp = TaskPlan("t0", ("d", "e"), (1,), dtype=("bfloat16",))
    assert TaskPlan.from_dict(json.loads(json.dumps(tp.to_dict()))) == tp
    assert ChainColumns.from_taskplans([tp]) is None   # a dtype keeps TaskPlan objects
    path = tmp_path / "plan.json"
    Plan("p", {"t0": tp}).save(path)
    assert Plan.load(path).tasks["t0"].dtype == ("bfloat16",)
    with pytest.raises(ValueError, match="1 cuts need 1 wire dtypes"):
        TaskPlan("t0", ("d", "e"), (1,), dtype=())
    with pytest.raises(ValueError, match="unknown wire dtype"):
        TaskPlan("t0", ("d", "e"), (1,), dtype=("float64",))


def test_scenario_link_dtype_is_validated():
    data = _toy()
    data["links"][0]["dtype"] = "float64"
    with pytest.raises(ScenarioError, match=r"links\.0\.dtype"):
        scenario_from_dict(data)
    sc = scenario_from_dict(_toy("int8"))
    assert sc.link("e", "d").dtype == "int8"   # the reverse direction keeps it


# ----------------------------------------------------------------------------- codec
def test_codec_round_trip_errors_are_bounded():
    x = np.random.default_rng(0).standard_normal(10_000).astype(np.float32) * 4
    assert np.array_equal(roundtrip(x, "float32"), x)
    assert np.max(np.abs(roundtrip(x, "float16") - x) / np.maximum(np.abs(x), 1e-3)) < 1e-3
    assert np.max(np.abs(roundtrip(x, "bfloat16") - x) / np.maximum(np.abs(x), 1e-3)) < 8e-3
    wire, params = encode_wire(x, "int8")
    assert wire.dtype == np.int8 and -128 <= params["zero_point"] <= 127
    assert np.max(np.abs(roundtrip(x, "int8") - x)) <= params["scale"] / 2 + 1e-6
    assert roundtrip(np.zeros(3, np.float32), "int8").tolist() == [0.0, 0.0, 0.0]
    relu = np.abs(x)  # all non-negative: zero is still exact
    assert roundtrip(np.array([0.0, *relu[:5]], np.float32), "int8")[0] == 0.0


def test_bfloat16_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal(4096).astype(np.float32) * 100
    x[:3] = [np.inf, -np.inf, 0.0]
    ours = roundtrip(x, "bfloat16")
    theirs = torch.from_numpy(x).bfloat16().float().numpy()
    assert np.array_equal(ours, theirs)


@pytest.mark.parametrize("params", [{}, {"scale": 0, "zero_point": 0},
                                    {"scale": 1e308 * 10, "zero_point": 0},
                                    {"scale": "1", "zero_point": 0}, {"scale": 1.0},
                                    {"scale": 1.0, "zero_point": 200},
                                    {"scale": 1.0, "zero_point": True}])
def test_codec_refuses_bad_int8_parameters(params):
    with pytest.raises(CodecError):
        decode_wire(np.zeros(2, np.int8), "int8", params)


# ----------------------------------------------------------------------------- wire frames
@pytest.mark.parametrize("dtype, code", [("float16", 2), ("bfloat16", 9), ("int8", 7)])
def test_frames_carry_the_smaller_tensor_and_restore_float32(dtype, code):
    x = np.linspace(-5, 5, 1000, dtype=np.float32)
    arr, extra = encode_tensor(x, dtype)
    frame = encode_frame({"key": "k", **extra}, arr, KIND_REQUEST)
    assert frame[6] == code
    f = decode_frame(frame, Limits())
    assert len(f.payload) == wire_bytes(4000, dtype) - (QUANT_HEADER_BYTES if dtype == "int8"
                                                        else 0)
    back = tensor_float32(f)
    assert back.dtype == np.float32
    assert np.array_equal(back, roundtrip(x, dtype))


@pytest.mark.parametrize("meta", [{}, {"wire": "int8"}, {"wire": {"dtype": "float16"}},
                                  {"wire": {"dtype": "int8", "scale": -1.0, "zero_point": 0}},
                                  {"wire": {"dtype": "int8", "scale": 1.0, "zero_point": 2**70}},
                                  {"wire": {"dtype": "int8", "scale": [1], "zero_point": 0}}])
def test_hostile_quantisation_metadata_is_a_wire_error(meta):
    f = decode_frame(encode_frame(meta, np.zeros(4, np.int8), KIND_REQUEST), Limits())
    with pytest.raises(WireError):
        tensor_float32(f)


def test_bfloat16_code_is_exact_and_fuzz_seeds_include_compressed_frames():
    from splitinfer.runtime.wire import dtype_code

    assert dtype_code(BFLOAT16) == 9
    with pytest.raises(WireError):
        dtype_code(np.dtype("V2"))
    seeds = valid_frames()
    codes = {s[6] for s in seeds}
    assert {2, 7, 9} <= codes
    assert all(decode_all(s, Limits()) == "accepted" for s in seeds)


# ----------------------------------------------------------------------------- agreement
def test_agreement_file_round_trip_and_errors(tmp_path):
    a = _agreement(3, int8=0.5)
    path = agreement_path("m", tmp_path)
    a.save(path)
    back = load_agreement(path)
    assert back == a and back.source == str(path.resolve())
    bad = a.to_dict()
    bad["top1"]["int8"] = [0.5, 2.0, 1.0]
    path.write_text(json.dumps(bad))
    with pytest.raises(AgreementError, match=r"top1\.int8: expected 3 numbers in \[0, 1"):
        load_agreement(path)
    bad = a.to_dict()
    bad["top1"]["float64"] = [1.0] * 3
    path.write_text(json.dumps(bad))
    with pytest.raises(AgreementError, match="float64: not a compressed wire dtype"):
        load_agreement(path)
    path.write_text("[" * 10_000)
    with pytest.raises(AgreementError):
        load_agreement(path)
    with pytest.raises(AgreementError, match="does not exist"):
        load_agreement(tmp_path / "none.json")


def test_scenario_finds_the_agreement_beside_the_profile_or_by_path(tmp_path):
    from splitinfer.profile import load_profile

    prof = load_profile("lenet5@cpu-1t")
    prof.save(tmp_path / "lenet5@here.json")
    data = {"nodes": [{"name": "d", "kind": "device", "compute": {"hardware": "here"}}],
            "models": {"lenet5": {"profiles": {"here": "lenet5@here.json"}}},
            "workload": {"tasks": [{"device": "d", "model": "lenet5"}]}}
    sc = scenario_from_dict(data, base_dir=tmp_path)
    shipped = find_agreement("lenet5")
    assert (sc.models["lenet5"].agreement is None) == (shipped is None)
    a = replace(_agreement(prof.num_cuts), model="lenet5")
    a.save(tmp_path / "lenet5.agreement.json")
    sc = scenario_from_dict(data, base_dir=tmp_path)
    assert sc.models["lenet5"].agreement == a
    replace(_agreement(3), model="lenet5").save(tmp_path / "short.json")
    data["models"]["lenet5"]["agreement"] = "short.json"
    with pytest.raises(ScenarioError, match=r"models\.lenet5\.agreement: the agreement table"):
        scenario_from_dict(data, base_dir=tmp_path)


# ----------------------------------------------------------------------------- planners
def _with_agreement(sc, a):
    m = sc.models["m"]
    return replace(sc, models={"m": replace(m, agreement=a)})


@pytest.mark.parametrize("name", ["neurosurgeon", "dads"])
def test_planners_choose_the_smallest_dtype_within_the_tolerance(name):
    sc = scenario_from_dict(_toy())
    f32 = get_planner(name).plan(sc)["t0"]
    assert f32.dtype is None
    sc_ok = _with_agreement(sc, _agreement(3, int8=1.0))
    plan = get_planner(name, wire_dtypes="all", min_agreement=0.99).plan(sc_ok)
    assert plan["t0"].dtype == ("int8",)
    assert simulate(sc_ok, plan).mean_latency < simulate(sc, Plan("p", {"t0": f32})).mean_latency
    assert plan.info["wire"]["per_cut"]["m"]["1"] == "int8"
    sc_f16 = _with_agreement(sc, _agreement(3, int8=0.9))  # int8 below the tolerance
    plan = get_planner(name, wire_dtypes="all", min_agreement=0.99).plan(sc_f16)
    assert plan["t0"].dtype == ("float16",)
    plan = get_planner(name, wire_dtypes="int8", min_agreement=0.99).plan(sc_f16)
    assert plan["t0"].dtype in (None, ("float32",))


def test_planner_without_an_agreement_table_says_how_to_measure_it():
    sc = scenario_from_dict(_toy())
    with pytest.raises(NotApplicableError, match="splitinfer agreement m"):
        get_planner("neurosurgeon", wire_dtypes="int8").plan(sc)
    with pytest.raises(ValueError, match="unknown wire dtype"):
        get_planner("dads", wire_dtypes="int4")
    with pytest.raises(ValueError, match="min_agreement"):
        get_planner("jps", min_agreement=1.5)


def test_jps_uses_the_smaller_tensor_in_its_communication_stage():
    sc = load_scenario("duan2021-resnet18")
    m = next(iter(sc.models))
    a = replace(_agreement(sc.models[m].num_cuts), model=m)
    sc2 = replace(sc, models={m: replace(sc.models[m], agreement=a)})
    base = get_planner("jps").plan(sc)
    comp = get_planner("jps", wire_dtypes="int8", min_agreement=0.99).plan(sc2)
    assert comp.columns is None and base.info["predicted_makespan"] > 0
    assert comp.info["predicted_makespan"] <= base.info["predicted_makespan"]
    assert simulate(sc2, comp).makespan == pytest.approx(comp.info["predicted_makespan"])
    assert all(tp.dtype in (None, ("int8",)) for tp in comp.tasks.values())


# ----------------------------------------------------------------------------- measurement
def test_measure_agreement_small_model():
    pytest.importorskip("torch")
    from splitinfer.profile.agreement import measure_agreement

    a = measure_agreement("lenet5", inputs=3, seed=0, dtypes=("int8",))
    assert a.num_cuts == 13 and set(a.top1) == {"int8"}
    assert all(0.0 <= v <= 1.0 for v in a.top1["int8"]) and a.top1["int8"][-1] == 1.0
    assert a.max_abs_diff["int8"][-1] == 0.0 and max(a.max_abs_diff["int8"]) > 0
    assert Agreement.from_dict(json.loads(json.dumps(a.to_dict()))) == a


# ----------------------------------------------------------------------------- real run
@pytest.mark.slow
def test_run_sends_int8_and_verify_reports_agreement_instead_of_equality(tmp_path):
    pytest.importorskip("grpc")
    from splitinfer.runtime.run import RunOptions, run_scenario

    scenario = {
        "name": "run-int8",
        "nodes": [{"name": "phone", "kind": "device", "compute": {"hardware": "cpu-1t"}},
                  {"name": "edge", "kind": "edge", "compute": {"hardware": "cpu-1t"}}],
        "links": [{"src": "phone", "dst": "edge", "bandwidth": "20Mbps", "latency": "3ms",
                   "sharing": "fifo", "dtype": "int8"}],
        "models": {"lenet5": {"profile": "lenet5@cpu-1t",
                              "profiles": {"cpu-1t": "lenet5@cpu-1t"}}},
        "workload": {"tasks": [{"device": "phone", "model": "lenet5", "arrival": 0.05 * i}
                               for i in range(4)]}}
    report = run_scenario(scenario, RunOptions(planner="edge", out_dir=tmp_path,
                                               compute="shipped", verify=True, deadline_s=5.0))
    v = report.summary()["verified"]
    assert report.summary()["lost"] == 0
    comp = v["compressed"]
    assert comp["tasks"] == 4 and v["differ"] == [] and v["equal"] == 0
    assert 0.0 < comp["max_abs_diff"] < 1.0          # int8 input: close, not equal
    assert comp["top1_agreement"] is not None and 0.0 <= comp["top1_agreement"] <= 1.0
    ups = [st for t in report.measured.tasks for st in t.stages if st.name == "uplink"]
    assert ups, "the raw input crossed the link"


@pytest.mark.parametrize("dtype", ["float32", "float16", "int8"])
def test_dads_prices_the_links_dtype_as_the_simulator_times_it(dtype):
    sc = scenario_from_dict(_toy(dtype))
    plan = get_planner("dads").plan(sc)
    assert plan["t0"].nodes == ("d", "e")
    assert plan.info["predicted_latency"]["t0"] == pytest.approx(simulate(sc, plan).mean_latency)


@pytest.mark.parametrize("bad", ["int8", 5, {"a": 1}])
def test_plan_file_dtype_must_be_a_list(bad):
    with pytest.raises(ValueError, match="dtype must be a list"):
        TaskPlan.from_dict({"task": "t0", "nodes": ["d", "e"], "cuts": [1], "dtype": bad})
