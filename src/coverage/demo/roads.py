"""The road network of the demo city, drawn along the street lines of the plan.

Every street is a straight line; where lines meet, the network has a node. Inside each
superblock the lines are noded against each other, lines ending on the superblock's edge are
noded onto the arterial there, and the arterials are noded at last against everything that
reaches them. Village, park and old-neighbourhood nodes are then moved by a few metres and some
alley and path segments dropped, so that the mesh is less regular. Only the largest connected
part is kept, plus the small island in the river, which no bridge reaches (a deliberate second
component for tests of component reporting).

Tags follow OpenStreetMap: arterials are ``primary``/``secondary`` (the two central avenues are
dual carriageways of one-way roads), local streets ``tertiary``/``residential``, compound roads
and alleys ``service`` (compounds with ``access=destination``), footpaths ``footway``/``path``
with ``foot=yes`` and ``bicycle=no``; edges over the river have ``bridge=yes``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from coverage.demo.layout import Block, Layout, Zone
from coverage.demo.names import numeral

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

HIGHWAYS = ("primary", "secondary", "tertiary", "residential", "service", "footway", "path")
"""OSM ``highway`` values used, indexed by the codes in :attr:`Network.highway`."""
FOOT_ONLY = ("footway", "path")
"""Highway values closed to bicycles (``bicycle=no``) and marked ``foot=yes``."""

_JITTER = {"old": 4.0, "commercial": 2.0, "village": 3.5, "park": 12.0}
_DROP = {"old": 0.05, "village": 0.12, "park": 0.3}


@dataclass
class Network:
    """An undirected street network in local coordinates.

    Each edge is stored once, oriented in the direction of travel for one-way streets.

    Attributes
    ----------
    x, y
        Node coordinates (local m).
    u, v
        Node indices of each edge.
    highway
        Index into :data:`HIGHWAYS`.
    name
        Street name or ``None``.
    access
        ``access`` tag or ``None``.
    oneway
        Whether the edge may be driven only from ``u`` to ``v``.
    bridge
        Whether the edge crosses the river.
    way
        Id of the street line the edge belongs to (its OSM way id).
    island
        Indices of the nodes on the unconnected river island.
    """

    x: FloatArray
    y: FloatArray
    u: IntArray
    v: IntArray
    highway: NDArray[np.int8]
    name: NDArray[np.object_]
    access: NDArray[np.object_]
    oneway: NDArray[np.bool_]
    bridge: NDArray[np.bool_]
    way: IntArray
    island: IntArray


class _Segments:
    """Axis-aligned street segments with their tags, collected before noding."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, *, horizontal: bool, pos: object, lo: object, hi: object, highway: str,
            name: object = None, access: str | None = None, direction: object = 0) -> None:
        pos = np.atleast_1d(np.asarray(pos, dtype=float))
        n = len(pos)
        names = np.empty(n, dtype=object)
        names[:] = name if isinstance(name, list | np.ndarray) else [name] * n
        self.parts.append((
            np.full(n, horizontal), pos,
            np.broadcast_to(np.asarray(lo, dtype=float), n).copy(),
            np.broadcast_to(np.asarray(hi, dtype=float), n).copy(),
            np.full(n, HIGHWAYS.index(highway), dtype=np.int8), names,
            np.full(n, access, dtype=object),
            np.broadcast_to(np.asarray(direction, dtype=np.int8), n).copy(),
        ))

    def arrays(self) -> tuple[np.ndarray, ...]:
        return tuple(np.concatenate(col) for col in zip(*self.parts, strict=True))


def _split(line: IntArray, t: FloatArray) -> tuple[IntArray, FloatArray, FloatArray]:
    """Sort points along their lines; return consecutive pairs as ``(line, t0, t1)``."""
    order = np.lexsort((t, line))
    line, t = line[order], t[order]
    keep = np.ones(len(t), dtype=bool)
    keep[1:] = (line[1:] != line[:-1]) | (t[1:] - t[:-1] > 1e-6)
    line, t = line[keep], t[keep]
    same = line[1:] == line[:-1]
    return line[:-1][same], t[:-1][same], t[1:][same]


def _edges(is_h: NDArray, pos: FloatArray, lo: FloatArray, hi: FloatArray, direction: NDArray,
           extra_line: IntArray | None = None, extra_t: FloatArray | None = None,
           cross: bool = True) -> tuple[IntArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Node axis-aligned segments against each other (and extra points); return edges.

    Returns the segment index of each edge and its end coordinates, oriented along one-way
    segments.
    """
    n = len(pos)
    seg = [np.arange(n), np.arange(n)]
    t = [lo, hi]
    if cross:
        h, v = np.flatnonzero(is_h), np.flatnonzero(~is_h)
        meet = ((pos[v][None, :] >= lo[h][:, None]) & (pos[v][None, :] <= hi[h][:, None])
                & (pos[h][:, None] >= lo[v][None, :]) & (pos[h][:, None] <= hi[v][None, :]))
        hh, vv = np.nonzero(meet)
        seg += [h[hh], v[vv]]
        t += [pos[v][vv], pos[h][hh]]
    if extra_line is not None and extra_t is not None:
        seg.append(extra_line)
        t.append(extra_t)
    s, t0, t1 = _split(np.concatenate(seg), np.concatenate(t))
    flip = direction[s] < 0
    t0, t1 = np.where(flip, t1, t0), np.where(flip, t0, t1)
    h_s = is_h[s]
    return (s, np.where(h_s, t0, pos[s]), np.where(h_s, pos[s], t0),
            np.where(h_s, t1, pos[s]), np.where(h_s, pos[s], t1))


def _lattice(segs: _Segments, zone: Zone, rng: np.random.Generator, *, highways: list[str],
             weights: list[float], every: int, reach: int, main: str | None = None,
             suffix: str = "") -> None:
    """Draw a lattice over the zone's lines; every ``reach``-th line extends to the block edge."""
    for horizontal, lines, lo0, hi0, edge_lo, edge_hi in (
        (True, zone.yl, zone.xl[0], zone.xl[-1], zone.x0, zone.x1),
        (False, zone.xl, zone.yl[0], zone.yl[-1], zone.y0, zone.y1),
    ):
        k = np.arange(len(lines))
        reaches = k % reach == reach // 2
        lo = np.where(reaches, edge_lo, lo0)
        hi = np.where(reaches, edge_hi, hi0)
        kind = rng.choice(len(highways), size=len(lines), p=np.array(weights) / sum(weights))
        for code in range(len(highways)):
            sel = kind == code
            if main is not None:
                sel &= k % every != every // 2
            if sel.any():
                segs.add(horizontal=horizontal, pos=lines[sel], lo=lo[sel], hi=hi[sel],
                         highway=highways[code])
        if main is not None:
            sel = k % every == every // 2
            names = [f"{zone.name}{numeral(m + 1)}{suffix}" for m in range(int(sel.sum()))]
            if sel.any():
                segs.add(horizontal=horizontal, pos=lines[sel], lo=lo[sel], hi=hi[sel],
                         highway=main, name=names)


def _grid_streets(segs: _Segments, zone: Zone, rng: np.random.Generator) -> None:
    """Draw the open street grid of an old neighbourhood or a commercial centre."""
    xs, ys = zone.xl[1:-1], zone.yl[1:-1]
    k = np.arange(len(xs))
    hw = np.where(k % 3 == 1, "tertiary", "residential")
    for code in ("tertiary", "residential"):
        sel = hw == code
        if sel.any():
            segs.add(horizontal=False, pos=xs[sel], lo=zone.y0, hi=zone.y1, highway=code,
                     name=[f"{zone.name}{numeral(int(m) + 1)}路" for m in k[sel]])
    k = np.arange(len(ys))
    if zone.kind == "commercial":
        walk = len(ys) // 2
        segs.add(horizontal=True, pos=ys[walk], lo=zone.x0, hi=zone.x1, highway="footway",
                 name=zone.name.removesuffix("商业中心") + "步行街")
        rest = k != walk
        segs.add(horizontal=True, pos=ys[rest], lo=zone.x0, hi=zone.x1, highway="residential",
                 name=[f"{zone.name.removesuffix('商业中心')}{numeral(int(m) + 1)}街"
                       for m in k[rest]])
        return
    direction = np.zeros(len(ys), dtype=np.int8)
    if len(ys) >= 3 and rng.random() < 0.6:  # a one-way pair (couplet) of local streets
        mid = len(ys) // 2
        direction[mid - 1], direction[mid] = 1, -1
    names = [f"{zone.name}{numeral(int(m) + 1)}街" for m in k]
    segs.add(horizontal=True, pos=ys, lo=zone.x0, hi=zone.x1,
             highway="residential", name=names, direction=direction)
    pair = direction != 0
    if pair.any():  # one-way streets carry more traffic: tertiary
        segs.parts[-1][4][pair] = HIGHWAYS.index("tertiary")


def _compound(segs: _Segments, zone: Zone, rng: np.random.Generator) -> None:
    """Draw the internal roads of a gated compound and its one or two gates."""
    x0, x1, y0, y1 = zone.x0, zone.x1, zone.y0, zone.y1
    segs.add(horizontal=True, pos=zone.yl, lo=x0, hi=x1, highway="service", access="destination")
    segs.add(horizontal=False, pos=zone.xl, lo=y0, hi=y1, highway="service",
             access="destination")
    assert zone.outer is not None
    ox0, ox1, oy0, oy1 = zone.outer
    n_gates = 1 if rng.random() < 0.4 else 2
    for side in rng.choice(4, size=n_gates, replace=False):
        lines = zone.xl if side < 2 else zone.yl
        at = lines[int(rng.integers(1, len(lines) - 1))] if len(lines) > 2 else lines[0]
        if side == 0:
            segs.add(horizontal=False, pos=at, lo=oy0, hi=y0, highway="service",
                     access="destination", name=zone.name + "南门")
        elif side == 1:
            segs.add(horizontal=False, pos=at, lo=y1, hi=oy1, highway="service",
                     access="destination", name=zone.name + "北门")
        elif side == 2:
            segs.add(horizontal=True, pos=at, lo=ox0, hi=x0, highway="service",
                     access="destination", name=zone.name + "西门")
        else:
            segs.add(horizontal=True, pos=at, lo=x1, hi=ox1, highway="service",
                     access="destination", name=zone.name + "东门")


def _block_segments(layout: Layout, block: Block, rng: np.random.Generator) -> _Segments:
    segs = _Segments()
    name = block.name
    if block.kind == "compound":
        segs.add(horizontal=False, pos=block.xcuts, lo=block.y0, hi=block.y1,
                 highway="residential",
                 name=[f"{name}{numeral(k + 1)}路" for k in range(len(block.xcuts))])
        segs.add(horizontal=True, pos=block.ycuts, lo=block.x0, hi=block.x1,
                 highway="residential",
                 name=[f"{name}{numeral(k + 1)}街" for k in range(len(block.ycuts))])
    if block.kind == "industrial":
        park = name + "工业园"
        segs.add(horizontal=False, pos=block.xcuts, lo=block.y0, hi=block.y1, highway="tertiary",
                 name=[f"{park}{numeral(k + 1)}路" for k in range(len(block.xcuts))])
        segs.add(horizontal=True, pos=block.ycuts, lo=block.x0, hi=block.x1, highway="service",
                 name=[f"{park}{numeral(k + 1)}街" for k in range(len(block.ycuts))])
    for z in block.zones:
        zone = layout.zones[z]
        if zone.kind in ("old", "commercial"):
            _grid_streets(segs, zone, rng)
        elif zone.kind == "village":
            _lattice(segs, zone, rng, highways=["service", "footway"], weights=[0.75, 0.25],
                     every=5, reach=3, main="residential", suffix="巷")
        elif zone.kind == "park":
            _lattice(segs, zone, rng, highways=["footway", "path"], weights=[0.5, 0.5],
                     every=1, reach=4)
        elif zone.kind == "compound":
            _compound(segs, zone, rng)
        elif zone.kind == "dorm":
            xs, ys = zone.xl[1:-1], zone.yl[1:-1]
            segs.add(horizontal=False, pos=xs, lo=zone.y0, hi=zone.y1,
                     highway="service")
            segs.add(horizontal=True, pos=ys, lo=zone.x0, hi=zone.x1, highway="footway")
        elif zone.kind == "factory":
            segs.add(horizontal=False, pos=(zone.x0 + zone.x1) / 2, lo=zone.y0,
                     hi=(zone.y0 + zone.y1) / 2, highway="service")
    return segs


@dataclass
class _EdgeParts:
    """Edges collected from all parts of the city before the nodes are merged."""

    x0: list[FloatArray]
    y0: list[FloatArray]
    x1: list[FloatArray]
    y1: list[FloatArray]
    highway: list[NDArray]
    name: list[NDArray]
    access: list[NDArray]
    oneway: list[NDArray]
    way: list[IntArray]

    def add(self, segs: tuple[np.ndarray, ...], edges: tuple[np.ndarray, ...], way0: int,
            ) -> int:
        """Add the edges of noded segments; segment ``k`` becomes way ``way0 + k``."""
        s, x0, y0, x1, y1 = edges
        _, pos, _, _, highway, name, access, direction = segs
        self.add_edges(x0, y0, x1, y1, highway=highway[s], name=name[s], access=access[s],
                       oneway=direction[s] != 0, way=way0 + s.astype(np.int64))
        return way0 + len(pos)

    def add_edges(self, x0: FloatArray, y0: FloatArray, x1: FloatArray, y1: FloatArray, *,
                  highway: NDArray, name: NDArray, access: NDArray, oneway: NDArray,
                  way: IntArray) -> None:
        """Add edges with their tags."""
        n = len(x0)
        self.x0.append(x0)
        self.y0.append(y0)
        self.x1.append(x1)
        self.y1.append(y1)
        self.highway.append(np.broadcast_to(highway, n).astype(np.int8))
        self.name.append(np.broadcast_to(np.asarray(name, dtype=object), n).copy())
        self.access.append(np.broadcast_to(np.asarray(access, dtype=object), n).copy())
        self.oneway.append(np.broadcast_to(oneway, n).astype(bool))
        self.way.append(np.broadcast_to(way, n).astype(np.int64))


def _river(layout: Layout, parts: _EdgeParts, way0: int,
           ) -> tuple[int, list[IntArray], list[FloatArray], list[IntArray], list[FloatArray]]:
    """Promenades, their links to the riverside roads, the footbridge and the island paths."""
    river, jr = layout.river, layout.river_row
    vreg_line: list[IntArray] = []
    vreg_t: list[FloatArray] = []
    hreg_line: list[IntArray] = []
    hreg_t: list[FloatArray] = []
    bridge_x = layout.vlines.pos[layout.bridge_lines]
    xs = np.unique(np.concatenate([
        np.arange(river.x_start, river.x_end, 50.0), [river.x_end], bridge_x,
        [layout.footbridge_x], layout.connector_x]))
    for side, ys in (("北", river.north(xs)), ("南", river.south(xs))):
        parts.add_edges(xs[:-1], ys[:-1], xs[1:], ys[1:], highway=HIGHWAYS.index("footway"),
                        name=f"{river.name}{side}岸步道", access=None, oneway=False, way=way0)
        way0 += 1
    # links from the promenades to the riverside roads; bridges carry the arterials over
    top = int(layout.hlines.pos.searchsorted(layout.ys[jr + 1]))
    bottom = int(layout.hlines.pos.searchsorted(layout.ys[jr]))
    cx = layout.connector_x
    segs = _Segments()
    segs.add(horizontal=False, pos=cx, lo=river.north(cx), hi=layout.ys[jr + 1],
             highway="footway")
    segs.add(horizontal=False, pos=cx, lo=layout.ys[jr], hi=river.south(cx), highway="footway")
    segs.add(horizontal=False, pos=layout.footbridge_x,
             lo=river.south(np.array([layout.footbridge_x]))[0],
             hi=river.north(np.array([layout.footbridge_x]))[0], highway="footway",
             name=f"{river.name}人行桥")
    arrays = segs.arrays()
    way0 = parts.add(arrays, _edges(*arrays[0:4], arrays[7], cross=False), way0)
    hreg_line += [np.full(len(cx), top), np.full(len(cx), bottom)]
    hreg_t += [cx, cx]
    for line in layout.bridge_lines:
        x = np.array([layout.vlines.pos[line]])
        vreg_line.append(np.array([line, line]))
        vreg_t.append(np.concatenate([river.north(x), river.south(x)]))
    # the island: a ring path and two spokes, reached by no bridge
    island = river.island()
    c = shapely.centroid(island)
    t = np.linspace(0, 2 * np.pi, 7)[:-1]
    rx, ry = c.x + 70 * np.cos(t), c.y + 26 * np.sin(t)
    ax = np.concatenate([rx, [c.x, c.x]])
    ay = np.concatenate([ry, [c.y, c.y]])
    bx = np.concatenate([np.roll(rx, -1), [rx[0], rx[3]]])
    by = np.concatenate([np.roll(ry, -1), [ry[0], ry[3]]])
    parts.add_edges(ax, ay, bx, by, highway=HIGHWAYS.index("path"), name=None, access=None,
                    oneway=False, way=way0)
    return way0 + 1, vreg_line, vreg_t, hreg_line, hreg_t


def _register(block: Block, x: FloatArray, y: FloatArray,
              ) -> tuple[IntArray, FloatArray, IntArray, FloatArray]:
    """Points of a block's edges lying on its bounding arterials."""
    left, right = x == block.x0, x == block.x1
    bottom, top = y == block.y0, y == block.y1
    vline = np.concatenate([np.full(left.sum(), block.left), np.full(right.sum(), block.right)])
    vt = np.concatenate([y[left], y[right]])
    hline = np.concatenate([np.full(bottom.sum(), block.bottom), np.full(top.sum(), block.top)])
    ht = np.concatenate([x[bottom], x[top]])
    return vline, vt, hline, ht


def _arterials(layout: Layout, parts: _EdgeParts, way0: int, vreg_line: list[IntArray],
               vreg_t: list[FloatArray], hreg_line: list[IntArray], hreg_t: list[FloatArray],
               ) -> int:
    vl, hl = layout.vlines, layout.hlines
    nv = len(vl.pos)
    ys, xs = layout.ys, layout.xs
    segs = _Segments()
    segs.add(horizontal=False, pos=vl.pos, lo=ys[0], hi=ys[-1], highway="primary",
             name=list(vl.name), direction=vl.direction)
    segs.add(horizontal=True, pos=hl.pos, lo=xs[0], hi=xs[-1], highway="primary",
             name=list(hl.name), direction=hl.direction)
    arrays = list(segs.arrays())
    arrays[4] = np.array([HIGHWAYS.index(h) for h in [*vl.highway, *hl.highway]], dtype=np.int8)
    extra_line = np.concatenate([*vreg_line, nv + np.concatenate(hreg_line)])
    extra_t = np.concatenate([*vreg_t, *hreg_t])
    s, x0, y0, x1, y1 = _edges(*arrays[0:4], arrays[7], extra_line, extra_t)
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    area = shapely.buffer(layout.kept_area, 1.0)
    shapely.prepare(area)
    keep = shapely.contains_xy(area, mx, my)
    jr = layout.river_row
    in_river_row = (s < nv) & (my > ys[jr]) & (my < ys[jr + 1])
    keep &= ~in_river_row | np.isin(s, layout.bridge_lines)
    edges = (s[keep], x0[keep], y0[keep], x1[keep], y1[keep])
    return parts.add(tuple(arrays), edges, way0)


def build_network(layout: Layout, rng: np.random.Generator) -> Network:
    """Draw the street network of the planned city.

    Parameters
    ----------
    layout
        The plan.
    rng
        Random generator.

    Returns
    -------
    Network
        The undirected network in local coordinates.
    """
    parts = _EdgeParts([], [], [], [], [], [], [], [], [])
    vreg_line: list[IntArray] = []
    vreg_t: list[FloatArray] = []
    hreg_line: list[IntArray] = []
    hreg_t: list[FloatArray] = []
    way0 = 1
    for block in layout.blocks:
        if block.kind == "river":
            continue
        segs = _block_segments(layout, block, rng)
        arrays = segs.arrays()
        s, x0, y0, x1, y1 = _edges(*arrays[0:4], arrays[7])
        kind = block.kind
        drop = _DROP.get(kind, 0.0)
        if drop:
            keep = rng.random(len(s)) >= drop
            s, x0, y0, x1, y1 = s[keep], x0[keep], y0[keep], x1[keep], y1[keep]
        jitter = _JITTER.get(kind, 0.0)
        if jitter:
            pts = np.concatenate([np.column_stack([x0, y0]), np.column_stack([x1, y1])])
            uniq, inverse = np.unique(np.round(pts, 2), axis=0, return_inverse=True)
            inside = ((uniq[:, 0] > block.x0 + 1e-6) & (uniq[:, 0] < block.x1 - 1e-6)
                      & (uniq[:, 1] > block.y0 + 1e-6) & (uniq[:, 1] < block.y1 - 1e-6))
            moved = uniq + rng.uniform(-jitter, jitter, uniq.shape) * inside[:, None]
            pts = moved[inverse.ravel()]
            n = len(s)
            x0, y0, x1, y1 = pts[:n, 0], pts[:n, 1], pts[n:, 0], pts[n:, 1]
        for x, y in ((x0, y0), (x1, y1)):
            a, b, c, d = _register(block, x, y)
            vreg_line.append(a)
            vreg_t.append(b)
            hreg_line.append(c)
            hreg_t.append(d)
        way0 = parts.add(arrays, (s, x0, y0, x1, y1), way0)
    way0, *reg = _river(layout, parts, way0)
    vreg_line += reg[0]
    vreg_t += reg[1]
    hreg_line += reg[2]
    hreg_t += reg[3]
    _arterials(layout, parts, way0, vreg_line, vreg_t, hreg_line, hreg_t)
    return _assemble(layout, parts)


def _assemble(layout: Layout, parts: _EdgeParts) -> Network:
    """Merge coincident nodes, drop duplicate edges and unconnected fragments."""
    x0, y0 = np.concatenate(parts.x0), np.concatenate(parts.y0)
    x1, y1 = np.concatenate(parts.x1), np.concatenate(parts.y1)
    highway = np.concatenate(parts.highway)
    name = np.concatenate(parts.name)
    access = np.concatenate(parts.access)
    oneway = np.concatenate(parts.oneway)
    way = np.concatenate(parts.way)
    xi = np.round(np.concatenate([x0, x1]) * 100).astype(np.int64)
    yi = np.round(np.concatenate([y0, y1]) * 100).astype(np.int64)
    keys, inverse = np.unique((xi + 2**22) * 2**23 + (yi + 2**22), return_inverse=True)
    n = len(x0)
    u, v = inverse[:n], inverse[n:]
    nx = keys // 2**23 - 2**22
    ny = keys % 2**23 - 2**22
    # one edge per node pair; the first one drawn wins
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    _, first = np.unique(lo * len(keys) + hi, return_index=True)
    first = np.sort(first[u[first] != v[first]])
    u, v = u[first], v[first]
    highway, name, access = highway[first], name[first], access[first]
    oneway, way = oneway[first], way[first]
    # components: keep the largest and the island
    graph = coo_matrix((np.ones(len(u)), (u, v)), shape=(len(keys), len(keys)))
    _, label = connected_components(graph, directed=False)
    counts = np.bincount(label[u], minlength=label.max() + 1)
    island_poly = shapely.buffer(layout.river.island(), 1.0)
    on_island = shapely.contains_xy(island_poly, nx / 100, ny / 100)
    keep_labels = np.unique(np.append(label[on_island], np.argmax(counts)))
    node_keep = np.isin(label, keep_labels) & (np.bincount(np.concatenate([u, v]),
                                                           minlength=len(keys)) > 0)
    new_index = np.cumsum(node_keep) - 1
    edge_keep = node_keep[u]
    u, v = new_index[u[edge_keep]], new_index[v[edge_keep]]
    x = nx[node_keep] / 100.0
    y = ny[node_keep] / 100.0
    lines = shapely.linestrings(np.stack([np.column_stack([x[u], y[u]]),
                                          np.column_stack([x[v], y[v]])], axis=1))
    water = layout.river.polygon(layout.xs[0] - 1000, layout.xs[-1] + 1000)
    shapely.prepare(water)
    bridge = shapely.intersects(water, lines)
    return Network(
        x=x, y=y, u=u, v=v, highway=highway[edge_keep], name=name[edge_keep],
        access=access[edge_keep], oneway=oneway[edge_keep], bridge=bridge, way=way[edge_keep],
        island=np.flatnonzero(on_island[node_keep]),
    )
