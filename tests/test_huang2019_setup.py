"""DeePar's per-task setup: a task's row of W in one compiled call (``TaskCurves.w_row`` over
``TaskCurves.pack``, the kernels of ``huang2019._curves``) gives the very numbers, cut pairs and
errors of the NumPy search, option by option."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from splitinfer.errors import InfeasiblePlanError
from splitinfer.planners.huang2019.deepar import DeeparPlanner
from splitinfer.planners.huang2019.delay import TaskCurves, option_list, toy_three_tier
from splitinfer.system.load import scenario_from_dict
from splitinfer.testing.family_huang2019 import varied_links_huang2019


def _plain(args: tuple | bool) -> object:
    """``kernel_args`` with its arrays as lists (to compare)."""
    if args is False:
        return False
    return [a.tolist() if isinstance(a, np.ndarray) else a for a in args]


@pytest.mark.parametrize("seed", range(6))
def test_w_row_and_the_searches_after_it_equal_numpy(seed):
    """Every scheme and fixed first cut: the row at the caps, then the compiled search at
    random rates (from the pack) and the compiled searches' arguments read from the pack, equal
    the NumPy search and the arguments built option by option."""
    sc = varied_links_huang2019(seed, np.random.default_rng(100 + seed))
    rng = np.random.default_rng(seed)
    for scheme in ("hybrid", "edge", "cloud"):
        planner = DeeparPlanner(scheme=scheme)
        planner.start(sc)
        for task in sc.tasks:
            for first in (planner._first, 1):
                slow = TaskCurves(sc, task, sc.edges, planner._cloud)
                fast = TaskCurves(sc, task, sc.edges, planner._cloud, compiled=True,
                                  units=planner._units)
                row = fast.w_row(planner._options, first)
                assert row == slow.w_row(planner._options, first)
                _, _, _, _, rows = fast.pack(planner._options, first)
                assert sorted(rows) == [j for _, j, o in row if o.kind != "device"]
                for o in planner._options:
                    assert fast.best(o, first_cut=first) == slow.best(o, first_cut=first)
                    if o.kind == "device" or not slow.feasible(o):
                        continue
                    assert _plain(fast.kernel_args(o, first)) == \
                        _plain(slow._kernel_args(o, first))
                    for _ in range(4):
                        r1 = float(rng.uniform(1e3, 5e7))
                        r2 = float(rng.uniform(1e3, 5e7)) if o.y else None
                        assert fast.best(o, r1, r2, first) == slow.best(o, r1, r2, first)
                for node in {task.device, planner._cloud, *fast.reach}:
                    assert fast.head(node).tolist() == slow.head(node).tolist()


def test_w_row_with_a_table_device_and_edges_of_one_speed():
    """A device timed by a paper table (its head curve computed cut by cut) and two edges of
    one speed (one shared head row): the same row and choices as NumPy's."""
    d = toy_three_tier(tasks=2)
    d["nodes"][0]["compute"] = {"table": True}
    d["nodes"].insert(3, {"name": "e1", "kind": "edge", "compute": {"flops_per_s": 1e10},
                          "concurrency": 1})
    d["links"].append({"src": "d0", "dst": "e1", "bandwidth": 3e6, "sharing": "reserved",
                       "latency": 0.002})
    d["links"].append({"src": "e1", "dst": "cloud", "bandwidth": 6e6, "sharing": "reserved"})
    d["models"]["m"]["table"] = {"d0": {"head": ["0ms", "90ms", "700ms", "5s"]}}
    sc = scenario_from_dict(d)
    options = option_list(sc)
    for task in sc.tasks:
        slow, fast = TaskCurves(sc, task), TaskCurves(sc, task, compiled=True)
        assert fast.w_row(options) == slow.w_row(options, None)
        assert [fast.best(o, 2e6, 1e6 if o.y else None) for o in options] == \
            [slow.best(o, 2e6, 1e6 if o.y else None) for o in options]
        assert fast.head(task.device).tolist() == slow.head(task.device).tolist()


def test_a_nan_in_the_compiled_search_falls_back_to_numpy():
    """An edge so slow that its head times overflow (inf - inf is NaN): the compiled search
    says so and NumPy's search decides, in the row and at other rates, as it always did."""
    d = toy_three_tier()
    d["nodes"][1]["compute"] = {"flops_per_s": 1e-300}
    sc = scenario_from_dict(d)
    task, options = sc.tasks[0], option_list(sc)
    with np.errstate(all="ignore"):
        slow, fast = TaskCurves(sc, task), TaskCurves(sc, task, compiled=True)
        row = fast.w_row(options)
        assert repr(row) == repr(slow.w_row(options, None))
        assert "nan" in repr(row)  # the edge-only option's delay
        assert repr([fast.best(o, 1e6, 2e6 if o.y else None) for o in options]) == \
            repr([slow.best(o, 1e6, 2e6 if o.y else None) for o in options])


def test_a_missing_return_link_is_the_same_error():
    """Without the edge -> device link the result cannot come back (eq. 6): the row raises the
    error the option-by-option search raises."""
    sc = scenario_from_dict(toy_three_tier())
    sc_cut = dataclasses.replace(sc, links={k: v for k, v in sc.links.items() if k != ("e0", "d0")})
    task = sc_cut.tasks[0]
    with pytest.raises(InfeasiblePlanError) as slow:
        TaskCurves(sc_cut, task).w_row(option_list(sc_cut), None)
    with pytest.raises(InfeasiblePlanError) as fast:
        TaskCurves(sc_cut, task, compiled=True).w_row(option_list(sc_cut))
    assert str(fast.value) == str(slow.value)


@pytest.mark.parametrize("seed", range(2))
def test_stage_durations_on_profiled_nodes_equal_the_simulators_stages(seed):
    """Profiled (hardware) devices, edges and cloud, as in the paper setting: the durations
    ``decide`` sums equal ``build_stages``'s, for every option, cut pair and random rates."""
    from splitinfer.experiments.huang2019 import paper_scenario
    from splitinfer.planners.huang2019.delay import Choice, cut_pairs, deepar_plan, stage_durations
    from splitinfer.system.stages import build_stages

    sc = paper_scenario(seed, 3, 2, 10.0)
    rng = np.random.default_rng(seed)
    checked = 0
    for task in sc.tasks:
        curves = TaskCurves(sc, task)
        for option in option_list(sc):
            if not curves.feasible(option):
                continue
            cap1, cap2 = curves.link_caps(option)
            for c1, c2 in cut_pairs(option.kind, curves.last)[::3]:
                b1 = None if cap1 is None else float(cap1 * rng.uniform(1e-3, 1.0))
                b2 = None if cap2 is None else float(cap2 * rng.uniform(1e-3, 1.0))
                choice = Choice(option, c1, c2, b1, b2, 0.0)
                want = tuple(s.duration for s in build_stages(sc, task, deepar_plan(sc, task,
                                                                                    choice)))
                assert stage_durations(sc, task, choice) == want
                checked += 1
    assert checked > 20
