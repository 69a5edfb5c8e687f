"""The planted truth of the demo city and the README that describes it.

Later analyses are tested against what the generator planted: the under-served areas (no site
within a long walk), the under-staffed sites, the fast-growing communities and the island that
no bridge reaches. This module collects them into ``ground_truth.json`` (with polygons in
``ground_truth.gpkg``) and writes a bilingual ``README.md`` into the demo folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from scipy.spatial import cKDTree

from coverage.demo.admin import Admin
from coverage.demo.buildings import Lots
from coverage.demo.candidates import Candidates
from coverage.demo.frame import (
    METRIC_CRS,
    ORIGIN_LAT,
    ORIGIN_LON,
    ROTATION_DEG,
    geometries_to_lonlat,
    to_lonlat,
)
from coverage.demo.layout import Layout
from coverage.demo.people import (
    BASE_GROWTH,
    QUARTER_STARTS,
    RATES,
    MigrantFacts,
    RegisteredPoints,
)
from coverage.demo.roads import HIGHWAYS, Network
from coverage.demo.services import DEMAND_RADIUS_M, Sites
from coverage.io.parts import INDEX_FILE, list_parts, read_index

WALK_SPEED_KMH = 4.5
"""Walking speed of the demo project (m per minute = 75)."""
REACH_M = 500.0
"""Straight-line reach (m) of the staff a person counts in the equalization truth: about a
650 m walk, within the 10-minute life circle."""


@dataclass
class City:
    """Everything the generator made, in local coordinates.

    Attributes
    ----------
    layout, network, lots, admin, migrants, registered, sites, candidates
        The parts of the city.
    registered_pop, fp_staff
        Per community.
    growth, fast
        Quarterly growth of arrivals per community and the planted fast-growing ones.
    """

    layout: Layout
    network: Network
    lots: Lots
    admin: Admin
    migrants: MigrantFacts
    registered: RegisteredPoints
    registered_pop: np.ndarray
    fp_staff: np.ndarray
    sites: Sites
    candidates: Candidates
    growth: np.ndarray
    fast: np.ndarray


def _lonlat(x: float, y: float) -> list[float]:
    lon, lat = to_lonlat(np.array([x]), np.array([y]))
    return [round(float(lon[0]), 6), round(float(lat[0]), 6)]


def _round(value: float, digits: int = 4) -> float:
    return round(float(value), digits)


def ground_truth(city: City, *, size: str, seed: int, edges_written: int,
                 parts: Path | None = None,
                 ) -> tuple[dict[str, Any], dict[str, gpd.GeoDataFrame]]:
    """Collect the planted truth.

    Parameters
    ----------
    city
        The generated city.
    size, seed
        The build options.
    edges_written
        Number of directed edges in ``network.gpkg``.
    parts
        The folder of the migrants' GeoParquet parts, when they are written so: the truth
        then says so (``migrants_parts``: folder, partition key, parts, bytes).

    Returns
    -------
    truth : dict
        JSON-serialisable truth.
    layers : dict
        Polygon layers for ``ground_truth.gpkg`` (WGS-84).
    """
    lay = city.layout
    zone_of = city.lots.zone[city.migrants.residents.lot]
    areas = _underserved_areas(city, zone_of)
    understaffed, median_other = _understaffed_sites(city.sites)
    truth: dict[str, Any] = {
        "synthetic": True,
        "note": "合成数据，仅供演示和测试 / synthetic data for demonstration and tests only",
        "size": size,
        "seed": seed,
        "location": {
            "lon": ORIGIN_LON,
            "lat": ORIGIN_LAT,
            "place": "广东省东莞市 Dongguan, Guangdong (location only; the city is synthetic)",
            "layout_crs": METRIC_CRS,
            "rotation_deg": ROTATION_DEG,
            "sites_crs": "GCJ-02",
            "other_layers_crs": "WGS-84",
        },
        "reference_period": {
            "first_arrival": str(QUARTER_STARTS[0]),
            "last_arrival": str(QUARTER_STARTS[-1] - np.timedelta64(1, "D")),
            "quarters": 12,
        },
        "counts": _counts(city, edges_written),
        "underserved_areas": areas,
        "underserved_summary": _underserved_summary(city, zone_of),
        "understaffed_sites": understaffed,
        "understaffed_reference": {
            "demand": f"migrants living within {DEMAND_RADIUS_M:g} m (straight line)",
            "median_migrants_per_staff_other_sites": _round(median_other, 1),
        },
        "fast_growing_communities": _fast_growing(city),
        "equalization": equalization(city),
        "baseline_growth_per_quarter": {"mean": BASE_GROWTH[0], "sd": BASE_GROWTH[1]},
        "network": _network_truth(city),
        "service_rates": _service_rates(city.migrants),
        "generator_rates": RATES,
    }
    if parts is not None:
        listed = list_parts(parts)
        truth["migrants_parts"] = {
            "folder": parts.name + "/", "key": read_index(parts)["key"], "parts": len(listed),
            "rows": sum(p.rows for p in listed), "bytes": sum(p.size for p in listed),
            "note": "GeoParquet, one part per district; the index is " + INDEX_FILE,
        }
    return truth, _truth_layers(lay, areas)


def _underserved_areas(city: City, zone_of: np.ndarray) -> list[dict[str, Any]]:
    """Describe each planted under-served area (``zone_of``: the zone of each migrant)."""
    lay, admin, mig = city.layout, city.admin, city.migrants
    res = mig.residents
    site_pts = shapely.points(city.sites.x, city.sites.y)
    areas = []
    for area in lay.planted:
        zone = lay.zones[area.zone]
        inside = zone_of == area.zone
        walk = mig.walk_m[inside]
        cands = city.candidates.candidate_id[city.candidates.planted == area.area_id]
        areas.append({
            "area_id": area.area_id,
            "kind": area.kind,
            "name": area.name,
            "name_en": area.name_en,
            "min_site_distance_m": lay.spec.underserved_distance_m,
            "nearest_site_distance_m": _round(
                shapely.distance(zone.polygon, site_pts).min(), 1),
            "migrants": int(inside.sum()),
            "migrant_share": _round(inside.mean()),
            "median_walk_m_generator": _round(np.median(walk), 1),
            "community_ids": sorted({str(c) for c in admin.community_id[
                np.unique(res.community[inside])]}),
            "candidate_ids": [str(c) for c in cands],
            "centroid": _lonlat((zone.x0 + zone.x1) / 2, (zone.y0 + zone.y1) / 2),
        })
    return areas


def _underserved_summary(city: City, zone_of: np.ndarray) -> dict[str, Any]:
    """Share of the migrants living in the planted areas, and of them walking 20 minutes."""
    minutes = city.migrants.walk_m / (WALK_SPEED_KMH * 1000 / 60)
    in_planted = np.isin(zone_of, [a.zone for a in city.layout.planted])
    return {
        "migrants_in_areas": int(in_planted.sum()),
        "share_of_migrants": _round(in_planted.mean()),
        "share_in_areas_with_generator_walk_over_20_min": _round(
            (minutes[in_planted] >= 20).mean()),
        "note": "No site lies within min_site_distance_m (straight line) of an area; "
                "generator walk = 1.3 x straight-line distance to the nearest site.",
    }


def _understaffed_sites(sites: Sites) -> tuple[list[dict[str, Any]], float]:
    """Describe the planted under-staffed sites; return them and the other sites' median load."""
    ratio = sites.demand / np.maximum(sites.staff, 1e-9)
    others = np.setdiff1d(np.arange(len(sites.staff)), sites.understaffed)
    median_other = float(np.median(ratio[others]))
    understaffed = [{
        "site_id": str(sites.site_id[k]),
        "name": str(sites.name[k]),
        "kind": str(sites.kind[k]),
        "staff": float(sites.staff[k]),
        "migrants_within_1km": int(sites.demand[k]),
        "migrants_per_staff": _round(ratio[k], 1),
        "times_median_of_other_sites": _round(ratio[k] / median_other, 2),
    } for k in sites.understaffed]
    return understaffed, median_other


def _fast_growing(city: City) -> list[dict[str, Any]]:
    """Describe the planted fast-growing communities and their first and last arrivals."""
    admin, mig = city.admin, city.migrants
    per_q = np.zeros((len(admin), 12), dtype=np.int64)
    np.add.at(per_q, (mig.residents.community, mig.quarter), 1)
    return [{
        "community_id": str(admin.community_id[c]),
        "name": str(admin.name[c]),
        "growth_per_quarter": _round(city.growth[c], 3),
        "arrivals_first_quarter": int(per_q[c, 0]),
        "arrivals_last_quarter": int(per_q[c, -1]),
    } for c in city.fast]


def _counts(city: City, edges_written: int) -> dict[str, Any]:
    """Count the people, places and network parts of the city."""
    admin, sites, net = city.admin, city.sites, city.network
    return {
        "migrants": len(city.migrants.residents.x),
        "registered_residents": int(city.registered_pop.sum()),
        "registered_points": len(city.registered.x),
        "communities": len(admin),
        "districts": len(np.unique(admin.district)),
        "streets": len(np.unique(admin.street)),
        "sites": len(sites.x),
        "sites_by_kind": {k: int((sites.kind == k).sum()) for k in np.unique(sites.kind)},
        "candidates": len(city.candidates.x),
        "network_nodes": len(net.x),
        "network_edges": edges_written,
        "network_street_segments": len(net.u),
    }


def _network_truth(city: City) -> dict[str, Any]:
    """Describe the walking components: the island no bridge reaches, and the bridges."""
    net = city.network
    return {
        "walk_components": 2,
        "island": {
            "node_osmids": [int(k) + 1 for k in net.island],
            "street_segments": int(np.isin(net.u, net.island).sum()),
            "note": "paths on a river island reached by no bridge: the only component "
                    "apart from the main one",
        },
        "bridges": [{"osmid": int(net.way[k]), "name": net.name[k],
                     "highway": HIGHWAYS[net.highway[k]]} for k in np.flatnonzero(net.bridge)],
        "river": city.layout.river.name,
    }


def _service_rates(mig: MigrantFacts) -> dict[str, float]:
    """City-wide rate of each service record (the mean number of checks for the yearly ones)."""
    rates = {}
    for key, codes in mig.records.items():
        known = codes >= 0
        if key == "rh_checks_year":
            rates["rh_checks_year_mean"] = _round(codes[known].mean())
        else:
            rates[key] = _round(codes[known].mean())
    return rates


def _truth_layers(lay: Layout, areas: list[dict[str, Any]]) -> dict[str, gpd.GeoDataFrame]:
    """Polygon layers of ``ground_truth.gpkg`` (WGS-84): planted areas, island, river, zones."""
    boundary = lay.boundary
    water = shapely.intersection(
        lay.river.polygon(lay.xs[0] - 1000, lay.xs[-1] + 1000), boundary)
    zone_polys = lay.zone_polygons()
    return {
        "underserved_areas": gpd.GeoDataFrame(
            {"area_id": [a["area_id"] for a in areas], "kind": [a["kind"] for a in areas],
             "name": [a["name"] for a in areas],
             "min_site_distance_m": [a["min_site_distance_m"] for a in areas]},
            geometry=geometries_to_lonlat([lay.zones[a.zone].polygon for a in lay.planted]),
            crs="EPSG:4326"),
        "island": gpd.GeoDataFrame({"name": [lay.river.name + "小岛"]},
                                   geometry=geometries_to_lonlat([lay.river.island()]),
                                   crs="EPSG:4326"),
        "river": gpd.GeoDataFrame({"name": [lay.river.name]},
                                  geometry=geometries_to_lonlat([water]), crs="EPSG:4326"),
        "areas": gpd.GeoDataFrame(
            {"kind": [z.kind for z in lay.zones], "name": [z.name for z in lay.zones],
             "planted": [z.planted for z in lay.zones]},
            geometry=geometries_to_lonlat(zone_polys), crs="EPSG:4326"),
        "city_boundary": gpd.GeoDataFrame({"name": ["演示城市 Demo city"]},
                                          geometry=geometries_to_lonlat([boundary]),
                                          crs="EPSG:4326"),
    }


def equalization(city: City) -> dict[str, Any]:
    """Measure the planted story of unequal service per district, as the generator sees it.

    Outside the equal districts (:func:`coverage.demo.services.equal_districts`), migrants live
    farther from the nearest site than registered residents and reach fewer staff; in the equal
    districts it is the other way round. Both are measured on straight lines: the mean distance
    to the nearest site (registered residents weighted by population) and the staff reachable
    per 1,000 people, a two-step floating catchment with a radius of :data:`REACH_M` (each
    site's staff divided by the people, migrants and registered residents, living within the
    radius; each person sums the ratios of the sites within the radius).

    Returns
    -------
    dict
        ``equal_districts`` (names), ``radius_m``, and per district ``migrants_worse`` with
        the four measures.
    """
    admin, sites, res, reg = city.admin, city.sites, city.migrants.residents, city.registered
    site_xy = np.column_stack([sites.x, sites.y])
    people_xy = np.concatenate([np.column_stack([res.x, res.y]), np.column_stack([reg.x, reg.y])])
    weight = np.r_[np.ones(len(res.x)), reg.population.astype(float)]
    near = cKDTree(people_xy).query_ball_point(site_xy, r=REACH_M)
    ratio = np.zeros(len(sites.x))
    for k, rows in enumerate(near):
        total = weight[rows].sum()
        ratio[k] = sites.staff[k] / total * 1000 if total > 0 else 0.0
    access = np.zeros(len(weight))
    for k, rows in enumerate(near):
        access[rows] += ratio[k]
    distance = cKDTree(site_xy).query(people_xy)[0]
    district = admin.district_index[np.r_[res.community, reg.community]]
    is_migrant = np.r_[np.ones(len(res.x), bool), np.zeros(len(reg.x), bool)]
    equal = set(sites.equal_districts.tolist())
    rows_out = []
    for d in np.unique(admin.district_index):
        m = (district == d) & is_migrant
        r = (district == d) & ~is_migrant
        dist_m, dist_r = distance[m].mean(), np.average(distance[r], weights=weight[r])
        staff_m, staff_r = access[m].mean(), np.average(access[r], weights=weight[r])
        rows_out.append({
            "district": str(admin.district[admin.district_index == d][0]),
            "equal": int(d) in equal,
            "migrants_worse": bool(dist_m > dist_r and staff_m < staff_r),
            "mean_site_distance_m_migrants": _round(dist_m, 1),
            "mean_site_distance_m_registered": _round(dist_r, 1),
            "staff_per_1000_within_radius_migrants": _round(staff_m),
            "staff_per_1000_within_radius_registered": _round(staff_r),
        })
    return {
        "equal_districts": [r["district"] for r in rows_out if r["equal"]],
        "radius_m": REACH_M,
        "districts": rows_out,
        "note": "Outside the equal districts, community sites stand among registered residents "
                "and migrants live farther from them and reach fewer staff; in the equal "
                "districts sites stand where migrants live. Straight-line measures; registered "
                "residents weighted by population.",
    }


def _readme_layers(c: dict[str, Any], parts: dict[str, Any] | None = None) -> str:
    """List the files of the demo folder in Chinese and English (``c``: the truth's counts).

    ``parts``: the truth's ``migrants_parts``, when the migrants are partitioned GeoParquet.
    """
    migrants = (
        ("migrants.csv", f"流动人口 {c['migrants']:,} 人；UTF-8（带 BOM），中文表头，WGS-84",
         "migrants, one row each; UTF-8 with BOM, Chinese headers, WGS-84")
        if parts is None else
        (f"{parts['folder']}", f"流动人口 {c['migrants']:,} 人，按区分为 {parts['parts']} 个 "
         f"GeoParquet 分块（分块键 `{parts['key']}`，索引 {INDEX_FILE}），中文表头，WGS-84",
         f"migrants as partitioned GeoParquet, one part per district (key `{parts['key']}`, "
         f"index {INDEX_FILE}); Chinese headers, WGS-84"))
    rows = [
        migrants,
        ("sites.csv", f"服务网点 {c['sites']} 个；GB18030 编码，GCJ-02（高德）坐标",
         "service sites; GB18030, GCJ-02 (Amap) coordinates"),
        ("communities.gpkg",
         f"社区 {c['communities']} 个（{c['districts']} 个区、{c['streets']} 个街道）",
         "communities with registered population (户籍人口) and family-planning staff"),
        ("registered_points.gpkg", "户籍人口分布点，按社区求和等于户籍人口",
         "registered-resident points; their sum per community is registered_pop"),
        ("candidates.geojson", f"候选网点 {c['candidates']} 个（闲置社区用房）",
         "candidate sites (vacant community rooms)"),
        ("network.gpkg",
         f"路网（OSMnx 格式），{c['network_nodes']:,} 个节点、{c['network_edges']:,} 条有向边",
         "road network in the OSMnx GeoPackage layout (nodes, directed edges)"),
        ("ground_truth.json, ground_truth.gpkg", "预设的“真实答案”", "the planted truth"),
        ("project.toml", "项目文件", "project file"),
    ]
    return "\n".join(f"- `{f}`: {zh}\n  / {en}" for f, zh, en in rows)


def readme(truth: dict[str, Any]) -> str:
    """Write the demo folder's README (Chinese and English).

    Parameters
    ----------
    truth
        The planted truth (:func:`ground_truth`).

    Returns
    -------
    str
        Markdown text.
    """
    c = truth["counts"]
    areas = "\n".join(
        f"| {a['area_id']} | {a['name']} | {a['name_en']} | {a['migrants']:,} | "
        f"{a['min_site_distance_m']:g} m |" for a in truth["underserved_areas"])
    staff = ", ".join(s["site_id"] for s in truth["understaffed_sites"])
    fast = ", ".join(f"{f['community_id']} ({f['growth_per_quarter']:.0%})"
                     for f in truth["fast_growing_communities"])
    island = truth["network"]["island"]
    eq = truth["equalization"]
    worse = "、".join(d["district"] for d in eq["districts"] if d["migrants_worse"])
    equal = "、".join(eq["equal_districts"]) or "—"
    layers = _readme_layers(c, truth.get("migrants_parts"))
    return f"""# 演示城市（合成数据）/ Demo city (synthetic data)

**本文件夹中的全部数据均为程序生成的合成数据，不对应任何真实的人、机构或边界。**
城市位于广东省东莞市附近（经度 {truth['location']['lon']}，纬度 {truth['location']['lat']}），
但区、街道、社区、道路、网点和人员都是虚构的。人员编号（如 M0000001）不是身份证号。

**All data in this folder are synthetic, generated by `coverage demo`; they describe no real
person, facility or boundary.** The city sits near Dongguan, Guangdong, but its districts,
street offices, communities, roads, sites and people are invented. Person ids such as
`M0000001` are not national ID numbers.

规模 / size: `{truth['size']}`, 随机种子 / seed: `{truth['seed']}`.

## 图层 / Layers

{layers}

## 预设的真实答案 / Planted truth

服务不足地区（直线距离内没有任何网点）/ under-served areas (no site within the distance):

| id | 名称 | name | 流动人口 migrants | 无网点距离 no site within |
|---|---|---|---|---|
{areas}

- 人员不足的网点 / under-staffed sites: {staff}
- 流入快速增长的社区（每季度增长率）/ fast-growing communities (growth per quarter): {fast}
- 路网：河中小岛上的小路不与主路网相连（节点 {len(island['node_osmids'])} 个）/ network: the
  paths on the river island form a separate component ({len(island['node_osmids'])} nodes);
  everything else is connected for walking. The river ({truth['network']['river']}) is crossed
  only by {len(truth['network']['bridges'])} bridge edges (`bridge=yes`).
- 均等化：{worse}的社区网点设在户籍人口聚居处，流动人口离网点更远、可及人员更少；例外区
  {equal}的网点设在流动人口聚居处 / equalization: in {worse} community sites
  stand among registered residents, so migrants live farther from them and reach fewer staff;
  the planted exception, {equal}, puts its sites where migrants live.
- 服务记录随到最近网点的距离变差；全市比率接近、部分低于规划目标 / service records worsen
  with the distance to the nearest site; city-wide rates are near and partly below the targets.
"""
