"""The summary steps of :func:`coverage.engine.run.run_study`: per community, per district and city.

They take the tables the earlier steps computed (nearest service point and E2SFCA score of
every migrant and registered-resident point) and return the ``community_summary`` and
``district_summary`` layers; the columns are documented in ``docs/outputs.md``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage.io.loaders import StudyData
from coverage.measures.equalization import (
    coverage_shares,
    coverage_trio,
    equalization_table,
    gini,
    theil,
    threshold_label,
)
from coverage.measures.staffing import PER, community_staffing

__all__ = ["community_summary", "district_summary"]


def community_summary(
    study: StudyData, access: pd.DataFrame, near_r: pd.DataFrame,
    registered: gpd.GeoDataFrame, registered_score: np.ndarray,
) -> gpd.GeoDataFrame:
    """Compute staffing, equalization and mean E2SFCA scores per community, with its polygon.

    ``access`` holds the nearest service point and E2SFCA score of each migrant (column
    ``e2sfca``), ``near_r`` the nearest service point of each registered-resident point and
    ``registered_score`` its E2SFCA score; the community's mean score for registered residents
    is weighted by their population, the migrants' is a plain mean over people. Communities
    keep the order of ``study.communities``.
    """
    params = study.project.parameters
    thresholds = params.thresholds_min
    communities = study.communities
    staffing = community_staffing(communities, study.migrants, study.sites,
                                  standard=params.staffing_standard,
                                  min_population=params.rate_min_population)
    eq = equalization_table(
        pd.Series(access["time_min"].to_numpy()), pd.Series(access["community_id"].to_numpy()),
        pd.Series(near_r["time_min"].to_numpy()),
        pd.Series(registered["community_id"].to_numpy()), thresholds,
        registered_weights=pd.Series(registered["population"].to_numpy(float)),
        index=staffing.index)
    summary = staffing.join(eq)
    cid_m = access["community_id"].to_numpy()
    cid_r = registered["community_id"].to_numpy()
    pop_r = registered["population"].to_numpy(float)
    mig_e2 = pd.Series(access["e2sfca"].to_numpy()).groupby(cid_m).mean()
    reg_e2 = (pd.Series(registered_score * pop_r).groupby(cid_r).sum()
              / pd.Series(pop_r).groupby(cid_r).sum().replace(0, np.nan))
    summary["e2sfca_mean_migrant"] = mig_e2.reindex(summary.index).to_numpy()
    summary["e2sfca_mean_registered"] = reg_e2.reindex(summary.index).to_numpy()
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
) -> pd.DataFrame:
    """Compute the totals per district and for the city; coverage from people, not averages.

    ``communities`` is the community summary (:func:`community_summary`); coverage shares
    count the migrants of ``access`` and the registered residents of ``near_r`` (weighted by
    population) in each district, and the Gini and Theil indices weigh the communities by
    their people. The city row comes last.
    """
    district_of = communities.set_index("community_id")["district"]
    mig_d = access["community_id"].map(district_of)
    reg_d = registered["community_id"].map(district_of)
    rows = []
    units = [*sorted(communities["district"].unique()), None]
    mig_cov = coverage_shares(pd.Series(access["time_min"].to_numpy()),
                              pd.Series(mig_d.fillna("").to_numpy()), thresholds)
    reg_cov = coverage_shares(pd.Series(near_r["time_min"].to_numpy()),
                              pd.Series(reg_d.fillna("").to_numpy()), thresholds,
                              weights=pd.Series(registered["population"].to_numpy(float)))
    city_m = coverage_shares(pd.Series(access["time_min"].to_numpy()),
                             pd.Series(np.zeros(len(access))), thresholds)
    city_r = coverage_shares(pd.Series(near_r["time_min"].to_numpy()),
                             pd.Series(np.zeros(len(near_r))), thresholds,
                             weights=pd.Series(registered["population"].to_numpy(float)))
    max_lab = threshold_label(max(thresholds))
    for unit in units:
        sel = communities if unit is None else communities[communities["district"] == unit]
        staff = sel["staff"].sum()
        mig = int(sel["migrants"].sum())
        reg = int(sel["registered_pop"].sum())
        row: dict[str, object] = {
            "level": "city" if unit is None else "district",
            "district": "全市" if unit is None else unit,
            "communities": len(sel),
            "migrants": mig,
            "registered_pop": reg,
            "staff": staff,
            "staff_per_1000_migrants": staff / mig * PER if mig else np.nan,
            "staff_per_1000_registered": staff / reg * PER if reg else np.nan,
            "staff_per_1000_total": staff / (mig + reg) * PER if mig + reg else np.nan,
            "staffing_standard": sel["staff_needed"].sum() / (mig + reg) * PER
            if mig + reg else np.nan,
            "staff_needed": sel["staff_needed"].sum(),
            "staff_shortfall": sel["staff_shortfall"].sum(),
        }
        mc = city_m.iloc[0] if unit is None else mig_cov.reindex([unit]).iloc[0]
        rc = city_r.iloc[0] if unit is None else reg_cov.reindex([unit]).iloc[0]
        row.update(coverage_trio(mc, rc, thresholds))
        weights_m = sel["migrants"].to_numpy(float)
        weights_r = sel["registered_pop"].to_numpy(float)
        row[f"gini_{max_lab}_migrant"] = gini(sel[f"coverage_{max_lab}_migrant"], weights_m)
        row[f"gini_{max_lab}_registered"] = gini(sel[f"coverage_{max_lab}_registered"],
                                                  weights_r)
        row[f"theil_{max_lab}_migrant"] = theil(sel[f"coverage_{max_lab}_migrant"], weights_m)
        row[f"theil_{max_lab}_registered"] = theil(sel[f"coverage_{max_lab}_registered"],
                                                    weights_r)
        row["unreachable_migrants"] = int(sel["unreachable_migrants"].sum())
        rows.append(row)
    return pd.DataFrame(rows)
