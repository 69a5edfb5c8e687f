"""What a report says: sections, published tables, maps and the action list.

:func:`build_report` turns the result layers (as written to ``results.gpkg``) into a
:class:`Report`: plain data that the HTML, XLSX and PDF writers lay out. Every table about
people is published through :mod:`coverage.publish.tables` (and so
:mod:`coverage.publish.disclosure`);
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

from coverage.cartography import site_places
from coverage.maps import safe_link
from coverage.measures.availability import describe, reason_text
from coverage.measures.equalization import threshold_label
from coverage.measures.indicators import INDICATORS, indicator_names
from coverage.messages import catalogue, check_lang, text
from coverage.patterns.flows import cooperation_partners
from coverage.publish.disclosure import (
    DEFAULT_MIN_CELL,
    assert_no_personal,
    check_published,
    shown_rows,
    suppress_series,
)
from coverage.publish.labels import column_label
from coverage.publish.tables import (
    NOT_PEOPLE,
    publish_indicators,
    publish_rows,
    publish_summaries,
)

__all__ = ["MapSpec", "Report", "ReportError", "ReportUsageError", "Section", "Table",
           "build_report", "column_heading", "layer_name", "setting_text"]

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
        Column → ``pct`` (a share), ``pp`` (a difference of shares, shown in percentage
        points), ``int``, ``f1``, ``f2``, ``coord`` (degrees), ``link`` (a web address),
        ``bool`` or ``text``.
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
    notes: list[str] = field(default_factory=list)
    """Sentences printed under the table (what it leaves out, and why)."""

    def format_of(self, row: int, column: str) -> str:
        """Return the format of one cell (resolving ``row`` and ``row_change`` formats).

        ``row_change`` is the difference of two ``row`` values: of shares, in percentage
        points; of other numbers, signed (``f1+``, ``f2+``).
        """
        kind = self.formats.get(column, "text")
        if kind in {"row", "row_change"}:
            by_row = self.row_formats[row] if self.row_formats else "text"
            if kind == "row_change":
                return {"pct": "pp", "f1": "f1+", "f2": "f2+"}.get(by_row, by_row)
            return by_row
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
    links: dict[int, str] = field(default_factory=dict)
    """Bullet number → web address shown with it (a new site's place in a web map)."""


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
    project: str = ""
    """The project's name, printed above the heading."""
    heading: str = ""
    """The report's own name (the title without the project's name)."""

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


def column_heading(column: str, lang: str) -> str:
    """Return the header of a result column in ``lang`` (``coverage_5min_migrant`` → text)."""
    return _Text(lang).col(column)


def layer_name(layer: str, lang: str) -> str:
    """Return the name of an input layer in ``lang`` (``registered_points`` → text)."""
    return _layer_name(_Text(lang), layer)


def setting_text(key: str, value: str, lang: str) -> str:
    """Return a ``run_info`` value in words of ``lang`` (``mode``/``walk`` → "步行")."""
    return _param_value(_Text(lang), key, value)


def _fmt_of(column: str) -> str:
    if column.startswith("coverage_gap_"):
        return "pp"
    if column in {"lon_gcj02", "lat_gcj02", "lon_wgs84", "lat_wgs84"}:
        return "coord"
    if column == "map_link":
        return "link"
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
#: people served are (``coverage.publish.tables``), so it follows from published figures.
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
    """Display text of one published value (``—`` when suppressed or missing).

    Shares are percentages (``85.8%``), differences of shares percentage points
    (``+4.5 pp`` / ``+4.5 个百分点``), coordinates five decimals (about a metre), web
    addresses the word for a link (the writers link it).
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "—"
    if kind == "pct":
        return f"{float(value):.1%}"
    if kind == "pp":
        points = f"{100 * float(value):+.1f}".replace("-", "−")
        points = "0.0" if points in {"+0.0", "−0.0"} else points
        return text("report", "pp", lang, v=points)
    if kind == "coord":
        return f"{float(value):.5f}"
    if kind == "link":
        return catalogue("report", lang)["link_text"] if safe_link(value) else "—"
    if kind == "int":
        return f"{round(float(value)):,}"
    if kind == "f1":
        return f"{float(value):,.1f}"
    if kind == "f2":
        return f"{float(value):,.2f}"
    if kind in {"f1+", "f2+"}:  # a change: signed
        return f"{float(value):+,.{kind[1]}f}".replace("-", "−")
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


def _layer_name(t: _Text, layer: str) -> str:
    """Display name of an input layer (``registered_points`` → "户籍人口分布点")."""
    return t.m.get(f"layer_{layer}", layer)


def _param_label(t: _Text, key: str) -> str:
    """Display name of a ``run_info`` key (``rows:migrants`` → "Rows read: migrants")."""
    name, _, layer = key.partition(":")
    if f"param_{name}" not in t.m:
        return key
    return t(f"param_{name}", layer=_layer_name(t, layer)) if layer else t(f"param_{name}")


def _conversion(t: _Text, value: str) -> str:
    """Translate a coordinate conversion as :func:`coverage.crs.describe_conversion` wrote it."""
    tol = re.search(r"≤ ([\d.]+ ?c?m)\)$", value)
    tol_text = tol[1] if tol else ""
    if value.startswith("WGS-84 (no conversion"):
        return t("conv_wgs84")
    if value.startswith("CGCS2000 taken as WGS-84"):
        return t("conv_cgcs2000")
    if value.startswith("GCJ-02 → WGS-84") and tol:
        return t("conv_gcj02", tol=tol_text)
    if value.startswith("BD-09 → WGS-84") and tol:
        return t("conv_bd09", tol=tol_text)
    if m := re.fullmatch(r"(.+?) → WGS-84 via PROJ.*", value):
        return t("conv_proj", name=m[1])
    return value


def _pairs(value: str) -> list[tuple[str, str]]:
    """``"walk 4.5, ebike 15"`` → ``[("walk", "4.5"), ("ebike", "15")]``."""
    return [tuple(item.strip().rsplit(" ", 1)) for item in value.split(",")  # type: ignore[misc]
            if " " in item.strip()]


def _param_value(t: _Text, key: str, value: str) -> str:
    """Return a ``run_info`` value in words of the report's language (codes translated)."""
    name = key.partition(":")[0]
    sep = t("list_sep")
    if name == "mode":
        return t.m.get(f"mode_{value}", value)
    if name == "approximate_boundaries":
        return t("yes") if value == "true" else t("no") if value == "false" else value
    if name == "speeds_kmh":
        return sep.join(f"{t.m.get(f'mode_{mode}', mode)} {speed}"
                        for mode, speed in _pairs(value))
    if name == "staffing_standard":
        if f"std_{value}" in t.m:
            return t(f"std_{value}")
        return t("std_number", n=value) if re.fullmatch(r"[\d.]+", value) else value
    if name == "targets":
        out = []
        for ind, target in _pairs(value):
            if ind == "rh_checks_per_year":
                out.append(t("target_rh_checks_per_year", n=target))
            elif ind in t.ind:
                out.append(t("target_value", indicator=t.ind[ind],
                             value=fmt_value(float(target), "pct", t.lang).replace(".0%", "%")))
            else:
                out.append(f"{ind} {target}")
        return sep.join(out)
    if name == "conversion":
        return _conversion(t, value)
    if name in {"rows", "quarantined", "min_cell"} and value.isdigit():
        return f"{int(value):,}"
    return value


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
    heading = t("heading_district", district=district) if district else t("heading_city")
    meta = [(t("meta_scope"), district or t("scope_city")),
            (t("meta_date"), (date or dt.date.today()).isoformat())]
    if "run_at" in info:
        meta.append((t("meta_run_at"), info["run_at"]))
    if "mode" in info:
        meta.append((t("meta_mode"), t(f"mode_{info['mode']}")))
    return Report(lang=lang, title=title, meta=meta, sections=sections, min_cell=min_cell,
                  privacy_note=t("meta_privacy", n=min_cell), district=district,
                  not_computed=_reasons(ctx), project=name, heading=heading)

