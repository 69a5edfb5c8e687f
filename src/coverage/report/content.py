"""What a report says: sections, published tables, maps and the action list.

:func:`build_report` turns the result layers (as written to ``results.gpkg``) into a
:class:`Report`: plain data that the HTML, XLSX and PDF writers lay out. Every table about
people is published through :mod:`coverage.report.publish` (and so :mod:`coverage.disclosure`);
every text comes from the message catalogue (:mod:`coverage.messages`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage.availability import describe, reason_text
from coverage.disclosure import (
    DEFAULT_MIN_CELL,
    assert_no_personal,
    check_published,
    shown_rows,
    suppress_series,
)
from coverage.equalization import threshold_label
from coverage.indicators import INDICATORS, indicator_names
from coverage.maps import column_label
from coverage.messages import catalogue, check_lang, text
from coverage.patterns.flows import cooperation_partners
from coverage.report.publish import (
    NOT_PEOPLE,
    publish_indicators,
    publish_rows,
    publish_summaries,
)

__all__ = ["MapSpec", "Report", "ReportError", "ReportUsageError", "Section", "Table",
           "build_report"]

CITY = "全市"
"""Name of the city row in the district tables."""

TOP_N = 10
"""Rows of the ranking and early-warning tables."""


class ReportError(ValueError):
    """A report cannot be made from these results (missing layer, unknown district ...)."""


class ReportUsageError(ReportError):
    """The report was asked for wrongly (an unknown district or format): a usage error."""


@dataclass
class Table:
    """A published table.

    Attributes
    ----------
    key
        Short identifier (sheet name in XLSX, anchor in HTML).
    title
        Caption.
    frame
        Published values under the result columns' names; suppressed values are missing.
    labels
        Column → header.
    formats
        Column → ``pct``, ``int``, ``f1``, ``f2``, ``bool`` or ``text``.
    source
        Result layer the values come from (``""`` for tables of the report's own).
    """

    key: str
    title: str
    frame: pd.DataFrame
    labels: dict[str, str]
    formats: dict[str, str]
    source: str = ""
    row_formats: list[str] | None = None
    """Formats by row, for columns whose format is ``row`` (a table of mixed measures)."""

    def format_of(self, row: int, column: str) -> str:
        """Return the format of one cell (resolving ``row`` formats)."""
        kind = self.formats.get(column, "text")
        if kind == "row":
            kind = self.row_formats[row] if self.row_formats else "text"
        return kind


@dataclass
class MapSpec:
    """A map: an aggregate layer (WGS-84 or projected) and what to draw of it."""

    key: str
    title: str
    kind: str
    layer: gpd.GeoDataFrame
    column: str | None = None
    background: gpd.GeoDataFrame | None = None
    note: str = ""
    """Printed under the title (e.g. that the community boundaries are approximate)."""


@dataclass
class Section:
    """A numbered section of the report."""

    key: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    maps: list[MapSpec] = field(default_factory=list)


@dataclass
class Report:
    """A whole report, ready for the writers."""

    lang: str
    title: str
    meta: list[tuple[str, str]]
    sections: list[Section]
    min_cell: int
    privacy_note: str
    district: str | None = None
    not_computed: list[str] = field(default_factory=list)
    """One line per analysis not computed or estimated, with the reason (from ``run_info``)."""

    def tables(self) -> list[Table]:
        """Every table, in order."""
        return [t for s in self.sections for t in s.tables]

    def section(self, key: str) -> Section:
        """Return the section with this key."""
        return next(s for s in self.sections if s.key == key)


# ------------------------------------------------------------------------------------------
# labels and formats


class _Text:
    """Texts of the report and labels of result columns in one language."""

    def __init__(self, lang: str) -> None:
        self.lang = check_lang(lang)
        self.m = catalogue("report", lang)
        self.ind = indicator_names(lang)

    def __call__(self, key: str, **fields: object) -> str:
        return text("report", key, self.lang, **fields)

    def col(self, column: str) -> str:
        if f"col_{column}" in self.m:
            return self.m[f"col_{column}"]
        if m := re.fullmatch(r"(gini|theil)_(\d+(?:\.\d+)?)min_(migrant|registered)", column):
            return self(f"col_{m[1]}", t=m[2], group=self(f"group_{m[3]}"))
        if m := re.fullmatch(r"migrants_newly_within_(\d+(?:\.\d+)?)min", column):
            return self("col_migrants_newly_within", t=m[1])
        if m := re.fullmatch(r"coverage_(\d+(?:\.\d+)?)min_migrant_(before|after)", column):
            return self(f"col_coverage_{m[2]}", t=m[1])
        return column_label(column, lang=self.lang)


def _fmt_of(column: str) -> str:
    if column.startswith(("coverage_", "value", "target", "share", "growth_rate")):
        return "pct"
    if column in {"met"}:
        return "bool"
    if column.startswith(("staff_per_1000", "e2sfca", "staffing_standard", "gini_", "theil_")):
        return "f2"
    if column in {"staff", "staff_needed", "staff_shortfall", "new_staff", "staff_before",
                  "staff_after", "site_staff", "fp_staff", "staff_needed_projected"}:
        return "f1"
    if column in {"migrants", "registered_pop", "group_size", "unknown", "population",
                  "achieved", "people_needed", "unreachable_migrants", "projected_migrants",
                  "communities", "rank", "rows", "people_served"} or column.startswith(
                      "migrants_newly"):
        return "int"
    return "text"


#: Integer columns that are no count of people: ranks, rows of a file, communities, and the
#: people still needed to reach a target, which is shown only where the population and the
#: people served are (``coverage.report.publish``), so it follows from published figures.
_NOT_COUNTS = frozenset({"rank", "rows", "communities", "people_needed"})


def _table(t: _Text, key: str, frame: pd.DataFrame, source: str = "",
           labels: dict[str, str] | None = None, not_people: pd.Series | None = None) -> Table:
    """Make a report table, refusing personal columns and unsuppressed small counts.

    ``not_people`` flags rows whose counts are not people (communities), exempt from the check.
    """
    frame = pd.DataFrame(frame).reset_index(drop=True)
    assert_no_personal(frame)
    people = frame if not_people is None else frame[~not_people.to_numpy(bool)]
    check_published(people, columns=[c for c in frame.columns if _fmt_of(c) == "int"
                                     and c not in _NOT_COUNTS])
    heads = {c: (labels or {}).get(c) or t.col(c) for c in frame.columns}
    return Table(key=key, title=t(f"tab_{key}"), frame=frame, labels=heads,
                 formats={c: _fmt_of(c) for c in frame.columns}, source=source)


def fmt_value(value: object, kind: str, lang: str) -> str:
    """Display text of one published value (``—`` when suppressed or missing)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "—"
    if kind == "pct":
        return f"{float(value):.1%}"
    if kind == "int":
        return f"{round(float(value)):,}"
    if kind == "f1":
        return f"{float(value):,.1f}"
    if kind == "f2":
        return f"{float(value):,.2f}"
    if kind == "bool":
        return catalogue("report", lang)["met" if bool(value) else "not_met"]
    return str(value)


# ------------------------------------------------------------------------------------------
# the sections


def _require(layers: dict[str, pd.DataFrame], names: Sequence[str]) -> None:
    missing = [n for n in names if n not in layers]
    if missing:
        msg = (f"the results lack the layer(s) {', '.join(missing)}; run `coverage run` on the "
               "project first")
        raise ReportError(msg)


def _info(layers: dict[str, pd.DataFrame]) -> dict[str, str]:
    info = layers.get("run_info")
    if info is None:
        return {}
    return dict(zip(info["key"].astype(str), info["value"].astype(str), strict=True))


def _thresholds(info: dict[str, str], summary: pd.DataFrame) -> tuple[float, ...]:
    if "thresholds_min" in info:
        return tuple(float(v) for v in info["thresholds_min"].split(","))
    found = sorted({float(m[1]) for c in summary.columns
                    if (m := re.fullmatch(r"coverage_(\d+(?:\.\d+)?)min_migrant", c))})
    return tuple(found)


@dataclass
class _Context:
    t: _Text
    layers: dict[str, pd.DataFrame]
    info: dict[str, str]
    district: str | None
    thresholds: tuple[float, ...]
    min_cell: int
    districts: pd.DataFrame = field(init=False)
    communities: gpd.GeoDataFrame = field(init=False)
    indicators: pd.DataFrame = field(init=False)
    section_tables: dict[str, list[Table]] = field(default_factory=dict)

    @property
    def lab(self) -> str:
        return threshold_label(max(self.thresholds))

    @property
    def scope_row(self) -> pd.Series:
        name = self.district or CITY
        level = "district" if self.district else "city"
        rows = self.districts[(self.districts["level"] == level)
                              & (self.districts["district"] == name)]
        return rows.iloc[0]

    def in_scope(self, frame: pd.DataFrame) -> pd.DataFrame:
        if self.district is None or "district" not in frame.columns:
            return frame
        return frame[frame["district"] == self.district]


def _prepare(ctx: _Context) -> None:
    layers = ctx.layers
    ctx.districts, ctx.communities = publish_summaries(
        layers["district_summary"], layers["community_summary"], ctx.thresholds,
        min_cell=ctx.min_cell)
    comm_district = layers["community_summary"].set_index("community_id")["district"]
    ctx.indicators = publish_indicators(layers["indicators"], comm_district,
                                        min_cell=ctx.min_cell)


def _n(value: object) -> str:
    return fmt_value(value, "int", "en")


def _pct(value: object) -> str:
    return fmt_value(value, "pct", "en")


def _scope_indicators(ctx: _Context) -> pd.DataFrame:
    level = "district" if ctx.district else "city"
    unit = ctx.district or "city"
    ind = ctx.indicators
    return ind[(ind["level"] == level) & (ind["unit"] == unit)]


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
    return s


def _rank_section(ctx: _Context) -> Section:
    t, lab = ctx.t, ctx.lab
    s = Section("rankings", t("sec_rankings"), paragraphs=[t("txt_rankings", n=TOP_N)])
    comm = pd.DataFrame(ctx.in_scope(ctx.communities).drop(columns="geometry"))
    short = comm[comm["staff_shortfall"].notna()].sort_values(
        "staff_shortfall", ascending=False, kind="stable").head(TOP_N)
    s.tables.append(_table(t, "shortfall", short[[
        "community_id", "name", "district", "migrants", "registered_pop", "staff",
        "staff_needed", "staff_shortfall"]], "community_summary"))
    gap = comm[comm[f"coverage_gap_{lab}"].notna()].sort_values(
        f"coverage_gap_{lab}", ascending=False, kind="stable").head(TOP_N)
    s.tables.append(_table(t, "gap", gap[[
        "community_id", "name", "district", "migrants", f"coverage_{lab}_migrant",
        f"coverage_{lab}_registered", f"coverage_gap_{lab}"]], "community_summary"))
    return s


def _site_districts(ctx: _Context, sites: gpd.GeoDataFrame) -> pd.Series:
    comm = ctx.layers["community_summary"]
    joined = gpd.sjoin(sites[["geometry"]], comm[["district", "geometry"]].to_crs(sites.crs),
                       how="left", predicate="within")
    return joined.groupby(level=0)["district"].first().reindex(sites.index)


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
    if sites is not None and len(sites):
        frame = sites.copy()
        frame["district"] = _site_districts(ctx, sites).to_numpy()
        frame = ctx.in_scope(frame)
        newly = f"migrants_newly_within_{lab}"
        frame[newly] = suppress_series(frame[newly].round().astype(np.int64), total=False,
                                       min_cell=ctx.min_cell).to_numpy()
        cols = ["rank", "candidate_id", "name", "district", "staff", newly,
                f"coverage_{lab}_migrant_before", f"coverage_{lab}_migrant_after"]
        s.tables.append(_table(t, "new_sites", frame[cols], "recommended_sites"))
        s.maps.append(MapSpec("recommended", t("map_recommended"), "recommended",
                              gpd.GeoDataFrame(frame[[*cols, "geometry"]], crs=sites.crs),
                              background=ctx.in_scope(ctx.communities)))
    if staff is not None and len(staff):
        frame = ctx.in_scope(staff)
        cols = ["site_id", "name", "district", "new_staff", "staff_before", "staff_after"]
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
            fmts = ["pct" if c.startswith("coverage") else "f2" for c in metrics]
            table.formats = {"metric": "text", "before": "row", "after": "row", "change": "row"}
            table.row_formats = fmts
            s.tables.append(table)
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
        s.maps.append(MapSpec("origins", t("map_origins"), "origins", gpd.GeoDataFrame(prov)))
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


def _actions(ctx: _Context, rec: dict[str, pd.DataFrame], warn: pd.DataFrame,
             partners: pd.DataFrame) -> Section:
    t, lab = ctx.t, ctx.lab
    s = Section("actions", t("sec_actions"))
    minutes = f"{max(ctx.thresholds):g}"
    for table in ctx.section_tables.get("new_sites", []):
        for _, r in table.frame.iterrows():
            place = r["name"] if isinstance(r["name"], str) and r["name"] else t(
                "new_site_place", id=r["candidate_id"])
            n = r[f"migrants_newly_within_{lab}"]
            if pd.isna(n):
                s.bullets.append(t("act_site_suppressed", place=place, staff=f"{r['staff']:g}"))
            else:
                s.bullets.append(t("act_site", place=place, staff=f"{r['staff']:g}",
                                   n=_n(n), t=minutes))
    for table in ctx.section_tables.get("new_staff", []):
        for _, r in table.frame.iterrows():
            s.bullets.append(t("act_staff", place=r["name"], district=r["district"],
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


def _not_computed(ctx: _Context, *analyses: str, prefix: str = "skipped") -> list[str]:
    """Sentences saying why these analyses were not computed (or were estimated), if so."""
    out = []
    for analysis in analyses:
        reason = ctx.info.get(f"{prefix}:{analysis}")
        if reason:
            out.append(reason_text(reason, ctx.t.lang))
    return list(dict.fromkeys(out))


def _reasons(ctx: _Context) -> list[str]:
    """Every analysis not computed or estimated, with its reason, one line each."""
    reasons = {k.partition(":")[2]: v for k, v in ctx.info.items()
               if k.startswith(("skipped:", "estimated:"))}
    return describe(reasons, ctx.t.lang)


def _param_label(t: _Text, key: str) -> str:
    """Display name of a ``run_info`` key (``rows:migrants`` → "Rows read: migrants")."""
    name, _, layer = key.partition(":")
    if f"param_{name}" not in t.m:
        return key
    return t(f"param_{name}", layer=layer) if layer else t(f"param_{name}")


def _methods(ctx: _Context) -> Section:
    t = ctx.t
    s = Section("methods", t("sec_methods"), paragraphs=[t("txt_methods")])
    if _approximate(ctx):
        s.paragraphs.append(t("txt_approximate_boundaries"))
    info = ctx.info
    params = [(_param_label(t, k), v) for k, v in info.items()
              if not k.startswith(("input_sha256:", "skipped:", "estimated:")) and k != "layers"]
    if lines := _reasons(ctx):
        s.paragraphs.append(text("availability", "title", t.lang))
        s.bullets += lines
    s.tables.append(_table(t, "parameters", pd.DataFrame(params, columns=["key", "setting"]),
                           "run_info",
                           labels={"key": t("col_key"), "setting": t("col_value_text")}))
    hashes = [(k.split(":", 1)[1], v) for k, v in info.items() if k.startswith("input_sha256:")]
    s.tables.append(_table(t, "inputs", pd.DataFrame(hashes, columns=["layer", "sha256"]),
                           "run_info", labels={"layer": t("col_layer"), "sha256": "SHA-256"}))
    quality = ctx.layers.get("data_quality")
    if quality is None or not len(quality):
        s.paragraphs.append(t("txt_quality_none"))
    else:
        desc = "description_zh" if t.lang == "zh" else "description_en"
        frame = quality[["file", "field", "rule", "severity", "rows", desc]].rename(
            columns={desc: "description"})
        s.tables.append(_table(t, "quality", frame, "data_quality"))
    return s


def build_report(
    layers: dict[str, pd.DataFrame],
    *,
    project_name: str,
    district: str | None = None,
    lang: str = "zh",
    min_cell: int = DEFAULT_MIN_CELL,
    date: dt.date | None = None,
) -> Report:
    """Assemble a report from result layers.

    Parameters
    ----------
    layers
        Result layers by name, as in ``results.gpkg`` (``community_summary``,
        ``district_summary``, ``indicators`` and ``site_catchments`` are required; the pattern
        layers, ``run_info``, ``data_quality`` and the recommendation layers are used when
        present).
    project_name
        Name shown in the title.
    district
        Report on one district (its name as in the results) instead of the whole city.
    lang
        ``zh`` (default) or ``en``.
    min_cell
        Smallest published count (privacy).
    date
        Date printed on the report (default today).

    Returns
    -------
    Report

    Raises
    ------
    ReportError
        If a required layer is missing or the district is not in the results.
    """
    _require(layers, ("community_summary", "district_summary", "indicators",
                      "site_catchments"))
    t = _Text(lang)
    info = _info(layers)
    thresholds = _thresholds(info, layers["district_summary"])
    if district is not None:
        known = set(layers["district_summary"].query("level == 'district'")["district"])
        if district not in known:
            msg = (f"district {district!r} is not in the results; districts: "
                   f"{', '.join(sorted(map(str, known)))}")
            raise ReportUsageError(msg)
    ctx = _Context(t, layers, info, district, thresholds, min_cell)
    _prepare(ctx)
    rec = {k: layers[k] for k in ("recommended_sites", "recommended_staff",
                                  "scenario_comparison") if k in layers}
    trends, warn = _trend_section(ctx)
    origins, partners = _origin_section(ctx)
    recommend = _recommend_section(ctx, rec)
    ctx.section_tables = {tb.key: [tb] for tb in recommend.tables}
    sections = [
        _summary(ctx, rec, len(warn)),
        _actions(ctx, rec, warn, partners),
        _indicator_section(ctx),
        _equal_section(ctx),
        _maps_section(ctx),
        _rank_section(ctx),
        recommend,
        trends,
        origins,
        _methods(ctx),
    ]
    name = project_name
    title = (t("title_district", name=name, district=district) if district
             else t("title_city", name=name))
    meta = [(t("meta_scope"), district or t("scope_city")),
            (t("meta_date"), (date or dt.date.today()).isoformat())]
    if "run_at" in info:
        meta.append((t("meta_run_at"), info["run_at"]))
    if "mode" in info:
        meta.append((t("meta_mode"), t(f"mode_{info['mode']}")))
    return Report(lang=lang, title=title, meta=meta, sections=sections, min_cell=min_cell,
                  privacy_note=t("meta_privacy", n=min_cell), district=district,
                  not_computed=_reasons(ctx))

