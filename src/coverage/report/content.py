"""What a report is made of: sections, published tables, maps, and the words they are put in.

:func:`coverage.report.build_report` turns the result layers (as written to ``results.gpkg``)
into a :class:`Report`: plain data that the HTML, XLSX and PDF writers lay out. This module
holds that data, the texts and number formats of the report and of the result columns, and
what every section shares (:class:`_Context`, the published :func:`_table`, the settings of
``run_info`` in words); the sections themselves are written by
:mod:`coverage.report._sections` and :mod:`coverage.report._recommend`. Every table about
people is published through :mod:`coverage.publish.tables` (and so
:mod:`coverage.publish.disclosure`); every text comes from the message catalogue
(:mod:`coverage.messages`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from coverage.maps import safe_link
from coverage.measures.availability import describe, reason_text
from coverage.measures.equalization import threshold_label
from coverage.measures.indicators import indicator_names
from coverage.messages import catalogue, check_lang, text
from coverage.publish.disclosure import assert_no_personal, check_published
from coverage.publish.labels import column_label
from coverage.reference import CITY

__all__ = ["MapSpec", "Report", "ReportError", "ReportUsageError", "Section", "Table",
           "column_heading", "layer_name", "setting_text"]

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
        points), ``int``, ``int+`` (a signed change of a whole number), ``f1``, ``f2``, ``f1+``,
        ``f2+`` (signed changes), ``coord`` (degrees), ``link`` (a web address),
        ``bool``, ``yuan`` (whole yuan) or ``text``.
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
    sheet: str = ""
    """Name of its XLSX sheet (default: the catalogue's ``sheet_<key>``, else the title)."""

    def format_of(self, row: int, column: str) -> str:
        """Return the format of one cell (resolving ``row`` and ``row_change`` formats).

        ``row_change`` is the difference of two ``row`` values: of shares, in percentage
        points; of other numbers, signed (``f1+``, ``f2+``; ``int+`` for whole numbers).
        """
        kind = self.formats.get(column, "text")
        if kind in {"row", "row_change"}:
            by_row = self.row_formats[row] if self.row_formats else "text"
            if kind == "row_change":
                return {"pct": "pp", "f1": "f1+", "f2": "f2+", "int": "int+"}.get(by_row,
                                                                                  by_row)
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
    subtitle: str = ""
    """A line printed under the heading (the province report's run date and cities)."""

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
    if column.endswith(("_yuan", "_yuan_per_year")):
        return "yuan"
    if column.startswith("funding_") and column.endswith("_per_capita"):
        return "f2"
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
                  "communities", "rank", "rows", "people_served", "new_sites"} or column.startswith(
                      "migrants_newly"):
        return "int"
    return "text"


#: Integer columns that are no count of people: ranks, rows of a file, communities, and the
#: people still needed to reach a target, which is shown only where the population and the
#: people served are (``coverage.publish.tables``), so it follows from published figures.
_NOT_COUNTS = frozenset({"rank", "rows", "communities", "people_needed", "new_sites"})


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
    if kind == "yuan":
        return f"{round(float(value)):,}"
    if kind == "f1":
        return f"{float(value):,.1f}"
    if kind == "f2":
        return f"{float(value):,.2f}"
    if kind == "int+":  # a change of a whole number (a rank): signed, none as 0
        number = round(float(value))
        return f"{number:+,}".replace("-", "−") if number else "0"
    if kind in {"f1+", "f2+"}:  # a change: signed
        return f"{float(value):+,.{kind[1]}f}".replace("-", "−")
    if kind == "bool":
        return catalogue("report", lang)["met" if bool(value) else "not_met"]
    return str(value)


# ------------------------------------------------------------------------------------------
# what the sections share


@dataclass
class _Context:
    """What every section reads: texts, result layers, scope and the published summaries."""

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


def _n(value: object) -> str:
    return fmt_value(value, "int", "en")


def _pct(value: object) -> str:
    return fmt_value(value, "pct", "en")


def _scope_indicators(ctx: _Context) -> pd.DataFrame:
    level = "district" if ctx.district else "city"
    unit = ctx.district or "city"
    ind = ctx.indicators
    return ind[(ind["level"] == level) & (ind["unit"] == unit)]


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
    if name == "funding_standard":
        if f"std_{value}" in t.m:
            return t(f"std_{value}")
        return t("std_yuan", n=value) if re.fullmatch(r"[\d.]+", value) else value
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
    if name == "funding_year" and value == "latest":
        return t("funding_year_latest")
    if name == "conversion":
        return _conversion(t, value)
    if name in {"rows", "quarantined", "min_cell"} and value.isdigit():
        return f"{int(value):,}"
    return value


