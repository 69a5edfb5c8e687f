"""The one city / district / community aggregation of people's access and of staff.

The main job's ``community_summary`` and ``district_summary`` layers
(:mod:`coverage.engine._run_steps`) and every scenario's indicator table
(:meth:`coverage.engine.scenario.ScenarioModel.summarize`) add people up here, with the same
arithmetic, so a scenario without edits gives the main job's figures to the last digit:

* every sum over people is taken at each level directly from the people (a district's
  coverage is not an average of its communities'), by :func:`group_sums`;
* a coverage share is the people within a threshold over the people of the unit, empty
  (NaN) for a unit without people;
* a mean E2SFCA score is a sum over people over their number (registered residents weighted
  by the population of their points);
* staff and shortfalls are added up from the communities (:func:`unit_totals`).

:class:`Units` numbers the people by unit once per baseline; a scenario only changes the
travel times, scores and staff given to :func:`unit_summaries`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from coverage.measures.equalization import coverage_trio, threshold_label
from coverage.measures.staffing import staff_rate
from coverage.reference import CITY

__all__ = ["CITY", "LEVELS", "Units", "coverage_shares_of", "group_sums", "people_sums",
           "unit_summaries", "unit_totals"]

#: The levels of a summary, in the order its rows come.
LEVELS = ("city", "district", "community")


def group_sums(codes: np.ndarray, columns: dict[str, np.ndarray], n: int) -> pd.DataFrame:
    """Sum each column per unit code ``0 … n-1`` (a unit without rows sums to 0).

    Rows whose code is negative belong to no unit. The sums are pandas' grouped sums
    (compensated, in the rows' order), which the layers of the main job have always used;
    :func:`numpy.bincount` would round the last digit differently.
    """
    frame = pd.DataFrame(columns)
    keep = codes >= 0
    if not keep.all():
        frame, codes = frame[keep], codes[keep]
    return frame.groupby(codes, sort=True).sum().reindex(range(n), fill_value=0.0)


def unit_totals(codes: np.ndarray, columns: dict[str, np.ndarray], n: int) -> pd.DataFrame:
    """Add each column of the communities up per unit code ``0 … n-1``.

    A unit's communities are added in their order, as :meth:`numpy.ndarray.sum` adds an
    array (pairwise), the arithmetic of the main job's district rows; there are a few units
    (districts, the city), each a slice of the communities sorted by unit.
    """
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(n + 1))
    return pd.DataFrame({
        name: [values[order[bounds[k]:bounds[k + 1]]].sum() for k in range(n)]
        for name, values in columns.items()}, index=range(n))


@dataclass(frozen=True)
class Units:
    """The unit of every migrant, registered-resident point and community at each level.

    Attributes
    ----------
    community_id
        The communities' ids, in the communities' order.
    districts
        The district names, sorted.
    community_district
        The district (position in :attr:`districts`) of each community.
    migrant_community, registered_community
        The community (position in :attr:`community_id`) of each migrant and each
        registered-resident point; -1 for none.
    """

    community_id: np.ndarray
    districts: np.ndarray
    community_district: np.ndarray
    migrant_community: np.ndarray
    registered_community: np.ndarray

    @classmethod
    def of(cls, communities: pd.DataFrame, migrant_community: Sequence[object],
           registered_community: Sequence[object]) -> Units:
        """Return the units of ``communities``, with the people placed in them by community id."""
        cid = pd.Index(communities["community_id"].to_numpy())
        district = communities["district"].to_numpy().astype(str)
        districts = np.unique(district)
        return cls(community_id=cid.to_numpy(), districts=districts,
                   community_district=np.searchsorted(districts, district),
                   migrant_community=cid.get_indexer(np.asarray(migrant_community)),
                   registered_community=cid.get_indexer(np.asarray(registered_community)))

    def codes(self, level: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return the unit names and the unit code of migrants, points and communities.

        ``level`` is ``city`` (one unit, :data:`CITY`), ``district`` or ``community``.
        """
        mc, rc = self.migrant_community, self.registered_community
        if level == "community":
            return self.community_id, mc, rc, np.arange(len(self.community_id))
        if level == "district":
            cd = self.community_district
            return (self.districts, np.where(mc >= 0, cd[mc], -1),
                    np.where(rc >= 0, cd[rc], -1), cd)
        return (np.array([CITY]), np.zeros(len(mc), np.int64), np.zeros(len(rc), np.int64),
                np.zeros(len(self.community_id), np.int64))


def people_sums(
    units: Units, level: str, thresholds: Sequence[float], *,
    migrant_time: np.ndarray, registered_time: np.ndarray, registered_pop: np.ndarray,
    migrant_score: np.ndarray | None = None, registered_score: np.ndarray | None = None,
    migrant_unreachable: np.ndarray | None = None,
) -> pd.DataFrame:
    """Add the people of each unit of ``level`` up: counts, within each threshold, scores.

    Returns
    -------
    pandas.DataFrame
        One row per unit (codes ``0 … n-1``): ``migrants``, ``registered`` (population of the
        points), ``within_<t>_migrant`` and ``within_<t>_registered`` for every threshold,
        and when scores are given ``e2sfca_migrant`` and ``e2sfca_registered`` (the
        registered residents' weighted by population), and with ``migrant_unreachable`` (a
        flag per migrant) ``unreachable_migrants``. Unreachable people (NaN time) are within
        no threshold.
    """
    names, km, kr, _ = units.codes(level)
    mig: dict[str, np.ndarray] = {"migrants": np.ones(len(migrant_time))}
    reg: dict[str, np.ndarray] = {"registered": registered_pop}
    for m in thresholds:
        lab = threshold_label(m)
        mig[f"within_{lab}_migrant"] = np.where(migrant_time <= m, 1.0, 0.0)  # NaN ≤ m: no
        reg[f"within_{lab}_registered"] = np.where(registered_time <= m, registered_pop, 0.0)
    if migrant_score is not None and registered_score is not None:
        mig["e2sfca_migrant"] = migrant_score
        reg["e2sfca_registered"] = registered_score * registered_pop
    if migrant_unreachable is not None:
        mig["unreachable_migrants"] = np.asarray(migrant_unreachable, dtype=float)
    return pd.concat([group_sums(km, mig, len(names)), group_sums(kr, reg, len(names))],
                     axis=1)


def _share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """``part / whole``, empty where the whole is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(whole > 0, part / np.where(whole > 0, whole, 1.0), np.nan)


def coverage_shares_of(sums: pd.DataFrame, thresholds: Sequence[float]) -> dict[str, np.ndarray]:
    """Return the coverage trio of every threshold from :func:`people_sums`' table."""
    shares = {}
    for group, people in (("migrant", "migrants"), ("registered", "registered")):
        whole = sums[people].to_numpy(float)
        shares[group] = {f"within_{threshold_label(m)}": _share(
            sums[f"within_{threshold_label(m)}_{group}"].to_numpy(float), whole)
            for m in thresholds}
    return coverage_trio(shares["migrant"], shares["registered"], thresholds)


def e2sfca_means(sums: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Return the mean E2SFCA score of migrants and of registered residents per unit."""
    return (_share(sums["e2sfca_migrant"].to_numpy(float), sums["migrants"].to_numpy(float)),
            _share(sums["e2sfca_registered"].to_numpy(float),
                   sums["registered"].to_numpy(float)))


def unit_summaries(
    units: Units, thresholds: Sequence[float], *,
    migrant_time: np.ndarray, registered_time: np.ndarray, registered_pop: np.ndarray,
    migrant_score: np.ndarray, registered_score: np.ndarray,
    staff: np.ndarray, shortfall: np.ndarray, people: np.ndarray, min_population: int,
) -> pd.DataFrame:
    """Coverage, E2SFCA and staffing of the city, every district and every community.

    Parameters
    ----------
    units
        The people's units.
    thresholds
        Minutes.
    migrant_time, registered_time
        Minutes to the nearest service point of every migrant and registered-resident point
        (NaN: unreachable).
    registered_pop
        Population of every registered-resident point.
    migrant_score, registered_score
        E2SFCA score (staff per 1,000 people) of every migrant and point.
    staff, shortfall, people
        Per community: staff (its service points' and family-planning staff), staff
        shortfall (FTE) and the people the staffing ratio counts (migrants and the
        community's registered population).
    min_population
        Fewest people under a published staff ratio.

    Returns
    -------
    pandas.DataFrame
        ``level``, ``unit``, ``migrants``, ``registered``, the coverage trio of every
        threshold, ``e2sfca_mean_migrant``, ``e2sfca_mean_registered``, ``staff``,
        ``staff_shortfall`` and ``staff_per_1000_total``; the city first, then the districts
        and the communities.
    """
    community = {"staff": staff, "staff_shortfall": shortfall, "people": people}
    parts = []
    for level in LEVELS:
        names, _, _, kc = units.codes(level)
        sums = people_sums(units, level, thresholds, migrant_time=migrant_time,
                           registered_time=registered_time, registered_pop=registered_pop,
                           migrant_score=migrant_score, registered_score=registered_score)
        staffed = (pd.DataFrame(community) if level == "community"
                   else unit_totals(kc, community, len(names)))
        data: dict[str, np.ndarray] = {"migrants": sums["migrants"].to_numpy(float),
                                       "registered": sums["registered"].to_numpy(float)}
        data |= coverage_shares_of(sums, thresholds)
        data["e2sfca_mean_migrant"], data["e2sfca_mean_registered"] = e2sfca_means(sums)
        data["staff"] = staffed["staff"].to_numpy(float)
        data["staff_shortfall"] = staffed["staff_shortfall"].to_numpy(float)
        data["staff_per_1000_total"] = staff_rate(
            data["staff"], staffed["people"].to_numpy(float), min_population=min_population)[0]
        frame = pd.DataFrame(data, index=pd.Index(names, name="unit"))
        frame.insert(0, "level", level)
        parts.append(frame)
    return pd.concat(parts).reset_index()
