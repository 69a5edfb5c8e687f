"""Tests for coverage.engine.costs and the cost columns of a scenario comparison.

Two evaluated tables written by hand (the city and two districts, 东城区 and ``西<城>区``):
the baseline and a scenario ``more`` that adds a service point with 3 staff in 东城区 and
moves 1 staff from 西<城>区 to 东城区. Its cost is written by hand too, at 200,000 yuan a
point and 60,000 yuan a member of staff a year: 东城区 1 point and 4 staff (440,000), 西<城>区
−1 staff (−60,000), the city 1 point and 3 staff (380,000).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coverage.engine.costs import COMPARISON_COST_COLUMNS, cost_columns
from coverage.engine.cycle import published_funding, ranked_scorecard
from coverage.engine.scenario import compare, comparison_layer
from coverage.measures.funding import recommendation_cost
from coverage.reference import CITY

EAST, WEST = "东城区", "西<城>区"


def _table(staff: tuple[float, float], coverage: tuple[float, float]) -> pd.DataFrame:
    """An evaluated table: the city, two districts and a community."""
    east, west = staff
    return pd.DataFrame({
        "level": ["city", "district", "district", "community"],
        "unit": [CITY, EAST, WEST, "C1"],
        "migrants": [300, 200, 100, 50],
        "coverage_15min_migrant": [np.mean(coverage), *coverage, 0.5],
        "staff": [east + west, east, west, 1.0]})


BASELINE = _table((10.0, 5.0), (0.5, 0.7))
MORE = _table((14.0, 4.0), (0.8, 0.7))
COST = recommendation_cost(pd.Series({EAST: 1}), pd.Series({EAST: 4.0, WEST: -1.0}),
                           site_cost_yuan=200_000, staff_cost_yuan_per_year=60_000)


def test_the_hand_written_cost_is_the_funding_module_s():
    city = COST.set_index("district").loc[CITY]
    assert (city["new_sites"], city["new_staff"], city["budget_needed_yuan"]) == (
        1, 3.0, 380_000.0)


def test_the_comparison_layer_keeps_its_columns_and_adds_each_row_s_cost():
    tables = {"baseline": BASELINE, "more": MORE}
    plain = comparison_layer(tables)
    layer = comparison_layer(tables, {"more": COST})
    assert list(layer.columns) == [*plain.columns, *COMPARISON_COST_COLUMNS]
    pd.testing.assert_frame_equal(layer[plain.columns], plain)
    rows = layer.set_index(["scenario", "unit"])
    assert rows.loc[("more", EAST), list(COMPARISON_COST_COLUMNS)].tolist() == [
        1, 4.0, 200_000.0, 240_000.0, 440_000.0]
    assert rows.loc[("more", WEST), "budget_needed_yuan"] == -60_000.0
    assert rows.loc[("more", CITY), "budget_needed_yuan"] == 380_000.0
    # the baseline costs nothing; the counts of new points stay whole numbers
    assert (rows.loc["baseline", list(COMPARISON_COST_COLUMNS)] == 0).all().all()
    assert layer["new_sites"].dtype == np.int64 and layer["new_staff"].dtype == float


def test_a_district_the_scenario_does_not_change_costs_nothing():
    cost = COST[COST["district"] != WEST]  # as if 西<城>区 kept its staff
    rows = comparison_layer({"baseline": BASELINE, "more": MORE}, {"more": cost})
    west = rows[(rows["scenario"] == "more") & (rows["unit"] == WEST)].iloc[0]
    assert west[list(COMPARISON_COST_COLUMNS)].tolist() == [0, 0.0, 0.0, 0.0, 0.0]


def test_compare_shows_the_cost_beside_the_effect_and_its_change():
    table = compare({"baseline": BASELINE, "more": MORE}, costs={"more": COST})
    city = table.iloc[0]
    assert city[("more", "coverage_15min_migrant")] == pytest.approx(0.75)
    assert city[("more", "budget_needed_yuan")] == 380_000.0
    assert city[("baseline", "budget_needed_yuan")] == 0.0
    assert city[("more − baseline", "new_staff")] == 3.0
    districts = compare({"baseline": BASELINE, "more": MORE}, level="district",
                        costs={"more": COST})
    assert districts.loc[WEST, ("more", "new_staff")] == -1.0
    # without costs, as before: no cost column
    plain = compare({"baseline": BASELINE, "more": MORE})
    assert "budget_needed_yuan" not in plain.columns.get_level_values(1)


def test_cost_columns_of_rows_without_any_cost_are_zeros():
    rows = BASELINE[BASELINE["level"] != "community"].assign(scenario="baseline")
    out = cost_columns(rows, {})
    assert list(out.index) == list(rows.index) and (out == 0).all().all()


def test_funding_shown_hides_what_a_suppressed_district_s_migrants_would_give_back():
    funding = pd.DataFrame({
        "level": ["district", "district", "city"], "district": [EAST, WEST, CITY],
        "funding_year": 2026, "migrants": [200, 8, 208], "registered_pop": [300, 50, 350],
        "funding_registered_yuan": [3000.0, 500.0, 3500.0],
        "funding_migrant_yuan": [1000.0, 20.0, 1020.0],
        "funding_registered_per_capita": [10.0, 10.0, 10.0],
        "funding_migrant_per_capita": [5.0, 2.5, 1020 / 208],
        "funding_gap_per_capita": [5.0, 7.5, 10 - 1020 / 208],
        "funding_standard_per_capita": [10.0, 10.0, 10.0],
        "funding_migrant_at_standard_yuan": [2000.0, 80.0, 2080.0],
        "funding_needed_yuan": [1000.0, 60.0, 1060.0]})
    published = pd.DataFrame({"level": ["district", "district", "city"],
                              "district": [EAST, WEST, CITY],
                              "migrants": pd.array([200, None, 208], dtype="Int64")})
    shown = published_funding(funding, published).set_index("district")
    assert "migrants" not in shown and "registered_pop" not in shown
    assert shown.loc[EAST].drop("level").tolist() == funding.set_index("district").loc[
        EAST].drop(["level", "migrants", "registered_pop"]).tolist()
    west = shown.loc[WEST]
    for column in ("funding_migrant_per_capita", "funding_registered_per_capita",
                   "funding_gap_per_capita", "funding_standard_per_capita",
                   "funding_migrant_at_standard_yuan", "funding_needed_yuan"):
        assert np.isnan(west[column]), column
    assert (west["funding_registered_yuan"], west["funding_migrant_yuan"]) == (500.0, 20.0)
    assert shown.loc[CITY, "funding_needed_yuan"] == 1060.0


def test_the_scorecard_is_ranked_best_first_unranked_last():
    rows = []
    for district, rank, score in (("甲", 3, 50.0), ("乙", 1, 90.0), ("丙", None, np.nan),
                                  ("丁", 1, 90.0)):
        for indicator in ("coverage", "staffing"):
            rows.append({"district": district, "indicator": indicator, "score": score,
                         "rank": rank})
    table = pd.DataFrame(rows).astype({"rank": "Int64"})
    ranked = ranked_scorecard({"scorecard": table}, project=None)  # type: ignore[arg-type]
    assert list(dict.fromkeys(ranked["district"])) == ["乙", "丁", "甲", "丙"]
    assert ranked["indicator"].tolist() == ["coverage", "staffing"] * 4
