"""Seeded random small scenarios for the conformance suite (and for planners' own tests).

Two generators, both pure functions of their seed (``numpy.random.default_rng(seed)``):

* :func:`random_chain_scenario` — the general family ``random-chain``: 1-3 devices, 1-3 edge
  servers of concurrency 1 or 2, an optional cloud (unlimited concurrency), FIFO or dedicated
  links, FLOP/s or paper-table compute, 2-6 tasks with random arrivals, one or two models with
  random cut tables of 3-6 cuts, objective mean latency or makespan. Small enough (<= 6 tasks)
  for the CP-SAT yardstick ``exact`` to prove optimality within a second or so.
* :func:`random_dag_scenario` — the family ``random-dag``: one model given as a random layer
  DAG (branches that fork and merge, so that some cuts carry two tensors) with per-layer costs
  (:class:`~splitinfer.system.layer_costs.LayerCosts`), for planners that cut general DAGs
  (DADS) besides the chain planners.

Both build the scenario through :func:`~splitinfer.system.load.scenario_from_dict`, so every
random scenario also passes the loader's validation. Magnitudes are chosen so that compute and
transfer times are of the same order (milliseconds to a second), where planning matters.

Examples
--------
>>> sc = random_chain_scenario(3)
>>> 2 <= len(sc.tasks) <= 6 and 1 <= len(sc.edges) <= 3
True
>>> random_chain_scenario(3).summary() == sc.summary()
True
>>> dag = random_dag_scenario(0)
>>> dag.models["dag"].layers.n >= 4
True
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from splitinfer.system.layer_costs import LayerCosts
from splitinfer.system.load import scenario_from_dict
from splitinfer.system.scenario import Scenario

__all__ = ["random_chain_scenario", "random_dag_scenario", "random_cut_table", "random_layer_dag"]


def random_cut_table(rng: np.random.Generator, num_cuts: int) -> list[dict[str, float]]:
    """A random cut table: raw input first, activations that mostly shrink, growing head FLOPs.

    Examples
    --------
    >>> cuts = random_cut_table(np.random.default_rng(0), 4)
    >>> len(cuts), cuts[0]["head_flops"], all(a["head_flops"] <= b["head_flops"]
    ...                                      for a, b in zip(cuts, cuts[1:]))
    (4, 0.0, True)
    """
    total = float(rng.uniform(2e8, 2e9))
    steps = rng.dirichlet(np.ones(num_cuts - 1)) * total
    head = np.concatenate([[0.0], np.cumsum(steps)])
    size = float(rng.uniform(1e5, 6e5))
    out = []
    for c in range(num_cuts):
        nbytes = size if c == 0 else float(size * rng.uniform(0.05, 1.3) ** c)
        out.append({"name": f"c{c}", "transfer_bytes": round(max(nbytes, 64.0)),
                    "head_flops": float(head[c])})
    out[-1]["transfer_bytes"] = float(rng.integers(64, 4096))
    return out


def _table_rows(rng: np.random.Generator, cuts: list[dict], node: str, speed: float,
                server: bool) -> dict[str, Any]:
    """A paper-table row whose times are the FLOP/s times with +-30 % per-piece noise."""
    flops = np.array([c["head_flops"] for c in cuts])
    pieces = np.diff(flops) / speed * rng.uniform(0.7, 1.3, size=len(flops) - 1)
    head = np.concatenate([[0.0], np.cumsum(pieces)])
    if server:
        return {"tail": [float(head[-1] - h) for h in head]}
    return {"head": [float(h) for h in head]}


def random_chain_scenario(seed: int, *, max_tasks: int = 6, objective: str | None = None
                          ) -> Scenario:
    """A random small chain scenario (see the module docstring): the ``random-chain`` family.

    Parameters
    ----------
    seed : int
        Everything is drawn from ``numpy.random.default_rng(seed)``.
    max_tasks : int
        At most this many tasks (at least 2).
    objective : str, optional
        Force ``"mean_latency"`` or ``"makespan"`` (drawn at random by default).

    Examples
    --------
    >>> sc = random_chain_scenario(0, max_tasks=2, objective="makespan")
    >>> len(sc.tasks), sc.objective
    (2, 'makespan')
    """
    rng = np.random.default_rng([seed, 17])
    n_dev = int(rng.integers(1, 4))
    n_edge = int(rng.integers(1, 4))
    has_cloud = bool(rng.random() < 0.6)
    table = bool(rng.random() < 0.3)  # some nodes read paper-table rows
    nodes: list[dict[str, Any]] = []
    speeds: dict[str, float] = {}
    table_nodes: set[str] = set()

    def add(name: str, kind: str, speed: float, concurrency: int | None) -> None:
        speeds[name] = speed
        use_table = table and rng.random() < 0.5
        if use_table:
            table_nodes.add(name)
        nodes.append({"name": name, "kind": kind, "concurrency": concurrency,
                      "compute": {"table": True} if use_table else {"flops_per_s": speed}})

    for d in range(n_dev):
        add(f"dev{d}", "device", float(rng.uniform(1e9, 4e9)), 1)
    for e in range(n_edge):
        add(f"edge{e}", "edge", float(rng.uniform(8e9, 4e10)), int(rng.integers(1, 3)))
    if has_cloud:
        add("cloud", "cloud", float(rng.uniform(8e10, 2e11)), None)
    links: list[dict[str, Any]] = []

    def link(src: str, dst: str, lo: float, hi: float) -> None:
        links.append({"src": src, "dst": dst, "bandwidth": float(rng.uniform(lo, hi)),
                      "latency": float(rng.choice([0.0, rng.uniform(0.0, 0.01)])),
                      "sharing": "fifo" if rng.random() < 0.5 else "dedicated"})

    for d in range(n_dev):
        reach = [e for e in range(n_edge) if rng.random() < 0.7] or [int(rng.integers(n_edge))]
        for e in reach:
            link(f"dev{d}", f"edge{e}", 4e6, 4e7)
        if has_cloud and rng.random() < 0.3:
            link(f"dev{d}", "cloud", 1e6, 1e7)
    if has_cloud:
        for e in range(n_edge):
            link(f"edge{e}", "cloud", 2e7, 1e8)
    models: dict[str, Any] = {}
    for k in range(int(rng.integers(1, 3))):
        cuts = random_cut_table(rng, int(rng.integers(3, 7)))
        spec: dict[str, Any] = {"cuts": cuts}
        if table_nodes:
            spec["table"] = {n: _table_rows(rng, cuts, n, speeds[n], not n.startswith("dev"))
                             for n in sorted(table_nodes)}
        models[f"m{k}"] = spec
    n_tasks = int(rng.integers(2, max(2, max_tasks) + 1))
    horizon = float(rng.uniform(0.0, 1.0))
    tasks = [{"id": f"t{i}", "device": f"dev{int(rng.integers(n_dev))}",
              "model": f"m{int(rng.integers(len(models)))}",
              "arrival": float(np.round(rng.uniform(0.0, horizon), 4))} for i in range(n_tasks)]
    obj = objective or ("makespan" if rng.random() < 0.35 else "mean_latency")
    return scenario_from_dict({"name": f"random-chain-{seed}", "objective": obj, "nodes": nodes,
                               "links": links, "models": models, "workload": {"tasks": tasks}},
                              source=f"random_chain_scenario({seed})")


def random_layer_dag(rng: np.random.Generator, n_layers: int) -> list[tuple[int, int]]:
    """Random forward edges over ``n_layers`` layers: a backbone chain with forks and skips.

    Every layer reads the previous one or an earlier one, the last layer is the only output,
    and some layers read two values (merges), so that several positions carry two tensors.

    Examples
    --------
    >>> edges = random_layer_dag(np.random.default_rng(1), 6)
    >>> edges[0], all(i < j for i, j in edges)
    ((-1, 0), True)
    """
    edges = {(-1, 0)}
    for j in range(1, n_layers):
        first = j - 1 if rng.random() < 0.6 else int(rng.integers(max(0, j - 3), j))
        edges.add((first, j))
        if j >= 2 and rng.random() < 0.35:
            edges.add((int(rng.integers(max(-1, j - 4), j - 1)), j))
    for i in range(n_layers - 1):  # no dead layers: every layer feeds a later one
        if not any(a == i for a, _ in edges):
            edges.add((i, int(rng.integers(i + 1, n_layers))))
    return sorted(edges)


def random_dag_scenario(seed: int, *, max_tasks: int = 4) -> Scenario:
    """A random scenario whose one model is a layer DAG with per-layer costs (``random-dag``).

    The cut table is derived from the DAG like the profiler derives it (positions where one
    tensor crosses, :func:`splitinfer.graph.cuts.single_tensor_positions`), and per-layer FLOPs
    sum to it, so chain planners see the usual cut table and DADS sees the layers.

    Examples
    --------
    >>> sc = random_dag_scenario(2)
    >>> m = sc.models["dag"]
    >>> m.num_cuts == len(m.layers.cut_positions) and m.flops == float(m.layers.flops.sum())
    True
    """
    from splitinfer.graph.cuts import crossing_at_positions, single_tensor_positions

    rng = np.random.default_rng([seed, 29])
    n = int(rng.integers(5, 10))
    edges = random_layer_dag(rng, n)
    flops = rng.uniform(2e7, 4e8, size=n) * (rng.random(n) < 0.85)
    input_bytes = float(np.round(rng.uniform(3e5, 1.5e6)))
    # activations shrink with depth, with jitter, so that intermediate (and two-tensor) cuts pay
    out_bytes = np.round(input_bytes * rng.uniform(0.02, 0.5, size=n) * 0.7 ** np.arange(n))
    consumers: dict[int, list[int]] = {v: [] for v in range(-1, n)}
    for i, j in edges:
        consumers[i].append(j)
    cross = crossing_at_positions(n, consumers, outputs=[n - 1])
    positions = single_tensor_positions(cross, is_tensor=lambda v: True)
    head_flops = [float(flops[:p].sum()) for p in positions]
    transfer = [input_bytes if p == 0 else float(out_bytes[cross[p][0]]) for p in positions]
    base = random_chain_scenario(seed, max_tasks=max_tasks)
    cuts = [{"name": f"p{p}", "transfer_bytes": b, "head_flops": f}
            for p, b, f in zip(positions, transfer, head_flops, strict=True)]
    ranges = {"device": (1e9, 4e9), "edge": (8e9, 4e10), "cloud": (8e10, 2e11)}
    nodes = [{"name": nd.name, "kind": nd.kind, "concurrency": nd.concurrency,
              "compute": {"flops_per_s": float(rng.uniform(*ranges[nd.kind]))}}
             for nd in base.nodes.values()]
    tasks = [{"id": t.id, "device": t.device, "model": "dag", "arrival": t.arrival}
             for t in base.tasks]
    links = [{"src": lk.src, "dst": lk.dst, "bandwidth": lk.rate, "latency": lk.latency,
              "sharing": lk.sharing, "symmetric": False} for lk in base.links.values()]
    sc = scenario_from_dict({"name": f"random-dag-{seed}", "objective": base.objective,
                             "nodes": nodes, "links": links,
                             "models": {"dag": {"cuts": cuts}}, "workload": {"tasks": tasks}},
                            source=f"random_dag_scenario({seed})")
    layers = LayerCosts(names=tuple(f"l{i}" for i in range(n)), flops=flops, out_bytes=out_bytes,
                        edges=tuple(edges), cut_positions=tuple(positions),
                        input_bytes=input_bytes)
    model = replace(sc.models["dag"], layers=layers)
    return replace(sc, models={"dag": model})
