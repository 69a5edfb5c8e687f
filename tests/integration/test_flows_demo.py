"""Origin flows, corridors, partners and commuting on the demo city: its planted mix found."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from coverage.patterns import (
    commute_flows,
    cooperation_partners,
    origin_flows,
    top_corridors,
    workplace_clusters,
)


@pytest.fixture(scope="module")
def demo(small_demo: Path):
    from coverage.io.loaders import load_study

    return load_study(small_demo)


@pytest.fixture(scope="module")
def demo_flows(demo) -> gpd.GeoDataFrame:
    return origin_flows(demo.migrants, demo.communities)


# --------------------------------------------------------------------------------------------
# origin flows on the demo city


def test_demo_flows_sum_to_known_origins(demo, demo_flows) -> None:
    codes = demo.migrants["hukou_code"]
    n_known = int(codes.notna().sum())
    assert demo_flows.attrs["origin_status_counts"]["known"] == n_known
    assert demo_flows.attrs["origin_status_counts"]["unknown"] == int(codes.isna().sum())
    known = demo_flows[demo_flows["origin_status"] == "known"]
    sums = known.groupby(["origin_level", "dest_level"])["migrants"].sum()
    assert len(sums) == 4
    assert (sums == n_known).all()
    total = demo_flows.groupby(["origin_level", "dest_level"])["migrants"].sum()
    assert (total == len(demo.migrants)).all()


def test_demo_origin_mix_is_recovered(demo_flows) -> None:
    from coverage.demo.origins import ORIGINS

    weights = pd.Series({c: w for c, _, w in ORIGINS})
    expected = weights.groupby(weights.index.str[:2]).sum() / weights.sum()
    city = cooperation_partners(
        demo_flows, origin_level="province", dest_level="city", min_share=0.0, top_n=None
    )
    observed = city.set_index("origin_code")["share"]
    assert set(observed.index) == set(expected.index)
    assert (observed - expected[observed.index]).abs().max() < 0.015
    top3 = city.sort_values("rank")["origin_code"].head(3).tolist()
    assert "43" in top3  # Hunan sends the most


def test_top_corridors_are_ordered(demo_flows) -> None:
    top = top_corridors(demo_flows, n=8)
    assert top["rank"].tolist() == list(range(1, 9))
    assert top["migrants"].is_monotonic_decreasing
    assert (top["origin_status"] == "known").all()
    assert top.iloc[0]["province_code"] == "43"
    everything = top_corridors(demo_flows, n=10_000)
    assert top["migrants"].iloc[0] == everything["migrants"].max()
    pref = top_corridors(demo_flows, n=5, origin_level="prefecture", dest_level="community")
    assert pref["prefecture_code"].notna().all()
    assert pref["migrants"].is_monotonic_decreasing


def test_cooperation_partners_rules(demo_flows) -> None:
    districts = demo_flows.loc[demo_flows.dest_level == "district", "district"].dropna().unique()
    top2 = cooperation_partners(demo_flows, min_share=None, top_n=2)
    assert top2.groupby("district").size().to_dict() == dict.fromkeys(districts, 2)
    assert (top2["reason"] == "top_n").all()
    share = cooperation_partners(demo_flows, origin_level="province", min_share=0.10, top_n=None)
    assert (share["share"] >= 0.10).all()
    assert (share["reason"] == "share").all()
    both = cooperation_partners(demo_flows, origin_level="province", min_share=0.10, top_n=1)
    assert set(both["reason"]) <= {"share", "top_n", "share+top_n"}
    assert (both.groupby("district")["rank"].min() == 1).all()
    with pytest.raises(ValueError, match="both None"):
        cooperation_partners(demo_flows, min_share=None, top_n=None)
    with pytest.raises(ValueError, match=r"0\.05"):
        cooperation_partners(demo_flows, min_share=5)
    provinces_only = demo_flows[demo_flows["origin_level"] == "province"]
    with pytest.raises(ValueError, match="prefecture → district"):
        cooperation_partners(provinces_only)
    with pytest.raises(ValueError, match="origin_levels"):
        top_corridors(provinces_only, origin_level="prefecture")


def test_demo_commute_and_workplaces(demo) -> None:
    flows = commute_flows(demo.migrants, communities=demo.communities)
    counts = flows.attrs["commute_counts"]
    n_work = int(demo.migrants["work_x"].notna().sum())
    assert counts["commuters"] == n_work
    assert counts["in_corridors"] + counts["local"] + counts["small"] == n_work
    assert flows["migrants"].is_monotonic_decreasing
    assert (flows["length_m"] >= 500).all()
    clusters = workplace_clusters(demo.migrants, sites=demo.sites, communities=demo.communities)
    assert clusters["migrants"].sum() <= n_work
    assert clusters["nearest_site_id"].notna().all()
    assert clusters["district"].notna().all()
