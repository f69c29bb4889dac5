"""The planner conformance suite: every registered planner x every family it belongs to x seeds.

Planners and families join by existing (``planners/<name>.py`` with ``@register``,
``testing/family_<paper>.py`` with ``@scenario_family``). For each (family, seed, planner):
the plan decides every task, round-trips JSON, simulates, is deterministic under its parameters,
and its simulated objective is not below the family yardstick's proven lower bound
(:mod:`splitinfer.testing.checks`). The yardstick runs once per scenario (cached per worker).
"""

from __future__ import annotations

import random
from functools import cache

import pytest

from splitinfer.errors import NotApplicableError
from splitinfer.planners import get_planner, list_planners, planner_info
from splitinfer.planners.common import registry as planner_registry
from splitinfer.planners.common.base import BasePlanner
from splitinfer.system.plan import TaskPlan
from splitinfer.testing import checks
from splitinfer.testing.families import get_family, list_families, planners_for
from splitinfer.testing.random import random_chain_scenario

CASES = [(fam, seed, name) for fam in list_families() for seed in get_family(fam).seeds
         for name in planners_for(fam)]


@cache
def _scenario(fam: str, seed: int):
    return get_family(fam).make(seed)


@cache
def _yardstick(fam: str, seed: int):
    family = get_family(fam)
    if family.yardstick is None:
        return None
    return checks.yardstick_bound(family.yardstick, _scenario(fam, seed),
                                  family.planner_params(family.yardstick))


@cache
def _outcome(fam: str, seed: int, name: str) -> checks.CheckOutcome:
    family = get_family(fam)
    yard = _yardstick(fam, seed)
    params = family.planner_params(name)
    reuse = yard.plan if yard is not None and name == yard.planner and \
        params == family.planner_params(yard.planner) else None
    return checks.check_planner(name, _scenario(fam, seed), yard, params, plan=reuse)


@pytest.mark.parametrize("fam,seed,name", CASES,
                         ids=[f"{f}-{s}-{n}" for f, s, n in CASES])
def test_planner_conforms(fam, seed, name):
    out = _outcome(fam, seed, name)
    if not out.applicable:
        pytest.skip(f"{name} not applicable to {fam}[{seed}]: {out.reason}")
    assert out.plan is not None and out.result is not None


def test_every_planner_is_exercised_by_some_family():
    missing = []
    for name in list_planners():
        ok = False
        for fam in list_families():
            if name not in planners_for(fam):
                continue
            for seed in get_family(fam).seeds:
                try:
                    params = get_family(fam).planner_params(name)
                    get_planner(name, **params).plan(_scenario(fam, seed))
                except NotApplicableError:
                    continue
                ok = True
                break
            if ok:
                break
        if not ok:
            missing.append(name)
    assert not missing, f"planners no family exercises (always NotApplicable or in no family): {missing}"


def test_yardsticks_are_exact_planners():
    for fam in list_families():
        y = get_family(fam).yardstick
        if y is not None:
            assert planner_info(y).exact, f"family {fam}: yardstick {y!r} is not registered exact=True"


def test_exact_proves_optimality_on_random_chain():
    optimal = [_yardstick("random-chain", s).optimal for s in get_family("random-chain").seeds]
    assert all(optimal), optimal


def test_families_are_pure_functions_of_the_seed():
    for fam in list_families():
        seed = get_family(fam).seeds[0]
        a, b = get_family(fam).make(seed), get_family(fam).make(seed)
        assert a.summary() == b.summary() and a.tasks == b.tasks


# ----------------------------------------------------------------- the checks have teeth
class _Flaky(BasePlanner):
    """Unseeded randomness: must fail the determinism check."""

    def _plan(self, sc):
        rng = random.Random()
        return {t.id: TaskPlan(t.id, (t.device,), (), priority=rng.random()) for t in sc.tasks}


class _Forgetful(BasePlanner):
    """Leaves the last task undecided: must fail the well-formedness check."""

    def _plan(self, sc):
        return {t.id: TaskPlan(t.id, (t.device,), ()) for t in sc.tasks[:-1]}


def _register(monkeypatch, name, cls):
    cls.name = name
    monkeypatch.setitem(planner_registry.PLANNERS.entries, name,
                        planner_registry.PlannerInfo(name, cls, "test", "test"))


def test_check_catches_nondeterminism(monkeypatch):
    _register(monkeypatch, "test-flaky", _Flaky)
    with pytest.raises(AssertionError, match="not deterministic"):
        checks.check_planner("test-flaky", random_chain_scenario(0, max_tasks=3))


def test_check_catches_undecided_task(monkeypatch):
    _register(monkeypatch, "test-forgetful", _Forgetful)
    with pytest.raises(AssertionError, match="no decision"):
        checks.check_planner("test-forgetful", random_chain_scenario(0, max_tasks=3))


def test_check_catches_a_plan_below_the_bound():
    sc = random_chain_scenario(2, max_tasks=3)
    local = checks.check_planner("local", sc)
    fake = checks.Yardstick("exact", bound=local.objective * 1.01, optimal=True,
                            objective=local.objective * 1.01)
    with pytest.raises(AssertionError, match="below the proven lower bound"):
        checks.check_planner("local", sc, fake)
    outside = checks.Yardstick("exact", bound=local.objective * 1.01, optimal=True,
                               objective=local.objective, plan_space="no-such-space")
    assert checks.check_planner("local", sc, outside).bound_checked is False


def test_planner_catalogue_lists_every_planner():
    from pathlib import Path

    from splitinfer.testing.catalogue import END, START

    doc = Path(__file__).resolve().parents[1] / "docs" / "planners.md"
    text = doc.read_text()
    table = text.split(START, 1)[1].split(END, 1)[0]
    listed = {line.split("`")[1] for line in table.splitlines() if line.startswith("| `")}
    missing = sorted(set(list_planners()) - listed)
    assert not missing, (f"docs/planners.md does not list {missing}; run "
                         "`python -m splitinfer.testing.catalogue docs/planners.md`")
