"""Service sites of the demo city.

Every kind of service point in :data:`coverage.io.schema.SITE_KINDS` is placed the way the plan's
network is built: a technical service station (计划生育技术服务站) and a migrant service centre
(流动人口服务中心) in each district, a community health service centre (社区卫生服务中心) in each
street office, health stations (社区卫生服务站) and family-planning rooms (社区计生服务室) in some
communities and enterprise associations (企业计生协会) in industrial parks.

Three effects are planted. No site lies within :attr:`SizeSpec.underserved_distance_m` of a
planted under-served area; a few sites where migrants crowd get very few staff
(under-staffed); and service is unequal, as the plan finds it: in most districts community
sites stand among registered residents (gated compounds and older neighbourhoods, each lot
within :data:`NEAR_REACH_M` of a site), while urban villages and dormitory areas are served from
their edges (within :data:`EDGE_ROOM_REACH_M`), so that migrants live farther from a site and
reach fewer staff. The exceptions, :func:`equal_districts`, put their sites where migrants live
(each lot of an urban village or dormitory area within :data:`NEAR_REACH_M` of a site).
Candidate sites are drawn in :mod:`coverage.demo.candidates`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from coverage.demo.admin import Admin
from coverage.demo.buildings import Lots
from coverage.demo.config import SizeSpec
from coverage.demo.layout import Layout
from coverage.io.schema import SITE_KINDS

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

KIND_ORDER = tuple(SITE_KINDS)
"""Site kinds in output order."""
KIND_ZH = {kind: spellings[0] for kind, spellings in SITE_KINDS.items()}
"""Chinese name written for each kind."""
SERVICE_ZH = {
    "advocacy": "宣传倡导",
    "contraceptives": "免费药具",
    "pregnancy_check": "孕情环情检查",
    "prepregnancy": "孕前优生健康检查",
    "rh_check": "生殖保健检查",
    "rewards": "奖励优待",
}
"""Chinese name written for each service."""
KIND_SERVICES = {
    "technical_station": tuple(SERVICE_ZH),
    "health_centre": ("advocacy", "contraceptives", "pregnancy_check", "prepregnancy",
                      "rh_check"),
    "health_station": ("advocacy", "contraceptives", "pregnancy_check"),
    "fp_room": ("advocacy", "contraceptives", "rewards"),
    "migrant_centre": tuple(SERVICE_ZH),
    "enterprise_association": ("advocacy", "contraceptives"),
}
"""Services offered by each kind of site."""
KIND_STAFF = {
    "technical_station": (6.0, 8.0, 10.0, 12.0),
    "health_centre": (4.0, 5.0, 6.0, 8.0),
    "health_station": (1.5, 2.0, 2.5, 3.0),
    "fp_room": (1.0, 1.5, 2.0),
    "migrant_centre": (3.0, 4.0, 5.0),
    "enterprise_association": (0.5, 1.0, 1.5),
}
"""Staff (FTE) drawn for each kind of site."""
KIND_HOURS = {
    "technical_station": "周一至周五 08:30-12:00 14:30-17:30",
    "health_centre": "周一至周日 08:00-12:00 14:00-17:30",
    "health_station": "周一至周六 08:30-12:00 14:30-17:30",
    "fp_room": "周一至周五 09:00-12:00 15:00-18:00",
    "migrant_centre": "周一至周六 09:00-12:00 14:00-20:00",
    "enterprise_association": "周一至周五 12:00-13:30 18:00-20:00",
}
"""Opening hours of each kind of site."""
UNDERSTAFFED_STAFF = {"fp_room": 0.5, "health_station": 1.0, "health_centre": 1.0}
"""Staff (FTE) left at a planted under-staffed site."""
MIGRANT_QUARTERS = ("village", "dorm")
"""Lot kinds where migrants crowd: urban villages and factory dormitories."""
SETTLED_KINDS = ("old", "compound")
"""Zone kinds of the registered neighbourhoods."""
NEAR_REACH_M = 350.0
"""Straight-line distance (m) from every lot of the neighbourhoods a district serves first
(registered neighbourhoods; in the equal districts, migrant quarters) within which some site
stands."""
EDGE_ROOM_REACH_M = 650.0
"""Straight-line distance (m) from every lot of a migrant quarter within which some site must
stand, else a room is added at its edge (outside the equal districts)."""
EDGE_ROOM_FALLBACK_M = 650.0
"""An edge room stands on the registered lot nearest to the worst-served lot of the quarter
when that is within this distance (m), else on the nearest lot allowed for a site."""
DEMAND_RADIUS_M = 1000.0
"""Radius (m) within which migrants count as a site's demand when planting under-staffing."""


@dataclass
class Sites:
    """Existing service sites (local coordinates).

    Attributes
    ----------
    site_id, name, kind
        Identifier, Chinese name and canonical kind.
    x, y
        Position (local m).
    staff
        Staff in FTE.
    community
        Index of the community holding the site.
    demand
        Migrants living within :data:`DEMAND_RADIUS_M` (straight line).
    understaffed
        Indices of the planted under-staffed sites.
    equal_districts
        The districts planted as exceptions to unequal service (:func:`equal_districts`).
    """

    site_id: NDArray[np.str_]
    name: NDArray[np.str_]
    kind: NDArray[np.str_]
    x: FloatArray
    y: FloatArray
    staff: FloatArray
    community: IntArray
    demand: IntArray
    understaffed: IntArray
    equal_districts: IntArray

    def offers(self, service: str) -> NDArray[np.bool_]:
        """Return which sites offer ``service`` (a key of :data:`SERVICE_ZH`)."""
        return np.array([service in KIND_SERVICES[k] for k in self.kind])

    def services_zh(self) -> list[str]:
        """Return the services of each site in Chinese, separated by ``、``."""
        return ["、".join(SERVICE_ZH[s] for s in KIND_SERVICES[k]) for k in self.kind]

    def hours(self) -> list[str]:
        """Return the opening hours of each site."""
        return [KIND_HOURS[k] for k in self.kind]


def planted_distance(layout: Layout, x: FloatArray, y: FloatArray) -> FloatArray:
    """Return the straight-line distance (m) from each point to the nearest planted area.

    Parameters
    ----------
    layout
        The plan.
    x, y
        Points (local m).

    Returns
    -------
    numpy.ndarray
        Distances; ``inf`` when nothing is planted.
    """
    points = shapely.points(x, y)
    out = np.full(len(points), np.inf)
    for area in layout.planted:
        out = np.minimum(out, shapely.distance(points, layout.zones[area.zone].polygon))
    return out


def equal_districts(layout: Layout, lots: Lots, lot_community: IntArray, admin: Admin,
                    rng: np.random.Generator) -> IntArray:
    """Choose the districts planted as exceptions to the story of unequal service.

    In the other districts, community health stations, family-planning rooms and health
    centres stand in the neighbourhoods of registered residents, so that migrants live farther
    from them and reach fewer staff. In the chosen districts (:attr:`SizeSpec.equal_districts`,
    drawn among those holding no planted under-served area) they stand where migrants live.

    Returns
    -------
    numpy.ndarray
        Sorted district indices (:attr:`Admin.district_index`).
    """
    planted_zones = [a.zone for a in layout.planted]
    hit = np.unique(lot_community[np.isin(lots.zone, planted_zones)])
    pool = np.setdiff1d(np.unique(admin.district_index), admin.district_index[hit])
    n = min(layout.spec.equal_districts, len(pool))
    return np.sort(rng.choice(pool, size=n, replace=False)).astype(np.int64)


def _station_odds(lots: Lots, lot_community: IntArray, migrants: IntArray,
                  in_equal: NDArray[np.bool_], registered_per_migrant: float) -> FloatArray:
    """Relative chance of each community to have a health station or a family-planning room.

    Outside the equal districts it follows the community's share of registered residents (a
    community of migrants seldom has one); inside them its share of migrants. The mean is 1 in
    each group, so the spec's shares stay the average chances.
    """
    n = len(in_equal)
    w_reg = np.bincount(lot_community, weights=lots.w_reg, minlength=n)
    registered = w_reg / max(w_reg.sum(), 1e-9) * migrants.sum() * registered_per_migrant
    reg_share = registered / np.maximum(registered + migrants, 1e-9)
    share = np.where(in_equal, 1.0 - reg_share, reg_share)
    odds = np.ones(n)
    for group in (in_equal, ~in_equal):
        if group.any():
            odds[group] = share[group] / max(float(share[group].mean()), 1e-9)
    return np.minimum(odds, 1.8)


def _beside_planted(layout: Layout, lots: Lots) -> NDArray[np.bool_]:
    """Return which lots belong to a migrant quarter partly near a planted under-served area.

    Near: within :attr:`SizeSpec.underserved_distance_m`, where no site may stand.
    """
    near = planted_distance(layout, lots.x, lots.y) < layout.spec.underserved_distance_m
    zones = np.unique(lots.zone[near & np.isin(lots.kind, list(MIGRANT_QUARTERS))])
    planted = [a.zone for a in layout.planted]
    return np.isin(lots.zone, zones) & ~np.isin(lots.zone, planted)


def _gaps(x: FloatArray, y: FloatArray, px: FloatArray, py: FloatArray) -> FloatArray:
    """Return the straight-line distance from each point to the nearest site ``(px, py)``.

    The sites far from the points (beyond a box around them wide enough to hold every
    point's nearest one) are left out, which makes it fast in a city of thousands of sites;
    the distances are those of all sites, to the last bit.
    """
    if not len(px):
        return np.full(len(x), np.inf)
    x0, x1, y0, y1 = x.min(), x.max(), y.min(), y.max()
    reach = 1000.0
    while True:
        near = (px >= x0 - reach) & (px <= x1 + reach) & (py >= y0 - reach) & (py <= y1 + reach)
        if near.any():
            gap = np.hypot(x[:, None] - px[near][None], y[:, None] - py[near][None]).min(1)
            # a site outside the box lies farther than ``reach`` from every point
            if near.all() or gap.max() <= reach:
                return gap
        reach *= 2


def _zone_lots(lots: Lots, n_zones: int) -> list[IntArray]:
    """Return the lots of each zone, in ascending order."""
    order = np.argsort(lots.zone, kind="stable")
    bounds = np.searchsorted(lots.zone[order], np.arange(n_zones + 1))
    return [order[bounds[k]:bounds[k + 1]] for k in range(n_zones)]


def _nearest_lot(lots: Lots, mask: NDArray[np.bool_], x: float, y: float) -> int:
    """Return the index of the lot in ``mask`` nearest to ``(x, y)``."""
    idx = np.flatnonzero(mask)
    return int(idx[np.argmin(np.hypot(lots.x[idx] - x, lots.y[idx] - y))])


def _edge_rooms(layout: Layout, lots: Lots, eligible: NDArray[np.bool_],
                settled: NDArray[np.bool_], lot_equal: NDArray[np.bool_], picked: list[int],
                ) -> list[tuple[int, str]]:
    """Family-planning rooms at the edge of the migrant quarters that no site stands near.

    Outside the equal districts no community site stands in an urban village or a dormitory
    area. While a lot of such a quarter lies farther than :data:`EDGE_ROOM_REACH_M` (straight
    line) from every site, a room is added on the registered lot nearest to it (or, when none
    is that near, on the nearest lot allowed for a site), so that the quarter's migrants walk
    farther than their registered neighbours but not as far as in the planted under-served
    areas. A quarter partly within :attr:`SizeSpec.underserved_distance_m` of a planted area
    gets no room: sites may stand in it as in the equal districts (:func:`_beside_planted`).
    """
    px, py = lots.x[picked], lots.y[picked]
    out = []
    beside = _beside_planted(layout, lots)
    for zone, mine in zip(layout.zones, _zone_lots(lots, len(layout.zones)), strict=True):
        if zone.kind not in MIGRANT_QUARTERS or zone.planted or lot_equal[mine].all():
            continue
        if beside[mine].any():
            continue  # next to a planted under-served area: served as in the equal districts
        for n in range(1, 5):  # a few rooms at most per quarter
            gap = _gaps(lots.x[mine], lots.y[mine], px, py)
            if gap.max() <= EDGE_ROOM_REACH_M:
                break
            far = mine[int(np.argmax(gap))]
            lot = _nearest_lot(lots, settled, lots.x[far], lots.y[far])
            if np.hypot(lots.x[lot] - lots.x[far],
                        lots.y[lot] - lots.y[far]) > EDGE_ROOM_FALLBACK_M:
                lot = _nearest_lot(lots, eligible, lots.x[far], lots.y[far])
            if lot in picked or any(lot == o for o, _ in out):
                break  # the best place is taken: nothing nearer can be found
            out.append((lot, f"{zone.name}计生服务室" + ("" if n == 1 else f"{n}")))
            px, py = np.append(px, lots.x[lot]), np.append(py, lots.y[lot])
    return out


def _near_stations(layout: Layout, lots: Lots, kinds: tuple[str, ...],
                   hosts: NDArray[np.bool_], served: NDArray[np.bool_], picked: list[int],
                   ) -> list[tuple[int, str]]:
    """Health stations inside the neighbourhoods a district serves first.

    Every lot of a zone of ``kinds`` whose lots are ``served`` gets a site within
    :data:`NEAR_REACH_M` (straight line): a station is added on the zone's ``hosts`` lot
    nearest to its worst-served lot until that holds (at most five per zone).
    """
    px, py = lots.x[picked], lots.y[picked]
    out: list[tuple[int, str]] = []
    for zone, in_zone in zip(layout.zones, _zone_lots(lots, len(layout.zones)), strict=True):
        if zone.kind not in kinds:
            continue
        mine = in_zone[served[in_zone]]
        own = np.zeros(len(lots.x), dtype=bool)
        own[mine] = hosts[mine]
        if not len(mine) or not own.any():
            continue
        for n in range(1, 6):
            gap = _gaps(lots.x[mine], lots.y[mine], px, py)
            if gap.max() <= NEAR_REACH_M:
                break
            far = mine[int(np.argmax(gap))]
            lot = _nearest_lot(lots, own, lots.x[far], lots.y[far])
            if lot in picked or any(lot == o for o, _ in out):
                break
            out.append((lot, f"{zone.name}卫生服务站" + ("" if n == 1 else f"{n}")))
            px, py = np.append(px, lots.x[lot]), np.append(py, lots.y[lot])
    return out


def place_sites(layout: Layout, lots: Lots, lot_community: IntArray, admin: Admin,
                migrant_xy: FloatArray, migrant_community: IntArray,
                rng: np.random.Generator) -> Sites:
    """Place the service sites; plant the under-staffed ones and the unequal service.

    See the module docstring for the planted effects.

    Parameters
    ----------
    layout
        The plan.
    lots
        Residential lots; sites stand on lots.
    lot_community
        Community index of each lot.
    admin
        Communities.
    migrant_xy
        ``(n, 2)`` migrant residences (local m), for the demand of each site.
    migrant_community
        Community index of each migrant.
    rng
        Random generator.

    Returns
    -------
    Sites
        The sites, none within the under-served distance of a planted area.
    """
    spec = layout.spec
    eligible = np.isin(lots.kind, ["old", "compound", "village", "commercial", "dorm"])
    eligible &= planted_distance(layout, lots.x, lots.y) > spec.underserved_distance_m + 30
    migrants = np.bincount(migrant_community, minlength=len(admin))
    equal = equal_districts(layout, lots, lot_community, admin, rng)
    # Outside the equal districts, community services stand in the registered neighbourhoods,
    # and in the migrant quarters next to a planted area (as everywhere in the equal ones), so
    # that the planted areas stay the only places far from every site.
    settled = eligible & (~np.isin(lots.kind, list(MIGRANT_QUARTERS))
                          | _beside_planted(layout, lots))
    ground = _Ground(lot_community, eligible, settled, np.isin(admin.district_index, equal))
    picks: dict[str, list[tuple[int, str]]] = {k: [] for k in KIND_ORDER}
    picks["technical_station"], picks["migrant_centre"] = _district_sites(
        lots, admin, ground, migrants)
    picks["health_centre"] = _street_sites(lots, admin, ground)
    picks["health_station"], picks["fp_room"] = _community_sites(
        lots, admin, ground, migrants, spec, rng)
    # each district serves its own first: registered neighbourhoods, or where migrants live
    lot_equal = ground.in_equal[lot_community]
    for kinds, served in ((SETTLED_KINDS, ~lot_equal), (MIGRANT_QUARTERS, lot_equal)):
        picks["health_station"] += _near_stations(layout, lots, kinds, eligible, served,
                                                  _picked_lots(picks))
    picks["fp_room"] += _edge_rooms(layout, lots, eligible, settled, lot_equal,
                                    _picked_lots(picks))
    x, y, names, kind_arr = _site_points(layout, lots, picks, rng)
    staff = _site_staff(kind_arr, rng)
    community = admin.locate(x, y)
    demand = np.asarray(cKDTree(migrant_xy).query_ball_point(
        np.column_stack([x, y]), r=DEMAND_RADIUS_M, return_length=True), dtype=np.int64)
    chosen = _understaffed(kind_arr, demand, spec.understaffed)
    for k in chosen:
        staff[k] = UNDERSTAFFED_STAFF[str(kind_arr[k])]
    return Sites(
        site_id=np.array([f"S{k + 1:04d}" for k in range(len(x))]),
        name=np.array(names),
        kind=kind_arr,
        x=x,
        y=y,
        staff=staff,
        community=community,
        demand=demand,
        understaffed=chosen,
        equal_districts=equal,
    )


@dataclass(frozen=True)
class _Ground:
    """Where the community sites may stand.

    ``eligible`` lots may hold a site; ``settled`` ones are those of them outside the migrant
    quarters (or beside a planted area), where the districts other than the equal ones put
    their sites. ``in_equal`` tells, per community, whether its district is an equal one.
    """

    lot_community: IntArray
    eligible: NDArray[np.bool_]
    settled: NDArray[np.bool_]
    in_equal: NDArray[np.bool_]

    def usual(self, community: int) -> NDArray[np.bool_]:
        """Return the lots where the district of ``community`` puts its sites."""
        return self.eligible if self.in_equal[community] else self.settled


def _picked_lots(picks: dict[str, list[tuple[int, str]]]) -> list[int]:
    """Return the lots of the sites picked so far, kind by kind."""
    return [lot for chosen in picks.values() for lot, _ in chosen]


def _district_sites(lots: Lots, admin: Admin, ground: _Ground, migrants: IntArray,
                    ) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Each district's technical service station and migrant service centre (lot, name)."""
    stations, centres = [], []
    for d in np.unique(admin.district_index):
        members = np.flatnonzero(admin.district_index == d)
        usual = ground.usual(members[0])
        mask = usual & np.isin(ground.lot_community, members)
        cx, cy = admin.seeds[members].mean(0)
        district = str(admin.district[members[0]])
        if not mask.any():  # the whole district is near a planted area: serve it from outside
            mask = usual
        stations.append((_nearest_lot(lots, mask, cx, cy), district + "计划生育技术服务站"))
        with_lots = [c for c in members if (mask & (ground.lot_community == c)).any()]
        if with_lots and ground.in_equal[members[0]]:  # else beside the station, in the centre
            busiest = max(with_lots, key=lambda c: (migrants[c], -c))
            mask = mask & (ground.lot_community == busiest)
            cx, cy = admin.seeds[busiest]
        centres.append((_nearest_lot(lots, mask, cx, cy), district + "流动人口服务中心"))
    return stations, centres


def _street_sites(lots: Lots, admin: Admin, ground: _Ground) -> list[tuple[int, str]]:
    """Each street office's community health service centre (lot, name)."""
    centres = []
    for s in np.unique(admin.street_index):
        members = np.flatnonzero(admin.street_index == s)
        mask = ground.usual(members[0]) & np.isin(ground.lot_community, members)
        if mask.any():
            cx, cy = admin.seeds[members].mean(0)
            name = str(admin.street[members[0]]) + "社区卫生服务中心"
            centres.append((_nearest_lot(lots, mask, cx, cy), name))
    return centres


def _community_sites(lots: Lots, admin: Admin, ground: _Ground, migrants: IntArray,
                     spec: SizeSpec, rng: np.random.Generator,
                     ) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Health stations and family-planning rooms drawn in some communities (lot, name)."""
    lot_community, in_equal = ground.lot_community, ground.in_equal
    draws = rng.random((len(admin), 2))
    # registered residents weighted by their share of the lot's people: compounds first
    reg_lot = lots.w_reg / lots.w_reg.sum() * spec.registered_per_migrant
    mig_lot = lots.w_mig / lots.w_mig.sum()
    settled_w = reg_lot * reg_lot / np.maximum(reg_lot + mig_lot, 1e-12)
    odds = _station_odds(lots, lot_community, migrants, in_equal, spec.registered_per_migrant)
    stations, rooms = [], []
    for c in range(len(admin)):
        # equal districts put their stations and rooms where migrants live; the others where
        # registered residents live (none in an urban village or a dormitory area)
        idx = np.flatnonzero(ground.usual(c) & (lot_community == c))
        if len(idx) == 0:
            continue
        station_w = lots.w_mig[idx] if in_equal[c] else settled_w[idx]
        room_w = lots.w_mig[idx] + 0.2 * lots.w_reg[idx] if in_equal[c] else settled_w[idx]
        if draws[c, 0] < spec.health_station_share * odds[c]:
            stations.append(
                (int(rng.choice(idx, p=station_w / station_w.sum())),
                 str(admin.name[c]) + "卫生服务站"))
        if draws[c, 1] < spec.fp_room_share * odds[c]:
            rooms.append(
                (int(rng.choice(idx, p=room_w / room_w.sum())), str(admin.name[c]) + "计生服务室"))
    return stations, rooms


def _site_points(layout: Layout, lots: Lots, picks: dict[str, list[tuple[int, str]]],
                 rng: np.random.Generator,
                 ) -> tuple[FloatArray, FloatArray, list[str], NDArray[np.str_]]:
    """Positions, names and kinds of the sites, kind by kind in :data:`KIND_ORDER`.

    Sites on one lot are set apart by a few metres per kind; enterprise associations stand in
    a factory zone, not on a lot.
    """
    associations = _enterprise_associations(layout, rng)
    xs, ys, names, kinds = [], [], [], []
    for kind in KIND_ORDER:
        for lot, name in picks[kind]:
            offset = (KIND_ORDER.index(kind) - 2.5) * 2.0
            xs.append(lots.x[lot] + offset)
            ys.append(lots.y[lot])
            names.append(name)
            kinds.append(kind)
        if kind == "enterprise_association":
            for x, y, name in associations:
                xs.append(x)
                ys.append(y)
                names.append(name)
                kinds.append(kind)
    return np.array(xs), np.array(ys), names, np.array(kinds)


def _enterprise_associations(layout: Layout, rng: np.random.Generator,
                             ) -> list[tuple[float, float, str]]:
    """Enterprise associations in most industrial parks, away from the planted areas."""
    factories = {}
    for k, z in enumerate(layout.zones):
        if z.kind == "factory" and z.block not in factories:
            factories[z.block] = k
    out = []
    for zone in factories.values():
        z = layout.zones[zone]
        x, y = z.x0 + 0.5 * (z.x1 - z.x0) + 25.0, (z.y0 + z.y1) / 2
        far = planted_distance(layout, np.array([x]), np.array([y]))[0]
        if rng.random() < 0.75 and far > layout.spec.underserved_distance_m + 30:
            out.append((x, y, z.name + "企业计生协会"))
    return out


def _site_staff(kind_arr: NDArray[np.str_], rng: np.random.Generator) -> FloatArray:
    """Draw the staff (FTE) of each site from the values usual for its kind."""
    staff = np.zeros(len(kind_arr))
    for kind in KIND_ORDER:
        sel = kind_arr == kind
        staff[sel] = rng.choice(KIND_STAFF[kind], size=int(sel.sum()))
    return staff


def _understaffed(kind_arr: NDArray[np.str_], demand: IntArray, n: int) -> IntArray:
    """Under-staffed sites to plant: the ``n`` busiest small ones keep almost no staff."""
    small = np.isin(kind_arr, list(UNDERSTAFFED_STAFF))
    order = np.lexsort((np.arange(len(kind_arr)), -demand))
    return np.sort(order[small[order]][:n])
