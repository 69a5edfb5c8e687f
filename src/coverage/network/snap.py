"""Snapping points to the nearest point of the nearest road, fast, exactly when asked.

Each link's polyline is cut into straight segments. To find a point's nearest segment without a
Python loop, segments are cut further into *pieces* of at most ``piece_m`` metres (10 m), whose
midpoints go into a KD-tree (``scipy.spatial.cKDTree``). Queries run in spatial order (a
Z-order curve over 16 m cells), which makes the KD-tree walk two to three times faster for
unordered inputs such as a residence register. The winner is always projected in float64, so
the attachment point lies on its road to the millimetre; what differs between the two
searches is how the road is chosen.

Fast search (the default, ``exact=False``)
    The segments of the ``FAST_K`` (4) nearest piece midpoints are compared and the nearest
    projection wins, in chunks on two or more threads. **Error bound**: the true nearest
    segment, at distance ``d*``, has a piece whose midpoint is within ``d* + h`` (``h``: half
    the longest piece, 5 m); the nearest midpoint is no farther, and its own segment is no
    farther than that midpoint, so the chosen distance is at most ``d* + h``: never more than
    5 m too long, whatever the road layout. In practice the choice is the exact one: on the
    large demo city (1.2 million residences) it differs for 0.03 % of points, by 2.6 m at
    most (``tests/network/test_network.py`` checks the bound and the rate against shapely). It takes
    a third of the time of the exact search; a million points snap in about half a second.

Exact search (``exact=True``)
    For each point the ``k`` nearest piece midpoints name candidate segments; the point is
    projected onto each and the nearest projection wins. Any piece not among the candidates
    has its midpoint at least ``r_k`` away (``r_k``: the k-th candidate's midpoint distance),
    so its segment is at least ``r_k - h`` away. When the best candidate is within that bound
    the answer is proven; the points where it is not are re-done with ``4 k`` candidates, and
    the few left after that exactly with shapely's ``STRtree.query_nearest``. Candidates are
    ranked in float32 relative to a local origin (millimetre precision).

Snapping grid (:class:`SnapGrid`)
    Precomputed candidates on a 12 m grid prove the exact answer for most points with one
    lookup; the rest go through the fast search. Networks loaded with the disk cache use it
    (:attr:`coverage.network.graph.RoadNetwork.snap_grid`).

Ties (a point exactly as far from two segments) go to the lower segment number in the exact
fallback and to the nearer piece midpoint otherwise; both are deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy.spatial import cKDTree

from coverage.network._parallel import each
from coverage.network._ragged import ranges, within

__all__ = ["REASON_DISCONNECTED", "REASON_FAR", "REASON_MISSING", "REASON_NONE_REACHABLE",
           "SegmentIndex", "SnapGrid", "Snapped", "spatial_order"]

#: Why a point has no cost: the ``reason`` of snapping and routing results.
REASON_FAR = "too far from a road"
REASON_DISCONNECTED = "disconnected component"
REASON_MISSING = "missing geometry"
REASON_NONE_REACHABLE = "no destination reachable"

#: Piece midpoints whose segments are compared in the fast (not proven exact) search.
FAST_K = 4
#: Points per chunk of the fast search; chunks run on a few threads (``_parallel.THREADS``).
FAST_CHUNK = 65_536
#: Search radius of the fast search's first KD-tree pass, metres. A bounded k-nearest query
#: prunes the tree walk early; its answer is the unbounded one whenever all ``FAST_K``
#: neighbours lie within the radius, and the few points where they do not are queried again
#: without a bound (same results, about a fifth less time).
FAST_BOUND_M = 60.0
#: Side of the cells by which queries are put in spatial order, metres.
ORDER_CELL_M = 16.0


@dataclass
class Snapped:
    """Where points attach to the road network.

    Attributes
    ----------
    link
        Link of each point (-1 when none was found: no geometry, or no road at all).
    t
        Position of the attachment along the link, from 0 (end ``a``) to 1 (end ``b``), as a
        fraction of the link's drawn length.
    distance
        Straight distance from the point to the attachment, metres (NaN without geometry).
    x, y
        The attachment point, in the network CRS.
    """

    link: np.ndarray
    t: np.ndarray
    distance: np.ndarray
    x: np.ndarray
    y: np.ndarray


class SegmentIndex:
    """Exact nearest-segment index over a subset of links.

    Parameters
    ----------
    vx, vy
        Flattened link vertices in a metric CRS.
    offsets
        Link ``i`` owns vertices ``offsets[i]:offsets[i + 1]``.
    links
        The links to index (positions); other links are never returned.
    piece_m
        Longest piece whose midpoint goes into the KD-tree.
    """

    def __init__(
        self,
        vx: np.ndarray,
        vy: np.ndarray,
        offsets: np.ndarray,
        links: np.ndarray,
        *,
        piece_m: float = 10.0,
    ) -> None:
        links = np.asarray(links, dtype=np.int64)
        n_vert = offsets[links + 1] - offsets[links]
        n_seg = np.maximum(n_vert - 1, 0)
        seg_link = np.repeat(links, n_seg)
        k0 = ranges(offsets[links], n_seg)
        self.seg_link = seg_link
        self.x0, self.y0 = vx[k0], vy[k0]
        self.x1, self.y1 = vx[k0 + 1], vy[k0 + 1]
        self.seg_len = np.hypot(self.x1 - self.x0, self.y1 - self.y0)
        dx, dy = self.x1 - self.x0, self.y1 - self.y0
        with np.errstate(divide="ignore"):
            inv = np.where(self.seg_len > 0, 1.0 / (dx * dx + dy * dy), 0.0)
        self._packed = np.column_stack([self.x0, self.y0, dx, dy, inv])
        # float32 copies relative to a local origin, for ranking candidates fast (mm precision).
        self._origin = (float(self.x0.min()), float(self.y0.min())) if len(dx) else (0.0, 0.0)
        self._f32 = [
            (self.x0 - self._origin[0]).astype(np.float32),
            (self.y0 - self._origin[1]).astype(np.float32),
            dx.astype(np.float32),
            dy.astype(np.float32),
            inv.astype(np.float32),
        ]
        # Cumulative drawn length of each link at the start of each segment.
        cum = np.cumsum(self.seg_len)
        link_start = np.r_[0, np.cumsum(n_seg)[:-1]]
        base = np.repeat(np.r_[0.0, cum][link_start] if len(cum) else np.zeros(len(links)),
                         n_seg)
        self.seg_cum0 = np.r_[0.0, cum[:-1]] - base if len(cum) else np.zeros(0)
        self.link_plen = np.zeros(int(offsets.shape[0]) - 1)
        if len(links):
            self.link_plen[links] = np.add.reduceat(self.seg_len, link_start) * (n_seg > 0)
        n_pieces = np.maximum(1, np.ceil(self.seg_len / piece_m)).astype(np.int64)
        self.piece_seg = np.repeat(np.arange(len(seg_link)), n_pieces)
        frac = (within(n_pieces) + 0.5) / n_pieces[self.piece_seg]
        s = self.piece_seg
        mid = np.column_stack([
            self.x0[s] + frac * (self.x1[s] - self.x0[s]),
            self.y0[s] + frac * (self.y1[s] - self.y0[s]),
        ])
        self.half = float((self.seg_len / n_pieces).max() / 2.0) if len(s) else 0.0
        self.tree = cKDTree(mid, balanced_tree=False, compact_nodes=False) if len(s) else None
        self._strtree: shapely.STRtree | None = None

    @property
    def n_segments(self) -> int:
        """Number of straight segments indexed."""
        return len(self.seg_link)

    def _project(
        self, px: np.ndarray, py: np.ndarray, seg: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Project points on segments (same shapes): distance, along-segment u, and the point."""
        # One gather of rows (np.take is several times faster than fancy indexing of rows):
        # x0, y0, dx, dy, 1 / (dx² + dy²).
        packed = np.take(self._packed, seg, axis=0)
        x0, y0, dx, dy, inv = (packed[..., i] for i in range(5))
        u = np.clip(((px - x0) * dx + (py - y0) * dy) * inv, 0.0, 1.0)
        qx = x0 + u * dx
        qy = y0 + u * dy
        return np.hypot(px - qx, py - qy), u, qx, qy

    def _rank(self, x: np.ndarray, y: np.ndarray, seg: np.ndarray) -> np.ndarray:
        """Squared distances from points to candidate segments (n × k), float32, in place."""
        x0, y0, dx, dy, inv = (np.take(col, seg) for col in self._f32)
        ax = (x - self._origin[0]).astype(np.float32)[:, None] - x0
        ay = (y - self._origin[1]).astype(np.float32)[:, None] - y0
        u = ax * dx
        u += ay * dy
        u *= inv
        np.clip(u, 0.0, 1.0, out=u)
        dx *= u
        dy *= u
        ax -= dx
        ay -= dy
        ax *= ax
        ay *= ay
        ax += ay
        return ax

    def _strtree_nearest(self, px: np.ndarray, py: np.ndarray) -> np.ndarray:
        """Exact nearest segment (lowest number among ties) with shapely's STRtree."""
        if self._strtree is None:
            lines = shapely.linestrings(
                np.stack([
                    np.column_stack([self.x0, self.y0]), np.column_stack([self.x1, self.y1])
                ], axis=1)
            )
            self._strtree = shapely.STRtree(lines)
        pts = shapely.points(px, py)
        pairs = self._strtree.query_nearest(pts, all_matches=True)
        order = np.lexsort((pairs[1], pairs[0]))
        inp, tree = pairs[0][order], pairs[1][order]
        first = np.r_[True, inp[1:] != inp[:-1]]
        out = np.zeros(len(px), dtype=np.int64)
        out[inp[first]] = tree[first]
        return out

    def _ranked(
        self, x: np.ndarray, y: np.ndarray, k: int, bound: float, *, workers: int = 1
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rank the segments of each point's ``k`` nearest piece midpoints within ``bound``.

        Returns the midpoints' distances (n × k, inf where fewer were within ``bound``), their
        segments, and the squared distances from the point to those segments (float32, inf
        where there is no midpoint).
        """
        rr, ii = self.tree.query(np.column_stack([x, y]), k=k, distance_upper_bound=bound,
                                 workers=workers)
        rr = rr.reshape(len(x), k)
        ii = ii.reshape(len(x), k)
        valid = ii < self.tree.n
        seg = self.piece_seg[np.where(valid, ii, 0)]
        d2 = self._rank(x, y, seg)
        d2[~valid] = np.inf
        return rr, seg, d2

    def _candidates(
        self, x: np.ndarray, y: np.ndarray, k: int, bound: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the best of the k nearest pieces' segments and whether it is provably nearest.

        The segment is -1 when no piece is within ``bound``.
        """
        k = int(min(k, self.tree.n))
        rr, seg, d2 = self._ranked(x, y, k, bound, workers=-1)
        best = np.argmin(d2, axis=1)
        rows = np.arange(len(x))
        best_seg = np.where(np.isfinite(rr[:, 0]), seg[rows, best], -1)
        best_d = self._project(x, y, np.maximum(best_seg, 0))[0]
        lower = np.where(np.isfinite(rr[:, -1]), rr[:, -1], bound) - self.half
        exact = (best_d <= lower) | (k == self.tree.n) | (best_seg < 0)
        return best_seg, exact

    def _nearest(self, x: np.ndarray, y: np.ndarray, k: int, bound: float) -> np.ndarray:
        """Exact nearest segment of each point, or -1 when none is within ``bound`` - half."""
        best_seg, exact = self._candidates(x, y, k, bound)
        redo = np.flatnonzero(~exact)
        if len(redo):
            seg2, exact2 = self._candidates(x[redo], y[redo], 4 * k, bound)
            best_seg[redo] = seg2
            last = redo[~exact2]
            if len(last):
                best_seg[last] = self._strtree_nearest(x[last], y[last])
        return best_seg

    def _knn(self, pts: np.ndarray, k: int) -> np.ndarray:
        """Find the ``k`` nearest piece midpoints of each point, nearest first (n × k)."""
        rr, ii = self.tree.query(pts, k=k, distance_upper_bound=FAST_BOUND_M)
        ii = ii.reshape(len(pts), k)
        redo = np.flatnonzero(~np.isfinite(rr.reshape(len(pts), k)[:, -1]))
        if len(redo):
            ii[redo] = self.tree.query(pts[redo], k=k)[1].reshape(len(redo), k)
        return ii

    def _fast_chunk(self, xs: np.ndarray, ys: np.ndarray, k: int) -> np.ndarray:
        """Best of the segments of the ``k`` nearest piece midpoints, one chunk."""
        ii = self._knn(np.column_stack([xs, ys]), k)
        seg = self.piece_seg[ii]
        if k == 1:
            return seg[:, 0]
        d2 = self._rank(xs, ys, seg)
        return seg[np.arange(len(xs)), np.argmin(d2, axis=1)]

    def _grid_chunk(self, xs: np.ndarray, ys: np.ndarray, k: int, grid: SnapGrid) -> np.ndarray:
        """Grid lookup, with the fast search for points the grid does not prove."""
        best, proven = grid.lookup(self, xs, ys)
        redo = np.flatnonzero(~proven)
        if len(redo):
            # KD-tree queries in spatial order walk the same nodes: faster.
            redo = redo[spatial_order(xs[redo], ys[redo])]
            alt = self._fast_chunk(xs[redo], ys[redo], k)
            old = best[redo]
            has = old >= 0
            d_alt = self._project(xs[redo], ys[redo], alt)[0]
            d_old = self._project(xs[redo], ys[redo], np.maximum(old, 0))[0]
            best[redo] = np.where(has & (d_old < d_alt), old, alt)
        return best

    def _fast(
        self, px: np.ndarray, py: np.ndarray, idx: np.ndarray, k: int, out: Snapped,
        cut: float | None, grid: SnapGrid | None,
    ) -> None:
        """Snap points ``idx`` to the best of the segments of their ``k`` nearest piece midpoints.

        No exactness check (see the module docstring). With a ``grid``, the grid answers
        first. Chunks of ``FAST_CHUNK`` points are searched, projected and written to ``out``
        on a few threads.
        """

        def run(lo: int) -> None:
            part = idx[lo:lo + FAST_CHUNK]
            xs, ys = px[part], py[part]
            seg = (self._fast_chunk(xs, ys, k) if grid is None
                   else self._grid_chunk(xs, ys, k, grid))
            self._attach(out, part, xs, ys, seg, cut)

        each(run, range(0, len(idx), FAST_CHUNK))

    def query(
        self,
        px: np.ndarray,
        py: np.ndarray,
        *,
        max_distance: float = np.inf,
        k: int = 8,
        far: bool = True,
        exact: bool = True,
        grid: SnapGrid | None = None,
    ) -> Snapped:
        """Snap points (network CRS) to the nearest point of the nearest indexed segment.

        Parameters
        ----------
        px, py
            Point coordinates; NaN marks a missing point (link -1).
        max_distance
            Distance beyond which the search is cut short (it only speeds the search up).
        k
            Candidates per point in the first pass; points not settled by it get ``4 k``
            candidates, and the few left after that go to shapely's STRtree.
        far
            Also find the exact nearest segment of points farther than ``max_distance`` (so
            their distance can be reported); if False they get link -1 and distance inf.
        exact
            If False, take the nearest of the segments of the ``FAST_K`` nearest piece
            midpoints without proving it nearest (see the module docstring): the snap
            distance is then at most half a piece (``half``, 5 m) longer than the exact one,
            and equal to it for all but a few points in ten thousand.
        grid
            A :class:`SnapGrid` of this index, used by the fast search (not by the exact one).
        """
        n = len(px)
        link = np.full(n, -1, dtype=np.int64)
        t = np.full(n, np.nan)
        dist = np.full(n, np.nan)
        qx = np.full(n, np.nan)
        qy = np.full(n, np.nan)
        ok = np.isfinite(px) & np.isfinite(py)
        if self.tree is None or not ok.any():
            return Snapped(link, t, dist, qx, qy)
        if not far and np.isfinite(max_distance):
            # Points outside the indexed roads' box grown by max_distance have no road near.
            lo_x = min(self.x0.min(), self.x1.min()) - max_distance
            hi_x = max(self.x0.max(), self.x1.max()) + max_distance
            lo_y = min(self.y0.min(), self.y1.min()) - max_distance
            hi_y = max(self.y0.max(), self.y1.max()) + max_distance
            inside = (px >= lo_x) & (px <= hi_x) & (py >= lo_y) & (py <= hi_y)
            dist[ok & ~inside] = np.inf
            ok &= inside
            if not ok.any():
                return Snapped(link, t, dist, qx, qy)
        idx = np.flatnonzero(ok)
        if exact or grid is None:
            # Query in spatial order: neighbouring queries walk the same tree nodes. (The
            # grid needs no order: its lookups are O(1) gathers.)
            idx = idx[spatial_order(px[idx], py[idx])]
        out = Snapped(link, t, dist, qx, qy)
        if exact:
            bound = max_distance + self.half if np.isfinite(max_distance) else np.inf
            x, y = px[idx], py[idx]
            best_seg = self._nearest(x, y, k, bound)
            none = np.flatnonzero(best_seg < 0)
            if len(none) and far and np.isfinite(bound):
                best_seg[none] = self._nearest(x[none], y[none], k, np.inf)
            self._attach(out, idx, x, y, best_seg)
        else:
            cut = max_distance + self.half if not far and np.isfinite(max_distance) else None
            self._fast(px, py, idx, min(FAST_K, self.tree.n), out, cut, grid)
        return out

    def _attach(
        self, out: Snapped, idx: np.ndarray, x: np.ndarray, y: np.ndarray, seg: np.ndarray,
        cut: float | None = None,
    ) -> None:
        """Project points ``idx`` (at ``x``, ``y``) on their segments and fill ``out``.

        A segment of -1, or farther than ``cut``, leaves the point unattached at distance inf.
        """
        d, u, sx, sy = self._project(x, y, np.maximum(seg, 0))
        found = seg >= 0
        if cut is not None:
            found &= d <= cut
        if not found.all():
            out.distance[idx[~found]] = np.inf
            idx, seg, d, u, sx, sy = (v[found] for v in (idx, seg, d, u, sx, sy))
        lk = self.seg_link[seg]
        plen = self.link_plen[lk]
        along = self.seg_cum0[seg] + u * self.seg_len[seg]
        with np.errstate(invalid="ignore", divide="ignore"):
            tt = np.where(plen > 0, np.clip(along / plen, 0.0, 1.0), 0.0)
        out.link[idx], out.t[idx], out.distance[idx] = lk, tt, d
        out.x[idx], out.y[idx] = sx, sy


def spatial_order(x: np.ndarray, y: np.ndarray, cell: float = ORDER_CELL_M) -> np.ndarray:
    """Order points along a Z-order (Morton) curve over square cells of side ``cell``.

    Consecutive points are then near each other at every scale, so consecutive KD-tree
    queries walk the same nodes and leaves (a sixth faster than rows of 250 m blocks).
    Points within a cell keep no particular order.
    """
    if len(x) == 0:
        return np.zeros(0, dtype=np.int64)
    key = _spread_bits(((x - x.min()) / cell).astype(np.uint64))
    key |= _spread_bits(((y - y.min()) / cell).astype(np.uint64)) << np.uint64(1)
    return np.argsort(key)


def _spread_bits(v: np.ndarray) -> np.ndarray:
    """Put the low 32 bits of ``v`` on the even bit positions (a Morton code's half)."""
    for shift, mask in ((16, 0x0000FFFF0000FFFF), (8, 0x00FF00FF00FF00FF),
                        (4, 0x0F0F0F0F0F0F0F0F), (2, 0x3333333333333333),
                        (1, 0x5555555555555555)):
        v |= v << np.uint64(shift)
        v &= np.uint64(mask)
    return v


#: Snapping-grid defaults (see :class:`SnapGrid`).
GRID_CELL_M = 12.0
#: Largest grid (cells; 36 bytes each, so 430 MB): 12 million cells cover 1,700 km² at
#: 12 m; larger areas get larger cells, up to the bound (about 2,400 km²), then no grid.
GRID_MAX_CELLS = 12_000_000
GRID_K = 8
GRID_PIECES = 16
GRID_MAX_ERROR_M = 25.0
#: Cells per build chunk.
GRID_CHUNK = 131_072
#: Radius of the build's piece search, metres: farther pieces count as unseen.
GRID_BOUND_M = 100.0
#: Sort key of an infinite float32 squared distance (see ``SnapGrid.build``).
_INF_BITS = np.int32(np.float32(np.inf).view(np.int32))
_INF_KEY = np.int64(_INF_BITS) << 32


class SnapGrid:
    """Precomputed candidate segments on a square grid, for O(1) snapping of most points.

    The grid covers the indexed roads' box grown by ``margin`` (the network's ``max_snap_m``)
    with square cells of ``cell`` metres. For each cell centre ``q`` the ``GRID_PIECES`` (16)
    nearest piece midpoints within ``GRID_BOUND_M`` (100 m) of the :class:`SegmentIndex` name
    candidate segments; the ``k`` (8) nearest distinct ones are kept (``cand``), with a lower
    bound ``low`` on the distance from ``q`` to every segment *not* kept: the (k+1)-th
    distinct segment's distance, or the distance of the 16th midpoint (100 m when fewer were
    found) minus half a piece (``half``), whichever is smaller. A cell with no midpoint within
    100 m proves nothing (``low`` is -inf).

    A query finds each point's cell by floor division, projects the point exactly onto the
    cell's ``k`` candidates and keeps the nearest, at distance ``d``. With ``e = |p - q|``
    (at most ``r = cell / √2``), every other segment is at least ``low - e`` away, so the
    answer is **proven exact** when ``d <= low - e``. The other points (and points outside
    the grid) go through the fast KD-tree search and keep the nearer of its answer and the
    grid's, so the result is never worse than the fast search (at most ``half``, 5 m, too
    long) and, for the grid alone and points within ``100 m - 2 r - half`` of a road, never
    more than ``2 r + half`` too long (the point's
    true road is within ``d* + r`` of ``q``; a midpoint of it within ``d* + r + half``; the
    nearest candidate no farther from ``q``, so at most ``d* + 2 r + half`` from ``p``).
    ``cell`` is chosen so that this stays within ``GRID_MAX_ERROR_M`` (25 m).
    """

    def __init__(
        self, x0: float, y0: float, cell: float, nx: int, ny: int,
        cand: np.ndarray, low: np.ndarray,
    ) -> None:
        self.x0, self.y0, self.cell = float(x0), float(y0), float(cell)
        self.nx, self.ny = int(nx), int(ny)
        self.cand = cand
        self.low = low

    @property
    def bound(self) -> float:
        """Worst-case extra snap distance of the grid alone, before the fallback (metres)."""
        return 2.0 * self.cell / np.sqrt(2.0)

    @classmethod
    def build(
        cls,
        index: SegmentIndex,
        margin: float,
        *,
        cell: float | None = None,
        k: int = GRID_K,
        max_cells: int = GRID_MAX_CELLS,
    ) -> SnapGrid | None:
        """Build the grid of an index, or return None when no cell size keeps the bound."""
        if index.tree is None:
            return None
        lo_x = min(index.x0.min(), index.x1.min()) - margin
        hi_x = max(index.x0.max(), index.x1.max()) + margin
        lo_y = min(index.y0.min(), index.y1.min()) - margin
        hi_y = max(index.y0.max(), index.y1.max()) + margin
        area = (hi_x - lo_x) * (hi_y - lo_y)
        if cell is None:
            cell = max(GRID_CELL_M, float(np.sqrt(area / max_cells)))
        if np.sqrt(2.0) * cell + index.half > GRID_MAX_ERROR_M:
            return None
        nx = max(1, int(np.ceil((hi_x - lo_x) / cell)))
        ny = max(1, int(np.ceil((hi_y - lo_y) / cell)))
        kq = int(min(GRID_PIECES, index.tree.n))
        k = int(min(k, kq))
        cand = np.empty((ny * nx, k), dtype=np.int32)
        low = np.empty(ny * nx, dtype=np.float32)
        cx = lo_x + (np.arange(nx) + 0.5) * cell
        rows = max(1, GRID_CHUNK // nx)

        def run(r0: int) -> None:
            r1 = min(ny, r0 + rows)
            qx = np.tile(cx, r1 - r0)
            qy = np.repeat(lo_y + (np.arange(r0, r1) + 0.5) * cell, nx)
            # Bounded: pieces beyond GRID_BOUND_M are "unseen" (far cells get fewer or no
            # candidates and a weaker bound), which prunes most of the tree walk.
            rr, seg, d2 = index._ranked(qx, qy, kq, GRID_BOUND_M)
            # Distinct segments by distance: sort keys (distance bits, segment), so copies of
            # a segment (equal distances) are neighbours; drop them and sort again.
            key = d2.view(np.int32).astype(np.int64) << 32
            key |= seg
            key.sort(axis=1)
            dup = np.zeros(key.shape, dtype=bool)
            dup[:, 1:] = key[:, 1:] == key[:, :-1]
            dup |= key >= _INF_KEY
            key[dup] = np.iinfo(np.int64).max
            key.sort(axis=1)
            count = kq - dup.sum(axis=1)
            seg = (key & 0xFFFFFFFF).astype(np.int32)
            dist = np.where(key < _INF_KEY, (key >> 32).astype(np.int32), _INF_BITS)
            dist = np.sqrt(dist.view(np.float32))
            # Lower bound on any segment not kept: next distinct one, or unseen pieces.
            nxt = dist[:, k] if k < kq else np.inf
            unseen = np.where(np.isfinite(rr[:, -1]), rr[:, -1], GRID_BOUND_M) - index.half
            lb = np.minimum(nxt, unseen) - 0.01  # float32 ranking slack
            lb[count == 0] = -np.inf  # no candidate: never proven
            # Fewer than k distinct segments: repeat the nearest (harmless for the min).
            fill = np.arange(k) < count[:, None]
            cand[r0 * nx:r1 * nx] = np.where(fill, seg[:, :k], seg[:, :1])
            low[r0 * nx:r1 * nx] = lb

        each(run, range(0, ny, rows))
        return cls(lo_x, lo_y, cell, nx, ny, cand, low)

    def to_dict(self) -> dict[str, np.ndarray]:
        """Arrays for the disk cache."""
        head = np.array([self.x0, self.y0, self.cell, self.nx, self.ny], dtype=np.float64)
        return {"grid_head": head, "grid_cand": self.cand, "grid_low": self.low}

    @classmethod
    def from_dict(cls, data: dict[str, np.ndarray]) -> SnapGrid:
        """Inverse of :meth:`to_dict` (memory-mapped arrays are used as they are, not read)."""
        x0, y0, cell, nx, ny = (float(v) for v in data["grid_head"])
        cand, low = data["grid_cand"], data["grid_low"]
        if (cand.dtype != np.int32 or low.dtype != np.float32 or cand.ndim != 2
                or cand.shape[0] != int(nx) * int(ny) or low.shape != (cand.shape[0],)):
            msg = "inconsistent snapping grid"
            raise ValueError(msg)
        return cls(x0, y0, cell, int(nx), int(ny), cand, low)

    def lookup(
        self, index: SegmentIndex, x: np.ndarray, y: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Best grid candidate of each point (-1 outside the grid) and whether it is proven."""
        fx = (x - self.x0) / self.cell
        fy = (y - self.y0) / self.cell
        inside = (fx >= 0) & (fx < self.nx) & (fy >= 0) & (fy < self.ny)
        ix = np.where(inside, fx, 0).astype(np.int64)
        iy = np.where(inside, fy, 0).astype(np.int64)
        cell = iy * self.nx + ix
        seg = self.cand[cell]
        d2 = index._rank(x, y, seg)
        pick = np.argmin(d2, axis=1)
        rows = np.arange(len(x))
        best = seg[rows, pick].astype(np.int64)
        d = np.sqrt(d2[rows, pick])
        off = np.hypot(fx - ix - 0.5, fy - iy - 0.5) * self.cell
        proven = inside & (d <= self.low[cell] - off)
        best[~inside] = -1
        return best, proven
