"""Funding per capita, the gap and the budget needed, and a recommendation's cost, by hand.

Two districts with round numbers: every figure of :func:`funding_table` and
:func:`recommendation_cost` is worked out in the comments and compared exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coverage.measures.funding import (
    FUNDING_COLUMNS,
    budget_year,
    funding_table,
    recommendation_cost,
)
from coverage.reference import CITY


def _districts() -> pd.DataFrame:
    # A: 2,000 migrants, 4,000 registered; B: 1,000 migrants, 1,000 registered
    return pd.DataFrame({
        "level": ["district", "district", "city"],
        "district": ["甲区", "乙区", CITY],
        "migrants": [2000, 1000, 3000],
        "registered_pop": [4000, 1000, 5000],
    })


def _budgets() -> pd.DataFrame:
    return pd.DataFrame({
        "district": ["甲区", "乙区", "甲区", "乙区"],
        "year": [2024, 2024, 2025, 2025],
        # 2025: A spends 40 per registered resident, 10 per migrant; B 30 and 36
        "budget_registered": [100_000.0, 20_000.0, 160_000.0, 30_000.0],
        "budget_migrant": [10_000.0, 30_000.0, 20_000.0, 36_000.0],
    })


def test_per_capita_gap_and_needed_budget_by_hand() -> None:
    table = funding_table(_budgets(), _districts())
    assert list(table.columns) == list(FUNDING_COLUMNS)
    assert list(table["district"]) == ["甲区", "乙区", CITY]
    assert list(table["level"]) == ["district", "district", "city"]
    assert (table["funding_year"] == 2025).all()  # the latest year
    a, b, city = (table.iloc[k] for k in range(3))
    assert a["funding_registered_per_capita"] == 40.0  # 160,000 / 4,000
    assert a["funding_migrant_per_capita"] == 10.0  # 20,000 / 2,000
    assert a["funding_gap_per_capita"] == 30.0
    assert a["funding_standard_per_capita"] == 40.0  # the district's own registered spend
    assert a["funding_migrant_at_standard_yuan"] == 80_000.0  # 40 × 2,000
    assert a["funding_needed_yuan"] == 60_000.0  # 80,000 − 20,000
    assert b["funding_registered_per_capita"] == 30.0
    assert b["funding_migrant_per_capita"] == 36.0
    assert b["funding_gap_per_capita"] == -6.0  # migrants receive more here
    assert b["funding_needed_yuan"] == 0.0  # 30 × 1,000 − 36,000 < 0: floored
    assert city["funding_registered_yuan"] == 190_000.0
    assert city["funding_migrant_yuan"] == 56_000.0
    assert city["funding_registered_per_capita"] == 38.0  # 190,000 / 5,000
    assert city["funding_migrant_per_capita"] == pytest.approx(56_000 / 3_000)
    assert city["funding_gap_per_capita"] == pytest.approx(38.0 - 56_000 / 3_000)
    assert city["funding_migrant_at_standard_yuan"] == 110_000.0  # 80,000 + 30,000
    assert city["funding_standard_per_capita"] == pytest.approx(110_000 / 3_000)
    assert city["funding_needed_yuan"] == 60_000.0  # the districts' needs added up


def test_a_chosen_year_and_other_standards() -> None:
    earlier = funding_table(_budgets(), _districts(), year=2024)
    assert (earlier["funding_year"] == 2024).all()
    assert earlier.iloc[0]["funding_registered_per_capita"] == 25.0  # 100,000 / 4,000
    assert earlier.iloc[0]["funding_needed_yuan"] == 40_000.0  # 25 × 2,000 − 10,000
    fixed = funding_table(_budgets(), _districts(), standard=20.0)
    assert list(fixed["funding_standard_per_capita"]) == [20.0, 20.0, 20.0]
    # A: 20 × 2,000 − 20,000 = 20,000; B: 20 × 1,000 − 36,000 < 0 → 0
    assert list(fixed["funding_needed_yuan"]) == [20_000.0, 0.0, 20_000.0]
    city_std = funding_table(_budgets(), _districts(), standard="city_registered_per_capita")
    # the city spends 38 per registered resident: A 38 × 2,000 − 20,000; B 38,000 − 36,000
    assert list(city_std["funding_needed_yuan"]) == [56_000.0, 2_000.0, 58_000.0]
    with pytest.raises(ValueError, match="2023"):
        budget_year(_budgets(), 2023)
    assert budget_year(_budgets()) == 2025


def test_a_district_without_a_budget_row_is_left_out_of_the_city() -> None:
    budgets = _budgets()
    table = funding_table(budgets[budgets["district"] == "甲区"], _districts())
    assert np.isnan(table.iloc[1]["funding_migrant_per_capita"])
    assert np.isnan(table.iloc[1]["funding_needed_yuan"])
    city = table.iloc[2]
    assert city["migrants"] == 2000 and city["registered_pop"] == 4000
    assert city["funding_needed_yuan"] == 60_000.0


def test_no_people_gives_no_per_capita_and_no_need() -> None:
    districts = _districts().assign(migrants=[0, 1000, 1000])
    table = funding_table(_budgets(), districts)
    assert np.isnan(table.iloc[0]["funding_migrant_per_capita"])
    assert table.iloc[0]["funding_needed_yuan"] == 0.0


def test_recommendation_cost_is_unit_costs_times_what_it_adds() -> None:
    sites = pd.Series({"甲区": 2, "乙区": 1})
    staff = pd.Series({"甲区": 5.0, "丙区": 1.5})
    cost = recommendation_cost(sites, staff, site_cost_yuan=250_000,
                               staff_cost_yuan_per_year=70_000)
    by = cost.set_index("district")
    assert list(cost["level"]) == ["district"] * 3 + ["city"]
    assert by.loc["甲区", "cost_sites_yuan"] == 2 * 250_000
    assert by.loc["甲区", "cost_staff_yuan_per_year"] == 5 * 70_000
    assert by.loc["甲区", "budget_needed_yuan"] == 2 * 250_000 + 5 * 70_000
    assert by.loc["乙区", "new_staff"] == 0.0
    assert by.loc["丙区", "new_sites"] == 0
    assert by.loc["丙区", "budget_needed_yuan"] == 1.5 * 70_000
    assert by.loc[CITY, "new_sites"] == 3 and by.loc[CITY, "new_staff"] == 6.5
    assert by.loc[CITY, "budget_needed_yuan"] == 3 * 250_000 + 6.5 * 70_000
    assert (cost["site_cost_yuan"] == 250_000).all()
    assert (cost["staff_cost_yuan_per_year"] == 70_000).all()


def test_staff_moved_away_lower_a_district_cost() -> None:
    cost = recommendation_cost(pd.Series(dtype=int), pd.Series({"甲区": -2.0, "乙区": 2.0}),
                               site_cost_yuan=1.0, staff_cost_yuan_per_year=100.0)
    by = cost.set_index("district")["cost_staff_yuan_per_year"]
    assert by["甲区"] == -200.0 and by["乙区"] == 200.0 and by[CITY] == 0.0
