"""The summary steps of :func:`coverage.engine.run.run_study`: per community, per district and city.

They take the tables the earlier steps computed (nearest service point and E2SFCA score of
every migrant and registered-resident point) and return the ``community_summary`` and
``district_summary`` layers; the columns are documented in ``docs/outputs.md``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage.engine.summary import (
    CITY,
    Units,
    coverage_shares_of,
    e2sfca_means,
    people_sums,
    unit_totals,
)
from coverage.io.loaders import StudyData
from coverage.measures.equalization import gini, theil, threshold_label
from coverage.measures.staffing import PER, RATE_COLUMNS, staff_rate, staffing_of_counts

__all__ = ["community_summary", "district_summary", "level_sums", "summaries",
           "summaries_of_sums"]


def level_sums(
    units: Units, thresholds: tuple[float, ...], access: pd.DataFrame, near_r: pd.DataFrame,
    registered: pd.DataFrame, registered_score: np.ndarray,
) -> dict[str, pd.DataFrame]:
    """Add the people up per community, per district and for the city (:func:`people_sums`).

    Each level's table: people, people within each threshold, E2SFCA sums and the
    unreachable migrants; what a partition of the migrants adds to the whole city's
    (:mod:`coverage.engine.partitioned` adds the partitions' tables).
    """
    people = {"migrant_time": access["time_min"].to_numpy(float),
              "registered_time": near_r["time_min"].to_numpy(float),
              "registered_pop": registered["population"].to_numpy(float),
              "migrant_score": access["e2sfca"].to_numpy(float),
              "registered_score": np.asarray(registered_score, dtype=float),
              "migrant_unreachable": access["unreachable_reason"].notna().to_numpy()}
    return {level: people_sums(units, level, thresholds, **people)
            for level in ("community", "district", "city")}


def summaries(
    study: StudyData, access: pd.DataFrame, near_r: pd.DataFrame,
    registered: gpd.GeoDataFrame, registered_score: np.ndarray,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Return the ``community_summary`` and ``district_summary`` layers.

    The people are placed in their units once (:meth:`Units.of`) for both.
    """
    units = Units.of(study.communities, access["community_id"].to_numpy(),
                     registered["community_id"].to_numpy())
    sums = level_sums(units, study.project.parameters.thresholds_min, access, near_r,
                      registered, registered_score)
    return summaries_of_sums(study, sums)


def summaries_of_sums(study: StudyData, sums: dict[str, pd.DataFrame]
                      ) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Return the two summary layers from the people added up per level (:func:`level_sums`)."""
    params = study.project.parameters
    communities = community_summary(study, sums["community"])
    units = Units.of(study.communities, [], [])
    districts = district_summary(communities, sums, params.thresholds_min, units=units,
                                 min_population=params.rate_min_population)
    return communities, districts


def community_summary(study: StudyData, sums: pd.DataFrame) -> gpd.GeoDataFrame:
    """Compute staffing, equalization and mean E2SFCA scores per community, with its polygon.

    ``sums`` holds the people of each community added up (:func:`level_sums`, in the
    communities' order): travel times within each threshold, E2SFCA sums (the community's
    mean score for registered residents is weighted by their population, the migrants' is a
    plain mean over people) and unreachable migrants. Communities keep the order of
    ``study.communities``.
    """
    params = study.project.parameters
    thresholds = params.thresholds_min
    communities = study.communities
    ids = communities["community_id"].to_numpy()
    counts = pd.Series(sums["migrants"].to_numpy(float).round().astype(np.int64), index=ids)
    staffing = staffing_of_counts(communities, counts, study.sites,
                                  standard=params.staffing_standard,
                                  min_population=params.rate_min_population)
    sums = sums.set_axis(staffing.index)
    summary = staffing.join(pd.DataFrame(coverage_shares_of(sums, thresholds),
                                         index=staffing.index))
    summary["e2sfca_mean_migrant"], summary["e2sfca_mean_registered"] = e2sfca_means(sums)
    summary["staff_ratio_gap"] = summary["e2sfca_mean_registered"] - summary[
        "e2sfca_mean_migrant"]
    summary["unreachable_migrants"] = sums["unreachable_migrants"].to_numpy(float).round(
        ).astype(np.int64)
    table = gpd.GeoDataFrame(
        summary.reset_index(),
        geometry=communities.geometry.to_numpy(), crs=communities.crs)
    names = communities.set_index("community_id")
    table.insert(1, "name", names["name"].reindex(summary.index).to_numpy())
    if "street" in names:
        table.insert(3, "street", names["street"].reindex(summary.index).to_numpy())
    table["boundary_approximate"] = study.approximate_boundaries
    return table


def district_summary(
    communities: pd.DataFrame,
    sums: dict[str, pd.DataFrame],
    thresholds: tuple[float, ...],
    *,
    units: Units,
    min_population: int,
) -> pd.DataFrame:
    """Compute the totals per district and for the city; coverage from people, not averages.

    ``communities`` is the community summary (:func:`community_summary`); coverage shares
    count the people of each district and of the city (``sums``, :func:`level_sums`: the
    migrants, and the registered residents weighted by population), and the Gini and Theil
    indices weigh the communities by their people. The staff ratios are empty for fewer than
    ``min_population`` people (:func:`coverage.measures.staffing.staff_rate`). The city row
    comes last.
    """
    shares = {level: pd.DataFrame(coverage_shares_of(sums[level], thresholds))
              for level in ("district", "city")}
    added = ("staff", "staff_needed", "staff_shortfall", "migrants", "registered_pop",
             "unreachable_migrants")
    columns = {c: communities[c].to_numpy(float) for c in added}
    totals = {level: unit_totals(units.codes(level)[3], columns, len(units.codes(level)[0]))
              for level in ("district", "city")}
    rows = []
    max_lab = threshold_label(max(thresholds))
    for k, unit in enumerate([*units.districts, None]):
        level = "city" if unit is None else "district"
        sel = communities if unit is None else communities[communities["district"] == unit]
        total = totals[level].iloc[0 if unit is None else k]
        staff = total["staff"]
        mig, reg = int(total["migrants"]), int(total["registered_pop"])
        people = mig + reg
        row: dict[str, object] = {
            "level": level,
            "district": CITY if unit is None else str(unit),
            "communities": len(sel),
            "migrants": mig,
            "registered_pop": reg,
            "staff": staff,
            **{col: float(staff_rate(staff, n, min_population=min_population)[0])
               for col, n in zip(RATE_COLUMNS, (mig, reg, people), strict=True)},
            "staffing_standard": total["staff_needed"] / people * PER if people else np.nan,
            "staff_needed": total["staff_needed"],
            "staff_shortfall": total["staff_shortfall"],
        }
        row.update(shares[level].iloc[0 if unit is None else k])
        weights_m = sel["migrants"].to_numpy(float)
        weights_r = sel["registered_pop"].to_numpy(float)
        row[f"gini_{max_lab}_migrant"] = gini(sel[f"coverage_{max_lab}_migrant"], weights_m)
        row[f"gini_{max_lab}_registered"] = gini(sel[f"coverage_{max_lab}_registered"],
                                                  weights_r)
        row[f"theil_{max_lab}_migrant"] = theil(sel[f"coverage_{max_lab}_migrant"], weights_m)
        row[f"theil_{max_lab}_registered"] = theil(sel[f"coverage_{max_lab}_registered"],
                                                    weights_r)
        row["unreachable_migrants"] = int(total["unreachable_migrants"])
        rows.append(row)
    return pd.DataFrame(rows)
