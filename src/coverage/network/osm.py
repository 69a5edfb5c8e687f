"""Read OpenStreetMap XML and PBF files into :class:`~coverage.network.arrays.NetworkArrays`.

OSM files (``.osm``, ``.osm.pbf``, ``.osm.gz``, ``.osm.bz2``) are read with pyosmium. Ways are
split at intersection nodes (nodes used by two or more ways, or twice by one way) and at way
ends, so graph nodes are the same as OSMnx's before simplification minus its degree-2 nodes, and
link lengths are the great-circle lengths of the way pieces (OSMnx's formula and earth radius).
OSM nodes at exactly the same position are merged into one (a zero-length edge is otherwise an
error), and ways are cut where they reference nodes missing from the extract.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from coverage.network._ragged import ranges
from coverage.network.arrays import NetworkArrays, check_segment_lengths, great_circle_m
from coverage.network.modes import TAG_KEYS, check_mode, usable, way_directions

__all__ = ["EmptyNetworkError", "read_osm"]


class EmptyNetworkError(ValueError):
    """The file is a road network, but keeps no road usable for the travel mode."""


def read_osm(
    path: str | Path, *, mode: str = "walk", progress: Callable[[str], None] | None = None
) -> NetworkArrays:
    """Read an OSM XML or PBF file with pyosmium and build the network of a travel mode.

    See the module docstring for how ways become links; :func:`coverage.network.readers.read_file`
    chooses this reader for OSM files.
    """
    import osmium  # lazy: only OSM files need it

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
    check_segment_lengths(offsets, lons[vertex], lats[vertex], source)
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
