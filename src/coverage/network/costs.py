"""Network costs between points: nearest destination, cost tables and service areas.

How a cost is measured
----------------------
Every point is snapped (:meth:`RoadNetwork.snap`) to the nearest point of the nearest road of
the routing component. The cost from an origin to a destination is the length of

    origin → (straight connector) → its road → network path → the destination's road →
    (straight connector) → destination,

so ``distance_m`` **includes both connectors**, walked or ridden at the same speed as the road.
Along the origin's and the destination's own road, only the allowed directions are used
(``ebike`` keeps one-way streets; an attachment exactly on a node may leave or enter by that node
in any direction). An origin and a destination on the same road piece may also go straight along
it. Costs are **from origin to destination**; with one-way streets the way back can differ.

How it is computed
------------------
Everything is vectorized; there is no Python loop per origin or per destination. Each
destination becomes a virtual node joined to its road's two end nodes by the partial road
lengths plus its connector. Dijkstra runs on the *reversed* graph from those virtual nodes
(SciPy's ``csgraph.dijkstra``), which gives, for every node, the cost from that node *to* the
destinations. Each origin then takes the better of its road's two end nodes.

* :func:`nearest`: one multi-source Dijkstra from all destinations (``min_only=True``) also tells
  which destination is nearest to each node.
* :func:`cost_table`: Dijkstra bounded by ``max_cost`` from the destinations in batches (to bound
  the dense rows SciPy returns), keeping only the reached nodes; origins are joined to the
  reached nodes of their two road ends with array operations.
* :func:`service_areas`: the same bounded search, then the parts of roads within the time are
  cut from the roads in pieces of at most 20 m and buffered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra

from coverage.network.graph import REASON_NONE_REACHABLE, Points
from coverage.network.snap import Snapped

if TYPE_CHECKING:
    from coverage.network.graph import RoadNetwork

__all__ = ["cost_table", "nearest", "service_areas"]

#: Attachments within this many metres of a node count as on the node.
ON_NODE_M = 1e-6
#: Largest number of float64 cells in one batch of Dijkstra rows (128 MB).
BATCH_CELLS = 1 << 24
#: Origins handled together when joining them to the reached nodes.
ORIGIN_CHUNK = 262_144

_COSTS = ("time_min", "distance_m")


class _Ends:
    """Where snapped points leave (origins) or enter (destinations) the node graph."""

    def __init__(self, net: RoadNetwork, s: Snapped, rows: np.ndarray, *, origin: bool) -> None:
        a = net.arrays
        link = s.link[rows]
        length = a.length[link]
        t = s.t[rows]
        part_a = t * length
        part_b = (1.0 - t) * length
        at_a = part_a <= ON_NODE_M
        at_b = part_b <= ON_NODE_M
        part_a = np.where(at_a, 0.0, part_a)
        part_b = np.where(at_b, 0.0, part_b)
        if origin:  # leave towards a: against the link's direction
            ok_a = a.backward[link] | at_a
            ok_b = a.forward[link] | at_b
        else:  # enter from a: along the link's direction
            ok_a = a.forward[link] | at_a
            ok_b = a.backward[link] | at_b
        snap = s.distance[rows]
        self.rows = rows
        self.link = link
        self.pos = part_a  # metres from a along the link
        self.length = length
        self.snap = snap
        self.node_a = a.link_a[link]
        self.node_b = a.link_b[link]
        self.cost_a = np.where(ok_a, snap + part_a, np.inf)
        self.cost_b = np.where(ok_b, snap + part_b, np.inf)


def _augmented(net: RoadNetwork, dest: _Ends) -> sp.csr_array:
    """Return the reversed graph plus one virtual node per destination (rows N, N+1, ...)."""
    base = net.graph_reversed
    n, s = net.n_nodes, len(dest.rows)
    # Virtual node j has arcs to its road's ends (one arc if both ends are the same node).
    same = dest.node_a == dest.node_b
    cost_a = np.where(same, np.minimum(dest.cost_a, dest.cost_b), dest.cost_a)
    cost_b = np.where(same, np.inf, dest.cost_b)
    cols = np.column_stack([dest.node_a, dest.node_b])
    w = np.column_stack([cost_a, cost_b])
    keep = np.isfinite(w)
    counts = keep.sum(axis=1)
    indptr = np.r_[base.indptr, base.indptr[-1] + np.cumsum(counts)]
    indices = np.r_[base.indices, cols[keep]].astype(np.int32)
    data = np.r_[base.data, w[keep]]
    return sp.csr_array((data, indices, indptr), shape=(n + s, n + s))


def _direct(
    orig: _Ends, dest: _Ends, net: RoadNetwork, omask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Origin–destination pairs on the same link, going straight along it.

    Returns positions in ``orig.rows`` and ``dest.rows`` and the cost in metres.
    """
    sel = np.flatnonzero(np.isin(orig.link, dest.link))
    if omask is not None:
        sel = sel[omask[sel]]
    if len(sel) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    left = pd.DataFrame({"o": sel, "link": orig.link[sel]})
    right = pd.DataFrame({"d": np.arange(len(dest.rows)), "link": dest.link})
    pairs = left.merge(right, on="link")
    o = pairs["o"].to_numpy()
    d = pairs["d"].to_numpy()
    along = dest.pos[d] - orig.pos[o]
    lk = orig.link[o]
    ok = ((along >= 0) & net.arrays.forward[lk]) | ((along <= 0) & net.arrays.backward[lk])
    ok |= np.abs(along) <= ON_NODE_M
    cost = orig.snap[o] + np.abs(along) + dest.snap[d]
    return o[ok], d[ok], cost[ok]


def _labels(index: pd.Index, pos: np.ndarray, valid: np.ndarray) -> pd.Series | np.ndarray:
    """Index labels at ``pos`` where ``valid``, missing elsewhere (nullable ints for ints)."""
    taken = index.take(np.where(valid, pos, 0))
    if pd.api.types.is_integer_dtype(taken.dtype):
        out = pd.array(taken.to_numpy(), dtype="Int64")
        out[~valid] = pd.NA
        return out
    values = taken.to_numpy(dtype=object)
    values[~valid] = None
    return values


def _prepare(
    net: RoadNetwork, points: Points, *, origin: bool
) -> tuple[pd.Index, Snapped, np.ndarray, _Ends]:
    snapped = net.snap_points(points)
    ok = np.flatnonzero(pd.isna(snapped.reason))
    return (snapped.index, snapped.snapped, snapped.reason,
            _Ends(net, snapped.snapped, ok, origin=origin))


def nearest(net: RoadNetwork, origins: Points, destinations: Points) -> pd.DataFrame:
    """Find each origin's nearest destination by network distance.

    Parameters
    ----------
    net
        The road network.
    origins, destinations
        GeoSeries/GeoDataFrames in any CRS, or ``x, y`` in the network CRS.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``origins``:

        * ``destination``: index label of the nearest destination (missing if none);
        * ``distance_m``: origin connector + network path + destination connector, metres;
        * ``time_min``: ``distance_m`` at the network's speed;
        * ``snap_m``: the origin's connector length (its straight distance to the road);
        * ``reason``: missing, or why there is no destination: ``"too far from a road"``,
          ``"disconnected component"``, ``"missing geometry"`` (see
          :meth:`RoadNetwork.snap`), or ``"no destination reachable"``.

        Destinations that cannot be snapped are left out; ``net.snap(destinations)`` says why.
    """
    oindex, osnap, oreason, orig = _prepare(net, origins, origin=True)
    dindex, _, _, dest = _prepare(net, destinations, origin=False)
    n = net.n_nodes
    n_orig = len(oindex)
    best = np.full(len(orig.rows), np.inf)
    which = np.full(len(orig.rows), -1, dtype=np.int64)
    if len(dest.rows) and len(orig.rows):
        graph = _augmented(net, dest)
        dist, _, sources = dijkstra(
            graph, directed=True, indices=n + np.arange(len(dest.rows)), min_only=True,
            return_predecessors=True,
        )
        via_a = orig.cost_a + dist[orig.node_a]
        via_b = orig.cost_b + dist[orig.node_b]
        use_b = via_b < via_a
        best = np.where(use_b, via_b, via_a)
        node = np.where(use_b, orig.node_b, orig.node_a)
        which = np.where(np.isfinite(best), sources[node] - n, -1)
        o, d, c = _direct(orig, dest, net)
        if len(o):
            order = np.lexsort((d, c, o))
            o, d, c = o[order], d[order], c[order]
            first = np.r_[True, o[1:] != o[:-1]]
            o, d, c = o[first], d[first], c[first]
            better = c < best[o]
            best[o[better]] = c[better]
            which[o[better]] = d[better]
    distance = np.full(n_orig, np.nan)
    dest_pos = np.full(n_orig, -1, dtype=np.int64)
    found = np.isfinite(best)
    distance[orig.rows[found]] = best[found]
    dest_pos[orig.rows[found]] = dest.rows[which[found]]
    reason = oreason.copy()
    reason[orig.rows[~found]] = REASON_NONE_REACHABLE
    valid = dest_pos >= 0
    return pd.DataFrame(
        {
            "destination": _labels(dindex, dest_pos, valid),
            "distance_m": distance,
            "time_min": distance / net.speed_m_per_min,
            "snap_m": osnap.distance,
            "reason": reason,
        },
        index=oindex,
    )


def _reached(
    net: RoadNetwork, graph: sp.csr_array, n_dest: int, limit: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bounded Dijkstra from every destination; (destination, node, cost) of reached nodes."""
    n = net.n_nodes
    width = n + n_dest
    batch = int(max(1, min(n_dest, BATCH_CELLS // max(width, 1))))
    dests, nodes, costs = [], [], []
    for start in range(0, n_dest, batch):  # batches of sources, not one loop per source
        ids = np.arange(start, min(start + batch, n_dest))
        dist = dijkstra(graph, directed=True, indices=n + ids, limit=limit)
        dist = dist[:, :n]
        r, c = np.nonzero(dist <= limit)
        dests.append(ids[r])
        nodes.append(c)
        costs.append(dist[r, c])
    dest = np.concatenate(dests) if dests else np.zeros(0, dtype=np.int64)
    node = np.concatenate(nodes) if nodes else np.zeros(0, dtype=np.int64)
    cost = np.concatenate(costs) if costs else np.zeros(0)
    return dest, node, cost


def _limit_m(net: RoadNetwork, max_cost: float, cost: str) -> float:
    if cost not in _COSTS:
        msg = f"cost must be one of {', '.join(_COSTS)}; got {cost!r}"
        raise ValueError(msg)
    if not (np.isfinite(max_cost) and max_cost >= 0):
        msg = f"max_cost must be a finite number >= 0, got {max_cost!r}"
        raise ValueError(msg)
    return float(max_cost) * (net.speed_m_per_min if cost == "time_min" else 1.0)


def cost_table(
    net: RoadNetwork,
    origins: Points,
    destinations: Points,
    *,
    max_cost: float,
    cost: str = "time_min",
) -> pd.DataFrame:
    """List every origin–destination pair whose cost is at most ``max_cost``.

    Parameters
    ----------
    net
        The road network.
    origins, destinations
        GeoSeries/GeoDataFrames in any CRS, or ``x, y`` in the network CRS.
    max_cost
        Largest cost kept, in the unit of ``cost``.
    cost
        ``"time_min"`` (minutes at the network's speed) or ``"distance_m"`` (metres). Both
        include the two connectors (see the module docstring) and run from origin to
        destination.

    Returns
    -------
    pandas.DataFrame
        Columns ``origin``, ``destination`` (index labels of the inputs) and ``cost``, one row
        per pair within ``max_cost``, sorted by origin then destination. Unreachable origins
        and destinations have no rows; ``df.attrs["unreachable_origins"]`` and
        ``["unreachable_destinations"]`` count them by reason.
    """
    limit = _limit_m(net, max_cost, cost)
    oindex, _, oreason, orig = _prepare(net, origins, origin=True)
    dindex, _, dreason, dest = _prepare(net, destinations, origin=False)
    n_dest = len(dest.rows)
    out_o: list[np.ndarray] = []
    out_d: list[np.ndarray] = []
    out_c: list[np.ndarray] = []
    if n_dest and len(orig.rows):
        graph = _augmented(net, dest)
        r_dest, r_node, r_cost = _reached(net, graph, n_dest, limit)
        order = np.argsort(r_node, kind="stable")
        r_dest, r_node, r_cost = r_dest[order], r_node[order], r_cost[order]
        ptr = np.r_[0, np.cumsum(np.bincount(r_node, minlength=net.n_nodes))]
        d_o, d_d, d_c = _direct(orig, dest, net)
        for start in range(0, len(orig.rows), ORIGIN_CHUNK):  # memory bound, not per origin
            stop = min(start + ORIGIN_CHUNK, len(orig.rows))
            parts_o, parts_d, parts_c = [], [], []
            for node, base in ((orig.node_a, orig.cost_a), (orig.node_b, orig.cost_b)):
                nd, bc = node[start:stop], base[start:stop]
                live = np.flatnonzero(bc <= limit)
                cnt = ptr[nd[live] + 1] - ptr[nd[live]]
                rep = np.repeat(live, cnt)
                first = np.repeat(ptr[nd[live]] - np.r_[0, np.cumsum(cnt)[:-1]], cnt)
                k = first + np.arange(len(rep))
                parts_o.append(rep + start)
                parts_d.append(r_dest[k])
                parts_c.append(bc[rep] + r_cost[k])
            sel = (d_o >= start) & (d_o < stop)
            parts_o.append(d_o[sel])
            parts_d.append(d_d[sel])
            parts_c.append(d_c[sel])
            o = np.concatenate(parts_o)
            d = np.concatenate(parts_d)
            c = np.concatenate(parts_c)
            keep = c <= limit
            key = o[keep].astype(np.int64) * n_dest + d[keep]
            c = c[keep]
            # Each end's pairs come sorted by (origin, destination): a stable sort merges runs.
            order = np.argsort(key, kind="stable")
            key, c = key[order], c[order]
            if len(key) == 0:
                continue
            starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
            out_c.append(np.minimum.reduceat(c, starts))
            out_o.append(key[starts] // n_dest)
            out_d.append(key[starts] % n_dest)
    o = np.concatenate(out_o) if out_o else np.zeros(0, dtype=np.int64)
    d = np.concatenate(out_d) if out_d else np.zeros(0, dtype=np.int64)
    c = np.concatenate(out_c) if out_c else np.zeros(0)
    if cost == "time_min":
        c = c / net.speed_m_per_min
    table = pd.DataFrame({
        "origin": oindex.take(orig.rows[o]),
        "destination": dindex.take(dest.rows[d]),
        "cost": c,
    })
    table.attrs["unreachable_origins"] = pd.Series(oreason).value_counts().to_dict()
    table.attrs["unreachable_destinations"] = pd.Series(dreason).value_counts().to_dict()
    return table


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
    directions) takes at most ``m`` minutes. Those road parts are cut from the roads in pieces
    of at most 20 m (the last piece is cut where its cost reaches the limit, interpolating
    linearly), then buffered by ``buffer_m`` to make a polygon for maps. The polygon does not
    subtract the walk from a home to its road; use :func:`cost_table` for exact counts.
    The buffer (a GEOS union of the reached roads) dominates the cost: about a second per
    polygon for a 15-minute walk in a dense city, so this is meant for maps of a few sites.

    Parameters
    ----------
    net
        The road network.
    sites
        GeoSeries/GeoDataFrame in any CRS, or ``x, y`` in the network CRS.
    minutes
        One or more time limits.
    buffer_m
        Buffer around the reached roads, metres.

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
    dindex, _, _, dest = _prepare(net, sites, origin=False)
    idx = net.snap_index
    a = net.arrays
    speed = net.speed_m_per_min
    limit = limits[-1] * speed
    n = net.n_nodes
    # Pieces of the routing component's links: start/end along the link (fraction of L).
    seg_n = np.maximum(1, np.ceil(idx.seg_len / 20.0)).astype(np.int64)
    pseg = np.repeat(np.arange(idx.n_segments), seg_n)
    k = np.arange(len(pseg)) - np.repeat(np.r_[0, np.cumsum(seg_n)[:-1]], seg_n)
    f0 = k / seg_n[pseg]
    f1 = (k + 1) / seg_n[pseg]
    plink = idx.seg_link[pseg]
    plen = idx.link_plen[plink]
    with np.errstate(invalid="ignore", divide="ignore"):
        q0 = np.where(plen > 0, (idx.seg_cum0[pseg] + f0 * idx.seg_len[pseg]) / plen, 0.0)
        q1 = np.where(plen > 0, (idx.seg_cum0[pseg] + f1 * idx.seg_len[pseg]) / plen, 1.0)
    px0 = idx.x0[pseg] + f0 * (idx.x1[pseg] - idx.x0[pseg])
    py0 = idx.y0[pseg] + f0 * (idx.y1[pseg] - idx.y0[pseg])
    last = k + 1 == seg_n[pseg]  # exact segment ends, so pieces join up for line_merge
    px1 = np.where(last, idx.x1[pseg], idx.x0[pseg] + f1 * (idx.x1[pseg] - idx.x0[pseg]))
    py1 = np.where(last, idx.y1[pseg], idx.y0[pseg] + f1 * (idx.y1[pseg] - idx.y0[pseg]))
    order = np.argsort(plink, kind="stable")
    link_ptr = np.r_[0, np.cumsum(np.bincount(plink, minlength=net.n_links))]
    rows = []
    if len(dest.rows):
        graph = _augmented(net, dest)
        r_dest, r_node, r_cost = _reached(net, graph, len(dest.rows), limit)
        bounds = np.searchsorted(r_dest, np.arange(len(dest.rows) + 1))  # sorted by site
        for j in range(len(dest.rows)):  # one polygon per site: GEOS works per geometry
            sel = slice(bounds[j], bounds[j + 1])
            dist = np.full(n, np.inf)
            dist[r_node[sel]] = r_cost[sel]
            links = np.flatnonzero(
                (net.link_component == 0)
                & (np.isfinite(dist[a.link_a]) | np.isfinite(dist[a.link_b]))
            )
            links = np.union1d(links, dest.link[j : j + 1])
            cnt = link_ptr[links + 1] - link_ptr[links]
            first = np.repeat(link_ptr[links] - np.r_[0, np.cumsum(cnt)[:-1]], cnt)
            p = order[first + np.arange(int(cnt.sum()))]
            lk = plink[p]
            length = a.length[lk]
            costs = []
            for q in (q0[p], q1[p]):
                at_a = q * length <= ON_NODE_M
                at_b = (1 - q) * length <= ON_NODE_M
                via_a = np.where(a.backward[lk] | at_a, q * length + dist[a.link_a[lk]], np.inf)
                via_b = np.where(a.forward[lk] | at_b, (1 - q) * length + dist[a.link_b[lk]],
                                 np.inf)
                c = np.minimum(via_a, via_b)
                own = lk == dest.link[j]
                along = dest.pos[j] - q * length
                ok = ((along >= 0) & a.forward[lk]) | ((along <= 0) & a.backward[lk])
                direct = np.where(own & ok, dest.snap[j] + np.abs(along), np.inf)
                costs.append(np.minimum(c, direct))
            c0, c1 = costs
            for m in limits:
                budget = m * speed
                in0, in1 = c0 <= budget, c1 <= budget
                part = in0 | in1
                with np.errstate(invalid="ignore", divide="ignore"):
                    cut = np.clip((budget - c0) / (c1 - c0), 0.0, 1.0)
                    cut_b = np.clip((budget - c1) / (c0 - c1), 0.0, 1.0)
                sx0 = np.where(in0, px0[p], px1[p] + cut_b * (px0[p] - px1[p]))
                sy0 = np.where(in0, py0[p], py1[p] + cut_b * (py0[p] - py1[p]))
                sx1 = np.where(in1, px1[p], px0[p] + cut * (px1[p] - px0[p]))
                sy1 = np.where(in1, py1[p], py0[p] + cut * (py1[p] - py0[p]))
                coords = np.stack([np.column_stack([sx0, sy0]), np.column_stack([sx1, sy1])],
                                  axis=1)[part]
                road_m = float(np.hypot(coords[:, 1, 0] - coords[:, 0, 0],
                                        coords[:, 1, 1] - coords[:, 0, 1]).sum())
                if len(coords):
                    lines = shapely.multilinestrings(shapely.linestrings(coords))
                    lines = shapely.line_merge(lines)
                    lines = shapely.simplify(lines, min(2.0, buffer_m / 10.0))
                    geom = shapely.buffer(lines, buffer_m, quad_segs=4)
                else:
                    geom = shapely.Polygon()
                rows.append((int(dest.rows[j]), m, road_m / 1000.0, geom))
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
