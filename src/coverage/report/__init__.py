"""Staffing-recommendation reports in HTML, XLSX and PDF, in Chinese and English.

:func:`make_report` is what ``coverage report`` runs: it takes the project's latest results
(running the main job and the recommendation if they are missing or out of date, see
:func:`coverage.engine.workspace.load_results`), builds the report for the city or one district
(:func:`build_report`) and writes it in the formats asked for. Everything a report shows about
people is an aggregate protected by small-cell suppression (:mod:`coverage.publish.tables`,
:mod:`coverage.publish.disclosure`).

Report files are named by scope and language (``report-city-zh.pdf``,
``report-district-万江区-en.xlsx``): :func:`report_filename` (:mod:`coverage.publish.naming`) is
the one rule, used by the command line, ``coverage demo`` and the web app's downloads.

The reports of the quarterly assessment of the districts (``coverage report --kind progress``,
``--kind self-assessment``) are made by :func:`make_assessment_report`
(:mod:`coverage.report.assessment`), and the progress between two kept runs
(``--compare``) by :mod:`coverage.report.progress`. The province report of ``coverage batch``
(全省汇总报告: every city side by side, ``province-report-zh.pdf``) is made by
:func:`write_province_report` (:mod:`coverage.report.province`).

Modules: ``content`` (what a report is made of; its tables are published through
:mod:`coverage.publish`), ``build`` (:func:`build_report`, from the sections written by
``_sections`` and ``_recommend``), ``html``, ``xlsx``, ``pdf`` (the writers), ``figures``
(static maps and charts), ``layout`` (tables on A4 pages); ``progress`` (two runs compared),
``assessment`` (the kinds of report), ``quarterly`` and ``self_assessment`` (with
``_scorecard`` and ``_self_actions``: the assessment cycle's reports), ``province`` (the
cities of a province side by side).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from coverage.engine.workspace import load_results
from coverage.io.project import Project, load_project
from coverage.publish.naming import report_filename, report_stem
from coverage.report.assessment import KINDS, build_assessment_report, make_assessment_report
from coverage.report.build import build_report
from coverage.report.content import Report, ReportError, ReportUsageError
from coverage.report.province import build_province_report, write_province_report

__all__ = ["FORMATS", "KINDS", "Report", "ReportError", "ReportUsageError",
           "build_assessment_report", "build_province_report", "build_report",
           "make_assessment_report", "make_report", "report_filename", "report_stem",
           "write_formats", "write_province_report", "write_report"]

FORMATS = ("html", "xlsx", "pdf")
"""Report formats."""

def write_report(
    report: Report,
    folder: str | Path,
    formats: Sequence[str] = FORMATS,
    *,
    stem: str | None = None,
) -> dict[str, Path]:
    """Write ``report`` in each format into ``folder`` as ``<stem>.<format>``; return the paths.

    The stem defaults to the naming rule (:func:`report_stem`: ``report-city-zh``,
    ``report-district-万江区-en``).

    Raises
    ------
    ReportError
        For an unknown format, or when the PDF cannot be written (no CJK font).
    """
    # The writers are imported here, when a report is written: they load matplotlib (the
    # charts and static maps) and openpyxl, which the command line's tables and the web app,
    # importing this package for its contents and file names, do not need.
    from coverage.report.html import write_html
    from coverage.report.pdf import write_pdf
    from coverage.report.xlsx import write_xlsx

    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        msg = f"unknown report format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}"
        raise ReportUsageError(msg)
    writers = {"html": write_html, "xlsx": write_xlsx, "pdf": write_pdf}
    folder = Path(folder)
    stem = stem or report_stem(lang=report.lang, district=report.district)
    return {f: writers[f](report, folder / f"{stem}.{f}") for f in formats}


def make_report(
    project: Project | str | Path,
    *,
    district: str | None = None,
    formats: Sequence[str] = FORMATS,
    lang: str | None = None,
    out: str | Path | None = None,
    mode: str = "walk",
    layers: dict[str, pd.DataFrame] | None = None,
    progress: Callable[[str], None] | None = None,
    on_pdf_error: Callable[[ReportError], None] | None = None,
    run: str | None = None,
) -> dict[str, Path]:
    """Build and write the report of a project (what ``coverage report`` does).

    Parameters
    ----------
    project
        The project (or its folder or ``project.toml``).
    district
        One district's report instead of the city's.
    formats
        Any of ``html``, ``xlsx``, ``pdf``.
    lang
        ``zh`` or ``en`` (default: the project's ``language``).
    out
        Folder for the files (default: the project's ``[outputs] dir``).
    mode
        Travel mode of the results.
    layers
        Result layers already at hand (default :func:`coverage.engine.workspace.load_results`).
    progress
        Called with a short description at the start of each step.
    on_pdf_error
        Called with the error when the PDF cannot be written (no CJK font), instead of
        raising; the other formats are written all the same.
    run
        The run to report (an id of ``coverage runs``), as kept in the project's store;
        default the latest run on the current inputs.

    Returns
    -------
    dict
        Format → file written, named by :func:`report_filename` (``report-city-zh.pdf``,
        ``report-district-万江区-en.xlsx``).
    """
    step = progress or (lambda _text: None)
    project = project if isinstance(project, Project) else load_project(project)
    if layers is None:
        layers = load_results(project, mode=mode, progress=progress, run=run)
    step("assembling the report")
    report = build_report(layers, project_name=project.name, district=district,
                          lang=lang or project.language, min_cell=project.min_cell)
    stem = report_stem(lang=report.lang, district=district)
    folder = Path(out) if out is not None else project.output_dir
    return write_formats(report, folder, formats, stem=stem, progress=step,
                         on_pdf_error=on_pdf_error)


def write_formats(
    report: Report,
    folder: Path,
    formats: Sequence[str],
    *,
    stem: str,
    progress: Callable[[str], None],
    on_pdf_error: Callable[[ReportError], None] | None = None,
) -> dict[str, Path]:
    """Write ``report`` in each format, one at a time, saying so; return the paths.

    ``on_pdf_error``: called instead of raising when the PDF cannot be written (no CJK font),
    the other formats written all the same.
    """
    paths: dict[str, Path] = {}
    for f in formats:
        progress(f"writing {f.upper()}")
        try:
            paths.update(write_report(report, folder, [f], stem=stem))
        except ReportError as exc:
            if f != "pdf" or on_pdf_error is None:
                raise
            on_pdf_error(exc)
    return paths
