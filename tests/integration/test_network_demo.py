"""The demo city's roads: distances equal networkx's, the island reported, no false alarm."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from coverage.network import REASON_DISCONNECTED, RoadNetwork
from coverage.network.modes import usable


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never write to the user's cache from tests."""
    monkeypatch.setenv("COVERAGE_CACHE_DIR", str(tmp_path_factory.mktemp("netcache")))


# --------------------------------------------------------------------------------------------
# the demo city
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def demo_dir(small_demo: Path) -> Path:
    return small_demo


def networkx_from_gpkg(path: Path, mode: str) -> nx.MultiDiGraph:
    """The demo network built independently from the file's edge rows."""
    edges = gpd.read_file(path, layer="edges")
    edges = edges[usable(edges, mode)]
    g = nx.MultiDiGraph()
    rows = edges[["u", "v", "length", "oneway"]].itertuples(index=False)
    for u, v, length, oneway in rows:
        g.add_edge(int(u), int(v), length=float(length))
        if mode == "walk" or not oneway:
            g.add_edge(int(v), int(u), length=float(length))
    return g


@pytest.mark.parametrize("mode", ["walk", "ebike"])
def test_demo_distances_match_networkx(demo_dir: Path, mode: str) -> None:
    net = RoadNetwork.from_file(demo_dir / "network.gpkg", mode=mode)
    g = networkx_from_gpkg(demo_dir / "network.gpkg", mode)
    rng = np.random.default_rng(5)
    main = np.flatnonzero(net.node_component == 0)
    a, b = rng.choice(main, 30), rng.choice(main, 30)
    ids = net.arrays.node_ids
    orig = np.column_stack([net.x[a], net.y[a]])
    dest = np.column_stack([net.x[b], net.y[b]])
    table = net.cost_table(orig, dest, max_cost=1e7, cost="distance_m")
    got = table.set_index(["origin", "destination"])["cost"]
    for i in range(30):
        want = nx.shortest_path_length(g, int(ids[a[i]]), int(ids[b[i]]), weight="length")
        assert got[(i, i)] == pytest.approx(want, abs=1e-6)
    if mode == "ebike":
        back = net.cost_table(dest, orig, max_cost=1e7, cost="distance_m")
        back = back.set_index(["origin", "destination"])["cost"]
        differs = [abs(got[(i, i)] - back[(i, i)]) > 1e-6 for i in range(30)]
        assert any(differs)  # one-way pairs make some trips longer one way


def test_demo_island_is_reported(demo_dir: Path) -> None:
    import json

    truth = json.loads((demo_dir / "ground_truth.json").read_text(encoding="utf-8"))["network"]
    net = RoadNetwork.from_file(demo_dir / "network.gpkg", mode="walk")
    comps = net.components
    assert len(comps) == truth["walk_components"]
    island = np.flatnonzero(net.node_component == 1)
    assert sorted(net.arrays.node_ids[island].tolist()) == truth["island"]["node_osmids"]
    assert comps["links"].iloc[1] == truth["island"]["street_segments"]
    # Points on the island's paths: the island is their only road within 500 m.
    links = net.links_frame()
    on_island = links[links["component"] == 1].geometry.interpolate(0.5, normalized=True)
    snap = net.snap(gpd.GeoSeries(on_island.values, crs=net.crs))
    near_main = snap["snap_m"] <= net.max_snap_m
    assert (snap.loc[~near_main, "reason"] == REASON_DISCONNECTED).all()
    assert (snap["nearer_component"] == 1).all()
    assert snap["nearer_component_m"].max() < 1e-6


def test_demo_study_nearest_sites(demo_dir: Path) -> None:
    from coverage.io.loaders import load_study

    study = load_study(demo_dir / "project.toml")
    net = RoadNetwork.from_study(study, mode="walk")
    assert net.crs == study.crs
    migrants, sites = study.migrants, study.sites
    near = net.nearest(migrants, sites)
    assert near.index.equals(migrants.index)
    ok = near["reason"].isna()
    assert ok.mean() > 0.99
    dest = sites.geometry.loc[near.loc[ok, "destination"].to_numpy()].to_numpy()
    straight = shapely.distance(migrants.geometry[ok].to_numpy(), dest)
    assert (near.loc[ok, "distance_m"].to_numpy() >= straight - 1e-6).all()
    assert (near.loc[ok, "distance_m"] >= near.loc[ok, "snap_m"]).all()
    table = net.cost_table(migrants, sites, max_cost=15)
    best = table.groupby("origin")["cost"].min()
    within = near.loc[near["time_min"] <= 15, "time_min"]
    pd.testing.assert_series_equal(best.sort_index(), within.sort_index(), check_names=False,
                                   check_index_type=False)


def test_demo_offset_check_does_not_cry_wolf(demo_dir: Path) -> None:
    # The demo's streets are ~50 m apart, so a 500 m shift lands next to another street: the
    # check (median snap distance) cannot see it there and must not name a system at random.
    raw = pd.read_csv(demo_dir / "sites.csv", encoding="gb18030")
    net = RoadNetwork.from_file(demo_dir / "network.gpkg")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check = net.check_offset((raw["经度"], raw["纬度"]), name="sites.csv")
    assert check.ok
    assert max(check.median_m.values()) < 60


def test_nodes_a_centimetre_apart_make_no_edge_without_length(tmp_path: Path) -> None:
    """Two nodes 4 mm apart share their coordinates at 7 decimals: their edge is not written.

    (The xlarge city drew two such edges among 3.6 million: its road network was unreadable.)
    """
    from coverage.demo.roads import Network
    from coverage.demo.write import network_frames

    x = np.array([0.0, 100.0, 100.004, 200.0])
    y = np.array([0.0, 0.0, 0.0, 0.0])
    u, v = np.array([0, 1, 2]), np.array([1, 2, 3])
    net = Network(x=x, y=y, u=u, v=v, highway=np.zeros(3, np.int8),
                  name=np.full(3, None, dtype=object), access=np.full(3, None, dtype=object),
                  oneway=np.zeros(3, bool), bridge=np.zeros(3, bool), way=np.arange(1, 4),
                  island=np.array([], dtype=np.int64))
    nodes, edges = network_frames(net)
    assert nodes.geometry.iloc[1].equals(nodes.geometry.iloc[2])  # the cause, still there
    assert (edges["length"] > 0).all()
    assert len(edges) == 4  # the two other streets, both ways
    path = tmp_path / "network.gpkg"
    nodes.to_file(path, layer="nodes", driver="GPKG")
    edges.to_file(path, layer="edges", driver="GPKG")
    assert RoadNetwork.from_file(path).n_links > 0
