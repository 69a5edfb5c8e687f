"""The province report of ``coverage batch`` (全省汇总报告), in HTML, XLSX and PDF.

For the provincial health commission: the title with the day the province was run and how
many cities have results; a lead paragraph with the province's totals (its ``全省`` row:
migrants, staff, the staff shortfall, the share within the service threshold, the funding
lacking); the cities side by side (coverage and staffing, the plan's indicators, funding; one
row per city, the province's last), with a chart of each city's coverage; the cities without
results and the one line why; notes on how the figures are made and what "—" means.

Cities are ordered by their coverage gap (registered residents' coverage − migrants'),
largest first, the cities whose gap is not published after them: the cities where migrants
are worst off come first, and the report says so.

The report shows :func:`coverage.engine.batch.province_summary` (the figures each city
publishes and the province's totals) and :func:`coverage.engine.batch.failures_table`, and
computes no figure of its own; the writers are the report's (HTML, XLSX, PDF), so everything
from the data (city names, folders, the reasons of failures) is escaped as in every report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from coverage.engine.batch import BatchResult, failures_table
from coverage.publish.disclosure import DEFAULT_MIN_CELL, assert_no_personal
from coverage.publish.labels import column_label, indicator_names
from coverage.publish.naming import province_stem
from coverage.report.content import Report, ReportError, Section, Table, _Text, fmt_value

__all__ = ["build_province_report", "ordered_cities", "write_province_report"]

#: The side-by-side tables: key → the province table's columns (the city first) and formats.
_COVERAGE = {"city": "text", "threshold": "text", "districts": "int", "migrants": "int",
             "registered_pop": "int", "coverage_migrant": "pct", "coverage_registered": "pct",
             "coverage_gap": "pp", "staff": "f1", "staff_needed": "f1", "staff_shortfall": "f1",
             "staff_per_1000_migrants": "f2"}
_MET = {"indicators_met": "int", "indicators_assessed": "int"}
_FUNDING = {"city": "text", "funding_migrant_per_capita": "f2",
            "funding_registered_per_capita": "f2", "funding_gap_per_capita": "f2",
            "funding_needed_yuan": "yuan"}
_FAILURES = {"city": "text", "folder": "text", "error": "text"}


def ordered_cities(summary: pd.DataFrame) -> pd.DataFrame:
    """Return the province table with its cities ordered as the report shows them.

    By coverage gap, largest first (migrants worst off first), then by migrants' coverage,
    lowest first, then by name; cities whose gap is not published after the others. The
    province's row stays last.
    """
    if summary.empty:
        return summary
    cities, total = summary.iloc[:-1], summary.iloc[-1:]
    keys = pd.DataFrame({"gap": pd.to_numeric(cities["coverage_gap"], errors="coerce"),
                         "cov": pd.to_numeric(cities["coverage_migrant"], errors="coerce"),
                         "name": cities["city"].astype(str)}, index=cities.index)
    order = keys.sort_values(["gap", "cov", "name"], ascending=[False, True, True],
                             na_position="last", kind="stable").index
    return pd.concat([cities.loc[order], total], ignore_index=True)


def _threshold(summary: pd.DataFrame) -> str:
    """Return the largest threshold of every city (``15min``), or ``""`` when the cities differ."""
    labels = summary["threshold"].dropna().astype(str).unique() if "threshold" in summary else []
    return str(labels[0]) if len(labels) == 1 else ""


def _minutes(label: str) -> str:
    """``15min`` → ``15``."""
    return label.removesuffix("min")


def _labels(t: _Text, columns: Sequence[str], threshold: str) -> dict[str, str]:
    """Each column's header: the result columns' labels, the threshold's in the coverage's."""
    names = indicator_names(t.lang)
    out = {}
    for c in columns:
        if c.startswith("indicator_") and c.removeprefix("indicator_") in names:
            out[c] = names[c.removeprefix("indicator_")]
        elif c in {"coverage_migrant", "coverage_registered"} and threshold:
            out[c] = column_label(f"coverage_{threshold}_{c.removeprefix('coverage_')}",
                                  lang=t.lang)
        elif c == "coverage_gap":
            out[c] = (column_label(f"coverage_gap_{threshold}", lang=t.lang) if threshold
                      else column_label("coverage_gap_largest", lang=t.lang))
        else:
            out[c] = t.col(c)
    return out


def _frame(t: _Text, table: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """Return the columns of ``table`` it has, the province's row named in the report's language."""
    frame = table[[c for c in columns if c in table.columns]].reset_index(drop=True)
    if "city" in frame and len(frame):
        frame.loc[len(frame) - 1, "city"] = t("province_row")
    if "threshold" in frame:
        frame["threshold"] = [column_label("threshold_minutes", lang=t.lang).format(
            t=_minutes(str(v))) if isinstance(v, str) and v else "" for v in frame["threshold"]]
    assert_no_personal(frame)
    return frame


def _table(t: _Text, key: str, frame: pd.DataFrame, formats: dict[str, str],
           threshold: str, notes: list[str]) -> Table:
    columns = list(frame.columns)
    return Table(key=key, title=t(f"tab_{key}"), frame=frame,
                 labels=_labels(t, columns, threshold),
                 formats={c: formats[c] for c in columns}, source="province_summary",
                 notes=notes, sheet=t(f"sheet_{key}"))


def _city_sections(t: _Text, summary: pd.DataFrame) -> list[Section]:
    """Return the sections of the cities side by side: coverage, indicators, funding.

    Coverage and staffing (with its chart), the plan's indicators, funding: one section
    each, every table in the same order of cities; a section whose figures no city has says
    so.
    """
    if summary.empty:  # no city has results: the sections say so, numbered as always
        return [Section(key, t(f"sec_province_{key}"), paragraphs=[t(f"txt_province_no_{key}")])
                for key in ("coverage", "indicators", "funding")]
    threshold = _threshold(summary)
    coverage = {c: f for c, f in _COVERAGE.items() if c != "threshold" or not threshold}
    indicators = [c for c in summary.columns if c.startswith("indicator_")]
    indicators_spec = {"city": "text"} | dict.fromkeys(indicators, "pct") | _MET
    has_funding = any(c in summary.columns for c in _FUNDING if c != "city")
    order = [t("txt_province_order"), t("txt_province_suppressed", mark=t("suppressed_mark"))]
    same = [t("txt_province_same_order")]
    out = [Section("coverage", t("sec_province_coverage"), tables=[_table(
        t, "province", _frame(t, summary, coverage), coverage, threshold,
        [t("txt_province_coverage"), *order])])]
    for key, spec, has in (("indicators", indicators_spec, bool(indicators)),
                           ("funding", _FUNDING, has_funding)):
        s = Section(key, t(f"sec_province_{key}"))
        if has:  # what the figures are, under the table: the heading stays with it
            s.tables.append(_table(t, f"province_{key}", _frame(t, summary, spec), spec,
                                   threshold, [t(f"txt_province_{key}"), *same]))
        else:
            s.paragraphs.append(t(f"txt_province_no_{key}"))
        out.append(s)
    return out


def _lead(t: _Text, summary: pd.DataFrame) -> list[str]:
    """Return the province's totals in words, from its row."""
    if summary.empty:
        return [t("sum_province_none")]
    total = summary.iloc[-1]

    def show(column: str, kind: str) -> str:
        return fmt_value(total.get(column), kind, t.lang)

    out = [t("sum_province_people", cities=len(summary) - 1, migrants=show("migrants", "int"),
             registered=show("registered_pop", "int"), staff=show("staff", "f1"),
             needed=show("staff_needed", "f1"), shortfall=show("staff_shortfall", "f1"))]
    threshold = _threshold(summary)
    shares = {"migrant": show("coverage_migrant", "pct"),
              "registered": show("coverage_registered", "pct"), "gap": show("coverage_gap", "pp")}
    out.append(t("sum_province_coverage", t=_minutes(threshold), **shares) if threshold
               else t("sum_province_coverage_mixed", **shares))
    if t("suppressed_mark") in shares.values():
        out.append(t("sum_province_suppressed", mark=t("suppressed_mark")))
    if pd.notna(total.get("funding_needed_yuan")):
        out.append(t("sum_province_funding", needed=show("funding_needed_yuan", "yuan")))
    elif "funding_needed_yuan" in summary:
        out.append(t("sum_province_no_funding"))
    return out


def _failures(t: _Text, failures: pd.DataFrame) -> Section:
    """Return the cities without results and the one line why (data, escaped by the writers)."""
    s = Section("failures", t("sec_province_failures"))
    if failures.empty:
        s.paragraphs.append(t("txt_province_no_failures"))
        return s
    s.paragraphs.append(t("txt_province_failures"))
    frame = failures[list(_FAILURES)].reset_index(drop=True)
    s.tables.append(Table(key="province_failures", title=t("tab_province_failures"),
                          frame=frame, labels={c: t.col(c) for c in _FAILURES},
                          formats=dict(_FAILURES), source="province_failures",
                          sheet=t("sheet_province_failures")))
    return s


def build_province_report(
    result: BatchResult,
    *,
    lang: str = "zh",
    name: str | None = None,
    date: dt.date | None = None,
) -> Report:
    """Assemble the province report of a :func:`coverage.engine.batch.run_batch`.

    Parameters
    ----------
    result
        The province's run: its table (``result.summary``), its cities' outcomes.
    lang
        ``zh`` (default) or ``en``.
    name
        Name printed above the heading (default: the province's folder's name).
    date
        Date printed on the report (default today).

    Returns
    -------
    Report
        Sections: the province at a glance; the cities side by side: coverage and staffing
        (with the chart of their coverage), the plan's indicators, funding; the cities
        without results; notes.
    """
    t = _Text(lang)
    summary = ordered_cities(result.summary)
    done, failed = len(result.outcomes) - len(result.failed), len(result.failed)
    finished = result.finished
    run_day = (finished.date() if finished else date or dt.date.today()).isoformat()
    heading = t("heading_province")
    subtitle = t("subtitle_province", date=run_day, done=done, failed=failed)
    name = name or result.folder.resolve().name
    meta = [(t("meta_scope"), t("scope_province", n=len(result.outcomes))),
            (t("meta_date"), (date or dt.date.today()).isoformat())]
    if finished is not None:
        meta.append((t("meta_province_run"), finished.strftime("%Y-%m-%d %H:%M:%S")))
    meta += [(t("meta_cities_done"), str(done)), (t("meta_cities_failed"), str(failed))]
    mark = t("suppressed_mark")
    notes = Section("notes", t("sec_province_notes"), paragraphs=[
        t("txt_province_total"), t("txt_province_suppressed", mark=mark)])
    sections = [Section("overview", t("sec_province_overview"), paragraphs=_lead(t, summary)),
                *_city_sections(t, summary), _failures(t, failures_table(result)), notes]
    title = t("title_province_full", title=t("title_province", name=name, heading=heading),
              subtitle=subtitle)
    return Report(lang=lang, title=title, meta=meta, sections=sections,
                  min_cell=DEFAULT_MIN_CELL,
                  privacy_note=t("meta_privacy_province", mark=mark), project=name,
                  heading=heading, subtitle=subtitle)


def write_province_report(
    result: BatchResult,
    out: str | Path,
    *,
    lang: str = "zh",
    formats: Sequence[str] = ("html", "xlsx", "pdf"),
    progress: Callable[[str], None] | None = None,
    on_pdf_error: Callable[[ReportError], None] | None = None,
) -> dict[str, Path]:
    """Write the province report into ``out`` as ``province-report-<lang>.<format>``.

    What ``coverage batch`` writes beside the province's CSV files. ``on_pdf_error``: called
    instead of raising when the PDF cannot be written (no CJK font), the other formats written
    all the same. Returns format → file written.
    """
    from coverage.report import write_formats

    report = build_province_report(result, lang=lang)
    return write_formats(report, Path(out), formats, stem=province_stem(lang=lang),
                         progress=progress or (lambda _text: None), on_pdf_error=on_pdf_error)
