"""Recommended places are named so that a person can find them."""

from __future__ import annotations

import textwrap
from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import networkx as nx
import numpy as np
import pyproj
import pytest
import shapely

from coverage.crs import gcj02_to_wgs84
from coverage.network.readers import read_road_names
from coverage.placement.places import PLACE_COLUMNS, amap_link, place_names

METRIC = "EPSG:32650"
X0, Y0 = 780_000.0, 2_547_000.0  # near Dongguan, UTM 50N


def test_amap_link_opens_the_gcj02_point_with_its_name():
    link = amap_link(113.7521234, 23.0212346, "东城 卫生站&1")
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "uri.amap.com", "/marker")
    query = parse_qs(parts.query)
    assert query["position"] == ["113.752123,23.021235"]
    assert query["name"] == ["东城 卫生站&1"]
    assert query["coordinate"] == ["gaode"]
    assert " " not in link and "东" not in link  # percent-encoded


def _communities():
    return gpd.GeoDataFrame(
        {"community_id": ["C1", "C2"], "name": ["东一社区", "东二社区"]},
        geometry=[shapely.box(X0, Y0, X0 + 1000, Y0 + 1000),
                  shapely.box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)], crs=METRIC)


def test_place_names_on_a_hand_made_city():
    roads = gpd.GeoDataFrame(
        {"name": ["东城路", "南湖街"]},
        geometry=[shapely.LineString([(X0 + 300, Y0), (X0 + 300, Y0 + 1000)]),
                  shapely.LineString([(X0, Y0 + 950), (X0 + 2000, Y0 + 950)])],
        crs=METRIC).to_crs(4326)  # names come in WGS-84, as read from a network file
    points = gpd.GeoSeries([shapely.Point(X0 + 350, Y0 + 500),    # 50 m from 东城路
                            shapely.Point(X0 + 1500, Y0 + 300),   # 650 m from any road
                            shapely.Point(X0 + 2100, Y0 + 900)],  # outside, 100 m from C2
                           crs=METRIC, index=[7, 8, 9])
    out = place_names(points, communities=_communities(), roads=roads,
                      labels=["一号站", "", None])
    assert list(out.columns) == list(PLACE_COLUMNS)
    assert list(out.index) == [7, 8, 9]
    assert out["community_name"].tolist() == ["东一社区", "东二社区", "东二社区"]
    assert out["road_name"].tolist() == ["东城路", "", "南湖街"]
    lon, lat = pyproj.Transformer.from_crs(METRIC, 4326, always_xy=True).transform(
        points.x.to_numpy(), points.y.to_numpy())
    np.testing.assert_allclose(out["lon_wgs84"], lon, atol=1e-9)
    np.testing.assert_allclose(out["lat_wgs84"], lat, atol=1e-9)
    # GCJ-02 is the published offset of 260–670 m from WGS-84, and converts back exactly
    back_lon, back_lat = gcj02_to_wgs84(out["lon_gcj02"].to_numpy(), out["lat_gcj02"].to_numpy())
    np.testing.assert_allclose(back_lon, lon, atol=1e-7)
    np.testing.assert_allclose(back_lat, lat, atol=1e-7)
    shift = pyproj.Geod(ellps="WGS84").inv(lon, lat, out["lon_gcj02"], out["lat_gcj02"])[2]
    assert ((shift > 260) & (shift < 670)).all()
    names = [parse_qs(urlsplit(u).query)["name"][0] for u in out["map_link"]]
    assert names == ["一号站", "东二社区", "东二社区 南湖街"]
    positions = [parse_qs(urlsplit(u).query)["position"][0] for u in out["map_link"]]
    assert positions[0] == f"{out['lon_gcj02'].iloc[0]:.6f},{out['lat_gcj02'].iloc[0]:.6f}"
    no_roads = place_names(points, communities=_communities())
    assert (no_roads["road_name"] == "").all()


def test_at_a_crossing_the_main_road_names_the_place():
    roads = gpd.GeoDataFrame(
        {"name": ["一巷", "长安大道", "长安大道"]},
        geometry=[shapely.LineString([(X0 + 500, Y0 + 400), (X0 + 500, Y0 + 600)]),
                  shapely.LineString([(X0, Y0 + 500), (X0 + 500, Y0 + 500)]),
                  shapely.LineString([(X0 + 500, Y0 + 500), (X0 + 1000, Y0 + 500)])],
        crs=METRIC)
    at = gpd.GeoSeries([shapely.Point(X0 + 500, Y0 + 500), shapely.Point(X0 + 500.2, Y0 + 450)],
                       crs=METRIC)
    out = place_names(at, communities=_communities(), roads=roads)
    # at the crossing the main road (most length nearby) names the place; 0.2 m from the lane
    # but 50 m from the main road, the lane does
    assert out["road_name"].tolist() == ["长安大道", "一巷"]


def _named_graph():
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    coords = {1: (113.750, 23.020), 2: (113.752, 23.020), 3: (113.754, 23.020),
              4: (113.754, 23.022)}
    for node, (x, y) in coords.items():
        graph.add_node(node, x=x, y=y)
    edges = [(1, 2, "东城路"), (2, 3, ["南湖街", "南湖二街"]), (3, 4, None)]
    for way, (u, v, name) in enumerate(edges, start=1):
        for a, b in ((u, v), (v, u)):
            data = {"osmid": way, "highway": "residential", "length": 200.0, "oneway": False,
                    "reversed": a != u}
            if name is not None:
                data["name"] = name
            graph.add_edge(a, b, **data)
    return graph


def test_road_names_from_an_osmnx_geopackage_and_graphml(tmp_path):
    ox = pytest.importorskip("osmnx")
    graph = _named_graph()
    ox.save_graph_geopackage(graph, tmp_path / "net.gpkg")
    ox.save_graphml(graph, tmp_path / "net.graphml")
    for path in (tmp_path / "net.gpkg", tmp_path / "net.graphml"):
        roads = read_road_names(path)
        assert roads.crs.to_epsg() == 4326
        assert set(roads["name"]) == {"东城路", "南湖街"}, path  # a merged way: its first name
        near = read_road_names(path, bbox=(113.7495, 23.0195, 113.7515, 23.0205))
        assert set(near["name"]) == {"东城路"}, path


def test_road_names_from_an_osm_file(tmp_path):
    pytest.importorskip("osmium")
    xml = textwrap.dedent("""\
        <?xml version="1.0" encoding="UTF-8"?>
        <osm version="0.6" generator="hand">
          <node id="1" lat="23.020" lon="113.750" version="1"/>
          <node id="2" lat="23.020" lon="113.752" version="1"/>
          <node id="3" lat="23.022" lon="113.752" version="1"/>
          <way id="10" version="1"><nd ref="1"/><nd ref="2"/>
            <tag k="highway" v="residential"/><tag k="name" v="东城路"/></way>
          <way id="11" version="1"><nd ref="2"/><nd ref="3"/>
            <tag k="highway" v="footway"/></way>
          <way id="12" version="1"><nd ref="1"/><nd ref="3"/>
            <tag k="waterway" v="canal"/><tag k="name" v="运河"/></way>
        </osm>
    """)
    path = tmp_path / "net.osm"
    path.write_text(xml, encoding="utf-8")
    roads = read_road_names(path)
    assert roads["name"].tolist() == ["东城路"]  # unnamed roads and non-roads left out
    assert roads.geometry.iloc[0].equals(shapely.LineString([(113.750, 23.020),
                                                              (113.752, 23.020)]))
