"""Network costs between points: the nearest destination and cost tables.

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
* :func:`cost_table`: Dijkstra bounded by ``max_cost`` from the destinations, grouped by 4 km
  tiles, each group on the sub-graph of the nodes that can lie within ``max_cost`` of it
  (small dense rows, see :func:`~coverage.network._search.bounded_search`); origins are joined
  per *link* (the destinations reached from its two ends merged once), then expanded per origin
  in output order.
* :func:`~coverage.network.areas.service_areas` (catchment polygons) uses the same bounded
  search and measures costs the same way.

Where points join the graph, and the bounded search, live in :mod:`coverage.network._search`,
which the service areas share.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from coverage.network._parallel import each, ordered
from coverage.network._ragged import owners
from coverage.network._search import Ends, augmented, bounded_search, direct, prepare
from coverage.network.snap import REASON_NONE_REACHABLE

if TYPE_CHECKING:
    from coverage.network.graph import RoadNetwork
    from coverage.network.points import Points

__all__ = ["cost_table", "nearest"]

#: Origins handled together when joining them to the reached nodes.
ORIGIN_CHUNK = 65_536

_COSTS = ("time_min", "distance_m")


#: The dtype pandas gives a column of text with missing values (``str`` since pandas 3).
_TEXT = pd.Series(np.array(["a", None], dtype=object)).dtype


def _labels(index: pd.Index, pos: np.ndarray, valid: np.ndarray) -> pd.Series | np.ndarray:
    """Index labels at ``pos`` where ``valid``, missing elsewhere (nullable ints for ints).

    Text labels come out as the column pandas makes of them (``str``), taken in one step
    rather than through a million Python strings; an object array otherwise.
    """
    if isinstance(index.dtype, np.dtype) and index.dtype.kind in "iu":
        # Plain integers: gather the values and wrap them with the mask, without copies.
        values = index.to_numpy()[np.where(valid, pos, 0)].astype(np.int64, copy=False)
        return pd.arrays.IntegerArray(values, ~valid)
    if isinstance(_TEXT, pd.StringDtype) and index.dtype == _TEXT and valid.any():
        # What pandas would infer from the labels as objects (an all-missing column stays
        # object, hence ``valid.any()``).
        return index.array.take(np.where(valid, pos, -1), allow_fill=True)
    taken = index.take(np.where(valid, pos, 0))
    if pd.api.types.is_integer_dtype(taken.dtype):
        out = pd.array(taken.to_numpy(), dtype="Int64")
        out[~valid] = pd.NA
        return out
    values = taken.to_numpy(dtype=object)
    values[~valid] = None
    return values


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
    oindex, osnap, oreason, orig = prepare(net, origins, origin=True)
    dindex, _, _, dest = prepare(net, destinations, origin=False)
    n_orig = len(oindex)
    distance = np.full(n_orig, np.nan)
    dest_pos = np.full(n_orig, -1, dtype=np.int64)  # position in dest.rows
    if len(dest.rows) and len(orig.rows):
        _nearest_via_nodes(net, orig, dest, distance, dest_pos)
        o, d, c = direct(orig, dest, net)
        if len(o):
            order = np.lexsort((d, c, o))
            o, d, c = o[order], d[order], c[order]
            first = np.r_[True, o[1:] != o[:-1]]
            rows, d, c = orig.rows[o[first]], d[first], c[first]
            better = ~(c >= distance[rows])  # also where nothing was found (NaN)
            distance[rows[better]] = c[better]
            dest_pos[rows[better]] = d[better]
    every = len(orig.rows) == n_orig  # every origin snapped: orig.rows is 0 .. n - 1
    reason = oreason.copy()
    lost = np.flatnonzero(np.isnan(distance)) if every else orig.rows[
        np.isnan(distance[orig.rows])]
    reason[lost] = REASON_NONE_REACHABLE
    valid = dest_pos >= 0
    if len(dest.rows) < len(dindex):  # else dest.rows is 0 .. n - 1 already
        dest_pos[valid] = dest.rows[dest_pos[valid]]
    # copy=False: every column is a fresh array (the snap distances are copied here).
    return pd.DataFrame(
        {
            "destination": _labels(dindex, dest_pos, valid),
            "distance_m": distance,
            "time_min": distance / net.speed_m_per_min,
            "snap_m": osnap.distance.copy(),
            # No reason at all: the object column pandas would infer, without a scan.
            "reason": (pd.Series(reason, index=oindex, dtype=object, copy=False)
                       if every and not len(lost) else reason),
        },
        index=oindex,
        copy=False,
    )


def _nearest_via_nodes(
    net: RoadNetwork, orig: Ends, dest: Ends, distance: np.ndarray, dest_pos: np.ndarray
) -> None:
    """Fill ``distance`` and ``dest_pos`` (by origin row) through the graph's nodes.

    One multi-source Dijkstra from all destinations (``min_only``) gives every node its cost
    to the nearest destination and which one it is; each origin takes the better of its
    link's two ends. Origins go in chunks so that the temporary arrays stay small.
    """
    n = net.n_nodes
    kept = dest.searches.get(("nearest", np.inf))
    if kept is None:
        graph = augmented(net, dest)
        dist, _, sources = dijkstra(
            graph, directed=True, indices=n + np.arange(len(dest.rows)), min_only=True,
            return_predecessors=True,
        )
        sources -= n
        dest.searches["nearest", np.inf] = kept = (dist, sources)
    dist, sources = kept

    every = len(orig.rows) == len(distance)  # orig.rows is 0 .. n - 1: write in place

    def run(bounds: tuple[int, int]) -> None:
        lo, hi = bounds
        node_a, node_b = orig.node_a[lo:hi], orig.node_b[lo:hi]
        best = np.take(dist, node_a, out=distance[lo:hi] if every else None)
        best += orig.cost_a[lo:hi]
        via_b = np.take(dist, node_b)
        via_b += orig.cost_b[lo:hi]
        use_b = via_b < best
        np.copyto(best, via_b, where=use_b)
        which = np.take(sources, node_a)
        np.copyto(which, np.take(sources, node_b), where=use_b)
        if every:
            dest_pos[lo:hi] = which
            lost = ~np.isfinite(best)
            if lost.any():
                best[lost] = np.nan
                dest_pos[lo:hi][lost] = -1
            return
        found = np.flatnonzero(np.isfinite(best))
        rows = orig.rows[lo:hi][found]
        distance[rows] = best[found]
        dest_pos[rows] = which[found]

    each(run, _chunks(len(orig.rows), ORIGIN_CHUNK))


def _node_lists(net: RoadNetwork, n_dest: int, reached: tuple[np.ndarray, ...]) -> sp.csr_array:
    """List the reached destinations of every node: a node × destination CSR matrix of costs.

    Rows hold the destinations in increasing order (SciPy's CSR → CSC conversion is a
    counting sort). Zero costs are stored explicitly, like any other.
    """
    r_dest, r_node, r_cost = reached
    by_dest = sp.csr_array((r_cost, (r_dest, r_node)), shape=(n_dest, net.n_nodes))
    by_node = by_dest.tocsc()
    return sp.csr_array((by_node.data, by_node.indices, by_node.indptr),
                        shape=(net.n_nodes, n_dest))


def _link_lists(
    net: RoadNetwork, links: np.ndarray, nodes: sp.csr_array
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge the destination lists of both ends of each link in ``links``.

    Returns the CSR pointer (one row per link), the destinations (sorted in each row) and the
    costs from end ``a`` and from end ``b`` (inf where an end does not reach the
    destination) as the real and imaginary parts of one complex array, so that one gather
    fetches both. The union is SciPy's sparse sum of two indicator matrices (1 for
    end ``a``, 2 for end ``b``); each end's costs then fill the entries whose indicator has
    its bit, in order, since both lists and their union are sorted.
    """
    a = net.arrays
    end_a = nodes[a.link_a[links]]
    end_b = nodes[a.link_b[links]]
    mark_a = sp.csr_array((np.ones(end_a.nnz, dtype=np.int8), end_a.indices, end_a.indptr),
                          shape=end_a.shape)
    mark_b = sp.csr_array((np.full(end_b.nnz, 2, dtype=np.int8), end_b.indices, end_b.indptr),
                          shape=end_b.shape)
    union = mark_a + mark_b
    union.sort_indices()
    cost = np.full(union.nnz, complex(np.inf, np.inf))
    cost.real[(union.data & 1) != 0] = end_a.data
    cost.imag[(union.data & 2) != 0] = end_b.data
    return union.indptr, union.indices.astype(np.int32, copy=False), cost


def _direct_keys(
    orig: Ends, dest: Ends, net: RoadNetwork, limit: float
) -> tuple[np.ndarray, np.ndarray]:
    """Same-link pairs within ``limit`` as sorted keys ``origin * n_dest + dest`` and costs.

    One (the cheapest) cost per pair.
    """
    n_dest = len(dest.rows)
    d_o, d_d, d_c = direct(orig, dest, net)
    sel = d_c <= limit
    dk = d_o[sel].astype(np.int64) * n_dest + d_d[sel]
    d_c = d_c[sel]
    order = np.lexsort((d_c, dk))
    dk, d_c = dk[order], d_c[order]
    first = np.r_[True, dk[1:] != dk[:-1]][: len(dk)]
    return dk[first], d_c[first]


def _join(
    orig: Ends,
    dest: Ends,
    net: RoadNetwork,
    reached: tuple[np.ndarray, np.ndarray, np.ndarray],
    limit: float,
    labels: tuple[np.ndarray | None, np.ndarray | None] = (None, None),
    scale: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (origin, destination, cost) within ``limit``, sorted by origin then destination.

    Origins and destinations are positions in ``orig.rows`` and ``dest.rows``, or the values
    of ``labels`` (one array per side, indexed by those positions) where given; costs are in
    metres, or divided by ``scale`` where given. (Labels and units are applied chunk by chunk,
    while the arrays are in cache, rather than in extra passes over millions of rows.)

    Origins are joined per *link*, not per origin end: for each link holding origins, the
    destinations reached from its end ``a`` and from its end ``b`` are merged once into one
    list (destination, cost at ``a``, cost at ``b``); each origin then walks its link's list
    and takes ``min(cost_a + at_a, cost_b + at_b)``. That touches each output pair once, in
    output order (origins ascending, each list sorted by destination), with no global sort.
    Origins go in chunks of ``ORIGIN_CHUNK``, so that the temporary arrays stay small (and in
    cache).
    """
    n_dest = len(dest.rows)
    chunks = _chunks(len(orig.rows), ORIGIN_CHUNK)
    # Origins within the limit of an end of their link, counted per link.
    per_link = np.zeros(net.n_links, dtype=np.int64)
    for lo, hi in chunks:
        near = np.minimum(orig.cost_a[lo:hi], orig.cost_b[lo:hi]) <= limit
        per_link += np.bincount(orig.link[lo:hi][near], minlength=net.n_links)
    links = np.flatnonzero(per_link)
    link_pos = np.zeros(net.n_links, dtype=np.int64)
    link_pos[links] = np.arange(len(links))
    l_ptr, l_dest, l_cost = _link_lists(net, links, _node_lists(net, n_dest, reached))
    dk, d_c = _direct_keys(orig, dest, net, limit)

    def run(bounds: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lo, hi = bounds
        cost_a, cost_b = orig.cost_a[lo:hi], orig.cost_b[lo:hi]
        live = np.flatnonzero(np.minimum(cost_a, cost_b) <= limit)
        lp = link_pos[orig.link[lo:hi][live]]
        first = l_ptr[lp]
        cnt = l_ptr[lp + 1] - first
        owner = owners(cnt)
        k = np.arange(len(owner), dtype=np.int64)
        k += (first - (np.cumsum(cnt) - cnt))[owner]
        at = l_cost[k]
        c = cost_a[live][owner]
        c += at.real
        c_b = cost_b[live][owner]
        c_b += at.imag
        np.minimum(c, c_b, out=c)
        keep = np.flatnonzero(c <= limit)
        oo, dd, c = lo + live[owner[keep]], l_dest[k[keep]], c[keep]
        oo, dd, c = _merge_direct(oo, dd, c, dk, d_c, n_dest, lo, hi)
        if scale is not None:
            c /= scale
        return (oo if labels[0] is None else labels[0][oo],
                dd if labels[1] is None else labels[1][dd], c)

    # Written once into arrays sized for every candidate (pages never written are never
    # touched), rather than into per-chunk parts concatenated afterwards.
    size = int(np.dot(per_link[links], np.diff(l_ptr))) + len(dk)
    o = np.empty(size, dtype=np.int64 if labels[0] is None else labels[0].dtype)
    d = np.empty(size, dtype=np.int32 if labels[1] is None else labels[1].dtype)
    c = np.empty(size)
    end = 0
    for oo, dd, cc in ordered(run, chunks):
        o[end:end + len(cc)], d[end:end + len(cc)], c[end:end + len(cc)] = oo, dd, cc
        end += len(cc)
    return o[:end], d[:end], c[:end]


def _merge_direct(
    oo: np.ndarray, dd: np.ndarray, c: np.ndarray, dk: np.ndarray, d_c: np.ndarray,
    n_dest: int, lo: int, hi: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge the same-link pairs of origins ``lo`` to ``hi`` into one chunk's sorted output."""
    s0, s1 = np.searchsorted(dk, [lo * n_dest, hi * n_dest])
    if s1 <= s0:
        return oo, dd, c
    key = oo.astype(np.int64) * n_dest + dd
    ck, cc = dk[s0:s1], d_c[s0:s1]
    at = np.searchsorted(key, ck)
    found = at < len(key)
    found[found] = key[at[found]] == ck[found]
    c[at[found]] = np.minimum(c[at[found]], cc[found])
    new = ~found
    if new.any():
        oo = np.insert(oo, at[new], ck[new] // n_dest)
        dd = np.insert(dd, at[new], (ck[new] % n_dest).astype(dd.dtype))
        c = np.insert(c, at[new], cc[new])
    return oo, dd, c


def _chunks(n: int, size: int) -> list[tuple[int, int]]:
    return [(lo, min(lo + size, n)) for lo in range(0, n, size)]


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
    oindex, _, oreason, orig = prepare(net, origins, origin=True)
    dindex, _, dreason, dest = prepare(net, destinations, origin=False)
    # Origins 0..n-1 all reachable: positions are the labels (no gather of millions of rows).
    same = (isinstance(oindex, pd.RangeIndex) and oindex.start == 0 and oindex.step == 1
            and len(orig.rows) == len(oindex))
    labels = (None if same else _label_array(oindex, orig.rows),
              _label_array(dindex, dest.rows))
    if len(dest.rows) and len(orig.rows):
        reached = dest.searches.get(("reached", limit))
        if reached is None:
            reached = dest.searches["reached", limit] = bounded_search(net, dest, limit)
        o, d, c = _join(orig, dest, net, reached, limit, labels,
                        net.speed_m_per_min if cost == "time_min" else None)
    else:
        o = d = np.zeros(0, dtype=np.int64)
        c = np.zeros(0)
        labels = (None, None)
    # copy=False: the columns are fresh arrays; copying millions of rows would double the time.
    table = pd.DataFrame(
        {
            "origin": o if same or labels[0] is not None else oindex.take(orig.rows[o]),
            "destination": dindex.take(dest.rows[d]) if labels[1] is None else d,
            "cost": c,
        },
        copy=False,
    )
    table.attrs["unreachable_origins"] = _count_reasons(oreason)
    table.attrs["unreachable_destinations"] = _count_reasons(dreason)
    return table


def _label_array(index: pd.Index, rows: np.ndarray) -> np.ndarray | None:
    """Labels of ``index`` at ``rows`` as a NumPy array, for plain numeric indexes only."""
    dtype = index.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
        return index.to_numpy()[rows]
    return None


def _count_reasons(reason: np.ndarray) -> dict[str, int]:
    """Count the reasons of unreachable points (counting a million Nones is slow in pandas)."""
    values = reason[~pd.isna(reason)]
    return pd.Series(values, dtype=object).value_counts().to_dict() if len(values) else {}

