"""The coordinate system of a layer: the file's own, or the reading of degrees the roads confirm.

Degrees or metres are told from the values (a projected CRS cannot be guessed: it is left as a
problem to settle); then which reading of the degrees — WGS-84, GCJ-02 (Amap, Tencent) or BD-09
(Baidu) — puts the points next to the roads and in their communities (:func:`guess_system`,
confirmed by :func:`coverage.network.offsets.check_declaration`; a guess it cannot confirm is
flagged as uncertain). Polygon layers keep their file's own CRS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from scipy.stats import binomtest

from coverage import crs as crsmod
from coverage.init_project.guesses import NEAR_ROAD_M, READINGS, SAMPLE_POINTS, SystemGuess
from coverage.network.offsets import check_declaration

if TYPE_CHECKING:
    from coverage.init_project.proposal import LayerProposal, ProjectProposal

_LABELS = {"wgs84": "WGS-84", "cgcs2000": "CGCS2000", "gcj02": "GCJ-02", "bd09": "BD-09"}


def _p_text(p: float) -> str:
    return "p < 1e-9" if p < 1e-9 else f"p = {p:.1g}"


def _fits(
    net: object, lon: np.ndarray, lat: np.ndarray, area: object | None
) -> dict[str, np.ndarray]:
    """Tell, per reading, whether each point lies near a road (and the communities) read so."""
    to_net = pyproj.Transformer.from_crs(4326, net.crs, always_xy=True)  # type: ignore[attr-defined]
    out: dict[str, np.ndarray] = {}
    for system in READINGS:
        lo, la = crsmod.to_wgs84(lon, lat, system)
        x, y = (np.asarray(v, dtype=np.float64) for v in to_net.transform(lo, la))
        snapped = net.snap_index.query(x, y, max_distance=2 * NEAR_ROAD_M)  # type: ignore[attr-defined]
        fit = np.asarray(snapped.distance) <= NEAR_ROAD_M
        if area is not None:
            fit &= shapely.contains_xy(area, x, y)
        out[system] = fit
    return out


def guess_system(
    net: object,
    lon: np.ndarray,
    lat: np.ndarray,
    *,
    name: str,
    area: object | None = None,
    communities: object | None = None,
    community_ids: np.ndarray | None = None,
    seed: int = 0,
) -> SystemGuess:
    """Which reading of degrees — WGS-84, GCJ-02 or BD-09 — puts the points next to the roads.

    Each sampled point is read three ways and converted to WGS-84; a reading *fits* a point when
    the point then lies within :data:`NEAR_ROAD_M` of a road of the network (and within the
    buffered communities, ``area``, when given). The reading fitting most points is the
    candidate (WGS-84 when it ties); an exact paired (McNemar) test against the runner-up gives
    its p-value. The candidate is then checked by
    :func:`coverage.network.offsets.check_declaration` (roads and, with ``communities``, the
    points' own communities): the guess is confident when that check finds a reading that fits
    clearly better than every other (which it then names), and flagged as uncertain when it
    cannot tell.

    Parameters
    ----------
    net
        A :class:`coverage.network.RoadNetwork` (in a metric CRS).
    lon, lat
        Coordinates in degrees as the file holds them.
    name
        The file's name (for messages).
    area
        Communities buffered by :data:`~coverage.init_project.guesses.NEAR_AREA_M`, in the
        network's CRS.
    communities
        The community polygons (a GeoDataFrame with ``community_id`` when known), any CRS.
    community_ids
        Each point's community id as written in its file (aligned with ``lon``), or ``None``.
    seed
        Seed of the sample of at most :data:`SAMPLE_POINTS` points.

    Returns
    -------
    SystemGuess
    """
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    ok = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
    if len(ok) > SAMPLE_POINTS:
        ok = np.sort(np.random.default_rng(seed).choice(ok, SAMPLE_POINTS, replace=False))
    lon, lat = lon[ok], lat[ok]
    ids = None if community_ids is None else np.asarray(community_ids, dtype=object)[ok]
    n = len(lon)
    if n == 0:
        return SystemGuess(None, "none", ("no coordinates to test", "没有可检验的坐标"),
                           confident=False)
    fits = _fits(net, lon, lat, area)
    near = {s: int(f.sum()) for s, f in fits.items()}
    ranked = sorted(READINGS, key=lambda s: (-near[s], READINGS.index(s)))
    best, second = ranked[0], ranked[1]
    b = int((fits[best] & ~fits[second]).sum())
    c = int((fits[second] & ~fits[best]).sum())
    p = float(binomtest(b, b + c, 0.5).pvalue) if b + c else 1.0
    if near[best] == near[second] and "wgs84" in (best, second):
        best = "wgs84"
    check = _declaration_check(net, lon, lat, reading=best, name=name,
                               communities=communities, community_ids=ids)
    if check.verdict == "fits" or check.likely_system is not None:
        system = check.likely_system or best
        en, zh = _check_sentences(check, system)
        return SystemGuess(system, "network", (en, zh), confident=True, near=near,
                           n_points=n, p_value=p)
    en, zh = _uncertain_sentences(best, ranked, near, n, p, in_area=bool(area))
    return SystemGuess(best, "network", (en, zh), confident=False, near=near, n_points=n,
                       p_value=p)


def _uncertain_sentences(
    best: str, ranked: list[str], near: dict[str, int], n: int, p: float, *, in_area: bool
) -> tuple[str, str]:
    """English and Chinese sentences for a reading the road-and-community check cannot confirm."""
    within = f"within {NEAR_ROAD_M:g} m of a road" + (" inside the study area" if in_area else "")
    others_en = ", ".join(f"{near[s]:,} as {_LABELS[s]}" for s in ranked if s != best)
    others_zh = "，".join(f"按{_LABELS[s]} {near[s]:,} 个" for s in ranked if s != best)
    en = (f"{near[best]:,} of {n:,} points lie {within} read as {_LABELS[best]}, {others_en} "
          f"(McNemar {_p_text(p)}), but the road-and-community check cannot tell the readings "
          "apart clearly")
    zh = (f"{n:,} 个点按{_LABELS[best]}解读时 {near[best]:,} 个距道路不超过 {NEAR_ROAD_M:g} 米，"
          f"{others_zh}（McNemar {_p_text(p)}），但道路与社区检验无法明确区分")
    return en, zh


def _declaration_check(
    net: object,
    lon: np.ndarray,
    lat: np.ndarray,
    *,
    reading: str,
    name: str,
    communities: object | None,
    community_ids: np.ndarray | None,
) -> object:
    """Check the candidate ``reading`` with :func:`coverage.network.offsets.check_declaration`."""
    wlon, wlat = crsmod.to_wgs84(lon, lat, reading)
    points = gpd.GeoSeries(gpd.points_from_xy(wlon, wlat), crs=4326)
    use_ids = (community_ids is not None and communities is not None
               and "community_id" in communities)  # type: ignore[operator]
    return check_declaration(net, points, declared=reading, name=name,  # type: ignore[arg-type]
                             communities=communities,  # type: ignore[arg-type]
                             community_ids=community_ids if use_ids else None)


def _check_sentences(check: object, system: str) -> tuple[str, str]:
    """English and Chinese sentences from a conclusive ``check_declaration`` result."""
    ev: dict = getattr(check, "evidence", {}) or {}
    share = ev.get("near_road_share", {})
    tol = ev.get("road_tolerance_m", 40.0)
    n = getattr(check, "n_points", 0)
    if system not in share:
        summary = (getattr(check, "summary", ""), getattr(check, "summary_zh", ""))
        return summary
    others = [s for s in share if s != system]
    p_values = []
    for key, entry in ev.get("comparisons", {}).items():
        pair = key.split(" vs ")
        if system not in pair or entry.get("winner") != system:
            continue
        # One-sided tests give "p" for the first reading of the pair and "p_other" for the
        # second; a two-sided test gives "p" only.
        own = "p" if pair[0] == system else "p_other"
        ps = [t.get(own, t.get("p")) for t in entry.values() if isinstance(t, dict)]
        ps = [float(v) for v in ps if v is not None]
        if ps:
            p_values.append(min(ps))
    p = f" ({_p_text(max(p_values))})" if p_values else ""
    en = (f"read as {_LABELS[system]}, {share[system]:.0%} of {n:,} points lie within {tol:g} m "
          "of a road, " + ", ".join(f"{share[s]:.0%} as {_LABELS[s]}" for s in others))
    zh = (f"按{_LABELS[system]}解读，{n:,} 个点中 {share[system]:.0%} 距道路不超过 {tol:g} 米，"
          + "，".join(f"按{_LABELS[s]}为 {share[s]:.0%}" for s in others))
    inside = ev.get("in_community_share") or {}
    if inside.get(system) is not None:
        own = ev.get("community_test") == "own"
        en += (f"; {inside[system]:.0%} inside their {'own ' if own else ''}community, "
               + ", ".join(f"{inside[s]:.0%} as {_LABELS[s]}" for s in others
                           if inside.get(s) is not None))
        zh += (f"；{inside[system]:.0%} 落在{'本' if own else ''}社区内，"
               + "，".join(f"按{_LABELS[s]}为 {inside[s]:.0%}" for s in others
                          if inside.get(s) is not None))
    return en + p, zh + p


def _system_for(proposal: LayerProposal, project: ProjectProposal | None) -> SystemGuess | None:
    """Guess the coordinate system of one layer (see the module docstring)."""
    net = None if project is None else project.network
    schema = proposal.schema
    if schema is None:
        return SystemGuess("wgs84", "file", ("road networks are read as WGS-84 (OpenStreetMap)",
                                             "路网按 WGS-84 读取（OpenStreetMap）"))
    file_crs = proposal.file_crs
    if file_crs is not None and not file_crs.is_geographic:
        label = f"EPSG:{file_crs.to_epsg()}" if file_crs.to_epsg() else file_crs.name
        return SystemGuess(None, "file", (f"the file's own CRS, {label} ({file_crs.name})",
                                          f"采用文件自带的坐标系 {label}"))
    own = None
    if file_crs is not None:
        own = "cgcs2000" if file_crs.to_epsg() == 4490 else "wgs84"
    if schema.geometry == "polygon" and own is not None:
        assert file_crs is not None
        return SystemGuess(own, "file", (f"the file declares {file_crs.name}",
                                         f"文件自带坐标系 {file_crs.name}"))
    coords = proposal.lonlat
    if coords is None or not len(coords[0]):
        return None
    x, y, ids = coords
    degrees = np.mean((np.abs(x) <= 180) & (np.abs(y) <= 90))
    if degrees < 0.5:
        return SystemGuess(None, "none", (
            "TODO: the coordinates are not degrees but metres of a projected CRS, which cannot "
            "be guessed: set crs = \"EPSG:nnnn\"",
            "待办：坐标不是经纬度而是投影坐标（米），无法推断：请填写 crs = \"EPSG:nnnn\""),
            confident=False)
    if schema.geometry == "polygon" or net is None:
        base = own or "wgs84"
        why_en, why_zh = (("no road network to test against", "没有可用于检验的路网")
                          if net is None else ("polygons are not tested", "多边形不作检验"))
        return SystemGuess(base, "default", (
            f"{why_en}: taken as {_LABELS[base]}; check it",
            f"{why_zh}：按{_LABELS[base]}处理，请核对"), confident=own is not None)
    assert project is not None
    guess = guess_system(net, x, y, name=proposal.source, area=project.area,
                         communities=project.communities, community_ids=ids)
    if guess.system == "wgs84" and own == "cgcs2000":
        guess.system = own  # the file says CGCS2000, which the roads cannot tell from WGS-84
    return guess
