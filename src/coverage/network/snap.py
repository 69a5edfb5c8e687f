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

Snapping grid (:class:`~coverage.network.snap_grid.SnapGrid`)
    Precomputed candidates on a 12 m grid prove the exact answer for most points with one
    lookup; the rest go through the fast search. Networks loaded with the disk cache use it
    (:attr:`coverage.network.graph.RoadNetwork.snap_grid`). Lookups run tile by tile of the
    grid, so that neighbouring lookups read the same cells and segments from the processor's
    caches.

Ties (a point exactly as far from two segments) go to the lower segment number in the exact
fallback and to the nearer piece midpoint otherwise; both are deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely
from scipy.spatial import cKDTree

from coverage.network._parallel import each
from coverage.network._ragged import ranges, within

if TYPE_CHECKING:
    from coverage.network.snap_grid import SnapGrid

__all__ = ["REASON_DISCONNECTED", "REASON_FAR", "REASON_MISSING", "REASON_NONE_REACHABLE",
           "SegmentIndex", "Snapped", "spatial_order"]

#: Why a point has no cost: the ``reason`` of snapping and routing results.
REASON_FAR = "too far from a road"
REASON_DISCONNECTED = "disconnected component"
REASON_MISSING = "missing geometry"
REASON_NONE_REACHABLE = "no destination reachable"

#: Piece midpoints whose segments are compared in the fast (not proven exact) search.
FAST_K = 4
#: Points per chunk of the fast search; chunks run on a few threads (``_parallel.THREADS``).
FAST_CHUNK = 32_768
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
        # One row per segment, fetched with one gather (np.take of rows is several times
        # faster than fancy indexing, and one row is one cache line): x0, y0, dx, dy,
        # 1 / (dx² + dy²), then what an attachment needs: the link's drawn length before the
        # segment, the segment's length and the link's drawn length.
        self._packed = np.column_stack([self.x0, self.y0, dx, dy, inv, self.seg_cum0,
                                        self.seg_len, self.link_plen[seg_link]])
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
        return self._projected(px, py, np.take(self._packed, seg, axis=0))

    @staticmethod
    def _projected(
        px: np.ndarray, py: np.ndarray, packed: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Project points on the segments of their rows of ``_packed`` (see :meth:`_project`)."""
        x0, y0, dx, dy, inv = (packed[..., i] for i in range(5))
        u = np.clip(((px - x0) * dx + (py - y0) * dy) * inv, 0.0, 1.0)
        qx = x0 + u * dx
        qy = y0 + u * dy
        return np.hypot(px - qx, py - qy), u, qx, qy

    def _rank(self, x: np.ndarray, y: np.ndarray, seg: np.ndarray) -> np.ndarray:
        """Squared distances from points to candidate segments (n × k), float32, in place."""
        x0, y0, dx, dy, inv = (np.take(col, seg) for col in self._f32)
        # The gathered arrays are reused in place (fewer, cache-warm buffers).
        ax = np.subtract((x - self._origin[0]).astype(np.float32)[:, None], x0, out=x0)
        ay = np.subtract((y - self._origin[1]).astype(np.float32)[:, None], y0, out=y0)
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
        self, px: np.ndarray, py: np.ndarray, idx: np.ndarray, order: np.ndarray, k: int,
        out: Snapped, cut: float | None, grid: SnapGrid | None,
    ) -> None:
        """Snap points ``idx`` to the best of the segments of their ``k`` nearest piece midpoints.

        No exactness check (see the module docstring). With a ``grid``, the grid answers
        first. Segments are found in chunks of ``FAST_CHUNK`` points taken in ``order``
        (positions in ``idx``: spatial or by tiles of the grid), then projected and written
        to ``out`` in chunks of ``idx`` as it comes (increasing rows: writes in sequence, not
        scattered), both on a few threads.
        """
        whole = len(idx) == len(px)  # idx is 0 .. n - 1
        seg = np.empty(len(idx), dtype=np.int64)

        def find(lo: int) -> None:
            at = order[lo:lo + FAST_CHUNK]
            part = at if whole else idx[at]
            xs, ys = px[part], py[part]
            seg[at] = (self._fast_chunk(xs, ys, k) if grid is None
                       else self._grid_chunk(xs, ys, k, grid))

        def attach(lo: int) -> None:
            part = idx[lo:lo + FAST_CHUNK]
            self._attach(out, part, px[part], py[part], seg[lo:lo + FAST_CHUNK], cut)

        chunks = range(0, len(idx), FAST_CHUNK)
        each(find, chunks)
        each(attach, chunks)

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
            A :class:`~coverage.network.snap_grid.SnapGrid` of this index, used by the fast
            search (not by the exact one).
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
        xi, yi = (px, py) if len(idx) == len(px) else (px[idx], py[idx])
        # Query in spatial order: neighbouring queries walk the same tree nodes, and
        # neighbouring grid lookups (by tiles of the grid) read the same cells and segments.
        order = spatial_order(xi, yi) if exact or grid is None else grid.order(xi, yi)
        out = Snapped(link, t, dist, qx, qy)
        if exact:
            idx = idx[order]
            bound = max_distance + self.half if np.isfinite(max_distance) else np.inf
            x, y = px[idx], py[idx]
            best_seg = self._nearest(x, y, k, bound)
            none = np.flatnonzero(best_seg < 0)
            if len(none) and far and np.isfinite(bound):
                best_seg[none] = self._nearest(x[none], y[none], k, np.inf)
            self._attach(out, idx, x, y, best_seg)
        else:
            cut = max_distance + self.half if not far and np.isfinite(max_distance) else None
            self._fast(px, py, idx, order, min(FAST_K, self.tree.n), out, cut, grid)
        return out

    def _attach(
        self, out: Snapped, idx: np.ndarray, x: np.ndarray, y: np.ndarray, seg: np.ndarray,
        cut: float | None = None,
    ) -> None:
        """Project points ``idx`` (at ``x``, ``y``) on their segments and fill ``out``.

        A segment of -1, or farther than ``cut``, leaves the point unattached at distance inf.
        """
        packed = np.take(self._packed, np.maximum(seg, 0), axis=0)
        d, u, sx, sy = self._projected(x, y, packed)
        found = seg >= 0
        if cut is not None:
            found &= d <= cut
        if not found.all():
            out.distance[idx[~found]] = np.inf
            idx, seg, d, u, sx, sy, packed = (
                v[found] for v in (idx, seg, d, u, sx, sy, packed))
        lk = self.seg_link[seg]
        plen = packed[:, 7]  # columns 5 to 7: seg_cum0, seg_len, the link's drawn length
        along = packed[:, 5] + u * packed[:, 6]
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
