"""Paper presets (issue 17 item 4): each ``-paper`` planner is its paper's algorithm as written,
registered beside the improved default; the values the papers print are read from one data file;
the ranking sentence of the reproduction pages says where presets and defaults disagree."""

from __future__ import annotations

import pytest

from splitinfer.experiments.reported import all_reported, reported_points
from splitinfer.experiments.shi2021 import paper_scenario
from splitinfer.experiments.variants import rank_flips, ranking_sentence
from splitinfer.planners import get_planner, list_planners, planner_info
from splitinfer.sim import simulate
from splitinfer.testing.family_duan2021 import small_duan2021
from splitinfer.testing.family_shi2021 import small_shi2021

PRESETS = {"gspi-paper": "gspi", "gspi-online-paper": "gspi-online", "jps-paper": "jps",
           "dmcjia-paper": "dmcjia", "mw-paper": "mw", "fl-bf-paper": "fl-bf",
           "deepar-paper": "deepar"}


def test_every_paper_preset_is_registered_beside_its_default():
    names = set(list_planners())
    for preset, default in PRESETS.items():
        assert preset in names and default in names
        info = planner_info(preset)
        assert info.alias_of == default and info.defaults and not info.exact
        assert get_planner(preset).get_params() != get_planner(default).get_params()


@pytest.mark.parametrize("name", ["gspi", "gspi-online", "jps", "deepar"])
def test_an_unknown_preset_is_an_error(name):
    with pytest.raises(ValueError, match="preset must be one of"):
        get_planner(name, preset="verbatim")


def test_gspi_paper_is_alg2_with_eq7_and_no_polish():
    assert get_planner("gspi-paper").settings == {"wait": "paper", "replan": True,
                                                  "polish": "none"}
    assert get_planner("gspi").settings == {"wait": "fifo", "replan": True,
                                            "polish": "improvable"}
    sc = small_shi2021(1)
    a = get_planner("gspi-paper").plan(sc)
    b = get_planner("gspi", wait="paper", polish="none").plan(sc)
    assert a.tasks == b.tasks and a.info["preset"] == "paper"
    # an explicit parameter wins over the preset
    assert get_planner("gspi-paper", wait="fifo").settings["wait"] == "fifo"


def test_gspi_online_paper_uses_eq11():
    sc = small_shi2021(2)
    plan = get_planner("gspi-online-paper").plan(sc)
    assert plan.info["wait_model"] == "paper" and "estimated_mean" in plan.info
    assert plan.tasks == get_planner("gspi-online", wait="paper").plan(sc).tasks


def test_with_eq11_the_online_center_beats_the_improved_gspi_at_16_mbps():
    """The finding of issue 17: eq. (11) changes the ranking (75 tasks, 16 Mbps)."""
    for seed in (0, 1):
        sc = paper_scenario(75, 16e6, seed)
        improved = simulate(sc, get_planner("gspi").plan(sc)).mean_latency
        online_eq11 = simulate(sc, get_planner("gspi-online-paper").plan(sc)).mean_latency
        alg2_eq7 = simulate(sc, get_planner("gspi-paper").plan(sc)).mean_latency
        assert online_eq11 < improved < alg2_eq7


def test_jps_paper_is_the_floored_ratio_and_never_beats_jps():
    assert get_planner("jps-paper").settings == {"mix": "paper"}
    for seed in range(4):
        sc = small_duan2021(seed)
        paper = get_planner("jps-paper").plan(sc)
        best = get_planner("jps").plan(sc)
        assert paper.tasks == get_planner("jps", mix="paper").plan(sc).tasks
        span = {k: simulate(sc, p).makespan for k, p in (("paper", paper), ("best", best))}
        assert span["best"] <= span["paper"] + 1e-12


def test_deepar_paper_compares_the_w_entry_in_line_12():
    from splitinfer.testing.family_huang2019 import small_huang2019

    assert get_planner("deepar-paper").settings == {"line12": "w"}
    sc = small_huang2019(0)  # one instance where W's entry at full bandwidth misleads line 12
    improved = get_planner("deepar")
    literal = get_planner("deepar-paper")
    a, b = simulate(sc, improved.plan(sc)), simulate(sc, literal.plan(sc))
    assert b.latencies.sum() > a.latencies.sum()
    # either way the predicted latency is the simulated one (whole-task reservations)
    for planner, res in ((improved, a), (literal, b)):
        sim = {r.id: r.latency for r in res.tasks}
        assert all(abs(d["latency"] - sim[t]) < 1e-9 for t, d in planner.decisions.items())


def test_reported_values_name_their_source():
    data = all_reported()
    assert set(data) == {"shi2021", "li2022", "huang2019", "duan2021", "zheng2021"}
    for paper, entries in data.items():
        for figure, entry in entries.items():
            assert entry["source"], (paper, figure)
            assert isinstance(entry.get("points", []), list)
    assert len(reported_points("duan2021", "table1")) == 24
    assert reported_points("li2022", "fig4", model="alexnet", rate_MBps=1.1,
                           label="MW(kxk)") == [{"model": "alexnet", "rate_MBps": 1.1,
                                                 "label": "MW(kxk)", "latency_ms": 40}]
    from splitinfer.experiments.duan2021 import PAPER_TABLE1
    assert PAPER_TABLE1["resnet18"]["4G"] == (1.46, 28.22)


def test_ranking_sentence_names_the_flip_and_ignores_ties():
    rows = [{"x": 1, "planner": p, "v": v} for p, v in
            [("A", 1.0), ("B", 2.0), ("A*", 3.0), ("B*", 2.5), ("C", 2.0)]]
    flips = rank_flips(rows, "x", "v", {"A": "A*", "B": "B*"}, others=["C"])
    assert {(f["a"], f["b"]) for f in flips} == {("A", "B"), ("A", "C")}
    text = ranking_sentence(rows, "x", "v", {"A": "A*", "B": "B*"}, others=["C"])
    assert text.startswith("The paper presets rank the planners differently") and "1 of 1" in text
    tie = [{"x": 1, "planner": p, "v": v} for p, v in [("A", 1.0), ("B", 1.0), ("A*", 2.0),
                                                        ("B*", 1.0)]]
    assert "as the improved defaults do" in ranking_sentence(tie, "x", "v", {"A": "A*",
                                                                            "B": "B*"})


def test_a_bad_preset_on_the_command_line_is_one_line(capsys, tmp_path):
    from splitinfer.cli import main
    from splitinfer.planners.common.registry import PlannerParamError

    with pytest.raises(SystemExit) as exc:
        main(["plan", "shi2021", "--planner", "gspi", "--param", "preset=bogus", "-o",
              str(tmp_path / "p.json")])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "Traceback" not in err
    assert "preset must be one of ['improved', 'paper']" in err
    assert issubclass(PlannerParamError, ValueError)
