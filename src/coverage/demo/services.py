"""Service sites and candidate sites of the demo city.

Every kind of service point in :data:`coverage.schema.SITE_KINDS` is placed the way the plan's
network is built: a technical service station (计划生育技术服务站) and a migrant service centre
(流动人口服务中心) in each district, a community health service centre (社区卫生服务中心) in each
street office, health stations (社区卫生服务站) and family-planning rooms (社区计生服务室) in some
communities and enterprise associations (企业计生协会) in industrial parks.

Two effects are planted. No site lies within :attr:`SizeSpec.underserved_distance_m` of a
planted under-served area, and a few sites where migrants crowd get very few staff
(under-staffed). Candidate sites (vacant community rooms) are drawn partly inside the
under-served areas, so that placement models have something to find.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from coverage.demo.admin import Admin
from coverage.demo.buildings import Lots
from coverage.demo.layout import Layout
from coverage.schema import SITE_KINDS

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

    def offers(self, service: str) -> NDArray[np.bool_]:
        """Return which sites offer ``service`` (a key of :data:`SERVICE_ZH`)."""
        return np.array([service in KIND_SERVICES[k] for k in self.kind])

    def services_zh(self) -> list[str]:
        """Return the services of each site in Chinese, separated by ``、``."""
        return ["、".join(SERVICE_ZH[s] for s in KIND_SERVICES[k]) for k in self.kind]

    def hours(self) -> list[str]:
        """Return the opening hours of each site."""
        return [KIND_HOURS[k] for k in self.kind]


@dataclass
class Candidates:
    """Possible locations of new service sites (local coordinates).

    Attributes
    ----------
    candidate_id, name
        Identifier and Chinese name.
    x, y
        Position (local m).
    max_staff
        Most staff (FTE) the place can hold.
    planted
        Id of the planted under-served area holding the candidate, else ``""``.
    """

    candidate_id: NDArray[np.str_]
    name: NDArray[np.str_]
    x: FloatArray
    y: FloatArray
    max_staff: FloatArray
    planted: NDArray[np.str_]


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


def place_sites(layout: Layout, lots: Lots, lot_community: IntArray, admin: Admin,
                migrant_xy: FloatArray, migrant_community: IntArray,
                rng: np.random.Generator) -> Sites:
    """Place the service sites and plant the under-staffed ones.

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
    picks: dict[str, list[tuple[int, str]]] = {k: [] for k in KIND_ORDER}

    def nearest(mask: NDArray, x: float, y: float) -> int:
        idx = np.flatnonzero(mask)
        return int(idx[np.argmin(np.hypot(lots.x[idx] - x, lots.y[idx] - y))])

    for d in np.unique(admin.district_index):
        members = np.flatnonzero(admin.district_index == d)
        mask = eligible & np.isin(lot_community, members)
        cx, cy = admin.seeds[members].mean(0)
        district = str(admin.district[members[0]])
        if not mask.any():  # the whole district is near a planted area: serve it from outside
            mask = eligible
        picks["technical_station"].append((nearest(mask, cx, cy), district + "计划生育技术服务站"))
        with_lots = [c for c in members if (mask & (lot_community == c)).any()]
        if with_lots:
            busiest = max(with_lots, key=lambda c: (migrants[c], -c))
            mask = mask & (lot_community == busiest)
            cx, cy = admin.seeds[busiest]
        picks["migrant_centre"].append((nearest(mask, cx, cy), district + "流动人口服务中心"))
    for s in np.unique(admin.street_index):
        members = np.flatnonzero(admin.street_index == s)
        mask = eligible & np.isin(lot_community, members)
        if mask.any():
            cx, cy = admin.seeds[members].mean(0)
            picks["health_centre"].append(
                (nearest(mask, cx, cy), str(admin.street[members[0]]) + "社区卫生服务中心"))
    draws = rng.random((len(admin), 2))
    for c in range(len(admin)):
        idx = np.flatnonzero(eligible & (lot_community == c))
        if len(idx) == 0:
            continue
        if draws[c, 0] < spec.health_station_share:
            w = lots.w_mig[idx] + lots.w_reg[idx]
            picks["health_station"].append(
                (int(rng.choice(idx, p=w / w.sum())), str(admin.name[c]) + "卫生服务站"))
        if draws[c, 1] < spec.fp_room_share:
            w = lots.w_reg[idx] + 0.2 * lots.w_mig[idx]
            picks["fp_room"].append(
                (int(rng.choice(idx, p=w / w.sum())), str(admin.name[c]) + "计生服务室"))
    # enterprise associations stand in a factory zone, not on a lot
    factories = {}
    for k, z in enumerate(layout.zones):
        if z.kind == "factory" and z.block not in factories:
            factories[z.block] = k
    xs, ys, names, kinds, staff_list = [], [], [], [], []
    for kind in KIND_ORDER:
        for lot, name in picks[kind]:
            offset = (KIND_ORDER.index(kind) - 2.5) * 2.0
            xs.append(lots.x[lot] + offset)
            ys.append(lots.y[lot])
            names.append(name)
            kinds.append(kind)
        if kind == "enterprise_association":
            for zone in factories.values():
                z = layout.zones[zone]
                x, y = z.x0 + 0.5 * (z.x1 - z.x0) + 25.0, (z.y0 + z.y1) / 2
                far = planted_distance(layout, np.array([x]), np.array([y]))[0]
                if rng.random() < 0.75 and far > spec.underserved_distance_m + 30:
                    xs.append(x)
                    ys.append(y)
                    names.append(z.name + "企业计生协会")
                    kinds.append(kind)
    x, y = np.array(xs), np.array(ys)
    kind_arr = np.array(kinds)
    for kind in KIND_ORDER:
        sel = kind_arr == kind
        staff_list.append((sel, rng.choice(KIND_STAFF[kind], size=int(sel.sum()))))
    staff = np.zeros(len(x))
    for sel, values in staff_list:
        staff[sel] = values
    demand = np.asarray(cKDTree(migrant_xy).query_ball_point(
        np.column_stack([x, y]), r=DEMAND_RADIUS_M, return_length=True), dtype=np.int64)
    # under-staffed: the busiest small sites keep almost no staff
    small = np.isin(kind_arr, list(UNDERSTAFFED_STAFF))
    order = np.lexsort((np.arange(len(x)), -demand))
    chosen = np.sort(order[small[order]][: spec.understaffed])
    for k in chosen:
        staff[k] = UNDERSTAFFED_STAFF[str(kind_arr[k])]
    return Sites(
        site_id=np.array([f"S{k + 1:04d}" for k in range(len(x))]),
        name=np.array(names),
        kind=kind_arr,
        x=x,
        y=y,
        staff=staff,
        community=admin.locate(x, y),
        demand=demand,
        understaffed=chosen,
    )


def place_candidates(layout: Layout, lots: Lots, lot_community: IntArray, admin: Admin,
                     sites: Sites, rng: np.random.Generator) -> Candidates:
    """Draw candidate sites: vacant community rooms, about a third in the planted areas.

    Parameters
    ----------
    layout
        The plan.
    lots
        Residential lots; candidates stand on lots.
    lot_community
        Community index of each lot.
    admin
        Communities.
    sites
        Existing sites (candidates keep 150 m away from them).
    rng
        Random generator.

    Returns
    -------
    Candidates
        The candidates.
    """
    n = layout.spec.candidates
    n_planted = max(len(layout.planted), round(n / 3))
    chosen: list[int] = []
    planted: list[str] = []
    for k, area in enumerate(layout.planted):
        idx = np.flatnonzero(lots.zone == area.zone)
        take = n_planted // len(layout.planted) + (k < n_planted % len(layout.planted))
        chosen += list(rng.choice(idx, size=min(take, len(idx)), replace=False))
        planted += [area.area_id] * min(take, len(idx))
    near_site = cKDTree(np.column_stack([sites.x, sites.y])).query(
        np.column_stack([lots.x, lots.y]))[0] < 150
    mask = ~near_site & (planted_distance(layout, lots.x, lots.y) > 0)
    mask &= np.isin(lots.kind, ["old", "village", "dorm", "commercial", "compound"])
    idx = np.flatnonzero(mask)
    w = lots.w_mig[idx]
    rest = rng.choice(idx, size=n - len(chosen), replace=False, p=w / w.sum())
    chosen += list(rest)
    planted += [""] * len(rest)
    lot = np.array(chosen, dtype=np.int64)
    names = []
    for k, lt in enumerate(lot):
        zone = layout.zones[int(lots.zone[lt])]
        if zone.kind == "village":
            names.append(f"{zone.name}村民委员会旧址{k + 1}号")
        elif zone.kind == "dorm":
            names.append(f"{zone.name}活动室{k + 1}号")
        else:
            names.append(f"{admin.name[lot_community[lt]]}闲置用房{k + 1}号")
    return Candidates(
        candidate_id=np.array([f"CAND{k + 1:03d}" for k in range(len(lot))]),
        name=np.array(names),
        x=lots.x[lot] + 3.0,
        y=lots.y[lot],
        max_staff=rng.choice([2.0, 3.0, 4.0, 6.0], size=len(lot)),
        planted=np.array(planted),
    )
