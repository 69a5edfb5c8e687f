"""Tests for coverage.network.snap_grid: the snapping grid's lookups, order and road bounds.

The roads are a 6 × 6 street grid of 90 m blocks with a diagonal (the routing roads) and a
gated compound: a ring road of 40 m sides inside the block from (90, 90) to (180, 180), 25 m
from its streets and joined to none (a road of another component). Distances are checked
against shapely and against the proof written out in full.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import shapely

from coverage.network import RoadNetwork
from coverage.network.snap import SegmentIndex
from coverage.network.snap_grid import SnapGrid

X0, Y0 = 500_000.0, 3_000_000.0
UTM = "EPSG:32650"
STEP = 90.0
RING = [(115.0, 115.0), (155.0, 115.0), (155.0, 155.0), (115.0, 155.0)]

Roads = tuple[SegmentIndex, SegmentIndex, np.ndarray]


@pytest.fixture(scope="module")
def roads() -> Roads:
    """The streets' index, the compound's index, and the compound as shapely lines."""
    n = 6
    ends = []
    for i in range(n):
        for j in range(n - 1):
            ends.append(((j * STEP, i * STEP), ((j + 1) * STEP, i * STEP)))
            ends.append(((i * STEP, j * STEP), (i * STEP, (j + 1) * STEP)))
    ends.append(((0.0, 0.0), ((n - 1) * STEP, (n - 1) * STEP)))
    streets = len(ends)
    ends += [(RING[k], RING[(k + 1) % 4]) for k in range(4)]
    xy = np.array(ends).reshape(-1, 2)
    vx, vy = X0 + xy[:, 0], Y0 + xy[:, 1]
    offsets = np.arange(0, len(xy) + 1, 2)
    main = SegmentIndex(vx, vy, offsets, np.arange(streets))
    other = SegmentIndex(vx, vy, offsets, np.arange(streets, len(ends)))
    ring = shapely.linestrings(np.column_stack([vx, vy])[2 * streets:],
                               indices=np.repeat(np.arange(4), 2))
    return main, other, ring


def random_points(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return X0 + rng.uniform(-60.0, 510.0, n), Y0 + rng.uniform(-60.0, 510.0, n)


def test_the_snapping_grid_keeps_its_bound_and_survives_the_disk(roads: Roads) -> None:
    index, other, _ = roads
    grid = SnapGrid.build(index, 100.0, other=other)
    assert grid is not None
    assert grid.bound + index.half <= 25.0
    px, py = random_points(2_000, seed=6)
    exact = index.query(px, py, exact=True)
    fast = index.query(px, py, exact=False)
    gridded = index.query(px, py, exact=False, grid=grid)
    err = gridded.distance - exact.distance
    assert err.min() > -1e-3
    assert (gridded.distance <= fast.distance + 1e-3).all()  # never worse than the fast search
    assert (np.abs(err) <= 1e-6).mean() > 0.99
    # The arrays kept in the cache give the same answers and the same bounds.
    again = SnapGrid.from_dict(grid.to_dict())
    same = index.query(px, py, exact=False, grid=again)
    np.testing.assert_array_equal(same.link, gridded.link)
    np.testing.assert_array_equal(same.distance, gridded.distance)
    np.testing.assert_array_equal(again.clear_of(px, py, gridded.distance),
                                  grid.clear_of(px, py, gridded.distance))


def test_a_snapping_grid_is_refused_when_it_cannot_keep_its_bound(roads: Roads) -> None:
    index, other, _ = roads
    # 20 m cells: √2 · 20 + 5 > 25 m.
    assert SnapGrid.build(index, 100.0, cell=20.0) is None
    empty = SegmentIndex(index.x0, index.y0, np.array([0, 1]), np.zeros(0, dtype=np.int64))
    assert SnapGrid.build(empty, 100.0) is None
    arrays = SnapGrid.build(index, 100.0, other=other).to_dict()
    for name in ("grid_low", "grid_apart"):
        bad = dict(arrays)
        bad[name] = arrays[name].astype(np.float64)
        with pytest.raises(ValueError, match="inconsistent snapping grid"):
            SnapGrid.from_dict(bad)
    # A network without roads outside the routing ones keeps no bound for them.
    assert "grid_apart" not in SnapGrid.build(index, 100.0).to_dict()


def test_lookup_proves_exactly_what_the_full_bound_proves(roads: Roads) -> None:
    """The offset from the cell's centre is computed only where it decides: same answers."""
    index, _, _ = roads
    grid = SnapGrid.build(index, 100.0)
    px, py = random_points(20_000, seed=7)
    best, proven = grid.lookup(index, px, py)
    # The proof written out in full: every offset computed.
    fx, fy = (px - grid.x0) / grid.cell, (py - grid.y0) / grid.cell
    inside = (fx >= 0) & (fx < grid.nx) & (fy >= 0) & (fy < grid.ny)
    ix = np.where(inside, fx, 0).astype(np.int64)
    iy = np.where(inside, fy, 0).astype(np.int64)
    cell = iy * grid.nx + ix
    seg = grid.cand[cell]
    d2 = index._rank(px, py, seg)
    pick = np.argmin(d2, axis=1)
    rows = np.arange(len(px))
    off = np.hypot(fx - ix - 0.5, fy - iy - 0.5) * grid.cell
    d = np.sqrt(d2[rows, pick])
    full = inside & (d <= grid.low[cell] - off)
    # Some points need their offset: within half a cell's diagonal of the bound.
    assert (inside & (d > grid.low[cell] - 0.71 * grid.cell) & (d <= grid.low[cell])).any()
    np.testing.assert_array_equal(proven, full)
    np.testing.assert_array_equal(best[inside], seg[rows, pick][inside])
    assert (best[~inside] == -1).all()
    assert 0.5 < proven.mean() < 1.0  # both kinds of points were met


def test_roads_of_other_components_are_never_nearer_than_their_bound(roads: Roads) -> None:
    index, other, ring = roads
    grid = SnapGrid.build(index, 100.0, other=other)
    px, py = random_points(20_000, seed=8)
    truth = shapely.distance(shapely.points(px, py)[:, None], ring[None, :]).min(axis=1)
    # Whatever the distance asked about, a point said clear has no compound road nearer.
    for asked in (np.zeros(len(px)), truth - 1e-9, truth - 5.0, np.full(len(px), 30.0)):
        clear = grid.clear_of(px, py, asked)
        assert (truth[clear] >= asked[clear]).all()
    # Points well away from the compound are proven clear of it at their snap distance.
    snap = index.query(px, py, exact=False, grid=grid).distance
    clear = grid.clear_of(px, py, snap)
    away = truth > snap + 2.0 * grid.bound + 2.0 * other.half
    assert clear[away].mean() > 0.99
    assert clear.mean() > 0.8


def test_clear_of_known_points(roads: Roads) -> None:
    index, other, _ = roads
    grid = SnapGrid.build(index, 100.0, other=other)
    points = np.array([
        [135.0, 135.0],  # the compound's middle: streets 45 m away, its ring 20 m
        [135.0, 95.0],  # 5 m from a street, 20 m from the ring
        [400.0, 400.0],  # far from the compound
        [np.nan, np.nan],  # no position
        [5_000.0, 5_000.0],  # outside the grid
    ])
    px, py = X0 + points[:, 0], Y0 + points[:, 1]
    snap = np.array([45.0, 5.0, 10.0, np.nan, 6_000.0])
    assert grid.clear_of(px, py, snap).tolist() == [False, True, True, False, False]
    # Without the bound, no point is proven clear.
    grid.apart = None
    assert not grid.clear_of(px, py, snap).any()


def test_tiles_order_points_by_row_of_tiles() -> None:
    cells = 1000 * 700
    grid = SnapGrid(0.0, 0.0, 1.0, 1000, 700, np.zeros((cells, 1), dtype=np.int32),
                    np.zeros(cells, dtype=np.float32))
    rng = np.random.default_rng(9)
    x, y = rng.uniform(-50.0, 1050.0, 50_000), rng.uniform(-50.0, 750.0, 50_000)
    order = grid.order(x, y)
    assert np.array_equal(np.sort(order), np.arange(len(x)))
    # 700,000 cells make tiles of 4 × 4 cells (43,750 tiles), numbered row by row.
    tx = np.clip(x // 4, 0, 249)
    ty = np.clip(y // 4, 0, 174)
    key = (ty * 250 + tx)[order]
    assert (np.diff(key) >= 0).all()
    # Equal tiles keep the input order (a stable sort).
    same = key[1:] == key[:-1]
    assert (np.diff(order)[same] > 0).all()


def compound_streets() -> nx.MultiDiGraph:
    """A 4 × 4 grid of 90 m blocks and the compound's ring in the block (90, 90)–(180, 180)."""
    g = nx.MultiDiGraph(crs=UTM)
    for i in range(5):
        for j in range(5):
            g.add_node(i * 5 + j, x=X0 + j * STEP, y=Y0 + i * STEP)
    pairs = [(i * 5 + j, i * 5 + j + 1) for i in range(5) for j in range(4)]
    pairs += [(i * 5 + j, (i + 1) * 5 + j) for i in range(4) for j in range(5)]
    for k, (x, y) in enumerate(RING):
        g.add_node(100 + k, x=X0 + x, y=Y0 + y)
    pairs += [(100 + k, 100 + (k + 1) % 4) for k in range(4)]
    for u, v in pairs:
        for a, b in ((u, v), (v, u)):
            g.add_edge(a, b, length=float(np.hypot(g.nodes[a]["x"] - g.nodes[b]["x"],
                                                   g.nodes[a]["y"] - g.nodes[b]["y"])),
                       highway="residential", oneway=False)
    return g


def test_only_points_near_other_roads_are_searched_and_answers_do_not_change() -> None:
    net = RoadNetwork.from_graph(compound_streets(), crs=UTM, max_snap_m=150.0)
    net.snap_grid = True
    net.prepare_snapping()
    assert net._grid is not None and net._grid.apart is not None
    rng = np.random.default_rng(10)
    pts = np.column_stack([X0 + rng.uniform(-80.0, 440.0, 5_000),
                           Y0 + rng.uniform(-80.0, 440.0, 5_000)])
    pts[0] = [np.nan, np.nan]
    with_bound = net.snap_points(pts)
    assert with_bound.nearer_component.max() == 1  # some points live in the compound
    searched = ~net._grid.clear_of(pts[:, 0], pts[:, 1], with_bound.snapped.distance)
    assert 0 < searched.mean() < 0.1
    net._grid.apart = None  # every point searched for a nearer road of another component
    every = net.snap_points(pts)
    for name in ("nearer_component", "nearer_m", "reason"):
        np.testing.assert_array_equal(getattr(with_bound, name), getattr(every, name),
                                      err_msg=name)
    for name in ("link", "t", "distance", "x", "y"):
        np.testing.assert_array_equal(getattr(with_bound.snapped, name),
                                      getattr(every.snapped, name), err_msg=name)
