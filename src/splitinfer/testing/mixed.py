"""Random small scenarios that mix scenario features the per-paper families keep apart.

Issue 17 found two defects from outside, on scenarios that combine features no family combines:
a constant ``result_return`` with reserved links, zero-duration stages, and one bandwidth pool
shared by both directions of a reserved link. :func:`mixed_scenario_dict` draws small
scenarios over the cross-product of such features (:func:`draw_features`, :func:`mixed_cases`),
and :func:`check_case` runs every planner that declares itself applicable on one of them against
the proven optimum of ``exact`` over the same (chain) plan space: feasible, deterministic, never
below the bound. ``tests/test_mixed_conformance.py`` runs a few cases in ``make test``,
``benchmarks/bench_mixed.py`` many more in ``make bench``; ``tests/test_exact_honest.py`` holds
``exact`` to its own bound on such scenarios.

Examples
--------
>>> d = mixed_scenario_dict(0, zero_stage=True, shared_pool=True)
>>> sorted(d["pools"]), d["result_return"] is None
(['edge0.link'], True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from splitinfer.system.load import scenario_from_dict
from splitinfer.system.scenario import Scenario

__all__ = ["FEATURES", "mixed_scenario_dict", "mixed_scenario", "draw_features", "mixed_cases",
           "CaseReport", "check_case", "EXACT_PARAMS"]

#: ``exact``'s limits in the suite: CP-SAT's deterministic time (reproducible), a generous clock
EXACT_PARAMS = {"work_limit": 0.2, "time_limit_s": 300.0}

#: the features drawn (each on or off)
FEATURES = ("constant_return", "reserved", "zero_stage", "shared_pool", "releases_apart",
            "one_slot_edge", "cloud", "shared_device", "samples", "divisible")


def mixed_scenario_dict(seed: int, *, max_tasks: int = 3, constant_return: bool = False,
                        reserved: bool = True, zero_stage: bool = False,
                        shared_pool: bool = False, releases_apart: bool = False,
                        one_slot_edge: bool = True, cloud: bool = False,
                        shared_device: bool = False, samples: bool = False,
                        divisible: bool = False) -> dict[str, Any]:
    """A random scenario dict with the named features (all drawn from ``seed``).

    Parameters
    ----------
    seed : int
    max_tasks : int
        2 to ``max_tasks`` tasks.
    constant_return : bool
        A constant ``result_return`` delay instead of returning the output over the links.
    reserved : bool
        Device <-> edge links are ``reserved`` (else ``fifo``).
    zero_stage : bool
        The model has a cut whose piece costs no FLOPs (a zero-duration compute stage) and a
        last cut whose output is 0 bytes on a latency-free link (a zero-duration transfer).
    shared_pool : bool
        Every reserved link of an edge, uplink and downlink alike, draws from one pool (needs
        ``reserved``).
    releases_apart : bool
        Tasks arrive spread over a second instead of together.
    one_slot_edge : bool
        Edge servers run one stage at a time.
    cloud : bool
        A cloud behind the edges (FIFO links both ways, two slots): three-tier chains.
    shared_device : bool
        The last task runs on ``dev0`` too (two tasks queue on one device).
    samples : bool
        Every task carries 1 to 3 samples.
    divisible : bool
        The cloud (or, without one, ``edge0``) is divisible: planners give each task a share
        of it. ``exact`` does not plan shares, so such a case has no bound.

    The features ``cloud``, ``shared_device``, ``samples`` and ``divisible`` draw from a
    separate stream (or none), so turning them off gives the scenario drawn before they
    existed.
    """
    rng = np.random.default_rng([seed, 1717])
    n_tasks = int(rng.integers(2, max(2, max_tasks) + 1))
    n_edge = int(rng.integers(1, 3))
    nodes: list[dict[str, Any]] = [
        {"name": f"dev{d}", "kind": "device", "concurrency": 1,
         "compute": {"flops_per_s": float(rng.uniform(1e9, 4e9))}} for d in range(n_tasks)]
    nodes += [{"name": f"edge{e}", "kind": "edge",
               "concurrency": 1 if one_slot_edge else int(rng.integers(2, 4)),
               "compute": {"flops_per_s": float(rng.uniform(8e9, 4e10))}} for e in range(n_edge)]
    pools: dict[str, float] = {}
    links: list[dict[str, Any]] = []
    for e in range(n_edge):
        if reserved and shared_pool:
            pools[f"edge{e}.link"] = float(rng.uniform(1.2e7, 3e7))
    for d in range(n_tasks):
        for e in range(n_edge):
            if e > 0 and rng.random() < 0.5:
                continue
            rate = float(rng.uniform(4e6, 2e7))
            for src, dst in ((f"dev{d}", f"edge{e}"), (f"edge{e}", f"dev{d}")):
                link: dict[str, Any] = {"src": src, "dst": dst, "bandwidth": rate,
                                        "sharing": "reserved" if reserved else "fifo"}
                if reserved and shared_pool:
                    link["pool"] = f"edge{e}.link"
                    # a cap above the pool could never be reserved at cap (every plan that
                    # uses the link at its cap would be infeasible): at most the pool
                    link["bandwidth"] = min(rate, pools[f"edge{e}.link"])
                links.append(link)
    total = float(rng.uniform(2e8, 2e9))
    n_cuts = int(rng.integers(3, 6))
    head = np.concatenate([[0.0], np.cumsum(rng.dirichlet(np.ones(n_cuts - 1)) * total)])
    size = float(rng.uniform(5e4, 4e5))
    cuts = [{"name": f"c{c}", "transfer_bytes": round(size * float(rng.uniform(0.1, 1.0)) ** c),
             "head_flops": float(head[c])} for c in range(n_cuts)]
    if zero_stage:
        k = int(rng.integers(1, n_cuts - 1))
        cuts[k + 1]["head_flops"] = cuts[k]["head_flops"]  # a piece of no FLOPs
        cuts[-1]["transfer_bytes"] = 0.0  # the output: a zero-duration return
    else:
        cuts[-1]["transfer_bytes"] = float(rng.integers(64, 4096))
    arrivals = (np.round(np.sort(rng.uniform(0.0, 1.0, n_tasks)), 4) if releases_apart
                else np.zeros(n_tasks))
    tasks = [{"id": f"t{i}", "device": f"dev{i}", "model": "m", "arrival": float(arrivals[i])}
             for i in range(n_tasks)]
    extra = np.random.default_rng([seed, 1718])
    if samples:
        for t in tasks:
            t["samples"] = int(extra.integers(1, 4))
    if shared_device and n_tasks > 1:
        gone = tasks[-1]["device"]
        tasks[-1]["device"] = "dev0"
        nodes = [n for n in nodes if n["name"] != gone]
        links = [li for li in links if gone not in (li["src"], li["dst"])]
    if cloud:
        nodes.append({"name": "cloud", "kind": "cloud", "concurrency": 2,
                      "compute": {"flops_per_s": float(extra.uniform(5e10, 2e11))}})
        for e in range(n_edge):
            rate = float(extra.uniform(2e7, 1e8))
            links += [{"src": f"edge{e}", "dst": "cloud", "bandwidth": rate, "sharing": "fifo",
                       "latency": 0.002},
                      {"src": "cloud", "dst": f"edge{e}", "bandwidth": rate, "sharing": "fifo",
                       "latency": 0.002}]
    flags = "".join(str(int(f)) for f in (constant_return, reserved, zero_stage, shared_pool,
                                          releases_apart, one_slot_edge))
    if divisible:
        shared = "cloud" if cloud else "edge0"
        for node in nodes:
            if node["name"] == shared:
                node["divisible"], node["concurrency"] = True, None
    if cloud or shared_device or samples or divisible:  # older names stay as they were
        flags += "".join(str(int(f)) for f in (cloud, shared_device, samples, divisible))
    return {"name": f"mixed-{seed}-{flags}", "objective": "mean_latency", "nodes": nodes,
            "pools": pools, "links": links, "models": {"m": {"cuts": cuts}},
            "result_return": float(rng.uniform(0.01, 0.1)) if constant_return else None,
            "workload": {"tasks": tasks}}


def draw_features(case: int) -> dict[str, bool]:
    """A point of the cross-product of :data:`FEATURES`, drawn from ``case`` (each feature on
    with probability 1/2, ``divisible`` 1/4, since ``exact`` gives no bound there;
    ``shared_pool`` only with ``reserved``).

    Examples
    --------
    >>> sorted(draw_features(0)) == sorted(FEATURES)
    True
    >>> all(not f["shared_pool"] or f["reserved"] for f in map(draw_features, range(50)))
    True
    """
    rng = np.random.default_rng([case, 1719])
    out = {name: bool(rng.random() < (0.25 if name == "divisible" else 0.5))
           for name in FEATURES}
    out["shared_pool"] = out["shared_pool"] and out["reserved"]
    return out


def mixed_cases(count: int, start: int = 0) -> list[tuple[int, dict[str, bool]]]:
    """``count`` cases ``(seed, features)``: seeds ``start, start + 1, ...``, each with the
    features :func:`draw_features` draws for it (the conformance suite's cases).

    Examples
    --------
    >>> [seed for seed, _ in mixed_cases(3, start=10)]
    [10, 11, 12]
    """
    return [(seed, draw_features(seed)) for seed in range(start, start + count)]


def mixed_scenario(seed: int, **features: Any) -> Scenario:
    """:func:`mixed_scenario_dict` loaded as a :class:`~splitinfer.system.scenario.Scenario`.

    Examples
    --------
    >>> sc = mixed_scenario(1, zero_stage=True)
    >>> 2 <= len(sc.tasks) <= 3
    True
    """
    return scenario_from_dict(mixed_scenario_dict(seed, **features),
                              source=f"mixed_scenario({seed})")


@dataclass
class CaseReport:
    """What :func:`check_case` found on one mixed scenario.

    Attributes
    ----------
    scenario : str
    features : dict
    exact_optimal : bool or None
        Whether ``exact`` proved its plan optimal (None: it does not apply).
    bound : float or None
        ``exact``'s proven lower bound over chain plans.
    checked, bound_checked, not_applicable : list of str
        Planners that passed every check; of those, the ones whose plan lies in the bound's plan
        space (so their objective was held to it); planners that declared themselves not
        applicable.
    failures : dict
        Planner -> the first check it failed (an infeasible plan, a result below the bound, a
        non-deterministic plan, an unexpected exception).
    """

    scenario: str
    features: dict[str, bool]
    exact_optimal: bool | None = None
    bound: float | None = None
    checked: list[str] = field(default_factory=list)
    bound_checked: list[str] = field(default_factory=list)
    not_applicable: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)


def check_case(seed: int, features: dict[str, bool],
               planners: Sequence[str] | None = None) -> CaseReport:
    """Run every registered planner (or ``planners``) on one mixed scenario against ``exact``.

    Each planner that does not raise :class:`~splitinfer.errors.NotApplicableError` must pass
    :func:`splitinfer.testing.checks.check_planner`: a well-formed plan, feasible in the
    simulator, identical when planned again, and — when its plan is a chain plan, the space
    ``exact`` searches exhaustively — a simulated objective not below ``exact``'s proven bound.

    Examples
    --------
    >>> r = check_case(1, draw_features(1), planners=["local", "neurosurgeon"])
    >>> r.failures, r.checked
    ({}, ['local', 'neurosurgeon'])
    """
    from splitinfer.planners import list_planners
    from splitinfer.testing import checks

    sc = mixed_scenario(seed, **features)
    report = CaseReport(sc.name, dict(features))
    yard = checks.yardstick_bound("exact", sc, EXACT_PARAMS)
    if yard is not None:
        report.exact_optimal, report.bound = yard.optimal, yard.bound
    for name in planners if planners is not None else list_planners():
        params = EXACT_PARAMS if name == "exact" else None
        reuse = yard.plan if yard is not None and name == "exact" else None
        try:
            out = checks.check_planner(name, sc, yard, params, plan=reuse)
        except AssertionError as exc:
            report.failures[name] = str(exc)
            continue
        except Exception as exc:  # noqa: BLE001 - any other error is a finding, reported
            report.failures[name] = f"{type(exc).__name__}: {exc}"
            continue
        if not out.applicable:
            report.not_applicable.append(name)
            continue
        report.checked.append(name)
        if out.bound_checked:
            report.bound_checked.append(name)
    return report
