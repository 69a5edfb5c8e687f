"""Tests for coverage.network.snap: attaching points to the nearest point of the nearest road.

The roads are a few hand-drawn links in metres (a UTM-sized origin, so that the float32 ranking
works at the magnitudes it meets in a real city), and the expected distances, positions along
the links and attachment points are worked out by hand. The reasons a point is not routed are
checked through :meth:`coverage.network.RoadNetwork.snap` on a small street grid.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import pytest
import shapely

from coverage.network import RoadNetwork
from coverage.network.snap import (
    REASON_DISCONNECTED,
    REASON_FAR,
    REASON_MISSING,
    SegmentIndex,
    Snapped,
    spatial_order,
)

X0, Y0 = 500_000.0, 3_000_000.0
UTM = "EPSG:32650"

# Link 0: a straight road 200 m long, west to east.
# Link 1: an L-shaped road, 100 m north then 100 m east (200 m drawn).
# Link 2: a road 1 km away that is left out of the index.
VERTICES = [(0.0, 0.0), (200.0, 0.0),
            (300.0, 0.0), (300.0, 100.0), (400.0, 100.0),
            (1000.0, 1000.0), (1000.0, 1100.0)]
OFFSETS = np.array([0, 2, 5, 7])


@pytest.fixture(scope="module")
def index() -> SegmentIndex:
    """Links 0 and 1 indexed; link 2 exists in the arrays but is not indexed."""
    vx = np.array([X0 + x for x, _ in VERTICES])
    vy = np.array([Y0 + y for _, y in VERTICES])
    return SegmentIndex(vx, vy, OFFSETS, np.array([0, 1]))


def query(index: SegmentIndex, points: list[tuple[float, float]], **kwargs: Any) -> Snapped:
    """Snap points given relative to the origin."""
    xy = np.array(points, dtype=np.float64).reshape(-1, 2)
    return index.query(X0 + xy[:, 0], Y0 + xy[:, 1], **kwargs)


def lines(index: SegmentIndex) -> np.ndarray:
    """The indexed links as shapely lines (for an independent distance)."""
    return np.array([shapely.LineString([(X0 + x, Y0 + y) for x, y in VERTICES[a:b]])
                     for a, b in ((0, 2), (2, 5))])


@pytest.mark.parametrize("exact", [True, False])
def test_a_point_beside_a_straight_road(index: SegmentIndex, exact: bool) -> None:
    s = query(index, [(50.0, 30.0), (150.0, -12.5)], exact=exact)
    assert s.link.tolist() == [0, 0]
    np.testing.assert_allclose(s.distance, [30.0, 12.5], atol=1e-9)
    np.testing.assert_allclose(s.t, [0.25, 0.75], atol=1e-12)
    np.testing.assert_allclose(s.x - X0, [50.0, 150.0], atol=1e-9)
    np.testing.assert_allclose(s.y - Y0, [0.0, 0.0], atol=1e-9)


@pytest.mark.parametrize("exact", [True, False])
def test_position_along_a_bent_link_is_a_share_of_its_drawn_length(
    index: SegmentIndex, exact: bool
) -> None:
    # 50 m along the second leg of the L: 150 m of 200 m drawn.
    s = query(index, [(350.0, 130.0), (290.0, 25.0)], exact=exact)
    assert s.link.tolist() == [1, 1]
    np.testing.assert_allclose(s.distance, [30.0, 10.0], atol=1e-9)
    np.testing.assert_allclose(s.t, [0.75, 0.125], atol=1e-12)
    np.testing.assert_allclose(s.x - X0, [350.0, 300.0], atol=1e-9)
    np.testing.assert_allclose(s.y - Y0, [100.0, 25.0], atol=1e-9)


def test_points_on_nodes_vertices_and_links(index: SegmentIndex) -> None:
    s = query(index, [(0.0, 0.0), (200.0, 0.0), (300.0, 100.0), (120.0, 0.0)], exact=True)
    assert s.link.tolist() == [0, 0, 1, 0]
    np.testing.assert_allclose(s.distance, 0.0, atol=1e-9)
    np.testing.assert_allclose(s.t, [0.0, 1.0, 0.5, 0.6], atol=1e-12)


@pytest.mark.parametrize("exact", [True, False])
def test_a_point_beyond_the_end_attaches_to_the_end(index: SegmentIndex, exact: bool) -> None:
    s = query(index, [(-40.0, 30.0), (460.0, 180.0)], exact=exact)
    assert s.link.tolist() == [0, 1]
    np.testing.assert_allclose(s.distance, [50.0, 100.0], atol=1e-9)
    np.testing.assert_allclose(s.t, [0.0, 1.0])
    np.testing.assert_allclose(s.x - X0, [0.0, 400.0], atol=1e-9)
    np.testing.assert_allclose(s.y - Y0, [0.0, 100.0], atol=1e-9)


def test_links_left_out_of_the_index_are_never_chosen(index: SegmentIndex) -> None:
    # On link 2 itself; the nearest indexed point is link 1's far end at (400, 100).
    s = query(index, [(1000.0, 1050.0)], exact=True)
    assert s.link.tolist() == [1]
    assert s.distance[0] == pytest.approx(np.hypot(600.0, 950.0))
    assert s.t[0] == 1.0


@pytest.mark.parametrize("exact", [True, False])
def test_missing_coordinates_stay_unattached_in_place(index: SegmentIndex, exact: bool) -> None:
    s = query(index, [(50.0, 30.0), (np.nan, 0.0), (0.0, np.nan), (350.0, 130.0)], exact=exact)
    assert s.link.tolist() == [0, -1, -1, 1]
    for values in (s.distance, s.t, s.x, s.y):
        assert np.isnan(values[[1, 2]]).all()
    np.testing.assert_allclose(s.distance[[0, 3]], [30.0, 30.0], atol=1e-9)


@pytest.mark.parametrize("exact", [True, False])
def test_no_points_give_empty_results(index: SegmentIndex, exact: bool) -> None:
    s = index.query(np.zeros(0), np.zeros(0), exact=exact)
    for values in (s.link, s.t, s.distance, s.x, s.y):
        assert values.shape == (0,)
    assert s.link.dtype == np.int64
    assert spatial_order(np.zeros(0), np.zeros(0)).shape == (0,)


def test_an_index_without_roads_attaches_nothing() -> None:
    vx = np.array([X0, X0 + 100.0])
    vy = np.array([Y0, Y0])
    empty = SegmentIndex(vx, vy, np.array([0, 2]), np.zeros(0, dtype=np.int64))
    assert empty.n_segments == 0
    s = empty.query(np.array([X0 + 10.0]), np.array([Y0 + 5.0]))
    assert s.link.tolist() == [-1]
    assert np.isnan(s.distance[0])


def test_a_zero_length_link_attaches_at_its_point() -> None:
    vx = np.array([X0, X0])
    vy = np.array([Y0, Y0])
    s = SegmentIndex(vx, vy, np.array([0, 2]), np.array([0])).query(
        np.array([X0 + 3.0]), np.array([Y0 + 4.0]))
    assert s.link.tolist() == [0]
    assert s.distance[0] == pytest.approx(5.0)
    assert s.t[0] == 0.0


@pytest.mark.parametrize("exact", [True, False])
def test_the_search_limit_without_far_points(index: SegmentIndex, exact: bool) -> None:
    points = [(50.0, 20.0), (50.0, 80.0), (50.0, 10_000.0)]
    cut = query(index, points, max_distance=50.0, far=False, exact=exact)
    assert cut.link.tolist() == [0, -1, -1]
    assert cut.distance[0] == pytest.approx(20.0)
    assert np.isinf(cut.distance[1:]).all()
    assert np.isnan(cut.t[1:]).all()
    # With far points (the default) the limit only shortens the search: every point is
    # attached and its true distance reported.
    full = query(index, points, max_distance=50.0, exact=exact)
    assert full.link.tolist() == [0, 0, 1]  # the far point is nearest the L's corner
    np.testing.assert_allclose(full.distance, [20.0, 80.0, np.hypot(250.0, 9_900.0)],
                               atol=1e-6)


Grid = tuple[SegmentIndex, np.ndarray]


@pytest.fixture(scope="module")
def grid_index() -> Grid:
    """A 6 × 6 street grid of 90 m blocks with a diagonal, and its links as shapely lines."""
    n, step = 6, 90.0
    ends = []
    for i in range(n):
        for j in range(n - 1):
            ends.append(((j * step, i * step), ((j + 1) * step, i * step)))
            ends.append(((i * step, j * step), (i * step, (j + 1) * step)))
    ends.append(((0.0, 0.0), ((n - 1) * step, (n - 1) * step)))
    xy = np.array(ends).reshape(-1, 2)
    vx, vy = X0 + xy[:, 0], Y0 + xy[:, 1]
    offsets = np.arange(0, len(xy) + 1, 2)
    geoms = shapely.linestrings(np.column_stack([vx, vy]),
                                indices=np.repeat(np.arange(len(ends)), 2))
    return SegmentIndex(vx, vy, offsets, np.arange(len(ends))), geoms


def random_points(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return X0 + rng.uniform(-60.0, 510.0, n), Y0 + rng.uniform(-60.0, 510.0, n)


def test_exact_snaps_equal_shapely_and_lie_on_their_link(grid_index: Grid) -> None:
    index, geoms = grid_index
    px, py = random_points(2_000, seed=1)
    s = index.query(px, py, exact=True)
    _, truth = shapely.STRtree(geoms).query_nearest(shapely.points(px, py), return_distance=True,
                                                    all_matches=False)
    np.testing.assert_allclose(s.distance, truth, rtol=0, atol=1e-3)
    attach = shapely.points(s.x, s.y)
    assert shapely.distance(attach, geoms[s.link]).max() < 1e-6
    np.testing.assert_allclose(np.hypot(px - s.x, py - s.y), s.distance, atol=1e-9)
    along = shapely.line_locate_point(geoms[s.link], attach, normalized=True)
    np.testing.assert_allclose(s.t, along, atol=1e-9)


def test_fast_snaps_are_at_most_half_a_piece_too_long(grid_index: Grid) -> None:
    index, _ = grid_index
    px, py = random_points(2_000, seed=2)
    exact = index.query(px, py, exact=True)
    fast = index.query(px, py, exact=False)
    assert index.half <= 5.0
    err = fast.distance - exact.distance
    assert err.min() > -1e-3
    assert err.max() <= index.half + 1e-6
    np.testing.assert_allclose(np.hypot(px - fast.x, py - fast.y), fast.distance, atol=1e-9)


@pytest.mark.parametrize("exact", [True, False])
def test_results_follow_the_input_order(grid_index: Grid, exact: bool) -> None:
    index, _ = grid_index
    px, py = random_points(500, seed=3)
    forward = index.query(px, py, exact=exact)
    order = np.random.default_rng(4).permutation(len(px))
    shuffled = index.query(px[order], py[order], exact=exact)
    for name in ("distance", "x", "y"):
        np.testing.assert_allclose(getattr(shuffled, name), getattr(forward, name)[order],
                                   atol=1e-9, err_msg=name)
    one = [index.query(px[k:k + 1], py[k:k + 1], exact=exact).distance[0] for k in range(20)]
    np.testing.assert_allclose(forward.distance[:20], one, atol=1e-9)


def test_spatial_order_follows_a_z_curve() -> None:
    # One point in each of four 16 m cells, given out of order: (1, 1), (0, 0), (0, 1), (1, 0).
    x = np.array([20.0, 1.0, 3.0, 17.0])
    y = np.array([18.0, 2.0, 21.0, 5.0])
    # Z-order: (0, 0), (1, 0), (0, 1), (1, 1).
    assert spatial_order(x, y).tolist() == [1, 3, 2, 0]
    px, py = random_points(300, seed=5)
    assert sorted(spatial_order(px, py).tolist()) == list(range(300))


def street_grid() -> nx.MultiDiGraph:
    """A 3 × 3 grid of 100 m blocks (UTM 50N) and a separate two-node road 1 km east."""
    g = nx.MultiDiGraph(crs=UTM)
    for i in range(4):
        for j in range(4):
            g.add_node(i * 4 + j, x=X0 + j * 100.0, y=Y0 + i * 100.0)
    for i in range(4):
        for j in range(4):
            u = i * 4 + j
            for v in ([u + 1] if j < 3 else []) + ([u + 4] if i < 3 else []):
                for a, b in ((u, v), (v, u)):
                    g.add_edge(a, b, length=100.0, highway="residential", oneway=False)
    g.add_node(100, x=X0 + 1300.0, y=Y0)
    g.add_node(101, x=X0 + 1300.0, y=Y0 + 100.0)
    for a, b in ((100, 101), (101, 100)):
        g.add_edge(a, b, length=100.0, highway="residential", oneway=False)
    return g


def test_why_a_point_is_not_routed() -> None:
    net = RoadNetwork.from_graph(street_grid(), crs=UTM, max_snap_m=150.0)
    points = np.array([
        [X0 + 150.0, Y0 + 40.0],  # inside a block: 40 m from a road
        [X0 + 449.9, Y0 + 150.0],  # 149.9 m east of the grid: within the limit
        [X0 + 450.1, Y0 + 150.0],  # 150.1 m east of the grid, 850 m from the island: too far
        [X0 + 1290.0, Y0 + 50.0],  # 10 m from the island only: cut off from the routing roads
        [np.nan, np.nan],  # no position
    ])
    snap = net.snap(points)
    assert snap["reason"].isna().tolist() == [True, True, False, False, False]
    assert snap["reason"].tolist()[2:] == [REASON_FAR, REASON_DISCONNECTED, REASON_MISSING]
    np.testing.assert_allclose(snap["snap_m"].to_numpy()[:4], [40.0, 149.9, 150.1, 990.0],
                               atol=1e-6)
    # The attachment is on the routing roads even when a road of another component is nearer.
    assert snap.loc[3, "nearer_component"] == 1
    assert snap.loc[3, "nearer_component_m"] == pytest.approx(10.0)
    assert snap["link"].tolist()[4] == -1
    routing = set(net.main_links.tolist())
    assert set(snap["link"].to_numpy()[:4].tolist()) <= routing
