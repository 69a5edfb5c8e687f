"""Indicators, staffing and equalization on small hand-checkable tables."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from coverage.measures.equalization import (
    allocate_registered,
    coverage_shares,
    equalization_table,
    gini,
    theil,
)
from coverage.measures.indicators import indicator_table, people_needed
from coverage.measures.staffing import catchment_staffing, community_staffing, staffing_standard

COMMUNITIES = pd.DataFrame(
    {
        "community_id": ["A", "B", "C"],
        "district": ["东城区", "东城区", "西城区"],
        "registered_pop": [4000, 6000, 2000],
        "fp_staff": [1.0, 0.0, 0.0],
    }
)


def _migrants() -> pd.DataFrame:
    # 10 in A, 20 in B, 0 in C
    n = 30
    comm = ["A"] * 10 + ["B"] * 20
    sex = ["female"] * 15 + ["male"] * 15
    marital = (["married"] * 8 + ["unmarried"] * 7) + ["married"] * 15
    birth = [1990] * 12 + [1960] * 3 + [1990] * 15  # three women too old for the target group
    aware = [True] * 25 + [False] * 3 + [None] * 2
    preg = [True] * 5 + [False] * 3 + [None] * 22
    cert = [True] * 4 + [False] * 26
    rh = [2, 2, 1, 0] + [None] * 26
    return pd.DataFrame(
        {
            "person_id": [f"p{i}" for i in range(n)],
            "community_id": comm,
            "sex": sex,
            "marital_status": marital,
            "birth_year": pd.array(birth, dtype="Int64"),
            "arrived_on": pd.to_datetime(["2026-03-01"] * n),
            "policy_aware": pd.array(aware, dtype="boolean"),
            "pregnancy_check": pd.array(preg, dtype="boolean"),
            "has_marriage_cert": pd.array(cert, dtype="boolean"),
            "rh_checks_year": pd.array(rh, dtype="Int64"),
        }
    )


def _row(table: pd.DataFrame, level: str, unit: str, indicator: str) -> pd.Series:
    sel = table[(table.level == level) & (table.unit == unit) & (table.indicator == indicator)]
    assert len(sel) == 1
    return sel.iloc[0]


def test_indicator_shares_and_people_needed():
    t = indicator_table(_migrants(), COMMUNITIES)
    city = _row(t, "city", "city", "policy_awareness")
    assert (city.group_size, city.unknown, city.population, city.achieved) == (30, 2, 28, 25)
    assert city.value == pytest.approx(25 / 28)
    assert not city["met"]
    assert city.people_needed == 1  # ceil(0.9 × 28) = 26
    b = _row(t, "community", "B", "policy_awareness")
    assert (b.population, b.achieved) == (18, 15)
    # married women aged 15–49: the first 8 women are married, born 1990 → 8
    preg = _row(t, "city", "city", "pregnancy_check")
    assert (preg.group_size, preg.unknown, preg.achieved) == (8, 0, 5)
    assert preg.people_needed == 3  # ceil(0.9 × 8) = 8 − 5
    rh = _row(t, "city", "city", "rh_checks")
    assert (rh.group_size, rh.achieved) == (4, 2)
    assert rh.value == pytest.approx(0.5)
    dist = _row(t, "district", "东城区", "policy_awareness")
    assert dist.population == 28


def test_indicator_without_records_is_missing_not_met():
    t = indicator_table(_migrants(), COMMUNITIES)
    free = _row(t, "city", "city", "free_service_local")
    assert free.population == 0
    assert np.isnan(free.value)
    assert pd.isna(free["met"])


def test_community_management_counts_staffed_communities():
    t = indicator_table(_migrants(), COMMUNITIES)
    cm = _row(t, "city", "city", "community_management")
    assert (cm.population, cm.achieved) == (2, 1)  # C has no migrants; B has no staff
    sites = pd.DataFrame({"community_id": ["B"], "staff": [2.0]})
    cm = _row(
        indicator_table(_migrants(), COMMUNITIES, sites=sites),
        "city",
        "city",
        "community_management",
    )
    assert cm.achieved == 2 and bool(cm["met"])


def test_targets_are_configurable():
    t = indicator_table(_migrants(), COMMUNITIES, targets={"policy_awareness": 0.8})
    city = _row(t, "city", "city", "policy_awareness")
    assert city.target == 0.8 and bool(city["met"]) and city.people_needed == 0


def test_people_needed_rounding():
    assert people_needed(100, 89, 0.9) == 1
    assert people_needed(100, 95, 0.9) == 0
    assert people_needed(10, 0, 0.95) == 10


def test_community_staffing_district_standard():
    sites = pd.DataFrame({"community_id": ["A", "B", "C"], "staff": [3.0, 2.0, 1.0]})
    mig = pd.DataFrame({"community_id": ["A"] * 1000 + ["B"] * 3000})
    t = community_staffing(COMMUNITIES, mig, sites)
    # 东城区: staff 3 + 1 + 2 = 6 over 10,000 registered → 0.6 per 1,000
    assert t.loc["A", "staff"] == 4.0
    assert t.loc["A", "staffing_standard"] == pytest.approx(0.6)
    assert t.loc["B", "staff_needed"] == pytest.approx(0.6 * 9.0)
    assert t.loc["B", "staff_shortfall"] == pytest.approx(5.4 - 2.0)
    assert t.loc["A", "staff_shortfall"] == pytest.approx(0.0)  # needs 3.0, has 4
    assert t.loc["A", "staff_per_1000_migrants"] == pytest.approx(4.0)
    assert t.loc["C", "staffing_standard"] == pytest.approx(0.5)
    assert np.isnan(t.loc["C", "staff_per_1000_migrants"])
    # district totals: the shortfall equals the standard applied to the migrants
    assert t.loc[["A", "B"], "staff_needed"].sum() - 6.0 == pytest.approx(0.6 * 4.0)


def test_staffing_standard_variants():
    table = pd.DataFrame(
        {"district": ["x", "y"], "staff": [2.0, 1.0], "registered_pop": [1000, 2000]}
    )
    assert staffing_standard(table, "city_registered_ratio") == pytest.approx([1.0, 1.0])
    assert staffing_standard(table, 0.7) == pytest.approx([0.7, 0.7])
    with pytest.raises(ValueError, match="unknown staffing standard"):
        staffing_standard(table, "per_head")


def test_catchment_staffing():
    sites = pd.DataFrame({"staff": [2.0, 1.0]}, index=["s1", "s2"])
    mig = pd.Series(["s1", "s1", "s2", None])
    reg = pd.Series(["s1", "s2"])
    w = pd.Series([1000.0, 500.0])
    t = catchment_staffing(sites, mig, reg, w)
    assert t.loc["s1", "migrants"] == 2 and t.loc["s1", "registered"] == 1000
    assert t.loc["s2", "staff_per_1000_total"] == pytest.approx(1.0 / 501 * 1000)


def test_coverage_shares_and_gap():
    mt = pd.Series([3.0, 8.0, 20.0, np.nan])
    mu = pd.Series(["A", "A", "A", "A"])
    rt = pd.Series([2.0, 12.0])
    ru = pd.Series(["A", "A"])
    rw = pd.Series([300.0, 100.0])
    shares = coverage_shares(mt, mu, [5, 10])
    assert shares.loc["A", "within_5min"] == pytest.approx(0.25)  # unreachable counts as not
    t = equalization_table(
        mt, mu, rt, ru, [5, 15], registered_weights=rw, index=pd.Index(["A", "B"])
    )
    assert t.loc["A", "coverage_5min_registered"] == pytest.approx(0.75)
    assert t.loc["A", "coverage_gap_15min"] == pytest.approx(1.0 - 0.5)
    assert np.isnan(t.loc["B", "coverage_5min_migrant"])
    assert list(t.columns[:3]) == [
        "coverage_5min_migrant",
        "coverage_5min_registered",
        "coverage_gap_5min",
    ]


def test_gini_and_theil_match_brute_force():
    rng = np.random.default_rng(3)
    x = rng.random(40)
    w = rng.integers(1, 6, 40).astype(float)
    expanded = np.repeat(x, w.astype(int))
    brute = np.abs(expanded[:, None] - expanded[None, :]).sum() / (
        2 * len(expanded) ** 2 * expanded.mean()
    )
    assert gini(x, w) == pytest.approx(brute, rel=1e-12)
    m = expanded.mean()
    assert theil(x, w) == pytest.approx(np.mean(expanded / m * np.log(expanded / m)), rel=1e-12)
    assert gini(np.full(5, 0.3)) == pytest.approx(0.0, abs=1e-12) and theil(
        np.full(5, 0.3)
    ) == pytest.approx(0.0)
    assert gini([0, 0, 0, 1]) == pytest.approx(0.75)


def test_allocate_registered_conserves_population():
    comm = gpd.GeoDataFrame(
        {
            "community_id": ["A", "B", "tiny"],
            "registered_pop": [1000, 300, 7],
        },
        geometry=[
            shapely.box(0, 0, 1000, 1000),
            shapely.box(1000, 0, 1500, 1000),
            shapely.box(1500, 0, 1520, 20),
        ],
        crs=32650,
    )
    pts = allocate_registered(comm, spacing=100)
    sums = pts.groupby("community_id")["population"].sum()
    assert sums.to_dict() == pytest.approx({"A": 1000, "B": 300, "tiny": 7})
    assert (pts.groupby("community_id").size()["A"]) == 100
    polys = comm.set_index("community_id").geometry.loc[pts.community_id].to_numpy()
    assert shapely.within(pts.geometry.to_numpy(), polys).all()


def test_indicators_by_quarter():
    from coverage.measures.indicators import indicator_quarters

    m = _migrants()
    assert indicator_quarters(m, COMMUNITIES) is None  # no record dates
    dates = ["2026-02-10"] * 15 + ["2026-05-03"] * 10 + [None] * 5
    m["recorded_on"] = pd.to_datetime(pd.Series(dates))
    q = indicator_quarters(m, COMMUNITIES)
    assert set(q["quarter"]) == {"2026Q1", "2026Q2"}
    assert set(q["level"]) == {"city", "district"}
    assert "community_management" not in set(q["indicator"])
    aware = q[(q.level == "city") & (q.indicator == "policy_awareness")].set_index("quarter")
    # rows 0-14 in Q1: all known and aware; rows 15-24 in Q2: 10 aware
    assert aware.loc["2026Q1", "population"] == 15 and aware.loc["2026Q1", "achieved"] == 15
    assert aware.loc["2026Q2", "population"] == 10 and aware.loc["2026Q2", "achieved"] == 10
    total = indicator_table(m, COMMUNITIES)
    city = _row(total, "city", "city", "policy_awareness")
    assert city.population == 28  # the undated people stay in the overall table
