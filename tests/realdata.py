"""Builders of a real-data project on the OpenStreetMap extract of central Guixi, Jiangxi.

:func:`build_guixi_project` writes a project whose files look like what a city's staff would
hand over: the OSM extract as the road network, service points exported from an Amap-based
system (GCJ-02 coordinates, GB18030 encoding, headers of their own that need a column mapping),
migrant residences with only the required columns (WGS-84, UTF-8), and communities either as a
plain register table without boundaries or as polygons.

:func:`independent_walking_distances` recomputes every residence's walking distance to its
nearest service point from the OSM XML with the standard library's XML parser, shapely and
NetworkX, without any of the project's reading, snapping or routing code, for the tests to
compare against.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely

from conftest import SHARED
from coverage.crs import wgs84_to_gcj02

__all__ = [
    "GUIXI_OSM",
    "SITE_COLUMNS",
    "SITE_KINDS",
    "OsmRoads",
    "build_guixi_project",
    "independent_walking_distances",
    "read_walkable_roads",
    "truth_sites",
    "walkable",
]

#: The reference OSM extract (central Guixi, about 6 × 4.5 km, WGS-84).
GUIXI_OSM = SHARED / "osm" / "guixi_jiangxi.osm"

#: Earth radius of OSMnx's great-circle lengths, metres.
EARTH_RADIUS_M = 6_371_009.0

#: Headers of the service-point export (none is a recognised alias) → the field they hold.
SITE_COLUMNS: dict[str, str] = {
    "site_id": "机构代码",
    "name": "机构全称",
    "kind": "机构类别",
    "lon": "经度GCJ",
    "lat": "纬度GCJ",
    "staff": "在编人数",
}

#: Kinds of service point as written in the export (Chinese category names of docs/data.md).
SITE_KINDS: tuple[str, ...] = (
    "社区卫生服务中心",
    "社区卫生服务站",
    "社区计生服务室",
    "计划生育技术服务站",
    "流动人口服务中心",
    "企业计生协会",
)

#: Districts (one per row of the community grid, south to north).
DISTRICTS: tuple[str, ...] = ("东门街道", "雄石街道", "花园街道")
#: Community names, one per grid cell.
COMMUNITY_NAMES: tuple[str, ...] = (
    "建设社区", "滨江社区", "站前社区", "新华社区", "正义社区", "信江社区",
    "冶金社区", "桥东社区", "解放社区", "流口社区", "江滨社区", "东郊社区",
    "塘湾社区", "南门社区", "北门社区", "工业园社区",
)

# The walk filter of OSMnx (network_type="walk"), plus access=no, as docs of the network layer
# describe it. Overpass semantics: a rule "key !~ a|b" excludes a way whose tag value contains
# any alternative (unanchored regular expression); an absent tag never excludes.
_WALK_EXCLUDED_HIGHWAY = re.compile(
    "abandoned|bus_guideway|construction|cycleway|motor|no|planned|platform|proposed|raceway|"
    "razed|rest_area|services"
)
_FOOT_ALLOWED = {"yes", "designated", "permissive"}


def walkable(tags: dict[str, str]) -> bool:
    """Return whether walking may use an OSM way with these tags.

    Parameters
    ----------
    tags
        The way's tags.

    Returns
    -------
    bool
        True for a ``highway`` way that is not an area, not private, not ``access=no`` (unless
        ``foot`` allows it), not ``foot=no``, not a cycleway, motorway or unbuilt road, and not
        a road whose sidewalks are mapped as separate ways.
    """
    highway = tags.get("highway", "")
    if not highway or _WALK_EXCLUDED_HIGHWAY.search(highway):
        return False
    foot = tags.get("foot", "").strip()
    access = tags.get("access", "")
    if "yes" in tags.get("area", "") or "private" in access:
        return False
    if access.strip() == "no" and foot not in _FOOT_ALLOWED:
        return False
    if "private" in tags.get("service", "") or "no" in foot:
        return False
    sidewalks = ("sidewalk", "sidewalk:both", "sidewalk:left", "sidewalk:right")
    return not any("separate" in tags.get(key, "") for key in sidewalks)


@dataclass(frozen=True)
class OsmRoads:
    """The walkable road segments of an OSM file: one per pair of consecutive way nodes.

    Attributes
    ----------
    crs
        The metric CRS of ``geometry``.
    segments
        One row per segment: ``way`` (OSM way id), ``u``, ``v`` (OSM node ids, in way order),
        ``length_m`` (great-circle length, OSMnx's formula), ``planar_m`` (length in ``crs``),
        ``link`` (the road piece between two intersections or way ends that the segment
        belongs to), ``link_start_m`` and ``link_start_planar_m`` (great-circle and planar
        distance from the link's first node to the segment's ``u``), ``component`` (0 for the
        largest connected component of the walking graph, 1 for any other) and ``geometry``
        (the straight segment in ``crs``).
    links
        One row per link: ``u``, ``v`` (end nodes), ``length_m`` and ``planar_m``.
    bounds
        The extract's ``<bounds>`` as (min lon, min lat, max lon, max lat).
    """

    crs: pyproj.CRS
    segments: gpd.GeoDataFrame
    links: pd.DataFrame
    bounds: tuple[float, float, float, float]


def _great_circle_m(
    lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray
) -> np.ndarray:
    """Haversine distance in metres on a sphere of OSMnx's radius."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat, dlon = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(h, 1.0)))


def _utm(lon: float, lat: float) -> pyproj.CRS:
    """The WGS-84 UTM zone of a point."""
    zone = int(np.floor((lon + 180.0) / 6.0)) + 1
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def read_walkable_roads(path: str | Path = GUIXI_OSM, crs: object = None) -> OsmRoads:
    """Read the walkable ways of an OSM XML file as straight segments grouped into links.

    Ways are cut into links at their ends and at every node that walkable ways use twice or
    more (an intersection, or a way crossing itself).

    Parameters
    ----------
    path
        An OSM XML file.
    crs
        Metric CRS of the segments; default the UTM zone of the extract's centre.

    Returns
    -------
    OsmRoads
        The segments, their links, lengths and connected components.
    """
    root = ET.parse(path).getroot()
    lonlat = {
        int(n.get("id")): (float(n.get("lon")), float(n.get("lat"))) for n in root.iter("node")
    }
    ways: list[tuple[int, list[int]]] = []
    for way in root.iter("way"):
        tags = {t.get("k"): t.get("v") for t in way.iter("tag")}
        if not walkable(tags):
            continue
        refs = [int(nd.get("ref")) for nd in way.iter("nd")]
        refs = [r for i, r in enumerate(refs) if r in lonlat and (i == 0 or r != refs[i - 1])]
        if len(refs) >= 2:
            ways.append((int(way.get("id")), refs))
    uses = pd.Series([r for _, refs in ways for r in refs]).value_counts()
    rows: list[tuple[int, int, int, int]] = []
    n_links = 0
    for wid, refs in ways:
        for k, (a, b) in enumerate(itertools.pairwise(refs)):
            rows.append((wid, a, b, n_links))
            if k + 2 < len(refs) and uses[b] >= 2:
                n_links += 1
        n_links += 1
    seg = pd.DataFrame(rows, columns=["way", "u", "v", "link"])
    b = root.find("bounds")
    if b is not None:
        bounds = tuple(float(b.get(k)) for k in ("minlon", "minlat", "maxlon", "maxlat"))
    else:
        all_ll = np.array(list(lonlat.values()))
        bounds = (*all_ll.min(axis=0), *all_ll.max(axis=0))
    crs = (
        _utm((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2)
        if crs is None
        else pyproj.CRS.from_user_input(crs)
    )
    ids = np.array(list(lonlat), dtype=np.int64)
    ll = np.array(list(lonlat.values()))
    to_m = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    x, y = to_m.transform(ll[:, 0], ll[:, 1])
    pos = pd.Index(ids)
    iu, iv = pos.get_indexer(seg["u"]), pos.get_indexer(seg["v"])
    seg["length_m"] = _great_circle_m(ll[iu, 0], ll[iu, 1], ll[iv, 0], ll[iv, 1])
    seg["planar_m"] = np.hypot(x[iv] - x[iu], y[iv] - y[iu])
    by_link = seg.groupby("link")
    for col in ("length_m", "planar_m"):
        start = "link_start_m" if col == "length_m" else "link_start_planar_m"
        seg[start] = by_link[col].cumsum() - seg[col]
    links = pd.DataFrame({
        "u": by_link["u"].first(),
        "v": by_link["v"].last(),
        "length_m": by_link["length_m"].sum(),
        "planar_m": by_link["planar_m"].sum(),
    })
    graph = nx.Graph()
    graph.add_edges_from(zip(seg["u"], seg["v"], strict=True))
    largest = max(nx.connected_components(graph), key=len)
    seg["component"] = np.where(seg["u"].isin(largest), 0, 1)
    coords = np.stack([np.column_stack([x[iu], y[iu]]), np.column_stack([x[iv], y[iv]])], axis=1)
    geometry = shapely.linestrings(coords)
    return OsmRoads(crs, gpd.GeoDataFrame(seg, geometry=geometry, crs=crs), links, bounds)


def _points_near(
    lines: np.ndarray,
    t: np.ndarray,
    offset: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Points at fraction ``t`` along straight ``lines``, ``offset`` metres to a random side."""
    xy = shapely.get_coordinates(lines).reshape(-1, 2, 2)
    d = xy[:, 1] - xy[:, 0]
    unit = d / np.hypot(d[:, 0], d[:, 1])[:, None]
    normal = np.column_stack([-unit[:, 1], unit[:, 0]])
    side = rng.choice([-1.0, 1.0], len(t))
    p = xy[:, 0] + d * t[:, None] + normal * (offset * side)[:, None]
    return p[:, 0], p[:, 1]


def _spread_choice(
    xy: np.ndarray, weights: np.ndarray, n: int, min_gap: float, rng: np.random.Generator
) -> np.ndarray:
    """Pick ``n`` rows, weighted, at least ``min_gap`` apart (the gap shrinks if need be)."""
    order = rng.choice(len(xy), size=len(xy), replace=False, p=weights / weights.sum())
    gap = min_gap
    while True:
        chosen: list[int] = []
        for i in order:
            if all(np.hypot(*(xy[i] - xy[j])) >= gap for j in chosen):
                chosen.append(int(i))
                if len(chosen) == n:
                    return np.array(chosen)
        gap *= 0.8


def build_guixi_project(
    folder: str | Path,
    *,
    seed: int = 0,
    n_migrants: int = 3000,
    n_sites: int = 16,
    communities_as_table: bool = True,
    grid: tuple[int, int] = (4, 3),
    same_segment_per_site: int = 3,
    osm_path: str | Path = GUIXI_OSM,
) -> Path:
    """Write a project on the real OSM extract of central Guixi, as a city's data would look.

    Parameters
    ----------
    folder
        Folder to write into (created if needed).
    seed
        Random seed; the same seed writes the same files.
    n_migrants
        Residences placed 0–80 m off random walkable road segments (weighted by length).
    n_sites
        Service points, spread over the city, 5–40 m off a road (a quarter exactly on one).
    communities_as_table
        Communities as a register table without boundaries (``communities.csv``) and a
        ``社区编码`` column in the migrants; otherwise polygons (``communities.geojson``, a
        grid over the extract) and no community column.
    grid
        Columns and rows of the community grid (at most 16 cells, at most 3 rows).
    same_segment_per_site
        For each of the first sites, this many residences on the same OSM way between the
        same two nodes as the site (0–3 m off it).
    osm_path
        The OSM XML file, copied into the project as its road network.

    Returns
    -------
    pathlib.Path
        The project folder (holding ``project.toml``). The generated WGS-84 positions of the
        service points are kept in ``truth/sites_wgs84.csv`` (see :func:`truth_sites`).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    roads = read_walkable_roads(osm_path)
    lon0, lat0, lon1, lat1 = roads.bounds
    to_m = pyproj.Transformer.from_crs(4326, roads.crs, always_xy=True)
    to_ll = pyproj.Transformer.from_crs(roads.crs, 4326, always_xy=True)
    bx0, by0 = to_m.transform(lon0, lat0)
    bx1, by1 = to_m.transform(lon1, lat1)
    inner = shapely.box(bx0 + 150, by0 + 150, bx1 - 150, by1 - 150)
    seg = roads.segments
    seg = seg[(seg["component"] == 0) & shapely.within(seg.geometry.values, inner)]
    seg = seg.reset_index(drop=True)
    lines = seg.geometry.values
    length = seg["length_m"].to_numpy()

    # Service points: spread over the city, on segments long enough to share with residences.
    long_enough = np.flatnonzero(length >= 60.0)
    mid = shapely.get_coordinates(shapely.line_interpolate_point(lines[long_enough], 0.5,
                                                                 normalized=True))
    pick = long_enough[_spread_choice(mid, length[long_enough], n_sites, 700.0, rng)]
    site_t = rng.uniform(0.3, 0.7, n_sites)
    site_off = rng.uniform(5.0, 40.0, n_sites)
    site_off[: max(1, n_sites // 4)] = 0.0
    sx, sy = _points_near(lines[pick], site_t, site_off, rng)
    slon, slat = to_ll.transform(sx, sy)
    kinds = np.array(SITE_KINDS)[np.r_[np.arange(len(SITE_KINDS)),
                                       rng.integers(0, 3, max(0, n_sites - len(SITE_KINDS)))]]
    kinds = kinds[:n_sites]
    staff = rng.choice([0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0], n_sites)

    # Residences: most anywhere near a road, a few between the two nodes of a site's segment.
    n_same = min(n_migrants, same_segment_per_site * max(1, n_sites // 2))
    n_free = n_migrants - n_same
    free = rng.choice(len(seg), n_free, p=length / length.sum())
    mx, my = _points_near(lines[free], rng.uniform(0, 1, n_free), rng.uniform(0, 80, n_free), rng)
    share = np.repeat(pick[: max(1, n_sites // 2)], same_segment_per_site)[:n_same]
    ax, ay = _points_near(lines[share], rng.uniform(0.05, 0.95, n_same),
                          rng.uniform(0, 3, n_same), rng)
    order = rng.permutation(n_migrants)
    mx, my = np.r_[mx, ax][order], np.r_[my, ay][order]
    mlon, mlat = to_ll.transform(mx, my)

    # Communities: a grid of rectangles over the extract, one district per row.
    ncol, nrow = grid
    xs = np.linspace(lon0, lon1, ncol + 1)
    ys = np.linspace(lat0, lat1, nrow + 1)
    cells = [(r, c) for r in range(nrow) for c in range(ncol)]
    community_id = [f"360681{r + 1:03d}{c + 1:03d}" for r, c in cells]
    communities = pd.DataFrame({
        "社区编码": community_id,
        "社区名称": list(COMMUNITY_NAMES[: len(cells)]),
        "区县": [DISTRICTS[r] for r, _ in cells],
        "户籍人口": rng.integers(3000, 12000, len(cells)),
    })
    boxes = [shapely.box(xs[c], ys[r], xs[c + 1], ys[r + 1]) for r, c in cells]
    col = np.clip(np.searchsorted(xs, mlon) - 1, 0, ncol - 1)
    row = np.clip(np.searchsorted(ys, mlat) - 1, 0, nrow - 1)
    migrant_community = np.asarray(community_id)[row * ncol + col]

    # Files.
    network = folder / Path(osm_path).name
    shutil.copyfile(osm_path, network)
    glon, glat = wgs84_to_gcj02(slon, slat)
    site_ids = [f"GX-JG{i + 1:03d}" for i in range(n_sites)]
    site_community = np.asarray(COMMUNITY_NAMES)[
        (np.clip(np.searchsorted(ys, slat) - 1, 0, nrow - 1) * ncol
         + np.clip(np.searchsorted(xs, slon) - 1, 0, ncol - 1))]
    sites = pd.DataFrame({
        SITE_COLUMNS["site_id"]: site_ids,
        SITE_COLUMNS["name"]: [f"贵溪市{c}{k.removeprefix('社区')}"
                               for c, k in zip(site_community, kinds, strict=True)],
        SITE_COLUMNS["kind"]: kinds,
        SITE_COLUMNS["lon"]: [f"{v:.7f}" for v in glon],
        SITE_COLUMNS["lat"]: [f"{v:.7f}" for v in glat],
        SITE_COLUMNS["staff"]: [f"{v:g}" for v in staff],
        "联系电话": [f"0701-{3300000 + i * 137}" for i in range(n_sites)],
    })
    sites.to_csv(folder / "sites.csv", index=False, encoding="gb18030")
    migrants = pd.DataFrame({
        "人员编号": [f"GX{seed:02d}{i + 1:06d}" for i in range(n_migrants)],
        "经度": [f"{v:.7f}" for v in mlon],
        "纬度": [f"{v:.7f}" for v in mlat],
    })
    if communities_as_table:
        migrants["社区编码"] = migrant_community
        communities.to_csv(folder / "communities.csv", index=False, encoding="utf-8")
        communities_file = "communities.csv"
    else:
        gpd.GeoDataFrame(communities, geometry=boxes, crs=4326).to_file(
            folder / "communities.geojson", driver="GeoJSON")
        communities_file = "communities.geojson"
    migrants.to_csv(folder / "migrants.csv", index=False, encoding="utf-8")
    truth = folder / "truth"
    truth.mkdir(exist_ok=True)
    pd.DataFrame({"site_id": site_ids, "lon": slon, "lat": slat}).to_csv(
        truth / "sites_wgs84.csv", index=False, float_format="%.10f")
    mapping = "\n".join(f"{field} = {json.dumps(header, ensure_ascii=False)}"
                        for field, header in SITE_COLUMNS.items())
    (folder / "project.toml").write_text(
        f"""\
[project]
name = "贵溪市中心城区"
study_crs = "auto"
language = "zh"

[layers.migrants]
path = "migrants.csv"
crs = "wgs84"

[layers.sites]
path = "sites.csv"
crs = "gcj02"

[layers.sites.columns]
{mapping}

[layers.communities]
path = "{communities_file}"
crs = "wgs84"

[layers.network]
path = "{network.name}"
crs = "wgs84"
""",
        encoding="utf-8",
    )
    return folder


def truth_sites(folder: str | Path) -> pd.DataFrame:
    """The WGS-84 positions at which :func:`build_guixi_project` placed the service points."""
    return pd.read_csv(Path(folder) / "truth" / "sites_wgs84.csv", dtype={"site_id": str})


def independent_walking_distances(
    folder: str | Path,
    crs: object,
    *,
    max_snap_m: float = 500.0,
    along: str = "link",
) -> pd.DataFrame:
    """Walk from every residence to its nearest service point, computed from scratch.

    The walkable ways of the project's OSM file (:func:`walkable`) are cut into links between
    intersections (:func:`read_walkable_roads`); each link is one NetworkX edge weighted by
    its great-circle length (the sum of its segments' lengths, as OSMnx measures them). Each
    residence and each service point (at its generated WGS-84 position) is attached to the
    nearest point of the nearest segment of the largest connected component, in ``crs``; its
    link is split there, so that a residence and a service point on the same segment (or
    link) are joined along it, not through its nodes. A multi-source Dijkstra starts at every
    service point, whose first leg is its straight connector to the road. The distance is

        residence connector + along the roads + service-point connector.

    Parameters
    ----------
    folder
        A project written by :func:`build_guixi_project`.
    crs
        The metric CRS for attaching points (the study CRS).
    max_snap_m
        Points farther than this from the roads are unreachable (NaN).
    along
        How far along its link an attachment lies: ``"link"`` — the attachment's share of
        the link's drawn (planar) length times the link's great-circle length, which is how
        the project measures it; ``"segment"`` — the great-circle lengths of the whole
        segments before it plus its share of its own segment's; ``"planar"`` — lengths in
        ``crs`` everywhere, for the links too.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``person_id``: ``distance_m``, ``site_id`` (the nearest), ``snap_m`` (the
        residence's connector), ``same_segment`` (the residence and its nearest service point
        lie between the same two OSM nodes of one way) and ``same_link``.
    """
    if along not in ("link", "segment", "planar"):
        msg = f"along must be link, segment or planar, got {along!r}"
        raise ValueError(msg)
    folder = Path(folder)
    osm = next(folder.glob("*.osm"))
    roads = read_walkable_roads(osm, crs)
    seg = roads.segments[roads.segments["component"] == 0].reset_index(drop=True)
    links = roads.links
    lines = seg.geometry.values
    homes = pd.read_csv(folder / "migrants.csv", dtype=str, encoding="utf-8")
    sites = truth_sites(folder)
    to_m = pyproj.Transformer.from_crs(4326, roads.crs, always_xy=True)
    hx, hy = to_m.transform(homes["经度"].astype(float).to_numpy(),
                            homes["纬度"].astype(float).to_numpy())
    sx, sy = to_m.transform(sites["lon"].to_numpy(), sites["lat"].to_numpy())
    pts = shapely.points(np.r_[hx, sx], np.r_[hy, sy])
    n_home = len(homes)
    found = shapely.STRtree(lines).query_nearest(pts, all_matches=False)
    which = np.empty(len(pts), dtype=np.int64)
    which[found[0]] = found[1]  # one nearest segment per point
    frac = shapely.line_locate_point(lines[which], pts, normalized=True)
    snap = shapely.distance(pts, lines[which])
    ok = snap <= max_snap_m

    # Each attachment as a position along its link, in the link's weight metric.
    s = seg.iloc[which]
    link = s["link"].to_numpy()
    if along == "planar":
        weight = links["planar_m"]
        position = s["link_start_planar_m"].to_numpy() + frac * s["planar_m"].to_numpy()
    elif along == "segment":
        weight = links["length_m"]
        position = s["link_start_m"].to_numpy() + frac * s["length_m"].to_numpy()
    else:
        weight = links["length_m"]
        share = (s["link_start_planar_m"].to_numpy() + frac * s["planar_m"].to_numpy()) / \
            links["planar_m"].to_numpy()[link]
        position = share * weight.to_numpy()[link]

    graph = nx.Graph()
    used = links.loc[np.unique(seg["link"])]
    for u, v, w in zip(used["u"], used["v"], weight.loc[used.index], strict=True):
        if u != v and (not graph.has_edge(u, v) or graph[u][v]["weight"] > w):
            graph.add_edge(u, v, weight=float(w))
    att = pd.DataFrame({"point": np.flatnonzero(ok), "link": link[ok], "at": position[ok]})
    for k, group in att.sort_values(["link", "at"]).groupby("link", sort=False):
        chain = [links.at[k, "u"], *(("p", int(p)) for p in group["point"]), links.at[k, "v"]]
        at = [0.0, *group["at"].to_numpy(), float(weight.at[k])]
        for a, b, fa, fb in zip(chain[:-1], chain[1:], at[:-1], at[1:], strict=True):
            graph.add_edge(a, b, weight=fb - fa)
    sources = []
    for j in range(len(sites)):
        p = n_home + j
        if ok[p]:
            graph.add_edge(("site", j), ("p", p), weight=float(snap[p]))
            sources.append(("site", j))
    dist, paths = nx.multi_source_dijkstra(graph, sources, weight="weight")
    distance = np.full(n_home, np.nan)
    nearest = np.full(n_home, None, dtype=object)
    site_of = np.full(n_home, -1, dtype=np.int64)
    for i in np.flatnonzero(ok[:n_home]):
        node = ("p", int(i))
        if node in dist:
            distance[i] = dist[node] + snap[i]
            site_of[i] = paths[node][0][1]
            nearest[i] = sites["site_id"].iat[site_of[i]]
    at_site = np.where(site_of >= 0, n_home + site_of, 0)
    reached = site_of >= 0
    return pd.DataFrame(
        {"distance_m": distance, "site_id": nearest, "snap_m": snap[:n_home],
         "same_segment": reached & (which[:n_home] == which[at_site]),
         "same_link": reached & (link[:n_home] == link[at_site])},
        index=pd.Index(homes["人员编号"].to_numpy(), name="person_id"),
    )
