"""The district scorecard: points, scores and ranks against a hand computation, weights from
the project file changing the ranking, ties, the optional funding indicator, suppressed figures
not assessed, and the change of score and rank between two runs (quarter on quarter)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coverage.engine.provenance import parameters_digest
from coverage.engine.scorecard import (
    PROGRESS_COLUMNS,
    SCORECARD_COLUMNS,
    scorecard,
    scorecard_between,
    scorecard_progress,
)
from coverage.io.assessment import Assessment, parse_assessment
from coverage.io.project import load_project
from progress_runs import EAST, PROJECT_TOML, SOUTH, WEST, earlier, later, two_run_project

#: Weights of the hand computation: the plan's other indicators have no figures here.
WEIGHTS = {"policy_awareness": 2, "coverage": 1, "staffing": 1, "migrant_gap": 1, "funding": 1}


def _layers() -> dict[str, pd.DataFrame]:
    """Three districts, 15-minute threshold, figures chosen for round points.

    ====  ===============  ========  ==================  ==========  ===========
    unit  policy (0.90)    coverage  staff short/needed  gap (0.2)   funding gap
    ====  ===============  ========  ==================  ==========  ===========
    A     90/100 → 0.90    0.80      2 / 10              0.05        0
    B     90/200 → 0.45    1.00      0 / 20              0.30        50
    C     none recorded    0.50      0 / 0               0.00        10
    ====  ===============  ========  ==================  ==========  ===========
    """
    summary = pd.DataFrame({
        "level": ["district", "district", "district", "city"],
        "district": ["A", "B", "C", "全市"],
        "migrants": [100, 200, 50, 350],
        "registered_pop": [100, 100, 100, 300],
        "staff_needed": [10.0, 20.0, 0.0, 30.0],
        "staff_shortfall": [2.0, 0.0, 0.0, 2.0],
        "coverage_15min_migrant": [0.8, 1.0, 0.5, 0.8],
        "coverage_gap_15min": [0.05, 0.3, 0.0, 0.1],
        "funding_gap_per_capita": [0.0, 50.0, 10.0, 25.0],
    })
    indicators = pd.DataFrame({
        "level": ["city", "district", "district", "district"],
        "unit": ["city", "A", "B", "C"], "indicator": "policy_awareness",
        "group_size": [300, 100, 200, 0], "unknown": 0, "population": [300, 100, 200, 0],
        "achieved": [180, 90, 90, 0], "value": [0.6, 0.9, 0.45, np.nan], "target": 0.9,
        "met": pd.array([False, True, False, None], dtype="boolean"),
        "people_needed": [90, 0, 90, 0]})
    return {"district_summary": summary, "indicators": indicators}


def _assessment(weights: dict[str, float]) -> Assessment:
    return parse_assessment({"indicators": {k: {"weight": v} for k, v in weights.items()}})


def _row(table: pd.DataFrame, district: str, indicator: str) -> pd.Series:
    return table.set_index(["district", "indicator"]).loc[(district, indicator)]


def _districts(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop_duplicates("district").set_index("district")


def test_points_scores_and_ranks_equal_the_hand_computation():
    table = scorecard(_layers(), _assessment(WEIGHTS), min_cell=None)
    assert tuple(table.columns) == SCORECARD_COLUMNS
    assert len(table) == 3 * 11
    expected = {  # (points, met, people needed)
        ("A", "policy_awareness"): (2.0, True, 0), ("A", "coverage"): (0.8, False, 20),
        ("A", "staffing"): (0.8, False, 2), ("A", "migrant_gap"): (0.75, False, 5),
        ("A", "funding"): (1.0, True, None),
        ("B", "policy_awareness"): (1.0, False, 90), ("B", "coverage"): (1.0, True, 0),
        ("B", "staffing"): (1.0, True, 0), ("B", "migrant_gap"): (0.0, False, 60),
        ("B", "funding"): (0.0, False, None),
        ("C", "coverage"): (0.5, False, 25), ("C", "staffing"): (1.0, True, 0),
        ("C", "migrant_gap"): (1.0, True, 0), ("C", "funding"): (0.0, False, None),
    }
    for (district, indicator), (points, met, needed) in expected.items():
        row = _row(table, district, indicator)
        assert row["points"] == pytest.approx(points), (district, indicator)
        assert row["met"] == met, (district, indicator)
        assert (pd.isna(row["people_needed"]) if needed is None
                else row["people_needed"] == needed), (district, indicator)
    # C recorded no policy awareness: not assessed, its weight left out of C's score
    c_policy = _row(table, "C", "policy_awareness")
    assert not c_policy["assessed"] and c_policy["reason"] == "no-data"
    assert np.isnan(c_policy["points"]) and pd.isna(c_policy["met"])
    assert _row(table, "A", "staffing")["value"] == pytest.approx(0.2)  # shortfall share
    assert _row(table, "A", "migrant_gap")["tolerance"] == pytest.approx(0.2)
    totals = _districts(table)
    assert totals.loc["A", "score"] == pytest.approx(100 * 5.35 / 6)
    assert totals.loc["B", "score"] == pytest.approx(100 * 3 / 6)
    assert totals.loc["C", "score"] == pytest.approx(100 * 2.5 / 4)
    assert totals["rank"].to_dict() == {"A": 1, "B": 3, "C": 2}
    assert totals["met_count"].to_dict() == {"A": 2, "B": 2, "C": 2}
    assert totals["assessed_count"].to_dict() == {"A": 5, "B": 5, "C": 4}


def test_a_weight_changed_in_the_project_file_changes_the_ranking(tmp_path: Path):
    settings = "".join(f"\n[assessment.indicators.{k}]\nweight = {v}\n"
                       for k, v in WEIGHTS.items())
    (tmp_path / "project.toml").write_text(PROJECT_TOML + settings, encoding="utf-8")
    before = scorecard(_layers(), load_project(tmp_path).assessment, min_cell=None)
    heavier = settings.replace("[assessment.indicators.coverage]\nweight = 1",
                               "[assessment.indicators.coverage]\nweight = 20")
    (tmp_path / "project.toml").write_text(PROJECT_TOML + heavier, encoding="utf-8")
    after = scorecard(_layers(), load_project(tmp_path).assessment, min_cell=None)
    assert _districts(before)["rank"].to_dict() == {"A": 1, "B": 3, "C": 2}
    # A 20.55 / 25, B 22 / 25, C 12 / 23: B, the district covering all its migrants, leads
    assert _districts(after)["score"].to_dict() == pytest.approx(
        {"A": 82.2, "B": 88.0, "C": 100 * 12 / 23})
    assert _districts(after)["rank"].to_dict() == {"A": 2, "B": 1, "C": 3}


def test_equal_scores_share_the_best_rank_and_the_next_is_skipped():
    layers = _layers()
    summary = layers["district_summary"]
    twin = summary[summary["district"] == "A"].assign(district="D")
    layers["district_summary"] = pd.concat([summary, twin], ignore_index=True)
    ind = layers["indicators"]
    layers["indicators"] = pd.concat([ind, ind[ind["unit"] == "A"].assign(unit="D")],
                                     ignore_index=True)
    totals = _districts(scorecard(layers, _assessment(WEIGHTS), min_cell=None))
    assert totals["rank"].to_dict() == {"A": 1, "D": 1, "C": 3, "B": 4}


def test_without_funding_figures_funding_is_left_out_and_the_weights_renormalised():
    layers = _layers()
    funding = layers["district_summary"].pop("funding_gap_per_capita")
    table = scorecard(layers, _assessment(WEIGHTS), min_cell=None)
    rows = table[table["indicator"] == "funding"]
    assert set(rows["reason"]) == {"no-funding-figures"} and not rows["assessed"].any()
    assert _districts(table).loc["A", "score"] == pytest.approx(100 * 4.35 / 5)
    # a funding layer (per person, registered and migrants) gives the same gap
    layers["funding"] = pd.DataFrame({"district": ["A", "B", "C"],
                                      "funding_registered_per_capita": [80.0, 100.0, 60.0],
                                      "funding_migrant_per_capita": [80.0, 50.0, 50.0]})
    from_layer = scorecard(layers, _assessment(WEIGHTS), min_cell=None)
    gaps = from_layer.loc[from_layer["indicator"] == "funding", "value"]
    assert gaps.tolist() == funding[:3].tolist()
    pd.testing.assert_series_equal(_districts(from_layer)["score"],
                                   _districts(scorecard(_layers(), _assessment(WEIGHTS),
                                                        min_cell=None))["score"])


def test_a_target_or_rule_from_the_assessment_replaces_the_run_s_own():
    strict = parse_assessment({"indicators": {
        **{k: {"weight": v} for k, v in WEIGHTS.items()},
        "policy_awareness": {"weight": 2, "target": 0.95, "rule": "threshold"},
        "coverage": {"weight": 1, "rule": "gap", "tolerance": 0.4}}})
    table = scorecard(_layers(), strict, min_cell=None)
    a_policy = _row(table, "A", "policy_awareness")
    assert (a_policy["target"], a_policy["points"], a_policy["met"]) == (0.95, 0.0, False)
    assert a_policy["people_needed"] == 5  # 95 of 100, 90 reached
    assert _row(table, "A", "coverage")["points"] == pytest.approx(0.5)  # 0.2 short of 0.4
    assert _row(table, "C", "coverage")["points"] == pytest.approx(0.0)


def test_a_suppressed_figure_is_not_assessed():
    before = earlier()
    ind = before["indicators"]
    # 西<城>区's policy awareness 195 of 200 (C3 95, C4 100): 5 not aware, fewer than 10
    ind.loc[(ind["unit"] == "C3") & (ind["indicator"] == "policy_awareness"), "achieved"] = 95
    ind.loc[(ind["level"] != "community") & (ind["indicator"] == "policy_awareness")
            & ind["unit"].isin([WEST, "city"]), "achieved"] += 5
    ind["value"] = ind["achieved"] / ind["population"]
    exact = scorecard(before, min_cell=None)
    published = scorecard(before, min_cell=10)
    assert _row(exact, WEST, "policy_awareness")["assessed"]
    row = _row(published, WEST, "policy_awareness")
    assert not row["assessed"] and row["reason"] == "suppressed" and np.isnan(row["points"])
    assert pd.isna(row["people_needed"])
    assert (_districts(published).loc[WEST, "assessed_count"]
            == _districts(exact).loc[WEST, "assessed_count"] - 1)
    assert _row(published, WEST, "pregnancy_check")["assessed"]


def test_quarter_on_quarter_score_and_rank_change_equal_the_hand_computation():
    # default weights; assessed: policy, pregnancy check, coverage and the gap within 15 min
    # (all 1, no gap), staffing; shares of the five, times 100 / 5
    table = scorecard_progress(earlier(), later())
    assert tuple(table.columns) == PROGRESS_COLUMNS
    assert table["district"].tolist() == [EAST, WEST, SOUTH]
    rows = table.set_index("district")
    east_before = (0.85 / 0.9 + 0.6 / 0.7 + 1 + 10 / 14 + 1) * 20
    west_before = (1 + 1 + 1 + 8 / 9 + 1) * 20
    east_after = (1 + 1 + 1 + 12 / 14 + 1) * 20
    west_after = (1 + 0.65 / 0.7 + 1 + 1 + 1) * 20
    south_after = (1 + 1 + 1 + 5 / 6 + 1) * 20
    assert rows["score_before"].iloc[:2].tolist() == pytest.approx([east_before, west_before])
    assert rows["score_after"].tolist() == pytest.approx([east_after, west_after, south_after])
    assert rows.loc[EAST, "score_change"] == pytest.approx(east_after - east_before)
    assert np.isnan(rows.loc[SOUTH, "score_change"]) and pd.isna(rows.loc[SOUTH, "rank_before"])
    assert rows["rank_after"].tolist() == [2, 1, 3]
    # pregnancy checks alone: 东城区 overtakes 西<城>区 and ties 南城区
    checks = parse_assessment({"indicators": {
        name: {"weight": 1 if name == "pregnancy_check" else 0}
        for name in ("policy_awareness", "coverage", "staffing", "migrant_gap", "funding",
                     "pregnancy_check")}})
    moved = scorecard_progress(earlier(), later(), checks).set_index("district")
    assert moved["rank_before"].iloc[:2].tolist() == [2, 1]
    assert moved["rank_after"].tolist() == [1, 3, 1]
    assert moved["rank_change"].iloc[:2].tolist() == [1, -2]


def test_runs_of_other_settings_are_not_scored_against_each_other():
    with pytest.raises(ValueError, match="runs A and B cannot be compared"):
        scorecard_progress(earlier(), later(mode="ebike"), names=("A", "B"))


def test_two_runs_of_a_project_are_scored_from_its_store(tmp_path: Path):
    first, second = two_run_project(tmp_path)
    table = scorecard_between(tmp_path, second)  # the change since the run before
    assert (table.attrs["run_before"], table.attrs["run_after"]) == (first, second)
    pd.testing.assert_frame_equal(table, scorecard_progress(earlier(), later()),
                                  check_exact=False, atol=1e-9)


def test_changing_the_assessment_makes_saved_results_out_of_date(tmp_path: Path):
    (tmp_path / "project.toml").write_text(PROJECT_TOML, encoding="utf-8")
    plain = parameters_digest(load_project(tmp_path), "walk")
    (tmp_path / "project.toml").write_text(
        PROJECT_TOML + "[assessment.indicators.coverage]\nweight = 20\n", encoding="utf-8")
    assert parameters_digest(load_project(tmp_path), "walk") != plain
