"""Tests of the demo city (coverage.demo): files, formats, determinism and planted truth."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from coverage.crs import gcj02_to_wgs84
from coverage.demo import build_demo
from coverage.demo.config import SIZES
from coverage.demo.origins import ORIGINS
from coverage.demo.write import PROJECT_TOML
from coverage.io.schema import (
    CANDIDATES,
    COMMUNITIES,
    MARITAL,
    MIGRANTS,
    REGISTERED_POINTS,
    SERVICES,
    SITE_KINDS,
    SITES,
    Layer,
    category_lookup,
)

METRIC = "EPSG:32650"
CSV_FILES = ("migrants.csv", "sites.csv", "README.md", "ground_truth.json", "candidates.geojson",
             "project.toml")
GPKG_LAYERS = (
    ("network.gpkg", "nodes"),
    ("network.gpkg", "edges"),
    ("communities.gpkg", "communities"),
    ("registered_points.gpkg", "registered_points"),
    ("ground_truth.gpkg", "underserved_areas"),
    ("ground_truth.gpkg", "areas"),
)


# ------------------------------------------------------------------------------------------
# fixtures: the small city, built once per session (twice with seed 0, once with seed 1)
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    steps: list[str] = []
    path = build_demo(tmp_path_factory.mktemp("demo"), size="small", seed=0,
                      progress=steps.append)
    return path.parent, steps


@pytest.fixture(scope="session")
def demo(demo_build: tuple[Path, list[str]]) -> Path:
    return demo_build[0]


@pytest.fixture(scope="session")
def demo_again(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo(tmp_path_factory.mktemp("demo_again"), size="small", seed=0).parent


@pytest.fixture(scope="session")
def demo_seed1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo(tmp_path_factory.mktemp("demo_seed1"), size="small", seed=1).parent


@pytest.fixture(scope="session")
def truth(demo: Path) -> dict:
    return json.loads((demo / "ground_truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def migrants(demo: Path) -> pd.DataFrame:
    return pd.read_csv(demo / "migrants.csv", encoding="utf-8-sig", dtype=str,
                       keep_default_na=False)


@pytest.fixture(scope="session")
def sites(demo: Path) -> pd.DataFrame:
    return pd.read_csv(demo / "sites.csv", encoding="gb18030", dtype=str, keep_default_na=False)


@pytest.fixture(scope="session")
def communities(demo: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(demo / "communities.gpkg", layer="communities")


@pytest.fixture(scope="session")
def network(demo: Path) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    nodes = gpd.read_file(demo / "network.gpkg", layer="nodes")
    edges = gpd.read_file(demo / "network.gpkg", layer="edges")
    return nodes, edges


def _site_points(sites: pd.DataFrame) -> gpd.GeoSeries:
    lon, lat = gcj02_to_wgs84(sites["经度"].astype(float).to_numpy(),
                              sites["纬度"].astype(float).to_numpy())
    return gpd.GeoSeries(shapely.points(lon, lat), crs="EPSG:4326")


def _migrant_points(migrants: pd.DataFrame) -> gpd.GeoSeries:
    return gpd.GeoSeries(shapely.points(migrants["经度"].astype(float),
                                        migrants["纬度"].astype(float)), crs="EPSG:4326")


# ------------------------------------------------------------------------------------------
# API
# ------------------------------------------------------------------------------------------


def test_build_returns_project_toml_and_reports_progress(
    demo: Path, demo_build: tuple[Path, list[str]],
) -> None:
    steps = demo_build[1]
    assert (demo / "project.toml").is_file()
    assert len(steps) >= 5
    assert all(isinstance(s, str) and s and s.isascii() for s in steps)


@pytest.mark.parametrize("kwargs", [{"size": "huge"}, {"seed": -1}, {"seed": 1.5}])
def test_build_rejects_bad_options(tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(ValueError, match=r"size|seed"):
        build_demo(tmp_path, **kwargs)
    assert not (tmp_path / "project.toml").exists()


def test_project_toml_is_the_documented_file(demo: Path) -> None:
    text = (demo / "project.toml").read_text(encoding="utf-8")
    assert text == PROJECT_TOML
    data = tomllib.loads(text)
    for layer in data["layers"].values():
        assert (demo / layer["path"]).is_file()
    assert data["layers"]["sites"]["crs"] == "gcj02"
    assert data["parameters"]["targets"]["prepregnancy_consult"] == 0.80


def test_readme_says_synthetic_in_both_languages(demo: Path) -> None:
    text = (demo / "README.md").read_text(encoding="utf-8")
    assert "合成数据" in text
    assert "synthetic" in text
    assert "U1" in text and "U2" in text


# ------------------------------------------------------------------------------------------
# determinism
# ------------------------------------------------------------------------------------------


def test_same_seed_gives_identical_tables(demo: Path, demo_again: Path) -> None:
    for name in CSV_FILES:
        assert (demo / name).read_bytes() == (demo_again / name).read_bytes(), name
    for name, layer in GPKG_LAYERS:
        a = pyogrio.read_dataframe(demo / name, layer=layer)
        b = pyogrio.read_dataframe(demo_again / name, layer=layer)
        pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
        assert (a.geometry.to_wkb() == b.geometry.to_wkb()).all(), (name, layer)


def test_different_seed_differs(demo: Path, demo_seed1: Path) -> None:
    assert (demo / "migrants.csv").read_bytes() != (demo_seed1 / "migrants.csv").read_bytes()
    assert (demo / "sites.csv").read_bytes() != (demo_seed1 / "sites.csv").read_bytes()
    a = pyogrio.read_dataframe(demo / "network.gpkg", layer="nodes")
    b = pyogrio.read_dataframe(demo_seed1 / "network.gpkg", layer="nodes")
    assert len(a) != len(b) or not np.allclose(a["x"], b["x"])


# ------------------------------------------------------------------------------------------
# sizes and contents
# ------------------------------------------------------------------------------------------


def test_small_city_sizes(truth: dict, migrants: pd.DataFrame, sites: pd.DataFrame,
                          communities: gpd.GeoDataFrame, network: tuple) -> None:
    nodes, edges = network
    assert len(migrants) == SIZES["small"].migrants == 20_000
    assert 40 <= len(communities) <= 100
    assert 4 <= communities["district"].nunique() <= 6
    assert communities["street"].nunique() >= communities["district"].nunique()
    assert 3_000 <= len(nodes) <= 15_000
    assert 30 <= len(sites) <= 150
    assert truth["counts"]["network_nodes"] == len(nodes)
    assert truth["counts"]["network_edges"] == len(edges)


def test_presets_scale_up() -> None:
    small, default, large = SIZES["small"], SIZES["default"], SIZES["large"]
    assert default.migrants == 200_000
    assert large.migrants >= 1_000_000
    assert large.half_x * large.half_y > default.half_x * default.half_y
    assert small.communities <= default.communities <= 100 < large.communities


def test_candidates(demo: Path, truth: dict) -> None:
    cands = gpd.read_file(demo / "candidates.geojson")
    assert cands.crs.to_epsg() == 4326
    assert {"candidate_id", "name", "max_staff"} <= set(cands.columns)
    assert 20 <= len(cands) <= 60
    assert cands["candidate_id"].is_unique
    assert (cands["max_staff"] > 0).all()
    planted = {c for a in truth["underserved_areas"] for c in a["candidate_ids"]}
    assert planted and planted <= set(cands["candidate_id"])


def test_every_site_kind_and_service_is_recognised(sites: pd.DataFrame) -> None:
    kinds = sites["类型"].str.casefold().map(category_lookup(SITES.column("kind")))
    assert kinds.notna().all()
    assert set(kinds) == set(SITE_KINDS)
    spellings = {s.casefold() for values in SERVICES.values() for s in values}
    for cell in sites["服务项目"]:
        items = re.split("[;、]", cell)
        assert items and all(i.casefold() in spellings for i in items), cell
    staff = sites["人员"].astype(float)
    assert (staff > 0).all()
    assert sites["站点编码"].is_unique
    assert sites["名称"].str.contains("社区卫生服务站").any()


@pytest.mark.parametrize(("file", "layer", "encoding"), [
    ("migrants.csv", MIGRANTS, "utf-8-sig"),
    ("sites.csv", SITES, "gb18030"),
])
def test_headers_are_schema_aliases(demo: Path, file: str, layer: Layer, encoding: str) -> None:
    headers = pd.read_csv(demo / file, encoding=encoding, nrows=0).columns
    matched = []
    for header in headers:
        owners = [c.name for c in layer.columns if header == c.name or header in c.aliases]
        assert owners, f"{file}: header {header!r} is not a schema name or alias"
        matched.append(owners[0])
    assert set(matched) == set(layer.names), set(layer.names) ^ set(matched)
    assert all(not h.isascii() for h in headers)


def test_vector_columns_follow_the_schema(demo: Path, communities: gpd.GeoDataFrame) -> None:
    assert set(COMMUNITIES.names) <= set(communities.columns)
    points = gpd.read_file(demo / "registered_points.gpkg", layer="registered_points")
    assert set(REGISTERED_POINTS.names) - {"lon", "lat"} <= set(points.columns)
    cands = gpd.read_file(demo / "candidates.geojson")
    assert set(CANDIDATES.names) - {"lon", "lat"} <= set(cands.columns)


def test_encodings(demo: Path) -> None:
    raw = (demo / "sites.csv").read_bytes()
    assert not raw.isascii()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert "卫生服务" in raw.decode("gb18030")
    head = (demo / "migrants.csv").read_bytes()[:200]
    assert head.startswith(b"\xef\xbb\xbf")
    assert head[3:].decode("utf-8").startswith("人员编号,")


def test_migrant_values(migrants: pd.DataFrame) -> None:
    assert migrants["人员编号"].str.fullmatch(r"M\d{7}").all()
    assert migrants["人员编号"].is_unique
    assert set(migrants["性别"]) == {"男", "女"}
    marital = {s for values in MARITAL.values() for s in values}
    assert set(migrants["婚姻状况"]) <= marital
    assert {"未婚", "已婚"} <= set(migrants["婚姻状况"])
    year = migrants["出生年份"].astype(int)
    assert year.between(1940, 2026).all()
    age = 2026 - year
    assert age.between(16, 59).mean() > 0.85
    codes = {code for code, _, _ in ORIGINS}
    hukou = migrants["户籍地代码"]
    assert hukou.isin(codes | {""}).all()
    assert 0.0 < (hukou == "").mean() < 0.05
    provinces = hukou[hukou != ""].str[:2].value_counts(normalize=True)
    assert provinces.index[0] == "43"  # Hunan sends the most
    dates = pd.to_datetime(migrants["来本地日期"], format="%Y-%m-%d")
    assert dates.min() >= pd.Timestamp("2023-10-01")
    assert dates.max() <= pd.Timestamp("2026-09-30")
    assert migrants["经度"].str.fullmatch(r"\d+\.\d{6}").all()
    yes_no = {"是", "否", ""}
    for col in ("婚育证明", "政策知晓", "流入地免费服务", "孕情环情检查", "免费药具",
                "孕前优生咨询"):
        assert set(migrants[col]) <= yes_no, col
    men = migrants["性别"] == "男"
    assert (migrants.loc[men, "孕情环情检查"] == "").all()
    wives = ~men & (migrants["婚姻状况"] == "已婚")
    assert (migrants.loc[wives & age.between(16, 48), "孕情环情检查"] != "").mean() > 0.95
    assert (migrants.loc[wives & (age >= 51), "孕情环情检查"] == "").all()
    assert (migrants.loc[migrants["婚姻状况"] != "已婚", "婚育证明"] == "").all()
    checks = migrants["生殖保健检查次数"]
    assert set(checks) <= {"", "0", "1", "2"}
    workers = migrants["工作地经度"] != ""
    assert 0.6 < workers.mean() < 0.95
    assert ((migrants["工作地经度"] == "") == (migrants["工作地纬度"] == "")).all()


def test_records_are_near_targets_and_worse_far_away(migrants: pd.DataFrame, truth: dict,
                                                     demo: Path) -> None:
    def rate(frame: pd.DataFrame, col: str) -> float:
        known = frame[col] != ""
        return float((frame.loc[known, col] == "是").mean())

    targets = {"政策知晓": 0.90, "流入地免费服务": 0.95, "孕情环情检查": 0.90, "免费药具": 0.90,
               "孕前优生咨询": 0.80}
    rates = {col: rate(migrants, col) for col in targets}
    assert all(t - 0.1 < rates[c] < 0.99 for c, t in targets.items()), rates
    assert any(rates[c] < t for c, t in targets.items()), rates
    areas = gpd.read_file(demo / "ground_truth.gpkg", layer="underserved_areas")
    inside = _migrant_points(migrants).within(areas.union_all()).to_numpy()
    assert inside.mean() >= 0.05
    for col in ("流入地免费服务", "政策知晓"):
        assert rate(migrants[inside], col) < rate(migrants[~inside], col) - 0.1, col


# ------------------------------------------------------------------------------------------
# geometry
# ------------------------------------------------------------------------------------------


def test_communities_tile_the_city(communities: gpd.GeoDataFrame, demo: Path) -> None:
    assert communities.crs.to_epsg() == 4326
    assert communities["community_id"].is_unique
    assert communities["community_id"].str.fullmatch(r"441900\d{6}").all()
    assert communities.is_valid.all()
    assert (communities.geom_type == "Polygon").all()
    assert communities["district"].str.endswith("区").all()
    assert communities["street"].str.endswith("街道").all()
    assert communities["name"].str.endswith("社区").all()
    assert (communities["fp_staff"] > 0).all()
    metric = communities.to_crs(METRIC)
    union = metric.union_all()
    assert metric.area.sum() == pytest.approx(union.area, rel=1e-6)  # no overlaps
    boundary = gpd.read_file(demo / "ground_truth.gpkg", layer="city_boundary").to_crs(METRIC)
    assert union.area == pytest.approx(boundary.area.iloc[0], rel=1e-4)  # no gaps
    assert union.geom_type == "Polygon"


def test_all_points_lie_in_the_communities(demo: Path, migrants: pd.DataFrame,
                                           sites: pd.DataFrame,
                                           communities: gpd.GeoDataFrame) -> None:
    union = communities.to_crs(METRIC).union_all()
    shapely.prepare(union)
    reg = gpd.read_file(demo / "registered_points.gpkg", layer="registered_points")
    cands = gpd.read_file(demo / "candidates.geojson")
    layers = {
        "migrants": _migrant_points(migrants),
        "sites": _site_points(sites),
        "registered": reg.geometry,
        "candidates": cands.geometry,
    }
    for name, points in layers.items():
        inside = union.contains(points.to_crs(METRIC).to_numpy())
        assert inside.all(), f"{name}: {(~inside).sum()} points outside the communities"


def test_community_ids_match_the_polygons(demo: Path, migrants: pd.DataFrame,
                                          communities: gpd.GeoDataFrame) -> None:
    reg = gpd.read_file(demo / "registered_points.gpkg", layer="registered_points")
    for ids, points in ((migrants["社区编码"], _migrant_points(migrants)),
                        (reg["community_id"], reg.geometry)):
        joined = gpd.sjoin(gpd.GeoDataFrame(geometry=points.to_crs(METRIC)),
                           communities.to_crs(METRIC), predicate="within", how="left")
        joined = joined[~joined.index.duplicated()]
        assert (joined["community_id"].to_numpy() == ids.to_numpy()).all()


def test_registered_points_sum_to_registered_pop(demo: Path,
                                                 communities: gpd.GeoDataFrame) -> None:
    reg = gpd.read_file(demo / "registered_points.gpkg", layer="registered_points")
    assert reg["point_id"].is_unique
    assert (reg["population"] > 0).all()
    sums = reg.groupby("community_id")["population"].sum()
    expected = communities.set_index("community_id")["registered_pop"]
    assert (expected > 0).all()
    pd.testing.assert_series_equal(sums.reindex(expected.index).fillna(0).astype("int64"),
                                   expected.astype("int64"), check_names=False)


# ------------------------------------------------------------------------------------------
# network
# ------------------------------------------------------------------------------------------


def test_osmnx_reads_the_network(network: tuple) -> None:
    ox = pytest.importorskip("osmnx")
    nodes, edges = network
    assert nodes.crs.to_epsg() == 4326 and edges.crs.to_epsg() == 4326
    assert nodes["osmid"].dtype == np.int64
    graph = ox.graph_from_gdfs(nodes.set_index("osmid"), edges.set_index(["u", "v", "key"]))
    assert graph.number_of_nodes() == len(nodes)
    assert graph.number_of_edges() == len(edges)
    u, v, data = zip(*graph.edges(data=True), strict=True)
    length = np.array([d["length"] for d in data])
    geoms = np.array([d["geometry"] for d in data])
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    same = index[1:] == index[:-1]
    seg = pyproj.Geod(ellps="WGS84").inv(coords[:-1, 0][same], coords[:-1, 1][same],
                                         coords[1:, 0][same], coords[1:, 1][same])[2]
    geodesic = np.bincount(index[:-1][same], weights=seg, minlength=len(geoms))
    assert (length > 0).all()
    np.testing.assert_allclose(length, geodesic, rtol=0.01)
    gc = ox.distance.great_circle(
        np.array([graph.nodes[a]["y"] for a in u]), np.array([graph.nodes[a]["x"] for a in u]),
        np.array([graph.nodes[b]["y"] for b in v]), np.array([graph.nodes[b]["x"] for b in v]))
    np.testing.assert_allclose(length, gc, rtol=0.01)


def test_network_follows_osmnx_conventions(network: tuple) -> None:
    nodes, edges = network
    assert not edges.duplicated(["u", "v", "key"]).any()
    assert (edges["key"] == 0).all()
    assert {"u", "v", "key", "osmid", "highway", "oneway", "reversed", "length", "name",
            "bridge", "foot", "bicycle", "access"} <= set(edges.columns)
    assert edges["oneway"].dtype == bool and edges["reversed"].dtype == bool
    pairs = set(zip(edges["u"], edges["v"], strict=True))
    two_way = edges[~edges["oneway"]]
    assert all((b, a) in pairs for a, b in zip(two_way["u"], two_way["v"], strict=True))
    assert two_way["reversed"].mean() == pytest.approx(0.5)
    one_way = edges[edges["oneway"]]
    assert len(one_way) > 0 and not one_way["reversed"].any()
    assert not any((b, a) in pairs for a, b in zip(one_way["u"], one_way["v"], strict=True))
    assert {"primary", "secondary", "tertiary", "residential", "service", "footway",
            "path"} <= set(edges["highway"])
    assert set(one_way["highway"]) <= {"primary", "secondary", "tertiary"}
    foot = edges["highway"].isin(["footway", "path"])
    assert (edges.loc[foot, "bicycle"] == "no").all()
    assert edges.loc[~foot, "bicycle"].isna().all()
    assert (edges["access"].dropna() == "destination").all()
    # the edge geometry runs from u to v
    start = shapely.get_point(edges.geometry.to_numpy(), 0)
    node_xy = nodes.set_index("osmid")[["x", "y"]]
    np.testing.assert_allclose(shapely.get_x(start), node_xy.loc[edges["u"], "x"].to_numpy())
    count = pd.concat([edges["u"], edges["v"]]).value_counts()
    undirected = edges[~edges["reversed"]]
    degree = pd.concat([undirected["u"], undirected["v"]]).value_counts()
    assert (nodes.set_index("osmid")["street_count"] == degree.reindex(
        nodes["osmid"]).fillna(0).to_numpy()).all()
    assert count.index.isin(nodes["osmid"]).all()


def test_river_is_crossed_only_by_bridges(demo: Path, network: tuple, truth: dict) -> None:
    _, edges = network
    river = gpd.read_file(demo / "ground_truth.gpkg", layer="river").union_all()
    crossing = edges.intersects(river).to_numpy()
    bridge = (edges["bridge"] == "yes").to_numpy()
    assert crossing.any()
    assert (crossing == bridge).all()
    undirected = edges[bridge & ~edges["reversed"].to_numpy()]
    assert len(undirected) == len(truth["network"]["bridges"])
    assert 2 <= len(undirected) <= 2 * (SIZES["small"].bridges + 1)


def test_walk_network_is_connected_except_the_island(network: tuple, truth: dict) -> None:
    nodes, edges = network
    index = pd.Series(np.arange(len(nodes)), index=nodes["osmid"])
    u = index[edges["u"]].to_numpy()
    v = index[edges["v"]].to_numpy()
    graph = coo_matrix((np.ones(len(u)), (u, v)), shape=(len(nodes), len(nodes)))
    n, label = connected_components(graph, directed=False)
    assert n == truth["network"]["walk_components"] == 2
    sizes = np.bincount(label)
    small = np.flatnonzero(label == np.argmin(sizes))
    island = sorted(nodes["osmid"].to_numpy()[small].tolist())
    assert island == sorted(truth["network"]["island"]["node_osmids"])
    assert len(island) < 20


# ------------------------------------------------------------------------------------------
# planted truth
# ------------------------------------------------------------------------------------------


def test_underserved_areas_have_no_site_nearby(demo: Path, sites: pd.DataFrame,
                                               truth: dict, migrants: pd.DataFrame) -> None:
    areas = gpd.read_file(demo / "ground_truth.gpkg", layer="underserved_areas").to_crs(METRIC)
    assert len(areas) == len(truth["underserved_areas"]) >= 2
    points = _site_points(sites).to_crs(METRIC)
    for area, info in zip(areas.geometry, truth["underserved_areas"], strict=True):
        nearest = points.distance(area).min()
        assert nearest >= info["min_site_distance_m"] >= 1000
        inside = _migrant_points(migrants).to_crs(METRIC).within(area).sum()
        assert inside == info["migrants"] > 0
    assert truth["underserved_summary"]["share_of_migrants"] >= 0.05


def test_understaffed_sites_have_few_staff_for_many_migrants(sites: pd.DataFrame,
                                                             truth: dict,
                                                             migrants: pd.DataFrame) -> None:
    planted = truth["understaffed_sites"]
    assert len(planted) == SIZES["small"].understaffed
    frame = sites.set_index("站点编码")
    pts = _site_points(sites).to_crs(METRIC)
    pts.index = frame.index
    people = _migrant_points(migrants).to_crs(METRIC)
    xy = np.column_stack([people.x, people.y])
    ratios = {}
    for sid in frame.index:
        p = pts[sid]
        demand = (np.hypot(xy[:, 0] - p.x, xy[:, 1] - p.y) <= 1000).sum()
        ratios[sid] = demand / float(frame.loc[sid, "人员"])
    others = np.median([r for s, r in ratios.items() if s not in {p["site_id"] for p in planted}])
    for site in planted:
        assert float(frame.loc[site["site_id"], "人员"]) == site["staff"] <= 1.0
        assert ratios[site["site_id"]] >= 3 * others


def test_fast_growing_communities_grow_faster(migrants: pd.DataFrame, truth: dict) -> None:
    fast = {f["community_id"] for f in truth["fast_growing_communities"]}
    assert len(fast) == SIZES["small"].fast_growing
    quarter = pd.PeriodIndex(pd.to_datetime(migrants["来本地日期"]), freq="Q")
    table = pd.crosstab(migrants["社区编码"].isin(fast), quarter)
    assert table.shape[1] == 12

    def slope(counts: np.ndarray) -> float:
        return float(np.polyfit(np.arange(len(counts)), np.log(counts), 1)[0])

    assert slope(table.loc[True].to_numpy()) > slope(table.loc[False].to_numpy()) + 0.08
    for cid in fast:
        counts = pd.crosstab(migrants["社区编码"] == cid, quarter).loc[True]
        assert counts.iloc[-4:].sum() > 2 * counts.iloc[:4].sum(), cid


def _story(demo: Path, migrants: pd.DataFrame, sites: pd.DataFrame,
           communities: gpd.GeoDataFrame, radius: float) -> pd.DataFrame:
    """Per district, from the files: distance to the nearest site and staff within reach.

    Straight lines in metres. Staff within reach is a two-step floating catchment: each site's
    staff over the people (migrants and registered residents) within ``radius``, summed over
    the sites within ``radius`` of each person. Registered residents weigh their population.
    """
    from scipy.spatial import cKDTree

    reg = gpd.read_file(demo / "registered_points.gpkg", layer="registered_points")
    people = pd.concat([_migrant_points(migrants), reg.geometry], ignore_index=True)
    people = people.to_crs(METRIC)
    xy = np.column_stack([people.x, people.y])
    weight = np.r_[np.ones(len(migrants)), reg["population"].to_numpy(float)]
    district = communities.set_index("community_id")["district"]
    unit = np.r_[migrants["社区编码"].map(district).to_numpy(),
                 reg["community_id"].map(district).to_numpy()]
    is_migrant = np.arange(len(xy)) < len(migrants)
    spts = _site_points(sites).to_crs(METRIC)
    site_xy = np.column_stack([spts.x, spts.y])
    staff = sites["人员"].astype(float).to_numpy()
    dist = cKDTree(site_xy).query(xy)[0]
    within = cKDTree(xy).query_ball_point(site_xy, r=radius)
    access = np.zeros(len(xy))
    for k, rows in enumerate(within):
        access[rows] += staff[k] / weight[rows].sum() * 1000
    rows = []
    for name in sorted(set(district)):
        m, r = (unit == name) & is_migrant, (unit == name) & ~is_migrant
        rows.append({"district": name, "distance_migrants": dist[m].mean(),
                     "distance_registered": np.average(dist[r], weights=weight[r]),
                     "staff_migrants": access[m].mean(),
                     "staff_registered": np.average(access[r], weights=weight[r])})
    return pd.DataFrame(rows).set_index("district")


def test_migrants_are_worse_served_except_in_the_planted_equal_districts(
        demo: Path, truth: dict, migrants: pd.DataFrame, sites: pd.DataFrame,
        communities: gpd.GeoDataFrame) -> None:
    story = truth["equalization"]
    found = _story(demo, migrants, sites, communities, story["radius_m"])
    equal = set(story["equal_districts"])
    assert 1 <= len(equal) <= 2 and len(equal) < len(found) / 2  # a district or two
    worse = (found["distance_migrants"] > found["distance_registered"]) & (
        found["staff_migrants"] < found["staff_registered"])
    better = (found["distance_migrants"] < found["distance_registered"]) & (
        found["staff_migrants"] > found["staff_registered"])
    assert set(found.index[better]) == equal
    assert set(found.index[worse]) == set(found.index) - equal  # most districts
    # the truth the generator wrote says the same, with the same numbers
    recorded = pd.DataFrame(story["districts"]).set_index("district").loc[found.index]
    assert (recorded["migrants_worse"] == worse).all()
    assert (recorded["equal"] == found.index.isin(equal)).all()
    np.testing.assert_allclose(recorded["mean_site_distance_m_migrants"],
                               found["distance_migrants"], rtol=1e-3)
    np.testing.assert_allclose(recorded["mean_site_distance_m_registered"],
                               found["distance_registered"], rtol=1e-3)
    np.testing.assert_allclose(recorded["staff_per_1000_within_radius_migrants"],
                               found["staff_migrants"], rtol=1e-2)
    np.testing.assert_allclose(recorded["staff_per_1000_within_radius_registered"],
                               found["staff_registered"], rtol=1e-2)
    assert all(d in (demo / "README.md").read_text(encoding="utf-8") for d in equal)


# ------------------------------------------------------------------------------------------
# integration with the loader
# ------------------------------------------------------------------------------------------


def test_loader_reads_the_demo_without_quarantine(demo: Path) -> None:
    loaders = pytest.importorskip("coverage.io.loaders")
    study = loaders.load_study(demo)
    assert all(n == 0 for n in study.quarantined.values()), study.quarantined
    assert len(study.layers["migrants"]) == SIZES["small"].migrants
    assert set(study.layers["sites"]["kind"]) == set(SITE_KINDS)
