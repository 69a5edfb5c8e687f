"""Publishing result tables: every figure a report shows about people passes through here.

The result layers hold exact counts; a report, an export or a map shown in a browser may not
(see :mod:`coverage.publish.disclosure`). This module turns the summary and indicator layers into
*published* tables on the whole hierarchy at once (city → districts → communities), so the
city report and every district report are protected together:

* each population of a unit (migrants, registered residents, an indicator's target group) is
  split into **disjoint parts** that add up to it: the time bands of the coverage thresholds
  (within 5 min, 5–10, 10–15, beyond, unreachable), or served / not served / no record. Units
  of one level and their parent form a table whose rows, columns and margins are all lines of
  :func:`coverage.publish.disclosure.suppression_mask`; a suppressed parent total is carried to the
  table of the level above, and the levels are protected again until nothing changes;
* a published share or count that is a **sum of parts** (coverage within 10 minutes is the
  first two bands; the indicator's population is served + not served) is shown only when all
  its parts are published, or all the other parts and the total are: otherwise it would reveal
  a suppressed part by subtraction;
* any other figure computed from a population (staff per 1,000 migrants, mean scores, Gini,
  the staff needed) is shown only when that population is.

Suppressed values are missing (``NA``) in the published tables; writers show them as "—".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage.measures.equalization import threshold_label
from coverage.publish.disclosure import DEFAULT_MIN_CELL, check_min_cell, suppression_mask

__all__ = ["Partition", "protect_levels", "publish_funding", "publish_indicators",
           "publish_summaries", "summary_thresholds"]


@dataclass(frozen=True)
class Partition:
    """A population split into disjoint parts.

    Attributes
    ----------
    total
        Column holding the population (e.g. ``migrants``).
    parts
        Columns holding the parts; they add up to ``total`` on every row.
    sums
        Published columns that are sums of parts: column → the parts it adds up.
    """

    total: str
    parts: tuple[str, ...]
    sums: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _protect_one(
    cells: np.ndarray, parent: np.ndarray, hidden: np.ndarray, min_cell: int
) -> np.ndarray:
    """Suppression mask of one family: units × parts, the parent row last, totals last column."""
    if not np.array_equal(cells.sum(axis=0), parent[:-1]) or cells.sum() != parent[-1]:
        msg = "internal error: the units' counts do not add up to their parent's"
        raise AssertionError(msg)
    return suppression_mask(cells, min_cell=min_cell, hidden=hidden)


def protect_levels(
    levels: Sequence[pd.DataFrame],
    parent_of: Sequence[pd.Series],
    partitions: Sequence[Partition],
    *,
    min_cell: int = DEFAULT_MIN_CELL,
) -> list[pd.DataFrame]:
    """Return the suppression masks of a hierarchy of count tables.

    Parameters
    ----------
    levels
        Count tables from the top (one row, e.g. the city) down (districts, communities), each
        holding the ``total`` and ``parts`` columns of every partition (non-negative integers).
    parent_of
        For each level below the top, the index label of each row's parent in the level above
        (aligned with that level's index).
    partitions
        The populations and their parts.
    min_cell
        Smallest published non-zero count.

    Returns
    -------
    list of pandas.DataFrame
        For each level, booleans (True = suppressed) for the ``total`` and ``parts`` columns.
    """
    check_min_cell(min_cell)
    columns = list(dict.fromkeys(c for p in partitions for c in (p.total, *p.parts)))
    col = {c: j for j, c in enumerate(columns)}
    values = [lv[columns].to_numpy(np.int64) for lv in levels]
    hidden = [np.zeros(v.shape, dtype=bool) for v in values]
    # positions of each parent's members, once (arrays, not label lookups, in the loop)
    families = []
    for depth in range(1, len(levels)):
        parents = pd.Index(levels[depth - 1].index).get_indexer(parent_of[depth - 1])
        if (parents < 0).any():
            msg = "a unit's parent is not in the level above"
            raise ValueError(msg)
        order = np.argsort(parents, kind="stable")
        cuts = np.flatnonzero(np.diff(parents[order])) + 1
        families.append([(depth, int(parents[g[0]]), g) for g in np.split(order, cuts)
                         if len(g)])
    spans = [([col[c] for c in p.parts], col[p.total]) for p in partitions]
    for _ in range(sum(len(lv) for lv in levels) * len(columns) + 1):
        changed = False
        for family in families:
            for depth, parent, members in family:
                for parts, total in spans:
                    cols = [*parts, total]
                    cells = values[depth][np.ix_(members, parts)]
                    top = values[depth - 1][parent, cols]
                    before = np.vstack([hidden[depth][np.ix_(members, cols)],
                                        hidden[depth - 1][parent, cols][None, :]])
                    after = _protect_one(cells, top, before, min_cell)
                    if (after != before).any():
                        changed = True
                        hidden[depth][np.ix_(members, cols)] = after[:-1]
                        hidden[depth - 1][parent, cols] = after[-1]
        if not changed:
            break
    masks = []
    for lv, v, h in zip(levels, values, hidden, strict=True):
        h |= (v > 0) & (v < min_cell)  # a top level alone: the primary rule only
        masks.append(pd.DataFrame(h, index=lv.index, columns=columns))
    return masks


def _sum_hidden(mask: dict[str, np.ndarray], p: Partition, parts: tuple[str, ...]
                ) -> np.ndarray:
    """Whether a published sum of ``parts`` would reveal a suppressed part."""
    inside = np.logical_or.reduce([mask[c] for c in parts])
    outside = mask[p.total].copy()
    for c in p.parts:
        if c not in parts:
            outside |= mask[c]
    return inside & outside


def _apply(
    frame: pd.DataFrame, mask: pd.DataFrame, partitions: Sequence[Partition],
    basis: dict[str, tuple[str, ...]],
) -> pd.DataFrame:
    """Blank the suppressed counts, the unsafe sums and the figures on suppressed populations.

    On numpy arrays, column by column (a scenario in the app is published on every edit).
    """
    flags = {c: mask[c].to_numpy(bool) for c in mask.columns}
    none = np.zeros(len(frame), dtype=bool)
    hide: dict[str, np.ndarray] = {}
    for p in partitions:
        for c in (p.total, *p.parts):
            hide[c] = hide.get(c, none) | flags[c]
        for column, parts in p.sums.items():
            hide[column] = _sum_hidden(flags, p, parts)
    for column, bases in basis.items():
        acc = hide.get(column, none)
        for b in bases:
            acc = acc | hide.get(b, none)
        hide[column] = acc
    columns = {c: (_masked(frame[c], hide[c]) if c in hide else frame[c])
               for c in frame.columns}
    out = pd.DataFrame(columns, index=frame.index)
    out.columns = frame.columns  # the frame's column index as it was (its name, its type)
    return out


def _masked(values: pd.Series, hidden: np.ndarray) -> pd.Series | pd.api.extensions.ExtensionArray:
    """Return ``values`` as a nullable array, missing where ``hidden`` or missing already.

    ``boolean``, ``Int64`` or ``Float64`` (as ``astype`` would make them); other types are
    masked as they are.
    """
    dtype = values.dtype
    missing = values.isna().to_numpy() | hidden
    if pd.api.types.is_bool_dtype(dtype):
        return pd.arrays.BooleanArray(values.to_numpy(dtype=bool, na_value=False), missing)
    if pd.api.types.is_integer_dtype(dtype):
        return pd.arrays.IntegerArray(values.to_numpy(dtype=np.int64, na_value=0), missing)
    if pd.api.types.is_float_dtype(dtype):
        return pd.arrays.FloatingArray(values.to_numpy(dtype=np.float64, na_value=np.nan),
                                       missing)
    return values.mask(hidden)


# ------------------------------------------------------------------------------------------
# community_summary / district_summary


def _bands(frame: pd.DataFrame, group: str, pop: str, thresholds: Sequence[float],
           unreachable: str | None) -> dict[str, np.ndarray]:
    """Disjoint time bands of one group: within t1, t1–t2, ..., beyond (reachable), unreachable."""
    total = frame[pop].to_numpy(np.float64)
    cum = [np.rint(frame[f"coverage_{threshold_label(t)}_{group}"].fillna(0).to_numpy(float)
                   * total) for t in thresholds]
    out, prev = {}, np.zeros(len(frame))
    for t, c in zip(thresholds, cum, strict=True):
        out[f"_{group}_band_{threshold_label(t)}"] = (c - prev).astype(np.int64)
        prev = c
    rest = np.rint(total - prev).astype(np.int64)
    lost = (frame[unreachable].to_numpy(np.int64) if unreachable
            else np.zeros(len(frame), dtype=np.int64))
    out[f"_{group}_band_beyond"] = rest - lost
    out[f"_{group}_band_unreachable"] = lost
    return out


def _summary_partitions(thresholds: Sequence[float]) -> list[Partition]:
    parts = []
    for group, pop in (("migrant", "migrants"), ("registered", "registered_pop")):
        bands = tuple(f"_{group}_band_{threshold_label(t)}" for t in thresholds)
        names = (*bands, f"_{group}_band_beyond", f"_{group}_band_unreachable")
        sums = {f"coverage_{threshold_label(t)}_{group}": bands[: i + 1]
                for i, t in enumerate(thresholds)}
        if group == "migrant":
            sums["unreachable_migrants"] = (f"_{group}_band_unreachable",)
        parts.append(Partition(pop, names, sums))
    return parts


def _summary_basis(columns: Sequence[str], thresholds: Sequence[float]
                   ) -> dict[str, tuple[str, ...]]:
    both = ("migrants", "registered_pop")
    basis: dict[str, tuple[str, ...]] = {
        "staff_per_1000_migrants": ("migrants",),
        "staff_per_1000_registered": ("registered_pop",),
        "staff_per_1000_total": both,
        "staffing_standard": ("registered_pop",),
        "staff_needed": both,
        "staff_shortfall": both,
        "e2sfca_mean_migrant": ("migrants",),
        "e2sfca_mean_registered": ("registered_pop",),
        "staff_ratio_gap": both,
    }
    for t in thresholds:
        lab = threshold_label(t)
        basis[f"coverage_gap_{lab}"] = (f"coverage_{lab}_migrant", f"coverage_{lab}_registered")
    for c in columns:
        if c.startswith(("gini_", "theil_")):
            basis[c] = ("migrants",) if c.endswith("_migrant") else ("registered_pop",)
    return {k: v for k, v in basis.items() if k in columns}


def publish_summaries(
    district_summary: pd.DataFrame,
    community_summary: pd.DataFrame,
    thresholds: Sequence[float],
    *,
    min_cell: int = DEFAULT_MIN_CELL,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``district_summary`` and ``community_summary`` as they may be published.

    The two are protected together (city → districts → communities): suppressed counts and
    every figure that would reveal them are missing. Other columns are unchanged.
    """
    city = district_summary[district_summary["level"] == "city"].set_index("district")
    districts = district_summary[district_summary["level"] == "district"].set_index("district")
    comm = pd.DataFrame(community_summary.drop(columns="geometry", errors="ignore"))
    comm = comm.set_index("community_id")
    levels = []
    unreachable = "unreachable_migrants" if "unreachable_migrants" in comm.columns else None
    for frame in (city, districts, comm):
        counts: dict[str, np.ndarray] = {}
        for group, pop in (("migrant", "migrants"), ("registered", "registered_pop")):
            counts[pop] = np.rint(frame[pop].to_numpy(float)).astype(np.int64)
            counts.update(_bands(frame, group, pop, thresholds,
                                 unreachable if group == "migrant" else None))
        levels.append(pd.DataFrame(counts, index=frame.index))
    # the parents' parts are the sums of their units' (rounding of shares cannot drift)
    parts = [c for c in levels[2].columns if c.startswith("_")]
    levels[1][parts] = levels[2][parts].groupby(comm["district"]).sum().reindex(
        levels[1].index).fillna(0).astype(np.int64)
    levels[0][parts] = levels[1][parts].sum().to_numpy()[None, :]
    partitions = _summary_partitions(thresholds)
    masks = protect_levels(
        levels,
        [pd.Series(city.index[0], index=districts.index), comm["district"]],
        partitions, min_cell=min_cell)
    basis = _summary_basis([*district_summary.columns, *community_summary.columns], thresholds)
    out_d = pd.concat([_apply(districts, masks[1], partitions, basis),
                       _apply(city, masks[0], partitions, basis)]).reset_index()
    out_d = out_d[list(district_summary.columns)]
    out_c = _apply(comm, masks[2], partitions, basis).reset_index()
    out_c = out_c[[c for c in community_summary.columns if c != "geometry"]]
    if "geometry" in community_summary.columns:
        out_c = gpd.GeoDataFrame(out_c, geometry=community_summary.geometry.to_numpy(),
                                 crs=community_summary.crs)
    return out_d, out_c


# ------------------------------------------------------------------------------------------
# indicators

_INDICATOR_PARTITION = Partition(
    "group_size", ("achieved", "_not_achieved", "unknown"),
    {"population": ("achieved", "_not_achieved")})
_INDICATOR_BASIS = {"value": ("population", "achieved"), "met": ("population", "achieved"),
                    "people_needed": ("population", "achieved")}
#: Indicators that count communities, not people (nothing to protect).
NOT_PEOPLE = ("community_management",)


def publish_indicators(
    indicators: pd.DataFrame,
    community_district: pd.Series,
    *,
    min_cell: int = DEFAULT_MIN_CELL,
) -> pd.DataFrame:
    """Return the ``indicators`` layer as it may be published (city, districts, communities).

    Parameters
    ----------
    indicators
        The ``indicators`` layer.
    community_district
        District of each community (index: community id).
    min_cell
        Smallest published non-zero count.
    """
    pieces = []
    for key, table in indicators.groupby("indicator", sort=False):
        if key in NOT_PEOPLE:
            pieces.append(table)
            continue
        table = table.copy()
        table["_not_achieved"] = table["population"] - table["achieved"]
        lv = [table[table["level"] == name].set_index("unit")
              for name in ("city", "district", "community")]
        counts = [frame[["group_size", "achieved", "_not_achieved", "unknown"]].astype(np.int64)
                  for frame in lv]
        parents = [pd.Series(lv[0].index[0], index=lv[1].index),
                   community_district.reindex(lv[2].index).astype(str)]
        masks = protect_levels(counts, parents, [_INDICATOR_PARTITION], min_cell=min_cell)
        done = [_apply(frame, mask, [_INDICATOR_PARTITION], _INDICATOR_BASIS).reset_index()
                for frame, mask in zip(lv, masks, strict=True)]
        pieces.append(pd.concat(done).drop(columns="_not_achieved"))
    out = pd.concat(pieces, ignore_index=True)[list(indicators.columns)]
    order = {name: i for i, name in enumerate(indicators["indicator"].unique())}
    level = {"city": 0, "district": 1, "community": 2}
    return (out.assign(_l=out["level"].map(level), _i=out["indicator"].map(order))
            .sort_values(["_l", "_i"], kind="stable").drop(columns=["_l", "_i"])
            .reset_index(drop=True))


def publish_rows(table: pd.DataFrame, *, min_cell: int = DEFAULT_MIN_CELL) -> pd.DataFrame:
    """Return rows of indicator counts (e.g. ``indicator_quarters``) as they may be published.

    Each row is protected on its own (served, not served and no record add up to the group),
    as the rows of such a table do not add up to a published total.
    """
    if not len(table):
        return table.copy()
    frame = table.reset_index(drop=True).copy()
    frame["_not_achieved"] = frame["population"] - frame["achieved"]
    cells = frame[["achieved", "_not_achieved", "unknown"]].to_numpy(np.int64)
    mask = suppression_mask(cells, min_cell=min_cell, column_totals=False)[:-1]
    flags = pd.DataFrame(mask, columns=["achieved", "_not_achieved", "unknown", "group_size"])
    out = _apply(frame, flags, [_INDICATOR_PARTITION], _INDICATOR_BASIS)
    return out.drop(columns="_not_achieved")


_COVERAGE_COLUMN = re.compile(r"coverage_(\d+(?:\.\d+)?)min_migrant")


def summary_thresholds(columns: Sequence[str]) -> tuple[float, ...]:
    """Return the time thresholds (minutes) of a summary's ``coverage_<t>min_migrant`` columns."""
    return tuple(sorted({float(m[1]) for c in columns if (m := _COVERAGE_COLUMN.fullmatch(c))}))


def publish_funding(funding: pd.DataFrame, published_summary: pd.DataFrame) -> pd.DataFrame:
    """Return the ``funding`` layer as it may be published beside a published summary.

    Budgets are no counts of people and are shown as they are; a figure per person of a unit
    (the city or a district) whose migrants the published summary withholds is withheld too,
    since the budget and the figure would give the count back.

    Parameters
    ----------
    funding
        The ``funding`` layer (``level``, ``district`` and the ``funding_*`` columns).
    published_summary
        The published ``district_summary`` (:func:`publish_summaries`).
    """
    frame = pd.DataFrame(funding).copy()
    summary = published_summary.set_index(["level", "district"])
    keys = pd.MultiIndex.from_frame(frame[["level", "district"]])
    hidden = ~summary["migrants"].reindex(keys).notna().to_numpy(bool)
    per_capita = [c for c in frame.columns if c.endswith("_per_capita")]
    frame.loc[hidden, per_capita] = np.nan
    for count in ("migrants", "registered_pop"):  # the counts as the summary publishes them
        if count in frame and count in summary:
            frame[count] = summary[count].reindex(keys).to_numpy()
    return frame
