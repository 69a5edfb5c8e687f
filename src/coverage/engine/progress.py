"""Progress between two runs of a project: the one place its figures are computed.

A city reports quarter on quarter: the same project run again on the next quarter's data, the
two runs kept in the project's store (:mod:`coverage.store`), and compared unit by unit.
:func:`progress_table` compares the layers of two runs; :func:`progress_between` reads them
from the project's store by id; :func:`previous_run` names the run before a given one (the
change "since the last"). The report (``coverage report PROJECT --compare A B``), the command
line's table and the web app only show what :func:`progress_table` returns.

The table is tidy: one row per unit (the city, :data:`coverage.reference.CITY`, and each
district) and measure, in four groups:

``indicator``
    every indicator of the ``indicators`` layer (its share achieved, its target, and whether
    each run met it: each run's own verdict, against the target of that run);
``coverage``
    the coverage shares of ``district_summary`` (migrants and registered residents within
    each threshold, and the gap between them);
``staffing``
    staff, staff per 1,000 people, the staff needed at the per-capita standard and the
    shortfall (its target is no shortfall: met when it is 0 or less);
``funding``
    every ``funding_*`` column of ``district_summary``, where a run has one (a ``funding_gap``
    is met at 0 or less). The main job writes none today: the group is then simply absent.

A unit or measure found in one run only keeps its row, the other run's side empty; none is
dropped. The figures are published first (:mod:`coverage.publish.tables`, small cells
suppressed, each run protected as its own report would be), so a suppressed value is missing
and so is its change.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from coverage.io.project import Project, load_project
from coverage.publish.disclosure import DEFAULT_MIN_CELL
from coverage.publish.tables import publish_indicators, publish_summaries, summary_thresholds
from coverage.reference import CITY
from coverage.store import Store, open_store
from coverage.store.base import check_run_id, run_time
from coverage.store.runinfo import RUN_INFO

__all__ = ["GROUPS", "PROGRESS_COLUMNS", "STAFFING", "check_comparable", "met_counts",
           "previous_run", "progress_between", "progress_table", "read_two_runs"]

PROGRESS_COLUMNS = ("level", "unit", "group", "measure", "value_before", "value_after",
                    "change", "target", "met_before", "met_after")
"""Columns of :func:`progress_table`, in order."""

GROUPS = ("indicator", "coverage", "staffing", "funding")
"""Groups of measures, in the table's order."""

STAFFING = ("staff", "staff_per_1000_migrants", "staff_per_1000_registered",
            "staff_per_1000_total", "staff_needed", "staff_shortfall")
"""Staffing measures of ``district_summary``, where present."""

#: Measures whose target is "none left": met at 0 or less.
_ZERO_TARGETS = ("staff_shortfall", "funding_gap")

#: Layers a run must hold to be compared (``community_summary`` protects the summaries).
NEEDED = ("district_summary", "indicators", "community_summary")

#: Settings two runs must share for their figures to mean the same thing.
_SETTINGS = {"mode": "travel mode", "thresholds_min": "time thresholds (min)"}


def _settings(info: pd.DataFrame | None) -> dict[str, object]:
    """Return a run's travel mode and thresholds from its ``run_info`` (``None``: not said)."""
    saved: dict[str, str] = {}
    if info is not None and len(info):
        saved = dict(zip(info["key"].astype(str), info["value"].astype(str), strict=True))
    out: dict[str, object] = {key: saved.get(key) for key in _SETTINGS}
    if out["thresholds_min"] is not None:
        out["thresholds_min"] = tuple(float(v) for v in str(out["thresholds_min"]).split(","))
    return out


def check_comparable(before: Mapping[str, pd.DataFrame], after: Mapping[str, pd.DataFrame],
                     names: tuple[str, str] = ("before", "after")) -> tuple[float, ...]:
    """Refuse two runs made with different travel modes or time thresholds.

    Parameters
    ----------
    before, after
        The two runs' layers (their ``run_info`` read).
    names
        How the message names the two runs (their ids).

    Returns
    -------
    tuple of float
        The thresholds (minutes) both runs used (empty when neither says).

    Raises
    ------
    ValueError
        Naming both runs and the setting that differs.
    """
    a, b = _settings(before.get(RUN_INFO)), _settings(after.get(RUN_INFO))
    for key, what in _SETTINGS.items():
        if a[key] != b[key]:
            shown = [", ".join(f"{v:g}" for v in x) if isinstance(x, tuple) else str(x)
                     for x in (a[key], b[key])]
            msg = (f"runs {names[0]} and {names[1]} cannot be compared: {what} "
                   f"{shown[0]} in {names[0]}, {shown[1]} in {names[1]}")
            raise ValueError(msg)
    return tuple(a["thresholds_min"] or ())  # type: ignore[arg-type]


def _group_of(columns: pd.Index) -> pd.Series:
    """Group of each summary column (missing: not a measure)."""
    names = pd.Series(columns, index=columns, dtype=object)
    group = pd.Series(pd.NA, index=columns, dtype=object)
    group[names.str.startswith("coverage_")] = "coverage"
    group[names.isin(STAFFING)] = "staffing"
    group[names.str.startswith("funding_")] = "funding"
    return group.dropna()


def _numbers(values: pd.Series) -> pd.Series:
    """Numbers as float64, missing (published or suppressed) as ``NaN``."""
    return pd.Series(pd.to_numeric(values, errors="coerce").to_numpy(dtype=float,
                                                                     na_value=np.nan),
                     index=values.index)


def _summary_rows(summary: pd.DataFrame) -> pd.DataFrame:
    """Return one run's summary measures, long: level, unit, group, measure, value, target, met."""
    groups = _group_of(summary.columns)
    wide = summary[["level", "district", *groups.index]].rename(columns={"district": "unit"})
    wide = wide.assign(unit=wide["unit"].where(wide["level"] != "city", CITY))
    if not len(groups):
        long = pd.DataFrame(columns=["level", "unit", "measure", "value"])
    else:
        long = wide.melt(id_vars=["level", "unit"], var_name="measure", value_name="value")
    long["group"] = long["measure"].map(groups)
    long["value"] = _numbers(long["value"])
    target = pd.Series(np.where(long["measure"].isin(_ZERO_TARGETS), 0.0, np.nan),
                       index=long.index)
    met = pd.array(long["value"] <= target, dtype="boolean")
    met[target.isna().to_numpy() | long["value"].isna().to_numpy()] = pd.NA
    return long.assign(target=target, met=met)


def _indicator_rows(indicators: pd.DataFrame) -> pd.DataFrame:
    """Return the city's and the districts' indicators of one run, long as :func:`_summary_rows`."""
    ind = indicators[indicators["level"].isin(["city", "district"])]
    unit = ind["unit"].astype(str).where(ind["level"] != "city", CITY)
    return pd.DataFrame({
        "level": ind["level"].astype(str), "unit": unit, "measure": ind["indicator"].astype(str),
        "value": _numbers(ind["value"]), "group": "indicator",
        "target": _numbers(ind["target"]),
        "met": pd.array(ind["met"], dtype="boolean"),
    })


def _long(layers: Mapping[str, pd.DataFrame], thresholds: tuple[float, ...],
          min_cell: int | None) -> pd.DataFrame:
    """One run's measures, long, published when ``min_cell`` is given."""
    summary, indicators = layers["district_summary"], layers["indicators"]
    if min_cell is not None:
        communities = layers["community_summary"]
        summary, _ = publish_summaries(summary, communities, thresholds, min_cell=min_cell)
        districts = communities.set_index("community_id")["district"]
        indicators = publish_indicators(indicators, districts, min_cell=min_cell)
    return pd.concat([_indicator_rows(indicators), _summary_rows(summary)], ignore_index=True)


def _ordered(table: pd.DataFrame, units: pd.Index, measures: pd.Index) -> pd.DataFrame:
    """Sort: the city first, then the districts as the runs list them; groups; measures."""
    unit_rank = pd.Index([CITY]).append(units.drop(CITY, errors="ignore"))
    keys = pd.DataFrame({"u": unit_rank.get_indexer(table["unit"]),
                         "g": pd.Index(GROUPS).get_indexer(table["group"]),
                         "m": measures.get_indexer(table["measure"])}, index=table.index)
    order = keys.sort_values(["u", "g", "m"], kind="stable").index
    return table.loc[order].reset_index(drop=True)


def progress_table(before: Mapping[str, pd.DataFrame], after: Mapping[str, pd.DataFrame], *,
                   min_cell: int | None = DEFAULT_MIN_CELL,
                   names: tuple[str, str] = ("before", "after")) -> pd.DataFrame:
    """Return the progress of every unit and measure from one run to a later one.

    Parameters
    ----------
    before, after
        The earlier and the later run's layers, by name: ``district_summary``,
        ``indicators``, ``community_summary`` (with ``min_cell``) and ``run_info``.
    min_cell
        Smallest published count: each run's figures are published first (small cells and
        what would reveal them missing, :mod:`coverage.publish.tables`). ``None``: the exact
        figures, for analysts working inside the office.
    names
        How an error names the two runs (their ids).

    Returns
    -------
    pandas.DataFrame
        One row per (unit, measure), columns :data:`PROGRESS_COLUMNS`: ``level`` (``city`` or
        ``district``), ``unit`` (the city's row is :data:`coverage.reference.CITY`), ``group``
        (:data:`GROUPS`), ``measure`` (the indicator's key or the summary's column),
        ``value_before``, ``value_after``, ``change`` (after − before; float, ``NaN`` where
        either side is missing), ``target`` (the later run's, else the earlier's; ``NaN``
        where the measure has none) and ``met_before``, ``met_after`` (nullable booleans,
        missing without a target or a value). The city first, then the districts in the
        later run's order (those of the earlier run only after them), then by group.

    Raises
    ------
    ValueError
        When the runs used different travel modes or thresholds, or lack a layer needed.
    """
    for layers, name in ((before, names[0]), (after, names[1])):
        wanted = NEEDED if min_cell is not None else NEEDED[:2]
        missing = [n for n in wanted if n not in layers]
        if missing:
            msg = f"run {name} holds no layer {', '.join(missing)}: it cannot be compared"
            raise ValueError(msg)
    thresholds = check_comparable(before, after, names)
    if not thresholds:  # runs without run_info: the thresholds of the columns
        thresholds = summary_thresholds(after["district_summary"].columns)
    old, new = _long(before, thresholds, min_cell), _long(after, thresholds, min_cell)
    keys = ["level", "unit", "group", "measure"]
    table = new.merge(old, on=keys, how="outer", suffixes=("_after", "_before"), sort=False)
    table["change"] = table["value_after"] - table["value_before"]
    table["target"] = table["target_after"].combine_first(table["target_before"])
    units = pd.Index(pd.concat([new["unit"], old["unit"]]).unique())
    measures = pd.Index(pd.concat([new["measure"], old["measure"]]).unique())
    out = _ordered(table, units, measures)[list(PROGRESS_COLUMNS)]
    out["met_before"] = out["met_before"].astype("boolean")
    out["met_after"] = out["met_after"].astype("boolean")
    return out


def met_counts(table: pd.DataFrame) -> dict[str, int]:
    """Count the plan's indicators met in a progress table (its ``indicator`` rows).

    Parameters
    ----------
    table
        :func:`progress_table`, or the rows of one unit of it.

    Returns
    -------
    dict
        ``before`` and ``after``: indicator rows met in each run (over every unit of
        ``table``); ``gained``: met in the later run but not the earlier; ``lost``: the
        reverse. A row missing on a side counts as not met there.
    """
    ind = table[table["group"] == "indicator"]
    before = ind["met_before"].astype("boolean").fillna(False).to_numpy(bool)
    after = ind["met_after"].astype("boolean").fillna(False).to_numpy(bool)
    return {"before": int(before.sum()), "after": int(after.sum()),
            "gained": int((after & ~before).sum()), "lost": int((before & ~after).sum())}


def previous_run(store: Store, run_id: str) -> str | None:
    """Return the id of the run kept just before ``run_id`` (``None``: it is the first).

    Raises
    ------
    ValueError
        When ``run_id`` is no run id, or the store holds no such run.
    """
    ids = list(store.runs()["run_id"].astype(str))
    if check_run_id(run_id) not in ids:
        msg = f"{store.name} holds no run {run_id}; `coverage runs PROJECT` lists them"
        raise ValueError(msg)
    at = ids.index(run_id)
    return ids[at - 1] if at else None


def progress_between(project: Project | str | Path, run_a: str,
                     run_b: str | None = None) -> pd.DataFrame:
    """Return the progress table between two runs kept in a project's store.

    Parameters
    ----------
    project
        The project (or its folder or ``project.toml``); its store holds the runs.
    run_a, run_b
        The two runs' ids (``coverage runs PROJECT``), in either order: the earlier is
        "before". Without ``run_b``, ``run_a`` is compared with the run before it
        (:func:`previous_run`): the change since the last.

    Returns
    -------
    pandas.DataFrame
        :func:`progress_table`, published with the project's ``[privacy] min_cell``, with
        ``attrs`` ``run_before`` and ``run_after`` (the ids) and
        ``time_before``, ``time_after`` (when each was written, UTC).

    Raises
    ------
    ValueError
        For an id that is no run id or not in the store, the same run twice, a first run
        without ``run_b``, or runs that cannot be compared (:func:`check_comparable`).
    coverage.store.StoreError
        When the store cannot be read.
    """
    project = project if isinstance(project, Project) else load_project(project)
    first, last, *layers = read_two_runs(project, run_a, run_b, (*NEEDED, RUN_INFO))
    table = progress_table(*layers, min_cell=project.min_cell, names=(first, last))
    table.attrs.update(run_before=first, run_after=last, time_before=run_time(first),
                       time_after=run_time(last))
    return table


def read_two_runs(project: Project, run_a: str, run_b: str | None,
                  names: tuple[str, ...]) -> tuple[str, str, dict[str, pd.DataFrame],
                                                   dict[str, pd.DataFrame]]:
    """Read two runs of a project's store to compare them, the earlier first.

    Parameters
    ----------
    project
        The project whose store holds the runs.
    run_a, run_b
        The two runs' ids, in either order; without ``run_b``, the run before ``run_a``
        (:func:`previous_run`).
    names
        The layers to read, those a run holds (a layer a run lacks is left out).

    Returns
    -------
    tuple
        The earlier run's id, the later's, and each one's layers by name.

    Raises
    ------
    ValueError
        For an id that is no run id or not in the store, the same run twice, or a first run
        without ``run_b``.
    """
    with open_store(project) as store:
        runs = store.runs()
        known = set(runs["run_id"].astype(str))
        for run_id in (run_a, run_b):
            if run_id is not None and check_run_id(run_id) not in known:
                msg = f"{store.name} holds no run {run_id}; `coverage runs PROJECT` lists them"
                raise ValueError(msg)
        if run_b is None:
            run_b = previous_run(store, run_a)
            if run_b is None:
                msg = f"run {run_a} is the first of {store.name}: there is none to compare with"
                raise ValueError(msg)
        if run_a == run_b:
            msg = f"--compare needs two different runs, got {run_a} twice"
            raise ValueError(msg)
        first, last = sorted((run_a, run_b))
        listed = dict(zip(runs["run_id"].astype(str), runs["layers"], strict=True))
        before, after = [store.read_layers(r, [n for n in names if n in listed[r]])
                         for r in (first, last)]
    return first, last, before, after
