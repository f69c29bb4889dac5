"""Invalid scenario files: each kind is rejected, nothing runs, and the message names the file, the
field path and what was expected."""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from splitinfer.errors import ScenarioError
from splitinfer.system import load_scenario

BASE = {
    "name": "valid",
    "nodes": [
        {"name": "phone", "kind": "device", "compute": {"flops_per_s": "2GFLOPS"}},
        {"name": "edge", "kind": "edge", "compute": {"table": True}, "concurrency": 2},
        {"name": "cloud", "kind": "cloud", "compute": {"flops_per_s": "1TFLOPS"},
         "divisible": True},
    ],
    "links": [
        {"src": "phone", "dst": "edge", "bandwidth": "20Mbps", "latency": "5ms",
         "sharing": "reserved", "pool": "air"},
        {"src": "edge", "dst": "cloud", "bandwidth": "1Gbps", "sharing": "fifo"},
    ],
    "pools": {"air": "50Mbps"},
    "models": {"m": {
        "cuts": [{"transfer_bytes": "600KB", "head_flops": 0},
                 {"transfer_bytes": "200KB", "head_flops": 1e9},
                 {"transfer_bytes": "4KB", "head_flops": 3e9}],
        "table": {"edge": {"head": ["0ms", "10ms", "30ms"]}}}},
    "workload": {"seed": 3,
                 "tasks": [{"device": "phone", "model": "m", "arrival": "10ms"}],
                 "generators": [{"kind": "poisson", "devices": ["phone"], "model": "m",
                                 "rate": 5, "horizon": "2s"}]},
}


def _write(tmp_path, data, name="bad.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data) if isinstance(data, dict) else data)
    return path


def test_base_scenario_is_valid(tmp_path):
    sc = load_scenario(_write(tmp_path, BASE, "ok.yaml"))
    assert sc.nodes["edge"].concurrency == 2 and sc.links[("phone", "edge")].rate == 20e6
    assert sc.links[("edge", "phone")].latency == 0.005       # reverse direction added
    assert sc.pools["air"] == 50e6 and len(sc.tasks) > 1


def _set(path, value):
    def edit(d):
        *head, last = path
        for k in head:
            d = d[k]
        d[last] = value
    return edit


def _delete(path):
    def edit(d):
        *head, last = path
        for k in head:
            d = d[k]
        del d[last]
    return edit


def _append(path, value):
    def edit(d):
        for k in path:
            d = d[k]
        d.append(value)
    return edit


CASES = {
    # kind: (edit, field path in the message, what the message says was expected)
    "unknown field": (_set(("nodes", 0, "cpu_speed"), 3), "nodes.0.cpu_speed", "unknown field"),
    "unknown top-level field": (_set(("objectiv",), "makespan"), "objectiv", "unknown field"),
    "wrong unit string": (_set(("links", 0, "bandwidth"), "20 Mbsp"), "links.0.bandwidth",
                          "unknown unit"),
    "time unit on a bandwidth": (_set(("links", 0, "bandwidth"), "20ms"), "links.0.bandwidth",
                                 "unknown unit"),
    "negative bandwidth": (_set(("links", 1, "bandwidth"), "-1Gbps"), "links.1.bandwidth",
                           "must be positive"),
    "negative latency": (_set(("links", 0, "latency"), "-10ms"), "links.0.latency",
                         "must not be negative"),
    "unknown node in link": (_set(("links", 1, "dst"), "clod"), "links.1.dst",
                             "unknown node 'clod'"),
    "unknown model in task": (_set(("workload", "tasks", 0, "model"), "resnet"),
                              "workload.tasks.0.model", "unknown model 'resnet'"),
    "unknown model in generator": (_set(("workload", "generators", 0, "model"), "x"),
                                   "workload.generators.0.model", "unknown model 'x'"),
    "device not a device": (_set(("workload", "tasks", 0, "device"), "edge"),
                            "workload.tasks.0.device", "'edge' is not a device node"),
    "generator on a server": (_set(("workload", "generators", 0, "devices"), ["cloud"]),
                              "workload.generators.0.devices", "'cloud' is not a device node"),
    "table row length mismatch": (_set(("models", "m", "table", "edge", "head"), [0, "1ms"]),
                                  "models.m.table.edge", "expected 3 values (one per cut), got 2"),
    "table row for unknown node": (_set(("models", "m", "table", "edgy"),
                                        {"head": [0, 1, 2], "unit": "ms"}),
                                   "models.m.table.edgy", "unknown node 'edgy'"),
    "table node without a row": (_delete(("models", "m", "table", "edge")), "models.m.table",
                                 "no row for node 'edge'"),
    "table row with head and tail": (_set(("models", "m", "table", "edge", "tail"),
                                          ["3ms", "2ms", 0]),
                                     "models.m.table.edge", "exactly one of 'head' or 'tail'"),
    "missing compute": (_delete(("nodes", 0, "compute")), "nodes.0.compute", "Field required"),
    "two compute models": (_set(("nodes", 0, "compute", "table"), True), "nodes.0.compute",
                           "exactly one of 'hardware', 'flops_per_s' or 'table: true'"),
    "both bandwidth and shannon": (
        _set(("links", 1, "shannon"), {"bandwidth_hz": "5MHz", "power_w": 0.1, "gain": 1e-6,
                                       "noise_w": 1e-9}),
        "links.1", "exactly one of 'bandwidth' or 'shannon'"),
    "neither bandwidth nor shannon": (_delete(("links", 1, "bandwidth")), "links.1",
                                      "exactly one of 'bandwidth' or 'shannon'"),
    "pool unknown": (_set(("links", 0, "pool"), "airr"), "links.0.pool", "unknown pool 'airr'"),
    "pool on a non-reserved link": (_set(("links", 1, "pool"), "air"), "links.1",
                                    "only meaningful with sharing: reserved"),
    "bad sharing": (_set(("links", 1, "sharing"), "shared"), "links.1.sharing",
                    "'dedicated', 'fifo' or 'reserved'"),
    "slot tasks without slot": (_set(("workload", "tasks", 0), {"device": "phone", "model": "m",
                                                                "slot": 3}),
                                "slot", "tasks are given by slot"),
    "arrival and slot": (_set(("workload", "tasks", 0, "slot"), 2), "workload.tasks.0",
                         "'arrival' or 'slot', not both"),
    "duplicate node": (_append(("nodes",), {"name": "edge", "kind": "edge",
                                            "compute": {"flops_per_s": 1e9}}),
                       "nodes.3.name", "duplicate node name 'edge'"),
    "duplicate link": (_append(("links",), {"src": "phone", "dst": "edge", "bandwidth": "1Mbps",
                                            "sharing": "reserved", "pool": "air"}),
                       "links.2", "duplicate link phone->edge"),
    "duplicate task id": (_set(("workload", "tasks"), [
        {"id": "a", "device": "phone", "model": "m"}, {"id": "a", "device": "phone", "model": "m"}]),
        "workload.tasks", "duplicate task ids ['a']"),
    "link to itself": (_set(("links", 1, "dst"), "edge"), "links.1", "two different ends"),
    "zero concurrency": (_set(("nodes", 1, "concurrency"), 0), "nodes.1.concurrency",
                         "greater than or equal to 1"),
    "divisible device": (_set(("nodes", 0, "divisible"), True), "nodes.0.divisible",
                         "only servers can be divisible"),
    "unknown node kind": (_set(("nodes", 2, "kind"), "fog"), "nodes.2.kind",
                          "'device', 'edge' or 'cloud'"),
    "bad node name": (_set(("nodes", 0, "name"), "my phone"), "nodes.0.name",
                      "should match pattern"),
    "poisson without rate": (_delete(("workload", "generators", 0, "rate")),
                             "workload.generators.0", "needs 'rate'"),
    "empty workload": (_set(("workload",), {"seed": 1}), "workload", "no 'tasks' and no"),
    "unknown objective": (_set(("objective",), "throughput"), "objective",
                          "'mean_latency', 'makespan' or 'mean_sojourn'"),
    "one-cut model": (_set(("models", "m", "cuts"), [{"transfer_bytes": 1}]), "models.m",
                      "at least 2 cuts"),
    "decreasing head flops": (_set(("models", "m", "cuts", 2, "head_flops"), 1),
                              "models.m.cuts", "must not decrease"),
    "unknown shipped profile": (_set(("models", "m"), {"profile": "nosuchnet@cpu-1t"}),
                                "models.m.profile", "unknown profile 'nosuchnet@cpu-1t'"),
    "no profile for a hardware node": (_set(("nodes", 0, "compute"), {"hardware": "pixel"}),
                                       "models.m.profiles", "no profile for hardware 'pixel'"),
    "pool capacity not positive": (_set(("pools", "air"), 0), "pools.air", "must be positive"),
    "samples zero": (_set(("workload", "tasks", 0, "samples"), 0), "workload.tasks.0.samples",
                     "greater than or equal to 1"),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_invalid_scenario_names_file_path_and_expectation(tmp_path, kind):
    edit, path, expected = CASES[kind]
    data = copy.deepcopy(BASE)
    edit(data)
    file = _write(tmp_path, data, f"case_{abs(hash(kind)) % 10**6}.yaml")
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    lines = str(info.value).splitlines()
    assert lines[0].startswith(f"invalid scenario {file}")
    # one problem: one line "invalid scenario FILE: FIELD: ..."; several: a header, then
    # "  FILE: FIELD: ..." per problem
    hit = [ln for ln in lines if ln.startswith((f"  {file}: {path}: ",
                                                f"invalid scenario {file}: {path}: "))]
    assert hit, f"no line for field {path!r} in:\n{info.value}"
    assert any(expected in ln for ln in hit), f"{expected!r} not in {hit}"


def test_all_problems_are_reported_at_once(tmp_path):
    data = copy.deepcopy(BASE)
    data["links"][1]["dst"] = "nowhere"
    data["workload"]["tasks"][0]["model"] = "nomodel"
    data["nodes"][1]["concurrency"] = 2
    with pytest.raises(ScenarioError, match="2 problems") as info:
        load_scenario(_write(tmp_path, data))
    assert "links.1.dst" in str(info.value) and "workload.tasks.0.model" in str(info.value)


def test_malformed_yaml_names_file_and_position(tmp_path):
    path = _write(tmp_path, "nodes:\n  - name: a\n    kind: [device\n")
    with pytest.raises(ScenarioError, match=r"(?s)cannot parse scenario file .*bad\.yaml.*line 3, column 11"):
        load_scenario(path)


def test_malformed_json_and_non_mapping(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"nodes": [}')
    with pytest.raises(ScenarioError, match=r"cannot parse scenario file .*bad\.json.*line 1"):
        load_scenario(path)
    with pytest.raises(ScenarioError, match="expected a mapping at the top level, got list"):
        load_scenario(_write(tmp_path, "- 1\n- 2\n", "list.yaml"))


def test_json_is_accepted(tmp_path):
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(BASE))
    assert load_scenario(path).name == "valid"


def test_missing_file_and_unknown_shipped_name(tmp_path):
    with pytest.raises(ScenarioError, match="does not exist"):
        load_scenario(tmp_path / "none.yaml")
    with pytest.raises(KeyError, match="unknown scenario 'no-such-scenario'"):
        load_scenario("no-such-scenario")


def test_nodes_that_cannot_time_a_model_are_each_reported_in_node_then_model_order(tmp_path):
    """Every (node, model) pair missing a timing is one problem, ordered by node then model,
    whether the node is timed by a hardware profile or by a table row."""
    data = copy.deepcopy(BASE)
    data["nodes"][0]["compute"] = {"hardware": "pixel"}
    data["nodes"].insert(1, {"name": "watch", "kind": "device", "compute": {"hardware": "pixel"}})
    data["nodes"].append({"name": "edge2", "kind": "edge", "compute": {"table": True}})
    data["models"]["m2"] = copy.deepcopy(data["models"]["m"])
    with pytest.raises(ScenarioError) as info:
        load_scenario(_write(tmp_path, data))
    got = [ln.split(": ", 2)[1:] for ln in str(info.value).splitlines()[1:]]
    assert got == [
        ["models.m.profiles", "no profile for hardware 'pixel' used by node 'phone'"],
        ["models.m2.profiles", "no profile for hardware 'pixel' used by node 'phone'"],
        ["models.m.profiles", "no profile for hardware 'pixel' used by node 'watch'"],
        ["models.m2.profiles", "no profile for hardware 'pixel' used by node 'watch'"],
        ["models.m.table", "no row for node 'edge2' (its compute is 'table')"],
        ["models.m2.table", "no row for node 'edge2' (its compute is 'table')"]]


def test_a_bad_profile_named_by_several_models_is_reported_for_each(tmp_path):
    data = copy.deepcopy(BASE)
    data["models"] = {k: {"profile": "nosuchnet@cpu-1t"} for k in ("a", "b")}
    data["workload"] = {"tasks": [{"device": "phone", "model": "a"}]}
    with pytest.raises(ScenarioError) as info:
        load_scenario(_write(tmp_path, data))
    text = str(info.value)
    assert "models.a.profile: unknown profile 'nosuchnet@cpu-1t'" in text
    assert "models.b.profile: unknown profile 'nosuchnet@cpu-1t'" in text


def test_a_file_with_thousands_of_problems_lists_the_first_and_counts_the_rest(tmp_path):
    from splitinfer.system.load import MAX_LISTED

    data = copy.deepcopy(BASE)
    data["workload"] = {"tasks": [{"device": "phone", "model": "m", "arrival": 0.001 * k}
                                  for k in range(1, 3001)]}
    data["links"][0]["bandwidth"] = 20e6
    with pytest.raises(ScenarioError) as info:
        load_scenario(_write(tmp_path, data))
    lines = str(info.value).splitlines()
    assert lines[0].endswith(": 3001 problems") and len(lines) == MAX_LISTED + 2
    assert "links.0.bandwidth: 20000000.0 has no unit; write e.g. 20Mbps if it is in bit/s" \
        in lines[1]
    assert lines[-1] == f"  ... and {3001 - MAX_LISTED} more (in workload); fix these and load " \
        "the file again"
