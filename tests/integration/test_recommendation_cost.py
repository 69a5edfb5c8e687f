"""Funding on the small demo city: its budgets file, the run's ``funding`` layer, and the cost
of a recommendation (unit costs × the sites and staff it adds), also in the report.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from coverage.demo.budgets import make_budgets
from coverage.reference import CITY


def test_demo_budgets_file(small_demo: Path) -> None:
    raw = (small_demo / "budgets.csv").read_bytes()
    assert raw.decode("gb18030").startswith("区,年度,户籍人口经费,流动人口经费\r\n")
    budgets = pd.read_csv(small_demo / "budgets.csv", encoding="gb18030")
    districts = set(gpd.read_file(small_demo / "communities.gpkg")["district"])
    assert set(budgets["区"]) == districts
    assert budgets.groupby("年度")["区"].nunique().to_dict() == {2025: len(districts),
                                                                 2026: len(districts)}
    assert (budgets[["户籍人口经费", "流动人口经费"]] > 0).all().all()


def test_demo_budgets_follow_the_seed() -> None:
    district = np.array(["乙区", "甲区", "甲区"])
    registered = np.array([100, 200, 300])
    migrant_community = np.array([0, 0, 1, 2, 2])
    one, two = (make_budgets(district, registered, migrant_community, np.random.default_rng(7))
                for _ in range(2))
    pd.testing.assert_frame_equal(one, two)
    other = make_budgets(district, registered, migrant_community, np.random.default_rng(8))
    assert not one.equals(other)
    # the first district by name is planted funding migrants above its registered standard
    first = one[(one["district"] == "乙区") & (one["year"] == 2026)].iloc[0]
    assert first["budget_migrant"] / 2 > first["budget_registered"] / 100


def test_run_has_funding_with_a_gap(small_run) -> None:
    funding = small_run.layers()["funding"]
    districts = small_run.district_summary
    assert list(funding["district"]) == list(districts["district"])
    assert "funding" not in small_run.skipped
    rows = funding[funding["level"] == "district"]
    # planted: one district funds migrants above its registered residents, the others below
    assert (rows["funding_gap_per_capita"] < 0).sum() == 1
    assert (rows["funding_needed_yuan"] > 0).sum() == len(rows) - 1
    city = funding[funding["level"] == "city"].iloc[0]
    assert city["funding_needed_yuan"] == pytest.approx(rows["funding_needed_yuan"].sum())


def test_recommendation_cost_is_unit_costs_times_what_it_adds(small_run) -> None:
    from coverage.engine.recommend import recommend
    from coverage.engine.scenario import ScenarioModel
    from coverage.report.build import build_report

    model = ScenarioModel(small_run.study, baseline=small_run.baseline)
    rec = recommend(model, new_sites=2, new_staff=3)
    cost = rec.layers["recommendation_cost"]
    funding = small_run.study.project.parameters.funding
    city = cost[cost["level"] == "city"].iloc[0]
    sites, staff = rec.layers["recommended_sites"], rec.layers["recommended_staff"]
    added_staff = sites["staff"].sum() + staff["new_staff"].sum()
    assert city["district"] == CITY
    assert city["new_sites"] == len(sites) == 2
    assert city["new_staff"] == pytest.approx(added_staff)
    assert city["budget_needed_yuan"] == pytest.approx(
        2 * funding.site_cost_yuan + added_staff * funding.staff_cost_yuan_per_year)
    districts = cost[cost["level"] == "district"]
    assert districts["new_sites"].sum() == 2
    assert districts["budget_needed_yuan"].sum() == pytest.approx(city["budget_needed_yuan"])
    by_district = staff.groupby("district")["new_staff"].sum()
    for name, added in by_district.items():  # at least the staff given to its existing sites
        assert districts.set_index("district").loc[name, "new_staff"] >= added - 1e-9

    layers = {**small_run.layers(), **rec.layers}
    report = build_report(layers, project_name="demo", lang="en")
    keys = [t.key for t in report.tables()]
    assert "funding" in keys and "cost" in keys
    shown = next(t for t in report.tables() if t.key == "cost").frame
    assert shown["budget_needed_yuan"].iloc[-1] == pytest.approx(city["budget_needed_yuan"])
