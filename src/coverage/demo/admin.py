"""Administrative units of the demo city: districts (区), street offices (街道), communities (社区).

Community polygons are the Voronoi cells of seeds spread by k-means over where people live
(and, less, over the whole built-up area), clipped to the city boundary, so that they tile it
exactly, small where people crowd and large at the edge. Districts and street offices group
neighbouring communities. Ids follow the 12-digit statistical pattern ``441900SSSCCC``
(Dongguan's division code 441900, street office SSS, community CCC).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.cluster.vq import kmeans2
from scipy.optimize import linear_sum_assignment

from coverage.demo.buildings import Lots
from coverage.demo.layout import Layout
from coverage.demo.names import (
    DISTRICTS,
    MORE_DISTRICTS,
    STREET_ROOTS,
    more_street_roots,
    place_names,
)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

CITY_CODE = "441900"
"""GB/T 2260 code of Dongguan, the prefix of community ids."""


@dataclass
class Admin:
    """Communities with their district and street office (local coordinates).

    Attributes
    ----------
    polygons
        Community polygons.
    community_id, name, district, street
        Attributes of each community.
    district_index, street_index
        Integer district and street office of each community.
    seeds
        ``(n, 2)`` Voronoi seeds.
    """

    polygons: NDArray[np.object_]
    community_id: NDArray[np.str_]
    name: NDArray[np.str_]
    district: NDArray[np.str_]
    street: NDArray[np.str_]
    district_index: IntArray
    street_index: IntArray
    seeds: FloatArray

    def __len__(self) -> int:
        return len(self.polygons)

    def locate(self, x: FloatArray, y: FloatArray) -> IntArray:
        """Return the index of the community holding each point (``-1`` outside them all).

        A point on a shared border goes to the community with the lower index.
        """
        tree = shapely.STRtree(self.polygons)
        points = shapely.points(x, y)
        pt, poly = tree.query(points, predicate="intersects")
        out = np.full(len(points), len(self.polygons), dtype=np.int64)
        np.minimum.at(out, pt, poly)
        out[out == len(self.polygons)] = -1
        return out


def _seeds(layout: Layout, lots: Lots, n: int, rng: np.random.Generator) -> FloatArray:
    weight = lots.w_mig + lots.w_reg
    pick = rng.choice(len(lots.x), size=8000, p=weight / weight.sum())
    dense = np.column_stack([lots.x[pick], lots.y[pick]])
    x0, y0, x1, y1 = shapely.bounds(layout.kept_area)
    cand = np.column_stack([rng.uniform(x0, x1, 30000), rng.uniform(y0, y1, 30000)])
    shapely.prepare(layout.kept_area)
    cand = cand[shapely.contains_xy(layout.kept_area, cand[:, 0], cand[:, 1])][:8000]
    data = np.concatenate([dense, cand])
    if n <= _SCIPY_PLUS_PLUS:
        centroids, _ = kmeans2(data, n, iter=20, minit="++", seed=rng)
    else:
        centroids, _ = kmeans2(data, _plus_plus(data, n, rng), iter=20, minit="matrix")
    return np.unique(np.round(centroids, 1), axis=0)


_SCIPY_PLUS_PLUS = 720
"""Most seeds drawn with SciPy's k-means++ start, which takes time quadratic in their number;
more (the city of thousands of communities) start from :func:`_plus_plus`."""


def _plus_plus(data: FloatArray, k: int, rng: np.random.Generator) -> FloatArray:
    """Draw ``k`` k-means++ starting centres, each point's distance to them kept as they come.

    The same draw as SciPy's ``minit="++"`` (each new centre chosen with probability
    proportional to the squared distance to the nearest one before it), in time linear in
    ``k``.
    """
    centres = np.empty((k, data.shape[1]))
    centres[0] = data[rng.integers(len(data))]
    d2 = ((data - centres[0]) ** 2).sum(1)
    for i in range(1, k):
        cum = np.cumsum(d2 / d2.sum())
        centres[i] = data[min(int(np.searchsorted(cum, rng.uniform())), len(data) - 1)]
        d2 = np.minimum(d2, ((data - centres[i]) ** 2).sum(1))
    return centres


def _tile(boundary: shapely.Polygon, seeds: FloatArray) -> NDArray[np.object_]:
    """Voronoi cells of the seeds clipped to the boundary, every one a single polygon."""
    cells = shapely.get_parts(shapely.voronoi_polygons(
        shapely.multipoints(seeds), extend_to=boundary, ordered=True))
    polys = shapely.intersection(cells, boundary, grid_size=0.01)
    orphans = []
    for k, poly in enumerate(polys):
        parts = shapely.get_parts(poly)
        parts = parts[shapely.get_type_id(parts) == 3]
        if len(parts) > 1:
            order = np.argsort(-shapely.area(parts))
            polys[k] = parts[order[0]]
            orphans += list(parts[order[1:]])
    for orphan in orphans:
        shared = shapely.length(shapely.intersection(shapely.boundary(polys),
                                                     shapely.boundary(orphan)))
        k = int(np.argmax(shared))
        polys[k] = shapely.union(polys[k], orphan, grid_size=0.01)
    return polys


def _bearing_names(centres: FloatArray) -> list[str]:
    """Name districts after their bearing from the city centre; the central one 莞城区.

    A city of more districts than :data:`~coverage.demo.names.DISTRICTS` names also draws on
    :data:`~coverage.demo.names.MORE_DISTRICTS`.
    """
    n = len(centres)
    table = DISTRICTS if n <= len(DISTRICTS) else (*DISTRICTS, *MORE_DISTRICTS)
    central = int(np.argmin(np.hypot(centres[:, 0], centres[:, 1])))
    names = [name for name, bearing in table if bearing is not None]
    bearings = np.array([bearing for _, bearing in table if bearing is not None])
    others = [k for k in range(n) if k != central]
    angle = np.degrees(np.arctan2(centres[others, 1], centres[others, 0])) % 360
    diff = np.abs((angle[:, None] - bearings[None, :] + 180) % 360 - 180)
    rows, cols = linear_sum_assignment(diff)
    out = [""] * n
    out[central] = DISTRICTS[0][0]
    for r, c in zip(rows, cols, strict=True):
        out[others[r]] = names[c]
    return out


def build_admin(layout: Layout, lots: Lots, rng: np.random.Generator) -> Admin:
    """Draw communities, group them into street offices and districts.

    Parameters
    ----------
    layout
        The plan.
    lots
        Residential lots (seeds follow where people live).
    rng
        Random generator.

    Returns
    -------
    Admin
        Communities ordered by district, street office and position, with their ids.
    """
    spec = layout.spec
    seeds = _seeds(layout, lots, spec.communities, rng)
    polys = _tile(layout.boundary, seeds)
    centres = shapely.get_coordinates(shapely.point_on_surface(polys))
    d_cent, d_label = kmeans2(centres, spec.districts, iter=30, minit="++", seed=rng)
    d_names = _bearing_names(d_cent)
    # order districts: central first, then by bearing from the east, counter-clockwise
    angle = np.degrees(np.arctan2(d_cent[:, 1], d_cent[:, 0])) % 360
    angle[d_names.index(DISTRICTS[0][0])] = -1.0
    d_rank = np.argsort(np.argsort(angle))
    # taken from the end: the drawn roots first, then (a city of hundreds of street offices)
    # the fixed ones
    roots = [*more_street_roots(), *rng.permutation(STREET_ROOTS)]
    street_of = np.zeros(len(polys), dtype=np.int64)
    street_names: list[str] = []
    order_key = np.zeros(len(polys))
    for d in np.argsort(d_rank):
        members = np.flatnonzero(d_label == d)
        k = max(2, round(len(members) / 7))
        if len(members) <= k:
            s_label = np.arange(len(members))
        else:
            _, s_label = kmeans2(centres[members], k, iter=30, minit="++", seed=rng)
        # the street office nearest the district centre takes the district's name
        used = np.unique(s_label)
        s_mid = np.array([centres[members[s_label == s]].mean(0) for s in used])
        first = int(np.argmin(np.hypot(*(s_mid - d_cent[d]).T)))
        base = len(street_names)
        for rank, s in enumerate(np.argsort(np.hypot(*(s_mid - d_cent[d]).T))):
            root = d_names[d].removesuffix("区") if s == first else roots.pop()
            street_names.append(root + "街道")
            street_of[members[s_label == used[s]]] = base + rank
        order_key[members] = d_rank[d]
    # order: district, street office, then north to south and west to east
    order = np.lexsort((centres[:, 0], -centres[:, 1], street_of))
    polys, centres, street_of = polys[order], centres[order], street_of[order]
    seeds = seeds[order]
    district_of = np.array([int(order_key[o]) for o in order])
    d_by_rank = {int(d_rank[d]): d_names[d] for d in range(len(d_names))}
    ids = []
    counter: dict[int, int] = {}
    for s in street_of:
        counter[int(s)] = counter.get(int(s), 0) + 1
        ids.append(f"{CITY_CODE}{int(s) + 1:03d}{counter[int(s)]:03d}")
    names = [n + "社区" for n in place_names(rng, len(polys))]
    return Admin(
        polygons=polys,
        community_id=np.array(ids),
        name=np.array(names),
        district=np.array([d_by_rank[d] for d in district_of]),
        street=np.array([street_names[s] for s in street_of]),
        district_index=district_of,
        street_index=street_of,
        seeds=seeds,
    )
