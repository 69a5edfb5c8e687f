"""People of the demo city: migrants (流动人口) and registered residents (户籍人口).

Migrants are drawn onto residential lots by the lots' migrant weights (so they crowd into urban
villages, dormitories and older neighbourhoods) and described by the columns of
:data:`coverage.io.schema.MIGRANTS`. Their service records get worse with the distance to the
nearest site offering the service: the walking distance is approximated by 1.3 times the
straight-line distance, and each record's probability is a logistic function of it, calibrated
so that city-wide rates sit near, and partly below, the plan's targets. Planted effects: arrivals
in a few communities grow fast from quarter to quarter, and records are worse around the
under-staffed sites.

Registered residents are integer counts on lots, so a community's registered population is
exactly the sum of its registered points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree
from scipy.special import expit, logit

from coverage.demo.admin import Admin
from coverage.demo.buildings import Lots, Workplaces
from coverage.demo.layout import Layout
from coverage.demo.origins import draw_origins
from coverage.demo.services import Sites

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Codes = NDArray[np.int8]

REFERENCE_YEAR = 2026
"""Year of the reference date (the data run to 2026-09-30)."""
QUARTER_STARTS = (np.datetime64("2023-10") + np.arange(0, 39, 3)).astype("datetime64[D]")
"""First days of the 12 quarters of arrivals, and of the quarter after them."""
WALK_FACTOR = 1.3
"""Walking distance per straight-line metre assumed by the generator."""
RATES = {
    "has_marriage_cert": 0.85,
    "policy_aware": 0.88,
    "free_service_local": 0.92,
    "pregnancy_check": 0.87,
    "contraceptive_access": 0.91,
    "prepregnancy_consult": 0.78,
    "rh_check": 0.72,
}
"""Expected city-wide rates (``rh_check``: chance of each of the two yearly checks)."""
UNKNOWN_SHARE = 0.01
"""Share of service records left empty (unknown)."""
BASE_GROWTH = (0.01, 0.012)
"""Mean and spread of the quarterly growth of arrivals in ordinary communities."""
FAST_GROWTH = (0.14, 0.22)
"""Range of the quarterly growth of arrivals in planted fast-growing communities."""


@dataclass
class Residents:
    """Where migrants live.

    Attributes
    ----------
    x, y
        Residence (local m).
    lot
        Index of the residential lot.
    community
        Index of the community.
    """

    x: FloatArray
    y: FloatArray
    lot: IntArray
    community: IntArray


@dataclass
class RegisteredPoints:
    """Registered residents as population-weighted points.

    Attributes
    ----------
    x, y
        Position (local m).
    population
        Registered residents at the point.
    community
        Index of the community.
    """

    x: FloatArray
    y: FloatArray
    population: IntArray
    community: IntArray

    def per_community(self, n: int) -> IntArray:
        """Return the registered population of each of ``n`` communities."""
        return np.bincount(self.community, weights=self.population, minlength=n).astype(np.int64)


@dataclass
class MigrantFacts:
    """What the planted truth reads of every migrant: residence, arrival, records, walk.

    A city described district by district (:mod:`coverage.demo.partitioned`) keeps only these
    of all its migrants; :class:`Migrants` holds them with every other attribute.

    Attributes
    ----------
    residents
        Residences.
    quarter
        Quarter of arrival (0 = 2023 Q4 … 11 = 2026 Q3).
    records
        Yes/no columns by canonical name, and ``rh_checks_year`` (``-1`` when empty).
    walk_m
        Approximate walking distance to the nearest site (m).
    """

    residents: Residents
    quarter: NDArray[np.integer]
    records: dict[str, Codes]
    walk_m: FloatArray


@dataclass
class Migrants(MigrantFacts):
    """Migrant records (codes; :mod:`coverage.demo.write` turns them into text).

    Yes/no columns hold ``1``/``0`` and ``-1`` for an empty cell. Besides
    :class:`MigrantFacts`:

    Attributes
    ----------
    male, birth_year, marital, hukou, arrived_on
        Sex, year of birth, marital status (index into :data:`MARITAL_ZH`), origin code and
        arrival date.
    work_x, work_y
        Workplace (local m), ``NaN`` for people without work.
    """

    male: NDArray[np.bool_]
    birth_year: IntArray
    marital: Codes
    hukou: NDArray[np.str_]
    arrived_on: NDArray[np.datetime64]
    work_x: FloatArray
    work_y: FloatArray


MARITAL = ("unmarried", "married", "divorced", "widowed")
"""Canonical marital statuses, indexed by :attr:`Migrants.marital`."""
MARITAL_ZH = ("未婚", "已婚", "离婚", "丧偶")
"""Chinese marital statuses, indexed by :attr:`Migrants.marital`."""


def lot_communities(lots: Lots, admin: Admin) -> IntArray:
    """Return the community index of every lot.

    A lot closer than 0.5 m to its community's border is first moved 1 m towards the
    community's seed, so that rounding the written coordinates cannot move it across.

    Raises
    ------
    RuntimeError
        When a lot lies outside every community (a bug in the generator).
    """
    out = admin.locate(lots.x, lots.y)
    close = np.flatnonzero(shapely.distance(shapely.points(lots.x, lots.y),
                                            shapely.boundary(admin.polygons[out])) < 0.5)
    if len(close):
        dx, dy = (admin.seeds[out[close]] - np.column_stack([lots.x[close], lots.y[close]])).T
        norm = np.maximum(np.hypot(dx, dy), 1e-9)
        lots.x[close] += dx / norm
        lots.y[close] += dy / norm
        out[close] = admin.locate(lots.x[close], lots.y[close])
    if (out < 0).any():
        msg = f"{int((out < 0).sum())} lots lie outside the communities"
        raise RuntimeError(msg)
    return out


def place_migrants(lots: Lots, lot_community: IntArray, admin: Admin, n: int,
                   rng: np.random.Generator) -> Residents:
    """Draw the residences of ``n`` migrants.

    Parameters
    ----------
    lots
        Residential lots with migrant weights.
    lot_community
        Community of each lot.
    admin
        Communities.
    n
        Number of migrants.
    rng
        Random generator.

    Returns
    -------
    Residents
        Residences spread over each lot's square, with their community.
    """
    lot = rng.choice(len(lots.x), size=n, p=lots.w_mig / lots.w_mig.sum())
    half = lots.half[lot]
    x = lots.x[lot] + rng.uniform(-1.0, 1.0, n) * half
    y = lots.y[lot] + rng.uniform(-1.0, 1.0, n) * half
    community = lot_community[lot]
    # residents of lots near a community border may cross it: locate them exactly
    border = shapely.distance(shapely.points(lots.x, lots.y),
                              shapely.boundary(admin.polygons[lot_community]))
    near = np.flatnonzero((border < lots.half * 1.5 + 0.5)[lot])
    community[near] = admin.locate(x[near], y[near])
    # keep clear of the border by more than the rounding of written coordinates
    gap = shapely.distance(shapely.points(x[near], y[near]),
                           shapely.boundary(admin.polygons[community[near]]))
    back = near[gap < 0.5]
    x[back], y[back] = lots.x[lot[back]], lots.y[lot[back]]
    community[back] = lot_community[lot[back]]
    return Residents(x, y, lot, community)


def place_registered(layout: Layout, lots: Lots, lot_community: IntArray, admin: Admin,
                     total: int, rng: np.random.Generator) -> RegisteredPoints:
    """Spread ``total`` registered residents over the lots as integer counts.

    Every community gets at least one point: one without residential lots gets a small
    population at a point on its land.

    Parameters
    ----------
    layout
        The plan (for the river, which holds nobody).
    lots
        Residential lots with registered weights.
    lot_community
        Community of each lot.
    admin
        Communities.
    total
        Registered residents, city-wide (before the top-ups).
    rng
        Random generator.

    Returns
    -------
    RegisteredPoints
        The points.
    """
    counts = rng.multinomial(total, lots.w_reg / lots.w_reg.sum())
    keep = counts > 0
    x, y = lots.x[keep], lots.y[keep]
    pop, comm = counts[keep].astype(np.int64), lot_community[keep]
    missing = np.setdiff1d(np.arange(len(admin)), comm)
    if len(missing):
        water = layout.river.polygon(layout.xs[0] - 1000, layout.xs[-1] + 1000)
        land = shapely.difference(admin.polygons[missing], water)
        where = shapely.get_coordinates(shapely.point_on_surface(land))
        x, y = np.append(x, where[:, 0]), np.append(y, where[:, 1])
        pop = np.append(pop, rng.integers(30, 150, len(missing)))
        comm = np.append(comm, missing)
    return RegisteredPoints(x, y, pop, comm)


def fp_staff(registered_pop: IntArray, rng: np.random.Generator) -> FloatArray:
    """Community family-planning staff (社区计生专干): about one per 1,500 registered residents.

    Parameters
    ----------
    registered_pop
        Registered population of each community.
    rng
        Random generator.

    Returns
    -------
    numpy.ndarray
        FTE in steps of 0.5, from 0.5 to 4.
    """
    raw = registered_pop / 1500.0 + rng.normal(0.3, 0.3, len(registered_pop))
    return np.round(2 * np.clip(raw, 0.5, 4.0)) / 2


def growth_rates(layout: Layout, lots: Lots, lot_community: IntArray, residents: Residents,
                 n_communities: int, rng: np.random.Generator) -> tuple[FloatArray, IntArray]:
    """Quarterly growth of arrivals per community; plant a few fast-growing ones.

    Parameters
    ----------
    layout
        The plan (communities with planted under-served areas are not chosen).
    lots
        Residential lots.
    lot_community
        Community of each lot.
    residents
        Migrant residences.
    n_communities
        Number of communities.
    rng
        Random generator.

    Returns
    -------
    rates : numpy.ndarray
        Growth per quarter of each community.
    fast : numpy.ndarray
        Indices of the planted fast-growing communities.
    """
    counts = np.bincount(residents.community, minlength=n_communities)
    planted_zones = [a.zone for a in layout.planted]
    excluded = np.unique(lot_community[np.isin(lots.zone, planted_zones)])
    pool = np.flatnonzero((counts >= np.median(counts)) & ~np.isin(np.arange(n_communities),
                                                                    excluded))
    fast = np.sort(rng.choice(pool, size=min(layout.spec.fast_growing, len(pool)),
                              replace=False))
    rates = np.clip(rng.normal(*BASE_GROWTH, n_communities), -0.02, 0.04)
    rates[fast] = np.round(rng.uniform(*FAST_GROWTH, len(fast)), 3)
    return rates, fast


def _calibrated(score: FloatArray, target: float) -> FloatArray:
    """Probabilities ``expit(a + score)`` with ``a`` chosen so that their mean is ``target``."""
    a = logit(target) - float(np.mean(score))
    for _ in range(30):
        p = expit(a + score)
        gap = p.mean() - target
        if abs(gap) < 1e-9:
            break
        a -= gap / max(float((p * (1 - p)).mean()), 1e-9)
    return expit(a + score)


def _record(score: FloatArray, mask: NDArray[np.bool_], target: float,
            rng: np.random.Generator) -> Codes:
    out = np.full(len(score), -1, dtype=np.int8)
    p = _calibrated(score[mask], target)
    out[mask] = rng.random(int(mask.sum())) < p
    out[rng.random(len(score)) < UNKNOWN_SHARE] = -1
    return out


def _arrivals(residents: Residents, rates: FloatArray, rng: np.random.Generator,
              ) -> tuple[IntArray, NDArray[np.datetime64]]:
    weights = (1 + rates[:, None]) ** np.arange(12)[None, :]
    cdf = np.cumsum(weights, axis=1)
    cdf /= cdf[:, -1:]
    u = rng.random(len(residents.x))
    quarter = np.minimum((cdf[residents.community] < u[:, None]).sum(1), 11)
    start = QUARTER_STARTS[quarter]
    days = (QUARTER_STARTS[quarter + 1] - start).astype(np.int64)
    offset = np.floor(rng.random(len(u)) * days).astype(np.int64)
    return quarter.astype(np.int64), start + offset.astype("timedelta64[D]")


def _workplaces(residents: Residents, lots: Lots, layout: Layout, admin: Admin,
                work: Workplaces, worker: NDArray[np.bool_], rng: np.random.Generator,
                ) -> tuple[FloatArray, FloatArray]:
    n = len(residents.x)
    choice = np.full(n, -1, dtype=np.int64)
    # gravity from each community's seed to each workplace zone
    cx, cy = (work.x0 + work.x1) / 2, (work.y0 + work.y1) / 2
    dist = np.hypot(admin.seeds[:, :1] - cx[None], admin.seeds[:, 1:] - cy[None])
    p = work.weight[None] * np.exp(-dist / 3000.0)
    p /= p.sum(1, keepdims=True)
    order = np.argsort(residents.community, kind="stable")
    bounds = np.searchsorted(residents.community[order], np.arange(len(admin) + 1))
    for c in range(len(admin)):
        members = order[bounds[c]:bounds[c + 1]]
        members = members[worker[members]]
        choice[members] = rng.choice(len(p[c]), size=len(members), p=p[c])
    # most dormitory residents work in their own park
    zone_of_lot = lots.zone[residents.lot]
    work_block = np.array([layout.zones[w].block for w in work.zone])
    for k, z in enumerate(layout.zones):
        if z.kind != "dorm":
            continue
        own = np.flatnonzero(work_block == z.block)
        members = np.flatnonzero((zone_of_lot == k) & worker)
        members = members[rng.random(len(members)) < 0.9]
        if len(own) and len(members):
            choice[members] = own[rng.integers(len(own), size=len(members))]
    has = choice >= 0
    wx = np.full(n, np.nan)
    wy = np.full(n, np.nan)
    c = choice[has]
    wx[has] = work.x0[c] + rng.random(len(c)) * (work.x1[c] - work.x0[c])
    wy[has] = work.y0[c] + rng.random(len(c)) * (work.y1[c] - work.y0[c])
    return wx, wy


def describe_migrants(residents: Residents, lots: Lots, layout: Layout, admin: Admin,
                      sites: Sites, work: Workplaces, rates: FloatArray,
                      rng: np.random.Generator) -> Migrants:
    """Draw every attribute and service record of the migrants.

    Parameters
    ----------
    residents
        Residences.
    lots
        Residential lots.
    layout
        The plan.
    admin
        Communities.
    sites
        Existing service sites (records worsen with the distance to them).
    work
        Workplace zones.
    rates
        Quarterly growth of arrivals of each community.
    rng
        Random generator.

    Returns
    -------
    Migrants
        The records.
    """
    n = len(residents.x)
    in_dorm = lots.kind[residents.lot] == "dorm"
    male = rng.random(n) < np.where(in_dorm, 0.5, 0.55)
    age = _ages(in_dorm, rng)
    birth_year = REFERENCE_YEAR - age - (rng.random(n) < 0.25)
    marital = _marital(age, rng)
    hukou = draw_origins(rng, n)
    quarter, arrived = _arrivals(residents, rates, rng)
    worker = (age >= 16) & (age < 60) & (rng.random(n) < np.where(in_dorm, 0.98, 0.85))
    wx, wy = _workplaces(residents, lots, layout, admin, work, worker, rng)
    records, walk = _service_records(residents, sites, len(admin), male, age, marital, quarter,
                                     rng)
    return Migrants(residents=residents, quarter=quarter, records=records, walk_m=walk,
                    male=male, birth_year=birth_year, marital=marital, hukou=hukou,
                    arrived_on=arrived, work_x=wx, work_y=wy)


def _ages(in_dorm: NDArray[np.bool_], rng: np.random.Generator) -> IntArray:
    """Draw ages: a few children and elderly relatives, mostly young working adults."""
    n = len(in_dorm)
    u = rng.random(n)
    child, elder = (u < 0.06) & ~in_dorm, u > 0.965
    age = np.floor(16 + rng.gamma(2.3, 6.5, n))
    redo = age >= 60
    age[redo] = rng.integers(16, 60, int(redo.sum()))
    age[child] = rng.integers(0, 16, int(child.sum()))
    age[elder & ~in_dorm] = rng.integers(60, 76, int((elder & ~in_dorm).sum()))
    return age.astype(np.int64)


def _marital(age: IntArray, rng: np.random.Generator) -> Codes:
    """Draw marital statuses (indices into :data:`MARITAL`) by age."""
    n = len(age)
    ever = rng.random(n) < np.where(age >= 20, 0.92 * expit((age - 26.5) / 2.8), 0.0)
    r = rng.random(n)
    marital = ever.astype(np.int8)
    marital[ever & (age >= 28) & (r < 0.04)] = 2
    marital[ever & (age >= 45) & (r > 1 - np.where(age >= 60, 0.1, 0.015))] = 3
    return marital


def _service_records(residents: Residents, sites: Sites, n_communities: int,
                     male: NDArray[np.bool_], age: IntArray, marital: Codes, quarter: IntArray,
                     rng: np.random.Generator) -> tuple[dict[str, Codes], FloatArray]:
    """Draw the service records, worse far from the sites, and the generator's walking distance.

    Returns the records by canonical name and the walking distance to the nearest site (m).
    """
    xy = np.column_stack([residents.x, residents.y])
    site_xy = np.column_stack([sites.x, sites.y])
    dist, nearest = cKDTree(site_xy).query(xy)
    walk = WALK_FACTOR * dist

    def beyond(service: str | None) -> FloatArray:
        """Return the walking km beyond 600 m to the nearest site offering ``service``."""
        if service is None:
            d = walk
        else:
            offers = sites.offers(service)
            d = WALK_FACTOR * cKDTree(site_xy[offers]).query(xy)[0]
        return np.maximum(d - 600.0, 0.0) / 1000.0

    under = np.isin(nearest, sites.understaffed).astype(float)
    effect = rng.normal(0.0, 0.3, n_communities)[residents.community]
    recent = (quarter >= 10).astype(float)
    married = marital == 1
    woman_15_49 = ~male & (age >= 15) & (age <= 49)
    adult = age >= 15
    far = beyond(None)
    cert = _record(-0.5 * far + effect, married, RATES["has_marriage_cert"], rng)
    has_cert = (cert == 1).astype(float)
    records = {"has_marriage_cert": cert}
    records["policy_aware"] = _record(
        -1.3 * far - 0.6 * recent - 0.5 * under + effect, adult, RATES["policy_aware"], rng)
    records["free_service_local"] = _record(
        -1.8 * far - 0.3 * recent - 0.6 * under + effect, adult,
        RATES["free_service_local"], rng)
    f_preg = beyond("pregnancy_check")
    records["pregnancy_check"] = _record(
        -1.8 * f_preg - 0.4 * recent - 0.6 * under + 0.5 * has_cert + effect,
        married & woman_15_49, RATES["pregnancy_check"], rng)
    records["contraceptive_access"] = _record(
        -1.5 * beyond("contraceptives") - 0.6 * under + effect, adult & (age < 60),
        RATES["contraceptive_access"], rng)
    records["prepregnancy_consult"] = _record(
        -1.3 * beyond("prepregnancy") - 0.5 * under + 0.3 * married + effect,
        (age >= 15) & (age <= 49), RATES["prepregnancy_consult"], rng)
    records["rh_checks_year"] = _rh_checks(
        -1.6 * beyond("rh_check") + 1.0 * has_cert - 0.6 * under + effect,
        married & woman_15_49, rng)
    return records, walk


def _rh_checks(score: FloatArray, eligible: NDArray[np.bool_],
               rng: np.random.Generator) -> Codes:
    """Draw how many of the two yearly reproductive-health checks each person had (-1: empty)."""
    n = len(score)
    p = _calibrated(score[eligible], RATES["rh_check"])
    checks = np.full(n, -1, dtype=np.int8)
    checks[eligible] = (rng.random((2, int(eligible.sum()))) < p).sum(0)
    checks[rng.random(n) < UNKNOWN_SHARE] = -1
    return checks
