"""Staffing-recommendation reports in HTML, XLSX and PDF, in Chinese and English.

:func:`make_report` is what ``coverage report`` runs: it takes the project's latest results
(running the main job and the recommendation if they are missing or out of date, see
:func:`load_results`), builds the report for the city or one district
(:func:`build_report`) and writes it in the formats asked for. Everything a report shows about
people is an aggregate protected by small-cell suppression (:mod:`coverage.report.publish`,
:mod:`coverage.disclosure`).

Report files are named by scope and language (``report-city-zh.pdf``,
``report-district-万江区-en.xlsx``): :func:`report_filename` is the one rule, used by the
command line, ``coverage demo`` and the web app's downloads.

Modules: ``content`` (what the report says), ``publish`` (disclosure control of the tables),
``html``, ``xlsx``, ``pdf`` (the writers), ``figures`` (static maps and charts), ``layout``
(tables on A4 pages), ``naming`` (file names).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from coverage.project import Project, load_project
from coverage.report.content import Report, ReportError, ReportUsageError, build_report
from coverage.report.naming import report_filename, report_stem

__all__ = ["FORMATS", "Report", "ReportError", "ReportUsageError", "build_report",
           "load_results", "make_report", "report_filename", "report_stem", "write_report"]

FORMATS = ("html", "xlsx", "pdf")
"""Report formats."""

#: Recommendation made for a report when the results hold none (``coverage recommend`` makes
#: others): three new service points for coverage, twenty new staff for the largest shortfalls.
DEFAULT_NEW_SITES = 3
DEFAULT_NEW_STAFF = 20

_RECOMMENDATION = ("recommended_sites", "recommended_staff", "scenario_comparison")


def _current_layers(gpkg: Path, project: Project, mode: str) -> dict[str, pd.DataFrame]:
    """Read the layers of ``results.gpkg`` if they are a complete, current run, else none.

    Complete: the file opens, has ``run_info``, and holds every layer ``run_info`` lists under
    ``layers`` (a file without that list, or missing one of its layers, is not used: the
    results are computed again rather than shown with sections missing). Current: ``run_info``
    matches the project's inputs, parameters and ``mode``. The layers are read again when a
    new run replaced the file while they were read, so that they all come from one run.
    """
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    from coverage.provenance import is_current, listed_layers

    for _attempt in range(3):
        try:
            before = gpkg.stat()
            names = [name for name, _ in pyogrio.list_layers(gpkg)]
            if "run_info" not in names:
                return {}
            info = pyogrio.read_dataframe(gpkg, layer="run_info")
            listed = listed_layers(info)
            if listed is None or not set(listed) <= set(names):
                return {}
            if not is_current(info, project, mode):
                return {}
            layers = {name: info if name == "run_info" else
                      pyogrio.read_dataframe(gpkg, layer=name) for name in names}
            after = gpkg.stat()
        except (OSError, DataSourceError, DataLayerError, KeyError):
            return {}
        if (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns):
            return layers
    return {}


def load_results(
    project: Project | str | Path,
    *,
    mode: str = "walk",
    new_sites: int = DEFAULT_NEW_SITES,
    new_staff: int = DEFAULT_NEW_STAFF,
    progress: Callable[[str], None] | None = None,
    write: bool = True,
) -> dict[str, pd.DataFrame]:
    """Return the project's latest result layers, computing what is missing.

    The layers in the project's ``results.gpkg`` are used when their ``run_info`` matches the
    current inputs (SHA-256), parameters and travel mode; otherwise the main job runs again and
    writes them. When the results hold no recommendation, one is made (``new_sites`` sites for
    coverage and ``new_staff`` staff for the largest shortfalls) and written beside them, with
    its scenario file ``recommended_scenario.json``. With ``write`` False nothing is written
    (the web app computes another travel mode's results in memory, leaving the saved ones).

    Saved results are read without waiting; computing and writing missing ones holds the
    output folder's lock (:func:`coverage.workspace_io.folder_lock`), so a run already writing
    them is waited for and its results are used when they are current.
    """
    from coverage.workspace_io import folder_lock

    project = project if isinstance(project, Project) else load_project(project)
    gpkg = project.output_dir / "results.gpkg"
    layers = _current_layers(gpkg, project, mode)
    wanted = bool(new_sites or new_staff)
    if layers and (any(name in layers for name in _RECOMMENDATION) or not wanted):
        return layers
    if not write:
        return _complete(project, layers, mode=mode, new_sites=new_sites, new_staff=new_staff,
                         progress=progress, write=False)
    with folder_lock(project.output_dir):
        layers = _current_layers(gpkg, project, mode)  # another run may have written them
        return _complete(project, layers, mode=mode, new_sites=new_sites,
                         new_staff=new_staff, progress=progress, write=True)


def _complete(
    project: Project,
    layers: dict[str, pd.DataFrame],
    *,
    mode: str,
    new_sites: int,
    new_staff: int,
    progress: Callable[[str], None] | None,
    write: bool,
) -> dict[str, pd.DataFrame]:
    """Compute (and with ``write`` save) what :func:`load_results` found missing."""
    from coverage.loaders import load_study
    from coverage.network import RoadNetwork
    from coverage.run import run_study, write_results

    step = progress or (lambda _text: None)
    study = net = None
    if not layers:
        step("running the main job")
        study = load_study(project)
        net = RoadNetwork.from_study(study, mode=mode)
        results = run_study(study, mode=mode, progress=progress, network=net)
        if write:
            write_results(results, project.output_dir)
        layers = results.layers()
    if not any(name in layers for name in _RECOMMENDATION) and (new_sites or new_staff):
        from coverage.recommend import recommend
        from coverage.run import write_layers
        from coverage.session import scenario_model

        step("recommending new service points and staff")
        # The process's model (the web app keeps using it), on the inputs just loaded.
        model = scenario_model(project, mode, study=study, network=net)
        rec = recommend(model, new_sites=new_sites, new_staff=new_staff, progress=progress)
        if write:
            write_layers(rec.layers, project.output_dir,
                         files={"recommended_scenario.json": rec.scenario.to_json() + "\n"})
        layers = {**layers, **rec.layers}
    return layers


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
        Result layers already at hand (default :func:`load_results`).
    progress
        Called with a short description at the start of each step.
    on_pdf_error
        Called with the error when the PDF cannot be written (no CJK font), instead of
        raising; the other formats are written all the same.

    Returns
    -------
    dict
        Format → file written, named by :func:`report_filename` (``report-city-zh.pdf``,
        ``report-district-万江区-en.xlsx``).
    """
    step = progress or (lambda _text: None)
    project = project if isinstance(project, Project) else load_project(project)
    if layers is None:
        layers = load_results(project, mode=mode, progress=progress)
    step("assembling the report")
    report = build_report(layers, project_name=project.name, district=district,
                          lang=lang or project.language, min_cell=project.min_cell)
    stem = report_stem(lang=report.lang, district=district)
    folder = Path(out) if out is not None else project.output_dir
    paths = {}
    for f in formats:
        step(f"writing {f.upper()}")
        try:
            paths.update(write_report(report, folder, [f], stem=stem))
        except ReportError as exc:
            if f != "pdf" or on_pdf_error is None:
                raise
            on_pdf_error(exc)
    return paths
