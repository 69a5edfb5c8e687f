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

*Measured* (``benchmarks/bench_crs_check.py``, 20 seeds): no false alarm on correctly declared
layers of the demo city and of an OpenStreetMap extract of Guixi, Jiangxi; every wrong
declaration of residence layers (15,000 demo migrants, 5,000 Guixi residences) named right;
small layers are found less often (51 demo sites 92 %, 30 Guixi sites 100 %, 20 sites 75–98 %),
because in a dense network only a fifth of them move off the roads. At most ``sample``
(20,000) points are measured: about 0.2–0.3 s per layer on the default demo city (200,000
migrants), most of it snapping five sets of points.

:func:`check_offset` is the earlier check for layers declared WGS-84 (median snap distances
only); it says nothing on dense networks and is kept for existing callers.
"""

from __future__ import annotations

import functools
import math
import time
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from coverage.crs import (
    bd09_to_wgs84,
    gcj02_to_wgs84,
    parse_system,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from coverage.network.graph import Points, RoadNetwork
    from coverage.network.snap import SegmentIndex

__all__ = [
    "CoordinateSystemWarning",
    "DeclarationCheck",
    "OffsetCheck",
    "check_declaration",
    "check_offset",
]

#: :func:`check_offset`: a reading must bring the median snap distance down by at least this
#: factor ...
MIN_FACTOR = 3.0
#: ... and below this many metres to be named as the likely coordinate system.
MAX_MEDIAN_M = 60.0

_LABELS = {"wgs84": "WGS-84", "gcj02": "GCJ-02", "bd09": "BD-09"}

#: The readings tried (CGCS2000 reads as WGS-84).
SYSTEMS: tuple[str, ...] = ("wgs84", "gcj02", "bd09")
#: A point within this distance (m) of a road is "at a road"; nearer distances are not compared.
ROAD_TOLERANCE_M = 40.0
#: Significance level of the one-sided tests against the declared reading.
ALPHA = 1e-3
#: Smallest effect for a clear win: rank-biserial correlation (roads) or balance of the
#: discordant points (communities), from -1 to 1.
MIN_EFFECT = 0.8
#: Smallest rise of the share of points at a road (or in their community) for a clear win.
MIN_GAIN = 0.10
#: Readings moving the points less than this (median, m) from the declared one are left out.
MIN_SHIFT_M = 50.0
#: Fewest informative points with which a one-sided exact test can reach :data:`ALPHA`.
MIN_INFORMATIVE = math.ceil(math.log2(1.0 / ALPHA))
#: Thresholds of the guard comparisons (the named reading against the other readings and the
#: placebos): one-sided p-value, effect and gain.
GUARD_ALPHA = 0.01
GUARD_EFFECT = 0.5
GUARD_GAIN = 0.05
#: Directions (degrees, counter-clockwise) of the placebo shifts, relative to the shift from the
#: declared reading to the one about to be named.
PLACEBO_ANGLES_DEG: tuple[float, ...] = (90.0, -90.0)
#: Clipped distances closer than this (m) are a tie.
_TIE_M = 0.5

Verdict = Literal["fits", "other", "unclear", "too_few", "not_applicable"]


def _identity(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """WGS-84 read as WGS-84: the coordinates unchanged."""
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


_FROM_WGS84 = {"wgs84": _identity, "gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}
_TO_WGS84 = {"wgs84": _identity, "gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}
_NAMES_EN = {
    "wgs84": "WGS-84", "cgcs2000": "CGCS2000", "gcj02": "GCJ-02", "bd09": "BD-09",
}
_KINDS_EN = {
    "wgs84": "WGS-84 (GPS, OpenStreetMap)",
    "gcj02": "GCJ-02 (Amap, Tencent)",
    "bd09": "BD-09 (Baidu)",
}
_KINDS_ZH = {
    "wgs84": "WGS-84（GPS、OpenStreetMap）",
    "gcj02": "GCJ-02（高德、腾讯）",
    "bd09": "BD-09（百度）",
}


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


@dataclass(frozen=True)
class _Level:
    """Thresholds of a clear win: one-sided p-value, effect and gain."""

    alpha: float
    effect: float
    gain: float


#: A clear win over the declared reading (the evidence for naming another system).
_STRONG = _Level(ALPHA, MIN_EFFECT, MIN_GAIN)
#: A win over the other readings and the placebos (the check that the named one is special).
_GUARD = _Level(GUARD_ALPHA, GUARD_EFFECT, GUARD_GAIN)


@dataclass(frozen=True)
class _Test:
    """One paired comparison of reading ``a`` with reading ``b`` by one kind of evidence.

    ``n`` points differ between the readings, ``wins`` of them in favour of ``a``; ``p_a`` and
    ``p_b`` are the one-sided p-values of "``a`` is better" and "``b`` is better"; ``effect``
    runs from -1 (all evidence for ``b``) to 1 (all for ``a``); ``share_a`` and ``share_b`` are
    the shares of points at a road (or in their community).
    """

    n: int
    wins: int
    p_a: float
    p_b: float
    effect: float
    share_a: float
    share_b: float

    def favours(self, level: _Level) -> int:
        """1 when ``a`` wins clearly at ``level``, -1 when ``b`` does, else 0."""
        gain = self.share_a - self.share_b
        if self.p_a < level.alpha and self.effect >= level.effect and gain >= level.gain:
            return 1
        if self.p_b < level.alpha and -self.effect >= level.effect and -gain >= level.gain:
            return -1
        return 0

    def figures(self) -> dict[str, float | int]:
        """Return the figures as plain numbers (for :attr:`DeclarationCheck.evidence`)."""
        return {"points": self.n, "wins": self.wins, "p": self.p_a, "p_other": self.p_b,
                "effect": round(self.effect, 4), "share": round(self.share_a, 4),
                "share_other": round(self.share_b, 4)}


def _road_test(da: NDArray[np.float64], db: NDArray[np.float64]) -> _Test:
    """Compare distances to the nearest road under readings ``a`` and ``b``, point by point."""
    ca = np.maximum(da, ROAD_TOLERANCE_M)
    cb = np.maximum(db, ROAD_TOLERANCE_M)
    z = (np.log(cb) - np.log(ca))[np.abs(cb - ca) > _TIE_M]  # > 0: nearer a road under a
    share_a = float(np.mean(da <= ROAD_TOLERANCE_M)) if len(da) else 0.0
    share_b = float(np.mean(db <= ROAD_TOLERANCE_M)) if len(db) else 0.0
    if len(z) == 0:
        return _Test(0, 0, 1.0, 1.0, 0.0, share_a, share_b)
    ranks = stats.rankdata(np.abs(z))
    total = float(ranks.sum())
    effect = (2.0 * float(ranks[z > 0].sum()) - total) / total
    with warnings.catch_warnings():
        # Older SciPy warns that the exact p-value ignores tied ranks; they are rare here.
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        p_a = float(stats.wilcoxon(z, alternative="greater").pvalue)
        p_b = float(stats.wilcoxon(z, alternative="less").pvalue)
    return _Test(len(z), int(np.count_nonzero(z > 0)), p_a, p_b, effect, share_a, share_b)


def _membership_test(ina: NDArray[np.bool_], inb: NDArray[np.bool_]) -> _Test:
    """Compare community membership under readings ``a`` and ``b`` (exact McNemar test)."""
    wins = int(np.count_nonzero(ina & ~inb))
    losses = int(np.count_nonzero(inb & ~ina))
    n = wins + losses
    share_a = float(ina.mean()) if len(ina) else 0.0
    share_b = float(inb.mean()) if len(inb) else 0.0
    if n == 0:
        return _Test(0, 0, 1.0, 1.0, 0.0, share_a, share_b)
    p_a = float(stats.binomtest(wins, n, 0.5, alternative="greater").pvalue)
    p_b = float(stats.binomtest(wins, n, 0.5, alternative="less").pvalue)
    return _Test(n, wins, p_a, p_b, (wins - losses) / n, share_a, share_b)


def _combine(tests: dict[str, _Test], level: _Level) -> int:
    """1 when some evidence favours ``a`` at ``level`` and none favours ``b``; -1 mirrored."""
    votes = {t.favours(level) for t in tests.values()}
    if 1 in votes and -1 not in votes:
        return 1
    if -1 in votes and 1 not in votes:
        return -1
    return 0


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


def _p_text(p: float) -> str:
    """Format a p-value for a message."""
    return "p < 1e-300" if p <= 0.0 else f"p = {p:.1g}"


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
    if isinstance(sample, bool) or not isinstance(sample, int | np.integer) or sample < 1:
        msg = f"sample must be a whole number of at least 1, got {sample!r}; e.g. sample=20000"
        raise ValueError(msg)
    x, y, _ = net._points_xy(points)
    ids = _ids(community_ids, len(x))
    if ids is not None and communities is None:
        msg = ("community_ids were given without the community polygons; pass "
               "communities=study.communities as well")
        raise ValueError(msg)
    pick = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    n_total = len(pick)
    if len(pick) > sample:
        pick = np.sort(np.random.default_rng(seed).choice(pick, size=sample, replace=False))
    x, y = x[pick], y[pick]
    ids = ids[pick] if ids is not None else None
    reading = "wgs84" if system == "cgcs2000" else system
    report = _Report(name, system, reading, len(x), n_total)
    if reading not in SYSTEMS:
        return report.done("not_applicable", start)
    if len(x) == 0:
        return report.done("too_few", start)

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
        return report.done("not_applicable", start)
    member = {s: inside(px, py) for s, (px, py) in positions.items()} if kind else {}
    report.measure(dist, member, kind)

    def compare(a: str, b: str) -> dict[str, _Test]:
        tests = {"roads": _road_test(dist[a], dist[b])}
        if kind and len(member[a]):
            tests["communities"] = _membership_test(member[a], member[b])
        return tests

    # 1. Each other reading against the declared one: the strong test.
    alternatives = [s for s in positions if s != reading]
    primary = {a: compare(a, reading) for a in alternatives}
    for a, tests in primary.items():
        report.add(f"{a} vs {reading}", _combine(tests, _STRONG), tests)
    candidates = sorted((a for a in alternatives if _combine(primary[a], _STRONG) > 0),
                        key=lambda a: -primary[a]["roads"].effect)
    if not candidates:
        if all(_combine(primary[a], _STRONG) < 0 for a in alternatives):
            return report.done("fits", start)
        most = max((t.n for tests in primary.values() for t in tests.values()), default=0)
        return report.done("too_few" if most < MIN_INFORMATIVE else "unclear", start)

    # 2. The candidate must also beat the other readings and shifts as long as its own
    #    but at right angles (placebos): else it is merely one more misplacement.
    for winner in candidates:
        wx, wy = positions[winner]
        vx, vy = wx - x, wy - y
        passed = True
        for other in [a for a in alternatives if a != winner] + list(PLACEBO_ANGLES_DEG):
            if isinstance(other, str):
                key = other
            else:
                c, s_ = math.cos(math.radians(other)), math.sin(math.radians(other))
                key = f"{winner} {other:+.0f}°"
                if key not in dist:
                    px, py = wx + c * vx - s_ * vy, wy + s_ * vx + c * vy
                    dist[key] = _road_distance(index, px, py)
                    if kind:
                        member[key] = inside(px, py)
            tests = compare(winner, key)
            verdict = _combine(tests, _GUARD)
            report.add(f"{winner} vs {key}", verdict, tests, guard=True)
            if verdict <= 0:
                passed = False
                break
        if passed:
            return report.done("other", start, winner=winner)
    return report.done("unclear", start, winner=candidates[0])


class _Report:
    """Collects the evidence of :func:`check_declaration` and writes the sentences."""

    def __init__(self, name: str, system: str, reading: str, n: int, n_total: int) -> None:
        self.name, self.system, self.reading, self.n = name, system, reading, n
        self.evidence: dict[str, Any] = {
            "points": n, "points_in_layer": n_total, "road_tolerance_m": ROAD_TOLERANCE_M,
            "alpha": ALPHA, "min_effect": MIN_EFFECT, "min_gain": MIN_GAIN,
        }
        self.tests: dict[str, dict[str, _Test]] = {}

    def measure(self, dist: dict[str, NDArray[np.float64]],
                member: dict[str, NDArray[np.bool_]], kind: str | None) -> None:
        """Record each reading's distances to the roads and community shares."""
        self.evidence["median_road_m"] = {s: round(float(np.median(d)), 1)
                                          for s, d in dist.items()}
        self.evidence["near_road_share"] = {s: round(float(np.mean(d <= ROAD_TOLERANCE_M)), 4)
                                            for s, d in dist.items()}
        self.evidence["community_test"] = kind
        if kind:
            self.evidence["community_points"] = len(next(iter(member.values())))
            self.evidence["in_community_share"] = {
                s: round(float(m.mean()), 4) if len(m) else None for s, m in member.items()
            }

    def add(self, key: str, verdict: int, tests: dict[str, _Test], *,
            guard: bool = False) -> None:
        """Record one comparison of two readings (``key`` is ``"a vs b"``)."""
        self.tests[key] = tests
        entry: dict[str, Any] = {kind: t.figures() for kind, t in tests.items()}
        a, b = key.split(" vs ")
        entry["winner"] = a if verdict > 0 else b if verdict < 0 else None
        self.evidence.setdefault("guard" if guard else "comparisons", {})[key] = entry

    def done(self, verdict: Verdict, start: float, *, winner: str | None = None
             ) -> DeclarationCheck:
        """Build the result with its sentences."""
        self.evidence["seconds"] = round(time.perf_counter() - start, 3)
        likely = winner if verdict == "other" else None
        summary, summary_zh = self._summary(verdict, winner)
        message = message_zh = None
        if likely is not None:
            message, message_zh = self._alarm(likely)
        return DeclarationCheck(name=self.name, declared=self.system, likely_system=likely,
                                verdict=verdict, n_points=self.n, evidence=self.evidence,
                                message=message, message_zh=message_zh, summary=summary,
                                summary_zh=summary_zh)

    def _alarm(self, likely: str) -> tuple[str, str]:
        """Write the alarm in English and Chinese."""
        declared = _NAMES_EN[self.system]
        tests = self.tests[f"{likely} vs {self.reading}"]
        roads, comm = tests["roads"], tests.get("communities")
        tol = f"{ROAD_TOLERANCE_M:g}"
        own = self.evidence.get("community_test") == "own"
        extra_en = extra_zh = ""
        if comm is not None and comm.favours(_STRONG) > 0:
            where_en = "inside their own community" if own else "inside a community"
            where_zh = "落在本社区内" if own else "落在社区范围内"
            extra_en = (f", and {comm.share_a:.0%} fall {where_en} against {comm.share_b:.0%} "
                        f"(exact McNemar test, {_p_text(comm.p_a)})")
            extra_zh = (f"，{comm.share_a:.0%} 的点{where_zh}，按声明读取为 {comm.share_b:.0%}"
                        f"（精确 McNemar 检验 {_p_text(comm.p_a)}）")
        message = (
            f"{self.name}: the points look like {_KINDS_EN[likely]} coordinates, not the "
            f"declared {declared}: read as {_NAMES_EN[likely]}, {roads.share_a:.0%} of "
            f"{self.n:,} points lie within {tol} m of a road against {roads.share_b:.0%} as "
            f"declared (Wilcoxon signed-rank test, {_p_text(roads.p_a)}){extra_en}; "
            f'write crs = "{likely}" for this layer in project.toml'
        )
        message_zh = (
            f"{self.name}：点位更像{_KINDS_ZH[likely]}坐标，而不是声明的 {declared}：按 "
            f"{_NAMES_EN[likely]} 读取时，{self.n:,} 个点中 {roads.share_a:.0%} 距道路 {tol} 米"
            f"以内，按声明读取仅 {roads.share_b:.0%}（Wilcoxon 符号秩检验 {_p_text(roads.p_a)}）"
            f"{extra_zh}；请在 project.toml 中将该图层改为 crs = \"{likely}\"。"
        )
        return message, message_zh

    def _summary(self, verdict: Verdict, winner: str | None) -> tuple[str, str]:
        """Write the one-sentence outcome in English and Chinese."""
        name, declared = self.name, _NAMES_EN.get(self.system, self.system)
        if verdict == "not_applicable":
            if self.reading not in SYSTEMS:
                return (f"{name}: declared {declared}, not a WGS-84/GCJ-02/BD-09 declaration; "
                        "the coordinate system was not checked",
                        f"{name}：声明为 {declared}，不是 WGS-84/GCJ-02/BD-09，未检查坐标系")
            return (f"{name}: no other reading moves the points by {MIN_SHIFT_M:g} m or more "
                    "(or the network has no roads); the coordinate system was not checked",
                    f"{name}：换用其他坐标系读取时点位移动不足 {MIN_SHIFT_M:g} 米（或路网为空），"
                    "未检查坐标系")
        if verdict == "too_few":
            most = max((t.n for tests in self.tests.values() for t in tests.values()),
                       default=0)
            return (f"{name}: too few points to tell the coordinate systems apart ({self.n:,} "
                    f"points, of which at most {most} sit differently towards the roads or "
                    f"communities under another reading; at least {MIN_INFORMATIVE} are "
                    f"needed); the declared {declared} is kept",
                    f"{name}：点数太少，无法判断坐标系（{self.n:,} 个点，换用其他坐标系读取时最多 "
                    f"{most} 个点与道路或社区的关系发生变化，至少需要 {MIN_INFORMATIVE} 个）；"
                    f"保留声明的 {declared}")
        near = self.evidence.get("near_road_share", {})
        others = [s for s in SYSTEMS if s in near and s != self.reading]
        if verdict == "fits":
            best = max(near[s] for s in others)
            return (f"{name}: the declared {declared} fits: {near[self.reading]:.0%} of "
                    f"{self.n:,} points lie within {ROAD_TOLERANCE_M:g} m of a road, at most "
                    f"{best:.0%} read as {' or '.join(_NAMES_EN[s] for s in others)}",
                    f"{name}：声明的 {declared} 与数据相符：{self.n:,} 个点中 "
                    f"{near[self.reading]:.0%} 距道路 {ROAD_TOLERANCE_M:g} 米以内，按 "
                    f"{' 或 '.join(_NAMES_EN[s] for s in others)} 读取最多 {best:.0%}")
        if verdict == "other":
            assert winner is not None
            return (f"{name}: the data look like {_NAMES_EN[winner]}, not the declared "
                    f"{declared}", f"{name}：数据更像 {_NAMES_EN[winner]}，而不是声明的 {declared}")
        if winner is not None:
            return (f"{name}: read as {_NAMES_EN[winner]} the points sit nearer the roads than "
                    f"as declared ({declared}), but not clearly nearer than read otherwise or "
                    "shifted as far in another direction; the declaration is kept (check a few "
                    "points on a map)",
                    f"{name}：按 {_NAMES_EN[winner]} 读取时点位比按声明（{declared}）更靠近道路，"
                    "但并不明显优于其他读法或向其他方向平移同样距离；保留声明（请在地图上核对几个点）")
        conflict = any(
            {t.favours(_STRONG) for t in tests.values()} >= {1, -1}
            for tests in self.tests.values()
        )
        if conflict:
            return (f"{name}: the roads and the communities favour different coordinate "
                    f"systems; the declared {declared} is kept (check the crs of the "
                    "communities layer and of the network)",
                    f"{name}：道路与社区边界支持的坐标系不一致；保留声明的 {declared}"
                    "（请检查社区图层和路网的坐标系）")
        return (f"{name}: no reading fits the roads or communities clearly better than another; "
                f"the declared {declared} is kept",
                f"{name}：没有哪种读法明显更贴合道路或社区；保留声明的 {declared}")


# --------------------------------------------------------------------------------------------
# The earlier check (layers declared WGS-84, median snap distances)
# --------------------------------------------------------------------------------------------


class CoordinateSystemWarning(UserWarning):
    """A point layer's coordinates look like another coordinate system than declared."""


@dataclass(frozen=True)
class OffsetCheck:
    """Result of :func:`check_offset`.

    Attributes
    ----------
    name
        Layer name used in the message.
    n_points
        Points measured (a random sample of at most ``sample``).
    median_m
        Reading → median distance from the points to the nearest road, metres
        (``wgs84`` is the coordinates as given).
    likely_system
        ``"gcj02"`` or ``"bd09"`` when that reading fits the roads much better, else None.
    message
        A sentence for the user when ``likely_system`` is set, else None.
    """

    name: str
    n_points: int
    median_m: dict[str, float] = field(default_factory=dict)
    likely_system: str | None = None
    message: str | None = None

    @property
    def ok(self) -> bool:
        """True when no other coordinate system fits better."""
        return self.likely_system is None


def _lonlat(points: Points) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(points, (gpd.GeoSeries, gpd.GeoDataFrame)):
        geo = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
        if geo.crs is not None and not pyproj.CRS.from_user_input(geo.crs).equals(
            pyproj.CRS.from_epsg(4326), ignore_axis_order=True
        ):
            geo = geo.to_crs(4326)
        values = np.asarray(geo.values)
        values = values[~(shapely.is_missing(values) | shapely.is_empty(values))]
        values = np.where(shapely.get_type_id(values) == 0, values, shapely.centroid(values))
        return shapely.get_x(values), shapely.get_y(values)
    if isinstance(points, tuple) and len(points) == 2:
        return np.asarray(points[0], dtype=np.float64), np.asarray(points[1], dtype=np.float64)
    arr = np.asarray(points, dtype=np.float64)
    return arr[:, 0], arr[:, 1]


def check_offset(
    net: RoadNetwork,
    points: Points,
    *,
    name: str = "points",
    warn: bool = True,
    sample: int = 20_000,
    seed: int = 0,
) -> OffsetCheck:
    """Check whether points declared WGS-84 are really GCJ-02 or BD-09.

    The median distance from the points to the nearest road is measured three ways: the
    coordinates as given, converted from GCJ-02, and converted from BD-09. When a conversion
    brings the median down at least :data:`MIN_FACTOR` times and below :data:`MAX_MEDIAN_M`
    metres, that system is named as likely, e.g. "the points of migrants sit 480 m from the roads
    on median; read as GCJ-02 they sit 12 m away: declare crs = "gcj02"".

    Parameters
    ----------
    net
        The road network (WGS-84 / OSM based).
    points
        The layer as declared WGS-84: a GeoSeries/GeoDataFrame (any CRS; it is converted to
        WGS-84 lon/lat first), or lon/lat in degrees as an ``(n, 2)`` array or ``(lon, lat)``
        pair (unlike the other methods, arrays here are degrees, not network coordinates).
    name
        Layer name for the message (e.g. ``"migrants.csv"``).
    warn
        Also issue a :class:`CoordinateSystemWarning` when a likely system is found.
    sample
        Measure at most this many points (chosen at random with ``seed``).
    seed
        Random seed of the sample.

    Returns
    -------
    OffsetCheck
    """
    lon, lat = _lonlat(points)
    ok = np.isfinite(lon) & np.isfinite(lat)
    lon, lat = lon[ok], lat[ok]
    if len(lon) > sample:
        pick = np.random.default_rng(seed).choice(len(lon), size=sample, replace=False)
        lon, lat = lon[pick], lat[pick]
    if len(lon) == 0:
        return OffsetCheck(name=name, n_points=0)
    to_net = pyproj.Transformer.from_crs(4326, net.crs, always_xy=True)
    readings = {
        "wgs84": (lon, lat),
        "gcj02": gcj02_to_wgs84(lon, lat),
        "bd09": bd09_to_wgs84(lon, lat),
    }
    medians: dict[str, float] = {}
    for system, (lo, la) in readings.items():
        x, y = to_net.transform(lo, la)
        snapped = net.snap_index.query(np.asarray(x), np.asarray(y))
        medians[system] = float(np.nanmedian(snapped.distance))
    given = medians["wgs84"]
    best = min(("gcj02", "bd09"), key=lambda s: medians[s])
    likely = None
    message = None
    if medians[best] * MIN_FACTOR <= given and medians[best] < MAX_MEDIAN_M:
        likely = best
        message = (
            f"the points of {name} sit {given:.0f} m from the roads on median; read as "
            f"{_LABELS[best]} they sit {medians[best]:.0f} m away: declare crs = \"{best}\""
        )
        if warn:
            warnings.warn(message, CoordinateSystemWarning, stacklevel=3)
    return OffsetCheck(name=name, n_points=len(lon), median_m=medians, likely_system=likely,
                       message=message)
