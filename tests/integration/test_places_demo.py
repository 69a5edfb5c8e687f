"""The places recommended on the demo city, for new sites and new staff, are named."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import numpy as np
import pyproj
import pytest

from coverage.engine.recommend import recommend_sites, recommend_staff
from coverage.engine.scenario import ScenarioModel
from coverage.placement.places import PLACE_COLUMNS

# ------------------------------------------------------------------------------------------
# on the small demo city
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model(small_demo):
    return ScenarioModel(small_demo)


def test_recommended_sites_are_named(model, small_demo):
    sites = recommend_sites(model, 3).sites
    assert set(PLACE_COLUMNS) <= set(sites.columns)
    # the community: the polygon holding the point, by a spatial join of the input layer
    comm = gpd.read_file(small_demo / "communities.gpkg").to_crs(sites.crs)
    joined = gpd.sjoin(sites[["geometry"]], comm, predicate="within", how="left")
    assert sites["community_name"].tolist() == joined["name"].tolist()
    # the road: the nearest named edge of the whole network file, by brute force
    edges = gpd.read_file(small_demo / "network.gpkg", layer="edges").to_crs(sites.crs)
    edges = edges[edges["name"].notna() & (edges["name"] != "")]
    for point, name in zip(sites.geometry, sites["road_name"], strict=True):
        d = edges.distance(point)
        assert d.min() <= 150  # the demo's streets are named
        assert name in set(edges.loc[d <= d.min() + 1, "name"])  # the nearest (or tied)
    lon, lat = pyproj.Transformer.from_crs(sites.crs, 4326, always_xy=True).transform(
        sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy())
    np.testing.assert_allclose(sites["lon_wgs84"], lon, atol=1e-9)
    np.testing.assert_allclose(sites["lat_wgs84"], lat, atol=1e-9)
    for link, glon, glat in zip(sites["map_link"], sites["lon_gcj02"], sites["lat_gcj02"],
                                strict=True):
        assert parse_qs(urlsplit(link).query)["position"] == [f"{glon:.6f},{glat:.6f}"]


def test_staff_recommendation_rows_are_named(model):
    out = recommend_staff(model, 3)
    assert set(PLACE_COLUMNS) <= set(out.columns)
    assert (out["community_name"] != "").all() and (out["road_name"] != "").any()
    names = parse_qs(urlsplit(out["map_link"].iloc[0]).query)["name"]
    assert names == [out["name"].iloc[0]]
