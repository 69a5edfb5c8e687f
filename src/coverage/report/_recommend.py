"""What a report recommends: the new service points and staff, and the action list.

The recommendation section lists the recommended sites (where they are, whom they newly
reach), the staff to add and the city (or district) before and after; the action list turns
those tables, the indicators not met, the early warnings and the cooperation partners into
one sentence each.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage.cartography import site_places
from coverage.maps import safe_link
from coverage.measures.equalization import threshold_label
from coverage.messages import text
from coverage.publish.disclosure import suppress_series
from coverage.report._funding import _cost_part
from coverage.report.content import (
    CITY,
    MapSpec,
    Section,
    _Context,
    _n,
    _pct,
    _scope_indicators,
    _table,
    fmt_value,
)


def _site_areas(ctx: _Context, sites: gpd.GeoDataFrame) -> pd.DataFrame:
    """District and community name of each site (the community polygon it lies in)."""
    comm = ctx.layers["community_summary"][["district", "name", "geometry"]]
    joined = gpd.sjoin(sites[["geometry"]], comm.to_crs(sites.crs), how="left",
                       predicate="within")
    return joined.groupby(level=0)[["district", "name"]].first().reindex(sites.index)


def _new_sites(ctx: _Context, sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the recommended sites with where they are: district, community, place, link.

    ``community_name``, ``road_name``, ``lon_gcj02``/``lat_gcj02`` and ``map_link`` are used
    when the layer has them (results written before they existed lack them): the community
    then comes from the community polygon the site lies in, and the coordinates and the link
    are left out.
    """
    frame = sites.copy()
    where = _site_areas(ctx, sites)
    frame["district"] = where["district"].to_numpy()
    if "community_name" not in frame:
        frame["community_name"] = where["name"].to_numpy()
    frame["place"] = site_places(frame, lang=ctx.t.lang)
    if "map_link" in frame:
        frame["map_link"] = frame["map_link"].map(safe_link)
    return frame


def _staff_places(staff: pd.DataFrame, lang: str) -> pd.Series:
    """Where each service point gaining staff is; a new one is said to be new.

    A recommended new site's ``name`` is its candidate's id when the candidate had no name
    (``new-grid-48235`` / ``grid-48235``): that is no name to find it by.
    """
    ids = staff["site_id"].astype(str)
    new = ids.str.startswith("new-")
    named = staff.assign(name=staff["name"].where(
        ~new | (staff["name"].astype(str) != ids.str.removeprefix("new-")), ""))
    places = site_places(named, lang=lang)
    said = [text("report", "new_site_at", lang, place=p) if n else p
            for p, n in zip(places, new, strict=True)]
    return pd.Series(said, index=staff.index, dtype=object)


def _comparison_formats(metrics: Sequence[str]) -> list[str]:
    out = []
    for c in metrics:
        if c.startswith("coverage_gap_"):
            out.append("pp")
        elif c.startswith("coverage"):
            out.append("pct")
        elif c in {"staff", "staff_shortfall"}:
            out.append("f1")
        else:
            out.append("f2")
    return out


def _recommend_section(ctx: _Context, rec: dict[str, pd.DataFrame]) -> Section:
    t, lab = ctx.t, ctx.lab
    s = Section("recommend", t("sec_recommend"))
    sites = rec.get("recommended_sites")
    staff = rec.get("recommended_staff")
    if sites is None and staff is None:
        s.paragraphs.append(t("txt_no_recommend"))
        return s
    objective = str(sites["objective"].iloc[0]) if sites is not None and len(sites) else ""
    s.paragraphs.append(t("txt_recommend", objective=t.m.get(f"obj_{objective}", objective)))
    if sites is not None and len(sites) and not len(ctx.in_scope(_new_sites(ctx, sites))):
        s.paragraphs.append(t("txt_no_new_sites"))
    elif sites is not None and len(sites):
        frame = ctx.in_scope(_new_sites(ctx, sites))
        newly = f"migrants_newly_within_{lab}"
        frame[newly] = suppress_series(frame[newly].round().astype(np.int64), total=False,
                                       min_cell=ctx.min_cell).to_numpy()
        cols = ["rank", "place", "district", "staff", newly,
                f"coverage_{lab}_migrant_before", f"coverage_{lab}_migrant_after",
                *(c for c in ("lon_gcj02", "lat_gcj02", "map_link") if c in frame),
                "candidate_id"]
        s.tables.append(_table(t, "new_sites", frame[cols], "recommended_sites"))
        drawn = [*cols, "name", "road_name", "community_name"]
        s.maps.append(MapSpec("recommended", t("map_recommended"), "recommended",
                              gpd.GeoDataFrame(frame[[c for c in drawn if c in frame]],
                                               geometry=frame.geometry.to_numpy(),
                                               crs=sites.crs),
                              background=ctx.in_scope(ctx.communities)))
    if staff is not None and len(staff) and not len(ctx.in_scope(staff)):
        s.paragraphs.append(t("txt_no_new_staff"))
    elif staff is not None and len(staff):
        frame = ctx.in_scope(staff).copy()
        frame["place"] = _staff_places(frame, t.lang).to_numpy()
        if "map_link" in frame:
            frame["map_link"] = frame["map_link"].map(safe_link)
        cols = ["site_id", "place", "district", "new_staff", "staff_before", "staff_after",
                *(c for c in ("map_link",) if c in frame)]
        s.tables.append(_table(t, "new_staff", frame[cols], "recommended_staff"))
    comp = rec.get("scenario_comparison")
    if comp is not None:
        level = "district" if ctx.district else "city"
        unit = ctx.district or CITY
        sel = comp[(comp["level"] == level) & (comp["unit"] == unit)].set_index("scenario")
        if {"baseline", "recommended"} <= set(sel.index):
            metrics = [c for c in (*(f"coverage_{threshold_label(x)}_migrant"
                                     for x in ctx.thresholds),
                                   f"coverage_gap_{lab}", "e2sfca_mean_migrant", "staff",
                                   "staff_shortfall", "staff_per_1000_total") if c in sel]
            frame = pd.DataFrame({
                "metric": [t.col(c) for c in metrics],
                "before": sel.loc["baseline", metrics].astype(float).to_numpy(),
                "after": sel.loc["recommended", metrics].astype(float).to_numpy()})
            frame["change"] = frame["after"] - frame["before"]
            table = _table(t, "comparison", frame, "scenario_comparison")
            table.formats = {"metric": "text", "before": "row", "after": "row",
                             "change": "row_change"}
            table.row_formats = _comparison_formats(metrics)
            s.tables.append(table)
    _cost_part(ctx, s, rec.get("recommendation_cost"))
    return s


def _actions(ctx: _Context, rec: dict[str, pd.DataFrame], warn: pd.DataFrame,
             partners: pd.DataFrame) -> Section:
    t, lab = ctx.t, ctx.lab
    s = Section("actions", t("sec_actions"))
    minutes = f"{max(ctx.thresholds):g}"
    for table in ctx.section_tables.get("new_sites", []):
        for _, r in table.frame.iterrows():
            place = r["place"]
            if pd.notna(r.get("lon_gcj02")) and pd.notna(r.get("lat_gcj02")):
                place = t("place_coords", place=place, lon=fmt_value(r["lon_gcj02"], "coord", "en"),
                          lat=fmt_value(r["lat_gcj02"], "coord", "en"))
            if safe_link(r.get("map_link")):
                s.links[len(s.bullets)] = r["map_link"]
            n = r[f"migrants_newly_within_{lab}"]
            if pd.isna(n):
                s.bullets.append(t("act_site_suppressed", place=place, staff=f"{r['staff']:g}"))
            else:
                s.bullets.append(t("act_site", place=place, staff=f"{r['staff']:g}",
                                   n=_n(n), t=minutes))
    for table in ctx.section_tables.get("new_staff", []):
        for _, r in table.frame.iterrows():
            if safe_link(r.get("map_link")):
                s.links[len(s.bullets)] = r["map_link"]
            s.bullets.append(t("act_staff", place=r["place"], district=r["district"],
                               n=f"{r['new_staff']:g}", before=f"{r['staff_before']:g}",
                               after=f"{r['staff_after']:g}"))
    ind = _scope_indicators(ctx)
    for _, r in ind[ind["met"].astype("boolean").eq(False).fillna(False)].iterrows():
        value, target = _pct(r["value"]), _pct(r["target"])
        name = t.ind[r["indicator"]]
        if pd.isna(r["people_needed"]):
            s.bullets.append(t("act_indicator_suppressed", indicator=name, value=value,
                               target=target))
        else:
            s.bullets.append(t("act_indicator", indicator=name, value=value, target=target,
                               n=_n(r["people_needed"])))
    if len(warn):
        sep = "、" if t.lang == "zh" else ", "
        s.bullets.append(t("act_warning", names=sep.join(warn["name"].astype(str).head(5))))
    if len(partners):
        name = "origin_name_zh" if t.lang == "zh" else "origin_name_en"
        top = partners.groupby(name)["migrants"].sum().sort_values(ascending=False).head(5)
        sep = "、" if t.lang == "zh" else ", "
        s.bullets.append(t("act_partner", origins=sep.join(top.index.astype(str))))
    if not s.bullets:
        s.bullets.append(t("act_none"))
    return s


