"""Tests for coverage.network.offsets: does a layer's declared coordinate system fit its data?

Small, fast inputs built here: an irregular street grid of 6 km by 6 km in southern China
(blocks 250-450 m, so that a shift of hundreds of metres puts about half the points in block
interiors), 300 points 2-15 m beside its roads in the middle of it, and copies of them written
in GCJ-02 or BD-09 with :mod:`coverage.crs` and loaded as if declared in another system. The
check must name the system the points were written in when the declaration is wrong, stay
silent when it is right, and say "unclear" or "too few" rather than guess.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from itertools import product

import geopandas as gpd
import networkx as nx
import numpy as np
import pyproj
import pytest
import shapely

from coverage.crs import (
    bd09_to_wgs84,
    gcj02_to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from coverage.network import RoadNetwork
from coverage.network.offsets import (
    MIN_INFORMATIVE,
    CoordinateSystemWarning,
    check_declaration,
    check_offset,
)

SYSTEMS = ("wgs84", "gcj02", "bd09")
WRONG = [(t, d) for t, d in product(SYSTEMS, SYSTEMS) if t != d]
_WRITE = {"wgs84": lambda lo, la: (lo, la), "gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}
_READ = {"wgs84": lambda lo, la: (lo, la), "gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}


@dataclass
class City:
    """A street grid and points truly beside its roads (network CRS)."""

    net: RoadNetwork
    x: np.ndarray
    y: np.ndarray

    def loaded(self, true: str, declared: str, x: np.ndarray | None = None,
               y: np.ndarray | None = None) -> gpd.GeoSeries:
        """The points written in ``true`` and loaded as if they were in ``declared``."""
        x = self.x if x is None else x
        y = self.y if y is None else y
        crs = self.net.crs
        lon, lat = pyproj.Transformer.from_crs(crs, 4326, always_xy=True).transform(x, y)
        raw = _WRITE[true](np.asarray(lon), np.asarray(lat))
        px, py = pyproj.Transformer.from_crs(4326, crs, always_xy=True).transform(
            *_READ[declared](*raw))
        return gpd.GeoSeries(shapely.points(px, py), crs=crs)


def build_city(crs: str, x0: float, y0: float, seed: int = 0, n: int = 300) -> City:
    """An 18 × 18 street grid with irregular blocks, and ``n`` points beside its inner roads."""
    rng = np.random.default_rng(seed)
    xs = np.cumsum(np.r_[0.0, rng.uniform(250.0, 450.0, 17)])
    ys = np.cumsum(np.r_[0.0, rng.uniform(250.0, 450.0, 17)])
    k = len(xs)
    g = nx.MultiDiGraph(crs=crs)
    for i, j in product(range(k), range(k)):
        g.add_node(i * k + j, x=x0 + xs[j], y=y0 + ys[i])
    for i, j in product(range(k), range(k)):
        u = i * k + j
        ends = ([(u + 1, xs[j + 1] - xs[j])] if j + 1 < k else []) + (
            [(u + k, ys[i + 1] - ys[i])] if i + 1 < k else [])
        for v, length in ends:
            for a, b in ((u, v), (v, u)):
                g.add_edge(a, b, length=float(length), highway="residential", oneway=False)
    net = RoadNetwork.from_graph(g, crs=crs)
    # Points on the inner roads (2 km from the edge, farther than a BD-09 shift), 2-15 m off
    # either side: half beside east-west streets, half beside north-south ones.
    inner_x = xs[(xs > 2000.0) & (xs < xs[-1] - 2000.0)]
    inner_y = ys[(ys > 2000.0) & (ys < ys[-1] - 2000.0)]
    along = rng.uniform(2000.0, min(xs[-1], ys[-1]) - 2000.0, n)
    off = rng.uniform(2.0, 15.0, n) * rng.choice([-1.0, 1.0], n)
    east_west = np.arange(n) % 2 == 0
    line_x = rng.choice(inner_x, n)
    line_y = rng.choice(inner_y, n)
    x = np.where(east_west, along, line_x + off)
    y = np.where(east_west, line_y + off, along)
    return City(net, x0 + x, y0 + y)


@pytest.fixture(scope="module")
def city() -> City:
    """A city in Jiangxi (UTM 50N)."""
    return build_city("EPSG:32650", 500_000.0, 3_000_000.0)


Communities = tuple[gpd.GeoDataFrame, np.ndarray]


@pytest.fixture(scope="module")
def communities(city: City) -> Communities:
    """Nine square communities of 2 km over the points, and each point's own community."""
    x0, y0 = city.x.min() - 10.0, city.y.min() - 10.0
    side = (max(np.ptp(city.x), np.ptp(city.y)) + 20.0) / 3.0
    boxes = [shapely.box(x0 + c * side, y0 + r * side, x0 + (c + 1) * side, y0 + (r + 1) * side)
             for r in range(3) for c in range(3)]
    frame = gpd.GeoDataFrame({"community_id": [f"C{k}" for k in range(9)]}, geometry=boxes,
                             crs=city.net.crs)
    col = np.minimum(((city.x - x0) // side).astype(int), 2)
    row = np.minimum(((city.y - y0) // side).astype(int), 2)
    return frame, np.array([f"C{k}" for k in row * 3 + col], dtype=object)


@pytest.mark.parametrize("system", SYSTEMS)
def test_a_correct_declaration_fits(city: City, system: str) -> None:
    check = check_declaration(city.net, city.loaded(system, system), declared=system,
                              name="sites.csv")
    assert check.verdict == "fits", check.summary
    assert check.ok and check.likely_system is None
    assert check.message is None and check.message_zh is None
    assert check.summary.startswith("sites.csv: the declared") and "fits" in check.summary
    assert check.n_points == len(city.x) == check.evidence["points_in_layer"]
    # Every point is within 2-15 m of a road as declared: all of them count as at a road.
    assert check.evidence["near_road_share"][system] == 1.0
    assert 2.0 <= check.evidence["median_road_m"][system] <= 15.0 + 5.0
    assert all(share < 0.7 for s, share in check.evidence["near_road_share"].items()
               if s != system)


@pytest.mark.parametrize(("true", "declared"), WRONG)
def test_a_wrong_declaration_names_the_system_the_points_are_in(
    city: City, true: str, declared: str
) -> None:
    check = check_declaration(city.net, city.loaded(true, declared), declared=declared,
                              name="migrants.csv")
    assert check.verdict == "other", check.summary
    assert check.likely_system == true and not check.ok
    assert check.declared == declared
    assert check.message.startswith("migrants.csv: the points look like")
    assert check.message.endswith(f'write crs = "{true}" for this layer in project.toml')
    assert f'crs = "{true}"' in check.message_zh
    near = check.evidence["near_road_share"]
    assert near[true] == 1.0 and near[declared] < 0.7
    primary = check.evidence["comparisons"][f"{true} vs {declared}"]
    assert primary["winner"] == true
    assert primary["roads"]["p"] < 1e-3 and primary["roads"]["effect"] >= 0.8
    # It also beat the third reading and the two shifts at right angles.
    third = next(s for s in SYSTEMS if s not in (true, declared))
    assert set(check.evidence["guard"]) == {f"{true} vs {third}", f"{true} vs {true} +90°",
                                            f"{true} vs {true} -90°"}
    assert all(entry["winner"] == true for entry in check.evidence["guard"].values())


def test_each_reading_moves_the_points_as_far_as_the_systems_differ(city: City) -> None:
    check = check_declaration(city.net, city.loaded("wgs84", "wgs84"), declared="wgs84",
                              name="p")
    lon, lat = pyproj.Transformer.from_crs(city.net.crs, 4326, always_xy=True).transform(
        city.x, city.y)
    to_xy = pyproj.Transformer.from_crs(4326, city.net.crs, always_xy=True)
    for system, low, high in (("gcj02", 260.0, 670.0), ("bd09", 900.0, 1400.0)):
        mx, my = to_xy.transform(*_READ[system](lon, lat))
        want = float(np.median(np.hypot(mx - city.x, my - city.y)))
        assert check.evidence["shift_m"][system] == pytest.approx(want, abs=0.06)
        assert low <= want <= high


def test_outside_china_only_the_readings_that_move_are_compared() -> None:
    # Southern Germany (UTM 32N): GCJ-02 leaves points outside China where they are; BD-09
    # shifts them everywhere.
    abroad = build_city("EPSG:32632", 500_000.0, 5_300_000.0, seed=1)
    check = check_declaration(abroad.net, abroad.loaded("wgs84", "wgs84"), declared="wgs84",
                              name="p")
    assert check.evidence["shift_m"]["gcj02"] < 1.0
    assert set(check.evidence["near_road_share"]) == {"wgs84", "bd09"}
    assert check.verdict == "fits"
    wrong = check_declaration(abroad.net, abroad.loaded("bd09", "wgs84"), declared="wgs84",
                              name="p")
    assert wrong.likely_system == "bd09"


def test_other_declarations_are_read_or_left_alone(city: City) -> None:
    named = check_declaration(city.net, city.loaded("gcj02", "wgs84"), declared="CGCS2000",
                              name="s.csv")
    assert named.declared == "cgcs2000" and named.likely_system == "gcj02"
    assert "not the declared CGCS2000" in named.message
    projected = check_declaration(city.net, city.loaded("wgs84", "wgs84"),
                                  declared="EPSG:32650", name="s.csv")
    assert projected.verdict == "not_applicable" and projected.ok
    assert "not checked" in projected.summary and "未检查" in projected.summary_zh


def test_too_few_points_to_tell(city: City) -> None:
    few = city.loaded("gcj02", "wgs84", city.x[:6], city.y[:6])
    check = check_declaration(city.net, few, declared="wgs84", name="few.csv")
    assert check.verdict == "too_few" and check.likely_system is None
    assert f"at least {MIN_INFORMATIVE} are needed" in check.summary
    assert "点数太少" in check.summary_zh
    none = check_declaration(city.net, np.empty((0, 2)), declared="wgs84", name="none.csv")
    assert none.verdict == "too_few" and none.n_points == 0


def test_points_that_do_not_follow_the_roads_are_unclear(city: City) -> None:
    # Scattered over the blocks, not beside the roads: every reading is as good as another.
    rng = np.random.default_rng(5)
    x = rng.uniform(city.x.min(), city.x.max(), 300)
    y = rng.uniform(city.y.min(), city.y.max(), 300)
    for true, declared in (("wgs84", "wgs84"), ("gcj02", "wgs84")):
        check = check_declaration(city.net, city.loaded(true, declared, x, y),
                                  declared=declared, name="scattered.csv")
        assert check.verdict == "unclear", check.summary
        assert check.likely_system is None
        assert "no reading fits" in check.summary


def test_community_evidence_own_any_or_none(city: City, communities: Communities) -> None:
    frame, ids = communities
    pts = city.loaded("gcj02", "wgs84")
    own = check_declaration(city.net, pts, declared="wgs84", name="m.csv", communities=frame,
                            community_ids=ids)
    assert own.evidence["community_test"] == "own"
    assert own.evidence["in_community_share"]["gcj02"] == 1.0
    assert own.evidence["in_community_share"]["wgs84"] < 1.0
    assert own.likely_system == "gcj02"
    # Communities of 2 km: a few hundred metres moves a good share of points out of their own.
    assert "inside their own community" in own.message
    anywhere = check_declaration(city.net, pts, declared="wgs84", name="m.csv",
                                 communities=frame)
    assert anywhere.evidence["community_test"] == "any"
    roads_only = check_declaration(city.net, pts, declared="wgs84", name="m.csv")
    assert roads_only.evidence["community_test"] is None
    assert "community" not in roads_only.message
    assert anywhere.likely_system == roads_only.likely_system == "gcj02"


def test_roads_and_communities_that_disagree_decide_nothing(
    city: City, communities: Communities
) -> None:
    # Points in GCJ-02 and declared so, but community polygons made from GCJ-02 data declared
    # WGS-84 (so shifted like the points read as WGS-84): the two kinds of evidence conflict.
    frame, ids = communities
    crs = city.net.crs
    to_ll = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
    to_xy = pyproj.Transformer.from_crs(4326, crs, always_xy=True)

    def shift(xy: np.ndarray) -> np.ndarray:
        lon, lat = to_ll.transform(xy[:, 0], xy[:, 1])
        return np.column_stack(to_xy.transform(*wgs84_to_gcj02(lon, lat)))

    moved = frame.copy()
    moved.geometry = shapely.transform(frame.geometry.to_numpy(), shift)
    check = check_declaration(city.net, city.loaded("gcj02", "gcj02"), declared="gcj02",
                              name="m.csv", communities=moved, community_ids=ids)
    assert check.verdict == "unclear" and check.likely_system is None
    assert "the roads and the communities favour different" in check.summary


def test_a_sample_of_the_points_and_no_missing_ones(city: City) -> None:
    pts = city.loaded("bd09", "wgs84")
    with_gaps = gpd.GeoSeries([*pts.to_numpy(), None, shapely.Point()], crs=pts.crs)
    check = check_declaration(city.net, with_gaps, declared="wgs84", name="p", sample=120,
                              seed=3)
    assert check.n_points == 120 == check.evidence["points"]
    assert check.evidence["points_in_layer"] == len(city.x)  # the two without a place left out
    assert check.likely_system == "bd09"
    again = check_declaration(city.net, with_gaps, declared="wgs84", name="p", sample=120,
                              seed=3)
    assert again.evidence["median_road_m"] == check.evidence["median_road_m"]


def test_bad_arguments_say_what_to_do(city: City, communities: Communities) -> None:
    frame, _ = communities
    pts = city.loaded("wgs84", "wgs84")
    with pytest.raises(ValueError, match="unknown coordinate system"):
        check_declaration(city.net, pts, declared="mars", name="s")
    with pytest.raises(ValueError, match=r"community_ids has 3 values .* one id per point"):
        check_declaration(city.net, pts, declared="wgs84", name="s", communities=frame,
                          community_ids=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"pass communities=study\.communities"):
        check_declaration(city.net, pts, declared="wgs84", name="s",
                          community_ids=np.full(len(pts), "C0"))
    with pytest.raises(ValueError, match="no 'community_id' column"):
        check_declaration(city.net, pts, declared="wgs84", name="s",
                          communities=frame.drop(columns="community_id"),
                          community_ids=np.full(len(pts), "C0"))
    for bad in (0, True, 2.5):
        with pytest.raises(ValueError, match="sample must be a whole number"):
            check_declaration(city.net, pts, declared="wgs84", name="s", sample=bad)


def test_the_earlier_median_check_on_a_sparse_grid(city: City) -> None:
    right = city.loaded("wgs84", "wgs84").to_crs(4326)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fine = check_offset(city.net, right, name="sites.csv")
    assert fine.ok and fine.message is None
    assert fine.median_m["wgs84"] <= 15.0
    for true in ("gcj02", "bd09"):
        shifted = city.loaded(true, "wgs84").to_crs(4326)
        lonlat = (shifted.x.to_numpy(), shifted.y.to_numpy())
        with pytest.warns(CoordinateSystemWarning, match=f'crs = "{true}"'):
            check = check_offset(city.net, lonlat, name="migrants.csv")
        assert check.likely_system == true
        assert check.median_m[true] * 3.0 <= check.median_m["wgs84"]
        assert check.message.startswith("the points of migrants.csv sit")
    quiet = check_offset(city.net, np.empty((0, 2)), warn=False)
    assert quiet.n_points == 0 and quiet.ok
