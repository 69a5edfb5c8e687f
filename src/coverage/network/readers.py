"""Read road networks from files and graphs into plain arrays (:class:`NetworkArrays`).

Every reader returns the same thing: graph nodes (intersections and dead ends) with WGS-84
coordinates, and *links* — one per physical road piece between two graph nodes, with its length
in metres, its geometry (a polyline from ``a`` to ``b``) and whether the travel mode may use it
from ``a`` to ``b`` (``forward``) and from ``b`` to ``a`` (``backward``). A two-way street that a
file stores as two directed edges becomes one link usable both ways.

OSM files (``.osm``, ``.osm.pbf``, ``.osm.gz``, ``.osm.bz2``) are read with pyosmium. Ways are
split at intersection nodes (nodes used by two or more ways, or twice by one way) and at way
ends, so graph nodes are the same as OSMnx's before simplification minus its degree-2 nodes, and
link lengths are the great-circle lengths of the way pieces (OSMnx's formula and earth radius).
OSM nodes at exactly the same position are merged into one (a zero-length edge is otherwise an
error), and ways are cut where they reference nodes missing from the extract.

GeoPackages written by OSMnx (``save_graph_geopackage``, layers ``nodes`` and ``edges``) are read
directly with pyogrio (much faster than building a NetworkX graph first); GraphML files with
``osmnx.load_graphml``; in-memory graphs through :func:`graph_arrays`. These keep the file's
``length`` attribute; zero, negative or missing lengths are an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely

from coverage.network.modes import TAG_KEYS, check_mode, edge_directions, usable, way_directions
from coverage.network.ragged import ranges

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

#: Earth radius used for great-circle lengths, the same as OSMnx's.
EARTH_RADIUS_M = 6_371_009.0

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


class EmptyNetworkError(ValueError):
    """The file is a road network, but keeps no road usable for the travel mode."""


@dataclass
class NetworkArrays:
    """A road network for one travel mode as plain arrays, in WGS-84.

    Attributes
    ----------
    node_ids
        Node identifiers (OSM ids, or the source graph's labels), int64 or str.
    lon, lat
        Node coordinates, degrees.
    link_a, link_b
        End nodes of each link (positions in ``node_ids``); the geometry runs from ``a`` to ``b``.
    length
        Link lengths in metres (> 0).
    forward, backward
        Whether the link may be travelled from ``a`` to ``b`` and from ``b`` to ``a``.
    offsets
        Link ``i``'s vertices are ``vertex_lon/lat[offsets[i]:offsets[i + 1]]``, ends included.
    vertex_lon, vertex_lat
        Flattened link vertices, degrees.
    source
        Where the network came from (file path or description).
    """

    node_ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    link_a: np.ndarray
    link_b: np.ndarray
    length: np.ndarray
    forward: np.ndarray
    backward: np.ndarray
    offsets: np.ndarray
    vertex_lon: np.ndarray
    vertex_lat: np.ndarray
    source: str = ""

    @property
    def n_nodes(self) -> int:
        """Number of graph nodes."""
        return len(self.node_ids)

    @property
    def n_links(self) -> int:
        """Number of links."""
        return len(self.length)

    def to_dict(self) -> dict[str, np.ndarray]:
        """Return the arrays by name (for saving)."""
        return {name: getattr(self, name) for name in _ARRAY_FIELDS}


_ARRAY_FIELDS = (
    "node_ids", "lon", "lat", "link_a", "link_b", "length", "forward", "backward", "offsets",
    "vertex_lon", "vertex_lat",
)


def great_circle_m(
    lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray
) -> np.ndarray:
    """Great-circle distance in metres (haversine, OSMnx's formula and earth radius)."""
    y1, y2 = np.deg2rad(lat1), np.deg2rad(lat2)
    dy = y2 - y1
    dx = np.deg2rad(lon2) - np.deg2rad(lon1)
    h = np.sin(dy / 2.0) ** 2 + np.cos(y1) * np.cos(y2) * np.sin(dx / 2.0) ** 2
    h = np.minimum(1.0, h)
    return 2.0 * np.arcsin(np.sqrt(h)) * EARTH_RADIUS_M


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
# OSM XML / PBF
# --------------------------------------------------------------------------------------------


def read_osm(path: str | Path, *, mode: str = "walk", progress: Progress = None) -> NetworkArrays:
    """Read an OSM XML or PBF file with pyosmium and build the network of a travel mode.

    See the module docstring for how ways become links.
    """
    import osmium  # local: only this reader needs it

    check_mode(mode)
    path = Path(path)
    if progress:
        progress(f"reading OSM ways from {path.name}")
    processor = (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    wanted = set(TAG_KEYS)
    tag_rows: list[dict[str, str]] = []
    way_ids: list[int] = []
    counts: list[int] = []
    refs: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    nan = float("nan")
    for way in processor:
        tag_rows.append({t.k: t.v for t in way.tags if t.k in wanted})
        way_ids.append(way.id)
        nodes = way.nodes
        counts.append(len(nodes))
        for nd in nodes:
            loc = nd.location
            refs.append(nd.ref)
            if loc.valid():
                lons.append(loc.lon)
                lats.append(loc.lat)
            else:
                lons.append(nan)
                lats.append(nan)
    tags = pd.DataFrame(tag_rows, columns=list(TAG_KEYS))
    keep = usable(tags, mode)
    forward, backward = way_directions(tags, mode)
    if progress:
        progress(f"splitting {int(keep.sum()):,} usable ways at intersections")
    return _ways_to_arrays(
        np.asarray(counts, dtype=np.int64), np.asarray(refs, dtype=np.int64),
        np.asarray(lons, dtype=np.float64), np.asarray(lats, dtype=np.float64),
        keep, forward, backward, source=str(path), n_ways=len(way_ids),
    )


def _ways_to_arrays(
    counts: np.ndarray,
    refs: np.ndarray,
    lons: np.ndarray,
    lats: np.ndarray,
    keep: np.ndarray,
    forward: np.ndarray,
    backward: np.ndarray,
    *,
    source: str,
    n_ways: int,
) -> NetworkArrays:
    """Split usable ways at intersections into links (all vectorized)."""
    way = np.repeat(np.arange(n_ways), counts)
    sel = keep[way] & np.isfinite(lons) & np.isfinite(lats)
    # A reference to a missing node cuts the way: pieces are runs of present references.
    cut = np.cumsum(~np.isfinite(lons) | ~np.isfinite(lats))
    piece_key = way.astype(np.int64) * (len(refs) + 1) + cut
    way, refs, lons, lats, piece_key = way[sel], refs[sel], lons[sel], lats[sel], piece_key[sel]
    if len(refs) == 0:
        msg = f"{source}: no way usable for this travel mode (no highway=* ways passed the filter)"
        raise EmptyNetworkError(msg)
    # Merge OSM nodes at identical positions, so no link has zero length.
    coords = np.column_stack([lons, lats])
    _, first, rep = np.unique(coords, axis=0, return_index=True, return_inverse=True)
    rep = rep.ravel()
    # Drop consecutive repeats of the same node within a piece.
    same_piece = np.r_[False, piece_key[1:] == piece_key[:-1]]
    dup = same_piece & np.r_[False, rep[1:] == rep[:-1]]
    way, refs, rep, piece_key = way[~dup], refs[~dup], rep[~dup], piece_key[~dup]
    lons, lats = lons[~dup], lats[~dup]
    start = np.r_[True, piece_key[1:] != piece_key[:-1]]
    end = np.r_[piece_key[1:] != piece_key[:-1], True]
    single = start & end  # pieces of one node carry no link
    way, refs, rep, lons, lats = way[~single], refs[~single], rep[~single], lons[~single], \
        lats[~single]
    start, end = start[~single], end[~single]
    uses = np.bincount(rep, minlength=len(first))
    split = start | end | (uses[rep] >= 2)
    pos = np.flatnonzero(split)
    i0, i1 = pos[:-1], pos[1:]
    inside = ~end[i0]  # consecutive split positions within the same piece
    i0, i1 = i0[inside], i1[inside]
    seg = great_circle_m(lons[:-1], lats[:-1], lons[1:], lats[1:])
    seg[end[:-1]] = 0.0
    cum = np.r_[0.0, np.cumsum(seg)]
    length = cum[i1] - cum[i0]
    vertex = ranges(i0, i1 + 1 - i0)
    offsets = np.r_[0, np.cumsum(i1 - i0 + 1)].astype(np.int64)
    node_rep, node_index = np.unique(np.r_[rep[i0], rep[i1]], return_inverse=True)
    n_links = len(i0)
    link_way = way[i0]
    _check_segment_lengths(offsets, lons[vertex], lats[vertex], source)
    return NetworkArrays(
        node_ids=_rep_ids(refs, rep, node_rep),
        lon=coords[first[node_rep], 0],
        lat=coords[first[node_rep], 1],
        link_a=node_index[:n_links].astype(np.int64),
        link_b=node_index[n_links:].astype(np.int64),
        length=length,
        forward=forward[link_way],
        backward=backward[link_way],
        offsets=offsets,
        vertex_lon=lons[vertex],
        vertex_lat=lats[vertex],
        source=source,
    )


def _rep_ids(refs: np.ndarray, rep: np.ndarray, node_rep: np.ndarray) -> np.ndarray:
    """Return one OSM id (the smallest) for each merged node in ``node_rep``."""
    smallest = np.full(int(rep.max()) + 1, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(smallest, rep, refs)
    return smallest[node_rep]


# --------------------------------------------------------------------------------------------
# Edge tables (OSMnx GeoPackage, GraphML, in-memory graphs)
# --------------------------------------------------------------------------------------------


def _check_lengths(length: np.ndarray, u: np.ndarray, v: np.ndarray, source: str) -> None:
    """Raise a ValueError naming the first edge whose length is missing, zero or negative."""
    bad = ~(np.isfinite(length) & (length > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        ui, vi = np.asarray(u)[i].tolist(), np.asarray(v)[i].tolist()
        msg = (
            f"{source}: edge ({ui!r}, {vi!r}) has length {float(length[i])!r} and "
            f"{int(bad.sum())} edge(s) in all have a missing, zero or negative length; every edge "
            "needs a positive 'length' in metres (recompute them, e.g. with "
            "osmnx.distance.add_edge_lengths, or remove the degenerate edges)"
        )
        raise ValueError(msg)


#: How far (m) an edge's geometry may end from its nodes (rounding, not another place).
GEOMETRY_END_TOLERANCE_M = 10.0

#: Longest straight piece of road (m) between two vertices: longer is a misplaced node.
MAX_SEGMENT_M = 100_000.0


def _check_segment_lengths(
    offsets: np.ndarray, vertex_lon: np.ndarray, vertex_lat: np.ndarray, source: str
) -> None:
    """Raise a ValueError when a straight piece of road is longer than :data:`MAX_SEGMENT_M`.

    A node at (0, 0) or with swapped coordinates draws a road across half the world; snapping
    would cut it into millions of pieces and every search would run along it.
    """
    if len(vertex_lon) < 2:
        return
    seg = great_circle_m(vertex_lon[:-1], vertex_lat[:-1], vertex_lon[1:], vertex_lat[1:])
    inside = np.ones(len(seg), dtype=bool)
    inside[offsets[1:-1] - 1] = False  # from the last vertex of a link to the next link's first
    bad = inside & ~(seg <= MAX_SEGMENT_M)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        msg = (f"a road runs {seg[i] / 1000:,.0f} km in a straight line (lon, lat "
               f"{vertex_lon[i]:.5f}, {vertex_lat[i]:.5f} to {vertex_lon[i + 1]:.5f}, "
               f"{vertex_lat[i + 1]:.5f}; {int(bad.sum())} piece(s) over "
               f"{MAX_SEGMENT_M / 1000:g} km): a node is misplaced, fix it ({source})")
        raise ValueError(msg)


def _check_geometry_ends(
    node_lon: np.ndarray,
    node_lat: np.ndarray,
    iu: np.ndarray,
    iv: np.ndarray,
    offsets: np.ndarray,
    vertex_lon: np.ndarray,
    vertex_lat: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    source: str,
) -> None:
    """Raise a ValueError naming the first edge whose geometry does not run between its nodes.

    A geometry that ends elsewhere (another place, swapped axes, NaN) would put the road where
    it is not, and a catchment drawn along it would cover half a continent.
    """
    if not len(iu):
        return
    lon, lat = np.asarray(node_lon, dtype=np.float64), np.asarray(node_lat, dtype=np.float64)
    first, last = offsets[:-1], offsets[1:] - 1
    if (last < first).any():  # an empty geometry: no ends to check (filled by straight lines)
        return
    glon, glat = np.asarray(vertex_lon), np.asarray(vertex_lat)

    def near(a: np.ndarray, b: np.ndarray, k: np.ndarray) -> np.ndarray:
        d = great_circle_m(glon[a], glat[a], lon[k], lat[k])
        return d <= GEOMETRY_END_TOLERANCE_M

    ok = (near(first, first, iu) & near(last, last, iv)) | (near(first, first, iv)
                                                           & near(last, last, iu))
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        ui, vi = np.asarray(u)[i].tolist(), np.asarray(v)[i].tolist()
        msg = (f"{source}: the geometry of edge ({ui!r}, {vi!r}) does not run between its two "
               f"nodes (its ends lie more than {GEOMETRY_END_TOLERANCE_M:g} m from them), nor do "
               f"those of {int((~ok).sum()) - 1} other edge(s); write the edges' geometries from "
               "node u to node v in the nodes' coordinate system, or leave them empty")
        raise ValueError(msg)


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
    _check_lengths(length, u, v, source)
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
    _check_geometry_ends(node_lon, node_lat, iu, iv, offsets, vertex_lon, vertex_lat, u, v,
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
    _check_segment_lengths(np.r_[0, np.cumsum(counts)], np.asarray(vertex_lon)[vidx],
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
    import pyogrio  # local: only this reader needs it

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
    import osmnx as ox  # local: heavy import

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
        import ast

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
    import geopandas as gpd

    kind = file_kind(path)
    path = Path(path)
    names: list[str] = []
    lines: list[Any] = []
    if kind == "gpkg":
        import pyogrio

        if "name" in set(pyogrio.read_info(path, layer="edges")["fields"]):
            edges = pyogrio.read_dataframe(path, layer="edges", columns=["name"],
                                           where="name IS NOT NULL AND name <> ''", bbox=bbox)
            edges = edges.to_crs(4326) if edges.crs is not None else edges.set_crs(4326)
            names = [_first_name(v) for v in edges["name"]]
            lines = list(edges.geometry.to_numpy())
    elif kind == "osm":
        import osmium

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
        import osmnx as ox

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
