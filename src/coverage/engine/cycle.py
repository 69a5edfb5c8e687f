"""What a planner reads of a run's assessment cycle: the scorecard, its trend and the funding.

The main job scores the districts (the ``scorecard`` layer, :mod:`coverage.engine.scorecard`)
and compares their budgets (the ``funding`` layer, :mod:`coverage.measures.funding`, when the
project has a ``budgets`` layer). This module reads them for display, computing nothing anew
that a run holds:

* :func:`ranked_scorecard`: the run's scorecard, districts in the order of their rank;
* :func:`scorecard_trend`: each district's score and rank against the run kept before it in
  the project's store (:func:`coverage.engine.scorecard.scorecard_between`), or why there is
  none (:data:`TREND_REASONS`);
* :func:`published_funding`: the funding table as it may be shown (the figures made from the
  migrants of a district whose migrants are suppressed in the published summary are
  suppressed too: with the budget they would give the count back).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from coverage.engine.progress import previous_run
from coverage.engine.scorecard import scorecard, scorecard_between
from coverage.io.project import Project
from coverage.store import Store, StoreError, open_store
from coverage.store.base import run_time
from coverage.store.runinfo import RUN_INFO

__all__ = ["TREND_REASONS", "Trend", "published_funding", "ranked_scorecard", "run_of",
           "scorecard_trend"]

TREND_REASONS = ("not-kept", "first-run", "not-comparable", "store-unreadable")
"""Why a scorecard has no trend: its results are no run of the store (computed in memory,
e.g. another travel mode's), it is the store's first run, the run before it used another
travel mode or other thresholds (or lacks a layer), or the store could not be read."""

#: Keys of ``run_info`` that tell a run: its parameters, travel mode and when it ran.
_RUN_KEYS = ("parameters_digest", "mode", "run_at")


def ranked_scorecard(layers: Mapping[str, pd.DataFrame], project: Project) -> pd.DataFrame:
    """Return a run's scorecard, its districts in the order of their rank.

    Parameters
    ----------
    layers
        The run's layers: its ``scorecard`` (as the run published it). Results written
        before runs kept one are scored here from their summaries
        (:func:`coverage.engine.scorecard.scorecard` with the project's ``[assessment]`` and
        ``[privacy] min_cell``).
    project
        The project.

    Returns
    -------
    pandas.DataFrame
        The ``scorecard`` layer's rows (:data:`coverage.engine.scorecard.SCORECARD_COLUMNS`):
        the best rank first, districts of equal rank in the run's order, those without a rank
        (nothing assessed) last; each district's indicators in the assessment's order.
    """
    table = layers.get("scorecard")
    if table is None:
        table = scorecard(layers, project.assessment, min_cell=project.min_cell)
    table = pd.DataFrame(table).reset_index(drop=True)
    first = table.drop_duplicates("district")
    order = first.assign(_at=np.arange(len(first))).sort_values(
        ["rank", "_at"], na_position="last", kind="stable")["district"]
    at = pd.Index(order).get_indexer(table["district"])
    return table.iloc[np.argsort(at, kind="stable")].reset_index(drop=True)


def _run_keys(info: pd.DataFrame | None) -> dict[str, str]:
    """Return a run's parameters' digest, travel mode and time of running (``run_info``)."""
    if info is None or not len(info):
        return {}
    saved = dict(zip(info["key"].astype(str), info["value"].astype(str), strict=True))
    return {key: saved[key] for key in _RUN_KEYS if key in saved}


def run_of(store: Store, info: pd.DataFrame | None) -> str | None:
    """Return the id of the run of ``store`` whose ``run_info`` is ``info`` (``None``: none).

    A run is told by its parameters' digest, travel mode and time of running; the newest
    such run is taken.
    """
    wanted = _run_keys(info)
    if len(wanted) < len(_RUN_KEYS):
        return None
    runs = store.runs()
    same = runs[(runs["parameters_digest"] == wanted["parameters_digest"])
                & (runs["mode"] == wanted["mode"])]
    for run_id in same["run_id"].astype(str).iloc[::-1]:
        if _run_keys(store.run_info(run_id)) == wanted:
            return run_id
    return None


@dataclass(frozen=True)
class Trend:
    """Each district's scorecard against the run before, or why there is none.

    Attributes
    ----------
    table
        :func:`coverage.engine.scorecard.scorecard_progress` of the two runs (``None``: no
        trend): ``score_change`` (after − before), ``rank_change`` (before − after: positive,
        the district moved up).
    run_before, run_after
        The runs' ids (``None`` where there is none).
    time_before
        When the run before was written (UTC; ``None`` without one).
    reason
        Why there is no trend (:data:`TREND_REASONS`), ``None`` when there is one.
    detail
        The problem's own words for ``not-comparable`` and ``store-unreadable``.
    """

    table: pd.DataFrame | None = None
    run_before: str | None = None
    run_after: str | None = None
    time_before: pd.Timestamp | None = None
    reason: str | None = None
    detail: str = ""


def scorecard_trend(project: Project, layers: Mapping[str, pd.DataFrame]) -> Trend:
    """Return the change of every district's score and rank since the run kept before.

    Parameters
    ----------
    project
        The project, whose store keeps the runs.
    layers
        The run's layers (its ``run_info`` tells which run of the store it is,
        :func:`run_of`).

    Returns
    -------
    Trend
        Both runs scored with the project's ``[assessment]`` and ``[privacy] min_cell``
        (:func:`coverage.engine.scorecard.scorecard_between`: the later run's scores are the
        run's own), or the reason there is no trend.
    """
    try:
        with open_store(project) as store:
            run_id = run_of(store, layers.get(RUN_INFO))
            before = None if run_id is None else previous_run(store, run_id)
    except StoreError as exc:
        return Trend(reason="store-unreadable", detail=str(exc))
    if run_id is None:
        return Trend(reason="not-kept")
    if before is None:
        return Trend(run_after=run_id, reason="first-run")
    runs = {"run_before": before, "run_after": run_id, "time_before": run_time(before)}
    try:
        table = scorecard_between(project, run_id, before)
    except (ValueError, StoreError) as exc:
        return Trend(**runs, reason="not-comparable", detail=str(exc))
    return Trend(table=table, **runs)


def published_funding(funding: pd.DataFrame, districts: pd.DataFrame) -> pd.DataFrame:
    """Return the ``funding`` layer as it may be shown.

    Parameters
    ----------
    funding
        The run's ``funding`` layer (:data:`coverage.measures.funding.FUNDING_COLUMNS`).
    districts
        The published district table (``level``, ``district``, ``migrants``; suppressed:
        missing), e.g. the session's.

    Returns
    -------
    pandas.DataFrame
        The layer without its head counts (``migrants``, ``registered_pop``); where the
        published table's migrants are missing, so is every figure made from them (the
        per-capita figures, the budget at the standard and the budget lacking), the budgets
        themselves kept. The districts in the layer's order, then the city.
    """
    frame = pd.DataFrame(funding).reset_index(drop=True)
    published = districts.assign(district=districts["district"].astype(str)).set_index(
        ["level", "district"])["migrants"]
    keys = pd.MultiIndex.from_arrays([frame["level"].astype(str),
                                      frame["district"].astype(str)])
    shown = published.reindex(keys).notna().to_numpy(bool)
    from_people = [c for c in frame.columns if c.endswith("_per_capita")
                   or c in ("funding_migrant_at_standard_yuan", "funding_needed_yuan")]
    frame.loc[~shown, from_people] = np.nan
    return frame.drop(columns=[c for c in ("migrants", "registered_pop") if c in frame])
