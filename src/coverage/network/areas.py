"""Service areas: the catchment polygons of sites within travel times.

A point of a road is in a site's area when travelling from it to the site takes at most the
time, measured as :mod:`coverage.network.costs` measures costs (along the network and the
site's connector, in the allowed directions). The search is the bounded one of the cost tables
(:func:`~coverage.network._search.bounded_search`); the reached parts of each link are exact
intervals (for ``road_km``), and the polygon is the contour of a distance transform of the
reached roads on a raster of ``AREA_PIXEL_M`` pixels (see :func:`service_areas`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from contourpy import FillType, contour_generator
from scipy.ndimage import distance_transform_edt

from coverage.network._ragged import ranges, within
from coverage.network._search import Ends, bounded_search, prepare

if TYPE_CHECKING:
    from coverage.network.graph import RoadNetwork
    from coverage.network.points import Points

__all__ = ["service_areas"]

#: Pixel of the rasters on which service-area polygons are drawn, metres.
AREA_PIXEL_M = 10.0

#: Sites drawn together: a site's reached road pieces and samples take about a megabyte on a
#: dense city's 15-minute walk, so a chunk stays a few hundred megabytes however many sites.
AREA_CHUNK = 256


def service_areas(
    net: RoadNetwork,
    sites: Points,
    minutes: float | Sequence[float],
    *,
    buffer_m: float = 50.0,
) -> gpd.GeoDataFrame:
    """Catchment polygons: the roads from which a site is reached within the time, buffered.

    A point of a road is in site ``s``'s ``m``-minute area when travelling from it to the site
    (along the road, the network, the site's road and the site's connector, in the allowed
    directions) takes at most ``m`` minutes. On each reached link that set is a union of at
    most four intervals (towards end ``a``, towards end ``b``, and both ways along the site's
    own link), computed exactly: ``road_km`` is their total length (link lengths, so it agrees
    with the cost tables). The polygon does not subtract the walk from a home to its road; use
    :func:`cost_table` for exact counts.

    The polygon is drawn on a raster, which is what makes hundreds of sites take seconds
    (buffering and unioning thousands of road pieces per site in GEOS took about a second per
    site): the reached roads are sampled every ``AREA_PIXEL_M / 2`` metres, the samples mark
    ``AREA_PIXEL_M`` pixels, the Euclidean distance transform gives every pixel its distance
    to the nearest reached road pixel, and the outline is the contour of that distance at
    ``buffer_m`` (marching squares, so the edge is smooth, not stair-stepped). The outline is
    within about one pixel (10 m) of the exact buffer of the reached roads, which is far below
    what a 50 m buffer on a map can show.

    Parameters
    ----------
    net
        The road network.
    sites
        GeoSeries/GeoDataFrame in any CRS, or ``x, y`` in the network CRS.
    minutes
        One or more time limits.
    buffer_m
        Buffer around the reached roads, metres (> 0).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per reachable site and time limit: ``site`` (index label), ``minutes``,
        ``road_km`` (length of road reached) and ``geometry`` (polygon, network CRS; empty
        when nothing is reached), sorted by site then minutes.
    """
    limits = sorted({float(m) for m in np.atleast_1d(np.asarray(minutes, dtype=np.float64))})
    if not limits or not all(np.isfinite(m) and m >= 0 for m in limits):
        msg = f"minutes must be finite numbers >= 0, got {minutes!r}"
        raise ValueError(msg)
    if not (np.isfinite(buffer_m) and buffer_m > 0):
        msg = f"buffer_m must be a positive number of metres, got {buffer_m!r}"
        raise ValueError(msg)
    dindex, snapped, _, dest = prepare(net, sites, origin=False)
    speed = net.speed_m_per_min
    budgets = np.array(limits) * speed
    n_sites = len(dest.rows)
    road_m = np.zeros((n_sites, len(budgets)))
    polygons: list[list[shapely.Geometry]] = []
    for start in range(0, n_sites, AREA_CHUNK):  # each site's area is its own
        chunk = (dest if n_sites <= AREA_CHUNK
                 else Ends(net, snapped, dest.rows[start:start + AREA_CHUNK], origin=False))
        site, link, lo, hi, ca, cb = _reached_intervals(net, chunk, budgets)
        length = net.arrays.length[link]
        np.add.at(road_m[start:start + AREA_CHUNK], site, _union_length(lo, hi, length))
        polygons += _area_polygons(net, chunk, site, link, ca, cb, budgets, buffer_m)
    rows = []
    for j in range(n_sites):  # one row per site and limit
        for b, m in enumerate(limits):
            rows.append((int(dest.rows[j]), m, road_m[j, b] / 1000.0, polygons[j][b]))
    frame = pd.DataFrame(rows, columns=["pos", "minutes", "road_km", "geometry"])
    return gpd.GeoDataFrame(
        {
            "site": dindex.take(frame["pos"].to_numpy(dtype=np.int64)),
            "minutes": frame["minutes"].to_numpy(dtype=np.float64),
            "road_km": frame["road_km"].to_numpy(dtype=np.float64),
        },
        geometry=gpd.GeoSeries(frame["geometry"].to_numpy(dtype=object), crs=net.crs).values,
        crs=net.crs,
    )


def _reached_intervals(
    net: RoadNetwork, dest: Ends, budgets: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Find the parts of links within each budget of each site, as intervals along links.

    Returns ``site``, ``link`` (one row per reached site–link pair, sorted by site) and ``lo``,
    ``hi`` of shape (pairs, budgets, 4): metres from end ``a``; an empty interval has
    ``lo > hi``. The four intervals: leaving towards ``a``, towards ``b``, and along the
    site's own link towards the site from either side. Also ``ca``, ``cb``: the cost from
    each end to the site (inf when unreached or when the link may not be left that way).
    """
    a = net.arrays
    n = net.n_nodes
    n_sites = len(dest.rows)
    r_site, r_node, r_cost = bounded_search(net, dest, float(budgets[-1]))
    # Cost to the site from each reached (site, node), looked up by a sorted key.
    key = r_site.astype(np.int64) * n + r_node
    order = np.argsort(key)
    key, r_cost = key[order], r_cost[order]
    # Links of the routing component at each node (CSR), to list the reached links.
    main = net.main_links
    ends = np.r_[a.link_a[main], a.link_b[main]]
    by_node = np.argsort(ends, kind="stable")
    node_links = np.r_[main, main][by_node]
    node_ptr = np.r_[0, np.cumsum(np.bincount(ends, minlength=n))]
    cnt = node_ptr[r_node + 1] - node_ptr[r_node]
    pair_site = np.r_[np.repeat(r_site, cnt), np.arange(n_sites)]
    pair_link = np.r_[node_links[ranges(node_ptr[r_node], cnt)], dest.link]
    pk = np.sort(pair_site.astype(np.int64) * a.n_links + pair_link)
    pk = pk[np.r_[True, pk[1:] != pk[:-1]]]  # (np.unique hashes, slower than sorting here)
    site, link = pk // a.n_links, pk % a.n_links

    def cost_at(node: np.ndarray) -> np.ndarray:
        if len(key) == 0:
            return np.full(len(node), np.inf)
        k = site * n + node
        at = np.minimum(np.searchsorted(key, k), len(key) - 1)
        return np.where(key[at] == k, r_cost[at], np.inf)

    length = a.length[link]
    ca = np.where(a.backward[link], cost_at(a.link_a[link]), np.inf)
    cb = np.where(a.forward[link], cost_at(a.link_b[link]), np.inf)
    own = link == dest.link[site]
    pos = dest.pos[site]
    left = np.where(own & a.forward[link], 1.0, np.nan)  # come from before the site
    right = np.where(own & a.backward[link], 1.0, np.nan)  # come from after it
    snap = dest.snap[site]
    bud = budgets[None, :]
    lo = np.empty((len(site), len(budgets), 4))
    hi = np.empty_like(lo)
    lo[:, :, 0], hi[:, :, 0] = 0.0, bud - ca[:, None]
    lo[:, :, 1], hi[:, :, 1] = length[:, None] - (bud - cb[:, None]), length[:, None]
    reach = bud - snap[:, None]
    lo[:, :, 2], hi[:, :, 2] = pos[:, None] - reach * left[:, None], pos[:, None]
    lo[:, :, 3], hi[:, :, 3] = pos[:, None], pos[:, None] + reach * right[:, None]
    lo = np.maximum(np.nan_to_num(lo, nan=np.inf), 0.0)
    hi = np.minimum(np.nan_to_num(hi, nan=-np.inf), length[:, None, None])
    return site, link, lo, hi, ca, cb


def _union_length(lo: np.ndarray, hi: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Total length of the union of the intervals along the last axis (empty when lo > hi)."""
    order = np.argsort(lo, axis=-1)
    lo = np.take_along_axis(lo, order, axis=-1)
    hi = np.take_along_axis(hi, order, axis=-1)
    hi = np.where(hi >= lo, hi, -np.inf)
    reach = np.maximum.accumulate(hi, axis=-1)
    before = np.concatenate([np.full((*hi.shape[:-1], 1), -np.inf), reach[..., :-1]], axis=-1)
    return np.maximum(hi - np.maximum(lo, before), 0.0).sum(axis=-1)


def _samples(net: RoadNetwork) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Points every ``AREA_PIXEL_M`` metres or closer along the routing component's links.

    Returns the CSR pointer by link and each sample's position along its link (metres from
    ``a``, in link-length units) and coordinates. Built once per network.
    """
    cached = getattr(net, "_area_samples", None)
    if cached is not None:
        return cached
    idx = net.snap_index
    step = AREA_PIXEL_M
    per = np.ceil(idx.seg_len / step).astype(np.int64) + 1  # both ends of every segment
    seg = np.repeat(np.arange(idx.n_segments), per)
    k = within(per)
    f = k / np.maximum(per[seg] - 1, 1)
    lk = idx.seg_link[seg]
    plen = idx.link_plen[lk]
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.where(plen > 0, (idx.seg_cum0[seg] + f * idx.seg_len[seg]) / plen, 0.0)
    s = np.clip(q, 0.0, 1.0) * net.arrays.length[lk]
    x = idx.x0[seg] + f * (idx.x1[seg] - idx.x0[seg])
    y = idx.y0[seg] + f * (idx.y1[seg] - idx.y0[seg])
    order = np.argsort(lk, kind="stable")
    ptr = np.r_[0, np.cumsum(np.bincount(lk, minlength=net.n_links))]
    net._area_samples = (ptr, s[order], x[order], y[order])
    return net._area_samples


def _area_polygons(
    net: RoadNetwork, dest: Ends, site: np.ndarray, link: np.ndarray, ca: np.ndarray,
    cb: np.ndarray, budgets: np.ndarray, buffer_m: float
) -> list[list[shapely.Geometry]]:
    """One polygon per site and budget: the raster buffer of the reached road samples."""
    n_budgets = len(budgets)
    ptr, s_pos, s_x, s_y = _samples(net)
    cnt = ptr[link + 1] - ptr[link]
    k = ranges(ptr[link], cnt)
    pair = np.repeat(np.arange(len(link)), cnt)
    pos = s_pos[k]
    length = net.arrays.length[link]
    cost = np.minimum(pos + np.repeat(ca, cnt), (np.repeat(length, cnt) - pos)
                      + np.repeat(cb, cnt))
    # Along the site's own link (a handful of pairs).
    own = np.flatnonzero((link == dest.link[site])[pair])
    if len(own):
        a = net.arrays
        j, lk = site[pair[own]], link[pair[own]]
        along = dest.pos[j] - pos[own]
        ok = ((along >= 0) & a.forward[lk]) | ((along <= 0) & a.backward[lk])
        cost[own] = np.minimum(cost[own], np.where(ok, dest.snap[j] + np.abs(along), np.inf))
    # Cheapest budget holding each sample (n_budgets when none does).
    first = np.searchsorted(budgets, cost)
    keep = np.flatnonzero(first < n_budgets)
    pt_site = site[pair[keep]]
    px, py, pb = s_x[k[keep]], s_y[k[keep]], first[keep]
    bounds = np.searchsorted(pt_site, np.arange(len(dest.rows) + 1))
    pix = AREA_PIXEL_M
    pad = int(np.ceil(buffer_m / pix)) + 2
    out: list[list[shapely.Geometry]] = []
    for j in range(len(dest.rows)):  # one raster per site: a few milliseconds each
        sel = slice(bounds[j], bounds[j + 1])
        geoms: list[shapely.Geometry] = []
        if bounds[j + 1] == bounds[j]:
            out.append([shapely.Polygon()] * n_budgets)
            continue
        x0 = np.floor(px[sel].min() / pix) * pix - pad * pix
        y0 = np.floor(py[sel].min() / pix) * pix - pad * pix
        ix = np.rint((px[sel] - x0) / pix).astype(np.int64)
        iy = np.rint((py[sel] - y0) / pix).astype(np.int64)
        shape = (int(iy.max()) + pad + 1, int(ix.max()) + pad + 1)
        bj = pb[sel]
        xs = x0 + pix * np.arange(shape[1])
        ys = y0 + pix * np.arange(shape[0])
        for b in range(n_budgets):
            mask = np.ones(shape, dtype=bool)
            inb = bj <= b
            mask[iy[inb], ix[inb]] = False
            if mask.all():
                geoms.append(shapely.Polygon())
                continue
            dist = distance_transform_edt(mask, sampling=pix)
            gen = contour_generator(xs, ys, dist, fill_type=FillType.OuterOffset)
            points, offsets = gen.filled(-1.0, buffer_m)
            polys = [
                shapely.Polygon(pts[off[0]:off[1]], [pts[off[i]:off[i + 1]]
                                                    for i in range(1, len(off) - 1)])
                for pts, off in zip(points, offsets, strict=True)
            ]
            geoms.append(polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys))
        # Marching squares puts a vertex on every pixel edge; a quarter pixel is invisible.
        out.append(list(shapely.simplify(np.array(geoms, dtype=object), pix / 4.0)))
    return out
