"""A quarter's assessment: the run's scorecard ranked beside the run before it, the targets met
in both runs, each indicator's change, one district's part (its funding, its share of the
recommendation), and a first run or an incomparable one reported as such."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from coverage.engine.costs import districts_at
from coverage.engine.progress import met_counts, progress_between
from coverage.engine.quarter import (
    RANKING_COLUMNS,
    TARGET_COLUMNS,
    district_ranking,
    kept_districts,
    read_quarter,
    target_counts,
)
from coverage.engine.scorecard import (
    CHANGE_COLUMNS,
    compare_indicators,
    distance_to_target,
    scorecard,
    scorecard_between,
)
from coverage.io.project import load_project
from coverage.publish.tables import publish_funding
from coverage.store.gpkg import GeoPackageStore
from progress_runs import EAST, PROJECT_TOML, SOUTH, WEST, earlier, later, two_run_project

#: The later quarter's scores by hand (default weights, five indicators assessed, 20 each).
SCORES = {EAST: (1 + 1 + 1 + 12 / 14 + 1) * 20, WEST: (1 + 0.65 / 0.7 + 1 + 1 + 1) * 20,
          SOUTH: (1 + 1 + 1 + 5 / 6 + 1) * 20}


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, str, str]:
    first, second = two_run_project(tmp_path)
    return tmp_path, first, second


def test_the_ranking_and_its_change_are_the_scorecard_s(runs):
    folder, first, second = runs
    quarter = read_quarter(folder, second)
    assert (quarter.run, quarter.previous, quarter.refused) == (second, first, None)
    ranking = quarter.ranking
    assert tuple(ranking.columns) == RANKING_COLUMNS
    assert ranking["district"].tolist() == [WEST, EAST, SOUTH]  # by score, best first
    assert ranking["rank"].tolist() == [1, 2, 3]
    assert ranking.set_index("district")["score"].to_dict() == pytest.approx(SCORES)
    change = scorecard_between(folder, second).set_index("district")
    rows = ranking.set_index("district")
    for column in ("score_before", "score_change"):
        assert rows[column].to_numpy(float) == pytest.approx(
            change.loc[rows.index, column].to_numpy(float), nan_ok=True)
    assert rows.loc[[EAST, WEST], "rank_change"].tolist() == [0, 0]
    assert pd.isna(rows.loc[SOUTH, "rank_before"]) and np.isnan(rows.loc[SOUTH, "score_change"])
    assert rows["met_count_before"].tolist()[:2] == change.loc[[WEST, EAST],
                                                                "met_count_before"].tolist()


def test_targets_met_by_the_districts_in_both_runs(runs):
    folder, _, second = runs
    quarter = read_quarter(folder, second)
    targets = quarter.targets.set_index("indicator")
    assert tuple(quarter.targets.columns) == TARGET_COLUMNS
    # pregnancy checks (target 0.70): 东城区 0.60 → 0.72, 西<城>区 0.80 → 0.65, 南城区 → 0.70
    assert targets.loc["pregnancy_check", ["districts", "assessed", "met", "met_before",
                                           "met_change"]].tolist() == [3, 3, 2, 1, 1]
    # the staff shortfall (target none): 西<城>区 reaches it in the later run only
    assert targets.loc["staffing", ["met", "met_before"]].tolist() == [1, 0]
    assert targets.loc["funding", ["assessed", "met"]].tolist() == [0, 0]  # no figures
    assert quarter.every_target == (0, 0)
    # the plan's indicators met, as the progress table counts them
    assert quarter.plan() == met_counts(progress_between(folder, second))


def test_each_indicator_s_change_in_a_district(runs):
    folder, _, second = runs
    changes = read_quarter(folder, second).changes
    assert tuple(changes.columns) == CHANGE_COLUMNS
    row = changes.set_index(["district", "indicator"]).loc[(WEST, "pregnancy_check")]
    assert (row["value_before"], row["value_after"]) == pytest.approx((0.80, 0.65))
    assert row["change"] == pytest.approx(-0.15)
    assert bool(row["met_before"]) and not bool(row["met_after"])
    south = changes.set_index(["district", "indicator"]).loc[(SOUTH, "policy_awareness")]
    assert np.isnan(south["value_before"]) and pd.isna(south["met_before"])


def test_a_first_run_has_no_change(runs):
    folder, first, _ = runs
    quarter = read_quarter(folder, first)
    assert quarter.previous is None and not quarter.compared and quarter.plan() is None
    assert quarter.ranking["score_change"].isna().all()
    assert quarter.targets["met_before"].isna().all()
    assert quarter.every_target[1] is None
    assert quarter.ranking["district"].tolist() == [WEST, EAST]


def test_compare_names_the_two_runs_in_either_order(runs):
    folder, first, second = runs
    a = read_quarter(folder, compare=(second, first))
    b = read_quarter(folder, second)
    assert (a.run, a.previous) == (second, first)
    pd.testing.assert_frame_equal(a.ranking, b.ranking)
    with pytest.raises(ValueError, match="two different runs"):
        read_quarter(folder, compare=(first, first))


def test_an_incomparable_previous_run_is_said_not_raised(tmp_path: Path):
    first, second = two_run_project(tmp_path, thresholds="5, 10, 15")
    quarter = read_quarter(tmp_path, second)
    assert quarter.previous == first and not quarter.compared
    assert "cannot be compared" in quarter.refused
    assert quarter.ranking["score_before"].isna().all()
    with pytest.raises(ValueError, match="cannot be compared"):
        read_quarter(tmp_path, compare=(first, second))


def test_an_unknown_run_is_refused_naming_the_command(runs):
    folder, _, _ = runs
    with pytest.raises(ValueError, match="coverage runs PROJECT"):
        read_quarter(folder, "20000101T000000.000000Z-0000")


def test_a_district_s_part(runs):
    folder, _, second = runs
    quarter = read_quarter(folder, second)
    with pytest.raises(ValueError, match="districts: 东城区, 南城区, 西<城>区"):
        quarter.district("北城区")
    part = quarter.district(EAST)
    assert part.ranked == 3 and int(part.standing["rank"]) == 2
    assert set(part.card["district"]) == {EAST} and len(part.card) == 11
    # policy awareness 0.92 against 0.90: met, nothing to go; staff 12 of 14: 1/7 short
    to_target = part.card.set_index("indicator")["to_target"]
    assert to_target["policy_awareness"] == 0.0
    assert to_target["staffing"] == pytest.approx(2 / 14)
    assert np.isnan(to_target["funding"])  # not assessed
    assert set(part.changes["district"]) == {EAST}
    assert part.plan == {"before": 0, "after": 2, "gained": 2, "lost": 0}
    assert part.funding is None and part.funding_reason is None and not part.recommended


def test_a_district_s_funding_and_recommendation(tmp_path: Path):
    (tmp_path / "project.toml").write_text(PROJECT_TOML, encoding="utf-8")
    layers = later()
    summary = layers["district_summary"]
    layers["funding"] = pd.DataFrame({
        "level": summary["level"], "district": summary["district"], "funding_year": 2025,
        "migrants": summary["migrants"], "funding_registered_per_capita": 40.0,
        "funding_migrant_per_capita": 30.0, "funding_gap_per_capita": 10.0,
        "funding_needed_yuan": 1000.0})
    comm = gpd.GeoDataFrame(layers["community_summary"],
                            geometry=[box(i, 0, i + 1, 1) for i in range(5)], crs=32649)
    layers["community_summary"] = comm
    layers["recommended_sites"] = gpd.GeoDataFrame(
        {"rank": [1, 2], "candidate_id": ["a", "b"], "staff": [2.0, 2.0],
         "migrants_newly_within_15min": [40, 3]},
        geometry=[Point(0.5, 0.5), Point(4.5, 0.5)], crs=32649)  # in C1 (东城区), C5 (南城区)
    layers["recommended_staff"] = pd.DataFrame({"site_id": ["S1", "S2"],
                                                "district": [EAST, WEST],
                                                "new_staff": [1.0, -1.0]})
    layers["recommendation_cost"] = pd.DataFrame({
        "scenario": "recommended", "level": ["district", "district", "city"],
        "district": [EAST, SOUTH, "全市"], "new_sites": [1, 1, 2]})
    run = GeoPackageStore(tmp_path / "results").write_run(layers)
    part = read_quarter(tmp_path, run).district(EAST)
    assert part.funding["funding_gap_per_capita"].tolist() == [10.0]
    assert part.funding["migrants"].tolist() == [200]
    assert part.sites["candidate_id"].tolist() == ["a"]
    assert part.sites["migrants_newly_within_15min"].tolist() == [40]
    assert part.staff["site_id"].tolist() == ["S1"]
    assert part.cost["new_sites"].tolist() == [1]
    south = read_quarter(tmp_path, run).district(SOUTH)
    assert south.sites["candidate_id"].tolist() == ["b"]
    assert south.sites["migrants_newly_within_15min"].isna().all()  # 3 people: withheld
    assert south.staff.empty


def test_the_ranking_puts_ties_together_and_a_district_without_score_last():
    card = pd.DataFrame({"district": ["A", "B", "C", "D"], "score": [50.0, np.nan, 80.0, 80.0],
                         "rank": pd.array([3, None, 1, 1], dtype="Int64"),
                         "met_count": [1, 0, 2, 2], "assessed_count": [2, 0, 2, 2]})
    ranking = district_ranking(card)
    assert ranking["district"].tolist() == ["C", "D", "A", "B"]
    assert ranking["rank_change"].isna().all()


def test_targets_count_districts_met_and_assessed():
    card = scorecard(earlier(), min_cell=None)
    counts = target_counts(card).set_index("indicator")
    per = card.assign(met=card["met"].fillna(False)).groupby("indicator")
    assert counts["met"].to_dict() == per["met"].sum().astype(int).to_dict()
    assert counts["assessed"].to_dict() == per["assessed"].sum().astype(int).to_dict()
    assert counts["met_before"].isna().all()


def test_distance_to_target_is_on_the_wrong_side_only():
    card = scorecard(later(), min_cell=None)
    distance = distance_to_target(card)
    rows = card.assign(d=distance).set_index(["district", "indicator"])["d"]
    assert rows[(WEST, "pregnancy_check")] == pytest.approx(0.05)  # 0.65 of 0.70
    assert rows[(EAST, "pregnancy_check")] == 0.0  # 0.72: above its target
    assert rows[(SOUTH, "staffing")] == pytest.approx(1 / 6)  # a shortfall: above 0
    changes = compare_indicators(scorecard(earlier(), min_cell=None), card)
    assert len(changes) == len(card)


def test_a_new_site_is_in_the_district_it_falls_in_else_the_nearest():
    comm = gpd.GeoDataFrame({"district": ["A", "B", "C"]},
                            geometry=[box(0, 0, 1, 1), box(2, 0, 3, 1), None], crs=32649)
    points = gpd.GeoSeries([Point(0.5, 0.5), Point(2.5, 0.5), Point(1.8, 0.5)], crs=32649)
    assert districts_at(points, comm).tolist() == ["A", "B", "B"]


def test_funding_per_person_is_withheld_with_the_district_s_migrants():
    funding = pd.DataFrame({"level": ["district", "district"], "district": ["A", "B"],
                            "migrants": [100, 5], "funding_migrant_per_capita": [3.0, 90.0],
                            "funding_migrant_yuan": [300.0, 450.0]})
    published = pd.DataFrame({"level": ["district", "district"], "district": ["A", "B"],
                              "migrants": pd.array([100, None], dtype="Int64")})
    shown = publish_funding(funding, published)
    assert shown["funding_migrant_per_capita"].tolist()[0] == 3.0
    assert np.isnan(shown["funding_migrant_per_capita"].iloc[1])
    assert shown["funding_migrant_yuan"].tolist() == [300.0, 450.0]
    assert pd.isna(shown["migrants"].iloc[1])


def test_the_districts_of_a_kept_run_are_read_without_computing(tmp_path: Path):
    (tmp_path / "project.toml").write_text(PROJECT_TOML, encoding="utf-8")
    project = load_project(tmp_path)
    assert kept_districts(project) == []
    GeoPackageStore(tmp_path / "results").write_run(later())
    assert kept_districts(project) == sorted([EAST, WEST, SOUTH])
