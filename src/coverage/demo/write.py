"""Write the demo project: data files in the formats real projects arrive in, and project.toml.

* ``migrants.csv``: UTF-8 with a byte-order mark (as Excel saves "CSV UTF-8"), CRLF line ends,
  Chinese headers, 是/否 for yes/no, WGS-84 coordinates with 6 decimals.
* ``sites.csv``: GB18030 (as Chinese Excel saves plain CSV), Chinese headers, GCJ-02 coordinates
  (as geocoded with Amap).
* ``communities.gpkg``, ``registered_points.gpkg``, ``candidates.geojson``: WGS-84.
* ``budgets.csv``: GB18030, Chinese headers (:mod:`coverage.demo.budgets`).
* ``network.gpkg``: the OSMnx GeoPackage layout of a MultiDiGraph (layers ``nodes`` and
  ``edges``), readable with ``osmnx.graph_from_gdfs``.

GeoPackages are written with a fixed ``OGR_CURRENT_DATE`` so that they hold no time of writing.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from coverage.crs import wgs84_to_gcj02
from coverage.demo.admin import Admin
from coverage.demo.candidates import Candidates
from coverage.demo.frame import geometries_to_lonlat, to_lonlat
from coverage.demo.people import MARITAL_ZH, Migrants, RegisteredPoints
from coverage.demo.roads import FOOT_ONLY, HIGHWAYS, Network
from coverage.demo.services import KIND_ZH, Sites
from coverage.io.schema import MIGRANTS, SITES

FIXED_DATE = "2026-09-30T00:00:00Z"
"""Date stamped into GeoPackage metadata instead of the time of writing."""
MIGRANTS_HEADERS = {c.name: c.aliases[0] for c in MIGRANTS.columns}
"""Header written for each migrant column: its first (Chinese) alias."""
SITES_HEADERS = {c.name: c.aliases[0] for c in SITES.columns}
"""Header written for each site column: its first (Chinese) alias."""
YES_NO = np.array(["否", "是", ""], dtype=object)
"""Text of the codes 0, 1 and -1 (empty)."""

PROJECT_TOML = """\
# coverage 项目文件 / project file — 演示城市（合成数据）/ demo city (synthetic data)
[project]
name = "演示城市 Demo city (synthetic)"
study_crs = "auto"          # 自动选择 UTM 投影 / automatic UTM zone; or "EPSG:32650"
language = "zh"

[layers.migrants]
path = "migrants.csv"
crs = "wgs84"
encoding = "auto"

[layers.sites]
path = "sites.csv"
crs = "gcj02"               # 高德坐标 / Amap coordinates
encoding = "auto"

[layers.communities]
path = "communities.gpkg"
crs = "wgs84"

[layers.registered_points]
path = "registered_points.gpkg"
crs = "wgs84"

[layers.candidates]
path = "candidates.geojson"
crs = "wgs84"

[layers.budgets]
path = "budgets.csv"        # 各区计划生育经费 / the districts' family-planning budgets
encoding = "auto"

[layers.network]
path = "network.gpkg"
crs = "wgs84"

[parameters]
speeds_kmh = { walk = 4.5, ebike = 15.0 }
thresholds_min = [5, 10, 15]
max_snap_m = 500
study_area_tolerance_m = 500

[parameters.staffing]
standard = "district_registered_ratio"
rate_min_population = 100     # 少于此人数不发布每千人人员比 / no staff ratio on fewer people
max_new_staff_per_site = 4    # 每个网点最多新增人员 / most new staff one site is given

[parameters.funding]
standard = "district_registered_per_capita"   # 与本区户籍人口同等标准 / the district's own
site_cost_yuan = 200000                       # 新增网点单价（示意值）/ placeholder
staff_cost_yuan_per_year = 60000              # 新增人员年人均成本（示意值）/ placeholder

[parameters.targets]
policy_awareness = 0.90
free_service_local = 0.95
pregnancy_check = 0.90
contraceptive_access = 0.90
prepregnancy_consult = 0.80
community_management = 1.00
rh_checks_per_year = 2

[privacy]
min_cell = 10

[outputs]
dir = "results"
"""
"""The demo's ``project.toml``, byte for byte."""


@contextlib.contextmanager
def fixed_gpkg_date() -> Iterator[None]:
    """Stamp GeoPackages written inside the block with :data:`FIXED_DATE`."""
    before = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_DATE})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": before})


def _write(frame: gpd.GeoDataFrame, path: Path, layer: str | None = None, **kwargs: Any) -> None:
    pyogrio.write_dataframe(frame, path, layer=layer, **kwargs)


def _coord(values: np.ndarray) -> np.ndarray:
    """Coordinates as text with 6 decimals; NaN becomes an empty cell."""
    out = np.char.mod("%.6f", values).astype(object)
    out[np.isnan(values)] = ""
    return out


YES_NO_RECORDS = ("has_marriage_cert", "policy_aware", "free_service_local", "pregnancy_check",
                  "contraceptive_access", "prepregnancy_consult")
"""The yes/no service records, in the order of the columns."""


def migrant_table(migrants: Migrants, admin: Admin, number: np.ndarray | None = None,
                  width: int = 7) -> dict[str, np.ndarray]:
    """Return the migrants' columns by canonical name, as values (written as text or typed).

    Coordinates are WGS-84 degrees rounded to 6 decimals (``NaN`` for no workplace); yes/no
    records and ``rh_checks_year`` are codes (``-1`` for an empty cell); dates are
    ``datetime64[D]`` (``NaT`` for no service record); ``hukou_code`` is ``""`` when unknown.

    Parameters
    ----------
    migrants
        The records.
    admin
        Communities (for the community ids).
    number
        Person number (1-based) of each record, default ``1 … n``: the id is ``M`` and the
        number with ``width`` digits.
    width
        Digits of the person number in the id.
    """
    res = migrants.residents
    n = len(res.x)
    number = np.arange(1, n + 1) if number is None else number
    lon, lat = to_lonlat(res.x, res.y)
    wlon, wlat = to_lonlat(migrants.work_x, migrants.work_y)
    columns = {
        "person_id": np.char.add("M", np.char.zfill(number.astype(str), width)),
        "lon": np.round(lon, 6),
        "lat": np.round(lat, 6),
        "community_id": admin.community_id[res.community],
        "sex": np.where(migrants.male, "男", "女"),
        "birth_year": migrants.birth_year,
        "marital_status": np.array(MARITAL_ZH, dtype=object)[migrants.marital],
        "hukou_code": migrants.hukou,
        "arrived_on": migrants.arrived_on.astype("datetime64[D]"),
        "work_lon": np.round(wlon, 6),
        "work_lat": np.round(wlat, 6),
    }
    for name in YES_NO_RECORDS:
        columns[name] = migrants.records[name]
    # Date of the service record: a day of the last four quarters (spread by person number,
    # no randomness needed), never before arrival; empty for people without a record.
    start = np.datetime64("2025-10-01")
    day = start + ((number - 1) * 7919 % 365).astype("timedelta64[D]")
    recorded = np.maximum(day, columns["arrived_on"])
    recorded[migrants.records["policy_aware"] < 0] = np.datetime64("NaT")
    columns["recorded_on"] = recorded
    columns["rh_checks_year"] = migrants.records["rh_checks_year"]
    return columns


def write_migrants(path: Path, migrants: Migrants, admin: Admin) -> None:
    """Write ``migrants.csv`` (UTF-8 with BOM, Chinese headers).

    Parameters
    ----------
    path
        Output file.
    migrants
        The records.
    admin
        Communities (for the community ids).
    """
    columns = migrant_table(migrants, admin)
    columns["arrived_on"] = np.datetime_as_string(columns["arrived_on"], unit="D")
    for name in YES_NO_RECORDS:
        columns[name] = YES_NO[columns[name]]
    recorded = columns["recorded_on"]
    columns["recorded_on"] = np.where(~np.isnat(recorded),
                                      np.datetime_as_string(recorded, unit="D"),
                                      "").astype(object)
    rh = columns["rh_checks_year"]
    columns["rh_checks_year"] = np.where(rh < 0, "", rh.astype(str)).astype(object)
    frame = pd.DataFrame({MIGRANTS_HEADERS[k]: v for k, v in columns.items()})
    frame.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n",
                 float_format="%.6f")


def write_sites(path: Path, sites: Sites) -> None:
    """Write ``sites.csv`` (GB18030, Chinese headers, GCJ-02 coordinates).

    Parameters
    ----------
    path
        Output file.
    sites
        The sites.
    """
    lon, lat = to_lonlat(sites.x, sites.y)
    glon, glat = wgs84_to_gcj02(lon, lat)
    columns = {
        "site_id": sites.site_id,
        "name": sites.name,
        "kind": [KIND_ZH[k] for k in sites.kind],
        "lon": _coord(glon),
        "lat": _coord(glat),
        "staff": [f"{s:g}" for s in sites.staff],
        "services": sites.services_zh(),
        "opening_hours": sites.hours(),
    }
    frame = pd.DataFrame({SITES_HEADERS[k]: v for k, v in columns.items()})
    frame.to_csv(path, index=False, encoding="gb18030", lineterminator="\r\n")


def write_communities(path: Path, admin: Admin, registered_pop: np.ndarray,
                      fp_staff: np.ndarray) -> None:
    """Write ``communities.gpkg`` (layer ``communities``, WGS-84).

    Parameters
    ----------
    path
        Output file.
    admin
        Communities.
    registered_pop
        Registered population of each community.
    fp_staff
        Family-planning staff of each community.
    """
    frame = gpd.GeoDataFrame(
        {
            "community_id": admin.community_id.astype(object),
            "name": admin.name.astype(object),
            "district": admin.district.astype(object),
            "street": admin.street.astype(object),
            "registered_pop": registered_pop.astype(np.int64),
            "fp_staff": fp_staff.astype(float),
        },
        geometry=geometries_to_lonlat(admin.polygons),
        crs="EPSG:4326",
    )
    with fixed_gpkg_date():
        _write(frame, path, layer="communities")


def write_registered(path: Path, points: RegisteredPoints, admin: Admin) -> None:
    """Write ``registered_points.gpkg`` (layer ``registered_points``, WGS-84).

    Parameters
    ----------
    path
        Output file.
    points
        Registered residents.
    admin
        Communities.
    """
    n = len(points.x)
    lon, lat = to_lonlat(points.x, points.y)
    frame = gpd.GeoDataFrame(
        {
            "point_id": np.char.add("R", np.char.zfill(np.arange(1, n + 1).astype(str), 7)),
            "population": points.population,
            "community_id": admin.community_id[points.community],
        },
        geometry=shapely.points(lon, lat),
        crs="EPSG:4326",
    )
    with fixed_gpkg_date():
        _write(frame, path, layer="registered_points")


def write_candidates(path: Path, candidates: Candidates) -> None:
    """Write ``candidates.geojson`` (WGS-84).

    Parameters
    ----------
    path
        Output file.
    candidates
        The candidate sites.
    """
    lon, lat = to_lonlat(candidates.x, candidates.y)
    frame = gpd.GeoDataFrame(
        {
            "candidate_id": candidates.candidate_id.astype(object),
            "name": candidates.name.astype(object),
            "max_staff": candidates.max_staff,
        },
        geometry=shapely.points(np.round(lon, 7), np.round(lat, 7)),
        crs="EPSG:4326",
    )
    _write(frame, path, driver="GeoJSON", layer="candidates")


def network_frames(net: Network) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Return the network as OSMnx node and edge tables (one row per direction of travel).

    Parameters
    ----------
    net
        The undirected network.

    Returns
    -------
    nodes, edges : geopandas.GeoDataFrame
        Node columns ``osmid x y street_count``; edge columns ``u v key osmid highway oneway
        reversed length name bridge foot bicycle access``; WGS-84.
    """
    lon, lat = to_lonlat(net.x, net.y)
    lon, lat = np.round(lon, 7), np.round(lat, 7)
    osmid = np.arange(1, len(lon) + 1, dtype=np.int64)
    street_count = np.bincount(np.concatenate([net.u, net.v]), minlength=len(lon))
    nodes = gpd.GeoDataFrame(
        {"osmid": osmid, "y": lat, "x": lon, "street_count": street_count.astype(np.int64)},
        geometry=shapely.points(lon, lat),
        crs="EPSG:4326",
    )
    two_way = np.flatnonzero(~net.oneway)
    src = np.concatenate([np.arange(len(net.u)), two_way])
    u = np.concatenate([net.u, net.v[two_way]])
    v = np.concatenate([net.v, net.u[two_way]])
    rev = np.concatenate([np.zeros(len(net.u), dtype=bool), np.ones(len(two_way), dtype=bool)])
    order = np.lexsort((v, u))
    src, u, v, rev = src[order], u[order], v[order], rev[order]
    length = np.round(pyproj.Geod(ellps="WGS84").inv(lon[u], lat[u], lon[v], lat[v])[2], 3)
    # two nodes a centimetre apart may share their rounded coordinates (one edge in a million
    # in the xlarge city): such an edge has no length, and no road network may hold one
    keep = length > 0
    src, u, v, rev, length = src[keep], u[keep], v[keep], rev[keep], length[keep]
    highway = np.array(HIGHWAYS, dtype=object)[net.highway[src]]
    foot_only = np.isin(highway, FOOT_ONLY)
    edges = gpd.GeoDataFrame(
        {
            "u": osmid[u],
            "v": osmid[v],
            "key": np.zeros(len(u), dtype=np.int64),
            "osmid": net.way[src],
            "highway": highway,
            "oneway": net.oneway[src],
            "reversed": rev,
            "length": length,
            "name": net.name[src],
            "bridge": np.where(net.bridge[src], "yes", None),
            "foot": np.where(foot_only, "yes", None),
            "bicycle": np.where(foot_only, "no", None),
            "access": net.access[src],
        },
        geometry=shapely.linestrings(np.stack([np.column_stack([lon[u], lat[u]]),
                                               np.column_stack([lon[v], lat[v]])], axis=1)),
        crs="EPSG:4326",
    )
    return nodes, edges


def write_network(path: Path, net: Network) -> tuple[int, int]:
    """Write ``network.gpkg`` in the OSMnx GeoPackage layout.

    Parameters
    ----------
    path
        Output file.
    net
        The network.

    Returns
    -------
    tuple of int
        Nodes and (directed) edges written.
    """
    nodes, edges = network_frames(net)
    with fixed_gpkg_date():
        _write(nodes, path, layer="nodes")
        _write(edges, path, layer="edges", append=False)
    return len(nodes), len(edges)


def write_truth(json_path: Path, gpkg_path: Path, truth: dict[str, Any],
                layers: dict[str, gpd.GeoDataFrame]) -> None:
    """Write ``ground_truth.json`` and ``ground_truth.gpkg``.

    Parameters
    ----------
    json_path, gpkg_path
        Output files.
    truth
        The planted truth (JSON-serialisable).
    layers
        Polygon layers by name (WGS-84).
    """
    json_path.write_text(json.dumps(truth, ensure_ascii=False, indent=2) + "\n",
                         encoding="utf-8")
    with fixed_gpkg_date():
        for name, frame in layers.items():
            _write(frame, gpkg_path, layer=name)


PARTS_LAYER = """\
[layers.migrants]
path = "migrants/"          # 按区分块的 GeoParquet / partitioned GeoParquet, one part per district
crs = "wgs84"
"""
"""The migrants' layer of a demo whose migrants are partitioned GeoParquet."""


def write_project(path: Path, *, partitioned: bool = False) -> None:
    """Write ``project.toml`` (:data:`PROJECT_TOML`; with ``partitioned`` migrants, the folder).

    Parameters
    ----------
    path
        Output file.
    partitioned
        The migrants are the folder ``migrants/`` of GeoParquet parts (:data:`PARTS_LAYER`).
    """
    text = PROJECT_TOML
    if partitioned:
        start = text.index("[layers.migrants]")
        text = text[:start] + PARTS_LAYER + text[text.index("\n[layers.sites]", start):]
    path.write_text(text, encoding="utf-8")
