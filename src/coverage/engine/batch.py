"""A province: every city's project under one folder run as tasks on a Dask cluster.

:func:`run_batch` finds the projects (:func:`find_projects`), sends each city to the cluster
as one task (:func:`run_city`: the main job and its results kept in the city's own store,
exactly as ``coverage run`` keeps them) and gathers, from each city, one row of published
aggregates (:func:`city_row`) and nothing else: the process that drives a province never holds
a person's record. :func:`province_summary` puts the rows side by side.

Failures stay with their city. A city whose inputs are refused, or whose run stops on an
error, is reported with one line (:class:`CityOutcome`) and the others go on. A city whose
worker is lost (killed, out of memory) is given to another worker by the scheduler, up to
Dask's ``distributed.scheduler.allowed-failures`` times (3 by default); after that it is
reported as lost. The cluster is a :class:`distributed.LocalCluster` of this machine
(``"local"``) or an existing scheduler (``"tcp://host:port"``) whose workers see the same
folders (:mod:`coverage.engine.cluster`).
"""

from __future__ import annotations

import datetime as dt
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from coverage.engine.cluster import ClusterError, connect
from coverage.engine.reader import published_layers
from coverage.io.project import Project, load_project
from coverage.measures.equalization import threshold_label

__all__ = [
    "FAILURES_FILE",
    "PROJECT_FILE",
    "PROVINCE",
    "SUMMARY_FILE",
    "BatchResult",
    "CityOutcome",
    "ClusterError",
    "city_row",
    "failures_table",
    "find_projects",
    "province_summary",
    "run_batch",
    "run_city",
    "write_province",
]

PROJECT_FILE = "project.toml"
#: The province table and the list of cities without results, in the output folder.
SUMMARY_FILE, FAILURES_FILE = "province_summary.csv", "province_failures.csv"

#: Columns of a city's row taken from its published city summary, in order.
_SUMMARY = ("migrants", "registered_pop", "communities", "staff", "staff_needed",
            "staff_shortfall", "staff_per_1000_migrants")
#: Columns the province's row adds up over its cities (empty unless every city has them).
_ADDED = ("migrants", "registered_pop", "communities", "staff", "staff_needed",
          "staff_shortfall", "funding_needed_yuan")
#: The province's row of :func:`province_summary`.
PROVINCE = "全省"
#: Columns taken from its funding layer's city row, where it has one.
_FUNDING = ("funding_migrant_per_capita", "funding_registered_per_capita",
            "funding_gap_per_capita", "funding_needed_yuan")


@dataclass(frozen=True)
class CityOutcome:
    """What one city's task returns: its row of aggregates, or why there is none.

    Attributes
    ----------
    folder
        The project's folder, relative to the province's folder.
    name
        The project's name (its folder's name when the project file cannot be read).
    ok
        Whether the city's run was kept.
    seconds
        Wall time of the task.
    row
        One row of published aggregates (:func:`city_row`); ``None`` when not ``ok``.
    run_id
        Id of the run kept in the city's store.
    error
        One line: why the city has no results (its inputs refused, the step an unexpected
        error stopped, or its worker lost).
    step
        The step the city was at when it stopped (``-`` when it did not start).
    details
        The traceback of an unexpected error, for a private log (never shown to the user).
    """

    folder: str
    name: str
    ok: bool
    seconds: float
    row: pd.DataFrame | None = None
    run_id: str | None = None
    error: str | None = None
    step: str = "-"
    details: str | None = None


@dataclass
class BatchResult:
    """Every city's outcome, in the order of :func:`find_projects`, and the province's table.

    ``finished``: when the last city came back (UTC, to the second).
    """

    folder: Path
    outcomes: list[CityOutcome]
    summary: pd.DataFrame
    seconds: float
    finished: dt.datetime | None = None

    @property
    def failed(self) -> list[CityOutcome]:
        """The cities without results."""
        return [o for o in self.outcomes if not o.ok]


def find_projects(folder: str | Path) -> list[Path]:
    """Return the project files under ``folder``, sorted by path.

    A folder holding ``project.toml`` is one city; its subfolders (results, run history)
    are not searched further.

    Raises
    ------
    ValueError
        When ``folder`` is not a folder or holds no project.
    """
    root = Path(folder)
    if not root.is_dir():
        msg = f"{root}: not a folder (coverage batch runs every project under a folder)"
        raise ValueError(msg)
    found: list[Path] = []
    stack = [root]
    while stack:
        here = stack.pop()
        if (here / PROJECT_FILE).is_file():
            found.append(here / PROJECT_FILE)
            continue
        stack.extend(p for p in here.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not found:
        msg = f"{root}: no {PROJECT_FILE} in it or its subfolders (one project per city)"
        raise ValueError(msg)
    return sorted(found)


def city_row(layers: dict[str, pd.DataFrame], project: Project, folder: str = ".") -> pd.DataFrame:
    """Return a city's row of the province table, from its run's layers, as published.

    The city's row of the district summary and of the indicators after small-cell
    suppression (:func:`coverage.engine.reader.published_layers`, the project's ``min_cell``),
    and of the funding layer where there is one: people, staff, the standard's staff needed
    and the shortfall, coverage of migrants and registered residents within the largest
    threshold and its gap, each indicator's value, how many met their targets, the funding
    per person and its gap. ``folder``: the project's folder in the province's.
    """
    published = published_layers(layers, project)
    summary = published["published_district_summary"]
    city = summary[summary["level"] == "city"].iloc[0]
    label = threshold_label(max(project.parameters.thresholds_min))
    row: dict[str, object] = {"city": project.name, "folder": folder, "districts": int(
        (summary["level"] == "district").sum())}
    row.update({c: city[c] for c in _SUMMARY if c in summary.columns})
    row["threshold"] = label
    for group in ("migrant", "registered"):
        row[f"coverage_{group}"] = city.get(f"coverage_{label}_{group}", np.nan)
    row["coverage_gap"] = city.get(f"coverage_gap_{label}", np.nan)
    indicators = published.get("published_indicators")
    if indicators is not None:
        at_city = indicators[indicators["level"] == "city"]
        for _, ind in at_city.iterrows():
            row[f"indicator_{ind['indicator']}"] = ind["value"]
        assessed = at_city["value"].notna()
        row["indicators_met"] = int((at_city["met"].astype(float)[assessed] > 0).sum())
        row["indicators_assessed"] = int(assessed.sum())
    funding = layers.get("funding")
    if funding is not None:
        top = funding[funding["level"] == "city"].iloc[0]
        row.update({c: float(top[c]) for c in _FUNDING})
    return pd.DataFrame([row])


def run_city(project_file: str, root: str, mode: str = "walk") -> CityOutcome:
    """Run one city's main job and keep its results; never raise.

    What a worker of :func:`run_batch` runs for each city: the project is read and checked
    (:func:`coverage.io.loaders.load_study`), run (:func:`coverage.engine.run.run_study`)
    and its results kept in its store (:func:`coverage.engine.writing.save_results`, under
    the output folder's lock), as ``coverage run`` does. Returns the city's row of published
    aggregates, or the one line saying why there is none.
    """
    from coverage.engine.run import run_study
    from coverage.engine.writing import save_results
    from coverage.io.atomic import ResultsLockedError, folder_lock
    from coverage.io.project import ProjectError
    from coverage.io.validation import ValidationError
    from coverage.store import StoreError

    start = time.perf_counter()
    path = Path(project_file)
    folder = path.parent.relative_to(root).as_posix() or "."
    step = ["reading the project"]
    name = path.parent.name
    try:
        project = load_project(path)
        name = project.name
        with folder_lock(project.output_dir):
            results = run_study(project, mode=mode, progress=lambda text: step.__setitem__(0, text))
            step[0] = "writing results"
            saved = save_results(results)
        step[0] = "the province row"
        row = city_row(results.layers(), project, folder)
    except (ValidationError, ProjectError, StoreError, ResultsLockedError) as exc:  # one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return CityOutcome(folder, name, False, time.perf_counter() - start, error=first,
                           step=step[0])
    except Exception as exc:  # a city's error stays with the city
        return CityOutcome(folder, name, False, time.perf_counter() - start,
                           error=f"unexpected {type(exc).__name__} in step “{step[0]}”",
                           step=step[0], details="".join(traceback.format_exception(exc)))
    return CityOutcome(folder, name, True, time.perf_counter() - start, row=row,
                       run_id=saved.run_id, step="done")


def province_summary(outcomes: list[CityOutcome]) -> pd.DataFrame:
    """Return the province table: one row per city run, side by side, then the province's.

    Cities in the order of the outcomes; the columns of :func:`city_row` (a city without
    a figure, e.g. without budgets, has it empty). The last row, ``city`` = :data:`CITY`
    :data:`PROVINCE`, adds people, staff and the funding needed up (empty where a city lacks
    the figure) and gives coverage as the people-weighted share of the cities; indicator
    values and funding per person are left empty there (their populations differ by city and
    are not published).
    """
    rows = [o.row for o in outcomes if o.ok and o.row is not None]
    if not rows:
        return pd.DataFrame(columns=["city"])
    table = pd.concat(rows, ignore_index=True)
    total: dict[str, object] = {"city": PROVINCE, "folder": "",
                                "districts": int(table["districts"].sum())}
    for column in _ADDED:
        if column in table:  # every city's, or none
            total[column] = pd.Series(_floats(table[column])).sum(min_count=len(table))
    for group, people in (("migrant", "migrants"), ("registered", "registered_pop")):
        share, weight = _floats(table[f"coverage_{group}"]), _floats(table[people])
        total[f"coverage_{group}"] = (float((share * weight).sum() / weight.sum())
                                      if not np.isnan(share * weight).any() and weight.sum() > 0
                                      else np.nan)
    total["coverage_gap"] = total["coverage_registered"] - total["coverage_migrant"]
    if "staff_per_1000_migrants" in table and total.get("migrants"):
        total["staff_per_1000_migrants"] = total["staff"] / total["migrants"] * 1000.0
    labels = table["threshold"].dropna().unique()
    total["threshold"] = labels[0] if len(labels) == 1 else ""
    table = pd.concat([table, pd.DataFrame([total])], ignore_index=True)
    counts = ["districts", "migrants", "registered_pop", "communities", "indicators_met",
              "indicators_assessed"]
    return table.astype({c: "Int64" for c in counts if c in table})


def _floats(values: pd.Series) -> np.ndarray:
    """Numbers as float64, anything missing (``None``, ``pd.NA``, ``NaN``) as ``NaN``."""
    return pd.to_numeric(values, errors="coerce").astype("Float64").to_numpy(
        dtype=float, na_value=np.nan)


def run_batch(folder: str | Path, *, cluster: str = "local", workers: int | None = None,
              mode: str = "walk",
              progress: Callable[[CityOutcome, int, int], None] | None = None) -> BatchResult:
    """Run every city under ``folder`` on a Dask cluster; return each outcome and the table.

    Parameters
    ----------
    folder
        The province's folder: one project per city (:func:`find_projects`).
    cluster
        ``"local"`` (a :class:`distributed.LocalCluster` of ``workers`` processes on this
        machine) or the address of a running scheduler (``tcp://host:port``) whose workers
        read the same folders.
    workers
        Worker processes of a local cluster (default: as many as cores, at most one per
        city).
    mode
        Travel mode of every city's run.
    progress
        Called with each city's outcome as it arrives, and how many are done of how many.

    Raises
    ------
    ValueError
        When ``folder`` holds no project.
    ClusterError
        When the cluster cannot be started or reached.
    """
    from distributed import as_completed

    start = time.perf_counter()
    root = Path(folder)
    projects = find_projects(root)
    outcomes: dict[int, CityOutcome] = {}
    with connect(cluster, workers=workers, tasks=len(projects)) as client:
        futures = {client.submit(run_city, str(p), str(root), mode, pure=False,
                                 key=f"city-{k}"): k for k, p in enumerate(projects)}
        for future in as_completed(futures):
            k = futures[future]
            outcomes[k] = _outcome(future, projects[k], root)
            if progress:
                progress(outcomes[k], len(outcomes), len(projects))
    ordered = [outcomes[k] for k in range(len(projects))]
    return BatchResult(root, ordered, province_summary(ordered), time.perf_counter() - start,
                       finished=dt.datetime.now(dt.UTC).replace(microsecond=0))


def _outcome(future: object, project: Path, root: Path) -> CityOutcome:
    """Return a finished task's outcome; a lost worker or a cluster error is the city's line."""
    from distributed import KilledWorker

    try:
        return future.result()  # type: ignore[attr-defined]
    except KilledWorker:
        error = ("its worker was lost each time it ran (killed or out of memory); "
                 "give the workers more memory or run the city alone")
    except Exception as exc:  # the cluster failed this task, not the city's code
        error = f"the cluster could not run it: {type(exc).__name__}"
    folder = project.parent.relative_to(root).as_posix() or "."
    return CityOutcome(folder, project.parent.name, False, float("nan"), error=error)



def failures_table(result: BatchResult) -> pd.DataFrame:
    """Return the cities without results: folder, name, the step and the one line why."""
    return pd.DataFrame({"folder": [o.folder for o in result.failed],
                         "city": [o.name for o in result.failed],
                         "step": [o.step for o in result.failed],
                         "error": [o.error for o in result.failed]},
                        columns=["folder", "city", "step", "error"])


def write_province(result: BatchResult, out: str | Path) -> dict[str, Path]:
    """Write the province table and the failures list as CSV into ``out``; return the paths.

    UTF-8 with a byte-order mark (Excel shows the Chinese names), text a spreadsheet would run
    as a formula neutralised (:func:`coverage.store.files.csv_ready`), each file written
    whole or not at all (:func:`coverage.io.atomic.atomic_file`). The failures file is
    written (with its header only) when every city ran, so that an old list never stays.
    """
    from coverage.io.atomic import atomic_file
    from coverage.store.files import csv_ready

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, table in ((SUMMARY_FILE, result.summary), (FAILURES_FILE, failures_table(result))):
        with atomic_file(folder / name) as fh:
            fh.write(csv_ready(table).to_csv(index=False).encode("utf-8-sig"))
        paths[name] = folder / name
    return paths
