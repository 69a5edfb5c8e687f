"""The planning session's scorecard, its trend, the funding table and the scenario's cost.

On three projects: a copy of the small demo city (budgets, then a second run with new budgets),
the same city cut down to the required columns (tests/minimal.py: no budgets) and a project on
the real OSM extract of central Guixi (tests/realdata.py: no budgets, no origin codes,
communities given as a table). Every figure the session hands out is checked against the run's
own layers read back from the project's store, and the cost of a scenario against the unit
costs of ``[parameters.funding]`` times what it adds.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coverage.engine.costs import COMPARISON_COST_COLUMNS
from coverage.engine.scorecard import SCORECARD_COLUMNS, scorecard_between
from coverage.engine.session import PlanningSession
from coverage.engine.workspace import forget
from coverage.io.project import load_project
from coverage.reference import CITY
from coverage.store import open_store
from minimal import partial_project
from realdata import GUIXI_OSM, build_guixi_project

pytestmark = pytest.mark.slow


def _stored(folder: Path, names: tuple[str, ...] = ("scorecard", "funding")
            ) -> tuple[str, dict[str, pd.DataFrame]]:
    """The latest run of a project's store and those of ``names`` it holds."""
    with open_store(load_project(folder)) as store:
        runs = store.runs()
        kept = runs["layers"].iloc[-1]
        run_id = str(runs["run_id"].iloc[-1])
        return run_id, store.read_layers(run_id, [n for n in names if n in kept])


def _opened(folder: Path) -> Iterator[PlanningSession]:
    session = PlanningSession.open(folder)
    yield session
    forget(session.project)


@pytest.fixture(scope="module")
def demo(small_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlanningSession]:
    """A session on a copy of the small demo city, its first run made and kept."""
    folder = tmp_path_factory.mktemp("cycle_demo") / "city"
    shutil.copytree(small_demo, folder)
    yield from _opened(folder)


@pytest.fixture(scope="module")
def plain(small_demo: Path, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[PlanningSession]:
    """A session on the small demo city cut to the required columns: no budgets."""
    yield from _opened(partial_project(small_demo, tmp_path_factory.mktemp("cycle_plain")))


@pytest.fixture(scope="module")
def guixi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlanningSession]:
    """A session on the central-Guixi project: no budgets, no origin codes."""
    if not GUIXI_OSM.exists():
        pytest.skip(f"the reference OSM extract {GUIXI_OSM.name} is absent")
    yield from _opened(build_guixi_project(tmp_path_factory.mktemp("cycle_guixi") / "g",
                                           n_migrants=1500))


def _check_scorecard(session: PlanningSession) -> pd.DataFrame:
    """The session's scorecard is the stored layer's rows, the best rank first."""
    _, layers = _stored(session.project.path.parent)
    shown = session.scorecard()
    assert list(shown.columns) == list(SCORECARD_COLUMNS)
    keys = ["district", "indicator"]
    pd.testing.assert_frame_equal(
        shown.sort_values(keys).reset_index(drop=True),
        layers["scorecard"].sort_values(keys).reset_index(drop=True), check_dtype=False)
    firsts = shown.drop_duplicates("district")
    ranks = firsts["rank"].astype("Float64").to_numpy(dtype=float, na_value=np.inf)
    assert (np.diff(ranks) >= 0).all()
    # each district's parts in the assessment's order
    order = [s.name for s in session.project.assessment.indicators]
    for _, parts in shown.groupby("district", sort=False):
        assert parts["indicator"].tolist() == order
    return shown


def _check_cost(session: PlanningSession) -> None:
    """A point added with 3 staff costs one site and 3 staff at the unit costs."""
    unit = session.project.parameters.funding
    sites = session.sites()
    point = sites.to_crs(4326).geometry.iloc[0]
    session.edits = []
    session.add_site(point.x + 0.001, point.y + 0.001, staff=3.0)
    cost = session.scenario_cost()
    city = cost[cost["level"] == "city"].iloc[0]
    assert (city["scenario"], city["new_sites"], city["new_staff"]) == ("current", 1, 3.0)
    assert city["cost_sites_yuan"] == unit.site_cost_yuan
    assert city["cost_staff_yuan_per_year"] == 3.0 * unit.staff_cost_yuan_per_year
    assert city["budget_needed_yuan"] == unit.site_cost_yuan + 3 * unit.staff_cost_yuan_per_year
    districts = cost[cost["level"] == "district"]
    assert len(districts) == 1 and districts["budget_needed_yuan"].sum() == city[
        "budget_needed_yuan"]
    table = session.comparison()
    assert list(table.columns) == ["baseline", "current"]
    assert list(table.index[-len(COMPARISON_COST_COLUMNS):]) == list(COMPARISON_COST_COLUMNS)
    assert table.loc["budget_needed_yuan", "current"] == city["budget_needed_yuan"]
    assert (table.loc[list(COMPARISON_COST_COLUMNS), "baseline"] == 0).all()
    assert table.loc["staff", "current"] == pytest.approx(table.loc["staff", "baseline"] + 3)
    session.edits = []
    empty = session.scenario_cost()
    assert empty["level"].tolist() == ["city"] and empty["budget_needed_yuan"].iloc[0] == 0


def test_the_demo_s_scorecard_funding_and_first_run(demo: PlanningSession):
    _check_scorecard(demo)
    trend = demo.scorecard_trend()
    assert (trend.table, trend.reason) == (None, "first-run")
    assert trend.run_after == _stored(demo.project.path.parent)[0]
    _, layers = _stored(demo.project.path.parent)
    funding = demo.funding()
    assert demo.funding_reason() is None
    expected = layers["funding"].drop(columns=["migrants", "registered_pop"])
    pd.testing.assert_frame_equal(funding.reset_index(drop=True),
                                  expected.reset_index(drop=True), check_dtype=False)


def test_the_demo_s_scenario_cost_and_comparison(demo: PlanningSession):
    _check_cost(demo)
    demo.add_site(*demo.sites().to_crs(4326).geometry.iloc[1].coords[0], staff=2.0)
    demo.save("A")
    demo.edits = []
    table = demo.comparison()
    assert list(table.columns) == ["baseline", "A", "current"]
    unit = demo.project.parameters.funding
    assert table.loc["budget_needed_yuan", "A"] == (unit.site_cost_yuan
                                                    + 2 * unit.staff_cost_yuan_per_year)
    assert table.loc["budget_needed_yuan", "current"] == 0
    # the report of the current scenario prices it, not the stored recommendation
    demo.load(demo.scenarios["A"])
    layers = demo.report_layers()
    cost = layers["recommendation_cost"]
    assert set(cost["scenario"]) == {"recommended"}
    assert cost.loc[cost["level"] == "city", "new_sites"].item() == 1
    comparison = layers["scenario_comparison"]
    assert set(COMPARISON_COST_COLUMNS) <= set(comparison.columns)
    city = comparison[(comparison["scenario"] == "recommended") & (comparison["level"] == "city")]
    assert city["budget_needed_yuan"].item() == cost.loc[cost["level"] == "city",
                                                         "budget_needed_yuan"].item()
    demo.scenarios.clear()
    demo.edits = []


def test_a_second_run_gives_the_trend_of_each_district(demo: PlanningSession):
    folder = demo.project.path.parent
    first, _ = _stored(folder)
    budgets = pd.read_csv(folder / "budgets.csv", encoding="gb18030")
    budgets["流动人口经费"] = (budgets["流动人口经费"] * 3).round()  # every district funded
    budgets.to_csv(folder / "budgets.csv", index=False, encoding="gb18030")
    forget(demo.project)
    later = PlanningSession.open(folder)
    try:
        second, layers = _stored(folder)
        assert second != first
        trend = later.scorecard_trend()
        assert (trend.reason, trend.run_before, trend.run_after) == (None, first, second)
        expected = scorecard_between(load_project(folder), second)
        pd.testing.assert_frame_equal(trend.table, expected)
        assert trend.time_before is not None and trend.time_before < pd.Timestamp.now("UTC")
        # the later run's scores are the run's own (as its scorecard layer published them)
        own = layers["scorecard"].drop_duplicates("district").set_index("district")["score"]
        after = trend.table.set_index("district")["score_after"]
        pd.testing.assert_series_equal(after.reindex(own.index), own, check_names=False)
        assert (trend.table["score_change"] >= 0).all() and (trend.table["score_change"] > 0).any()
        assert later.funding()["funding_migrant_yuan"].iloc[0] == pytest.approx(
            3 * demo.funding()["funding_migrant_yuan"].iloc[0], abs=2)
    finally:
        forget(later.project)


def _check_without_budgets(session: PlanningSession) -> None:
    shown = _check_scorecard(session)
    funding = shown[shown["indicator"] == "funding"]
    assert set(funding["reason"]) == {"no-funding-figures"} and not funding["assessed"].any()
    assert session.funding() is None and session.funding_reason() == "no-budgets"
    assert session.scorecard_trend().reason == "first-run"
    _check_cost(session)


def test_a_project_of_the_required_columns_only(plain: PlanningSession):
    _check_without_budgets(plain)


def test_the_central_guixi_project(guixi: PlanningSession):
    assert "origin_flows" in guixi.skipped  # no origin codes
    _check_without_budgets(guixi)
    assert CITY in set(guixi.baseline_published()[0]["district"])
