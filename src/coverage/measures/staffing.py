"""Staffing: staff per 1,000 people served, the staffing standard and the shortfall.

The plan asks that migrants be served "on the same per-capita standard as registered residents".
The default standard is therefore the ratio registered residents enjoy today in the same district:

    standard_d = staff_d / registered_d × 1000        (staff per 1,000 people)

where ``staff_d`` counts the staff of every service point in district d plus its communities'
family-planning staff (社区计生专干). A community then needs ``standard × (migrants +
registered) / 1000`` staff; the shortfall is what it lacks (never negative). Other standards:
``city_registered_ratio`` (the same ratio over the whole city) or a fixed number of staff per
1,000 people.

Catchment staffing assigns people to service points (each to its nearest, or by the 2SFCA supply
ratio) and reports staff per 1,000 people served per site.

**Small denominators.** A ratio per 1,000 people on a handful of people is noise, not a finding:
one staff member for 2 registered residents reads "500 per 1,000". Every published staff ratio
is computed by :func:`staff_rate`, which leaves it empty (NaN) and flags it when fewer than
``min_population`` people stand under it (default :data:`DEFAULT_RATE_MIN_POPULATION`,
``[parameters.staffing] rate_min_population``). The flag column of a ratio is its name with
``_suppressed``. The staffing standard, the need and the shortfall are computed from people and
staff, not from a community's own ratio, and are kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from coverage.io.project import DEFAULT_RATE_MIN_POPULATION

PER = 1000.0
#: The published staff ratios of :func:`community_staffing` and :func:`catchment_staffing`.
RATE_COLUMNS = ("staff_per_1000_migrants", "staff_per_1000_registered", "staff_per_1000_total")
#: Suffix of the flag column of a suppressed ratio.
SUPPRESSED = "_suppressed"

__all__ = [
    "DEFAULT_RATE_MIN_POPULATION",
    "PER",
    "RATE_COLUMNS",
    "SUPPRESSED",
    "catchment_of_counts",
    "catchment_staffing",
    "community_staffing",
    "staff_rate",
    "staffing_of_counts",
    "staffing_standard",
]


def _per_1000(staff: np.ndarray, people: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(people > 0, staff / np.where(people > 0, people, 1) * PER, np.nan)


def staff_rate(
    staff: np.ndarray | pd.Series | float,
    people: np.ndarray | pd.Series | float,
    *,
    min_population: int = DEFAULT_RATE_MIN_POPULATION,
) -> tuple[np.ndarray, np.ndarray]:
    """Staff per 1,000 people, empty where too few people stand under the ratio.

    Parameters
    ----------
    staff
        Staff (FTE) of each unit.
    people
        People of each unit (the denominator).
    min_population
        Fewest people for a published ratio; with fewer (0 included) the ratio is NaN.

    Returns
    -------
    rate : numpy.ndarray
        ``staff / people × 1000``, NaN where ``people < min_population``.
    suppressed : numpy.ndarray
        Boolean, true where the ratio was left empty for too few people.

    Raises
    ------
    ValueError
        When ``min_population`` is not a whole number ≥ 1.
    """
    if isinstance(min_population, bool) or not isinstance(min_population, int | np.integer) \
            or min_population < 1:
        msg = (f"min_population must be a whole number ≥ 1 (people under a staff ratio), got "
               f"{min_population!r}")
        raise ValueError(msg)
    staff = np.asarray(staff, dtype=float)
    people = np.asarray(people, dtype=float)
    suppressed = ~(people >= min_population)  # NaN people count as too few
    return np.where(suppressed, np.nan, _per_1000(staff, people)), suppressed


def _add_rates(out: pd.DataFrame, staff: np.ndarray, groups: dict[str, np.ndarray],
               min_population: int) -> None:
    """Add the ratios (``groups``: column → people), then their ``_suppressed`` flags."""
    rates = {col: staff_rate(staff, people, min_population=min_population)
             for col, people in groups.items()}
    for col, (rate, _) in rates.items():
        out[col] = rate
    for col, (_, flag) in rates.items():
        out[col + SUPPRESSED] = flag


def community_staffing(
    communities: pd.DataFrame,
    migrants: pd.DataFrame,
    sites: pd.DataFrame,
    *,
    standard: str | float = "district_registered_ratio",
    min_population: int = DEFAULT_RATE_MIN_POPULATION,
) -> pd.DataFrame:
    """Staff and staff per 1,000 people for every community, with the standard and shortfall.

    Parameters
    ----------
    communities
        ``community_id``, ``district``, ``registered_pop`` and optionally ``fp_staff``.
    migrants
        One row per migrant with ``community_id``.
    sites
        Service points with ``community_id`` (the community they stand in) and ``staff``.
    standard
        ``district_registered_ratio`` (default), ``city_registered_ratio`` or staff per 1,000
        people.
    min_population
        Fewest people under a published ratio (:func:`staff_rate`).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``community_id`` (the communities' order), with ``district``, ``migrants``,
        ``registered_pop``, ``site_staff``, ``fp_staff``, ``staff`` (their sum),
        ``staff_per_1000_migrants``, ``staff_per_1000_registered``, ``staff_per_1000_total``
        (each NaN for fewer than ``min_population`` people of its group, and flagged in the
        boolean column of the same name with ``_suppressed``), ``staffing_standard`` (staff per
        1,000 people), ``staff_needed`` and ``staff_shortfall`` (FTE, ≥ 0).
    """
    counts = migrants["community_id"].value_counts()
    return staffing_of_counts(communities, counts, sites, standard=standard,
                              min_population=min_population)


def staffing_of_counts(
    communities: pd.DataFrame,
    migrants: pd.Series,
    sites: pd.DataFrame,
    *,
    standard: str | float = "district_registered_ratio",
    min_population: int = DEFAULT_RATE_MIN_POPULATION,
) -> pd.DataFrame:
    """Return :func:`community_staffing` from the number of migrants of each community.

    ``migrants`` is indexed by community id (a community not in it has none): what a city
    computed by partitions of its migrants adds up (:mod:`coverage.engine.partitioned`).
    """
    ids = communities["community_id"]
    migrants_n = migrants.reindex(ids, fill_value=0)
    site_staff = sites.groupby("community_id")["staff"].sum().reindex(ids, fill_value=0.0)
    fp = communities["fp_staff"].fillna(0).to_numpy(float) if "fp_staff" in communities \
        else np.zeros(len(communities))
    out = pd.DataFrame({
        "district": communities["district"].to_numpy(),
        "migrants": migrants_n.to_numpy(np.int64),
        "registered_pop": communities["registered_pop"].to_numpy(dtype=np.int64),
        "site_staff": site_staff.to_numpy(float),
        "fp_staff": fp,
    }, index=pd.Index(ids.to_numpy(), name="community_id"))
    out["staff"] = out["site_staff"] + out["fp_staff"]
    staff, mig, reg = out["staff"].to_numpy(), out["migrants"].to_numpy(), out[
        "registered_pop"].to_numpy()
    _add_rates(out, staff, dict(zip(RATE_COLUMNS, (mig, reg, mig + reg), strict=True)),
               min_population)
    out["staffing_standard"] = staffing_standard(out, standard)
    out["staff_needed"] = out["staffing_standard"] * (mig + reg) / PER
    out["staff_shortfall"] = np.maximum(out["staff_needed"] - staff, 0.0)
    return out


def staffing_standard(table: pd.DataFrame, standard: str | float) -> np.ndarray:
    """Staff per 1,000 people each community should have, by the chosen standard.

    Parameters
    ----------
    table
        Per-community ``district``, ``staff`` and ``registered_pop``.
    standard
        ``district_registered_ratio``, ``city_registered_ratio`` or a number.
    """
    if not isinstance(standard, str):
        value = float(standard)
        if not value > 0:
            msg = f"a numeric staffing standard must be > 0 staff per 1,000 people, got {value}"
            raise ValueError(msg)
        return np.full(len(table), value)
    if standard == "city_registered_ratio":
        total_reg = table["registered_pop"].sum()
        return np.full(len(table), table["staff"].sum() / total_reg * PER if total_reg else
                       np.nan)
    if standard == "district_registered_ratio":
        by = table.groupby("district")[["staff", "registered_pop"]].transform("sum")
        return _per_1000(by["staff"].to_numpy(float), by["registered_pop"].to_numpy(float))
    msg = (f"unknown staffing standard {standard!r}; use district_registered_ratio, "
           "city_registered_ratio or a number of staff per 1,000 people")
    raise ValueError(msg)


def catchment_staffing(
    sites: pd.DataFrame,
    migrant_site: pd.Series,
    registered_site: pd.Series | None = None,
    registered_weight: pd.Series | None = None,
    *,
    min_population: int = DEFAULT_RATE_MIN_POPULATION,
) -> pd.DataFrame:
    """Staff per 1,000 people in each site's catchment by nearest-site assignment.

    Parameters
    ----------
    sites
        Service points indexed by site id, with ``staff``.
    migrant_site
        For each migrant, the id of the site assigned (NaN when unreachable).
    registered_site, registered_weight
        For each registered-resident point, its assigned site and population.
    min_population
        Fewest people under a published ratio (:func:`staff_rate`).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``sites``: ``staff``, ``migrants``, ``registered``, ``total`` (people
        assigned) and ``staff_per_1000_migrants``, ``staff_per_1000_registered``,
        ``staff_per_1000_total``, each with its ``_suppressed`` flag.
    """
    idx = sites.index
    mig = migrant_site.value_counts().reindex(idx, fill_value=0).to_numpy(float)
    if registered_site is not None:
        w = registered_weight if registered_weight is not None else pd.Series(
            1.0, index=registered_site.index)
        reg = w.groupby(registered_site.to_numpy()).sum().reindex(idx, fill_value=0).to_numpy(
            float)
    else:
        reg = np.zeros(len(idx))
    return catchment_of_counts(sites, mig, reg, min_population=min_population)


def catchment_of_counts(sites: pd.DataFrame, migrants: np.ndarray, registered: np.ndarray, *,
                        min_population: int = DEFAULT_RATE_MIN_POPULATION) -> pd.DataFrame:
    """Return :func:`catchment_staffing` from the people assigned to each site.

    ``migrants`` and ``registered``: the migrants and the registered population whose nearest
    service point each site is, in the order of ``sites``.
    """
    idx = sites.index
    mig, reg = np.asarray(migrants, dtype=float), np.asarray(registered, dtype=float)
    staff = sites["staff"].to_numpy(float)
    out = pd.DataFrame({"staff": staff, "migrants": mig, "registered": reg, "total": mig + reg},
                       index=idx)
    _add_rates(out, staff, dict(zip(RATE_COLUMNS, (mig, reg, mig + reg), strict=True)),
               min_population)
    return out
