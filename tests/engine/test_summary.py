"""Tests for coverage.engine.summary: the one city / district / community aggregation.

Three communities in two districts, a handful of migrants and registered-resident points with
travel times chosen so that every figure can be worked out by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coverage.engine.summary import (
    CITY,
    Units,
    coverage_shares_of,
    e2sfca_means,
    group_sums,
    people_sums,
    unit_summaries,
    unit_totals,
)

THRESHOLDS = (5.0, 10.0)


@pytest.fixture
def communities() -> pd.DataFrame:
    # listed out of district order: districts are sorted, communities keep their order
    return pd.DataFrame({"community_id": ["c1", "c2", "c3"], "district": ["北区", "东区", "北区"]})


@pytest.fixture
def units(communities: pd.DataFrame) -> Units:
    return Units.of(communities, ["c1", "c1", "c1", "c2", "c3", "c3"], ["c1", "c2", "c3", "c3"])


#: Minutes of the six migrants (NaN: reaches no service point) and of the four points.
MIGRANT_TIME = np.array([3.0, 7.0, np.nan, 12.0, 5.0, 9.0])
REGISTERED_TIME = np.array([4.0, 20.0, 6.0, np.nan])
REGISTERED_POP = np.array([100.0, 50.0, 30.0, 20.0])


def test_units_number_districts_sorted_and_people_by_community(units: Units) -> None:
    assert list(units.districts) == ["东区", "北区"]
    assert list(units.community_district) == [1, 0, 1]
    assert list(units.migrant_community) == [0, 0, 0, 1, 2, 2]
    names, km, kr, kc = units.codes("district")
    assert list(names) == ["东区", "北区"]
    assert list(km) == [1, 1, 1, 0, 1, 1]
    assert list(kr) == [1, 0, 1, 1]
    assert list(kc) == [1, 0, 1]
    names, km, _, _ = units.codes("city")
    assert list(names) == [CITY] and CITY == "全市"
    assert not km.any()


def test_a_person_of_no_known_community_counts_for_the_city_only(
        communities: pd.DataFrame) -> None:
    units = Units.of(communities, ["c1", "elsewhere"], ["c2"])
    assert list(units.migrant_community) == [0, -1]
    one = np.array([1.0, 1.0])
    kw = {"migrant_time": one, "registered_time": np.array([1.0]),
          "registered_pop": np.array([10.0])}
    assert people_sums(units, "community", THRESHOLDS, **kw)["migrants"].sum() == 1
    assert people_sums(units, "district", THRESHOLDS, **kw)["migrants"].sum() == 1
    assert people_sums(units, "city", THRESHOLDS, **kw)["migrants"].tolist() == [2]


def test_coverage_shares_by_hand(units: Units) -> None:
    sums = people_sums(units, "community", THRESHOLDS, migrant_time=MIGRANT_TIME,
                       registered_time=REGISTERED_TIME, registered_pop=REGISTERED_POP)
    assert sums["migrants"].tolist() == [3, 1, 2]
    assert sums["within_5min_migrant"].tolist() == [1, 0, 1]  # 5.0 is within 5 minutes
    assert sums["within_10min_migrant"].tolist() == [2, 0, 2]  # NaN is within nothing
    assert sums["within_10min_registered"].tolist() == [100, 0, 30]
    shares = coverage_shares_of(sums, THRESHOLDS)
    np.testing.assert_allclose(shares["coverage_10min_migrant"], [2 / 3, 0, 1])
    np.testing.assert_allclose(shares["coverage_10min_registered"], [1, 0, 30 / 50])
    np.testing.assert_allclose(shares["coverage_gap_10min"], [1 - 2 / 3, 0, 30 / 50 - 1])


def test_districts_and_the_city_count_people_not_community_averages(units: Units) -> None:
    kw = {"migrant_time": MIGRANT_TIME, "registered_time": REGISTERED_TIME,
          "registered_pop": REGISTERED_POP}
    north = coverage_shares_of(people_sums(units, "district", THRESHOLDS, **kw), THRESHOLDS)
    # 北区 holds c1 and c3: 4 of its 5 migrants within 10 minutes (an average of the two
    # communities' shares, 2/3 and 1, would say 5/6)
    assert north["coverage_10min_migrant"][1] == pytest.approx(4 / 5)
    city = coverage_shares_of(people_sums(units, "city", THRESHOLDS, **kw), THRESHOLDS)
    assert city["coverage_10min_migrant"][0] == pytest.approx(4 / 6)
    assert city["coverage_10min_registered"][0] == pytest.approx(130 / 200)


def test_a_unit_without_people_has_no_share(communities: pd.DataFrame) -> None:
    units = Units.of(communities, ["c1"], ["c1"])
    sums = people_sums(units, "community", THRESHOLDS, migrant_time=np.array([1.0]),
                       registered_time=np.array([1.0]), registered_pop=np.array([5.0]))
    shares = coverage_shares_of(sums, THRESHOLDS)
    assert shares["coverage_5min_migrant"][0] == 1.0
    assert np.isnan(shares["coverage_5min_migrant"][1:]).all()
    assert np.isnan(shares["coverage_gap_5min"][1:]).all()


def test_mean_scores_weigh_registered_residents_by_population(units: Units) -> None:
    sums = people_sums(units, "community", THRESHOLDS, migrant_time=MIGRANT_TIME,
                       registered_time=REGISTERED_TIME, registered_pop=REGISTERED_POP,
                       migrant_score=np.array([1.0, 2.0, 0.0, 4.0, 3.0, 5.0]),
                       registered_score=np.array([2.0, 6.0, 1.0, 4.0]))
    migrant, registered = e2sfca_means(sums)
    np.testing.assert_allclose(migrant, [1.0, 4.0, 4.0])
    np.testing.assert_allclose(registered, [2.0, 6.0, (30 * 1 + 20 * 4) / 50])


def test_group_sums_leave_out_negative_codes_and_fill_empty_units() -> None:
    out = group_sums(np.array([2, -1, 2, 0]), {"a": np.array([1.0, 10.0, 2.0, 4.0])}, 4)
    assert out["a"].tolist() == [4.0, 0.0, 3.0, 0.0]


def test_unit_totals_add_each_units_communities_as_numpy_adds_an_array() -> None:
    rng = np.random.default_rng(7)
    values = rng.random(60) * 1e3 / 7
    codes = rng.integers(0, 3, 60)
    totals = unit_totals(codes, {"v": values}, 4)
    for k in range(3):
        assert totals["v"][k] == values[codes == k].sum()  # to the last digit
    assert totals["v"][3] == 0.0


def test_unit_summaries_city_districts_then_communities(units: Units) -> None:
    table = unit_summaries(
        units, THRESHOLDS, migrant_time=MIGRANT_TIME, registered_time=REGISTERED_TIME,
        registered_pop=REGISTERED_POP, migrant_score=np.zeros(6), registered_score=np.zeros(4),
        staff=np.array([2.0, 0.5, 1.0]), shortfall=np.array([0.0, 1.5, 0.25]),
        people=np.array([203.0, 51.0, 52.0]), min_population=100)
    assert table["level"].tolist() == ["city", "district", "district", "community",
                                       "community", "community"]
    assert table["unit"].tolist() == [CITY, "东区", "北区", "c1", "c2", "c3"]
    by = table.set_index("unit")
    assert by.loc[CITY, "staff"] == 3.5
    assert by.loc["北区", "staff"] == 3.0
    assert by.loc["北区", "staff_shortfall"] == 0.25
    assert by.loc["北区", "migrants"] == 5
    assert by.loc["北区", "registered"] == 150
    # staff per 1,000 people: empty under 100 people (东区: 51, c3: 52)
    assert by.loc["北区", "staff_per_1000_total"] == pytest.approx(3.0 / 255 * 1000)
    assert by.loc["c1", "staff_per_1000_total"] == pytest.approx(2.0 / 203 * 1000)
    assert np.isnan(by.loc["东区", "staff_per_1000_total"])
    assert np.isnan(by.loc["c3", "staff_per_1000_total"])
    assert by.loc[CITY, "coverage_5min_migrant"] == pytest.approx(2 / 6)
