"""Check the declared coordinate system of a point layer against the roads and communities.

Chinese point data come in WGS-84 (GPS, OpenStreetMap; CGCS2000 is the same to centimetres),
GCJ-02 (Amap, Tencent; 260–670 m from WGS-84) or BD-09 (Baidu; 0.9–1.4 km). Each layer declares
its system and is converted from it to WGS-84 on loading (:mod:`coverage.crs`). A wrong
declaration moves every point by hundreds of metres without any error, and every walking
distance computed from the layer is wrong. :func:`check_declaration` tells whether another
system fits the layer clearly better than the declared one.

Method
------
*Readings.* The loaded points are turned back into the raw coordinates of the file (WGS-84 →
declared system) and converted again as each of WGS-84, GCJ-02 and BD-09 would be, giving
three *readings* of the same points (readings that move the points less than
:data:`MIN_SHIFT_M` from the declared one, e.g. GCJ-02 outside China, are left out).

*Roads.* Residences and service points stand beside roads; a reading shifted by hundreds of
metres puts a share of them in block interiors, parks, water or fields. Each point's distance to
the nearest road of the routing network is measured under every reading. Distances below
:data:`ROAD_TOLERANCE_M` (40 m) all count as "at a road": in a dense network (the demo city has
arterials, streets and alleys 25–50 m apart) a random point is often as close to some road as a
real address, so only moves onto or off the road fabric are evidence. Two readings are compared
point by point with the Wilcoxon signed-rank test of ``log(max(d, 40 m))`` (exact for up to 50
points, so small layers get a valid p-value).

*Communities.* When the layer's own community ids are given (as written in the file, not
assigned from the location on loading), the share of points inside the polygon of their own
community is compared; otherwise, with the community polygons, the share inside any community.
The test is the exact McNemar test (binomial test of the points inside under one reading only).

*Decision.* Reading ``a`` is *clearly better* than reading ``b`` by one kind of evidence when
the one-sided p-value of "``a`` is better" is below :data:`ALPHA` (10⁻³), the effect is large
(rank-biserial correlation, or balance of the discordant points, at least :data:`MIN_EFFECT`:
nine tenths of the evidence on ``a``'s side) and the share of points at a road (or in their
community) rises by at least :data:`MIN_GAIN` (10 percentage points). It is better overall when
one kind of evidence says so and none says the opposite: conflicting evidence, e.g. from a
mis-declared communities layer, decides nothing. A system other than the declared one is named
when

1. its reading is clearly better than the declared reading, and
2. it also beats the third reading and two *placebo* readings, shifted as far from it as the
   declared reading but at right angles, at the guard level (:data:`GUARD_ALPHA`,
   :data:`GUARD_EFFECT`, :data:`GUARD_GAIN`): a reading that is only better than a poor
   declared one, as any shift would be, is not named.

The declaration *fits* when the declared reading is clearly better than every other reading.
Without a clear winner the result is *unclear*, or *too few* when no comparison had
:data:`MIN_INFORMATIVE` (10) points that sit differently under two readings, the fewest with
which an exact one-sided test can reach :data:`ALPHA`. The verdict is never a guess: a layer
whose true points lie far from the mapped roads (unmapped village lanes) comes out *unclear*.
The thresholds named here, and the tests, are those of
:mod:`coverage.network._offset_evidence`.

*Measured* (``benchmarks/bench_crs_check.py``, 20 seeds): no false alarm on correctly declared
layers of the demo city and of an OpenStreetMap extract of Guixi, Jiangxi; every wrong
declaration of residence layers (15,000 demo migrants, 5,000 Guixi residences) named right;
small layers are found less often (51 demo sites 92 %, 30 Guixi sites 100 %, 20 sites 75–98 %),
because in a dense network only a fifth of them move off the roads. At most ``sample``
(20,000) points are measured: about 0.2–0.3 s per layer on the default demo city (200,000
migrants), most of it snapping five sets of points.

:func:`check_offset` (:mod:`coverage.network.offset_medians`) is the earlier check for layers
declared WGS-84 (median snap distances only); it says nothing on dense networks and is kept for
existing callers.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray

from coverage.crs import (
    bd09_to_wgs84,
    gcj02_to_wgs84,
    parse_system,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from coverage.network._offset_evidence import (
    GUARD,
    MIN_INFORMATIVE,
    MIN_SHIFT_M,
    STRONG,
    SYSTEMS,
    Report,
    Test,
    Verdict,
    combine,
    membership_test,
    road_test,
)
from coverage.network.offset_medians import CoordinateSystemWarning, OffsetCheck, check_offset
from coverage.network.points import Points, point_xy

if TYPE_CHECKING:
    from collections.abc import Callable

    from coverage.network.graph import RoadNetwork
    from coverage.network.snap import SegmentIndex

__all__ = [
    "CoordinateSystemWarning",
    "DeclarationCheck",
    "OffsetCheck",
    "check_declaration",
    "check_offset",
]

#: Directions (degrees, counter-clockwise) of the placebo shifts, relative to the shift from the
#: declared reading to the one about to be named.
PLACEBO_ANGLES_DEG: tuple[float, ...] = (90.0, -90.0)


def _identity(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """WGS-84 read as WGS-84: the coordinates unchanged."""
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


_FROM_WGS84 = {"wgs84": _identity, "gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}
_TO_WGS84 = {"wgs84": _identity, "gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}


# --------------------------------------------------------------------------------------------
# Checking the declared coordinate system
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeclarationCheck:
    """Result of :func:`check_declaration` for one layer.

    Attributes
    ----------
    name
        Layer name used in the sentences (e.g. ``"migrants.csv"``).
    declared
        The declared system as normalised by :func:`coverage.crs.parse_system` (``"wgs84"``,
        ``"cgcs2000"``, ``"gcj02"``, ``"bd09"`` or ``"EPSG:nnnn"``).
    likely_system
        ``"wgs84"``, ``"gcj02"`` or ``"bd09"`` when that reading fits clearly better than the
        declared one; None when the declaration fits or the evidence is not clear.
    verdict
        ``"fits"`` (the declared reading is clearly better than every other), ``"other"``
        (``likely_system``'s is), ``"unclear"`` (no reading wins clearly, or the evidence
        conflicts), ``"too_few"`` (too few points to tell) or ``"not_applicable"`` (an EPSG
        declaration, or no other reading moves the points).
    n_points
        Points measured (a random sample of at most ``sample``).
    evidence
        Figures behind the verdict: ``points`` (measured), ``points_in_layer``, the thresholds,
        ``shift_m`` (median move of each reading from the declared one), ``median_road_m`` and
        ``near_road_share`` (share within ``road_tolerance_m``) per reading,
        ``community_test`` (``"own"``, ``"any"`` or None), ``community_points`` and
        ``in_community_share`` per reading; ``comparisons`` (``"a vs b"``: each reading
        against the declared one) and, once a reading beat the declared one, ``guard`` (it
        against the third reading and the placebo shifts ``"a +90°"``, ``"a -90°"``), each
        with the ``roads`` and ``communities`` tests (informative ``points``, ``wins`` of
        ``a``, one-sided ``p`` of "``a`` is better" and ``p_other`` of the reverse, ``effect``
        from -1 to 1, ``share`` and ``share_other`` at a road or in the community) and the
        ``winner`` (None when neither is clearly better); and ``seconds``.
    message, message_zh
        When ``likely_system`` is set: one sentence naming the likely system, the evidence and
        the line to write in project.toml, in English and in Chinese; else None.
    summary, summary_zh
        One sentence on the outcome, whatever it is (for logs and reports).
    """

    name: str
    declared: str
    likely_system: str | None
    verdict: Verdict
    n_points: int
    evidence: dict[str, Any] = field(default_factory=dict)
    message: str | None = None
    message_zh: str | None = None
    summary: str = ""
    summary_zh: str = ""

    @property
    def ok(self) -> bool:
        """True when no other coordinate system fits clearly better than the declared one."""
        return self.likely_system is None


@functools.lru_cache(maxsize=16)
def _transformer(src: pyproj.CRS, dst: pyproj.CRS) -> pyproj.Transformer:
    """Return a cached transformer in lon/lat (x, y) order."""
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def _readings(
    x: NDArray[np.float64], y: NDArray[np.float64], crs: pyproj.CRS, declared: str
) -> dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """Positions (network CRS) of the points under every reading of their raw coordinates."""
    wgs84 = pyproj.CRS.from_epsg(4326)
    lon, lat = _transformer(crs, wgs84).transform(x, y)
    raw = _FROM_WGS84[declared](lon, lat)
    to_xy = _transformer(wgs84, crs)
    out = {declared: (x, y)}
    for system in SYSTEMS:
        if system != declared:
            rx, ry = to_xy.transform(*_TO_WGS84[system](*raw))
            out[system] = (np.asarray(rx, dtype=np.float64), np.asarray(ry, dtype=np.float64))
    return out


def _membership(
    communities: gpd.GeoDataFrame | gpd.GeoSeries | None,
    ids: NDArray[np.object_] | None,
    crs: pyproj.CRS,
) -> tuple[str | None, Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[np.bool_]]]:
    """Return the community test's kind and a function telling which points are inside.

    The kind is ``"own"`` (each point in the polygon of its own ``community_id``; points
    without a known id are left out), ``"any"`` (in any polygon) or None (no polygons).
    """
    if communities is None or len(communities) == 0:
        return None, lambda x, y: np.zeros(0, dtype=bool)
    geo = communities.geometry if isinstance(communities, gpd.GeoDataFrame) else communities
    if geo.crs is not None and not pyproj.CRS.from_user_input(geo.crs).equals(crs):
        geo = geo.to_crs(crs)
    polys = np.asarray(geo.values)
    if ids is None:
        kept = polys[~(shapely.is_missing(polys) | shapely.is_empty(polys))]
        try:  # a bow-tie fails the union unless mended; NaN coordinates fail both
            area = shapely.union_all(shapely.make_valid(kept))
        except shapely.errors.GEOSException:
            return None, lambda x, y: np.zeros(0, dtype=bool)
        shapely.prepare(area)
        return "any", lambda x, y: shapely.contains_xy(area, x, y)
    if not isinstance(communities, gpd.GeoDataFrame) or "community_id" not in communities:
        msg = ("community_ids were given but the communities have no 'community_id' column; "
               "pass the communities layer as loaded (study.communities)")
        raise ValueError(msg)
    keys = communities["community_id"].astype(str).to_numpy()
    first = ~pd.Index(keys).duplicated()
    lookup = pd.Index(keys[first])
    given = ~pd.isna(ids)
    code = np.full(len(ids), -1, dtype=np.int64)
    code[given] = lookup.get_indexer(pd.Index(ids[given]).astype(str))
    own = polys[first]
    known = code >= 0
    target = own[code[known]]
    shapely.prepare(own)

    def inside(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.bool_]:
        return shapely.contains_xy(target, x[known], y[known])

    return "own", inside


def _ids(community_ids: ArrayLike | None, n: int) -> NDArray[np.object_] | None:
    """Return the community ids as an object array of length ``n`` (None when not given)."""
    if community_ids is None:
        return None
    ids = np.asarray(community_ids, dtype=object)
    if ids.ndim != 1 or len(ids) != n:
        msg = (f"community_ids has {ids.size} values in shape {ids.shape} but there are {n} "
               "points; pass one id per point, in the points' order (or None)")
        raise ValueError(msg)
    return ids


def _road_distance(
    index: SegmentIndex, x: NDArray[np.float64], y: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Distance (m) from each point to the nearest road of the routing component.

    The fast search is used: at most half a snapping piece (5 m) too long, far below
    :data:`ROAD_TOLERANCE_M`, and two to three times quicker for points shifted off the roads.
    """
    return index.query(x, y, exact=False).distance


def check_declaration(
    net: RoadNetwork,
    points: Points,
    *,
    declared: str,
    name: str,
    communities: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    community_ids: ArrayLike | None = None,
    sample: int = 20_000,
    seed: int = 0,
) -> DeclarationCheck:
    """Check whether a point layer's declared coordinate system fits its data.

    The points are read back to the file's raw coordinates and read again as WGS-84, GCJ-02
    and BD-09; the readings are compared by the points' distances to the roads and, when the
    communities are given, by how many points fall in their community (see the module
    docstring for the tests and the decision rule). Another system is named only when its
    reading is clearly better than the declared one and than every other reading and placebo
    shift, so a correctly declared layer raises no alarm.

    Parameters
    ----------
    net
        The road network, in the study CRS (usually ``RoadNetwork.from_study(study)``).
    points
        The layer as loaded, i.e. converted from the declared system to WGS-84 and projected:
        a GeoSeries/GeoDataFrame (any CRS; other shapes count by their centroid) or x, y in
        the network CRS as an ``(n, 2)`` array or an ``(x, y)`` pair.
    declared
        The layer's declared ``crs`` (anything :func:`coverage.crs.parse_system` accepts).
        Other EPSG codes are not checked (``verdict="not_applicable"``).
    name
        Layer name for the sentences, e.g. ``"migrants.csv"``.
    communities
        The community polygons (``study.communities``), any CRS; optional.
    community_ids
        Each point's ``community_id`` as written in the layer's file, in the points' order
        (missing ids as None/NaN); needs ``communities`` with a ``community_id`` column. Do not
        pass ids the loader assigned from the points' location: they agree with the declared
        reading by construction and would hide a wrong declaration.
    sample
        Measure at most this many points, chosen at random with ``seed``.
    seed
        Random seed of the sample.

    Returns
    -------
    DeclarationCheck
        ``likely_system`` is set (with ``message`` and ``message_zh``) only for a clear case.

    Raises
    ------
    ValueError
        For an unknown ``declared`` system, ``sample < 1``, ``community_ids`` of another
        length than ``points``, or ``community_ids`` without usable ``communities``.

    Examples
    --------
    >>> check = check_declaration(net, study.sites, declared="wgs84",  # doctest: +SKIP
    ...                           name="sites.csv", communities=study.communities)
    >>> check.likely_system, check.message  # doctest: +SKIP
    ('gcj02', 'sites.csv: the points look like GCJ-02 (Amap, Tencent) coordinates, ...')
    """
    start = time.perf_counter()
    system = parse_system(declared)
    x, y, ids, n_total = _sample(net, points, communities, community_ids, sample, seed)
    reading = "wgs84" if system == "cgcs2000" else system
    report = Report(name, system, reading, len(x), n_total)
    if reading not in SYSTEMS:
        return _result(report, "not_applicable", start)
    if len(x) == 0:
        return _result(report, "too_few", start)
    measured = _measure(net, x, y, reading, communities, ids, report)
    if measured is None:
        return _result(report, "not_applicable", start)
    verdict, winner = _decide(measured, reading, report)
    return _result(report, verdict, start, winner=winner)


def _sample(
    net: RoadNetwork,
    points: Points,
    communities: gpd.GeoDataFrame | gpd.GeoSeries | None,
    community_ids: ArrayLike | None,
    sample: int,
    seed: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.object_] | None, int]:
    """Check the arguments and pick at most ``sample`` of the points with coordinates.

    Returns their positions in the network CRS, their community ids (None when not given) and
    the number of points with coordinates in the layer.
    """
    if isinstance(sample, bool) or not isinstance(sample, int | np.integer) or sample < 1:
        msg = f"sample must be a whole number of at least 1, got {sample!r}; e.g. sample=20000"
        raise ValueError(msg)
    x, y, _ = point_xy(points, net.crs)
    ids = _ids(community_ids, len(x))
    if ids is not None and communities is None:
        msg = ("community_ids were given without the community polygons; pass "
               "communities=study.communities as well")
        raise ValueError(msg)
    pick = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    n_total = len(pick)
    if len(pick) > sample:
        pick = np.sort(np.random.default_rng(seed).choice(pick, size=sample, replace=False))
    return x[pick], y[pick], (ids[pick] if ids is not None else None), n_total


@dataclass
class _Measured:
    """The sampled points under every reading: positions, distances to the roads, communities.

    ``x``, ``y`` are the declared positions; ``dist`` and ``member`` are keyed by reading, and
    get the placebo shifts too as they are measured (:meth:`placebo`).
    """

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    positions: dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]]
    dist: dict[str, NDArray[np.float64]]
    member: dict[str, NDArray[np.bool_]]
    kind: str | None
    inside: Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[np.bool_]]
    index: SegmentIndex

    def compare(self, a: str, b: str) -> dict[str, Test]:
        """Compare reading ``a`` with reading ``b`` by the roads and, if known, the communities."""
        tests = {"roads": road_test(self.dist[a], self.dist[b])}
        if self.kind and len(self.member[a]):
            tests["communities"] = membership_test(self.member[a], self.member[b])
        return tests

    def placebo(self, winner: str, angle: float) -> str:
        """Measure ``winner``'s shift turned by ``angle`` degrees (once); return its key."""
        key = f"{winner} {angle:+.0f}°"
        if key not in self.dist:
            wx, wy = self.positions[winner]
            vx, vy = wx - self.x, wy - self.y
            c, s_ = math.cos(math.radians(angle)), math.sin(math.radians(angle))
            px, py = wx + c * vx - s_ * vy, wy + s_ * vx + c * vy
            self.dist[key] = _road_distance(self.index, px, py)
            if self.kind:
                self.member[key] = self.inside(px, py)
        return key


def _measure(
    net: RoadNetwork,
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    reading: str,
    communities: gpd.GeoDataFrame | gpd.GeoSeries | None,
    ids: NDArray[np.object_] | None,
    report: Report,
) -> _Measured | None:
    """Read the points every way and measure each reading (None when there is nothing to compare).

    Readings that move the points less than :data:`MIN_SHIFT_M` are left out; nothing is
    compared when no other reading is left or a distance to the roads is not finite.
    """
    positions = _readings(x, y, net.crs, reading)
    shift = {s: float(np.median(np.hypot(px - x, py - y)))
             for s, (px, py) in positions.items() if s != reading}
    report.evidence["shift_m"] = {s: round(v, 1) for s, v in shift.items()}
    for s, v in shift.items():
        if not v >= MIN_SHIFT_M:
            del positions[s]
    kind, inside = _membership(communities, ids, net.crs)
    index = net.snap_index
    dist = {s: _road_distance(index, px, py) for s, (px, py) in positions.items()}
    if len(positions) == 1 or not all(np.isfinite(d).all() for d in dist.values()):
        return None
    member = {s: inside(px, py) for s, (px, py) in positions.items()} if kind else {}
    report.measure(dist, member, kind)
    return _Measured(x, y, positions, dist, member, kind, inside, index)


def _decide(measured: _Measured, reading: str, report: Report) -> tuple[Verdict, str | None]:
    """Decide the verdict, and the reading that won, by the two steps of the module docstring."""
    # 1. Each other reading against the declared one: the strong test.
    alternatives = [s for s in measured.positions if s != reading]
    primary = {a: measured.compare(a, reading) for a in alternatives}
    for a, tests in primary.items():
        report.add(f"{a} vs {reading}", combine(tests, STRONG), tests)
    candidates = sorted((a for a in alternatives if combine(primary[a], STRONG) > 0),
                        key=lambda a: -primary[a]["roads"].effect)
    if not candidates:
        if all(combine(primary[a], STRONG) < 0 for a in alternatives):
            return "fits", None
        most = max((t.n for tests in primary.values() for t in tests.values()), default=0)
        return ("too_few" if most < MIN_INFORMATIVE else "unclear"), None
    # 2. The candidate must also beat the other readings and shifts as long as its own
    #    but at right angles (placebos): else it is merely one more misplacement.
    for winner in candidates:
        others = [a for a in alternatives if a != winner]
        if _beats_all(measured, winner, others, report):
            return "other", winner
    return "unclear", candidates[0]


def _beats_all(measured: _Measured, winner: str, others: list[str], report: Report) -> bool:
    """Whether ``winner`` beats the readings ``others`` and the placebos at the guard level."""
    for other in others + list(PLACEBO_ANGLES_DEG):
        key = other if isinstance(other, str) else measured.placebo(winner, other)
        tests = measured.compare(winner, key)
        verdict = combine(tests, GUARD)
        report.add(f"{winner} vs {key}", verdict, tests, guard=True)
        if verdict <= 0:
            return False
    return True


def _result(
    report: Report, verdict: Verdict, start: float, *, winner: str | None = None
) -> DeclarationCheck:
    """Build the result of :func:`check_declaration` with its sentences."""
    report.evidence["seconds"] = round(time.perf_counter() - start, 3)
    likely = winner if verdict == "other" else None
    summary, summary_zh = report.summary(verdict, winner)
    message = message_zh = None
    if likely is not None:
        message, message_zh = report.alarm(likely)
    return DeclarationCheck(name=report.name, declared=report.system, likely_system=likely,
                            verdict=verdict, n_points=report.n, evidence=report.evidence,
                            message=message, message_zh=message_zh, summary=summary,
                            summary_zh=summary_zh)
