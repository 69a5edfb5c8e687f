"""The progress report between two runs: ``coverage report PROJECT --compare A B``.

It shows the table of :func:`coverage.engine.progress.progress_table` and computes nothing
of its own: an overview (the two runs, how many of the plan's indicators each met), then one
table per unit (the city and each district, or the one district asked for): each measure
before and after, the change (signed, shares in percentage points) with an arrow, the
target and whether each run met it. The writers are the report's (HTML, XLSX, PDF), so
everything from the data is escaped as in every report.

A district's progress report holds that district only, as a district's office reads its own
figures (the city's row stays in the city's report).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from coverage.engine.progress import met_counts, progress_between
from coverage.io.project import Project, load_project
from coverage.publish.disclosure import DEFAULT_MIN_CELL, assert_no_personal
from coverage.publish.naming import progress_stem
from coverage.reference import CITY
from coverage.report.content import (
    Report,
    ReportError,
    ReportUsageError,
    Section,
    Table,
    _fmt_of,
    _Text,
    fmt_value,
)

__all__ = ["build_progress_report", "make_progress_report", "measure_label", "met_words",
           "row_formats", "trend_mark", "write_progress"]

_COLUMNS = ("group_name", "measure_name", "value_before", "value_after", "change", "trend",
            "target_text", "met_before_text", "met_after_text")


def trend_mark(change: pd.Series) -> pd.Series:
    """Return the arrow of each change: ``▲`` up, ``▼`` down, ``=`` none, ``—`` unknown."""
    values = change.to_numpy(dtype=float, na_value=np.nan)
    marks = np.select([np.isnan(values), values > 1e-12, values < -1e-12], ["—", "▲", "▼"],
                      default="=")
    return pd.Series(marks, index=change.index, dtype=object)


def row_formats(table: pd.DataFrame) -> list[str]:
    """Format of each row's values (:func:`coverage.report.content.fmt_value`).

    Indicators are shares; summary columns by their name (coverage ``pct``, its gap ``pp``,
    staff ``f1``, ratios ``f2``); other numbers (funding) ``f1``.
    """
    by_name = table["measure"].map(_fmt_of).replace("text", "f1")
    return list(by_name.where(table["group"] != "indicator", "pct"))


def measure_label(measure: str, lang: str) -> str:
    """Return the name of a measure in ``lang``: an indicator's, or a result column's header."""
    t = _Text(lang)
    return t.ind.get(measure) or t.col(measure)


def met_words(met: pd.Series, target: pd.Series, lang: str) -> pd.Series:
    """Met / not met in ``lang``; empty without a target, ``—`` where the value is missing."""
    t = _Text(lang)
    words = pd.Series(np.where(met.fillna(False).to_numpy(bool), t("met"), t("not_met")),
                      index=met.index, dtype=object)
    words = words.mask(met.isna().to_numpy(), "—")
    return words.mask(target.isna().to_numpy(), "")


def _unit_table(t: _Text, rows: pd.DataFrame, key: str, title: str) -> Table:
    """Return the table of one unit: a row per measure, formats by row."""
    formats = row_formats(rows)
    frame = pd.DataFrame({
        "group_name": rows["group"].map(lambda g: t(f"group_{g}")),
        "measure_name": rows["measure"].map(lambda m: measure_label(m, t.lang)),
        "value_before": rows["value_before"], "value_after": rows["value_after"],
        "change": rows["change"], "trend": trend_mark(rows["change"]),
        "target_text": [fmt_value(v, f, t.lang) if pd.notna(v) else ""
                        for v, f in zip(rows["target"], formats, strict=True)],
        "met_before_text": met_words(rows["met_before"], rows["target"], t.lang),
        "met_after_text": met_words(rows["met_after"], rows["target"], t.lang),
    }).reset_index(drop=True)
    assert_no_personal(frame)
    labels = {"group_name": t("col_group"), "measure_name": t("col_metric"),
              "value_before": t("col_value_before"), "value_after": t("col_value_after"),
              "change": t("col_change"), "trend": t("col_trend"), "target_text": t("col_target"),
              "met_before_text": t("col_met_before"), "met_after_text": t("col_met_after")}
    kinds = {c: "text" for c in _COLUMNS} | {"value_before": "row", "value_after": "row",
                                             "change": "row_change"}
    return Table(key=key, title=title, frame=frame[list(_COLUMNS)], labels=labels,
                 formats=kinds, source="district_summary, indicators", row_formats=formats,
                 notes=[t("txt_progress_missing")])


def _when(t: _Text, run_id: str, time: object) -> str:
    """Return a run's id and when it was written (UTC)."""
    if time is None:
        return run_id
    return t("run_and_time", id=run_id, time=pd.Timestamp(time).strftime("%Y-%m-%d %H:%M UTC"))


def _overview(t: _Text, table: pd.DataFrame, district: str | None) -> Section:
    """Return the overview: the runs compared and how many indicators each met."""
    scope = district or t("sum_progress_scope_city")
    summary = t("sum_progress", scope=scope, **met_counts(table))
    return Section("progress", t("sec_progress"), paragraphs=[summary, t("txt_progress")])


def build_progress_report(
    table: pd.DataFrame,
    *,
    project_name: str,
    district: str | None = None,
    lang: str = "zh",
    min_cell: int = DEFAULT_MIN_CELL,
    date: dt.date | None = None,
) -> Report:
    """Assemble the progress report from a progress table.

    Parameters
    ----------
    table
        :func:`coverage.engine.progress.progress_table` (or
        :func:`~coverage.engine.progress.progress_between`, whose ``attrs`` name the runs).
    project_name
        Name printed above the heading.
    district
        One district's progress (its name as in the results) instead of the whole city's.
    lang
        ``zh`` (default) or ``en``.
    min_cell
        Smallest published count, said in the privacy note.
    date
        Date printed on the report (default today).

    Raises
    ------
    ReportUsageError
        When the district is in neither run.
    """
    t = _Text(lang)
    if district is not None:
        known = sorted(set(table.loc[table["level"] == "district", "unit"].astype(str)))
        if district not in known:
            msg = f"district {district!r} is in neither run; districts: {', '.join(known)}"
            raise ReportUsageError(msg)
        table = table[(table["level"] == "district") & (table["unit"] == district)]
    attrs = table.attrs
    runs = [_when(t, str(attrs.get(f"run_{side}", side)), attrs.get(f"time_{side}"))
            for side in ("before", "after")]
    meta = [(t("meta_scope"), district or t("scope_city")),
            (t("meta_date"), (date or dt.date.today()).isoformat()),
            (t("meta_run_before"), runs[0]), (t("meta_run_after"), runs[1])]
    sections = [_overview(t, table, district)]
    for k, (unit, rows) in enumerate(table.groupby("unit", sort=False)):
        name = t("scope_city") if unit == CITY else str(unit)
        sections.append(Section(f"unit-{k}", name, tables=[
            _unit_table(t, rows, f"progress-{k}", t("tab_progress", unit=name))]))
    heading = (t("heading_progress_district", district=district) if district
               else t("heading_progress"))
    title = (t("title_progress_district", name=project_name, district=district) if district
             else t("title_progress", name=project_name))
    return Report(lang=lang, title=title, meta=meta, sections=sections, min_cell=min_cell,
                  privacy_note=t("meta_privacy", n=min_cell), district=district,
                  project=project_name, heading=heading)


def write_progress(
    project: Project,
    table: pd.DataFrame,
    formats: Sequence[str],
    *,
    district: str | None = None,
    lang: str | None = None,
    out: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
    on_pdf_error: Callable[[ReportError], None] | None = None,
) -> dict[str, Path]:
    """Write the progress report of a progress table in ``formats``; return the paths.

    Files are named by :func:`coverage.publish.naming.progress_stem` (both run ids, the scope
    and the language) in ``out`` (default the project's output folder). ``on_pdf_error`` as
    for :func:`coverage.report.make_report`.
    """
    from coverage.report import write_formats

    step = progress or (lambda _text: None)
    report = build_progress_report(table, project_name=project.name, district=district,
                                   lang=lang or project.language, min_cell=project.min_cell)
    stem = progress_stem(str(table.attrs.get("run_before", "before")),
                         str(table.attrs.get("run_after", "after")), lang=report.lang,
                         district=district)
    folder = Path(out) if out is not None else project.output_dir
    return write_formats(report, folder, formats, stem=stem, progress=step,
                         on_pdf_error=on_pdf_error)


def make_progress_report(
    project: Project | str | Path,
    run_a: str,
    run_b: str | None = None,
    *,
    formats: Sequence[str] = ("html", "xlsx", "pdf"),
    district: str | None = None,
    lang: str | None = None,
    out: str | Path | None = None,
) -> dict[str, Path]:
    """Compare two kept runs of a project and write the progress report.

    The runs as for :func:`coverage.engine.progress.progress_between`, the files as for
    :func:`write_progress`; returns format → file written.
    """
    project = project if isinstance(project, Project) else load_project(project)
    table = progress_between(project, run_a, run_b)
    return write_progress(project, table, formats, district=district, lang=lang, out=out)
