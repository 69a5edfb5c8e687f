"""The plan's indicators (规划指标) from the migrants' service records, against their targets.

Each indicator is a share of a target group that received a service, computed for the city, each
district and each community, compared with its target (defaults from the plan, GUIDE.md §1;
configurable in ``[parameters.targets]``), with the number of people still needed to reach it.

========================  ==========================================  ==============================
indicator                 numerator (service record)                   target group (denominator)
========================  ==========================================  ==============================
policy_awareness          ``policy_aware`` is yes                      all migrants with the record
free_service_local        ``free_service_local`` is yes                all migrants with the record
pregnancy_check           ``pregnancy_check`` is yes                   married women aged 15–49
contraceptive_access      ``contraceptive_access`` is yes              all migrants with the record
prepregnancy_consult      ``prepregnancy_consult`` is yes              married women aged 15–49
rh_checks                 ``rh_checks_year`` ≥ target (2 a year)       married women aged 15–49
                                                                       holding a 婚育证明
community_management      community has family-planning staff          communities with migrants
                          (``fp_staff`` > 0) or a service point
========================  ==========================================  ==============================

A person whose record is empty is *unknown*: counted in ``unknown``, not in the denominator (an
empty record is missing data, not a "no"). Ages are taken at the reference year: the year of the
latest arrival date in the data, or the year given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from coverage.io.project import DEFAULT_TARGETS

CHILDBEARING_AGES = (15, 49)


@dataclass(frozen=True)
class Indicator:
    """One of the plan's indicators."""

    key: str
    record: str
    group: str
    name_en: str
    name_zh: str


INDICATORS: tuple[Indicator, ...] = (
    Indicator("policy_awareness", "policy_aware", "all",
              "Policy awareness", "政策知晓率"),
    Indicator("free_service_local", "free_service_local", "all",
              "Free services received where they live", "流入地接受免费服务比例"),
    Indicator("pregnancy_check", "pregnancy_check", "married_women",
              "Free pregnancy check where they live", "孕检率"),
    Indicator("contraceptive_access", "contraceptive_access", "all",
              "Free contraceptive access", "免费药具获得率"),
    Indicator("prepregnancy_consult", "prepregnancy_consult", "married_women",
              "Free pre-pregnancy consultation", "孕前优生咨询服务率"),
    Indicator("rh_checks", "rh_checks_year", "certified_women",
              "Reproductive-health checks (2 a year)", "生殖健康检查（每年2次）"),
)
COMMUNITY_MANAGEMENT = Indicator("community_management", "", "communities",
                                 "Community service management", "社区服务管理落实率")

COLUMNS = ["level", "unit", "indicator", "group_size", "unknown", "population", "achieved",
           "value", "target", "met", "people_needed"]


def reference_year(migrants: pd.DataFrame, year: int | None = None) -> int:
    """Return ``year`` or the year of the latest arrival date (or this year when none)."""
    if year is not None:
        return int(year)
    latest = latest_arrival_year(migrants)
    return pd.Timestamp.today().year if latest is None else latest


def latest_arrival_year(migrants: pd.DataFrame) -> int | None:
    """Return the year of the latest arrival date, ``None`` without any.

    The reference year of a city whose migrants come in parts is the latest of its parts'
    (:func:`reference_year` of the whole).
    """
    if "arrived_on" in migrants and migrants["arrived_on"].notna().any():
        return int(pd.Timestamp(migrants["arrived_on"].max()).year)
    return None


def _groups(migrants: pd.DataFrame, year: int) -> dict[str, np.ndarray]:
    n = len(migrants)
    women = (migrants["sex"] == "female").fillna(False).to_numpy(bool) if "sex" in migrants \
        else np.zeros(n, bool)
    married = (migrants["marital_status"] == "married").fillna(False).to_numpy(bool) \
        if "marital_status" in migrants else np.zeros(n, bool)
    if "birth_year" in migrants:
        age = year - migrants["birth_year"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        of_age = (age >= CHILDBEARING_AGES[0]) & (age <= CHILDBEARING_AGES[1])
    else:
        of_age = np.zeros(n, bool)
    certified = migrants["has_marriage_cert"].fillna(False).to_numpy(bool) \
        if "has_marriage_cert" in migrants else np.zeros(n, bool)
    married_women = women & married & of_age
    return {
        "all": np.ones(n, bool),
        "married_women": married_women,
        "certified_women": married_women & certified,
    }


def person_flags(
    migrants: pd.DataFrame,
    *,
    targets: dict[str, float] | None = None,
    year: int | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Return, per indicator, who is in its target group, has a record and received the service.

    The one definition of the person-level flags behind :func:`indicator_table`, for tables of
    the indicators by other groupings (e.g. by origin, :mod:`coverage.engine.exchange`).

    Parameters
    ----------
    migrants
        The migrants layer (absent record columns give no known records).
    targets
        Indicator targets (only ``rh_checks_per_year`` is used here); the plan's by default.
    year
        Reference year for ages; see :func:`reference_year`.

    Returns
    -------
    dict
        Indicator key (:data:`INDICATORS`) → ``(member, known, done)``: boolean arrays, one
        entry per migrant: in the target group, record not empty, service received (``done``
        may be true outside the group: combine it with ``member & known``).
    """
    targets = {**DEFAULT_TARGETS, **(targets or {})}
    groups = _groups(migrants, reference_year(migrants, year))
    rh_target = float(targets.get("rh_checks_per_year", 2))
    out = {}
    for ind in INDICATORS:
        if ind.record in migrants:
            rec = migrants[ind.record]
            known = rec.notna().to_numpy(bool)
            if ind.key == "rh_checks":
                done = (rec.astype("Float64") >= rh_target).fillna(False).to_numpy(bool)
            else:
                done = rec.astype("boolean").fillna(False).to_numpy(bool)
        else:
            known = np.zeros(len(migrants), bool)
            done = known
        out[ind.key] = (groups[ind.group], known, done)
    return out


def _needed(population: np.ndarray, achieved: np.ndarray, target: float) -> np.ndarray:
    """People still needed to reach ``target`` (a share), never negative."""
    goal = np.ceil(population * target - 1e-9)
    return np.maximum(goal - achieved, 0).astype(np.int64)


def indicator_counts(
    migrants: pd.DataFrame,
    *,
    targets: dict[str, float] | None = None,
    year: int | None = None,
    by_quarter: bool = False,
) -> pd.DataFrame:
    """Count, per community, the people of each indicator's group, unknown and served.

    What :func:`indicator_table` adds up: counts, so that the counts of parts of the migrants
    add up to the whole's (:func:`add_counts`).

    Parameters
    ----------
    migrants
        The migrants (``community_id`` and service-record columns).
    targets, year
        As for :func:`indicator_table` (give ``year`` when ``migrants`` is a part of the
        city's: the reference year is the whole city's).
    by_quarter
        Count by quarter of ``recorded_on`` too (people without a date left out).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``community`` (the community id as text; missing for people in none), and
        ``quarter`` first with ``by_quarter``; columns ``migrants`` and, for each indicator
        key, ``<key>:group_size``, ``<key>:unknown`` and ``<key>:achieved``.
    """
    targets = {**DEFAULT_TARGETS, **(targets or {})}
    keys = {"community": migrants["community_id"].astype("string").to_numpy()}
    rows = np.ones(len(migrants), bool)
    if by_quarter:
        rows = migrants["recorded_on"].notna().to_numpy() if "recorded_on" in migrants \
            else np.zeros(len(migrants), bool)
        period = pd.PeriodIndex(pd.DatetimeIndex(migrants["recorded_on"][rows]), freq="Q")
        keys = {"quarter": np.asarray(period.astype(str)),
                "community": keys["community"][rows]}
    flags = person_flags(migrants, targets=targets, year=year)
    columns: dict[str, np.ndarray] = {"migrants": np.ones(int(rows.sum()), np.int64)}
    for ind in INDICATORS:
        member, known, done = (flag[rows] for flag in flags[ind.key])
        columns[f"{ind.key}:group_size"] = member.astype(np.int64)
        columns[f"{ind.key}:unknown"] = (member & ~known).astype(np.int64)
        columns[f"{ind.key}:achieved"] = (member & known & done).astype(np.int64)
    table = pd.DataFrame({**keys, **columns})
    return table.groupby(list(keys), sort=True, dropna=False).sum()


def add_counts(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Add the counts of parts of the migrants (:func:`indicator_counts`) up."""
    table = pd.concat(parts)
    return table.groupby(level=list(range(table.index.nlevels)), sort=True,
                         dropna=False).sum()


def indicator_table(
    migrants: pd.DataFrame,
    communities: pd.DataFrame,
    *,
    sites: pd.DataFrame | None = None,
    targets: dict[str, float] | None = None,
    year: int | None = None,
) -> pd.DataFrame:
    """Compute every indicator for the city, each district and each community.

    Parameters
    ----------
    migrants
        The migrants layer (``community_id`` and service-record columns; absent record columns
        give indicators with no known population).
    communities
        The communities layer (``community_id``, ``district``, ``fp_staff``).
    sites
        Service points with ``community_id`` (optional; used by community management).
    targets
        Indicator targets; defaults to the plan's (:data:`coverage.io.project.DEFAULT_TARGETS`).
    year
        Reference year for ages; see :func:`reference_year`.

    Returns
    -------
    pandas.DataFrame
        One row per (level, unit, indicator) with columns :data:`COLUMNS`: ``level`` is ``city``,
        ``district`` or ``community``; ``unit`` the district name or community id (``city`` for
        the city); ``group_size`` people in the target group; ``unknown`` those with an empty
        record; ``population`` = group_size − unknown; ``achieved`` those who received the
        service; ``value`` = achieved / population (NaN when population is 0); ``met`` whether
        value ≥ target (missing when the value is); ``people_needed`` how many more must receive it.
    """
    counts = indicator_counts(migrants, targets=targets, year=reference_year(migrants, year))
    return indicators_of_counts(counts, communities, sites=sites, targets=targets)


def indicators_of_counts(
    counts: pd.DataFrame,
    communities: pd.DataFrame,
    *,
    sites: pd.DataFrame | None = None,
    targets: dict[str, float] | None = None,
    management: bool = True,
) -> pd.DataFrame:
    """Return :func:`indicator_table` from the counts per community (:func:`indicator_counts`).

    ``management``: with community management (communities with migrants, from the counts).
    """
    targets = {**DEFAULT_TARGETS, **(targets or {})}
    district_of = communities.set_index("community_id")["district"]
    community = counts.index.get_level_values("community")
    keys = pd.DataFrame({
        "community": community.to_numpy(),
        "district": pd.Series(community.to_numpy(), dtype=object).map(
            district_of.set_axis(district_of.index.astype(str))).astype("string").to_numpy(),
    })
    frames = []
    for ind in INDICATORS:
        target = 1.0 if ind.key == "rh_checks" else float(targets[ind.key])
        table = keys.assign(**{c: counts[f"{ind.key}:{c}"].to_numpy(np.int64)
                               for c in ("group_size", "unknown", "achieved")})
        frames.append(_levels(table, ind.key, target))
    if management:
        with_migrants = set(community[counts["migrants"].to_numpy() > 0].dropna())
        frames.append(_community_management(with_migrants, communities, sites,
                                            float(targets["community_management"])))
    out = pd.concat(frames, ignore_index=True)
    return out[COLUMNS]


def _finish(agg: pd.DataFrame, level: str, key: str, target: float) -> pd.DataFrame:
    agg = agg.reset_index()
    agg.columns = ["unit", *agg.columns[1:]]
    population = (agg["group_size"] - agg["unknown"]).to_numpy()
    achieved = agg["achieved"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(population > 0, achieved / np.maximum(population, 1), np.nan)
    return agg.assign(
        level=level,
        indicator=key,
        population=population,
        value=value,
        target=target,
        met=pd.array(np.where(np.isnan(value), None, value >= target - 1e-12), dtype="boolean"),
        people_needed=_needed(population, achieved, target),
    )


def _levels(table: pd.DataFrame, key: str, target: float) -> pd.DataFrame:
    cols = ["group_size", "unknown", "achieved"]
    city = table[cols].sum().to_frame().T.assign(unit="city").set_index("unit")
    return pd.concat([
        _finish(city, "city", key, target),
        _finish(table.groupby("district", sort=True)[cols].sum(), "district", key, target),
        _finish(table.groupby("community", sort=True)[cols].sum(), "community", key, target),
    ], ignore_index=True)


def _community_management(
    with_migrants: set[str],
    communities: pd.DataFrame,
    sites: pd.DataFrame | None,
    target: float,
) -> pd.DataFrame:
    comm = communities[communities["community_id"].astype(str).isin(with_migrants)]
    staffed = comm["fp_staff"].fillna(0).to_numpy() > 0 if "fp_staff" in comm else np.zeros(
        len(comm), bool)
    if sites is not None and "community_id" in sites:
        staffed |= comm["community_id"].isin(set(sites["community_id"].dropna())).to_numpy()
    table = pd.DataFrame({
        "community": comm["community_id"].astype("string").to_numpy(),
        "district": comm["district"].astype("string").to_numpy(),
        "group_size": np.ones(len(comm), np.int64),
        "unknown": np.zeros(len(comm), np.int64),
        "achieved": staffed.astype(np.int64),
    })
    return _levels(table, COMMUNITY_MANAGEMENT.key, target)


def indicator_names(lang: str = "zh") -> dict[str, str]:
    """Return indicator key → display name in ``lang``."""
    return {i.key: (i.name_zh if lang == "zh" else i.name_en)
            for i in (*INDICATORS, COMMUNITY_MANAGEMENT)}


def people_needed(population: int, achieved: int, target: float) -> int:
    """People still needed for ``achieved`` of ``population`` to reach ``target`` (a share)."""
    return max(math.ceil(population * target - 1e-9) - achieved, 0)


def indicator_quarters(
    migrants: pd.DataFrame,
    communities: pd.DataFrame,
    *,
    targets: dict[str, float] | None = None,
    year: int | None = None,
) -> pd.DataFrame | None:
    """Compute the indicators by quarter of the service record, for the city and districts.

    Records are grouped by the quarter of ``recorded_on`` (people without a date are left out
    of this table, not of :func:`indicator_table`); each quarter is computed exactly as
    :func:`indicator_table` does. Community management is not a per-record indicator and is not
    repeated here.

    Returns
    -------
    pandas.DataFrame or None
        ``quarter`` (e.g. ``2026Q3``) followed by :data:`COLUMNS`, for levels ``city`` and
        ``district``; ``None`` when no record carries a date.
    """
    if "recorded_on" not in migrants or not migrants["recorded_on"].notna().any():
        return None
    counts = indicator_counts(migrants, targets=targets, year=reference_year(migrants, year),
                              by_quarter=True)  # ages at the same year in every quarter
    return quarters_of_counts(counts, communities, targets=targets)


def quarters_of_counts(counts: pd.DataFrame, communities: pd.DataFrame, *,
                       targets: dict[str, float] | None = None) -> pd.DataFrame:
    """Return :func:`indicator_quarters` from the counts by quarter and community."""
    parts = []
    for quarter, table in counts.groupby(level="quarter", sort=True):  # a dozen at most
        table = indicators_of_counts(table.droplevel("quarter"), communities, targets=targets,
                                     management=False)
        parts.append(table[table["level"] != "community"].assign(quarter=quarter))
    out = pd.concat(parts, ignore_index=True)
    return out[["quarter", *COLUMNS]]
