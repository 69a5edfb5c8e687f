"""Patterns on the demo city: its planted hot spots, under-served areas and inflow trends found."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra

from coverage.patterns import (
    cluster_labels,
    hot_spots,
    inflow_trends,
    poor_access,
    underserved_clusters,
)
from coverage.patterns.emerging import emerging_hot_spots
from coverage.patterns.underserved import network_median

# ------------------------------------------------------------------------------------------
# Fixtures: the small demo city with each migrant's walk to the nearest site (no run_study)
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(small_demo: Path):
    from coverage.io.loaders import load_study
    from coverage.network import RoadNetwork

    study = load_study(small_demo)
    net = RoadNetwork.from_study(study)
    sites = study.sites.set_index("site_id", drop=False)
    near = net.nearest(net.snap_points(study.migrants), net.snap_points(sites))
    access = pd.DataFrame({
        "person_id": study.migrants["person_id"].to_numpy(),
        "community_id": study.migrants["community_id"].to_numpy(),
        "time_min": near["time_min"].to_numpy(),
    })
    truth = json.loads((small_demo / "ground_truth.json").read_text("utf-8"))
    planted = gpd.read_file(small_demo / "ground_truth.gpkg", layer="underserved_areas")
    planted = planted.to_crs(study.crs)
    inside = shapely.contains_xy(planted.geometry.union_all(), study.migrants.geometry.x,
                                 study.migrants.geometry.y)
    return {"study": study, "net": net, "access": access, "truth": truth,
            "planted": planted, "inside": inside}


@pytest.fixture(scope="module")
def demo_clusters(demo):
    return underserved_clusters(demo["study"].migrants, demo["access"], network=demo["net"])


def test_demo_hot_spots_cover_the_planted_areas(demo):
    poor = poor_access(demo["access"])
    spots = hot_spots(demo["study"].migrants, poor)
    hot = spots[spots["gi_bin"] >= 2]
    for area in demo["planted"].geometry:
        assert hot.intersects(area).any()
    far = ~hot.intersects(demo["planted"].geometry.union_all().buffer(300))
    assert far.sum() == 0
    counts = pd.concat([spots["migrants"], spots["unmet"]]).dropna().astype(int)
    assert ((counts == 0) | (counts >= 10)).all()  # no published count below 10
    assert "gi_star" not in spots and "person_id" not in spots
    assert spots.geometry.geom_type.eq("Polygon").all()


def test_planted_underserved_areas_are_found(demo, demo_clusters):
    migrants, inside = demo["study"].migrants, demo["inside"]
    x, y = migrants.geometry.x.to_numpy(), migrants.geometry.y.to_numpy()
    in_hull = shapely.contains_xy(demo_clusters.geometry.union_all(), x, y)
    recall = (inside & in_hull).sum() / inside.sum()
    labels = cluster_labels(migrants, poor_access(demo["access"]))
    member = labels.to_numpy() > 0
    outside_share = (member & ~inside).sum() / member.sum()
    assert recall >= 0.90
    assert outside_share < 0.10
    assert len(demo_clusters) == len(demo["planted"])  # one cluster per planted area
    assert demo_clusters["migrants"].sum() == member.sum()
    for area in demo["truth"]["underserved_areas"]:
        row = demo_clusters[demo_clusters.intersects(
            demo["planted"].set_index("area_id").geometry[area["area_id"]])].iloc[0]
        assert set(area["community_ids"]) <= set(row["community_ids"].split(","))
        assert row["mean_time_min"] > 20 and row["max_time_min"] >= row["mean_time_min"]


def test_cluster_table_values_and_privacy(demo, demo_clusters):
    access, migrants = demo["access"], demo["study"].migrants
    labels = cluster_labels(migrants, poor_access(access)).to_numpy()
    first = demo_clusters.iloc[0]
    members = labels == first["cluster_id"]
    assert first["migrants"] == members.sum()
    assert first["mean_time_min"] == pytest.approx(access["time_min"][members].mean())
    assert first["max_time_min"] == pytest.approx(access["time_min"][members].max())
    comm = access["community_id"]
    touched = sorted(set(comm[members]))
    assert first["community_ids"] == ",".join(touched)
    assert first["share_of_community_migrants"] == pytest.approx(
        members.sum() / comm.isin(touched).sum())
    assert first["centroid_x"] == pytest.approx(migrants.geometry.x[members].mean())
    assert not {"person_id", "x", "y"} & set(demo_clusters.columns)
    assert demo_clusters.geometry.geom_type.eq("Polygon").all()
    # no hull vertex is a residence (hulls are buffered)
    verts = shapely.get_coordinates(demo_clusters.geometry.to_numpy())
    homes = np.column_stack([migrants.geometry.x, migrants.geometry.y])
    assert not (pd.MultiIndex.from_arrays(verts.T.round(3)).isin(
        pd.MultiIndex.from_arrays(homes.T.round(3)))).any()
    smallest = int(demo_clusters["migrants"].min())
    fewer = underserved_clusters(migrants, access, min_cell=smallest + 1)
    assert len(fewer) == len(demo_clusters) - 1  # clusters below min_cell are not published


def test_network_median_is_the_exhaustive_optimum(demo, demo_clusters):
    net, migrants = demo["net"], demo["study"].migrants
    labels = cluster_labels(migrants, poor_access(demo["access"])).to_numpy()
    for cid in demo_clusters["cluster_id"]:
        sel = labels == cid
        x, y = migrants.geometry.x.to_numpy()[sel], migrants.geometry.y.to_numpy()[sel]
        node, total, mean_min, reached = network_median(net, x, y)
        assert reached == sel.sum()
        # exhaustive search: every routing node within 500 m of the cluster's hull
        hull = shapely.convex_hull(shapely.multipoints(np.column_stack([x, y]))).buffer(500)
        every = np.flatnonzero(shapely.contains_xy(hull, net.x, net.y)
                               & (net.node_component == 0))
        snapped = net.snap(np.column_stack([x, y]))
        dist = dijkstra(net.graph_reversed, directed=True, indices=every)
        a, b = net.arrays.link_a[snapped["link"]], net.arrays.link_b[snapped["link"]]
        length = net.arrays.length[snapped["link"]]
        cost = np.minimum(snapped["snap_m"].to_numpy() + snapped["t"].to_numpy() * length
                          + dist[:, a],
                          snapped["snap_m"].to_numpy() + (1 - snapped["t"].to_numpy()) * length
                          + dist[:, b])
        best = cost.sum(axis=1).min()
        assert total == pytest.approx(best, rel=1e-9)
        # the reported mean equals the network's own nearest-destination walk to that node
        walk = net.nearest(np.column_stack([x, y]), np.array([[net.x[node], net.y[node]]]))
        assert mean_min == pytest.approx(walk["time_min"].mean(), rel=1e-9)
        row = demo_clusters[demo_clusters["cluster_id"] == cid].iloc[0]
        assert row["node_id"] == net.arrays.node_ids[node]
        assert row["node_mean_time_min"] == pytest.approx(mean_min)
        assert row["node_mean_time_min"] < row["mean_time_min"]


def test_inflow_trends_on_the_demo(demo):
    study = demo["study"]
    trends = inflow_trends(study.migrants, study.communities, sites=study.sites)
    comm = trends[trends["unit"] == "community"]
    fast = {f["community_id"] for f in demo["truth"]["fast_growing_communities"]}
    flagged = set(comm.loc[comm["emerging"], "unit_id"])
    assert fast <= flagged
    assert len(flagged - fast) <= 1
    quarters = trends.attrs["quarters"]
    assert len(quarters) == 12 and quarters[-1] == "2026Q3"
    counts = trends[["migrants"] + [f"arrivals_{q}" for q in quarters]]
    values = counts.to_numpy(dtype=np.float64, na_value=np.nan)
    published = values[np.isfinite(values)]
    assert ((published == 0) | (published >= 10)).all()
    full = comm[comm["migrants"].notna()]
    assert (full["projected_migrants"].dropna() >= full.loc[
        full["projected_migrants"].notna(), "migrants"]).all()
    # early warning = over the standard at the horizon but not now
    ok = comm["people_per_staff"].notna()
    c = comm[ok]
    assert (c["over_standard_now"] == (c["people_per_staff"] > c["standard_people_per_staff"])
            ).all()
    assert (c["early_warning"] == (c["over_standard_projected"] & ~c["over_standard_now"])).all()
    assert not {"person_id", "hukou_code"} & set(trends.columns)
    assert trends.geometry.geom_type.eq("Polygon").all() or trends.geometry.geom_type.isin(
        ["Polygon", "MultiPolygon"]).all()


def test_early_warning_with_a_migrants_per_staff_standard(demo):
    study = demo["study"]
    trends = inflow_trends(study.migrants, study.communities, sites=study.sites,
                           migrants_per_staff=400.0)
    comm = trends[(trends["unit"] == "community") & trends["people_per_staff"].notna()]
    assert (comm["standard_people_per_staff"] == 400.0).all()
    per_now = comm["migrants"].astype(float) / comm["staff"].astype(float)
    assert np.allclose(comm["people_per_staff"].astype(float), per_now)
    warn = comm[comm["early_warning"]]
    assert (warn["people_per_staff"] <= 400).all()
    assert (warn["people_per_staff_projected"] > 400).all()
    with pytest.raises(ValueError, match="migrants_per_staff"):
        inflow_trends(study.migrants, study.communities, migrants_per_staff=0)


def test_emerging_hot_spots_with_one_unit(demo):
    """Every migrant in one hexagon: no neighbours to compare, so no pattern and no error."""
    one = emerging_hot_spots(np.array([[3.0, 5.0, 9.0, 14.0]]), sp.csr_array(np.ones((1, 1))))
    assert one["hotspot_trend"].tolist() == ["none"]
    assert one["quarters_hot"].tolist() == [0] and np.isnan(one["z_last"]).all()
    study = demo["study"]
    migrants = study.migrants.copy()
    migrants["geometry"] = shapely.points(*shapely.get_coordinates(migrants.geometry.iloc[0])[0])
    trends = inflow_trends(migrants, study.communities, sites=study.sites)
    hexes = trends[trends["unit"] == "hexagon"]
    assert len(hexes) == 1 and hexes["hotspot_trend"].tolist() == ["none"]
    assert not hexes["emerging"].any()
