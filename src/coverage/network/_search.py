"""Where snapped points join the node graph, and the searches from destinations.

What :mod:`coverage.network.costs` (nearest destination, cost tables) and
:mod:`coverage.network.areas` (service areas) share: each point's way onto its road's two end
nodes (:class:`Ends`), the reversed graph with one virtual node per destination
(:func:`augmented`), the pairs that go straight along one road piece (:func:`direct`) and the
Dijkstra search bounded by a cost from every destination (:func:`bounded_search`). How a cost is
measured is told in :mod:`coverage.network.costs`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from coverage.network._parallel import ordered
from coverage.network._ragged import ranges
from coverage.network.snap import Snapped

if TYPE_CHECKING:
    from coverage.network.graph import RoadNetwork
    from coverage.network.points import Points

__all__ = ["Ends", "augmented", "bounded_search", "direct", "prepare"]

#: Attachments within this many metres of a node count as on the node.
ON_NODE_M = 1e-6
#: Largest number of float64 cells in one batch of Dijkstra rows (128 MB).
BATCH_CELLS = 1 << 24
#: Side of the tiles grouping destinations for :func:`bounded_search`, metres.
BATCH_TILE = 4_000.0


class Ends:
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
        snap = pick(s.distance)
        cost_a += snap
        cost_b += snap
        if not (a.forward.all() and a.backward.all()):  # one-way links: not every way is open
            if origin:  # leave towards a: against the link's direction
                ok_a = a.backward[link] | at_a
                ok_b = a.forward[link] | at_b
            else:  # enter from a: along the link's direction
                ok_a = a.forward[link] | at_a
                ok_b = a.backward[link] | at_b
            cost_a[~ok_a] = np.inf
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


def _virtual_arcs(dest: Ends, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def augmented(net: RoadNetwork, dest: Ends) -> sp.csr_array:
    """Return the reversed graph plus one virtual node per destination (rows N, N+1, ...)."""
    base = net.graph_reversed
    n, s = net.n_nodes, len(dest.rows)
    rows, cols, w = _virtual_arcs(dest, np.arange(s))
    indptr = np.r_[base.indptr, base.indptr[-1] + np.cumsum(np.bincount(rows, minlength=s))]
    indices = np.r_[base.indices, cols].astype(np.int32)
    data = np.r_[base.data, w]
    return sp.csr_array((data, indices, indptr), shape=(n + s, n + s))


def direct(
    orig: Ends, dest: Ends, net: RoadNetwork, omask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Origin–destination pairs on the same link, going straight along it.

    Returns positions in ``orig.rows`` and ``dest.rows`` and the cost in metres.
    """
    on_dest = np.zeros(net.n_links, dtype=bool)  # links holding a destination
    on_dest[dest.link] = True
    sel = np.flatnonzero(on_dest[orig.link])
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


def prepare(
    net: RoadNetwork, points: Points, *, origin: bool
) -> tuple[pd.Index, Snapped, np.ndarray, Ends]:
    """Snap ``points`` (once per layer) and say where they leave or enter the graph.

    Returns the points' index, their snap, why each is unreachable (None when it is not) and
    the :class:`Ends` of the reachable ones as origins (``origin=True``) or destinations.
    """
    snapped = net.snap_points(points)
    key = "origin_ends" if origin else "destination_ends"
    ends = snapped.derived.get(key)
    if ends is None:  # computed once per snapped layer and role
        ok = np.flatnonzero(pd.isna(snapped.reason))
        ends = snapped.derived[key] = Ends(net, snapped.snapped, ok, origin=origin)
    return snapped.index, snapped.snapped, snapped.reason, ends


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


def bounded_search(
    net: RoadNetwork, dest: Ends, limit: float
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
            g = augmented(net, dest)
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
    base: sp.csr_array, sub: np.ndarray, n: int, dest: Ends, ids: np.ndarray
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

