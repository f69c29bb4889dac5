"""Scenario and profile files that nobody here wrote (issue 15 points 7-9, issue 18 point 6).

Hostile or mistaken files end in one error line naming the file (and the field), exit status 2,
no traceback, in bounded time and memory: non-UTF-8 bytes, deep nesting, huge integers, devices
and FIFOs, files far too large, alias bombs (point 7); workloads that would create too many tasks
or samples are refused before anything is generated (point 8); non-finite, boolean, negative or
zero values are refused with the field named (point 9); a bandwidth or duration without a unit is
refused in a file, never guessed (issue 18 point 6).
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from splitinfer.datafile import MAX_DEPTH
from splitinfer.errors import ScenarioError
from splitinfer.profile import Profile, load_profile
from splitinfer.profile.format import ProfileError, example_profile_dict
from splitinfer.profile.records import is_finite_number
from splitinfer.system import load_scenario, scenario_from_dict
from splitinfer.system.schema import scenario_file_dict
from splitinfer.system.workload import WorkloadTooLarge

CLI = Path(sys.executable).parent / "splitinfer"

# A valid scenario file (units everywhere they are required).
GOOD = {
    "name": "hostile",
    "nodes": [{"name": "phone", "kind": "device", "compute": {"flops_per_s": "2GFLOPS"}},
              {"name": "edge", "kind": "edge", "compute": {"flops_per_s": "50GFLOPS"}}],
    "links": [{"src": "phone", "dst": "edge", "bandwidth": "20Mbps", "latency": "5ms"}],
    "models": {"m": {"cuts": [{"transfer_bytes": 600_000, "head_flops": 0},
                              {"transfer_bytes": 40, "head_flops": 1e9}]}},
    "workload": {"seed": 1, "tasks": [{"device": "phone", "model": "m", "arrival": "10ms"}],
                 "generators": [{"kind": "poisson", "devices": ["phone"], "model": "m",
                                 "rate": 2, "horizon": "3s"}]},
}


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    # the timeout only guards against a hang (the bug these tests are about): never a speed test
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


def _one_line_exit_2(r: subprocess.CompletedProcess, *words: str) -> str:
    err = r.stderr.strip()
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr and len(err.splitlines()) == 1, r.stderr[-2000:]
    for w in words:
        assert w in err, (w, err)
    return err


def _with(path: tuple, value) -> dict:
    data = json.loads(json.dumps(GOOD))
    d = data
    for k in path[:-1]:
        d = d[k]
    d[path[-1]] = value
    return data


def _write_yaml(tmp_path: Path, data: dict, name: str = "s.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data))
    return p


def test_good_file_loads(tmp_path):
    sc = load_scenario(_write_yaml(tmp_path, GOOD))
    assert sc.links[("phone", "edge")].rate == 20e6 and len(sc.tasks) > 1


# ------------------------------------------------------------------ point 7: unreadable files
def _nested_json(depth: int) -> str:
    return '{"nodes": ' + "[" * depth + "]" * depth + "}"


HOSTILE_FILES = {
    # name: (file name, bytes, words the one-line error must contain)
    "non-utf8": ("s.yaml", b"name: caf\xe9\nnodes: []\n", ["not UTF-8 text", "offset 9"]),
    "deep yaml": ("s.yaml", ("nodes: " + "[" * 100_000).encode(), ["nested deeper than"]),
    "deep block yaml": ("s.yaml", ("nodes:\n" + "".join(" " * i + "- \n" for i in range(1, 3000))
                                   ).encode(), ["nest"]),
    "deep json": ("s.json", _nested_json(200_000).encode(), ["nested deeper than"]),
    "huge int yaml": ("s.yaml", b"slot: " + b"9" * 5000 + b"\n", ["more digits than Python"]),
    "huge int json": ("s.json", b'{"slot": ' + b"9" * 5000 + b"}", ["more digits than Python"]),
    "alias bomb": ("s.yaml", ("a: &a [" + ",".join(["x"] * 10) + "]\n" + "".join(
        f"{c}: &{c} [" + ",".join([f"*{p}"] * 10) + "]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))
        + "nodes: *i\n").encode(), ["holds more than", "aliases expanded"]),
    "self alias": ("s.yaml", b"nodes: &n [1, *n]\n", ["contains itself"]),
    "syntax": ("s.yaml", b"nodes:\n  - name: a\n    kind: [device\n", ["line 3, column 11"]),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_FILES))
def test_hostile_file_api_one_line(tmp_path, kind):
    name, content, words = HOSTILE_FILES[kind]
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    msg = str(info.value)
    assert len(msg.splitlines()) == 1 and str(path) in msg, msg
    assert all(w in msg for w in words), msg


@pytest.mark.parametrize("kind", ["non-utf8", "deep json", "huge int yaml", "alias bomb"])
def test_hostile_file_cli_exit_2(tmp_path, kind):
    name, content, words = HOSTILE_FILES[kind]
    path = tmp_path / name
    path.write_bytes(content)
    _one_line_exit_2(_cli("simulate", str(path), "--planner", "local"), str(path), *words)


def test_device_and_fifo_are_refused_without_reading(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)  # nobody writes: opening it for reading would block forever
    for path, kind in (("/dev/zero", "character device"), (str(fifo), "named pipe"),
                       (str(tmp_path), "directory")):
        with pytest.raises(ScenarioError, match=f"is not a regular file .it is a {kind}"):
            load_scenario(path)
        with pytest.raises(ProfileError, match=f"is not a regular file .it is a {kind}"):
            Profile.load(path)
    _one_line_exit_2(_cli("simulate", "/dev/zero", "--planner", "local"),
                     "/dev/zero", "not a regular file")
    _one_line_exit_2(_cli("plan", str(fifo), "--planner", "local", "-o", str(tmp_path / "p.json")),
                     str(fifo), "named pipe")


def test_file_far_too_large_is_refused_by_size(tmp_path, monkeypatch):
    sparse = tmp_path / "huge.yaml"
    with open(sparse, "wb") as fh:  # 64 GiB, sparse: costs no disk, refused by its size
        fh.truncate(64 * 2**30)
    with pytest.raises(ScenarioError, match="larger than the limit of 8388608 bytes"):
        load_scenario(sparse)
    small = _write_yaml(tmp_path, GOOD)
    monkeypatch.setenv("SPLITINFER_MAX_FILE_BYTES", "100")
    with pytest.raises(ScenarioError, match="SPLITINFER_MAX_FILE_BYTES"):
        load_scenario(small)
    big_profile = tmp_path / "p.json"
    big_profile.write_text(json.dumps(example_profile_dict()))
    with pytest.raises(ProfileError, match="larger than the limit of 100 bytes"):
        Profile.load(big_profile)
    monkeypatch.delenv("SPLITINFER_MAX_FILE_BYTES")
    assert Profile.load(big_profile).num_cuts == 3
    _one_line_exit_2(_cli("simulate", str(sparse), "--planner", "local"), str(sparse),
                     "larger than the limit")
    _one_line_exit_2(_cli("simulate", str(small), "--planner", "local",
                          env={"SPLITINFER_MAX_FILE_BYTES": "100"}), str(small), "limit of 100")
    _one_line_exit_2(_cli("simulate", str(small), "--planner", "local",
                          env={"SPLITINFER_MAX_FILE_BYTES": "lots"}), "SPLITINFER_MAX_FILE_BYTES")


def test_hostile_profile_files(tmp_path):
    cases = {"bad.json": b'{"format": "\xff"}', "deep.json": _nested_json(100_000).encode(),
             "int.json": b'{"batch": ' + b"7" * 5000 + b"}", "syntax.json": b"{not json"}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ProfileError) as info:
            load_profile(tmp_path / name)
        assert len(str(info.value).splitlines()) == 1 and name in str(info.value)
    # a scenario that names a hostile profile: the field is named, exit 2
    data = _with(("models", "m"), {"profile": "/dev/zero"})
    _one_line_exit_2(_cli("simulate", str(_write_yaml(tmp_path, data)), "--planner", "local"),
                     "models.m.profile", "not a regular file")


def test_profile_numbers_beyond_float_and_int64():
    for field, value in (("flops", 10**400), ("batch", 2**63), ("whole_latency_s", 10**400),
                         ("whole_latency_s", True), ("batch", True)):
        d = example_profile_dict()
        d[field] = value
        with pytest.raises(ProfileError, match=field):
            Profile.from_dict(d, "p.json")
    d = example_profile_dict()
    d["cuts"][1]["transfer_bytes"] = 10**5000  # more digits than repr() may print
    with pytest.raises(ProfileError, match=r"cuts\[1\].transfer_bytes: .*integer of 5001 digits"):
        Profile.from_dict(d, "p.json")
    assert not is_finite_number(10**400) and is_finite_number(10**300)


def test_structure_limits_count_aliases_without_expanding(tmp_path):
    ok = tmp_path / "ok.yaml"
    rows = yaml.safe_dump(GOOD).replace("tasks:\n", "tasks: &tasks\n", 1)
    ok.write_text(rows + "extra: {copy: *tasks}\n")
    assert load_scenario(ok).extra["copy"][0]["arrival"] == "10ms"  # aliases still work
    deep = tmp_path / "deep.json"
    deep.write_text(json.dumps(_with(("extra",), {"x": json.loads(_nested_json(MAX_DEPTH))})))
    with pytest.raises(ScenarioError, match=f"nested deeper than {MAX_DEPTH} levels"):
        load_scenario(deep)


# ----------------------------------------------------------- point 8: bounded workloads
@pytest.mark.parametrize("generator,field", [
    ({"kind": "batch", "devices": ["phone"], "model": "m", "count": 10**12}, "count"),
    ({"kind": "uniform", "devices": ["phone"], "model": "m", "count": 10**1000,
      "horizon": "1s"}, "count"),
    ({"kind": "poisson", "devices": ["phone"], "model": "m", "rate": 1e6, "horizon": "1h"},
     "rate"),
    ({"kind": "poisson", "devices": ["phone"], "model": "m", "rate": 1e300, "horizon": "1e300s"},
     "rate"),
    ({"kind": "batch", "devices": ["phone"], "model": "m", "count": 1000,
      "samples": [1, 10**9]}, "samples"),
])
def test_generators_beyond_the_limit_are_refused_before_generating(tmp_path, generator, field):
    data = _with(("workload", "generators"), [generator])
    with pytest.raises(ScenarioError) as info:
        load_scenario(_write_yaml(tmp_path, data))
    msg = str(info.value)
    assert f"workload.generators.0.{field}: " in msg and ("exceed" in msg or "more than" in msg)
    assert "SPLITINFER_MAX_" in msg and len(msg.splitlines()) == 1


def test_limits_are_settings(tmp_path, monkeypatch):
    data = _with(("workload",), {"generators": [
        {"kind": "batch", "devices": ["phone"], "model": "m", "count": 4}]})
    path = _write_yaml(tmp_path, data)
    monkeypatch.setenv("SPLITINFER_MAX_TASKS", "3")
    with pytest.raises(WorkloadTooLarge, match=re.escape(
            "4 tasks (count 4 x 1 device(s)) exceed the limit of 3 tasks")):
        load_scenario(path)
    monkeypatch.setenv("SPLITINFER_MAX_TASKS", "4")
    assert len(load_scenario(path).tasks) == 4
    tasks = [{"device": "phone", "model": "m", "samples": 10} for _ in range(5)]
    monkeypatch.setenv("SPLITINFER_MAX_TASKS", "4")
    with pytest.raises(WorkloadTooLarge, match="5 explicit tasks exceed"):
        scenario_from_dict(_with(("workload",), {"tasks": tasks}))
    monkeypatch.setenv("SPLITINFER_MAX_TASKS", "10")
    monkeypatch.setenv("SPLITINFER_MAX_SAMPLES", "49")
    with pytest.raises(WorkloadTooLarge, match="tasks.4.samples: the tasks. samples add up to 50"):
        scenario_from_dict(_with(("workload",), {"tasks": tasks}))
    _one_line_exit_2(_cli("simulate", str(path), "--planner", "local",
                          env={"SPLITINFER_MAX_TASKS": "2"}), "workload.generators.0.count")


def test_duplicate_task_ids_among_many_tasks():
    # 60 000 ids with two duplicates: a quadratic check would take minutes here
    tasks = [{"id": f"t{i}", "device": "phone", "model": "m"} for i in range(60_000)]
    tasks += [{"id": "t7", "device": "phone", "model": "m"}, {"id": "t9", "device": "phone",
                                                              "model": "m"}]
    with pytest.raises(ScenarioError, match=r"duplicate task ids \['t7', 't9'\]"):
        scenario_from_dict(_with(("workload",), {"tasks": tasks}))


# ----------------------------------------------------- point 9: non-finite and absurd values
BAD_VALUES = {
    # name: (field path, value, words in the error)
    "inf bandwidth": (("links", 0, "bandwidth"), math.inf, "finite"),
    "1e999 bandwidth string": (("links", 0, "bandwidth"), "1e999Mbps", "finite"),
    "1e999 latency string": (("links", 0, "latency"), "1e999ms", "finite"),
    "nan slowdown": (("links", 0, "slowdown"), math.nan, "finite"),
    "boolean bandwidth": (("links", 0, "bandwidth"), True, "boolean"),
    "boolean latency": (("links", 0, "latency"), False, "boolean"),
    "boolean slowdown": (("links", 0, "slowdown"), True, "boolean"),
    "boolean flops": (("nodes", 0, "compute", "flops_per_s"), True, "boolean"),
    "boolean count": (("workload", "generators", 0, "rate"), True, "boolean"),
    "boolean concurrency": (("nodes", 1, "concurrency"), True, "boolean"),
    "inf head flops": (("models", "m", "cuts", 1, "head_flops"), math.inf, "finite"),
    "huge int slowdown": (("links", 0, "slowdown"), 10**400, "too large"),
    "huge int flops": (("nodes", 0, "compute", "flops_per_s"), 10**400, "too large"),
    "negative latency": (("links", 0, "latency"), "-5ms", "must not be negative"),
    "negative arrival": (("workload", "tasks", 0, "arrival"), "-1s", "must not be negative"),
    "zero horizon": (("workload", "generators", 0, "horizon"), "0s", "greater than 0"),
    "zero slot": (("slot",), "0ms", "greater than 0"),
    "zero bandwidth": (("links", 0, "bandwidth"), "0Mbps", "must be positive"),
    "negative seed": (("workload", "seed"), -1, "greater than or equal to 0"),
    "samples lo > hi": (("workload", "generators", 0, "samples"), [5, 2], "lo <= hi",
                        "workload.generators.0"),
    "huge concurrency": (("nodes", 1, "concurrency"), 10**30, "less than or equal to"),
}


@pytest.mark.parametrize("kind", sorted(BAD_VALUES))
def test_bad_values_are_refused_with_the_field(tmp_path, kind):
    path, value, words, *where = BAD_VALUES[kind]
    data = _with(path, value)
    field = where[0] if where else ".".join(str(p) for p in path)
    file = tmp_path / "bad.yaml"
    file.write_text(yaml.safe_dump(data))  # safe_dump writes .inf / .nan / huge ints
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    line = next((ln for ln in str(info.value).splitlines() if f": {field}" in ln), None)
    assert line is not None and words in line, str(info.value)


def test_json_infinity_and_nan_are_refused(tmp_path):
    text = json.dumps(GOOD).replace('"20Mbps"', "Infinity").replace('"5ms"', "NaN")
    (tmp_path / "s.json").write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "s.json")
    assert "links.0.bandwidth" in str(info.value) and "links.0.latency" in str(info.value)


def test_bad_value_cli(tmp_path):
    path = _write_yaml(tmp_path, _with(("links", 0, "bandwidth"), True))
    _one_line_exit_2(_cli("simulate", str(path), "--planner", "local"), str(path),
                     "links.0.bandwidth", "boolean")


# --------------------------------------------------------- issue 18.6: units never guessed
def test_bare_bandwidth_and_duration_need_units_in_files(tmp_path):
    for path, value, what in ((("links", 0, "bandwidth"), 60, "60Mbps (units: bps, kbps"),
                              (("links", 0, "latency"), 0.005, "0.005s or 0.005ms (units: s, ms"),
                              (("workload", "tasks", 0, "arrival"), 3, "3s or 3ms"),
                              (("workload", "generators", 0, "horizon"), 10, "10s"),
                              (("slot",), 1, "1s or 1ms"), (("result_return",), 0.1, "0.1s"),
                              # a large bare number: written in bit/s, not as 5000000.0Mbps
                              (("pools",), {"air": 5e6}, "5Mbps if it is in bit/s (units:"),
                              (("links", 0, "bandwidth"), "60", "60Mbps"),   # quoted: still bare
                              (("links", 0, "latency"), " 2.5 ", "2.5s or 2.5ms")):
        data = _with(path, value)
        if path == ("pools",):
            data["links"][0].update(sharing="reserved", pool="air")
            field = "pools.air"
        else:
            field = ".".join(str(p) for p in path)
        with pytest.raises(ScenarioError) as info:
            load_scenario(_write_yaml(tmp_path, data))
        msg = str(info.value)
        assert f"{field}: " in msg and "has no unit; write e.g. " + what in msg, msg
        # the same dict given in Python is read in the library's units
        assert scenario_from_dict(data) is not None


def test_the_issue_example_one_line_via_cli(tmp_path):
    path = _write_yaml(tmp_path, _with(("links", 0, "bandwidth"), 60))
    err = _one_line_exit_2(_cli("simulate", str(path), "--planner", "local"))
    assert err == (f"error: invalid scenario {path}: links.0.bandwidth: 60 has no unit; write "
                   "e.g. 60Mbps (units: bps, kbps, Mbps, Gbps, bit/s, B/s, kB/s, MB/s, GB/s)")
    help_text = " ".join(_cli("simulate", "--help").stdout.replace("│", " ").split())
    assert "bandwidths and durations need units (60Mbps, 5ms" in help_text


def test_zero_and_named_units_need_no_unit(tmp_path):
    data = _with(("links", 0, "latency"), 0)
    data["result_return"] = 0
    data["models"]["m"]["cuts"][0]["transfer_bytes"] = 600000      # "_bytes": bytes
    data["nodes"][0]["compute"]["flops_per_s"] = 2e9               # "_per_s": FLOP/s
    sc = load_scenario(_write_yaml(tmp_path, data))
    assert sc.links[("phone", "edge")].latency == 0 and sc.result_return == 0
    assert sc.nodes["phone"].speed == 2e9


def test_table_rows_with_a_unit(tmp_path):
    data = _with(("nodes", 1, "compute"), {"table": True})
    data["models"]["m"]["table"] = {"edge": {"tail": [30, 0.5], "unit": "ms"}}
    sc = load_scenario(_write_yaml(tmp_path, data))
    assert sc.models["m"].table_tail["edge"].tolist() == pytest.approx([0.03, 0.0005])
    data["models"]["m"]["table"] = {"edge": {"tail": [30, 0]}}
    with pytest.raises(ScenarioError, match=r"models.m.table.edge.tail.0: 30 has no unit"):
        load_scenario(_write_yaml(tmp_path, data))
    data["models"]["m"]["table"] = {"edge": {"tail": [30, 0], "unit": "parsecs"}}
    with pytest.raises(ScenarioError, match=r"models.m.table.edge.unit: Input should be 's'"):
        load_scenario(_write_yaml(tmp_path, data))


def test_overrides_from_python_keep_library_units(tmp_path):
    path = _write_yaml(tmp_path, GOOD)
    sc = load_scenario(path, workload={"tasks": [{"device": "phone", "model": "m",
                                                  "arrival": 0.25}]})
    assert [t.arrival for t in sc.tasks] == [0.25]
    bad = _write_yaml(tmp_path, _with(("links", 0, "bandwidth"), 60), "bad.yaml")
    with pytest.raises(ScenarioError, match="60 has no unit"):
        load_scenario(bad, workload=GOOD["workload"])


@pytest.mark.parametrize("seed", range(5))
def test_scenario_file_dict_round_trips_exactly(tmp_path, seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    data = json.loads(json.dumps(GOOD))
    data["links"][0].update(bandwidth=float(rng.uniform(1, 1e10)),
                            latency=float(rng.uniform(0, 1)))
    data["slot"] = float(rng.uniform(1e-6, 1))
    data["workload"]["tasks"][0]["arrival"] = float(rng.uniform(0, 100))
    data["workload"]["generators"][0]["horizon"] = float(rng.uniform(0.1, 10))
    data["nodes"][1]["compute"] = {"table": True}
    data["models"]["m"]["table"] = {"edge": {"tail": [float(rng.uniform(0, 1)), 0.0]}}
    a = scenario_from_dict(data)
    file = _write_yaml(tmp_path, scenario_file_dict(data))
    b = load_scenario(file)
    assert b.links == a.links and b.slot == a.slot and b.tasks == a.tasks
    assert b.models["m"].table_tail["edge"].tolist() == a.models["m"].table_tail["edge"].tolist()


def test_hostile_inputs_take_bounded_memory(tmp_path):
    """Each hostile input, through the command, peaks far below what reading or generating it
    would take (/dev/zero is endless; the sparse file is 64 GiB; the alias bomb expands to 10^9
    values; the Poisson generator asks for 3.6 x 10^9 tasks)."""
    sparse = tmp_path / "huge.yaml"
    with open(sparse, "wb") as fh:
        fh.truncate(64 * 2**30)
    bomb = tmp_path / "bomb.yaml"
    bomb.write_bytes(HOSTILE_FILES["alias bomb"][1])
    many = _write_yaml(tmp_path, _with(("workload", "generators"), [
        {"kind": "poisson", "devices": ["phone"], "model": "m", "rate": 1e6, "horizon": "1h"}]))
    files = ["/dev/zero", str(sparse), str(bomb), str(many)]
    # a fresh parent measures only its own children: the peak resident size of the four runs
    probe = ("import resource, subprocess, sys\n"
             "codes = [subprocess.run([sys.argv[1], 'simulate', f, '--planner', 'local'],\n"
             "                        capture_output=True).returncode for f in sys.argv[2:]]\n"
             "print(codes, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    r = subprocess.run([sys.executable, "-c", probe, str(CLI), *files], capture_output=True,
                       text=True, timeout=600)
    codes, peak_kib = r.stdout.rsplit("]", 1)
    assert codes + "]" == "[2, 2, 2, 2]", r.stdout + r.stderr
    assert int(peak_kib) < 1024 * 1024, f"peak {int(peak_kib) / 1024:.0f} MiB"  # < 1 GiB
