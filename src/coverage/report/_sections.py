"""The sections of a report that describe the results (all but the recommendations).

The summary, indicators, equalization (with funding, :mod:`coverage.report._funding`),
rankings, maps, trends, origins and methods. Each takes
the report's :class:`~coverage.report.content._Context` (published tables, texts, scope) and
returns a :class:`~coverage.report.content.Section`; the recommendations and the action list
are in :mod:`coverage.report._recommend`.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage.measures.availability import reason_text
from coverage.measures.indicators import INDICATORS
from coverage.messages import text
from coverage.patterns.origins import cooperation_partners
from coverage.publish.disclosure import shown_rows
from coverage.publish.tables import NOT_PEOPLE, publish_rows
from coverage.report._funding import _funding_part
from coverage.report.content import (
    CITY,
    TOP_N,
    MapSpec,
    Section,
    _Context,
    _layer_name,
    _n,
    _not_computed,
    _param_label,
    _param_value,
    _pct,
    _reasons,
    _scope_indicators,
    _table,
    fmt_value,
)


def _summary(ctx: _Context, rec: dict[str, pd.DataFrame], warnings: int) -> Section:
    t, row = ctx.t, ctx.scope_row
    lab = ctx.lab
    sites = ctx.layers["site_catchments"]
    if ctx.district:
        sites = sites[sites["community_id"].isin(
            ctx.communities.loc[ctx.communities["district"] == ctx.district, "community_id"])]
    s = Section("summary", t("sec_summary"))
    s.paragraphs.append(t("sum_people", migrants=_n(row["migrants"]),
                          registered=_n(row["registered_pop"]),
                          staff=fmt_value(row["staff"], "f1", t.lang), sites=f"{len(sites):,}"))
    gap = row[f"coverage_gap_{lab}"]
    s.paragraphs.append(t(
        "sum_coverage", t=f"{max(ctx.thresholds):g}",
        mode=t(f"mode_{ctx.info.get('mode', 'walk')}"),
        migrant=_pct(row[f"coverage_{lab}_migrant"]),
        registered=_pct(row[f"coverage_{lab}_registered"]),
        gap="—" if pd.isna(gap) else f"{100 * float(gap):+.1f}"))
    s.paragraphs.append(t(
        "sum_staff", standard=fmt_value(row["staffing_standard"], "f2", t.lang),
        needed=fmt_value(row["staff_needed"], "f1", t.lang),
        staff=fmt_value(row["staff"], "f1", t.lang),
        shortfall=fmt_value(row["staff_shortfall"], "f1", t.lang)))
    ind = _scope_indicators(ctx)
    met = ind["met"].astype("boolean")
    s.paragraphs.append(t("sum_indicators", met=int(met.fillna(False).sum()),
                          not_met=int((~met).fillna(False).sum())))
    comp = rec.get("scenario_comparison")
    if comp is not None and "recommended" in set(comp["scenario"]):
        level = "district" if ctx.district else "city"
        unit = ctx.district or CITY
        col = f"coverage_{lab}_migrant"
        sel = comp[(comp["level"] == level) & (comp["unit"] == unit)].set_index("scenario")
        n_sites = len(rec.get("recommended_sites", ()))
        n_staff = (float(rec["recommended_staff"]["new_staff"].sum())
                   if "recommended_staff" in rec else 0.0)
        if {"baseline", "recommended"} <= set(sel.index):
            s.paragraphs.append(t("sum_recommend", sites=n_sites, staff=f"{n_staff:g}",
                                  t=f"{max(ctx.thresholds):g}",
                                  before=_pct(sel.loc["baseline", col]),
                                  after=_pct(sel.loc["recommended", col])))
    s.paragraphs.append(t("sum_warnings", n=warnings))
    return s


def _indicator_section(ctx: _Context) -> Section:
    t = ctx.t
    s = Section("indicators", t("sec_indicators"), paragraphs=[t("txt_indicators")])
    s.bullets += [f"{t.ind[k]}: {reason_text(ctx.info[f'skipped:indicator:{k}'], t.lang)}"
                  for k in t.ind if f"skipped:indicator:{k}" in ctx.info]
    if any(f"skipped:indicator:{i.key}" not in ctx.info for i in INDICATORS):
        s.paragraphs += _not_computed(ctx, "indicator_quarters")  # no use saying it otherwise
    ind = _scope_indicators(ctx).copy()
    ind.insert(0, "indicator_name", ind["indicator"].map(t.ind))
    cols = ["indicator_name", "population", "achieved", "value", "target", "met",
            "people_needed"]
    s.tables.append(_table(t, "indicators", ind[cols], "indicators",
                           labels={"indicator_name": t("col_indicator")},
                           not_people=ind["indicator"].isin(NOT_PEOPLE)))
    quarters = ctx.layers.get("indicator_quarters")
    if quarters is not None and len(quarters):
        level = "district" if ctx.district else "city"
        unit = ctx.district or "city"
        q = quarters[(quarters["level"] == level) & (quarters["unit"] == unit)]
        q = publish_rows(q, min_cell=ctx.min_cell)
        q = q.assign(indicator_name=q["indicator"].map(t.ind))
        cols = ["quarter", "indicator_name", "population", "achieved", "value", "target",
                "met"]
        s.tables.append(_table(t, "quarters", q[cols], "indicator_quarters",
                               labels={"indicator_name": t("col_indicator")}))
    return s


def _equal_section(ctx: _Context) -> Section:
    t, lab = ctx.t, ctx.lab
    s = Section("equal", t("sec_equal"), paragraphs=[t("txt_equal", t=f"{max(ctx.thresholds):g}")])
    s.paragraphs += _not_computed(ctx, "registered_comparison", prefix="estimated")
    cols = ["migrants", "registered_pop", "staff", "staff_per_1000_migrants",
            "staff_per_1000_registered", f"coverage_{lab}_migrant", f"coverage_{lab}_registered",
            f"coverage_gap_{lab}", "staff_needed", "staff_shortfall"]
    if ctx.district is None:
        frame = ctx.districts.copy()
        frame["unit_name"] = frame["district"].where(frame["level"] != "city", t("scope_city"))
        cols += [f"gini_{lab}_migrant", f"gini_{lab}_registered"]
        source = "district_summary"
    else:
        comm = ctx.communities[ctx.communities["district"] == ctx.district]
        total = ctx.districts[(ctx.districts["level"] == "district")
                              & (ctx.districts["district"] == ctx.district)]
        frame = pd.concat([pd.DataFrame(comm.drop(columns="geometry")).assign(
            unit_name=comm["name"]), total.assign(unit_name=ctx.district)], ignore_index=True)
        source = "community_summary"
    key = "districts" if ctx.district is None else "communities"
    s.tables.append(_table(t, key, frame[["unit_name", *cols]], source,
                           labels={"unit_name": t("col_unit")}))
    _funding_part(ctx, s)
    return s


def _ranked(comm: pd.DataFrame, column: str, keep: list[str]) -> tuple[pd.DataFrame, int]:
    """Return the communities with a positive ``column``, largest first, and how many hide.

    Zeros and negative values are not ranked (no gap, no shortfall). The count of hidden
    communities is of those whose value is suppressed (:mod:`coverage.publish.tables`): it
    says nothing of the values themselves.
    """
    values = pd.to_numeric(comm[column], errors="coerce").astype(float)
    ranked = comm[values > 0].assign(_v=values[values > 0]).sort_values(
        "_v", ascending=False, kind="stable").head(TOP_N)
    return ranked[keep], int(values.isna().sum())


def _rank_section(ctx: _Context) -> Section:
    t, lab = ctx.t, ctx.lab
    s = Section("rankings", t("sec_rankings"), paragraphs=[t("txt_rankings", n=TOP_N)])
    comm = pd.DataFrame(ctx.in_scope(ctx.communities).drop(columns="geometry"))
    for key, column, keep, empty in (
            ("shortfall", "staff_shortfall",
             ["community_id", "name", "district", "migrants", "registered_pop", "staff",
              "staff_needed", "staff_shortfall"], "txt_no_shortfall"),
            ("gap", f"coverage_gap_{lab}",
             ["community_id", "name", "district", "migrants", f"coverage_{lab}_migrant",
              f"coverage_{lab}_registered", f"coverage_gap_{lab}"], "txt_no_gap")):
        ranked, hidden = _ranked(comm, column, keep)
        suppressed = [t("txt_rank_suppressed", n=hidden, min=ctx.min_cell)] if hidden else []
        if len(ranked):
            table = _table(t, key, ranked, "community_summary")
            table.notes = suppressed
            s.tables.append(table)
        else:  # nothing to rank: a sentence, not an empty table
            s.paragraphs += [t(empty), *suppressed]
    return s


def _trend_section(ctx: _Context) -> tuple[Section, pd.DataFrame]:
    t = ctx.t
    s = Section("trends", t("sec_trends"), paragraphs=[t("txt_trends")])
    s.paragraphs += _not_computed(ctx, "inflow_trends")
    trends = ctx.layers.get("inflow_trends")
    warn = pd.DataFrame()
    if trends is not None and len(trends):
        tr = pd.DataFrame(trends.drop(columns="geometry", errors="ignore"))
        tr = tr[tr["unit"] == "community"] if "unit" in tr else tr
        tr = ctx.in_scope(tr)
        flag = tr["early_warning"].fillna(0).astype(float) > 0
        ok = tr["migrants"].fillna(0) >= ctx.min_cell
        warn = tr[flag & ok].sort_values("growth_rate", ascending=False, kind="stable")
        if len(warn):
            frame = warn.head(TOP_N).rename(columns={"unit_id": "community_id"})
            for col in ("migrants", "projected_migrants"):  # may be suppressed (missing)
                frame[col] = pd.to_numeric(frame[col], errors="coerce").round().astype("Int64")
            s.tables.append(_table(t, "warnings", frame[[
                "community_id", "name", "district", "migrants", "growth_rate",
                "projected_migrants", "staff", "staff_needed_projected"]], "inflow_trends"))
        else:
            s.paragraphs.append(t("txt_no_warnings"))
    return s, warn


def _origin_section(ctx: _Context) -> tuple[Section, pd.DataFrame]:
    t = ctx.t
    share, top = 0.05, 3
    s = Section("origins", t("sec_origins"),
                paragraphs=[t("txt_origins", share=f"{share:.0%}", top=top)])
    s.paragraphs += _not_computed(ctx, "origin_flows")
    flows = ctx.layers.get("origin_flows")
    partners = pd.DataFrame()
    if flows is not None and len(flows):
        partners = cooperation_partners(pd.DataFrame(flows), origin_level="province",
                                        dest_level="district", min_share=share, top_n=top)
        partners = partners[shown_rows(partners[["suppressed"]])]
        partners = ctx.in_scope(partners)
        name = "origin_name_zh" if t.lang == "zh" else "origin_name_en"
        frame = partners.assign(origin=partners[name])[
            ["district", "rank", "origin", "migrants", "share"]]
        frame["migrants"] = frame["migrants"].round().astype(np.int64)
        s.tables.append(_table(t, "partners", frame, "origin_flows"))
        prov = flows[(flows["origin_level"] == "province") & (flows["dest_level"] == "district")]
        prov = ctx.in_scope(prov)
        s.maps.append(MapSpec("origins", t("map_origins"), "origins", gpd.GeoDataFrame(prov),
                              background=ctx.in_scope(ctx.communities)))
    return s, partners


def _maps_section(ctx: _Context) -> Section:
    t, lab = ctx.t, ctx.lab
    s = Section("maps", t("sec_maps"), paragraphs=[t("txt_maps", n=ctx.min_cell)])
    comm = ctx.in_scope(ctx.communities)
    s.maps += [
        MapSpec("coverage", t("map_coverage", t=f"{max(ctx.thresholds):g}"), "community", comm,
                f"coverage_{lab}_migrant"),
        MapSpec("staff", t("map_staff"), "community", comm, "staff_per_1000_total"),
        MapSpec("gap", t("map_gap"), "community", comm, f"coverage_gap_{lab}"),
    ]
    s.paragraphs += _not_computed(ctx, "hotspots")
    clusters = ctx.layers.get("underserved_clusters")
    if clusters is not None:
        s.maps.append(MapSpec("underserved", t("map_underserved"), "underserved",
                              _clip(ctx, clusters), background=comm))
    spots = ctx.layers.get("hotspots")
    if spots is not None:
        s.maps.append(MapSpec("hotspots", t("map_hotspots"), "hotspots", _clip(ctx, spots),
                              background=comm))
    if _approximate(ctx):
        s.paragraphs.append(t("txt_approximate_boundaries"))
        for spec in s.maps:
            spec.note = t("map_approximate_note")
    return s


def _approximate(ctx: _Context) -> bool:
    """Whether the community boundaries were approximated from the residences."""
    flag = ctx.layers["community_summary"].get("boundary_approximate")
    return ctx.info.get("approximate_boundaries") == "true" or (
        flag is not None and bool(flag.fillna(False).astype(bool).any()))


def _clip(ctx: _Context, layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the rows of an area layer that touch the report's district (all for the city)."""
    if ctx.district is None or not len(layer):
        return layer
    if "district" in layer.columns:
        return layer[layer["district"] == ctx.district]
    area = ctx.in_scope(ctx.layers["community_summary"]).to_crs(layer.crs).union_all()
    return layer[layer.intersects(area)]


def _methods(ctx: _Context) -> Section:
    t = ctx.t
    s = Section("methods", t("sec_methods"), paragraphs=[t("txt_methods")])
    if _approximate(ctx):
        s.paragraphs.append(t("txt_approximate_boundaries"))
    info = ctx.info
    params = [(_param_label(t, k), _param_value(t, k, v)) for k, v in info.items()
              if not k.startswith(("input_sha256:", "skipped:", "estimated:")) and k != "layers"]
    if lines := _reasons(ctx):
        s.paragraphs.append(text("availability", "title", t.lang))
        s.bullets += lines
    s.tables.append(_table(t, "parameters", pd.DataFrame(params, columns=["key", "setting"]),
                           "run_info",
                           labels={"key": t("col_key"), "setting": t("col_value_text")}))
    hashes = [(_layer_name(t, k.split(":", 1)[1]), v) for k, v in info.items()
              if k.startswith("input_sha256:")]
    s.tables.append(_table(t, "inputs", pd.DataFrame(hashes, columns=["layer", "sha256"]),
                           "run_info", labels={"layer": t("col_layer"), "sha256": "SHA-256"}))
    quality = ctx.layers.get("data_quality")
    if quality is None or not len(quality):
        s.paragraphs.append(t("txt_quality_none"))
    else:
        desc = "description_zh" if t.lang == "zh" else "description_en"
        frame = quality[["file", "field", "rule", "severity", "rows", desc]].rename(
            columns={desc: "description"})
        frame = frame.assign(severity=frame["severity"].map(
            lambda v: t.m.get(f"severity_{v}", v)))
        s.tables.append(_table(t, "quality", frame, "data_quality"))
    return s


