"""Read road networks from files and graphs into plain arrays (:class:`NetworkArrays`).

Every reader returns the same thing: graph nodes (intersections and dead ends) with WGS-84
coordinates, and *links* — one per physical road piece between two graph nodes, with its length
in metres, its geometry (a polyline from ``a`` to ``b``) and whether the travel mode may use it
from ``a`` to ``b`` (``forward``) and from ``b`` to ``a`` (``backward``). A two-way street that a
file stores as two directed edges becomes one link usable both ways.

OSM files (``.osm``, ``.osm.pbf``, ``.osm.gz``, ``.osm.bz2``) are read with pyosmium, their ways
split into links at intersections (:mod:`coverage.network.osm`).

GeoPackages written by OSMnx (``save_graph_geopackage``, layers ``nodes`` and ``edges``) are read
directly with pyogrio (much faster than building a NetworkX graph first); GraphML files with
``osmnx.load_graphml``; in-memory graphs through :func:`graph_arrays`. These keep the file's
``length`` attribute; zero, negative or missing lengths are an error. The checks every reader
applies to what it builds are in :mod:`coverage.network.arrays`.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from coverage.network._ragged import ranges
from coverage.network.arrays import (
    EARTH_RADIUS_M,
    NetworkArrays,
    check_geometry_ends,
    check_lengths,
    check_segment_lengths,
    great_circle_m,
)
from coverage.network.modes import TAG_KEYS, check_mode, edge_directions, usable
from coverage.network.osm import EmptyNetworkError, read_osm

__all__ = [
    "EARTH_RADIUS_M",
    "FILE_TYPES",
    "EmptyNetworkError",
    "NetworkArrays",
    "file_kind",
    "graph_arrays",
    "great_circle_m",
    "read_file",
    "read_geopackage",
    "read_graphml",
    "read_osm",
    "read_road_names",
]

#: Accepted file types (by name ending) and their readers.
FILE_TYPES: dict[str, str] = {
    ".osm": "osm",
    ".osm.pbf": "osm",
    ".pbf": "osm",
    ".osm.gz": "osm",
    ".osm.bz2": "osm",
    ".gpkg": "gpkg",
    ".graphml": "graphml",
}

Progress = Callable[[str], None] | None


def file_kind(path: str | Path) -> str:
    """Return the reader kind (``osm``, ``gpkg``, ``graphml``) for a file name.

    Raises
    ------
    ValueError
        If the name ends in none of :data:`FILE_TYPES`; the message lists them.
    """
    name = Path(path).name.lower()
    for ending in sorted(FILE_TYPES, key=len, reverse=True):
        if name.endswith(ending):
            return FILE_TYPES[ending]
    accepted = ", ".join(FILE_TYPES)
    msg = (
        f"cannot read road network {str(path)!r}: unknown file type; accepted types are "
        f"{accepted} (OSM XML/PBF, OSMnx GeoPackage or GraphML)"
    )
    raise ValueError(msg)


def read_file(path: str | Path, *, mode: str = "walk", progress: Progress = None) -> NetworkArrays:
    """Read a road-network file for a travel mode, choosing the reader by file type.

    Parameters
    ----------
    path
        An OSM XML or PBF file, or a GeoPackage or GraphML file written by OSMnx.
    mode
        ``"walk"`` or ``"ebike"`` (see :mod:`coverage.network.modes`).
    progress
        Called with a short description at the start of long steps.

    Raises
    ------
    ValueError
        For an unknown file type, a file without usable roads, or invalid edge lengths.
    """
    check_mode(mode)
    kind = file_kind(path)
    path = Path(path)
    if not path.exists():
        msg = f"road-network file {str(path)!r} does not exist; check the path"
        raise FileNotFoundError(msg)
    if kind == "osm":
        return read_osm(path, mode=mode, progress=progress)
    if kind == "gpkg":
        return read_geopackage(path, mode=mode, progress=progress)
    return read_graphml(path, mode=mode, progress=progress)


# --------------------------------------------------------------------------------------------
# Edge tables (OSMnx GeoPackage, GraphML, in-memory graphs)
# --------------------------------------------------------------------------------------------


def _edges_to_arrays(
    node_ids: np.ndarray,
    node_lon: np.ndarray,
    node_lat: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    length: np.ndarray,
    forward: np.ndarray,
    backward: np.ndarray,
    offsets: np.ndarray,
    vertex_lon: np.ndarray,
    vertex_lat: np.ndarray,
    *,
    source: str,
) -> NetworkArrays:
    """Turn directed edge rows into links: merge twin rows of two-way streets, drop unused nodes.

    ``u``/``v`` are node labels; geometry ``i`` runs from ``u[i]`` to ``v[i]``.
    """
    check_lengths(length, u, v, source)
    order = pd.Index(node_ids)
    if not order.is_unique:
        msg = f"{source}: node ids are not unique; each node must appear once"
        raise ValueError(msg)
    iu, iv = order.get_indexer(u), order.get_indexer(v)
    missing = (iu < 0) | (iv < 0)
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        ui, vi = np.asarray(u)[i].tolist(), np.asarray(v)[i].tolist()
        msg = f"{source}: edge ({ui!r}, {vi!r}) refers to a node that is not in the nodes layer"
        raise ValueError(msg)
    check_geometry_ends(node_lon, node_lat, iu, iv, offsets, vertex_lon, vertex_lat, u, v,
                         source)
    # Orient every row from its smaller to its larger node and merge rows that are the same
    # road (same ends, same length to the millimetre): directions are OR-ed.
    flip = iu > iv
    a = np.where(flip, iv, iu)
    b = np.where(flip, iu, iv)
    fwd = np.where(flip, backward, forward)
    bwd = np.where(flip, forward, backward)
    key = pd.DataFrame({"a": a, "b": b, "mm": np.round(length * 1000.0).astype(np.int64)})
    group = key.groupby(["a", "b", "mm"], sort=False).ngroup().to_numpy()
    n_links = int(group.max()) + 1 if len(group) else 0
    first = np.full(n_links, len(group), dtype=np.int64)
    np.minimum.at(first, group, np.arange(len(group)))
    link_fwd = np.zeros(n_links, dtype=bool)
    link_bwd = np.zeros(n_links, dtype=bool)
    np.logical_or.at(link_fwd, group, fwd)
    np.logical_or.at(link_bwd, group, bwd)
    starts, stops = offsets[first], offsets[first + 1]
    vidx = ranges(starts, stops - starts)
    counts = stops - starts
    # Reverse the vertex order of flipped rows so every geometry runs a → b.
    rev = np.repeat(flip[first], counts)
    local = vidx - np.repeat(starts, counts)
    vidx = np.where(rev, np.repeat(stops - 1, counts) - local, vidx)
    used, inverse = np.unique(np.r_[a[first], b[first]], return_inverse=True)
    check_segment_lengths(np.r_[0, np.cumsum(counts)], np.asarray(vertex_lon)[vidx],
                           np.asarray(vertex_lat)[vidx], source)
    return NetworkArrays(
        node_ids=np.asarray(node_ids)[used],
        lon=np.asarray(node_lon, dtype=np.float64)[used],
        lat=np.asarray(node_lat, dtype=np.float64)[used],
        link_a=inverse[:n_links].astype(np.int64),
        link_b=inverse[n_links:].astype(np.int64),
        length=np.asarray(length, dtype=np.float64)[first],
        forward=link_fwd,
        backward=link_bwd,
        offsets=np.r_[0, np.cumsum(counts)].astype(np.int64),
        vertex_lon=np.asarray(vertex_lon, dtype=np.float64)[vidx],
        vertex_lat=np.asarray(vertex_lat, dtype=np.float64)[vidx],
        source=source,
    )


def _to_lonlat(x: np.ndarray, y: np.ndarray, crs: Any) -> tuple[np.ndarray, np.ndarray]:
    """Convert coordinates from ``crs`` to WGS-84 lon/lat (no-op for geographic WGS-84)."""
    src = pyproj.CRS.from_user_input(crs)
    if src.equals(pyproj.CRS.from_epsg(4326), ignore_axis_order=True):
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    tr = pyproj.Transformer.from_crs(src, 4326, always_xy=True)
    lon, lat = tr.transform(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    return np.asarray(lon), np.asarray(lat)


def _geometry_vertices(
    geoms: np.ndarray, ux: np.ndarray, uy: np.ndarray, vx: np.ndarray, vy: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flatten edge geometries to vertices; straight lines where a geometry is missing."""
    geoms = np.asarray(geoms, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        straight = shapely.linestrings(
            np.stack([np.column_stack([ux, uy]), np.column_stack([vx, vy])], axis=1)[missing]
        )
        geoms = geoms.copy()
        geoms[missing] = straight
    xy, index = shapely.get_coordinates(geoms, return_index=True)
    counts = np.bincount(index, minlength=len(geoms))
    offsets = np.r_[0, np.cumsum(counts)].astype(np.int64)
    return offsets, xy[:, 0], xy[:, 1]


def read_geopackage(
    path: str | Path, *, mode: str = "walk", progress: Progress = None
) -> NetworkArrays:
    """Read a GeoPackage written by ``osmnx.save_graph_geopackage`` (layers nodes and edges).

    The layers are read directly with pyogrio (no NetworkX graph is built). Edges keep their
    ``length`` attribute; the mode's tag filter is applied to whatever tag columns exist
    (``highway``, ``access``, ``foot``, ``bicycle``, ``oneway``, ...).
    """
    check_mode(mode)
    path = Path(path)
    if progress:
        progress(f"reading nodes and edges from {path.name}")
    layers = {name for name, _ in pyogrio.list_layers(path)}
    if not {"nodes", "edges"} <= layers:
        msg = (
            f"{path}: a road-network GeoPackage needs layers 'nodes' and 'edges' as written by "
            f"osmnx.save_graph_geopackage; found {sorted(layers)}"
        )
        raise ValueError(msg)
    nodes = pyogrio.read_dataframe(path, layer="nodes", use_arrow=True)
    info = pyogrio.read_info(path, layer="edges")
    wanted = [c for c in ("u", "v", "length", *TAG_KEYS) if c in set(info["fields"])]
    edges = pyogrio.read_dataframe(path, layer="edges", columns=wanted, use_arrow=True)
    for col in ("u", "v", "length"):
        if col not in edges:
            msg = f"{path}: the edges layer has no {col!r} column (OSMnx writes u, v, length)"
            raise ValueError(msg)
    crs = nodes.crs or "EPSG:4326"
    id_col = "osmid" if "osmid" in nodes else None
    node_ids = nodes[id_col].to_numpy() if id_col else nodes.index.to_numpy()
    if "x" in nodes and "y" in nodes:
        nx_, ny_ = nodes["x"].to_numpy(dtype=np.float64), nodes["y"].to_numpy(dtype=np.float64)
    else:
        nx_, ny_ = shapely.get_x(nodes.geometry.values), shapely.get_y(nodes.geometry.values)
    lon, lat = _to_lonlat(nx_, ny_, crs)
    tags = pd.DataFrame({k: edges[k] for k in TAG_KEYS if k in edges})
    keep = usable(tags, mode)
    edges = edges[keep]
    tags = tags[keep]
    fwd, bwd = edge_directions(tags, mode, directed=True)
    u = edges["u"].to_numpy()
    v = edges["v"].to_numpy()
    if np.issubdtype(np.asarray(node_ids).dtype, np.integer):
        u, v = u.astype(np.int64), v.astype(np.int64)
    pos = pd.Index(node_ids)
    iu, iv = pos.get_indexer(u), pos.get_indexer(v)
    geoms = edges.geometry.values
    offsets, gx, gy = _geometry_vertices(
        np.asarray(geoms), nx_[np.maximum(iu, 0)], ny_[np.maximum(iu, 0)],
        nx_[np.maximum(iv, 0)], ny_[np.maximum(iv, 0)],
    )
    glon, glat = _to_lonlat(gx, gy, edges.crs or crs)
    if progress:
        progress(f"building links from {len(edges):,} usable edges")
    return _edges_to_arrays(
        node_ids, lon, lat, u, v, edges["length"].to_numpy(dtype=np.float64), fwd, bwd,
        offsets, glon, glat, source=str(path),
    )


def read_graphml(
    path: str | Path, *, mode: str = "walk", progress: Progress = None
) -> NetworkArrays:
    """Read a GraphML file written by OSMnx (``osmnx.load_graphml``) for a travel mode."""
    import osmnx as ox  # lazy: only GraphML files need OSMnx, slow to load

    if progress:
        progress(f"reading GraphML {Path(path).name}")
    graph = ox.load_graphml(path)
    return graph_arrays(graph, mode=mode, source=str(path))


def graph_arrays(graph: nx.Graph, *, mode: str = "walk", source: str = "graph") -> NetworkArrays:
    """Convert an OSMnx/NetworkX graph into :class:`NetworkArrays` for a travel mode.

    Nodes need ``x`` and ``y`` (in ``graph.graph["crs"]``; lon/lat when that is missing and the
    values look like degrees). Edges need a positive ``length`` in metres; ``geometry`` (a
    shapely LineString from ``u`` to ``v``) is used when present, else the straight line. Tag
    attributes filter the edges as in :func:`coverage.network.modes.usable`; an edge without a
    ``highway`` attribute is kept when no edge of the graph has one.
    """
    check_mode(mode)
    crs = graph.graph.get("crs")
    node_list = list(graph.nodes(data=True))
    if not node_list:
        msg = f"{source}: the graph has no nodes"
        raise ValueError(msg)
    try:
        xs = np.array([d["x"] for _, d in node_list], dtype=np.float64)
        ys = np.array([d["y"] for _, d in node_list], dtype=np.float64)
    except KeyError:
        msg = f"{source}: every node needs 'x' and 'y' attributes (OSMnx graphs have them)"
        raise ValueError(msg) from None
    if crs is None:
        if np.all(np.abs(xs) <= 180) and np.all(np.abs(ys) <= 90):
            crs = "EPSG:4326"
        else:
            msg = (
                f"{source}: node coordinates are not degrees and graph.graph['crs'] is not set; "
                "set it to the CRS of x/y"
            )
            raise ValueError(msg)
    labels = [n for n, _ in node_list]
    if all(isinstance(n, (int, np.integer)) for n in labels):
        node_ids = np.asarray(labels, dtype=np.int64)
    else:
        node_ids = np.asarray([str(n) for n in labels])
        graph = nx.relabel_nodes(graph, {n: str(n) for n in labels})
    if graph.is_multigraph():
        rows = list(graph.edges(keys=True, data=True))
        u = [r[0] for r in rows]
        v = [r[1] for r in rows]
        data = [r[3] for r in rows]
    else:
        rows2 = list(graph.edges(data=True))
        u = [r[0] for r in rows2]
        v = [r[1] for r in rows2]
        data = [r[2] for r in rows2]
    tags = pd.DataFrame({k: [d.get(k) for d in data] for k in TAG_KEYS})
    tags = tags.loc[:, tags.notna().any()]
    length = np.array([d.get("length", np.nan) for d in data], dtype=np.float64)
    keep = usable(tags, mode) if "highway" in tags else np.ones(len(data), dtype=bool)
    directed = graph.is_directed()
    fwd, bwd = edge_directions(tags, mode, directed=directed)
    u_a = np.asarray(u, dtype=node_ids.dtype)[keep]
    v_a = np.asarray(v, dtype=node_ids.dtype)[keep]
    geoms = np.array([d.get("geometry") for d in data], dtype=object)[keep]
    pos = pd.Index(node_ids)
    iu, iv = pos.get_indexer(u_a), pos.get_indexer(v_a)
    offsets, gx, gy = _geometry_vertices(geoms, xs[iu], ys[iu], xs[iv], ys[iv])
    lon, lat = _to_lonlat(xs, ys, crs)
    glon, glat = _to_lonlat(gx, gy, crs)
    return _edges_to_arrays(
        node_ids, lon, lat, u_a, v_a, length[keep], fwd[keep], bwd[keep], offsets, glon, glat,
        source=source,
    )


# --------------------------------------------------------------------------------------------
# Road names (for naming places; not part of the routing arrays)
# --------------------------------------------------------------------------------------------


def _first_name(value: Any) -> str:
    """One road name from an OSM ``name`` value (OSMnx keeps a list where ways were merged)."""
    if isinstance(value, list | tuple | np.ndarray):
        value = next((v for v in value if isinstance(v, str) and v.strip()), "")
    if not isinstance(value, str):
        return ""
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):  # a list written as text by OSMnx
        try:
            return _first_name(ast.literal_eval(text))
        except (ValueError, SyntaxError):
            return text
    return text


def read_road_names(
    path: str | Path, *, bbox: tuple[float, float, float, float] | None = None
) -> Any:
    """Read the named roads of a road-network file: one line per named edge or way, WGS-84.

    Names are kept out of :class:`NetworkArrays` (routing needs none); they are read from the
    file when a place is to be named, which for an OSMnx GeoPackage reads only the named edges
    (inside ``bbox``). The OSM ``name`` tag; where OSMnx merged ways, the first of their names.

    Parameters
    ----------
    path
        The network file (any type :func:`read_file` reads).
    bbox
        ``(min_lon, min_lat, max_lon, max_lat)`` to read only the roads there.

    Returns
    -------
    geopandas.GeoDataFrame
        ``name`` and line geometry, EPSG:4326; no rows when the file keeps no names.
    """
    kind = file_kind(path)
    path = Path(path)
    names: list[str] = []
    lines: list[Any] = []
    if kind == "gpkg":
        if "name" in set(pyogrio.read_info(path, layer="edges")["fields"]):
            edges = pyogrio.read_dataframe(path, layer="edges", columns=["name"],
                                           where="name IS NOT NULL AND name <> ''", bbox=bbox)
            edges = edges.to_crs(4326) if edges.crs is not None else edges.set_crs(4326)
            names = [_first_name(v) for v in edges["name"]]
            lines = list(edges.geometry.to_numpy())
    elif kind == "osm":
        import osmium  # lazy: only OSM files need it

        processor = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(osmium.filter.KeyFilter("highway"))
            .with_filter(osmium.filter.KeyFilter("name"))
        )
        for way in processor:
            coords = [(n.location.lon, n.location.lat) for n in way.nodes if n.location.valid()]
            if len(coords) >= 2:
                names.append(_first_name(way.tags.get("name", "")))
                lines.append(shapely.linestrings(coords))
    else:
        import osmnx as ox  # lazy: only GraphML files need OSMnx, slow to load

        graph = ox.load_graphml(path)
        edges = ox.graph_to_gdfs(graph, nodes=False, fill_edge_geometry=True)
        if "name" in edges:
            edges = edges.to_crs(4326)
            names = [_first_name(v) for v in edges["name"]]
            lines = list(edges.geometry.to_numpy())
    table = gpd.GeoDataFrame({"name": names}, geometry=lines, crs=4326)
    table = table[table["name"] != ""]
    if bbox is not None and kind != "gpkg":
        table = table[table.intersects(shapely.box(*bbox))]
    return table.reset_index(drop=True)
