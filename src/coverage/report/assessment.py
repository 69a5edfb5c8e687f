"""The reports of the quarterly assessment cycle: ``coverage report PROJECT --kind KIND``.

Three kinds of report:

``staffing``
    the staffing-recommendation report (:func:`coverage.report.make_report`), the default;
``progress``
    the quarterly progress report of the districts for the city office
    (:mod:`coverage.report.quarterly`): every district's scorecard ranked, with the change
    since the previous quarter;
``self-assessment``
    one district's self-assessment (:mod:`coverage.report.self_assessment`): its score and
    rank, the targets met and missed, the change, its funding and the actions recommended.

:func:`make_assessment_report` reads the quarter (:func:`coverage.engine.quarter.read_quarter`:
the latest run by default, or the run asked for, with the run kept before it) and writes the
report in the formats asked for, named by :func:`coverage.publish.naming.assessment_stem`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from coverage.engine.quarter import Quarter, kept_districts, read_quarter
from coverage.io.project import Project, load_project
from coverage.publish.disclosure import DEFAULT_MIN_CELL
from coverage.publish.naming import assessment_stem
from coverage.report.content import Report, ReportError, ReportUsageError
from coverage.report.quarterly import build_quarterly_report
from coverage.report.self_assessment import build_self_assessment

__all__ = ["KINDS", "build_assessment_report", "check_kind", "make_assessment_report"]

KINDS = ("staffing", "progress", "self-assessment")
"""Kinds of report (``coverage report --kind``); ``staffing`` is the default."""


def check_kind(kind: str, district: str | None) -> None:
    """Refuse an unknown kind, and ``--district`` with the city's quarterly progress report.

    Raises
    ------
    ReportUsageError
        Naming the kinds, or what to ask for instead.
    """
    if kind not in KINDS:
        msg = f"unknown report kind {kind!r}; choose from {', '.join(KINDS)}"
        raise ReportUsageError(msg)
    if kind == "progress" and district is not None:
        msg = ("--kind progress covers every district; for one district's report use "
               "--kind self-assessment --district NAME")
        raise ReportUsageError(msg)


def build_assessment_report(quarter: Quarter, kind: str, *, project_name: str,
                            district: str | None = None, lang: str = "zh",
                            min_cell: int = DEFAULT_MIN_CELL) -> Report:
    """Assemble the quarterly progress report or a district's self-assessment of a quarter.

    Parameters
    ----------
    quarter
        :func:`coverage.engine.quarter.read_quarter`.
    kind
        ``progress`` or ``self-assessment``.
    project_name, lang, min_cell
        As for :func:`coverage.report.build_report`.
    district
        The district of a self-assessment (required there).

    Raises
    ------
    ReportUsageError
        For ``self-assessment`` without a district or with one not in the run, naming the
        districts there are; for another kind.
    """
    check_kind(kind, district)
    if kind == "progress":
        return build_quarterly_report(quarter, project_name=project_name, lang=lang,
                                      min_cell=min_cell)
    if kind != "self-assessment":
        msg = f"the {kind} report is not made from a quarter; use make_report"
        raise ReportUsageError(msg)
    known = ", ".join(sorted(quarter.districts))
    if district is None:
        msg = f"--kind self-assessment needs --district NAME; districts: {known}"
        raise ReportUsageError(msg)
    if district not in quarter.districts:
        msg = f"district {district!r} is not in the run's results; districts: {known}"
        raise ReportUsageError(msg)
    return build_self_assessment(quarter, district, project_name=project_name, lang=lang,
                                 min_cell=min_cell)


def make_assessment_report(
    project: Project | str | Path,
    kind: str = "progress",
    *,
    district: str | None = None,
    run: str | None = None,
    compare: tuple[str, str] | None = None,
    formats: Sequence[str] = ("html", "xlsx", "pdf"),
    lang: str | None = None,
    out: str | Path | None = None,
    mode: str = "walk",
    progress: Callable[[str], None] | None = None,
    on_pdf_error: Callable[[ReportError], None] | None = None,
) -> dict[str, Path]:
    """Build and write a report of the assessment cycle (what ``coverage report --kind`` does).

    Parameters
    ----------
    project
        The project (or its folder or ``project.toml``).
    kind
        ``progress`` (the quarterly progress report of the districts), ``self-assessment``
        (one district's) or ``staffing`` (:func:`coverage.report.make_report`).
    district
        The district of a self-assessment (required there; not for ``progress``).
    run
        The run to report (an id of ``coverage runs``); default the latest run on the
        current inputs. Its previous quarter is the run kept before it.
    compare
        Two run ids instead of ``run``, in either order: the later reported, the earlier as
        its previous quarter (with ``staffing``: the progress report between them,
        :func:`coverage.report.progress.make_progress_report`).
    formats, lang, out, mode, progress, on_pdf_error
        As for :func:`coverage.report.make_report`.

    Returns
    -------
    dict
        Format → file written, named by :func:`coverage.publish.naming.assessment_stem`
        (``quarterly-<previous run>-<run>-city-zh.pdf``).

    Raises
    ------
    ReportUsageError
        For an unknown kind, a self-assessment without a district or of one not in the run,
        or ``run`` with ``compare``.
    ValueError
        For a run id that is no id or not kept, the same run twice, or runs that cannot be
        compared (with ``compare``).
    """
    from coverage.report import make_report, write_formats
    from coverage.report.progress import make_progress_report

    check_kind(kind, district)
    if run is not None and compare is not None:
        msg = "--compare and --run cannot be used together: --compare names both runs"
        raise ReportUsageError(msg)
    project = project if isinstance(project, Project) else load_project(project)
    if kind == "staffing":
        if compare is not None:
            return make_progress_report(project, *compare, formats=formats, district=district,
                                        lang=lang, out=out)
        return make_report(project, district=district, formats=formats, lang=lang, out=out,
                           mode=mode, progress=progress, on_pdf_error=on_pdf_error, run=run)
    if kind == "self-assessment" and district is None:  # said before anything is computed
        known = kept_districts(project, run or (max(compare) if compare else None))
        msg = ("--kind self-assessment needs --district NAME; districts: "
               f"{', '.join(known) or '(none kept yet: run `coverage run PROJECT` first)'}")
        raise ReportUsageError(msg)
    step = progress or (lambda _text: None)
    quarter = read_quarter(project, run, compare=compare, mode=mode, progress=progress)
    step("assembling the report")
    report = build_assessment_report(quarter, kind, project_name=project.name,
                                     district=district, lang=lang or project.language,
                                     min_cell=project.min_cell)
    stem = assessment_stem(kind, quarter.run, quarter.previous if quarter.compared else None,
                           lang=report.lang, district=district)
    folder = Path(out) if out is not None else project.output_dir
    return write_formats(report, folder, formats, stem=stem, progress=step,
                         on_pdf_error=on_pdf_error)
