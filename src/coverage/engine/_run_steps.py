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
from coverage.measures.staffing import PER, RATE_COLUMNS, community_staffing, staff_rate

__all__ = ["community_summary", "district_summary", "summaries"]


def summaries(
    study: StudyData, access: pd.DataFrame, near_r: pd.DataFrame,
    registered: gpd.GeoDataFrame, registered_score: np.ndarray,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Return the ``community_summary`` and ``district_summary`` layers.

    The people are placed in their units once (:meth:`Units.of`) for both.
    """
    units = Units.of(study.communities, access["community_id"].to_numpy(),
                     registered["community_id"].to_numpy())
    communities = community_summary(study, access, near_r, registered, registered_score, units)
    params = study.project.parameters
    districts = district_summary(communities, access, near_r, registered,
                                 params.thresholds_min, units=units,
                                 min_population=params.rate_min_population)
    return communities, districts


def community_summary(
    study: StudyData, access: pd.DataFrame, near_r: pd.DataFrame,
    registered: gpd.GeoDataFrame, registered_score: np.ndarray, units: Units,
) -> gpd.GeoDataFrame:
    """Compute staffing, equalization and mean E2SFCA scores per community, with its polygon.

    ``access`` holds the nearest service point and E2SFCA score of each migrant (column
    ``e2sfca``), ``near_r`` the nearest service point of each registered-resident point and
    ``registered_score`` its E2SFCA score; the community's mean score for registered residents
    is weighted by their population, the migrants' is a plain mean over people. ``units``
    places the migrants and points in their communities (:meth:`Units.of`, made once for
    both summaries). Communities keep the order of ``study.communities``.
    """
    params = study.project.parameters
    thresholds = params.thresholds_min
    communities = study.communities
    staffing = community_staffing(communities, study.migrants, study.sites,
                                  standard=params.staffing_standard,
                                  min_population=params.rate_min_population)
    sums = people_sums(units, "community", thresholds,
                       migrant_time=access["time_min"].to_numpy(float),
                       registered_time=near_r["time_min"].to_numpy(float),
                       registered_pop=registered["population"].to_numpy(float),
                       migrant_score=access["e2sfca"].to_numpy(float),
                       registered_score=np.asarray(registered_score, dtype=float))
    summary = staffing.join(pd.DataFrame(coverage_shares_of(sums, thresholds),
                                         index=staffing.index))
    summary["e2sfca_mean_migrant"], summary["e2sfca_mean_registered"] = e2sfca_means(sums)
    summary["staff_ratio_gap"] = summary["e2sfca_mean_registered"] - summary[
        "e2sfca_mean_migrant"]
    unreachable = access["unreachable_reason"].notna().groupby(
        access["community_id"].to_numpy()).sum()
    summary["unreachable_migrants"] = unreachable.reindex(summary.index, fill_value=0).astype(
        np.int64).to_numpy()
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
    access: pd.DataFrame,
    near_r: pd.DataFrame,
    registered: pd.DataFrame,
    thresholds: tuple[float, ...],
    *,
    units: Units,
    min_population: int,
) -> pd.DataFrame:
    """Compute the totals per district and for the city; coverage from people, not averages.

    ``communities`` is the community summary (:func:`community_summary`); coverage shares
    count the migrants of ``access`` and the registered residents of ``near_r`` (weighted by
    population) in each district, and the Gini and Theil indices weigh the communities by
    their people. The staff ratios are empty for fewer than ``min_population`` people
    (:func:`coverage.measures.staffing.staff_rate`). The city row comes last.
    """
    people = {"migrant_time": access["time_min"].to_numpy(float),
              "registered_time": near_r["time_min"].to_numpy(float),
              "registered_pop": registered["population"].to_numpy(float)}
    shares = {level: pd.DataFrame(coverage_shares_of(
        people_sums(units, level, thresholds, **people), thresholds))
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
