"""The progress between two runs: the table against a hand computation, units in one run
only, suppressed cells, refused comparisons, and reading two runs from a project's store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coverage.engine.progress import (
    PROGRESS_COLUMNS,
    previous_run,
    progress_between,
    progress_table,
)
from coverage.reference import CITY
from coverage.store.gpkg import GeoPackageStore
from progress_runs import EAST, SOUTH, WEST, earlier, later, two_run_project


def _row(table: pd.DataFrame, unit: str, measure: str) -> pd.Series:
    rows = table[(table["unit"] == unit) & (table["measure"] == measure)]
    assert len(rows) == 1, (unit, measure)
    return rows.iloc[0]


def _check(row: pd.Series, before: float, after: float, target: float | None = None,
           met: tuple[bool | None, bool | None] = (None, None)) -> None:
    """``row`` holds these figures, its change after − before, and these verdicts."""
    assert row["value_before"] == pytest.approx(before, abs=1e-12, nan_ok=True)
    assert row["value_after"] == pytest.approx(after, abs=1e-12, nan_ok=True)
    assert row["change"] == pytest.approx(after - before, abs=1e-12, nan_ok=True)
    if target is None:
        assert np.isnan(row["target"])
    else:
        assert row["target"] == pytest.approx(target)
    for side, verdict in zip(("met_before", "met_after"), met, strict=True):
        if verdict is None:
            assert pd.isna(row[side]), side
        else:
            assert not pd.isna(row[side]) and bool(row[side]) == verdict, side


def test_the_progress_table_equals_the_hand_computation():
    table = progress_table(earlier(), later())
    assert tuple(table.columns) == PROGRESS_COLUMNS
    # 东城区: pregnancy checks 120/200 → 144/200 against 0.70; coverage (0.5 + 0.7)/2 →
    # (0.66 + 0.78)/2; its gap to the registered residents' 0.8 narrows by as much
    _check(_row(table, EAST, "pregnancy_check"), 0.60, 0.72, 0.70, (False, True))
    _check(_row(table, EAST, "policy_awareness"), 0.85, 0.92, 0.90, (False, True))
    _check(_row(table, EAST, "coverage_10min_migrant"), 0.60, 0.72)
    _check(_row(table, EAST, "coverage_gap_10min"), 0.20, 0.08)
    _check(_row(table, EAST, "staff"), 10, 12)
    _check(_row(table, EAST, "staff_per_1000_migrants"), 10 / 200 * 1000, 12 / 200 * 1000)
    _check(_row(table, EAST, "staff_shortfall"), 14 - 10, 14 - 12, 0, (False, False))
    # 西<城>区 falls back: pregnancy checks 160/200 → 130/200; the shortfall closes (9 of 9)
    _check(_row(table, WEST, "pregnancy_check"), 0.80, 0.65, 0.70, (True, False))
    _check(_row(table, WEST, "coverage_10min_migrant"), 0.40, 0.35)
    _check(_row(table, WEST, "staff_shortfall"), 1, 0, 0, (False, True))
    # the city: 280/400 → 344/500 and 360/400 → 464/500; coverage 2.0/4 → 2.64/5
    _check(_row(table, CITY, "pregnancy_check"), 0.70, 0.688, 0.70, (True, False))
    _check(_row(table, CITY, "policy_awareness"), 0.90, 0.928, 0.90, (True, True))
    _check(_row(table, CITY, "coverage_10min_migrant"), 0.50, 0.528)
    _check(_row(table, CITY, "staff"), 18, 26)
    _check(_row(table, CITY, "staff_per_1000_migrants"), 18 / 400 * 1000, 26 / 500 * 1000)
    _check(_row(table, CITY, "staff_shortfall"), 5, 3, 0, (False, False))
    # one row per unit and measure: 2 indicators, 6 coverage shares, 4 staffing measures;
    # the city first, the districts in the later run's order; no funding figures in these runs
    assert not table.duplicated(["unit", "measure"]).any()
    assert list(dict.fromkeys(table["unit"])) == [CITY, EAST, WEST, SOUTH]
    assert table.groupby("unit").size().eq(12).all()
    assert list(table.loc[table["unit"] == EAST, "group"].unique()) == [
        "indicator", "coverage", "staffing"]
    assert set(table.loc[table["unit"] == CITY, "level"]) == {"city"}


def test_a_unit_of_one_run_only_keeps_its_row_with_the_other_side_empty():
    table = progress_table(earlier(), later())
    _check(_row(table, SOUTH, "pregnancy_check"), np.nan, 0.70, 0.70, (None, True))
    _check(_row(table, SOUTH, "staff"), np.nan, 5)
    backwards = progress_table(later(), earlier())  # the district gone in the later run
    _check(_row(backwards, SOUTH, "coverage_10min_migrant"), 0.50, np.nan)
    assert (backwards["unit"] == SOUTH).sum() == 12


def test_a_funding_gap_is_compared_where_a_run_has_one():
    before, after = earlier(), later()
    before["district_summary"]["funding_gap"] = [20000.0, 0.0, 20000.0]
    table = progress_table(before, after)
    _check(_row(table, EAST, "funding_gap"), 20000, np.nan, 0, (False, None))
    _check(_row(table, WEST, "funding_gap"), 0, np.nan, 0, (True, None))
    assert set(table.loc[table["measure"] == "funding_gap", "group"]) == {"funding"}


def test_a_small_cell_is_suppressed_before_it_is_compared():
    before = earlier()
    ind = before["indicators"]
    # 西<城>区's policy awareness 195 of 200 (C3 95, C4 100): 5 not aware, fewer than 10
    ind.loc[(ind["unit"] == "C3") & (ind["indicator"] == "policy_awareness"), "achieved"] = 95
    ind.loc[(ind["level"] != "community") & (ind["indicator"] == "policy_awareness")
            & ind["unit"].isin([WEST, "city"]), "achieved"] += 5
    ind["value"] = ind["achieved"] / ind["population"]
    exact = progress_table(before, later(), min_cell=None)
    _check(_row(exact, WEST, "policy_awareness"), 0.975, 0.95, 0.90, (True, True))
    published = progress_table(before, later(), min_cell=10)
    row = _row(published, WEST, "policy_awareness")
    assert np.isnan(row["value_before"]) and np.isnan(row["change"])
    assert row["value_after"] == pytest.approx(0.95)


@pytest.mark.parametrize(("setting", "value", "words"), [
    ("mode", "ebike", "travel mode walk in A, ebike in B"),
    ("thresholds", "5, 10, 15", "time thresholds (min) 10, 15 in A, 5, 10, 15 in B"),
])
def test_runs_of_other_settings_are_refused_naming_both(setting, value, words):
    with pytest.raises(ValueError, match="runs A and B cannot be compared") as caught:
        progress_table(earlier(), later(**{setting: value}), names=("A", "B"))
    assert words in str(caught.value)


def test_two_runs_of_a_project_read_from_its_store(tmp_path: Path):
    first, second = two_run_project(tmp_path)
    table = progress_between(tmp_path, second, first)  # either order: the earlier is before
    assert table.attrs["run_before"] == first and table.attrs["run_after"] == second
    assert table.attrs["time_before"] < table.attrs["time_after"]
    pd.testing.assert_frame_equal(table, progress_table(earlier(), later()),
                                  check_exact=False, atol=1e-12)
    since_last = progress_between(tmp_path, second)
    pd.testing.assert_frame_equal(since_last, table)
    with GeoPackageStore(tmp_path / "results") as store:
        assert previous_run(store, second) == first
        assert previous_run(store, first) is None
    with pytest.raises(ValueError, match="is the first"):
        progress_between(tmp_path, first)
    with pytest.raises(ValueError, match="two different runs"):
        progress_between(tmp_path, first, first)
    unknown = "20000101T000000.000000Z-0000"
    with pytest.raises(ValueError, match=f"no run {unknown}.*coverage runs"):
        progress_between(tmp_path, first, unknown)


def test_runs_of_another_travel_mode_in_the_store_are_refused(tmp_path: Path):
    first, second = two_run_project(tmp_path, mode="ebike")
    with pytest.raises(ValueError, match=f"runs {first} and {second} cannot be compared"):
        progress_between(tmp_path, first, second)
