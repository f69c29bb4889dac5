"""Scenarios for measuring how well the simulator predicts a real run (fidelity).

One scenario per paper, plus the demo, each small enough to run for real in about a minute on a
two-core machine (calibration included) and each with its paper's planners and baselines
(:data:`FIDELITY`). In every paper scenario offloading pays: the devices are *paced* slower than
this machine (``compute: {flops_per_s: ...}`` below the few tens of GFLOP/s one core of it
reaches, so the runtime holds each device stage for its scenario time), and the servers are this
machine (``hardware: cpu-1t``, the shipped one-thread profile; a server can never be faster than
the hardware it runs on) or, where a paper's planner times compute by FLOPs, a FLOP/s clearly
below this machine's, so that they are paced too.

* ``fidelity-demo`` — the shipped demo (``data/scenarios/demo.yaml``): ResNet18, a phone, two
  edge servers and a cloud, Wi-Fi/4G/backhaul links with their latencies, a burst of 8 frames;
  the phone is paced at 5 GFLOP/s (the demo's is this machine's shipped profile, so that on
  this machine nothing would pay to offload).
* ``fidelity-shi2021`` — Shi et al., GSPI (2021), section 4 scaled: VGG16 on CIFAR-10
  (``vgg16-cifar``), one end device with unlimited concurrency ("no waiting tasks on the
  device") paced at 1.5 GFLOP/s, two edge servers, a dedicated 4 Mbit/s link to each, 10 tasks
  80 ms apart.
* ``fidelity-li2022`` — Li et al., fused-layer offloading (2022), section IV scaled: AlexNet with
  its shipped fused-layer geometry, a device paced at 2 GFLOP/s, one ES computing one path at a
  time at 8 GFLOP/s (also paced: the FL timing model counts FLOPs, eqs. 1, 3), a FIFO 40 Mbit/s
  wireless link, no result return (eq. 6), 4 tasks 0.6 s apart.
* ``fidelity-huang2019`` — Huang et al., DeePar (2019), Fig. 1 scaled: AlexNet over a phone paced
  at 3 GFLOP/s, an edge server (one slot) and a cloud, with reserved bandwidth on both hops
  (40 Mbit/s access, 100 Mbit/s backbone), 6 tasks 0.25 s apart from two phones.
* ``fidelity-duan2021`` — Duan & Wu, JPS (2021), section 6 scaled: 10 AlexNet jobs at time 0 on a
  device paced at 4 GFLOP/s, a FIFO 40 Mbit/s uplink, a cloud that runs one job at a time (the
  paper's cloud is "negligible" compute, which a CPU process here is not, and unlimited
  parallelism on 2 cores would not be physical).
* ``fidelity-zheng2021`` — Zheng, DMCJIA (2021), section 4.2 scaled: two edge nodes (devices
  here, paced at 2 GFLOP/s, one FIFO processor each) with MobileNetV2 tasks arriving as Poisson
  processes (2 per second for 3 s each), dedicated 50 Mbit/s links, one divisible cloud at
  10 GFLOP/s (also paced: DMCJIA counts FLOPs) whose shares delta serve each node's tasks in
  their own lane.

Each is a plain scenario dict (:func:`fidelity_scenario`), runnable with
``splitinfer run fidelity-<key> --planner P --view original --verify``; the calibrated copy that
describes this machine is made by :func:`splitinfer.runtime.run.run_scenario`. The run uses the
controller's ``--view original`` (the scenario as given) because the planners of Li et al. and
Zheng time compute by FLOP/s, which the calibrated view replaces by measured profiles; the
prediction always simulates the executed plan on the calibrated scenario.

Examples
--------
>>> sorted(FIDELITY)  # doctest: +NORMALIZE_WHITESPACE
['fidelity-demo', 'fidelity-duan2021', 'fidelity-huang2019', 'fidelity-li2022',
 'fidelity-shi2021', 'fidelity-zheng2021']
>>> FIDELITY["fidelity-duan2021"].planners
('jps', 'jps-bf', 'po', 'lo', 'co')
>>> fidelity_scenario("fidelity-shi2021")["models"]
{'vgg16-cifar': {'profile': 'vgg16-cifar@cpu-1t', 'profiles': {'cpu-1t': 'vgg16-cifar@cpu-1t'}}}
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from splitinfer.errors import unknown_name

__all__ = ["FIDELITY", "FidelityScenario", "fidelity_scenario", "fidelity_names"]


def _profiled(model: str) -> dict[str, Any]:
    """A zoo model with its shipped one-thread profile (runnable for real)."""
    return {"profile": f"{model}@cpu-1t", "profiles": {"cpu-1t": f"{model}@cpu-1t"}}


_HERE = {"hardware": "cpu-1t"}   # a server that is this machine (the shipped 1-thread profile)


def _demo() -> dict[str, Any]:
    from splitinfer.data import shipped_scenario_path
    from splitinfer.system.load import read_scenario_file

    d = read_scenario_file(shipped_scenario_path("demo"))
    d["name"] = "fidelity-demo"
    d["description"] = ("the demo with its phone paced at 5 GFLOP/s (ResNet18, two edge servers "
                        "and a cloud, Wi-Fi/4G, a burst of 8 frames)")
    for node in d["nodes"]:
        if node["name"] == "phone":
            node["compute"] = {"flops_per_s": "5GFLOPS"}
    return d


def _shi2021() -> dict[str, Any]:
    model = "vgg16-cifar"
    return {
        "name": "fidelity-shi2021",
        "description": "Shi et al. GSPI section 4 scaled: vgg16-cifar, an end device paced at "
                       "1.5 GFLOP/s, two edge servers, dedicated 4 Mbit/s links, 10 tasks 80 ms "
                       "apart",
        "objective": "mean_latency",
        "nodes": [{"name": "end", "kind": "device", "compute": {"flops_per_s": "1.5GFLOPS"},
                   "concurrency": None},
                  {"name": "server1", "kind": "edge", "compute": dict(_HERE)},
                  {"name": "server2", "kind": "edge", "compute": dict(_HERE)}],
        "links": [{"src": "end", "dst": f"server{k}", "bandwidth": "4Mbps",
                   "sharing": "dedicated"} for k in (1, 2)],
        "models": {model: _profiled(model)},
        "workload": {"tasks": [{"device": "end", "model": model, "arrival": round(0.08 * i, 3)}
                               for i in range(10)]},
    }


def _li2022() -> dict[str, Any]:
    model = "alexnet"
    return {
        "name": "fidelity-li2022",
        "description": "Li et al. fused-layer offloading section IV scaled: alexnet (shipped FL "
                       "geometry), a device paced at 2 GFLOP/s, one ES at 8 GFLOP/s computing "
                       "one path at a time, FIFO 40 Mbit/s link, 4 tasks 0.6 s apart",
        "objective": "mean_latency",
        "result_return": 0.0,
        "nodes": [{"name": "phone", "kind": "device", "compute": {"flops_per_s": "2GFLOPS"}},
                  {"name": "es", "kind": "edge", "compute": {"flops_per_s": "8GFLOPS"},
                   "concurrency": 1}],
        "links": [{"src": "phone", "dst": "es", "bandwidth": "40Mbps", "sharing": "fifo"}],
        "models": {model: _profiled(model)},
        "workload": {"tasks": [{"device": "phone", "model": model, "arrival": round(0.6 * i, 3)}
                               for i in range(4)]},
        "extra": {"fused": {model: model}},
    }


def _huang2019() -> dict[str, Any]:
    model = "alexnet"
    return {
        "name": "fidelity-huang2019",
        "description": "Huang et al. DeePar Fig. 1 scaled: alexnet on two phones paced at "
                       "3 GFLOP/s, an edge server with one slot and a cloud, reserved 40 Mbit/s "
                       "access and 100 Mbit/s backbone, 6 tasks 0.25 s apart",
        "objective": "mean_latency",
        "nodes": [{"name": "phone0", "kind": "device", "compute": {"flops_per_s": "3GFLOPS"}},
                  {"name": "phone1", "kind": "device", "compute": {"flops_per_s": "3GFLOPS"}},
                  {"name": "edge", "kind": "edge", "compute": dict(_HERE), "concurrency": 1},
                  {"name": "cloud", "kind": "cloud", "compute": dict(_HERE), "concurrency": 1}],
        "pools": {"edge.access": "40Mbps", "edge.backbone": "100Mbps"},
        "links": [*({"src": f"phone{k}", "dst": "edge", "bandwidth": "40Mbps",
                     "sharing": "reserved", "pool": "edge.access"} for k in (0, 1)),
                  {"src": "edge", "dst": "cloud", "bandwidth": "100Mbps", "sharing": "reserved",
                   "pool": "edge.backbone"}],
        "models": {model: _profiled(model)},
        "workload": {"tasks": [{"device": f"phone{i % 2}", "model": model,
                                "arrival": round(0.25 * i, 3)} for i in range(6)]},
    }


def _duan2021() -> dict[str, Any]:
    model = "alexnet"
    return {
        "name": "fidelity-duan2021",
        "description": "Duan & Wu JPS section 6 scaled: 10 alexnet jobs at time 0, a device paced "
                       "at 4 GFLOP/s, FIFO 40 Mbit/s uplink, a cloud running one job at a time",
        "objective": "makespan",
        "result_return": 0.0,
        "nodes": [{"name": "pi", "kind": "device", "compute": {"flops_per_s": "4GFLOPS"}},
                  {"name": "cloud", "kind": "cloud", "compute": dict(_HERE), "concurrency": 1}],
        "links": [{"src": "pi", "dst": "cloud", "bandwidth": "40Mbps", "sharing": "fifo"}],
        "models": {model: _profiled(model)},
        "workload": {"generators": [{"kind": "batch", "devices": ["pi"], "model": model,
                                     "count": 10}]},
    }


def _zheng2021() -> dict[str, Any]:
    model = "mobilenet_v2"
    nodes = ("edge0", "edge1")
    return {
        "name": "fidelity-zheng2021",
        "description": "Zheng DMCJIA section 4.2 scaled: two edge nodes paced at 2 GFLOP/s with "
                       "Poisson mobilenet_v2 tasks (2/s for 3 s), dedicated 50 Mbit/s links, a "
                       "divisible cloud at 10 GFLOP/s",
        "objective": "mean_latency",
        "result_return": 0.0,
        "nodes": [*({"name": n, "kind": "device", "compute": {"flops_per_s": "2GFLOPS"},
                     "concurrency": 1} for n in nodes),
                  {"name": "cloud", "kind": "cloud", "compute": {"flops_per_s": "10GFLOPS"},
                   "concurrency": 1, "divisible": True}],
        "links": [{"src": n, "dst": "cloud", "bandwidth": "50Mbps", "sharing": "dedicated"}
                  for n in nodes],
        "models": {model: _profiled(model)},
        "workload": {"seed": 0, "generators": [
            {"kind": "poisson", "devices": [n], "model": model, "rate": 2.0, "horizon": "3s"}
            for n in nodes]},
        "extra": {"dmcjia": {"arrival_rates": dict.fromkeys(nodes, 2.0)}},
    }


@dataclass(frozen=True)
class FidelityScenario:
    """A fidelity scenario: its paper, how to build it and which planners to run on it.

    Parameters
    ----------
    name : str
        ``fidelity-<paper key>`` (or ``fidelity-demo``).
    paper : str or None
        Paper key (:data:`splitinfer.papers.PAPERS`); ``None`` for the demo.
    planners : tuple of str
        The paper's planners and baselines, as registered.
    build : callable
        Returns the scenario dict.
    """

    name: str
    paper: str | None
    planners: tuple[str, ...]
    build: Callable[[], dict[str, Any]]


FIDELITY: dict[str, FidelityScenario] = {s.name: s for s in (
    FidelityScenario("fidelity-demo", None, ("neurosurgeon", "dads", "local"), _demo),
    FidelityScenario("fidelity-shi2021", "shi2021",
                     ("gspi", "gspi-online", "end-only", "server-only"), _shi2021),
    FidelityScenario("fidelity-li2022", "li2022", ("mw", "fl-bf", "nfl"), _li2022),
    FidelityScenario("fidelity-huang2019", "huang2019",
                     ("deepar", "deepar-edge-only", "deepar-cloud-only", "deepar-device-only"),
                     _huang2019),
    FidelityScenario("fidelity-duan2021", "duan2021", ("jps", "jps-bf", "po", "lo", "co"),
                     _duan2021),
    FidelityScenario("fidelity-zheng2021", "zheng2021",
                     ("dmcjia", "greedy", "cloud-only", "zheng-neurosurgeon"), _zheng2021),
)}


def fidelity_names() -> list[str]:
    """Names of the fidelity scenarios, the demo first, then by paper key.

    Examples
    --------
    >>> fidelity_names()[:2]
    ['fidelity-demo', 'fidelity-duan2021']
    """
    return sorted(FIDELITY, key=lambda n: (FIDELITY[n].paper is not None, n))


def fidelity_scenario(name: str, max_tasks: int | None = None) -> dict[str, Any]:
    """The scenario dict of a fidelity scenario (module docstring).

    Parameters
    ----------
    name : str
        ``fidelity-<paper key>`` or ``fidelity-demo``.
    max_tasks : int, optional
        Keep only the first ``max_tasks`` tasks (by arrival), written as an explicit task list:
        a tiny version of the scenario for tests.

    Returns
    -------
    dict

    Raises
    ------
    UnknownNameError
        For a name that is not in :data:`FIDELITY` (the message lists close matches).

    Examples
    --------
    >>> [t["id"] for t in fidelity_scenario("fidelity-duan2021", max_tasks=2)["workload"]["tasks"]]
    ['t0', 't1']
    """
    if name not in FIDELITY:
        raise unknown_name("fidelity scenario", name, sorted(FIDELITY))
    d = copy.deepcopy(FIDELITY[name].build())
    if max_tasks is not None:
        from splitinfer.system.load import scenario_from_dict

        tasks = scenario_from_dict(copy.deepcopy(d)).tasks[:max_tasks]
        d["workload"] = {"tasks": [{"id": t.id, "device": t.device, "model": t.model,
                                    "samples": t.samples, "arrival": float(t.arrival)}
                                   for t in tasks]}
    return d
