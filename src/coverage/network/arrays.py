"""A road network as plain arrays (:class:`NetworkArrays`), and the checks of what readers build.

Every reader (:mod:`coverage.network.readers`) returns a :class:`NetworkArrays`; the checks here
refuse what would make the network wrong without an error: an edge without a positive length, a
straight piece of road across half the world (a misplaced node), a geometry that does not run
between its two nodes. Lengths on the earth are great-circle lengths (:func:`great_circle_m`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "ARRAY_FIELDS",
    "EARTH_RADIUS_M",
    "GEOMETRY_END_TOLERANCE_M",
    "MAX_SEGMENT_M",
    "NetworkArrays",
    "check_geometry_ends",
    "check_lengths",
    "check_segment_lengths",
    "great_circle_m",
]

#: Earth radius used for great-circle lengths, the same as OSMnx's.
EARTH_RADIUS_M = 6_371_009.0


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
        return {name: getattr(self, name) for name in ARRAY_FIELDS}


#: Names of the arrays of a :class:`NetworkArrays` (what the on-disk cache saves).
ARRAY_FIELDS = (
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


#: How far (m) an edge's geometry may end from its nodes (rounding, not another place).
GEOMETRY_END_TOLERANCE_M = 10.0

#: Longest straight piece of road (m) between two vertices: longer is a misplaced node.
MAX_SEGMENT_M = 100_000.0


def check_lengths(length: np.ndarray, u: np.ndarray, v: np.ndarray, source: str) -> None:
    """Raise a ValueError naming the first edge whose length is missing, zero or negative.

    Parameters
    ----------
    length
        Edge lengths, metres.
    u, v
        The edges' node labels (for the message).
    source
        Where the edges came from (for the message).

    Raises
    ------
    ValueError
        When an edge's length is not a positive number.
    """
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


def check_segment_lengths(
    offsets: np.ndarray, vertex_lon: np.ndarray, vertex_lat: np.ndarray, source: str
) -> None:
    """Raise a ValueError when a straight piece of road is longer than :data:`MAX_SEGMENT_M`.

    A node at (0, 0) or with swapped coordinates draws a road across half the world; snapping
    would cut it into millions of pieces and every search would run along it.

    Parameters
    ----------
    offsets
        Link ``i``'s vertices are ``vertex_lon/lat[offsets[i]:offsets[i + 1]]``.
    vertex_lon, vertex_lat
        Flattened link vertices, degrees.
    source
        Where the links came from (for the message).

    Raises
    ------
    ValueError
        When a piece between two vertices of a link is longer than :data:`MAX_SEGMENT_M`.
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


def check_geometry_ends(
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

    Parameters
    ----------
    node_lon, node_lat
        Node coordinates, degrees.
    iu, iv
        Positions of each edge's nodes in ``node_lon``/``node_lat``.
    offsets, vertex_lon, vertex_lat
        The edges' geometries, flattened (as in :class:`NetworkArrays`), degrees.
    u, v
        The edges' node labels (for the message).
    source
        Where the edges came from (for the message).

    Raises
    ------
    ValueError
        When a geometry's ends lie more than :data:`GEOMETRY_END_TOLERANCE_M` from its nodes
        (either way round). Nothing is checked when a geometry has no vertices.
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
