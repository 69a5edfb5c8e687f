"""Network costs between points: nearest destination, cost tables and service areas.

How a cost is measured
----------------------
Every point is snapped (:meth:`RoadNetwork.snap`) to the nearest point of the nearest road of
the routing component. The cost from an origin to a destination is the length of

    origin → (straight connector) → its road → network path → the destination's road →
    (straight connector) → destination,

so ``distance_m`` **includes both connectors**, walked or ridden at the same speed as the road.
Along the origin's and the destination's own road, only the allowed directions are used
(``ebike`` keeps one-way streets; an attachment exactly on a node may leave or enter by that node
in any direction). An origin and a destination on the same road piece may also go straight along
it. Costs are **from origin to destination**; with one-way streets the way back can differ.

How it is computed
------------------
Everything is vectorized; there is no Python loop per origin or per destination. Each
destination becomes a virtual node joined to its road's two end nodes by the partial road
lengths plus its connector. Dijkstra runs on the *reversed* graph from those virtual nodes
(SciPy's ``csgraph.dijkstra``), which gives, for every node, the cost from that node *to* the
destinations. Each origin then takes the better of its road's two end nodes.

* :func:`nearest`: one multi-source Dijkstra from all destinations (``min_only=True``) also tells
  which destination is nearest to each node.
* :func:`cost_table`: Dijkstra bounded by ``max_cost`` from the destinations, grouped by 4 km
  tiles, each group on the sub-graph of the nodes that can lie within ``max_cost`` of it
  (small dense rows, see ``_reached``); origins are joined per *link* (the destinations
  reached from its two ends merged once), then expanded per origin in output order.
* :func:`service_areas`: the same bounded search; the reached parts of each link are exact
  intervals (for ``road_km``), and the polygon is the contour of a distance transform of the
  reached roads on a 10 m raster (see the function).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from contourpy import FillType, contour_generator
from scipy.ndimage import distance_transform_edt
from scipy.sparse.csgraph import dijkstra

from coverage.network.parallel import each, ordered
from coverage.network.ragged import owners, ranges, within
from coverage.network.snap import REASON_NONE_REACHABLE, Snapped

if TYPE_CHECKING:
    from coverage.network.graph import Points, RoadNetwork

__all__ = ["cost_table", "nearest", "service_areas"]

#: Attachments within this many metres of a node count as on the node.
ON_NODE_M = 1e-6
#: Largest number of float64 cells in one batch of Dijkstra rows (128 MB).
BATCH_CELLS = 1 << 24
#: Side of the tiles grouping destinations for bounded searches, metres (see ``_reached``).
BATCH_TILE = 4_000.0
#: Origins handled together when joining them to the reached nodes.
ORIGIN_CHUNK = 65_536
#: Pixel of the rasters on which service-area polygons are drawn, metres.
AREA_PIXEL_M = 10.0

_COSTS = ("time_min", "distance_m")


class _Ends:
    """Where snapped points leave (origins) or enter (destinations) the node graph.

    ``rows`` are the positions of the reachable points; the other arrays are indexed like it.
    When every point is reachable the snap's own arrays are used without copies; node numbers
    are int32 and positions along the links are computed on demand (:meth:`pos_at`), so that
    a million origins hold four arrays.
    """

    def __init__(self, net: RoadNetwork, s: Snapped, rows: np.ndarray, *, origin: bool) -> None:
        a = net.arrays
        full = len(rows) == len(s.link)  # rows is then arange(n)

        def pick(values: np.ndarray) -> np.ndarray:
            return values if full else values[rows]

        link = pick(s.link)
        length = a.length[link]
        t = pick(s.t)
        cost_a = t * length  # the part from a, then the cost through a, in place
        cost_b = 1.0 - t  # (1 - t) * length, as the snap defines it: not length - part_a
        cost_b *= length
        at_a = cost_a <= ON_NODE_M
        at_b = cost_b <= ON_NODE_M
        cost_a[at_a] = 0.0
        cost_b[at_b] = 0.0
        if origin:  # leave towards a: against the link's direction
            ok_a = a.backward[link] | at_a
            ok_b = a.forward[link] | at_b
        else:  # enter from a: along the link's direction
            ok_a = a.forward[link] | at_a
            ok_b = a.backward[link] | at_b
        snap = pick(s.distance)
        cost_a += snap
        cost_a[~ok_a] = np.inf
        cost_b += snap
        cost_b[~ok_b] = np.inf
        ends_a, ends_b = _link_ends32(net)
        self._arrays = a
        self._snapped = s
        self.rows = rows
        self.link = link
        self.snap = snap
        self.node_a = ends_a[link]
        self.node_b = ends_b[link]
        self.cost_a = cost_a
        self.cost_b = cost_b
        # Searches from these destinations, kept for the next origins: a new service point's
        # costs to migrants and then to registered residents are one search, not two.
        self.searches: dict[tuple[str, float], Any] = {}

    def pos_at(self, i: np.ndarray | slice) -> np.ndarray:
        """Metres from end ``a`` along the link of entries ``i``."""
        part_a = self._snapped.t[self.rows[i]] * self._arrays.length[self.link[i]]
        part_a[part_a <= ON_NODE_M] = 0.0
        return part_a

    @property
    def pos(self) -> np.ndarray:
        """Metres from end ``a`` along the link of every entry (for small sets)."""
        return self.pos_at(slice(None))

    @property
    def x(self) -> np.ndarray:
        """Return the x of the attachment points."""
        return self._snapped.x[self.rows]

    @property
    def y(self) -> np.ndarray:
        """Return the y of the attachment points."""
        return self._snapped.y[self.rows]


def _link_ends32(net: RoadNetwork) -> tuple[np.ndarray, np.ndarray]:
    """End nodes of every link as int32 (half the memory of per-point copies)."""
    cached = getattr(net, "_link_ends32", None)
    if cached is None:
        a = net.arrays
        cached = net._link_ends32 = (a.link_a.astype(np.int32), a.link_b.astype(np.int32))
    return cached


def _virtual_arcs(dest: _Ends, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arcs of the virtual nodes of destinations ``ids``: (position in ``ids``, node, cost).

    Virtual node ``j`` has arcs to its road's ends (one arc if both ends are the same node).
    """
    same = dest.node_a[ids] == dest.node_b[ids]
    cost_a = np.where(same, np.minimum(dest.cost_a[ids], dest.cost_b[ids]), dest.cost_a[ids])
    cost_b = np.where(same, np.inf, dest.cost_b[ids])
    cols = np.column_stack([dest.node_a[ids], dest.node_b[ids]])
    w = np.column_stack([cost_a, cost_b])
    keep = np.isfinite(w)
    rows = np.repeat(np.arange(len(ids)), 2).reshape(-1, 2)
    return rows[keep], cols[keep], w[keep]


def _augmented(net: RoadNetwork, dest: _Ends) -> sp.csr_array:
    """Return the reversed graph plus one virtual node per destination (rows N, N+1, ...)."""
    base = net.graph_reversed
    n, s = net.n_nodes, len(dest.rows)
    rows, cols, w = _virtual_arcs(dest, np.arange(s))
    indptr = np.r_[base.indptr, base.indptr[-1] + np.cumsum(np.bincount(rows, minlength=s))]
    indices = np.r_[base.indices, cols].astype(np.int32)
    data = np.r_[base.data, w]
    return sp.csr_array((data, indices, indptr), shape=(n + s, n + s))


def _direct(
    orig: _Ends, dest: _Ends, net: RoadNetwork, omask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Origin–destination pairs on the same link, going straight along it.

    Returns positions in ``orig.rows`` and ``dest.rows`` and the cost in metres.
    """
    sel = np.flatnonzero(np.isin(orig.link, dest.link))
    if omask is not None:
        sel = sel[omask[sel]]
    if len(sel) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    left = pd.DataFrame({"o": sel, "link": orig.link[sel]})
    right = pd.DataFrame({"d": np.arange(len(dest.rows)), "link": dest.link})
    pairs = left.merge(right, on="link")
    o = pairs["o"].to_numpy()
    d = pairs["d"].to_numpy()
    along = dest.pos[d] - orig.pos_at(o)
    lk = orig.link[o]
    ok = ((along >= 0) & net.arrays.forward[lk]) | ((along <= 0) & net.arrays.backward[lk])
    ok |= np.abs(along) <= ON_NODE_M
    cost = orig.snap[o] + np.abs(along) + dest.snap[d]
    return o[ok], d[ok], cost[ok]


def _labels(index: pd.Index, pos: np.ndarray, valid: np.ndarray) -> pd.Series | np.ndarray:
    """Index labels at ``pos`` where ``valid``, missing elsewhere (nullable ints for ints)."""
    if isinstance(index.dtype, np.dtype) and index.dtype.kind in "iu":
        # Plain integers: gather the values and wrap them with the mask, without copies.
        values = index.to_numpy()[np.where(valid, pos, 0)].astype(np.int64, copy=False)
        return pd.arrays.IntegerArray(values, ~valid)
    taken = index.take(np.where(valid, pos, 0))
    if pd.api.types.is_integer_dtype(taken.dtype):
        out = pd.array(taken.to_numpy(), dtype="Int64")
        out[~valid] = pd.NA
        return out
    values = taken.to_numpy(dtype=object)
    values[~valid] = None
    return values


def _prepare(
    net: RoadNetwork, points: Points, *, origin: bool
) -> tuple[pd.Index, Snapped, np.ndarray, _Ends]:
    snapped = net.snap_points(points)
    key = "origin_ends" if origin else "destination_ends"
    ends = snapped.derived.get(key)
    if ends is None:  # computed once per snapped layer and role
        ok = np.flatnonzero(pd.isna(snapped.reason))
        ends = snapped.derived[key] = _Ends(net, snapped.snapped, ok, origin=origin)
    return snapped.index, snapped.snapped, snapped.reason, ends


def nearest(net: RoadNetwork, origins: Points, destinations: Points) -> pd.DataFrame:
    """Find each origin's nearest destination by network distance.

    Parameters
    ----------
    net
        The road network.
    origins, destinations
        GeoSeries/GeoDataFrames in any CRS, or ``x, y`` in the network CRS.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``origins``:

        * ``destination``: index label of the nearest destination (missing if none);
        * ``distance_m``: origin connector + network path + destination connector, metres;
        * ``time_min``: ``distance_m`` at the network's speed;
        * ``snap_m``: the origin's connector length (its straight distance to the road);
        * ``reason``: missing, or why there is no destination: ``"too far from a road"``,
          ``"disconnected component"``, ``"missing geometry"`` (see
          :meth:`RoadNetwork.snap`), or ``"no destination reachable"``.

        Destinations that cannot be snapped are left out; ``net.snap(destinations)`` says why.
    """
    oindex, osnap, oreason, orig = _prepare(net, origins, origin=True)
    dindex, _, _, dest = _prepare(net, destinations, origin=False)
    n_orig = len(oindex)
    distance = np.full(n_orig, np.nan)
    dest_pos = np.full(n_orig, -1, dtype=np.int64)  # position in dest.rows
    if len(dest.rows) and len(orig.rows):
        _nearest_via_nodes(net, orig, dest, distance, dest_pos)
        o, d, c = _direct(orig, dest, net)
        if len(o):
            order = np.lexsort((d, c, o))
            o, d, c = o[order], d[order], c[order]
            first = np.r_[True, o[1:] != o[:-1]]
            rows, d, c = orig.rows[o[first]], d[first], c[first]
            better = ~(c >= distance[rows])  # also where nothing was found (NaN)
            distance[rows[better]] = c[better]
            dest_pos[rows[better]] = d[better]
    reason = oreason.copy()
    lost = orig.rows[np.isnan(distance[orig.rows])]
    reason[lost] = REASON_NONE_REACHABLE
    valid = dest_pos >= 0
    dest_pos[valid] = dest.rows[dest_pos[valid]]
    # copy=False: every column is a fresh array (the snap distances are copied here).
    return pd.DataFrame(
        {
            "destination": _labels(dindex, dest_pos, valid),
            "distance_m": distance,
            "time_min": distance / net.speed_m_per_min,
            "snap_m": osnap.distance.copy(),
            "reason": reason,
        },
        index=oindex,
        copy=False,
    )


def _nearest_via_nodes(
    net: RoadNetwork, orig: _Ends, dest: _Ends, distance: np.ndarray, dest_pos: np.ndarray
) -> None:
    """Fill ``distance`` and ``dest_pos`` (by origin row) through the graph's nodes.

    One multi-source Dijkstra from all destinations (``min_only``) gives every node its cost
    to the nearest destination and which one it is; each origin takes the better of its
    link's two ends. Origins go in chunks so that the temporary arrays stay small.
    """
    n = net.n_nodes
    kept = dest.searches.get(("nearest", np.inf))
    if kept is None:
        graph = _augmented(net, dest)
        dist, _, sources = dijkstra(
            graph, directed=True, indices=n + np.arange(len(dest.rows)), min_only=True,
            return_predecessors=True,
        )
        sources -= n
        dest.searches["nearest", np.inf] = kept = (dist, sources)
    dist, sources = kept

    def run(bounds: tuple[int, int]) -> None:
        lo, hi = bounds
        node_a, node_b = orig.node_a[lo:hi], orig.node_b[lo:hi]
        best = dist[node_a]
        best += orig.cost_a[lo:hi]
        via_b = dist[node_b]
        via_b += orig.cost_b[lo:hi]
        use_b = via_b < best
        np.copyto(best, via_b, where=use_b)
        which = sources[node_a]
        np.copyto(which, sources[node_b], where=use_b)
        found = np.flatnonzero(np.isfinite(best))
        rows = orig.rows[lo:hi][found]
        distance[rows] = best[found]
        dest_pos[rows] = which[found]

    each(run, _chunks(len(orig.rows), ORIGIN_CHUNK))


def _reach_radius(net: RoadNetwork, limit: float) -> float:
    """Straight-line distance (network CRS) beyond which no node is within ``limit`` metres.

    A path's cost is the sum of link lengths and connector lengths. Each link is drawn from its
    node ``a`` through its vertices to ``b``; ``ratio`` is the smallest link length per drawn
    metre (about 1 for OSM lengths: geodesic length against the projected drawing, whose scale
    differs by < 0.1 %), so a node reached at cost ``c`` lies within ``c / ratio`` of the
    site's attachment point. Networks with odd lengths (a link shorter than its drawing) only
    get a larger radius, never a wrong answer.
    """
    cached = getattr(net, "_reach_ratio", None)
    if cached is None:
        a = net.arrays
        vx, vy, off = net.vertex_x, net.vertex_y, a.offsets
        seg = np.hypot(np.diff(vx), np.diff(vy))
        seg[off[1:-1] - 1] = 0.0  # no segment between the last vertex of a link and the next
        drawn = np.add.reduceat(np.r_[seg, 0.0], off[:-1]) if len(off) > 1 else np.zeros(0)
        drawn = drawn * (np.diff(off) > 1)
        first, last = off[:-1], np.maximum(off[1:] - 1, off[:-1])
        gap_a = np.hypot(vx[first] - net.x[a.link_a], vy[first] - net.y[a.link_a])
        gap_b = np.hypot(vx[last] - net.x[a.link_b], vy[last] - net.y[a.link_b])
        drawn = drawn + gap_a + gap_b
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(drawn > 0, a.length / drawn, np.inf)
        cached = float(min(1.0, ratio.min())) if len(ratio) else 1.0
        net._reach_ratio = cached
    if cached <= 0:
        return np.inf
    return limit / cached * (1.0 + 1e-9) + 1e-6


def _reached(
    net: RoadNetwork, dest: _Ends, limit: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bounded Dijkstra from every destination; (destination, node, cost) of reached nodes.

    In no particular order. A search bounded by ``limit`` never leaves the disc of
    radius :func:`_reach_radius` around its destination, so destinations are grouped by
    ``BATCH_TILE`` × ``BATCH_TILE`` tiles and each group runs on the sub-graph of the nodes
    in its tiles' box grown by that radius: SciPy then allocates and scans rows of a few
    thousand nodes instead of the whole city, which is most of the work of a bounded search.
    The result is the same as on the whole graph (every path within the limit stays in the
    box).
    """
    n = net.n_nodes
    n_dest = len(dest.rows)
    radius = _reach_radius(net, limit)
    dests, nodes, costs = [], [], []
    if not np.isfinite(radius) or n_dest == 0:
        groups = [np.arange(n_dest)]
        boxes = None
    else:
        tile = max(BATCH_TILE, radius)
        gx = np.floor((dest.x - dest.x.min()) / tile).astype(np.int64)
        gy = np.floor((dest.y - dest.y.min()) / tile).astype(np.int64)
        key = gx * (int(gy.max()) + 1) + gy
        order = np.argsort(key, kind="stable")
        cut = np.flatnonzero(np.diff(key[order])) + 1
        groups = np.split(order, cut)
        boxes = True
    # Nodes sorted by x, to pick a box's nodes with one binary search and one filter.
    xorder = getattr(net, "_x_order", None)
    if xorder is None:
        xorder = net._x_order = np.argsort(net.x)
    xs = net.x[xorder]
    base = net.graph_reversed
    dx, dy = dest.x, dest.y

    def run(ids: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        ids = np.sort(ids)
        if boxes is None:
            sub = np.arange(n)
            g = _augmented(net, dest)
            local_idx = n + ids
        else:
            lo_x, hi_x = dx[ids].min() - radius, dx[ids].max() + radius
            lo_y, hi_y = dy[ids].min() - radius, dy[ids].max() + radius
            cand = xorder[np.searchsorted(xs, lo_x):np.searchsorted(xs, hi_x, side="right")]
            yy = net.y[cand]
            sub = np.sort(cand[(yy >= lo_y) & (yy <= hi_y)])
            g = _subgraph(base, sub, n, dest, ids)
            local_idx = len(sub) + np.arange(len(ids))
        m = len(sub)
        batch = int(max(1, min(len(ids), BATCH_CELLS // max(m + len(ids), 1))))
        out = []
        for start in range(0, len(ids), batch):
            rows = local_idx[start:start + batch]
            dist = dijkstra(g, directed=True, indices=rows, limit=limit)[:, :m]
            r, c = np.nonzero(dist <= limit)
            out.append((ids[start:start + batch][r], sub[c], dist[r, c]))
        return out

    # A few dozen spatial groups of destinations, not one loop per source.
    for part in ordered(run, groups):
        for d_, n_, c_ in part:
            dests.append(d_)
            nodes.append(n_)
            costs.append(c_)
    dest_pos = np.concatenate(dests) if dests else np.zeros(0, dtype=np.int64)
    node = np.concatenate(nodes) if nodes else np.zeros(0, dtype=np.int64)
    cost = np.concatenate(costs) if costs else np.zeros(0)
    return dest_pos, node, cost


def _subgraph(
    base: sp.csr_array, sub: np.ndarray, n: int, dest: _Ends, ids: np.ndarray
) -> sp.csr_array:
    """Restrict the reversed graph to nodes ``sub`` and add virtual nodes for ``ids``."""
    m = len(sub)
    local = np.full(n, -1, dtype=np.int64)
    local[sub] = np.arange(m)
    start, stop = base.indptr[sub], base.indptr[sub + 1]
    cnt = stop - start
    k = ranges(start, cnt)
    row = np.repeat(np.arange(m), cnt)
    col = local[base.indices[k]]
    keep = col >= 0
    row, col, w = row[keep], col[keep], base.data[k][keep]
    vrow, vcol, vw = _virtual_arcs(dest, ids)
    vcol = local[vcol]
    ok = vcol >= 0  # an end outside the box is farther than the limit
    row = np.r_[row, m + vrow[ok]]
    col = np.r_[col, vcol[ok]]
    w = np.r_[w, vw[ok]]
    size = m + len(ids)
    indptr = np.r_[0, np.cumsum(np.bincount(row, minlength=size))]
    return sp.csr_array((w, col.astype(np.int32), indptr), shape=(size, size))


def _node_lists(net: RoadNetwork, n_dest: int, reached: tuple[np.ndarray, ...]) -> sp.csr_array:
    """List the reached destinations of every node: a node × destination CSR matrix of costs.

    Rows hold the destinations in increasing order (SciPy's CSR → CSC conversion is a
    counting sort). Zero costs are stored explicitly, like any other.
    """
    r_dest, r_node, r_cost = reached
    by_dest = sp.csr_array((r_cost, (r_dest, r_node)), shape=(n_dest, net.n_nodes))
    by_node = by_dest.tocsc()
    return sp.csr_array((by_node.data, by_node.indices, by_node.indptr),
                        shape=(net.n_nodes, n_dest))


def _link_lists(
    net: RoadNetwork, links: np.ndarray, nodes: sp.csr_array
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge the destination lists of both ends of each link in ``links``.

    Returns the CSR pointer (one row per link), the destinations (sorted in each row) and the
    costs from end ``a`` and from end ``b`` (inf where an end does not reach the
    destination) as the real and imaginary parts of one complex array, so that one gather
    fetches both. The union is SciPy's sparse sum of two indicator matrices (1 for
    end ``a``, 2 for end ``b``); each end's costs then fill the entries whose indicator has
    its bit, in order, since both lists and their union are sorted.
    """
    a = net.arrays
    end_a = nodes[a.link_a[links]]
    end_b = nodes[a.link_b[links]]
    mark_a = sp.csr_array((np.ones(end_a.nnz, dtype=np.int8), end_a.indices, end_a.indptr),
                          shape=end_a.shape)
    mark_b = sp.csr_array((np.full(end_b.nnz, 2, dtype=np.int8), end_b.indices, end_b.indptr),
                          shape=end_b.shape)
    union = mark_a + mark_b
    union.sort_indices()
    cost = np.full(union.nnz, complex(np.inf, np.inf))
    cost.real[(union.data & 1) != 0] = end_a.data
    cost.imag[(union.data & 2) != 0] = end_b.data
    return union.indptr, union.indices.astype(np.int32, copy=False), cost


def _direct_keys(
    orig: _Ends, dest: _Ends, net: RoadNetwork, limit: float
) -> tuple[np.ndarray, np.ndarray]:
    """Same-link pairs within ``limit`` as sorted keys ``origin * n_dest + dest`` and costs.

    One (the cheapest) cost per pair.
    """
    n_dest = len(dest.rows)
    d_o, d_d, d_c = _direct(orig, dest, net)
    sel = d_c <= limit
    dk = d_o[sel].astype(np.int64) * n_dest + d_d[sel]
    d_c = d_c[sel]
    order = np.lexsort((d_c, dk))
    dk, d_c = dk[order], d_c[order]
    first = np.r_[True, dk[1:] != dk[:-1]][: len(dk)]
    return dk[first], d_c[first]


def _join(
    orig: _Ends,
    dest: _Ends,
    net: RoadNetwork,
    reached: tuple[np.ndarray, np.ndarray, np.ndarray],
    limit: float,
    labels: tuple[np.ndarray | None, np.ndarray | None] = (None, None),
    scale: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (origin, destination, cost) within ``limit``, sorted by origin then destination.

    Origins and destinations are positions in ``orig.rows`` and ``dest.rows``, or the values
    of ``labels`` (one array per side, indexed by those positions) where given; costs are in
    metres, or divided by ``scale`` where given. (Labels and units are applied chunk by chunk,
    while the arrays are in cache, rather than in extra passes over millions of rows.)

    Origins are joined per *link*, not per origin end: for each link holding origins, the
    destinations reached from its end ``a`` and from its end ``b`` are merged once into one
    list (destination, cost at ``a``, cost at ``b``); each origin then walks its link's list
    and takes ``min(cost_a + at_a, cost_b + at_b)``. That touches each output pair once, in
    output order (origins ascending, each list sorted by destination), with no global sort.
    Origins go in chunks of ``ORIGIN_CHUNK``, so that the temporary arrays stay small (and in
    cache).
    """
    n_dest = len(dest.rows)
    chunks = _chunks(len(orig.rows), ORIGIN_CHUNK)
    # Origins within the limit of an end of their link, counted per link.
    per_link = np.zeros(net.n_links, dtype=np.int64)
    for lo, hi in chunks:
        near = np.minimum(orig.cost_a[lo:hi], orig.cost_b[lo:hi]) <= limit
        per_link += np.bincount(orig.link[lo:hi][near], minlength=net.n_links)
    links = np.flatnonzero(per_link)
    link_pos = np.zeros(net.n_links, dtype=np.int64)
    link_pos[links] = np.arange(len(links))
    l_ptr, l_dest, l_cost = _link_lists(net, links, _node_lists(net, n_dest, reached))
    dk, d_c = _direct_keys(orig, dest, net, limit)

    def run(bounds: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lo, hi = bounds
        cost_a, cost_b = orig.cost_a[lo:hi], orig.cost_b[lo:hi]
        live = np.flatnonzero(np.minimum(cost_a, cost_b) <= limit)
        lp = link_pos[orig.link[lo:hi][live]]
        first = l_ptr[lp]
        cnt = l_ptr[lp + 1] - first
        owner = owners(cnt)
        k = np.arange(len(owner), dtype=np.int64)
        k += (first - (np.cumsum(cnt) - cnt))[owner]
        at = l_cost[k]
        c = cost_a[live][owner]
        c += at.real
        c_b = cost_b[live][owner]
        c_b += at.imag
        np.minimum(c, c_b, out=c)
        keep = np.flatnonzero(c <= limit)
        oo, dd, c = lo + live[owner[keep]], l_dest[k[keep]], c[keep]
        oo, dd, c = _merge_direct(oo, dd, c, dk, d_c, n_dest, lo, hi)
        if scale is not None:
            c /= scale
        return (oo if labels[0] is None else labels[0][oo],
                dd if labels[1] is None else labels[1][dd], c)

    # Written once into arrays sized for every candidate (pages never written are never
    # touched), rather than into per-chunk parts concatenated afterwards.
    size = int(np.dot(per_link[links], np.diff(l_ptr))) + len(dk)
    o = np.empty(size, dtype=np.int64 if labels[0] is None else labels[0].dtype)
    d = np.empty(size, dtype=np.int32 if labels[1] is None else labels[1].dtype)
    c = np.empty(size)
    end = 0
    for oo, dd, cc in ordered(run, chunks):
        o[end:end + len(cc)], d[end:end + len(cc)], c[end:end + len(cc)] = oo, dd, cc
        end += len(cc)
    return o[:end], d[:end], c[:end]


def _merge_direct(
    oo: np.ndarray, dd: np.ndarray, c: np.ndarray, dk: np.ndarray, d_c: np.ndarray,
    n_dest: int, lo: int, hi: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge the same-link pairs of origins ``lo`` to ``hi`` into one chunk's sorted output."""
    s0, s1 = np.searchsorted(dk, [lo * n_dest, hi * n_dest])
    if s1 <= s0:
        return oo, dd, c
    key = oo.astype(np.int64) * n_dest + dd
    ck, cc = dk[s0:s1], d_c[s0:s1]
    at = np.searchsorted(key, ck)
    found = at < len(key)
    found[found] = key[at[found]] == ck[found]
    c[at[found]] = np.minimum(c[at[found]], cc[found])
    new = ~found
    if new.any():
        oo = np.insert(oo, at[new], ck[new] // n_dest)
        dd = np.insert(dd, at[new], (ck[new] % n_dest).astype(dd.dtype))
        c = np.insert(c, at[new], cc[new])
    return oo, dd, c


def _chunks(n: int, size: int) -> list[tuple[int, int]]:
    return [(lo, min(lo + size, n)) for lo in range(0, n, size)]


def _limit_m(net: RoadNetwork, max_cost: float, cost: str) -> float:
    if cost not in _COSTS:
        msg = f"cost must be one of {', '.join(_COSTS)}; got {cost!r}"
        raise ValueError(msg)
    if not (np.isfinite(max_cost) and max_cost >= 0):
        msg = f"max_cost must be a finite number >= 0, got {max_cost!r}"
        raise ValueError(msg)
    return float(max_cost) * (net.speed_m_per_min if cost == "time_min" else 1.0)


def cost_table(
    net: RoadNetwork,
    origins: Points,
    destinations: Points,
    *,
    max_cost: float,
    cost: str = "time_min",
) -> pd.DataFrame:
    """List every origin–destination pair whose cost is at most ``max_cost``.

    Parameters
    ----------
    net
        The road network.
    origins, destinations
        GeoSeries/GeoDataFrames in any CRS, or ``x, y`` in the network CRS.
    max_cost
        Largest cost kept, in the unit of ``cost``.
    cost
        ``"time_min"`` (minutes at the network's speed) or ``"distance_m"`` (metres). Both
        include the two connectors (see the module docstring) and run from origin to
        destination.

    Returns
    -------
    pandas.DataFrame
        Columns ``origin``, ``destination`` (index labels of the inputs) and ``cost``, one row
        per pair within ``max_cost``, sorted by origin then destination. Unreachable origins
        and destinations have no rows; ``df.attrs["unreachable_origins"]`` and
        ``["unreachable_destinations"]`` count them by reason.
    """
    limit = _limit_m(net, max_cost, cost)
    oindex, _, oreason, orig = _prepare(net, origins, origin=True)
    dindex, _, dreason, dest = _prepare(net, destinations, origin=False)
    # Origins 0..n-1 all reachable: positions are the labels (no gather of millions of rows).
    same = (isinstance(oindex, pd.RangeIndex) and oindex.start == 0 and oindex.step == 1
            and len(orig.rows) == len(oindex))
    labels = (None if same else _label_array(oindex, orig.rows),
              _label_array(dindex, dest.rows))
    if len(dest.rows) and len(orig.rows):
        reached = dest.searches.get(("reached", limit))
        if reached is None:
            reached = dest.searches["reached", limit] = _reached(net, dest, limit)
        o, d, c = _join(orig, dest, net, reached, limit, labels,
                        net.speed_m_per_min if cost == "time_min" else None)
    else:
        o = d = np.zeros(0, dtype=np.int64)
        c = np.zeros(0)
        labels = (None, None)
    # copy=False: the columns are fresh arrays; copying millions of rows would double the time.
    table = pd.DataFrame(
        {
            "origin": o if same or labels[0] is not None else oindex.take(orig.rows[o]),
            "destination": dindex.take(dest.rows[d]) if labels[1] is None else d,
            "cost": c,
        },
        copy=False,
    )
    table.attrs["unreachable_origins"] = _count_reasons(oreason)
    table.attrs["unreachable_destinations"] = _count_reasons(dreason)
    return table


def _label_array(index: pd.Index, rows: np.ndarray) -> np.ndarray | None:
    """Labels of ``index`` at ``rows`` as a NumPy array, for plain numeric indexes only."""
    dtype = index.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
        return index.to_numpy()[rows]
    return None


def _count_reasons(reason: np.ndarray) -> dict[str, int]:
    """Count the reasons of unreachable points (counting a million Nones is slow in pandas)."""
    values = reason[~pd.isna(reason)]
    return pd.Series(values, dtype=object).value_counts().to_dict() if len(values) else {}


def service_areas(
    net: RoadNetwork,
    sites: Points,
    minutes: float | Sequence[float],
    *,
    buffer_m: float = 50.0,
) -> gpd.GeoDataFrame:
    """Catchment polygons: the roads from which a site is reached within the time, buffered.

    A point of a road is in site ``s``'s ``m``-minute area when travelling from it to the site
    (along the road, the network, the site's road and the site's connector, in the allowed
    directions) takes at most ``m`` minutes. On each reached link that set is a union of at
    most four intervals (towards end ``a``, towards end ``b``, and both ways along the site's
    own link), computed exactly: ``road_km`` is their total length (link lengths, so it agrees
    with the cost tables). The polygon does not subtract the walk from a home to its road; use
    :func:`cost_table` for exact counts.

    The polygon is drawn on a raster, which is what makes hundreds of sites take seconds
    (buffering and unioning thousands of road pieces per site in GEOS took about a second per
    site): the reached roads are sampled every ``AREA_PIXEL_M / 2`` metres, the samples mark
    ``AREA_PIXEL_M`` pixels, the Euclidean distance transform gives every pixel its distance
    to the nearest reached road pixel, and the outline is the contour of that distance at
    ``buffer_m`` (marching squares, so the edge is smooth, not stair-stepped). The outline is
    within about one pixel (10 m) of the exact buffer of the reached roads, which is far below
    what a 50 m buffer on a map can show.

    Parameters
    ----------
    net
        The road network.
    sites
        GeoSeries/GeoDataFrame in any CRS, or ``x, y`` in the network CRS.
    minutes
        One or more time limits.
    buffer_m
        Buffer around the reached roads, metres (> 0).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per reachable site and time limit: ``site`` (index label), ``minutes``,
        ``road_km`` (length of road reached) and ``geometry`` (polygon, network CRS; empty
        when nothing is reached), sorted by site then minutes.
    """
    limits = sorted({float(m) for m in np.atleast_1d(np.asarray(minutes, dtype=np.float64))})
    if not limits or not all(np.isfinite(m) and m >= 0 for m in limits):
        msg = f"minutes must be finite numbers >= 0, got {minutes!r}"
        raise ValueError(msg)
    if not (np.isfinite(buffer_m) and buffer_m > 0):
        msg = f"buffer_m must be a positive number of metres, got {buffer_m!r}"
        raise ValueError(msg)
    dindex, _, _, dest = _prepare(net, sites, origin=False)
    speed = net.speed_m_per_min
    budgets = np.array(limits) * speed
    n_sites = len(dest.rows)
    if n_sites:
        site, link, lo, hi, ca, cb = _reached_intervals(net, dest, budgets)
        length = net.arrays.length[link]
        road_m = np.zeros((n_sites, len(budgets)))
        np.add.at(road_m, site, _union_length(lo, hi, length))
        polygons = _area_polygons(net, dest, site, link, ca, cb, budgets, buffer_m)
    rows = []
    for j in range(n_sites):  # one row per site and limit
        for b, m in enumerate(limits):
            rows.append((int(dest.rows[j]), m, road_m[j, b] / 1000.0, polygons[j][b]))
    frame = pd.DataFrame(rows, columns=["pos", "minutes", "road_km", "geometry"])
    return gpd.GeoDataFrame(
        {
            "site": dindex.take(frame["pos"].to_numpy(dtype=np.int64)),
            "minutes": frame["minutes"].to_numpy(dtype=np.float64),
            "road_km": frame["road_km"].to_numpy(dtype=np.float64),
        },
        geometry=gpd.GeoSeries(frame["geometry"].to_numpy(dtype=object), crs=net.crs).values,
        crs=net.crs,
    )


def _reached_intervals(
    net: RoadNetwork, dest: _Ends, budgets: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Find the parts of links within each budget of each site, as intervals along links.

    Returns ``site``, ``link`` (one row per reached site–link pair, sorted by site) and ``lo``,
    ``hi`` of shape (pairs, budgets, 4): metres from end ``a``; an empty interval has
    ``lo > hi``. The four intervals: leaving towards ``a``, towards ``b``, and along the
    site's own link towards the site from either side. Also ``ca``, ``cb``: the cost from
    each end to the site (inf when unreached or when the link may not be left that way).
    """
    a = net.arrays
    n = net.n_nodes
    n_sites = len(dest.rows)
    r_site, r_node, r_cost = _reached(net, dest, float(budgets[-1]))
    # Cost to the site from each reached (site, node), looked up by a sorted key.
    key = r_site.astype(np.int64) * n + r_node
    order = np.argsort(key)
    key, r_cost = key[order], r_cost[order]
    # Links of the routing component at each node (CSR), to list the reached links.
    main = net.main_links
    ends = np.r_[a.link_a[main], a.link_b[main]]
    by_node = np.argsort(ends, kind="stable")
    node_links = np.r_[main, main][by_node]
    node_ptr = np.r_[0, np.cumsum(np.bincount(ends, minlength=n))]
    cnt = node_ptr[r_node + 1] - node_ptr[r_node]
    pair_site = np.r_[np.repeat(r_site, cnt), np.arange(n_sites)]
    pair_link = np.r_[node_links[ranges(node_ptr[r_node], cnt)], dest.link]
    pk = np.sort(pair_site.astype(np.int64) * a.n_links + pair_link)
    pk = pk[np.r_[True, pk[1:] != pk[:-1]]]  # (np.unique hashes, slower than sorting here)
    site, link = pk // a.n_links, pk % a.n_links

    def cost_at(node: np.ndarray) -> np.ndarray:
        if len(key) == 0:
            return np.full(len(node), np.inf)
        k = site * n + node
        at = np.minimum(np.searchsorted(key, k), len(key) - 1)
        return np.where(key[at] == k, r_cost[at], np.inf)

    length = a.length[link]
    ca = np.where(a.backward[link], cost_at(a.link_a[link]), np.inf)
    cb = np.where(a.forward[link], cost_at(a.link_b[link]), np.inf)
    own = link == dest.link[site]
    pos = dest.pos[site]
    left = np.where(own & a.forward[link], 1.0, np.nan)  # come from before the site
    right = np.where(own & a.backward[link], 1.0, np.nan)  # come from after it
    snap = dest.snap[site]
    bud = budgets[None, :]
    lo = np.empty((len(site), len(budgets), 4))
    hi = np.empty_like(lo)
    lo[:, :, 0], hi[:, :, 0] = 0.0, bud - ca[:, None]
    lo[:, :, 1], hi[:, :, 1] = length[:, None] - (bud - cb[:, None]), length[:, None]
    reach = bud - snap[:, None]
    lo[:, :, 2], hi[:, :, 2] = pos[:, None] - reach * left[:, None], pos[:, None]
    lo[:, :, 3], hi[:, :, 3] = pos[:, None], pos[:, None] + reach * right[:, None]
    lo = np.maximum(np.nan_to_num(lo, nan=np.inf), 0.0)
    hi = np.minimum(np.nan_to_num(hi, nan=-np.inf), length[:, None, None])
    return site, link, lo, hi, ca, cb


def _union_length(lo: np.ndarray, hi: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Total length of the union of the intervals along the last axis (empty when lo > hi)."""
    order = np.argsort(lo, axis=-1)
    lo = np.take_along_axis(lo, order, axis=-1)
    hi = np.take_along_axis(hi, order, axis=-1)
    hi = np.where(hi >= lo, hi, -np.inf)
    reach = np.maximum.accumulate(hi, axis=-1)
    before = np.concatenate([np.full((*hi.shape[:-1], 1), -np.inf), reach[..., :-1]], axis=-1)
    return np.maximum(hi - np.maximum(lo, before), 0.0).sum(axis=-1)


def _samples(net: RoadNetwork) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Points every ``AREA_PIXEL_M`` metres or closer along the routing component's links.

    Returns the CSR pointer by link and each sample's position along its link (metres from
    ``a``, in link-length units) and coordinates. Built once per network.
    """
    cached = getattr(net, "_area_samples", None)
    if cached is not None:
        return cached
    idx = net.snap_index
    step = AREA_PIXEL_M
    per = np.ceil(idx.seg_len / step).astype(np.int64) + 1  # both ends of every segment
    seg = np.repeat(np.arange(idx.n_segments), per)
    k = within(per)
    f = k / np.maximum(per[seg] - 1, 1)
    lk = idx.seg_link[seg]
    plen = idx.link_plen[lk]
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.where(plen > 0, (idx.seg_cum0[seg] + f * idx.seg_len[seg]) / plen, 0.0)
    s = np.clip(q, 0.0, 1.0) * net.arrays.length[lk]
    x = idx.x0[seg] + f * (idx.x1[seg] - idx.x0[seg])
    y = idx.y0[seg] + f * (idx.y1[seg] - idx.y0[seg])
    order = np.argsort(lk, kind="stable")
    ptr = np.r_[0, np.cumsum(np.bincount(lk, minlength=net.n_links))]
    net._area_samples = (ptr, s[order], x[order], y[order])
    return net._area_samples


def _area_polygons(
    net: RoadNetwork, dest: _Ends, site: np.ndarray, link: np.ndarray, ca: np.ndarray,
    cb: np.ndarray, budgets: np.ndarray, buffer_m: float
) -> list[list[shapely.Geometry]]:
    """One polygon per site and budget: the raster buffer of the reached road samples."""
    n_budgets = len(budgets)
    ptr, s_pos, s_x, s_y = _samples(net)
    cnt = ptr[link + 1] - ptr[link]
    k = ranges(ptr[link], cnt)
    pair = np.repeat(np.arange(len(link)), cnt)
    pos = s_pos[k]
    length = net.arrays.length[link]
    cost = np.minimum(pos + np.repeat(ca, cnt), (np.repeat(length, cnt) - pos)
                      + np.repeat(cb, cnt))
    # Along the site's own link (a handful of pairs).
    own = np.flatnonzero((link == dest.link[site])[pair])
    if len(own):
        a = net.arrays
        j, lk = site[pair[own]], link[pair[own]]
        along = dest.pos[j] - pos[own]
        ok = ((along >= 0) & a.forward[lk]) | ((along <= 0) & a.backward[lk])
        cost[own] = np.minimum(cost[own], np.where(ok, dest.snap[j] + np.abs(along), np.inf))
    # Cheapest budget holding each sample (n_budgets when none does).
    first = np.searchsorted(budgets, cost)
    keep = np.flatnonzero(first < n_budgets)
    pt_site = site[pair[keep]]
    px, py, pb = s_x[k[keep]], s_y[k[keep]], first[keep]
    bounds = np.searchsorted(pt_site, np.arange(len(dest.rows) + 1))
    pix = AREA_PIXEL_M
    pad = int(np.ceil(buffer_m / pix)) + 2
    out: list[list[shapely.Geometry]] = []
    for j in range(len(dest.rows)):  # one raster per site: a few milliseconds each
        sel = slice(bounds[j], bounds[j + 1])
        geoms: list[shapely.Geometry] = []
        if bounds[j + 1] == bounds[j]:
            out.append([shapely.Polygon()] * n_budgets)
            continue
        x0 = np.floor(px[sel].min() / pix) * pix - pad * pix
        y0 = np.floor(py[sel].min() / pix) * pix - pad * pix
        ix = np.rint((px[sel] - x0) / pix).astype(np.int64)
        iy = np.rint((py[sel] - y0) / pix).astype(np.int64)
        shape = (int(iy.max()) + pad + 1, int(ix.max()) + pad + 1)
        bj = pb[sel]
        xs = x0 + pix * np.arange(shape[1])
        ys = y0 + pix * np.arange(shape[0])
        for b in range(n_budgets):
            mask = np.ones(shape, dtype=bool)
            inb = bj <= b
            mask[iy[inb], ix[inb]] = False
            if mask.all():
                geoms.append(shapely.Polygon())
                continue
            dist = distance_transform_edt(mask, sampling=pix)
            gen = contour_generator(xs, ys, dist, fill_type=FillType.OuterOffset)
            points, offsets = gen.filled(-1.0, buffer_m)
            polys = [
                shapely.Polygon(pts[off[0]:off[1]], [pts[off[i]:off[i + 1]]
                                                    for i in range(1, len(off) - 1)])
                for pts, off in zip(points, offsets, strict=True)
            ]
            geoms.append(polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys))
        # Marching squares puts a vertex on every pixel edge; a quarter pixel is invisible.
        out.append(list(shapely.simplify(np.array(geoms, dtype=object), pix / 4.0)))
    return out
