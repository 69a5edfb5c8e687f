"""The snapping grid: precomputed answers for O(1) snapping of most points.

A :class:`SnapGrid` covers the routing component's roads with square cells (12 m). Each cell
holds the candidate segments that prove most points' nearest road with one lookup
(:meth:`SnapGrid.lookup`; :mod:`coverage.network.snap` sends the others to its KD-tree
search), and a lower bound on the distance to every road *outside* the routing component
(:meth:`SnapGrid.clear_of`), so that only points near such a road (a gated compound's lanes, a
cut-off piece of street) are searched for one. Networks loaded with the disk cache keep it
there (:attr:`coverage.network.graph.RoadNetwork.snap_grid`).
"""

from __future__ import annotations

import numpy as np

from coverage.network._parallel import each
from coverage.network.snap import SegmentIndex

__all__ = ["GRID_BOUND_M", "GRID_CELL_M", "SnapGrid"]

#: Side of the grid's cells, metres (larger for very large areas, see ``GRID_MAX_CELLS``).
GRID_CELL_M = 12.0
#: Largest grid (cells; 40 bytes each, so 480 MB): 12 million cells cover 1,700 km² at
#: 12 m; larger areas get larger cells, up to the bound (about 2,400 km²), then no grid.
GRID_MAX_CELLS = 12_000_000
GRID_K = 8
GRID_PIECES = 16
GRID_MAX_ERROR_M = 25.0
#: Cells per build chunk.
GRID_CHUNK = 131_072
#: Radius of the build's piece search, metres: farther pieces count as unseen.
GRID_BOUND_M = 100.0
#: Float32 rounding slack taken off the grid's lower bounds, metres.
SLACK_M = 0.01
#: Half the diagonal of a cell, in cells, rounded up: the largest offset from its centre.
_HALF_DIAGONAL = 0.70711
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

    Roads outside the routing component (``other``, an index of them) get a raster of the
    same cells, ``apart``: a lower bound on the distance from ``q`` to every one of them, the
    nearest of their piece midpoints' distance (100 m when none is nearer) minus their half
    piece. Every such road is then at least ``apart - e`` from a point of the cell
    (:meth:`clear_of`). ``apart`` is None when there are no such roads.
    """

    def __init__(
        self, x0: float, y0: float, cell: float, nx: int, ny: int,
        cand: np.ndarray, low: np.ndarray, apart: np.ndarray | None = None,
    ) -> None:
        self.x0, self.y0, self.cell = float(x0), float(y0), float(cell)
        self.nx, self.ny = int(nx), int(ny)
        self.cand = cand
        self.low = low
        self.apart = apart

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
        other: SegmentIndex | None = None,
        cell: float | None = None,
        k: int = GRID_K,
        max_cells: int = GRID_MAX_CELLS,
    ) -> SnapGrid | None:
        """Build the grid of an index, or return None when no cell size keeps the bound.

        ``other`` indexes the roads outside the routing component, whose distance bounds
        (``apart``) the grid keeps too.
        """
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
        apart = None if other is None or other.tree is None else np.empty_like(low)
        cx = lo_x + (np.arange(nx) + 0.5) * cell
        rows = max(1, GRID_CHUNK // nx)

        def run(r0: int) -> None:
            r1 = min(ny, r0 + rows)
            qx = np.tile(cx, r1 - r0)
            qy = np.repeat(lo_y + (np.arange(r0, r1) + 0.5) * cell, nx)
            cand[r0 * nx:r1 * nx], low[r0 * nx:r1 * nx] = _candidates(index, qx, qy, kq, k)
            if apart is not None:
                apart[r0 * nx:r1 * nx] = _apart(other, qx, qy)

        each(run, range(0, ny, rows))
        return cls(lo_x, lo_y, cell, nx, ny, cand, low, apart)

    def to_dict(self) -> dict[str, np.ndarray]:
        """Arrays for the disk cache."""
        head = np.array([self.x0, self.y0, self.cell, self.nx, self.ny], dtype=np.float64)
        out = {"grid_head": head, "grid_cand": self.cand, "grid_low": self.low}
        if self.apart is not None:
            out["grid_apart"] = self.apart
        return out

    @classmethod
    def from_dict(cls, data: dict[str, np.ndarray]) -> SnapGrid:
        """Inverse of :meth:`to_dict` (memory-mapped arrays are used as they are, not read)."""
        x0, y0, cell, nx, ny = (float(v) for v in data["grid_head"])
        cand, low = data["grid_cand"], data["grid_low"]
        apart = data.get("grid_apart")
        if (cand.dtype != np.int32 or low.dtype != np.float32 or cand.ndim != 2
                or cand.shape[0] != int(nx) * int(ny) or low.shape != (cand.shape[0],)
                or (apart is not None and (apart.dtype != low.dtype
                                           or apart.shape != low.shape))):
            msg = "inconsistent snapping grid"
            raise ValueError(msg)
        return cls(x0, y0, cell, int(nx), int(ny), cand, low, apart)

    def _cells(
        self, x: np.ndarray, y: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each point's cell, whether it is inside the grid, and its offset from the centre.

        The offset (``rx``, ``ry``) is in cells, each from -0.5 to 0.5; ``e = |p - q|`` is
        ``hypot(rx, ry) * cell``. Points outside the grid get a cell on its border. No NaN.
        """
        fx = (x - self.x0) / self.cell
        fy = (y - self.y0) / self.cell
        inside = (fx >= 0) & (fx < self.nx) & (fy >= 0) & (fy < self.ny)
        ix = np.clip(fx, 0, self.nx - 1).astype(np.int64)
        iy = np.clip(fy, 0, self.ny - 1).astype(np.int64)
        fx -= ix
        fx -= 0.5
        fy -= iy
        fy -= 0.5
        iy *= self.nx
        iy += ix
        return iy, inside, fx, fy

    def order(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Order points by square tiles of cells, row by row (at most 65,536 tiles).

        Lookups in this order read the same rows of the grid and the same segments one after
        the other, from the processor's caches rather than from memory. The tiles' numbers
        fit 16 bits, which NumPy sorts stably in linear time (a radix sort).
        """
        side = max(1, int(np.ceil(np.sqrt(self.nx * self.ny / 65_536.0))))
        while -(-self.nx // side) * -(-self.ny // side) > 65_536:
            side += 1
        across, down = -(-self.nx // side), -(-self.ny // side)
        size = side * self.cell
        tiles = []
        for v, lo, count in ((x, self.x0, across), (y, self.y0, down)):
            t = v - lo
            t /= size
            np.clip(t, 0, count - 1, out=t)
            tiles.append(t.astype(np.uint16))  # t >= 0: truncation is the floor
        key = tiles[1]
        key *= np.uint16(across)
        key += tiles[0]
        return np.argsort(key, kind="stable")

    def lookup(
        self, index: SegmentIndex, x: np.ndarray, y: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Best grid candidate of each point (-1 outside the grid) and whether it is proven."""
        cell, inside, rx, ry = self._cells(x, y)
        seg = np.take(self.cand, cell, axis=0)
        d2 = index._rank(x, y, seg)
        # Flat positions of each row's best (np.take of flat positions, not 2-D indexing).
        pick = np.argmin(d2, axis=1)
        pick += np.arange(0, d2.size, d2.shape[1])
        best = np.take(seg, pick).astype(np.int64)
        d = np.sqrt(np.take(d2, pick))
        # Proven when d <= low - e. Since e <= r (half the cell's diagonal), d <= low - r
        # proves it and d > low refutes it: e is computed only for the points in between.
        low = np.take(self.low, cell).astype(np.float64)
        proven = d <= low - self.cell * _HALF_DIAGONAL
        maybe = np.flatnonzero(~proven & (d <= low))
        if len(maybe):
            off = np.hypot(rx[maybe], ry[maybe]) * self.cell
            proven[maybe] = d[maybe] <= low[maybe] - off
        proven &= inside
        best[~inside] = -1
        return best, proven

    def clear_of(self, x: np.ndarray, y: np.ndarray, distance: np.ndarray) -> np.ndarray:
        """Whether each point is proven to have no road of ``other`` nearer than ``distance``.

        True where the grid's lower bound (``apart - e``) is at least ``distance``; False
        outside the grid, where ``distance`` is NaN, and everywhere without ``apart``. In
        chunks, on a few threads.
        """
        out = np.zeros(len(x), dtype=bool)
        if self.apart is None:
            return out

        def run(lo: int) -> None:
            hi = min(lo + GRID_CHUNK, len(x))
            xs, ys = x[lo:hi], y[lo:hi]
            ok = np.isfinite(xs) & np.isfinite(ys)
            if not ok.all():
                xs, ys = np.where(ok, xs, self.x0 - 1.0), np.where(ok, ys, self.y0 - 1.0)
            cell, inside, rx, ry = self._cells(xs, ys)
            room = np.take(self.apart, cell).astype(np.float64)
            dist = distance[lo:hi]
            # As in lookup: e is computed only where e <= r does not settle it.
            clear = room - self.cell * _HALF_DIAGONAL >= dist
            maybe = np.flatnonzero(~clear & (room >= dist))
            if len(maybe):
                off = np.hypot(rx[maybe], ry[maybe]) * self.cell
                clear[maybe] = room[maybe] - off >= dist[maybe]
            clear &= inside
            out[lo:hi] = clear

        each(run, range(0, len(x), GRID_CHUNK))
        return out


def _candidates(
    index: SegmentIndex, qx: np.ndarray, qy: np.ndarray, kq: int, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return the ``k`` nearest distinct segments of cell centres and the bound on the rest."""
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
    lb = np.minimum(nxt, unseen) - SLACK_M  # float32 ranking slack
    lb[count == 0] = -np.inf  # no candidate: never proven
    # Fewer than k distinct segments: repeat the nearest (harmless for the min).
    fill = np.arange(k) < count[:, None]
    return np.where(fill, seg[:, :k], seg[:, :1]), lb


def _apart(other: SegmentIndex, qx: np.ndarray, qy: np.ndarray) -> np.ndarray:
    """Lower bound on the distance from cell centres to every segment of ``other`` (float32).

    A segment at distance ``D`` has a piece midpoint within ``D + half``, so ``D`` is at least
    the nearest midpoint's distance minus ``half``; midpoints beyond ``GRID_BOUND_M`` count
    as at ``GRID_BOUND_M``. Rounded down to float32, less ``SLACK_M``.
    """
    near = other.tree.query(np.column_stack([qx, qy]), k=1,
                            distance_upper_bound=GRID_BOUND_M)[0]
    near = np.minimum(near, GRID_BOUND_M) - other.half - SLACK_M
    out = near.astype(np.float32)
    out[out > near] = np.nextafter(out[out > near], np.float32(-np.inf))
    return out
