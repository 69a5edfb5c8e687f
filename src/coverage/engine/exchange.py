"""Origin-area exchange packs (区域协作双向管理): what the city tells each origin about its people.

The plan asks the place of residence and the place of household registration to exchange
information and share the work (信息互通、职责共担). :func:`exchange_packs` adds up, for every
origin province (or prefecture, where the six-digit GB/T 2260 codes name one), its migrants in
this city, and :func:`cooperation_list` says which districts should work with which origins:

* ``districts``: the origin's migrants by district of residence and by walking (or riding) time
  to the nearest service point, in bands between the project's thresholds, with the coverage
  shares within each threshold;
* ``age_sex``: by age band and sex, where the data hold birth years or sexes;
* ``services``: the plan's person-level indicators (achieved of the target group with a record),
  where the service records hold values;
* the cooperation list: district × origin pairs ranked by size and, with arrival dates, by growth
  (arrivals of the last twelve months against the twelve before).

Every count goes through :mod:`coverage.publish.disclosure` (primary and complementary
suppression, true totals; no other suppression is done here): shares and growth rates are
computed from published counts only, so they reveal nothing the counts do not. Origins with
fewer than ``min_cell`` migrants in the city get no pack and are named nowhere. The writer
(:mod:`coverage.report.exchange`) checks every table again before writing. Column layout:
``docs/exchange.md``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from coverage.engine.workspace import scenario_model
from coverage.io.loaders import load_study
from coverage.io.project import DEFAULT_TARGETS, Project, load_project
from coverage.measures.availability import skipped_analyses
from coverage.measures.indicators import INDICATORS, person_flags, reference_year
from coverage.patterns.origins import classify_origins
from coverage.publish.disclosure import DEFAULT_MIN_CELL, suppress_series, suppress_table
from coverage.reference import prefecture_names, provinces

__all__ = ["AGE_BANDS", "LEVELS", "PARTNERS_PER_DISTRICT", "SEXES", "TOTAL", "UNASSIGNED",
           "Exchange", "ExchangeError", "OriginPack", "band_keys", "cooperation_list",
           "exchange_packs", "project_exchange"]

LEVELS = ("province", "prefecture")
"""Levels of the origins a pack is made for."""

TOTAL = "__total__"
"""Label of the total row and column of the packs' tables (no district or band is named so)."""

AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("0-14", 0, 15), ("15-24", 15, 25), ("25-34", 25, 35), ("35-49", 35, 50),
    ("50-59", 50, 60), ("60+", 60, 1000),
)
"""Age bands ``(key, from, below)`` in years at the reference year; ``unknown`` follows them.
15–49 are the childbearing ages of the plan's indicators."""

SEXES = ("male", "female", "unknown")
"""Columns of the age-and-sex table."""

UNASSIGNED = "__unassigned__"
"""District key of migrants whose community is not in the communities layer."""

#: A district lists an origin as a partner among its this many largest or fastest-growing.
PARTNERS_PER_DISTRICT = 3


class ExchangeError(ValueError):
    """The project's data do not allow exchange packs; ``reason`` is the availability code."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class OriginPack:
    """The published tables of one origin (codes six digits: ``430000``, ``430100``)."""

    code: str
    name_zh: str
    name_en: str
    province_code: str
    migrants: int
    districts: pd.DataFrame
    age_sex: pd.DataFrame | None
    services: pd.DataFrame | None
    partners: pd.DataFrame


@dataclass
class Exchange:
    """Every pack of a city, its cooperation list and what could not be computed.

    ``skipped`` maps a part of the packs (``age_sex``, ``services``, ``growth``) to the
    availability reason code (:mod:`coverage.measures.availability`) that left it out.
    """

    level: str
    min_cell: int
    thresholds: tuple[float, ...]
    packs: list[OriginPack]
    cooperation: pd.DataFrame
    reference_date: pd.Timestamp | None
    skipped: dict[str, str] = field(default_factory=dict)
    small_origins: int = 0
    unknown_origins: int = 0


def band_keys(thresholds: tuple[float, ...]) -> list[str]:
    """Keys of the time bands: ``0-5``, ``5-10``, ``10-15``, ``over-15`` (or unreachable)."""
    edges = [0.0, *sorted(thresholds)]
    keys = [f"{a:g}-{b:g}" for a, b in itertools.pairwise(edges)]
    return [*keys, f"over-{edges[-1]:g}"]


# --------------------------------------------------------------------------------------------
# origins


def _origin_keys(codes: pd.Series, level: str) -> tuple[np.ndarray, pd.DataFrame, int]:
    """Each migrant's origin position (−1 unknown), the origins' table, the unknown count."""
    if level not in LEVELS:
        msg = f"level must be one of {', '.join(LEVELS)}, got {level!r}"
        raise ValueError(msg)
    origins = classify_origins(codes)
    province = origins["province_code"].astype("string")
    key = province + "0000"
    if level == "prefecture":
        pref = origins["prefecture_code"].astype("string")
        key = (pref + "00").where(pref.notna(), key)
    position, uniques = pd.factorize(key, sort=True, use_na_sentinel=True)
    table = pd.DataFrame({"code": pd.array(uniques, dtype="string")})
    table["province_code"] = table["code"].str[:2]
    prov = provinces().set_index("code")
    p_zh = table["province_code"].map(prov["name_zh"]).astype("string")
    p_en = table["province_code"].map(prov["name_en"]).astype("string")
    pref_code = table["code"].str[:4]
    is_pref = (table["code"].str[2:4] != "00").to_numpy(bool)
    pref_zh = pref_code.map(prefecture_names()).astype("string")
    table["name_zh"] = p_zh.where(~is_pref, p_zh + pref_zh.fillna(table["code"]))
    table["name_en"] = p_en.where(~is_pref, p_en + " " + table["code"])
    if level == "prefecture":
        table.loc[~is_pref, "name_zh"] += "（地市不详）"
        table.loc[~is_pref, "name_en"] += " (prefecture not given)"
    return position, table, int((position < 0).sum())


def _district_keys(migrants: pd.DataFrame, communities: pd.DataFrame) -> tuple[np.ndarray, list]:
    """Each migrant's district position and the district keys (sorted, then unassigned)."""
    district_of = communities.set_index("community_id")["district"].astype("string")
    district = migrants["community_id"].astype("string").map(district_of).astype("string")
    names = sorted(set(communities["district"].dropna().astype(str)))
    position = pd.Categorical(district, categories=names).codes.astype(np.int64)
    if (position < 0).any():
        names = [*names, UNASSIGNED]
        position = np.where(position < 0, len(names) - 1, position)
    return position, names


def _band_codes(times: np.ndarray, thresholds: tuple[float, ...]) -> np.ndarray:
    """Time band of each migrant (the last band: beyond the largest threshold, or unreachable)."""
    t = np.asarray(times, dtype=float)
    edges = np.asarray(sorted(thresholds), dtype=float)
    band = np.searchsorted(edges, t, side="left")  # t ≤ edge → that edge's band
    return np.where(np.isfinite(t), band, len(edges)).astype(np.int64)


def _age_sex_codes(migrants: pd.DataFrame, year: int) -> tuple[np.ndarray, np.ndarray]:
    """Age band (last: unknown) and sex (``SEXES`` position) of each migrant."""
    n = len(migrants)
    births = (migrants["birth_year"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
              if "birth_year" in migrants else np.full(n, np.nan))
    age = year - births
    lower = np.asarray([b[1] for b in AGE_BANDS], dtype=float)
    band = np.searchsorted(lower, age, side="right") - 1
    band = np.where(np.isfinite(age) & (age >= 0), band, len(AGE_BANDS)).astype(np.int64)
    sex = (migrants["sex"].astype("string") if "sex" in migrants
           else pd.Series(pd.NA, index=migrants.index, dtype="string"))
    sex_code = np.select([(sex == "male").fillna(False).to_numpy(bool),
                          (sex == "female").fillna(False).to_numpy(bool)], [0, 1], 2)
    return band, sex_code.astype(np.int64)


def _cube(keys: list[np.ndarray], sizes: list[int], weights: np.ndarray | None = None,
          ) -> np.ndarray:
    """Count people over the product of the keys (those whose first key is −1 are left out)."""
    keep = keys[0] >= 0
    flat = np.zeros(int(keep.sum()), dtype=np.int64)
    for k, size in zip(keys, sizes, strict=True):
        flat = flat * size + k[keep]
    w = None if weights is None else np.asarray(weights, dtype=np.float64)[keep]
    counts = np.bincount(flat, weights=w, minlength=int(np.prod(sizes)))
    return np.rint(counts).astype(np.int64).reshape(sizes)


# --------------------------------------------------------------------------------------------
# the tables of one pack


def _districts_table(counts: np.ndarray, districts: list, bands: list[str],
                     thresholds: tuple[float, ...], min_cell: int) -> pd.DataFrame:
    """District × time band, suppressed, with the coverage share within each threshold."""
    frame = pd.DataFrame(counts, index=pd.Index(districts, name="district"), columns=bands)
    table = suppress_table(frame, min_cell=min_cell, total_label=TOTAL)
    table.index.name = "district"
    total = table[TOTAL].to_numpy(dtype=float, na_value=np.nan)
    values = table[bands].to_numpy(dtype=float, na_value=np.nan)
    for i, minutes in enumerate(sorted(thresholds)):
        # the people within: the bands up to the threshold, or the total less those beyond
        # it, whichever is published (NaN propagates through a suppressed band)
        within = values[:, :i + 1].sum(axis=1)
        within = np.where(np.isnan(within), total - values[:, i + 1:].sum(axis=1), within)
        with np.errstate(invalid="ignore", divide="ignore"):
            table[f"coverage_{minutes:g}"] = np.where(total > 0, within / total, np.nan)
    return table


def _age_sex_table(counts: np.ndarray, min_cell: int) -> pd.DataFrame:
    """Age band × sex, suppressed."""
    index = pd.Index([b[0] for b in AGE_BANDS] + ["unknown"], name="age_band")
    frame = pd.DataFrame(counts, index=index, columns=list(SEXES))
    table = suppress_table(frame, min_cell=min_cell, total_label=TOTAL)
    table.index.name = "age_band"
    return table


def _services_table(achieved: np.ndarray, population: np.ndarray, keys: list[str],
                    targets: dict[str, float], min_cell: int) -> pd.DataFrame:
    """One row per indicator: achieved + not achieved = population, each row protected."""
    rows = []
    for done, pop in zip(achieved, population, strict=True):
        line = pd.Series([done, pop - done], index=["achieved", "not_achieved"])
        rows.append(suppress_series(line, min_cell=min_cell, total_label="population"))
    table = pd.DataFrame(rows, index=pd.Index(keys, name="indicator")).astype("Int64")
    a = table["achieved"].to_numpy(dtype=float, na_value=np.nan)
    p = table["population"].to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["rate"] = np.where(p > 0, a / p, np.nan)
    table["target"] = [1.0 if k == "rh_checks" else float(targets[k]) for k in keys]
    return table


# --------------------------------------------------------------------------------------------
# the cooperation list


def _growth_codes(migrants: pd.DataFrame) -> tuple[np.ndarray, pd.Timestamp] | None:
    """Arrival period of each migrant: 0 the last 12 months, 1 the 12 before, 2 other/unknown."""
    if "arrived_on" not in migrants or not migrants["arrived_on"].notna().any():
        return None
    dates = pd.to_datetime(migrants["arrived_on"])
    latest = dates.max()
    year_ago, two_years = latest - pd.DateOffset(years=1), latest - pd.DateOffset(years=2)
    recent = ((dates > year_ago) & (dates <= latest)).fillna(False).to_numpy(bool)
    earlier = ((dates > two_years) & (dates <= year_ago)).fillna(False).to_numpy(bool)
    return np.select([recent, earlier], [0, 1], 2).astype(np.int64), latest


def cooperation_list(
    counts: pd.DataFrame,
    recent: pd.DataFrame | None = None,
    earlier: pd.DataFrame | None = None,
    *,
    min_cell: int = DEFAULT_MIN_CELL,
    partners: int = PARTNERS_PER_DISTRICT,
) -> pd.DataFrame:
    """Rank district × origin pairs by size and growth, from suppressed tables only.

    Parameters
    ----------
    counts
        Migrants, districts × origin codes (true counts: suppressed here).
    recent, earlier
        Arrivals of the last twelve months and of the twelve before, same shape (optional).
    min_cell
        Smallest published non-zero count.
    partners
        A district's partners: its ``partners`` largest origins and ``partners`` fastest
        growing (growth above zero).

    Returns
    -------
    pandas.DataFrame
        One row per pair whose migrants are published and at least ``min_cell``: ``district``,
        ``origin_code``, ``migrants``, ``share`` (of the district's migrants, when its total is
        published), ``rank_in_district`` (1 = largest, ties by origin code),
        ``rank_in_origin`` (the district's place among the origin's districts, ties by
        district), ``arrivals_recent``, ``arrivals_earlier``, ``growth`` (recent ÷ earlier − 1,
        when both are published and earlier > 0), ``growth_rank`` (in the district, 1 =
        fastest) and ``partner`` (``size``, ``growth`` or ``size+growth``; empty otherwise).
        Sorted by district, then rank.
    """
    table = suppress_table(counts, min_cell=min_cell, total_label=TOTAL)
    cells = table.drop(index=TOTAL, columns=TOTAL)
    pairs = cells.stack(future_stack=True).rename("migrants").reset_index()
    pairs.columns = ["district", "origin_code", "migrants"]
    pairs["share"] = pairs["migrants"].astype("Float64") / pairs["district"].map(
        table[TOTAL]).astype("Float64")
    for name, frame in (("arrivals_recent", recent), ("arrivals_earlier", earlier)):
        if frame is None:
            pairs[name] = pd.array([pd.NA] * len(pairs), dtype="Int64")
            continue
        part = suppress_table(frame, min_cell=min_cell, total_label=TOTAL)
        part = part.drop(index=TOTAL, columns=TOTAL).stack(future_stack=True)
        pairs[name] = part.reset_index(drop=True).astype("Int64")
    shown = pairs["migrants"].fillna(0).to_numpy(dtype=np.int64) >= min_cell
    pairs = pairs[shown].reset_index(drop=True)
    r = pairs["arrivals_recent"].to_numpy(dtype=float, na_value=np.nan)
    e = pairs["arrivals_earlier"].to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        pairs["growth"] = np.where(e > 0, r / e - 1.0, np.nan)
    return _ranks(pairs, partners)


def _ranks(pairs: pd.DataFrame, partners: int) -> pd.DataFrame:
    """Add the size and growth ranks and the partner flag to the published pairs."""
    pairs = pairs.sort_values(["district", "migrants", "origin_code"],
                              ascending=[True, False, True], kind="stable")
    pairs["rank_in_district"] = pairs.groupby("district").cumcount() + 1
    by_origin = pairs.sort_values(["origin_code", "migrants", "district"],
                                  ascending=[True, False, True], kind="stable")
    pairs["rank_in_origin"] = by_origin.groupby("origin_code").cumcount() + 1
    grown = pairs[pairs["growth"].notna()].sort_values(
        ["district", "growth", "origin_code"], ascending=[True, False, True], kind="stable")
    pairs["growth_rank"] = (grown.groupby("district").cumcount() + 1).reindex(
        pairs.index).astype("Int64")
    size = (pairs["rank_in_district"] <= partners).to_numpy(bool)
    growth = ((pairs["growth_rank"] <= partners) & (pairs["growth"] > 0)).fillna(
        False).to_numpy(bool)
    pairs["partner"] = np.select([size & growth, size, growth], ["size+growth", "size",
                                                                  "growth"], "")
    for col in ("migrants", "rank_in_district", "rank_in_origin"):
        pairs[col] = pairs[col].astype("Int64")
    cols = ["district", "origin_code", "migrants", "share", "rank_in_district",
            "rank_in_origin", "arrivals_recent", "arrivals_earlier", "growth", "growth_rank",
            "partner"]
    return pairs[cols].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# the packs


def _check_origins(migrants: pd.DataFrame) -> None:
    """Raise :class:`ExchangeError` when no migrant has an origin code."""
    reason = skipped_analyses({"migrants": migrants}).get("origin_flows")
    if reason is not None:
        msg = ("no exchange packs: the migrants layer holds no hukou origin codes (户籍地代码); "
               "map a column of six-digit GB/T 2260 codes to hukou_code in project.toml")
        raise ExchangeError(msg, reason)


def _service_counts(migrants: pd.DataFrame, origin: np.ndarray, n_origins: int,
                    targets: dict[str, float], skipped: dict[str, str],
                    ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Return the indicators with records, and their achieved and population counts by origin."""
    flags = person_flags(migrants, targets=targets)
    keys = [i.key for i in INDICATORS if f"indicator:{i.key}" not in skipped]
    achieved = np.zeros((len(keys), n_origins), dtype=np.int64)
    population = np.zeros((len(keys), n_origins), dtype=np.int64)
    for row, key in enumerate(keys):
        member, known, done = flags[key]
        population[row] = _cube([origin], [n_origins], member & known)
        achieved[row] = _cube([origin], [n_origins], member & known & done)
    return keys, achieved, population


def exchange_packs(
    migrants: pd.DataFrame,
    communities: pd.DataFrame,
    times: np.ndarray,
    *,
    thresholds: tuple[float, ...],
    targets: dict[str, float] | None = None,
    level: str = "province",
    min_cell: int = DEFAULT_MIN_CELL,
    progress: Callable[[str], None] | None = None,
) -> Exchange:
    """Build the published tables of every origin and the city's cooperation list.

    Parameters
    ----------
    migrants
        The migrants layer: ``hukou_code``, ``community_id`` and, when held, ``sex``,
        ``birth_year``, ``arrived_on`` and the service records.
    communities
        The communities layer: ``community_id`` and ``district``.
    times
        Minutes from each migrant (in ``migrants`` order) to the nearest service point; NaN
        when unreachable.
    thresholds, targets
        The project's time thresholds (minutes) and indicator targets (the plan's by default).
    level
        ``province`` or ``prefecture`` (province-only codes: a pack "prefecture not given").
    min_cell, progress
        Smallest published non-zero count; called with each step's description.

    Returns
    -------
    Exchange
        The packs of the origins with at least ``min_cell`` migrants, largest first.

    Raises
    ------
    ExchangeError
        When no migrant has an origin code.
    """
    step = progress or (lambda _text: None)
    _check_origins(migrants)
    targets = {**DEFAULT_TARGETS, **(targets or {})}
    skipped = skipped_analyses({"migrants": migrants})
    step("adding up the migrants by origin")
    origin, origins, unknown = _origin_keys(migrants["hukou_code"], level)
    district, districts = _district_keys(migrants, communities)
    bands = band_keys(thresholds)
    n_o, n_d = len(origins), len(districts)
    by_band = _cube([origin, district, _band_codes(times, thresholds)], [n_o, n_d, len(bands)])
    age, sex = _age_sex_codes(migrants, reference_year(migrants))
    by_age = _cube([origin, age, sex], [n_o, len(AGE_BANDS) + 1, len(SEXES)])
    keys, achieved, population = _service_counts(migrants, origin, n_o, targets, skipped)
    grow = _growth_codes(migrants)
    left_out = _left_out(migrants, keys, grow is not None)
    has_age = "age_sex" not in left_out
    step("ranking the districts' partners")
    cooperation = _city_list(by_band.sum(axis=2), grow, origin, district, origins, districts,
                             min_cell)
    totals = by_band.sum(axis=(1, 2))
    packs = []
    for o in np.argsort(-totals, kind="stable"):
        if totals[o] < min_cell:
            continue
        step(f"protecting the tables of {origins.iloc[o]['name_en']}")
        services = (_services_table(achieved[:, o], population[:, o], keys, targets, min_cell)
                    if keys else None)
        packs.append(_pack(origins.iloc[o], int(totals[o]), cooperation,
                           districts=_districts_table(by_band[o], districts, bands, thresholds,
                                                      min_cell),
                           age_sex=_age_sex_table(by_age[o], min_cell) if has_age else None,
                           services=services))
    return Exchange(level=level, min_cell=min_cell, thresholds=tuple(sorted(thresholds)),
                    packs=packs, cooperation=cooperation,
                    reference_date=grow[1] if grow is not None else None,
                    skipped=left_out,
                    small_origins=int(((totals > 0) & (totals < min_cell)).sum()),
                    unknown_origins=unknown)


def _left_out(migrants: pd.DataFrame, indicators: list[str], growth: bool) -> dict[str, str]:
    """Return the parts of the packs the data do not allow, with their reason codes."""
    has_age = any(c in migrants and migrants[c].notna().any() for c in ("sex", "birth_year"))
    parts = {"age_sex": None if has_age else "no-age-or-sex",
             "services": None if indicators else "no-service-records",
             "growth": None if growth else "no-arrival-dates"}
    return {k: v for k, v in parts.items() if v is not None}


def _pack(row: pd.Series, migrants: int, cooperation: pd.DataFrame,
          **tables: pd.DataFrame | None) -> OriginPack:
    """Return one origin's pack: its tables and its rows of the cooperation list."""
    partners = cooperation[cooperation["origin_code"] == row["code"]].reset_index(drop=True)
    return OriginPack(code=str(row["code"]), name_zh=str(row["name_zh"]),
                      name_en=str(row["name_en"]), province_code=str(row["province_code"]),
                      migrants=migrants, partners=partners, **tables)


def _city_list(counts: np.ndarray, grow: tuple[np.ndarray, pd.Timestamp] | None,
               origin: np.ndarray, district: np.ndarray, origins: pd.DataFrame,
               districts: list, min_cell: int) -> pd.DataFrame:
    """Return the city's cooperation list with the origins' names (districts assigned only)."""
    codes = origins["code"].astype(str).tolist()

    def frame(values: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(values.T, index=pd.Index(districts, name="district"), columns=codes)

    recent = earlier = None
    if grow is not None:
        by_period = _cube([origin, district, grow[0]], [len(codes), len(districts), 3])
        recent, earlier = frame(by_period[:, :, 0]), frame(by_period[:, :, 1])
    out = cooperation_list(frame(counts), recent, earlier, min_cell=min_cell)
    out = out[out["district"] != UNASSIGNED].reset_index(drop=True)
    names = origins.set_index("code")
    out.insert(2, "origin_name_zh", out["origin_code"].map(names["name_zh"]).astype("string"))
    out.insert(3, "origin_name_en", out["origin_code"].map(names["name_en"]).astype("string"))
    return out


def project_exchange(
    project: Project | str | Path,
    *,
    mode: str = "walk",
    level: str = "province",
    min_cell: int = DEFAULT_MIN_CELL,
    progress: Callable[[str], None] | None = None,
) -> Exchange:
    """Build a project's exchange packs: its inputs, and each migrant's time on the roads.

    The origin codes are checked first (no routing for a project without them); the times
    come from the process's analysis model (:func:`coverage.engine.workspace.scenario_model`),
    which routes the people once and keeps them in memory only.

    Raises
    ------
    ExchangeError
        When no migrant has an origin code.
    """
    step = progress or (lambda _text: None)
    project = project if isinstance(project, Project) else load_project(project)
    step("loading inputs")
    study = load_study(project)
    _check_origins(study.migrants)
    step("routing the migrants to the service points")
    model = scenario_model(project, mode, study=study)
    study = model.study  # the model kept in this process may have been built earlier
    params = study.project.parameters
    return exchange_packs(study.migrants.reset_index(drop=True), study.communities,
                          model.baseline.m_time, thresholds=params.thresholds_min,
                          targets=params.targets, level=level, min_cell=min_cell,
                          progress=progress)
