"""Tests for coverage.network: readers, components, snapping, nearest, cost tables, cache."""

from __future__ import annotations

import stat
import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from conftest import SHARED
from coverage.crs import wgs84_to_bd09, wgs84_to_gcj02
from coverage.network import (
    REASON_DISCONNECTED,
    REASON_FAR,
    REASON_MISSING,
    CoordinateSystemWarning,
    RoadNetwork,
)
from coverage.network.modes import TAG_KEYS, usable
from coverage.network.readers import file_kind

GUIXI = SHARED / "osm" / "guixi_jiangxi.osm"
needs_guixi = pytest.mark.skipif(
    not GUIXI.exists(), reason="reference/osm/guixi_jiangxi.osm is absent"
)
UTM = "EPSG:32650"
X0, Y0 = 500_000.0, 3_000_000.0  # a UTM 50N origin for synthetic graphs


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never write to the user's cache from tests."""
    monkeypatch.setenv("COVERAGE_CACHE_DIR", str(tmp_path_factory.mktemp("netcache")))


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def grid_graph(n: int = 4, spacing: float = 100.0, *, oneway: tuple = ()) -> nx.MultiDiGraph:
    """An OSMnx-style n × n grid in UTM 50N; ``oneway`` lists (u, v) streets kept one-way."""
    g = nx.MultiDiGraph(crs=UTM)
    for i in range(n):
        for j in range(n):
            g.add_node(i * n + j, x=X0 + j * spacing, y=Y0 + i * spacing)
    one = set(oneway)
    for i in range(n):
        for j in range(n):
            u = i * n + j
            for v in ([u + 1] if j + 1 < n else []) + ([u + n] if i + 1 < n else []):
                attrs = {"length": spacing, "highway": "residential"}
                if (u, v) in one:
                    g.add_edge(u, v, oneway=True, **attrs)
                elif (v, u) in one:
                    g.add_edge(v, u, oneway=True, **attrs)
                else:
                    g.add_edge(u, v, oneway=False, **attrs)
                    g.add_edge(v, u, oneway=False, **attrs)
    return g


def random_points(net: RoadNetwork, n: int, seed: int, pad: float = 300.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lo = [net.x.min() - pad, net.y.min() - pad]
    hi = [net.x.max() + pad, net.y.max() + pad]
    return rng.uniform(lo, hi, size=(n, 2))


def reference_costs(net: RoadNetwork, orig: np.ndarray, dest: np.ndarray) -> np.ndarray:
    """Origin → destination costs (metres) from NetworkX on the network plus connector nodes."""
    g = net.to_networkx(routing_only=True)
    ids = net.arrays.node_ids
    so, sd = net.snap(orig), net.snap(dest)
    a = net.arrays
    for kind, snaps in (("o", so), ("d", sd)):
        for i, row in enumerate(snaps.itertuples()):
            if not pd.isna(row.reason):
                continue
            lk = int(row.link)
            length = a.length[lk]
            pa, pb = row.t * length, (1 - row.t) * length
            u, v = ids[a.link_a[lk]], ids[a.link_b[lk]]
            fwd, bwd = a.forward[lk], a.backward[lk]
            on_a, on_b = pa <= 1e-6, pb <= 1e-6
            if kind == "o":
                if bwd or on_a:
                    g.add_edge(("o", i), u, length=row.snap_m + pa)
                if fwd or on_b:
                    g.add_edge(("o", i), v, length=row.snap_m + pb)
            else:
                if fwd or on_a:
                    g.add_edge(u, ("d", i), length=row.snap_m + pa)
                if bwd or on_b:
                    g.add_edge(v, ("d", i), length=row.snap_m + pb)
    for i, ro in enumerate(so.itertuples()):
        for j, rd in enumerate(sd.itertuples()):
            if ro.link == rd.link and pd.isna(ro.reason) and pd.isna(rd.reason):
                lk = int(ro.link)
                along = (rd.t - ro.t) * a.length[lk]
                if (along >= 0 and a.forward[lk]) or (along <= 0 and a.backward[lk]):
                    g.add_edge(("o", i), ("d", j), length=ro.snap_m + abs(along) + rd.snap_m)
    out = np.full((len(orig), len(dest)), np.inf)
    for i in range(len(orig)):
        if ("o", i) not in g:
            continue
        dist = nx.single_source_dijkstra_path_length(g, ("o", i), weight="length")
        for j in range(len(dest)):
            out[i, j] = dist.get(("d", j), np.inf)
    return out


# --------------------------------------------------------------------------------------------
# readers and graph
# --------------------------------------------------------------------------------------------


def test_unknown_file_type_lists_accepted(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.osm\.pbf.*\.gpkg.*\.graphml"):
        file_kind(tmp_path / "roads.shp")
    with pytest.raises(ValueError, match="unknown file type"):
        RoadNetwork.from_file(tmp_path / "roads.csv")


def test_unknown_mode() -> None:
    with pytest.raises(ValueError, match="walk, ebike"):
        RoadNetwork.from_graph(grid_graph(), mode="car")


@pytest.mark.parametrize("length", [0.0, -5.0, np.nan])
def test_bad_lengths_are_an_error(length: float) -> None:
    g = grid_graph(3)
    g.edges[1, 2, 0]["length"] = length
    with pytest.raises(ValueError, match=r"edge \(1, 2\).*positive 'length'"):
        RoadNetwork.from_graph(g, crs=UTM)


def test_grid_distances_match_networkx() -> None:
    g = grid_graph(6, 100.0)
    net = RoadNetwork.from_graph(g, crs=UTM)
    assert (net.n_nodes, net.n_links) == (36, 60)
    assert net.components["nodes"].tolist() == [36]
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 36, 40), rng.integers(0, 36, 40)
    orig = np.column_stack([net.x[a], net.y[a]])
    dest = np.column_stack([net.x[b], net.y[b]])
    table = net.cost_table(orig, dest, max_cost=10_000, cost="distance_m")
    got = table.set_index(["origin", "destination"])["cost"]
    for i in range(40):
        want = nx.shortest_path_length(g, int(a[i]), int(b[i]), weight="length")
        assert got[(i, i)] == pytest.approx(want, abs=1e-6)


def test_hand_computed_connectors() -> None:
    g = nx.MultiDiGraph(crs=UTM)
    g.add_node(1, x=X0, y=Y0)
    g.add_node(2, x=X0 + 1000.0, y=Y0)
    g.add_edge(1, 2, length=1000.0, highway="residential")
    net = RoadNetwork.from_graph(g, crs=UTM)
    orig = np.array([[X0 + 100.0, Y0 + 30.0]])
    dest = np.array([[X0 + 700.0, Y0 - 40.0]])
    near = net.nearest(orig, dest)
    assert near["distance_m"].iloc[0] == pytest.approx(30.0 + 600.0 + 40.0)
    assert near["snap_m"].iloc[0] == pytest.approx(30.0)
    assert near["time_min"].iloc[0] == pytest.approx(670.0 / (4500.0 / 60.0))
    assert near["destination"].iloc[0] == 0


def test_oneway_asymmetry_matches_directed_networkx() -> None:
    # Street 0 → 1 is one-way east; going west from node 1 to node 0 must go round a block.
    g = grid_graph(3, 100.0, oneway=((0, 1),))
    walk = RoadNetwork.from_graph(g, mode="walk", crs=UTM)
    ebike = RoadNetwork.from_graph(g, mode="ebike", crs=UTM)
    p0 = np.array([[ebike.x[0], ebike.y[0]]])
    p1 = np.array([[ebike.x[1], ebike.y[1]]])
    there = ebike.nearest(p0, p1)["distance_m"].iloc[0]
    back = ebike.nearest(p1, p0)["distance_m"].iloc[0]
    assert there == pytest.approx(100.0)
    assert back == pytest.approx(300.0)
    assert back == pytest.approx(nx.shortest_path_length(g, 1, 0, weight="length"))
    assert walk.nearest(p1, p0)["distance_m"].iloc[0] == pytest.approx(100.0)
    # A point in the middle of the one-way street can only ride east.
    mid = np.array([[X0 + 50.0, Y0 + 10.0]])
    assert ebike.nearest(mid, p0)["distance_m"].iloc[0] == pytest.approx(10 + 50 + 300)
    assert ebike.nearest(mid, p1)["distance_m"].iloc[0] == pytest.approx(10 + 50)
    assert ebike.nearest(p1, mid)["distance_m"].iloc[0] == pytest.approx(300 + 50 + 10)


def test_oneway_random_points_match_networkx() -> None:
    g = grid_graph(5, 120.0, oneway=((0, 1), (7, 12), (18, 17), (11, 6), (22, 23)))
    net = RoadNetwork.from_graph(g, mode="ebike", crs=UTM)
    orig = random_points(net, 25, seed=3, pad=60)
    dest = random_points(net, 7, seed=4, pad=60)
    want = reference_costs(net, orig, dest)
    table = net.cost_table(orig, dest, max_cost=1e9, cost="distance_m")
    got = np.full_like(want, np.inf)
    got[table["origin"].to_numpy(), table["destination"].to_numpy()] = table["cost"].to_numpy()
    np.testing.assert_allclose(got, want, atol=1e-6)
    near = net.nearest(orig, dest)
    np.testing.assert_allclose(near["distance_m"].to_numpy(), want.min(axis=1), atol=1e-6)


def test_components_and_unreachable_reasons() -> None:
    g = grid_graph(4, 100.0)
    # An island: two nodes 2 km east, joined to nothing else.
    g.add_node(100, x=X0 + 2000.0, y=Y0)
    g.add_node(101, x=X0 + 2100.0, y=Y0)
    g.add_edge(100, 101, length=100.0, highway="residential")
    net = RoadNetwork.from_graph(g, crs=UTM, max_snap_m=500.0)
    comps = net.components
    assert comps["nodes"].tolist() == [16, 2]
    assert comps["links"].tolist() == [24, 1]
    assert comps["routing"].tolist() == [True, False]
    assert comps["length_km"].tolist() == pytest.approx([2.4, 0.1])
    assert "2 connected component(s)" in net.report()
    pts = gpd.GeoSeries(
        shapely.points([
            [X0 + 50.0, Y0 + 20.0],  # on the grid
            [X0 + 2050.0, Y0 + 10.0],  # next to the island, 1.7 km from the grid
            [X0 + 1000.0, Y0 + 3000.0],  # nowhere near a road
            [X0 + 400.0, Y0 + 50.0],  # 100 m from the grid, 1.6 km from the island
            [X0 + 700.0, Y0 + 5.0],  # 400 m from the grid (within 500 m), 1.3 km from the island
        ]),
        index=list("abcde"),
        crs=UTM,
    )
    pts = pd.concat([pts, gpd.GeoSeries([None], index=["f"], crs=UTM)])
    snap = net.snap(pts)
    reasons = snap["reason"].fillna("").tolist()
    assert reasons[:5] == ["", REASON_DISCONNECTED, REASON_FAR, "", ""]
    assert snap.loc["f", "reason"] == REASON_MISSING
    assert snap.loc["b", "snap_m"] == pytest.approx(1750.0)
    assert snap.loc["b", "nearer_component"] == 1
    assert snap.loc["b", "nearer_component_m"] == pytest.approx(10.0)
    assert snap.loc["c", "snap_m"] == pytest.approx(np.hypot(700.0, 2700.0))
    sites = gpd.GeoSeries(shapely.points([[X0, Y0]]), index=["S"], crs=UTM)
    near = net.nearest(pts, sites)
    assert near.loc["a", "destination"] == "S"
    assert near.loc["a", "distance_m"] == pytest.approx(20.0 + 50.0)
    for label, reason in (("b", REASON_DISCONNECTED), ("c", REASON_FAR), ("f", REASON_MISSING)):
        assert near.loc[label, "reason"] == reason
        assert pd.isna(near.loc[label, "destination"])
        assert np.isnan(near.loc[label, "distance_m"])
    table = net.cost_table(pts, sites, max_cost=60)
    assert set(table["origin"]) == {"a", "d", "e"}
    assert table.attrs["unreachable_origins"] == {
        REASON_DISCONNECTED: 1, REASON_FAR: 1, REASON_MISSING: 1,
    }


def test_site_on_a_node_and_same_link() -> None:
    g = grid_graph(3, 100.0)
    net = RoadNetwork.from_graph(g, crs=UTM)
    sites = np.array([[X0 + 100.0, Y0 + 100.0], [X0 + 60.0, Y0 + 5.0]])  # node 4; link 0-1
    orig = np.array([[X0 + 100.0, Y0 + 100.0], [X0 + 20.0, Y0 - 5.0], [X0 + 200.0, Y0 + 100.0]])
    near = net.nearest(orig, sites)
    assert near["destination"].tolist() == [0, 1, 0]
    assert near["distance_m"].tolist() == pytest.approx([0.0, 5 + 40 + 5, 100.0], abs=1e-6)
    table = net.cost_table(orig, sites, max_cost=200, cost="distance_m")
    got = {(o, d): c for o, d, c in table.itertuples(index=False)}
    assert got[(0, 0)] == pytest.approx(0.0, abs=1e-6)
    assert got[(1, 1)] == pytest.approx(50.0)
    assert got[(1, 0)] == pytest.approx(5 + 80 + 100)
    assert got[(0, 1)] == pytest.approx(100 + 40 + 5)
    assert got[(2, 0)] == pytest.approx(100.0)
    assert (2, 1) not in got  # 100 + 100 + 40 + 5 > 200


def test_cost_table_agrees_with_nearest() -> None:
    g = grid_graph(8, 80.0)
    net = RoadNetwork.from_graph(g, crs=UTM)
    orig = random_points(net, 400, seed=5, pad=50)
    dest = random_points(net, 12, seed=6, pad=0)
    near = net.nearest(orig, dest)
    table = net.cost_table(orig, dest, max_cost=1e6)
    best = table.groupby("origin")["cost"].min()
    np.testing.assert_allclose(best.to_numpy(), near["time_min"].to_numpy()[best.index], atol=1e-9)
    small = net.cost_table(orig, dest, max_cost=5.0)
    assert (small["cost"] <= 5.0).all()
    inner = table[table["cost"] <= 5.0].reset_index(drop=True)
    pd.testing.assert_frame_equal(small, inner, check_dtype=False)


# --------------------------------------------------------------------------------------------
# files: GeoPackage, GraphML, OSM, cache
# --------------------------------------------------------------------------------------------


def lonlat_grid() -> nx.MultiDiGraph:
    """The grid as OSMnx would hold it: lon/lat nodes, great-circle lengths, tag attributes."""
    import osmnx as ox

    g = grid_graph(5, 110.0, oneway=((0, 1), (13, 8)))
    g = ox.projection.project_graph(g, to_crs="EPSG:4326")
    g = ox.distance.add_edge_lengths(g)
    for _, _, d in g.edges(data=True):
        d.pop("geometry", None)
    # A footway (no bicycles) and a private road.
    g.add_edge(20, 24, length=500.0, highway="footway", bicycle="no", oneway=False)
    g.add_edge(24, 20, length=500.0, highway="footway", bicycle="no", oneway=False)
    g.add_edge(4, 24, length=480.0, highway="service", access="private", oneway=False)
    return g


@pytest.mark.parametrize("mode", ["walk", "ebike"])
def test_geopackage_and_graphml_equal_graph(tmp_path: Path, mode: str) -> None:
    import osmnx as ox

    g = lonlat_grid()
    ox.io.save_graph_geopackage(g, tmp_path / "net.gpkg", directed=True)
    ox.io.save_graphml(g, tmp_path / "net.graphml")
    nets = [
        RoadNetwork.from_graph(g, mode=mode, crs=UTM),
        # Without the cache, as from_graph: no snapping grid, whose tie rule (lower segment
        # number) can pick the other of two parallel links at the same distance.
        RoadNetwork.from_file(tmp_path / "net.gpkg", mode=mode, crs=UTM, cache=False),
        RoadNetwork.from_file(tmp_path / "net.graphml", mode=mode, crs=UTM, cache=False),
    ]
    n_links = 40 + (1 if mode == "walk" else 0)
    for net in nets:
        assert net.n_links == n_links
        assert sorted(net.arrays.node_ids.tolist()) == list(range(25))
    pts = random_points(nets[0], 30, seed=7, pad=20)
    sites = random_points(nets[0], 4, seed=8, pad=0)
    ref = nets[0].nearest(pts, sites)
    for net in nets[1:]:
        pd.testing.assert_frame_equal(net.nearest(pts, sites), ref, rtol=1e-9)


def test_mode_filters_follow_osmnx_rules() -> None:
    tags = pd.DataFrame(
        [
            {"highway": "residential"},
            {"highway": "footway"},
            {"highway": "footway", "bicycle": "designated"},
            {"highway": "cycleway"},
            {"highway": "motorway_link"},
            {"highway": "path", "bicycle": "no"},
            {"highway": "service", "access": "private"},
            {"highway": "tertiary", "access": "no"},
            {"highway": "tertiary", "access": "no", "foot": "yes"},
            {"highway": "pedestrian", "area": "yes"},
            {"highway": "steps"},
            {"highway": "primary", "sidewalk": "separate"},
            {"highway": "construction"},
            {"railway": "rail"},
        ],
        columns=[*TAG_KEYS, "railway"],
    )
    walk = usable(tags, "walk").tolist()
    ebike = usable(tags, "ebike").tolist()
    assert walk == [1, 1, 1, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0]
    assert ebike == [1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]


@needs_guixi
@pytest.mark.parametrize("mode", ["walk", "ebike"])
def test_guixi_distances_match_osmnx_networkx(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import osmnx as ox

    net = RoadNetwork.from_file(GUIXI, mode=mode)
    # Independent graph: OSMnx's own XML reader, unsimplified, every way with its tags.
    monkeypatch.setattr(ox.settings, "useful_tags_way", list(TAG_KEYS))
    g = ox.graph_from_xml(GUIXI, simplify=False, retain_all=True,
                          bidirectional=(mode == "walk"))
    attrs = pd.DataFrame([d for _, _, d in g.edges(data=True)])
    drop = [e for e, ok in zip(g.edges(keys=True), usable(attrs, mode), strict=True) if not ok]
    g.remove_edges_from(drop)
    rng = np.random.default_rng(11)
    main = np.flatnonzero(net.node_component == 0)
    a, b = rng.choice(main, 25), rng.choice(main, 25)
    ids = net.arrays.node_ids
    orig = np.column_stack([net.x[a], net.y[a]])
    dest = np.column_stack([net.x[b], net.y[b]])
    table = net.cost_table(orig, dest, max_cost=1e7, cost="distance_m")
    got = table.set_index(["origin", "destination"])["cost"]
    ours = net.to_networkx()
    for i in range(25):
        want = nx.shortest_path_length(g, int(ids[a[i]]), int(ids[b[i]]), weight="length")
        assert got[(i, i)] == pytest.approx(want, abs=1e-6)
        mine = nx.shortest_path_length(ours, int(ids[a[i]]), int(ids[b[i]]), weight="length")
        assert got[(i, i)] == pytest.approx(mine, abs=1e-6)


@needs_guixi
def test_guixi_reads_and_reports() -> None:
    walk = RoadNetwork.from_file(GUIXI, mode="walk")
    ebike = RoadNetwork.from_file(GUIXI, mode="ebike")
    assert walk.crs.to_epsg() == 32650
    assert (walk.n_nodes, walk.n_links) == (330, 470)
    assert walk.n_components == 1
    comps = ebike.components
    assert comps["nodes"].iloc[0] == 278
    assert comps["nodes"].sum() == ebike.n_nodes
    assert comps["nodes"].is_monotonic_decreasing
    assert (ebike.graph != ebike.graph.T).nnz > 0  # one-way streets kept
    assert (walk.graph != walk.graph.T).nnz == 0
    assert "strongly connected" in ebike.report()


@needs_guixi
@pytest.mark.parametrize("mode", ["walk", "ebike"])
def test_guixi_snap_and_costs(mode: str) -> None:
    net = RoadNetwork.from_file(GUIXI, mode=mode)
    pts = random_points(net, 300, seed=21, pad=100)
    snap = net.snap(pts, exact=True)
    links = net.links_frame()
    main = links[links["component"] == 0].geometry.values
    tree = shapely.STRtree(main)
    p = shapely.points(pts)
    _, dist = tree.query_nearest(p, return_distance=True, all_matches=False)
    np.testing.assert_allclose(snap["snap_m"].to_numpy(), dist, rtol=0, atol=1e-7)
    attach = shapely.points(snap[["x", "y"]].to_numpy())
    on_link = shapely.distance(attach, links.geometry.values[snap["link"].to_numpy()])
    assert on_link.max() < 1e-6
    assert ((snap["snap_m"] > net.max_snap_m) == snap["reason"].notna()).all()
    orig, dest = pts[:40], pts[-6:]
    want = reference_costs(net, orig, dest)
    table = net.cost_table(orig, dest, max_cost=1e9, cost="distance_m")
    got = np.full_like(want, np.inf)
    got[table["origin"].to_numpy(), table["destination"].to_numpy()] = table["cost"].to_numpy()
    np.testing.assert_allclose(got, want, atol=1e-6)


@needs_guixi
def test_fast_snap_error_is_bounded_and_rare() -> None:
    net = RoadNetwork.from_file(GUIXI)
    pts = random_points(net, 20_000, seed=5, pad=100)
    fast = net.snap(pts)
    exact = net.snap(pts, exact=True)
    links = net.links_frame()
    tree = shapely.STRtree(links[links["component"] == 0].geometry.values)
    _, dist = tree.query_nearest(shapely.points(pts), return_distance=True, all_matches=False)
    err = fast["snap_m"].to_numpy() - dist
    # Never shorter than the true nearest road, never more than half a piece (5 m) longer.
    assert err.min() > -1e-3
    assert err.max() <= net.snap_index.half + 1e-3
    assert (err > 1e-3).mean() < 0.002
    # Exact: candidates are ranked in float32 (millimetres), the winner projected in float64.
    np.testing.assert_allclose(exact["snap_m"].to_numpy(), dist, rtol=0, atol=1e-3)
    # The attachment is on the chosen road either way.
    attach = shapely.points(fast[["x", "y"]].to_numpy())
    assert shapely.distance(attach, links.geometry.values[fast["link"].to_numpy()]).max() < 1e-6


@needs_guixi
def test_snap_grid_is_bounded_exact_and_cached(tmp_path: Path) -> None:
    net = RoadNetwork.from_file(GUIXI, cache_dir=tmp_path)
    pts = random_points(net, 20_000, seed=7, pad=100)
    # A network read with the disk cache snaps with the grid, built on that first load.
    assert net.snap_grid
    assert net.grid_info["built"] and not net.grid_info["from_cache"]
    exact = net.snap(pts, exact=True)
    grid = net.snap(pts)
    net.snap_grid = False
    fast = net.snap(pts)
    bound = net._grid.bound + net.snap_index.half
    assert bound <= 25.0
    err = grid["snap_m"].to_numpy() - exact["snap_m"].to_numpy()
    assert err.max() <= bound
    assert err.min() > -1e-3
    assert (np.abs(err) <= 1e-6).mean() >= 0.99
    # Never worse than the KD-tree fast search (float32 ranking: mm), and the same reasons.
    assert (grid["snap_m"].to_numpy() <= fast["snap_m"].to_numpy() + 1e-3).all()
    assert grid["reason"].equals(fast["reason"])
    links = net.links_frame()
    attach = shapely.points(grid[["x", "y"]].to_numpy())
    assert shapely.distance(attach, links.geometry.values[grid["link"].to_numpy()]).max() < 1e-6
    # A second network object loads the grid from the cache side file.
    again = RoadNetwork.from_file(GUIXI, cache_dir=tmp_path)
    assert again.grid_info["from_cache"]
    pd.testing.assert_frame_equal(again.snap(pts), grid)
    # A damaged grid folder is rebuilt, not trusted.
    side = Path(again.grid_info["cache_file"])
    (side / "grid_cand.npy").write_bytes(b"damaged")
    rebuilt = RoadNetwork.from_file(GUIXI, cache_dir=tmp_path)
    assert rebuilt.grid_info["built"] and not rebuilt.grid_info["from_cache"]
    pd.testing.assert_frame_equal(rebuilt.snap(pts), grid)
    assert RoadNetwork.from_file(GUIXI, cache_dir=tmp_path).grid_info["from_cache"]
    # Switching it on again gives the grid's answers again; without the cache there is none.
    net.snap_grid = True
    pd.testing.assert_frame_equal(net.snap(pts), grid)
    plain = RoadNetwork.from_file(GUIXI, cache=False)
    assert not plain.snap_grid and not plain.grid_info
    pd.testing.assert_frame_equal(plain.snap(pts), fast)


@needs_guixi
def test_bounded_searches_on_subgraphs_equal_whole_graph() -> None:
    net = RoadNetwork.from_file(GUIXI, mode="ebike")
    pts = random_points(net, 3000, seed=8, pad=50)
    orig, dest = net.snap_points(pts[:2900]), net.snap_points(pts[2900:])
    table = net.cost_table(orig, dest, max_cost=4.0)
    net._reach_ratio = 0.0  # no straight-line bound: every search on the whole graph
    whole = net.cost_table(orig, dest, max_cost=4.0)
    assert len(table) > 1500
    pd.testing.assert_frame_equal(table, whole)
    assert table.groupby("origin")["destination"].apply(lambda d: d.is_monotonic_increasing).all()
    assert table["origin"].is_monotonic_increasing


@needs_guixi
def test_service_area_road_length_matches_cost_table() -> None:
    net = RoadNetwork.from_file(GUIXI)
    links = net.links_frame()
    main = links[links["component"] == 0]
    site = gpd.GeoSeries(main.geometry.iloc[[10]].interpolate(0.3, normalized=True).values,
                         crs=net.crs)
    area = net.service_areas(site, 5.0).iloc[0]
    # Points every metre along every road, costed to the site by the cost table.
    geoms = main.geometry.values
    n = np.maximum(np.ceil(shapely.length(geoms)).astype(int), 1)
    which = np.repeat(np.arange(len(geoms)), n)
    frac = (np.arange(len(which)) - np.repeat(np.r_[0, np.cumsum(n)[:-1]], n) + 0.5) / n[which]
    pts = shapely.line_interpolate_point(geoms[which], frac, normalized=True)
    table = net.cost_table(gpd.GeoSeries(pts, crs=net.crs), site, max_cost=5.0)
    reached_m = (main["length"].to_numpy()[which] / n[which])[table["origin"].to_numpy()].sum()
    assert area["road_km"] * 1000 == pytest.approx(reached_m, rel=0.01)
    assert shapely.contains(area.geometry, shapely.points(
        np.column_stack([shapely.get_x(pts), shapely.get_y(pts)])[table["origin"].to_numpy()]
    )).all()


@needs_guixi
def test_cache_hit_gives_identical_arrays(tmp_path: Path) -> None:
    first = RoadNetwork.from_file(GUIXI, mode="ebike", cache_dir=tmp_path)
    second = RoadNetwork.from_file(GUIXI, mode="ebike", cache_dir=tmp_path)
    assert not first.load_info["from_cache"]
    assert second.load_info["from_cache"]
    assert len(list(tmp_path.glob("*-ebike-v*.npz"))) == 1
    # The snapping grid beside the arrays, memory-mapped when read again.
    (grid,) = tmp_path.glob("*-ebike-v*-grid*")
    assert grid.name.startswith(next(tmp_path.glob("*.npz")).stem)
    assert isinstance(second._grid.cand, np.memmap)
    np.testing.assert_array_equal(second._grid.cand, first._grid.cand)
    np.testing.assert_array_equal(second._grid.low, first._grid.low)
    for name, value in first.arrays.to_dict().items():
        np.testing.assert_array_equal(getattr(second.arrays, name), value, err_msg=name)
    assert (first.graph != second.graph).nnz == 0
    third = RoadNetwork.from_file(GUIXI, mode="walk", cache_dir=tmp_path)
    assert not third.load_info["from_cache"]


@needs_guixi
def test_cache_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COVERAGE_CACHE_DIR", str(tmp_path / "env"))
    RoadNetwork.from_file(GUIXI)
    assert len(list((tmp_path / "env").glob("*-walk-v?.npz"))) == 1
    # Owner-only: the folder 0700, each entry 0600, the grid folder 0700.
    assert stat.S_IMODE((tmp_path / "env").stat().st_mode) == 0o700
    (entry,) = (tmp_path / "env").glob("*-walk-v?.npz")
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    (grid,) = (tmp_path / "env").glob("*-walk-v?-grid*")
    assert stat.S_IMODE(grid.stat().st_mode) == 0o700
    assert len(list((tmp_path / "env").glob("*-walk-v?-grid*"))) == 1
    assert RoadNetwork.from_file(GUIXI).load_info["from_cache"]
    assert not RoadNetwork.from_file(GUIXI, cache=False).load_info["from_cache"]


@needs_guixi
def test_gcj02_layer_gets_a_warning() -> None:
    net = RoadNetwork.from_file(GUIXI)
    links = net.links_frame()
    main = links[links["component"] == 0]
    rng = np.random.default_rng(2)
    on_road = main.geometry.interpolate(rng.uniform(0, 1, len(main)), normalized=True)
    jitter = rng.normal(0, 8, (len(main), 2))
    pts = gpd.GeoSeries(
        shapely.points(shapely.get_coordinates(on_road.values) + jitter), crs=net.crs
    ).to_crs(4326)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fine = net.check_offset(pts, name="sites.csv")
    assert fine.ok and fine.likely_system is None
    assert fine.median_m["wgs84"] < 15
    glon, glat = wgs84_to_gcj02(pts.x.to_numpy(), pts.y.to_numpy())
    with pytest.warns(CoordinateSystemWarning, match=r'migrants\.csv.*GCJ-02.*crs = "gcj02"'):
        check = net.check_offset((glon, glat), name="migrants.csv")
    assert check.likely_system == "gcj02"
    # Shifted ~500 m, the points sit far from the roads (Guixi's streets are dense, so less
    # than 500 m on median), and converting them back brings them onto the roads.
    assert check.median_m["wgs84"] > 60
    assert check.median_m["gcj02"] < 15
    blon, blat = wgs84_to_bd09(pts.x.to_numpy(), pts.y.to_numpy())
    with pytest.warns(CoordinateSystemWarning, match="BD-09"):
        assert net.check_offset(np.column_stack([blon, blat])).likely_system == "bd09"


@needs_guixi
def test_service_areas_grow_with_time() -> None:
    net = RoadNetwork.from_file(GUIXI)
    links = net.links_frame()
    main = links[links["component"] == 0]
    sites = gpd.GeoSeries(main.geometry.iloc[[3, 50]].interpolate(0.5, normalized=True).values,
                          index=["A", "B"], crs=net.crs)
    areas = net.service_areas(sites, [5, 10])
    assert areas[["site", "minutes"]].values.tolist() == [["A", 5.0], ["A", 10.0],
                                                          ["B", 5.0], ["B", 10.0]]
    assert areas.crs == net.crs
    for site in ("A", "B"):
        five, ten = areas[areas["site"] == site].geometry.to_numpy()
        assert five.contains(sites[site])
        # Contained up to the polygon approximation of the buffers' round caps.
        assert five.difference(ten).area < 0.01 * five.area
        assert ten.area > five.area
    km = areas.set_index(["site", "minutes"])["road_km"]
    # Walking 5 min at 4.5 km/h = 375 m; in all directions that reaches more than 375 m of road.
    assert km[("A", 5.0)] > 0.375


def test_snapped_points_are_reused() -> None:
    net = RoadNetwork.from_graph(grid_graph(5, 100.0), crs=UTM)
    orig = random_points(net, 50, seed=9, pad=30)
    dest = random_points(net, 3, seed=10, pad=0)
    snapped = net.snap_points(orig)
    pd.testing.assert_frame_equal(net.nearest(snapped, dest), net.nearest(orig, dest))
    pd.testing.assert_frame_equal(net.cost_table(snapped, dest, max_cost=5),
                                  net.cost_table(orig, dest, max_cost=5))
    other = RoadNetwork.from_graph(grid_graph(5, 100.0), crs=UTM)
    with pytest.raises(ValueError, match="another network"):
        other.nearest(snapped, dest)


@needs_guixi
def test_progress_messages(tmp_path: Path) -> None:
    seen: list[str] = []
    RoadNetwork.from_file(GUIXI, cache_dir=tmp_path, progress=seen.append)
    assert any("reading OSM ways" in m for m in seen)
    assert any("building the walk graph" in m for m in seen)
