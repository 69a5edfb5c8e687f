"""The plan of the demo city: arterial grid, land use, river, bridges and planted areas.

The city is laid out in local metres (see :mod:`coverage.demo.frame`). An arterial grid with a
spacing of about 850 m cuts the built-up area, a rough ellipse, into *superblocks*. Each
superblock gets one land use, more central ones being older neighbourhoods and commercial
centres, outer ones gated compounds, urban villages (城中村) and industrial parks:

``old``
    Older open neighbourhood: a street grid of about 110 m.
``compound``
    Gated compounds (小区): public streets cut the superblock into compounds of about 400 m,
    each with internal service roads reached only through one or two gates.
``village``
    Urban village: a fine mesh of alleys (about 20 m) with few links to the arterials.
``industrial``
    Industrial park: factories on a coarse internal grid and one dormitory area (宿舍区).
``commercial``
    Commercial centre with a pedestrian street.
``park``
    Park with footpaths.
``river``
    One row of superblocks holds the river, crossed only by a few bridges, with riverside
    promenades and a small island reached by no bridge.

The plan fixes the position of every street line; :mod:`coverage.demo.roads` draws the network
along them and :mod:`coverage.demo.buildings` fills the lots between them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from numpy.typing import NDArray

from coverage.demo.config import SizeSpec
from coverage.demo.names import COMPOUND_SUFFIXES, RIVER_NAME, place_names, road_words

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

BLOCK_KINDS = ("old", "compound", "village", "industrial", "commercial", "park", "river")
"""Land uses of a superblock."""
ZONE_KINDS = ("old", "compound", "village", "dorm", "factory", "commercial", "park")
"""Kinds of zones (areas with their own street pattern) inside superblocks."""

RIVER_ROW_HEIGHT = 600.0
"""Height (m) of the superblock row holding the river."""
MEDIAN = 8.0
"""Half the distance (m) between the carriageways of a dual carriageway."""

# land-use probabilities by normalised distance from the centre (inner, middle, outer band)
_BANDS = (0.35, 0.7)
_MIX = {
    0: {"old": 0.55, "commercial": 0.22, "village": 0.18, "park": 0.05},
    1: {"compound": 0.42, "village": 0.2, "old": 0.14, "commercial": 0.06, "park": 0.06,
        "industrial": 0.12},
    2: {"industrial": 0.38, "village": 0.24, "compound": 0.26, "park": 0.12},
}
_MINIMUM = {"park": 1, "commercial": 1, "industrial": 2, "village": 2, "compound": 1, "old": 1}


@dataclass
class Zone:
    """An area with one street pattern inside a superblock.

    Attributes
    ----------
    kind
        One of :data:`ZONE_KINDS`.
    name
        Chinese name (``樟坑村``, ``樟坑花园``, ``樟坑工业园宿舍区`` …).
    block
        Index of the superblock in :attr:`Layout.blocks`.
    x0, x1, y0, y1
        Extent (local m).
    xl, yl
        Positions of the street lines bounding the lots, west to east and south to north.
    planted
        Id of the planted under-served area this zone is, else ``""``.
    outer
        ``(x0, x1, y0, y1)`` of the streets around a gated compound, else ``None``.
    """

    kind: str
    name: str
    block: int
    x0: float
    x1: float
    y0: float
    y1: float
    xl: FloatArray
    yl: FloatArray
    planted: str = ""
    outer: tuple[float, float, float, float] | None = None

    @property
    def polygon(self) -> shapely.Polygon:
        """The zone's rectangle."""
        return shapely.box(self.x0, self.y0, self.x1, self.y1)


@dataclass
class Block:
    """A superblock between four arterial lines.

    Attributes
    ----------
    j, i
        Row (south to north) and column (west to east) in the arterial grid.
    kind
        One of :data:`BLOCK_KINDS`.
    name
        Two-character place name the block's zones are named after.
    x0, x1, y0, y1
        Extent between the bounding carriageways (local m).
    left, right, bottom, top
        Ids of the bounding arterial lines (vertical ids for left/right, horizontal for
        bottom/top, see :class:`Lines`).
    xcuts, ycuts
        Positions of internal public streets (compounds and industrial parks).
    zones
        Indices of the block's zones in :attr:`Layout.zones`.
    """

    j: int
    i: int
    kind: str
    name: str
    x0: float
    x1: float
    y0: float
    y1: float
    left: int
    right: int
    bottom: int
    top: int
    xcuts: FloatArray = field(default_factory=lambda: np.zeros(0))
    ycuts: FloatArray = field(default_factory=lambda: np.zeros(0))
    zones: list[int] = field(default_factory=list)


@dataclass
class Lines:
    """Arterial lines of one orientation (vertical: constant x; horizontal: constant y).

    Attributes
    ----------
    pos
        The constant coordinate of each line.
    highway
        OSM ``highway`` value of each line.
    name
        Street name of each line.
    direction
        ``0`` two-way, ``+1`` one-way towards increasing coordinate, ``-1`` towards decreasing.
    base
        Index of the arterial grid line each line belongs to (a dual carriageway is two lines
        with the same base).
    """

    pos: FloatArray
    highway: list[str]
    name: list[str]
    direction: IntArray
    base: IntArray


@dataclass
class River:
    """The river: a meandering band with a widening around a small island.

    Attributes
    ----------
    mid, amplitude, wavelength, phase
        Centre line ``y = mid + amplitude * sin(2 pi x / wavelength + phase)``.
    island_x
        Position of the island along the river.
    x_start, x_end
        Extent of the riverside promenades.
    name
        Chinese name.
    """

    mid: float
    amplitude: float
    wavelength: float
    phase: float
    island_x: float
    x_start: float
    x_end: float
    name: str = RIVER_NAME
    base_half_width: float = 75.0
    bump: float = 95.0
    bump_sigma: float = 230.0
    promenade_offset: float = 20.0

    def centre(self, x: FloatArray) -> FloatArray:
        """Return the y of the river's centre line at ``x``."""
        return self.mid + self.amplitude * np.sin(2 * np.pi * x / self.wavelength + self.phase)

    def half_width(self, x: FloatArray) -> FloatArray:
        """Return the river's half-width at ``x``."""
        return self.base_half_width + self.bump * np.exp(
            -(((x - self.island_x) / self.bump_sigma) ** 2)
        )

    def north(self, x: FloatArray) -> FloatArray:
        """Return the y of the northern promenade at ``x``."""
        return self.centre(x) + self.half_width(x) + self.promenade_offset

    def south(self, x: FloatArray) -> FloatArray:
        """Return the y of the southern promenade at ``x``."""
        return self.centre(x) - self.half_width(x) - self.promenade_offset

    def island(self) -> shapely.Polygon:
        """Return the island, an ellipse in the widest part of the river."""
        t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        cy = float(self.centre(np.array([self.island_x]))[0])
        return shapely.Polygon(np.column_stack([self.island_x + 110 * np.cos(t),
                                                cy + 45 * np.sin(t)]))

    def polygon(self, x_min: float, x_max: float) -> shapely.Polygon:
        """Return the water surface between ``x_min`` and ``x_max`` (the island is a hole)."""
        x = np.arange(x_min, x_max + 20.0, 20.0)
        c, w = self.centre(x), self.half_width(x)
        ring = np.concatenate([np.column_stack([x, c + w]), np.column_stack([x, c - w])[::-1]])
        return shapely.Polygon(ring, holes=[shapely.get_exterior_ring(self.island()).coords])


@dataclass
class PlantedArea:
    """An area planted as under-served: no service site within a long walk.

    Attributes
    ----------
    area_id
        ``U1``, ``U2`` …
    kind
        ``urban_village`` or ``dormitory``.
    name, name_en
        Names.
    zone
        Index of the zone in :attr:`Layout.zones`.
    """

    area_id: str
    kind: str
    name: str
    name_en: str
    zone: int


@dataclass
class Layout:
    """The plan of the city (all coordinates in local metres).

    Attributes
    ----------
    spec
        The size preset.
    xs, ys
        Base arterial grid lines.
    kept
        ``(rows, columns)`` mask of superblocks inside the city.
    kinds
        ``(rows, columns)`` land use of every superblock (``""`` outside the city).
    river_row
        Row index of the river's superblock row.
    vlines, hlines
        Vertical and horizontal arterial lines.
    blocks, zones
        Superblocks inside the city and their zones.
    river
        The river.
    bridge_lines
        Ids of the vertical arterial lines that cross the river.
    footbridge_x
        Position of the pedestrian bridge.
    connector_x
        Positions of the paths linking the promenades to the riverside roads.
    kept_area
        Union of the kept superblocks (arterials included).
    boundary
        The city boundary: the kept area with a margin.
    planted
        The planted under-served areas.
    """

    spec: SizeSpec
    xs: FloatArray
    ys: FloatArray
    kept: NDArray[np.bool_]
    kinds: NDArray[np.str_]
    river_row: int
    vlines: Lines
    hlines: Lines
    blocks: list[Block]
    zones: list[Zone]
    river: River
    bridge_lines: list[int]
    footbridge_x: float
    connector_x: FloatArray
    kept_area: shapely.Polygon
    boundary: shapely.Polygon
    planted: list[PlantedArea]

    def zone_polygons(self) -> NDArray[np.object_]:
        """Return the rectangles of all zones."""
        z = self.zones
        return shapely.box([q.x0 for q in z], [q.y0 for q in z], [q.x1 for q in z],
                           [q.y1 for q in z])


def _positions(
    a: float, b: float, spacing: float, rng: np.random.Generator, *, jitter: float = 0.15,
    ends: bool = False,
) -> FloatArray:
    """Street positions between ``a`` and ``b`` about ``spacing`` apart (with the ends if asked)."""
    n = max(round((b - a) / spacing), 1)
    t = np.linspace(a, b, n + 1)
    if n > 1:
        t[1:-1] += rng.uniform(-jitter, jitter, n - 1) * (b - a) / n
    return t if ends else t[1:-1]


def _grid(spec: SizeSpec, rng: np.random.Generator) -> tuple[FloatArray, FloatArray, int]:
    nx = max(round(2 * spec.half_x / spec.block), 4)
    ny = max(round(2 * spec.half_y / spec.block), 4)
    widths = spec.block * (1 + rng.uniform(-0.1, 0.1, nx))
    heights = spec.block * (1 + rng.uniform(-0.1, 0.1, ny))
    river_row = round(ny * 0.38)
    heights[river_row] = RIVER_ROW_HEIGHT
    xs = np.concatenate([[0.0], np.cumsum(widths)])
    ys = np.concatenate([[0.0], np.cumsum(heights)])
    return np.round(xs - xs[-1] / 2, 1), np.round(ys - ys[-1] / 2, 1), river_row


def _kept(spec: SizeSpec, xs: FloatArray, ys: FloatArray, rng: np.random.Generator) -> NDArray:
    cx = (xs[:-1] + xs[1:]) / 2
    cy = (ys[:-1] + ys[1:]) / 2
    r2 = (cx[None, :] / spec.half_x) ** 2 + (cy[:, None] / spec.half_y) ** 2
    kept = r2 <= 1 + rng.uniform(-0.15, 0.15, r2.shape)
    # fill each row between its first and last kept superblock: no holes, no notches in a row
    cols = np.arange(kept.shape[1])
    first = np.where(kept.any(1), kept.argmax(1), kept.shape[1])
    last = np.where(kept.any(1), kept.shape[1] - 1 - kept[:, ::-1].argmax(1), -1)
    return (cols[None, :] >= first[:, None]) & (cols[None, :] <= last[:, None])


def _edge_cells(kept: NDArray) -> NDArray:
    padded = np.pad(kept, 1)
    inner = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return kept & ~inner


def _kinds(kept: NDArray, xs: FloatArray, ys: FloatArray, spec: SizeSpec, river_row: int,
           rng: np.random.Generator) -> NDArray[np.str_]:
    cx = (xs[:-1] + xs[1:]) / 2
    cy = (ys[:-1] + ys[1:]) / 2
    r = np.sqrt((cx[None, :] / spec.half_x) ** 2 + (cy[:, None] / spec.half_y) ** 2)
    band = np.digitize(r, _BANDS)
    kinds = np.full(kept.shape, "", dtype="<U10")
    for b, mix in _MIX.items():
        mask = kept & (band == b)
        p = np.array(list(mix.values()))
        kinds[mask] = rng.choice(list(mix), size=int(mask.sum()), p=p / p.sum())
    kinds[river_row][kept[river_row]] = "river"
    return kinds


def _arterials(xs: FloatArray, ys: FloatArray, river_row: int, rng: np.random.Generator,
               ) -> tuple[Lines, Lines, IntArray, IntArray, IntArray, IntArray]:
    """Build the arterial lines; return them and, per base line, the ids on each side."""
    dual_col = int(np.argmin(np.abs(xs[1:-1]))) + 1
    allowed = [j for j in range(1, len(ys) - 1) if j not in (river_row, river_row + 1)]
    dual_row = min(allowed, key=lambda j: abs(ys[j] - 0.3 * ys[-1]))
    words = road_words(rng)

    def build(pos: FloatArray, dual: int, forward_low: int, kind: str,
              special: dict[int, str]) -> tuple[Lines, IntArray, IntArray]:
        p, hw, nm, dr, base, low, high = [], [], [], [], [], [], []
        for k, x in enumerate(pos):
            highway = "primary" if (k == dual or k % 2 == 0) else "secondary"
            name = special.get(k) or words.pop() + ("大道" if highway == "primary" and
                                                   kind == "h" else "路")
            if k == dual:
                ids = [len(p), len(p) + 1]
                p += [x - MEDIAN, x + MEDIAN]
                dr += [-forward_low, forward_low]
                hw += [highway] * 2
                nm += [name] * 2
                base += [k, k]
            else:
                ids = [len(p), len(p)]
                p.append(x)
                dr.append(0)
                hw.append(highway)
                nm.append(name)
                base.append(k)
            low.append(ids[0])
            high.append(ids[1])
        lines = Lines(np.array(p), hw, nm, np.array(dr, dtype=np.int64),
                      np.array(base, dtype=np.int64))
        return lines, np.array(low), np.array(high)

    # right-hand traffic: the eastern carriageway runs north, the southern one runs east
    vlines, v_low, v_high = build(xs, dual_col, 1, "v", {})
    special = {river_row: "滨江南路", river_row + 1: "滨江北路"}
    hlines, h_low, h_high = build(ys, dual_row, -1, "h", special)
    return vlines, hlines, v_low, v_high, h_low, h_high


def _zone_blocks(block: Block, index: int, spec: SizeSpec, rng: np.random.Generator,
                 ) -> list[Zone]:
    x0, x1, y0, y1 = block.x0, block.x1, block.y0, block.y1
    kind, name = block.kind, block.name
    if kind in ("old", "commercial"):
        spacing = 110.0 if kind == "old" else 90.0
        label = name + ("" if kind == "old" else "商业中心")
        return [Zone(kind, label, index, x0, x1, y0, y1,
                     _positions(x0, x1, spacing, rng, ends=True),
                     _positions(y0, y1, spacing, rng, ends=True))]
    if kind == "village":
        s = spec.village_spacing
        return [Zone("village", name + "村", index, x0, x1, y0, y1,
                     _positions(x0 + 12, x1 - 12, s, rng, jitter=0.2, ends=True),
                     _positions(y0 + 12, y1 - 12, s, rng, jitter=0.2, ends=True))]
    if kind == "park":
        return [Zone("park", name + "公园", index, x0, x1, y0, y1,
                     _positions(x0 + 30, x1 - 30, 75, rng, jitter=0.1, ends=True),
                     _positions(y0 + 30, y1 - 30, 75, rng, jitter=0.1, ends=True))]
    if kind == "compound":
        block.xcuts = _positions(x0, x1, 400, rng, jitter=0.12)
        block.ycuts = _positions(y0, y1, 400, rng, jitter=0.12)
        bx = np.concatenate([[x0], block.xcuts, [x1]])
        by = np.concatenate([[y0], block.ycuts, [y1]])
        suffixes = rng.permutation(COMPOUND_SUFFIXES)
        zones = []
        for a in range(len(by) - 1):
            for b in range(len(bx) - 1):
                cx0, cx1, cy0, cy1 = bx[b] + 14, bx[b + 1] - 14, by[a] + 14, by[a + 1] - 14
                label = name + suffixes[len(zones) % len(suffixes)]
                zones.append(Zone("compound", label, index, cx0, cx1, cy0, cy1,
                                  _positions(cx0, cx1, 50, rng, jitter=0.05, ends=True),
                                  _positions(cy0, cy1, 50, rng, jitter=0.05, ends=True),
                                  outer=(bx[b], bx[b + 1], by[a], by[a + 1])))
        return zones
    if kind == "industrial":
        block.xcuts = _positions(x0, x1, 300, rng, jitter=0.1)
        block.ycuts = _positions(y0, y1, 300, rng, jitter=0.1)
        bx = np.concatenate([[x0], block.xcuts, [x1]])
        by = np.concatenate([[y0], block.ycuts, [y1]])
        # the dormitory area takes the corner cell farthest from the city centre
        corners = [(0, 0), (0, len(bx) - 2), (len(by) - 2, 0), (len(by) - 2, len(bx) - 2)]
        dist = [np.hypot((bx[b] + bx[b + 1]) / 2, (by[a] + by[a + 1]) / 2) for a, b in corners]
        dorm = corners[int(np.argmax(dist))]
        park = name + "工业园"
        zones = []
        for a in range(len(by) - 1):
            for b in range(len(bx) - 1):
                cx0, cx1, cy0, cy1 = bx[b], bx[b + 1], by[a], by[a + 1]
                if (a, b) == dorm:
                    zones.append(Zone("dorm", park + "宿舍区", index, cx0, cx1, cy0, cy1,
                                      _positions(cx0, cx1, 38, rng, jitter=0.1, ends=True),
                                      _positions(cy0, cy1, 38, rng, jitter=0.1, ends=True)))
                else:
                    zones.append(Zone("factory", park, index, cx0, cx1, cy0, cy1,
                                      np.array([cx0, cx1]), np.array([cy0, cy1])))
        return zones
    return []


def _bridges(kept: NDArray, xs: FloatArray, river_row: int, vlines: Lines, n: int,
             ) -> tuple[list[int], float, float, float, float]:
    jr = river_row
    cols = np.arange(1, len(xs) - 1)
    ok = (kept[jr, cols - 1] & kept[jr, cols]
          & (kept[jr + 1, cols - 1] | kept[jr + 1, cols])
          & (kept[jr - 1, cols - 1] | kept[jr - 1, cols]))
    eligible = cols[ok]
    if len(eligible) < n + 1:
        msg = f"the river row has {len(eligible)} places for {n} bridges; use a larger city"
        raise ValueError(msg)
    picks = sorted({int(eligible[round(q * (len(eligible) - 1))])
                    for q in np.linspace(0.22, 0.78, n)})
    bridge_lines = [k for k in range(len(vlines.pos)) if int(vlines.base[k]) in picks]
    row = np.flatnonzero(kept[jr])
    x_start, x_end = xs[row[0]] + 40.0, xs[row[-1] + 1] - 40.0
    # footbridge: centre of the river cell nearest the middle of the two central bridges
    bx = np.array([xs[c] for c in picks])
    mids = (bx[:-1] + bx[1:]) / 2
    k = int(np.argmin(np.abs(mids)))
    cells = np.arange(picks[k], picks[k + 1])
    centres = (xs[cells] + xs[cells + 1]) / 2
    footbridge_x = float(centres[np.argmin(np.abs(centres - mids[k]))])
    # island: the river cell centre farthest from every crossing
    cells = row[1:-1]
    centres = (xs[cells] + xs[cells + 1]) / 2
    crossings = np.append(bx, footbridge_x)
    island_x = float(centres[np.argmax(np.abs(centres[:, None] - crossings[None]).min(1))])
    return bridge_lines, footbridge_x, island_x, float(x_start), float(x_end)


def _plant(kept: NDArray, kinds: NDArray, xs: FloatArray, ys: FloatArray, river_row: int,
           bridge_x: FloatArray) -> tuple[tuple[int, int], tuple[int, int]]:
    """Choose the superblocks of the planted urban village and dormitory area."""
    cx = (xs[:-1] + xs[1:]) / 2
    cy = (ys[:-1] + ys[1:]) / 2
    gx, gy = np.meshgrid(cx, cy)
    edge = _edge_cells(kept) & (kinds != "river")
    rows = np.arange(kept.shape[0])[:, None]
    far = np.abs(gx[..., None] - bridge_x[None, None]).min(-1)
    score = np.where(edge & (rows < river_row), far + 0.5 * np.hypot(gx, gy), -np.inf)
    village = np.unravel_index(int(np.argmax(score)), score.shape)
    away = np.hypot(gx - gx[village], gy - gy[village])
    score = np.where(edge & (rows > river_row + 1), away + 0.5 * np.hypot(gx, gy), -np.inf)
    dorm = np.unravel_index(int(np.argmax(score)), score.shape)
    return (int(village[0]), int(village[1])), (int(dorm[0]), int(dorm[1]))


def _ensure_minimum(kinds: NDArray, fixed: list[tuple[int, int]], rng: np.random.Generator,
                    ) -> None:
    for kind, count in _MINIMUM.items():
        while (kinds == kind).sum() < count:
            counts = {k: int((kinds == k).sum()) for k in _MINIMUM}
            donor = max(counts, key=lambda k: counts[k])
            cells = [c for c in zip(*np.nonzero(kinds == donor), strict=True)
                     if (int(c[0]), int(c[1])) not in fixed]
            j, i = cells[int(rng.integers(len(cells)))]
            kinds[j, i] = kind


def build_layout(spec: SizeSpec, rng: np.random.Generator) -> Layout:
    """Plan the city.

    Parameters
    ----------
    spec
        The size preset.
    rng
        Random generator.

    Returns
    -------
    Layout
        The plan: arterial lines, superblocks and zones, river, bridges and planted areas.
    """
    xs, ys, jr = _grid(spec, rng)
    kept = _kept(spec, xs, ys, rng)
    kinds = _kinds(kept, xs, ys, spec, jr, rng)
    vlines, hlines, v_low, v_high, h_low, h_high = _arterials(xs, ys, jr, rng)
    bridge_lines, footbridge_x, island_x, x_start, x_end = _bridges(
        kept, xs, jr, vlines, spec.bridges)
    bridge_x = np.unique(xs[vlines.base[bridge_lines]])
    village, dorm = _plant(kept, kinds, xs, ys, jr, bridge_x)
    kinds[village] = "village"
    kinds[dorm] = "industrial"
    _ensure_minimum(kinds, [village, dorm], rng)

    names = place_names(rng, int(kept.sum()))
    blocks: list[Block] = []
    zones: list[Zone] = []
    planted: list[PlantedArea] = []
    for j, i in zip(*np.nonzero(kept), strict=True):
        j, i = int(j), int(i)
        block = Block(j, i, str(kinds[j, i]), names[len(blocks)],
                      float(vlines.pos[v_high[i]]), float(vlines.pos[v_low[i + 1]]),
                      float(hlines.pos[h_high[j]]), float(hlines.pos[h_low[j + 1]]),
                      int(v_high[i]), int(v_low[i + 1]), int(h_high[j]), int(h_low[j + 1]))
        new = _zone_blocks(block, len(blocks), spec, rng)
        block.zones = list(range(len(zones), len(zones) + len(new)))
        for z in new:
            if (j, i) == village and z.kind == "village":
                z.planted = "U1"
                planted.append(PlantedArea("U1", "urban_village", z.name + "（城中村）",
                                           "urban village south of the river", len(zones)))
            if (j, i) == dorm and z.kind == "dorm":
                z.planted = "U2"
                planted.append(PlantedArea("U2", "dormitory", z.name,
                                           "industrial-park dormitory area", len(zones)))
            zones.append(z)
        blocks.append(block)

    river = River(mid=float((ys[jr] + ys[jr + 1]) / 2), amplitude=55.0,
                  wavelength=float(rng.uniform(2800, 4200)),
                  phase=float(rng.uniform(0, 2 * np.pi)), island_x=island_x,
                  x_start=x_start, x_end=x_end)
    row = np.flatnonzero(kept[jr])
    crossings = np.append(bridge_x, footbridge_x)
    connector_x = np.concatenate([xs[row[1]:row[-1] + 1], (xs[row[1:-1]] + xs[row[1:-1] + 1]) / 2])
    connector_x = np.unique(connector_x[np.abs(connector_x[:, None] - crossings).min(1) > 60])

    boxes = shapely.box(xs[:-1][None, :], ys[:-1][:, None], xs[1:][None, :], ys[1:][:, None])
    kept_area = shapely.union_all(boxes[kept], grid_size=0.01)
    boundary = shapely.simplify(shapely.buffer(kept_area, 80.0, quad_segs=4), 2.0)
    return Layout(spec, xs, ys, kept, kinds, jr, vlines, hlines, blocks, zones, river,
                  bridge_lines, footbridge_x, connector_x, kept_area, boundary, planted)
