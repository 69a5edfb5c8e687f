"""The district scorecard (考核评估): each district scored on the plan's targets and ranked.

The plan puts the pilot under the city's target-responsibility assessment of the districts
("(四)实行目标考核 ... 定期开展专项督查和考核评估"). :func:`scorecard` scores every district on
the indicators of ``[assessment]`` (:mod:`coverage.io.assessment`, defaults from the plan,
``docs/assessment.md``) from one run's layers; :func:`scorecard_progress` compares two runs
(quarter on quarter) and :func:`scorecard_between` reads them from the project's store.

Where each indicator's value comes from (the district's row):

``policy_awareness`` … ``community_management``
    ``value`` of the ``indicators`` layer (its target: the run's ``[parameters.targets]``
    unless ``[assessment]`` gives one);
``coverage``
    ``coverage_<t>_migrant`` of ``district_summary`` (``t``: ``threshold_min``, else the
    largest threshold);
``migrant_gap``
    ``coverage_gap_<t>`` (registered minus migrants, positive: migrants worse off);
``staffing``
    ``staff_shortfall / staff_needed``: the share of the standard's staff missing (0 when no
    staff is needed);
``funding``
    ``funding_gap_per_capita`` of ``district_summary``, else ``funding_registered_per_capita −
    funding_migrant_per_capita`` of a ``funding`` layer (``district`` column). Without either
    the indicator is not assessed (reason ``no-funding-figures``).

Published figures only: the summaries and indicators are published first
(:mod:`coverage.publish.tables`), so a suppressed value is **not assessed** (reason
``suppressed``), as is a value the run does not have (``no-data``: nobody in the target group
with a record). A district's score is ``100 × Σ points / Σ weights`` over the indicators
assessed for it: the weights are renormalised over what is there, so an indicator left out
neither counts for nor against a district (``assessed_count`` says how many were scored).
Ranks: 1 is the best; equal scores share the best rank of the tie and the next rank is skipped
(1, 1, 3); a district without any indicator assessed has neither score nor rank.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from coverage.engine.progress import NEEDED, check_comparable, read_two_runs
from coverage.io.assessment import (
    DEFAULTS,
    PLAN_INDICATORS,
    Assessment,
    Scored,
    default_assessment,
)
from coverage.io.project import Project, load_project
from coverage.publish.disclosure import DEFAULT_MIN_CELL
from coverage.publish.tables import publish_indicators, publish_summaries, summary_thresholds
from coverage.store.runinfo import RUN_INFO

__all__ = ["CHANGE_COLUMNS", "PROGRESS_COLUMNS", "SCORECARD_COLUMNS", "compare_indicators",
           "compare_scores", "distance_to_target", "score_runs", "scorecard",
           "scorecard_between", "scorecard_progress"]

SCORECARD_COLUMNS = ("district", "indicator", "value", "target", "weight", "rule", "tolerance",
                     "assessed", "reason", "points", "met", "people_needed", "score", "rank",
                     "met_count", "assessed_count")
"""Columns of :func:`scorecard` (the ``scorecard`` layer), in order."""

PROGRESS_COLUMNS = ("district", "score_before", "score_after", "score_change", "rank_before",
                    "rank_after", "rank_change", "met_count_before", "met_count_after")
"""Columns of :func:`scorecard_progress`, in order."""

CHANGE_COLUMNS = ("district", "indicator", "value_before", "value_after", "change",
                  "met_before", "met_after")
"""Columns of :func:`compare_indicators`, in order."""

#: A float sum of points may differ in the last digits for equal scores: ranks use this many.
_DIGITS = 9
_FUNDING_LAYER = "funding"


def _thresholds(summary: pd.DataFrame) -> tuple[float, ...]:
    """Return the run's thresholds (minutes), from its coverage columns."""
    return summary_thresholds(summary.columns)


def _numbers(values: pd.Series) -> np.ndarray:
    """Numbers as float64, missing as ``NaN``."""
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _funding(summary: pd.DataFrame, layers: Mapping[str, pd.DataFrame]) -> pd.Series | None:
    """Return each district's funding gap per person (index: district); ``None``: no figures."""
    if "funding_gap_per_capita" in summary.columns:
        return pd.Series(_numbers(summary["funding_gap_per_capita"]), index=summary["district"])
    table = layers.get(_FUNDING_LAYER)
    if table is None or not {"district", "funding_registered_per_capita",
                             "funding_migrant_per_capita"} <= set(table.columns):
        return None
    gap = (_numbers(table["funding_registered_per_capita"])
           - _numbers(table["funding_migrant_per_capita"]))
    return pd.Series(gap, index=table["district"].astype(str)).groupby(level=0).first()


def _measures(summary: pd.DataFrame, indicators: pd.DataFrame, assessment: Assessment,
              thresholds: tuple[float, ...], funding: pd.Series | None) -> pd.DataFrame:
    """One run's figures, long: district, indicator, value, target, people_needed.

    ``summary`` holds the districts' rows only, ``indicators`` the districts' rows only.
    """
    districts = pd.Index(summary["district"].astype(str))
    migrants = _numbers(summary["migrants"]) if "migrants" in summary else np.nan
    parts = []
    ind = indicators.assign(unit=indicators["unit"].astype(str))
    for s in assessment.indicators:
        if s.name in PLAN_INDICATORS:
            rows = ind[ind["indicator"] == s.name].set_index("unit").reindex(districts)
            value = _numbers(rows["value"])
            target = (np.full(len(districts), s.target) if s.target is not None
                      else _numbers(rows["target"]))
            population, achieved = _numbers(rows["population"]), _numbers(rows["achieved"])
            needed = np.ceil(population * target - 1e-9) - achieved
        else:
            value, target, needed = _summary_measure(s, summary, thresholds, funding, migrants,
                                                     districts)
        people = pd.array(np.where(np.isnan(needed), np.nan, np.maximum(needed, 0)),
                          dtype="Float64").astype("Int64")
        parts.append(pd.DataFrame({"district": districts, "indicator": s.name, "value": value,
                                   "target": target, "people_needed": people}))
    return pd.concat(parts, ignore_index=True)


def _summary_measure(s: Scored, summary: pd.DataFrame, thresholds: tuple[float, ...],
                     funding: pd.Series | None, migrants: np.ndarray | float,
                     districts: pd.Index) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Value, target and people (or staff) needed of a ``district_summary`` indicator."""
    n = len(districts)
    target = np.full(n, float(s.target or 0.0))
    none = np.full(n, np.nan)
    label = f"{s.threshold_min or (max(thresholds) if thresholds else 0):g}min"
    if s.name == "coverage":
        column = f"coverage_{label}_migrant"
        value = _numbers(summary[column]) if column in summary else none
        needed = np.ceil(migrants * target - 1e-9) - np.rint(value * migrants)
        return value, target, needed
    if s.name == "migrant_gap":
        column = f"coverage_gap_{label}"
        value = _numbers(summary[column]) if column in summary else none
        return value, target, np.ceil(np.maximum(value - target, 0) * migrants - 1e-9)
    if s.name == "staffing":
        if not {"staff_shortfall", "staff_needed"} <= set(summary.columns):
            return none, target, none
        short, need = _numbers(summary["staff_shortfall"]), _numbers(summary["staff_needed"])
        value = np.where(need > 0, short / np.where(need > 0, need, 1.0), 0.0)
        value[np.isnan(short) | np.isnan(need)] = np.nan
        return value, target, np.ceil(short - target * need - 1e-9)
    value = none if funding is None else funding.reindex(districts).to_numpy(float)
    return value, target, none


def _score(table: pd.DataFrame, assessment: Assessment) -> pd.DataFrame:
    """Add each row's points and met, and each district's score, rank and counts."""
    by = {s.name: s for s in assessment.indicators}
    settings = table["indicator"].map(lambda name: by[name])
    weight = settings.map(lambda s: s.weight).to_numpy(float)
    rule = settings.map(lambda s: s.rule).to_numpy(object)
    tolerance = settings.map(lambda s: np.nan if s.tolerance is None else s.tolerance
                             ).to_numpy(float)
    higher = settings.map(lambda s: s.higher_is_better).to_numpy(bool)
    value, target = table["value"].to_numpy(float), table["target"].to_numpy(float)
    assessed = table["assessed"].to_numpy(bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        met = np.where(higher, value >= target - 1e-12, value <= target + 1e-12)
        ratio = np.where(target > 0, np.minimum(value / np.where(target > 0, target, 1.0), 1.0),
                         1.0)
        distance = np.where(higher, target - value, value - target)
        gap = 1.0 - np.maximum(distance, 0.0) / tolerance
    share = np.select([rule == "ratio", rule == "threshold"], [ratio, met.astype(float)], gap)
    share = np.clip(share, 0.0, 1.0)
    points = np.where(assessed, weight * share, np.nan)
    out = table.assign(weight=weight, rule=rule, tolerance=tolerance,
                       points=points,
                       met=pd.arrays.BooleanArray(met & assessed, ~assessed))
    counted = out.assign(_w=np.where(assessed, weight, 0.0), _p=np.where(assessed, points, 0.0),
                         _m=(met & assessed).astype(np.int64), _a=assessed.astype(np.int64))
    totals = counted.groupby("district", sort=False)[["_w", "_p", "_m", "_a"]].sum()
    score = (100.0 * totals["_p"] / totals["_w"]).where(totals["_w"] > 0)
    rank = score.round(_DIGITS).rank(method="min", ascending=False)
    district = out["district"]
    return out.assign(
        score=district.map(score).astype(float),
        rank=pd.array(district.map(rank), dtype="Float64").astype("Int64"),
        met_count=district.map(totals["_m"]).astype(np.int64),
        assessed_count=district.map(totals["_a"]).astype(np.int64),
    )


def scorecard(layers: Mapping[str, pd.DataFrame], assessment: Assessment | None = None, *,
              min_cell: int | None = DEFAULT_MIN_CELL) -> pd.DataFrame:
    """Return every district's scorecard from one run's layers.

    Parameters
    ----------
    layers
        The run's layers by name: ``district_summary``, ``indicators``, ``community_summary``
        (to publish, with ``min_cell``) and, where there is one, ``funding``.
    assessment
        The indicators, targets, weights and rules (the project's ``assessment``; default:
        :func:`coverage.io.assessment.default_assessment`).
    min_cell
        Smallest published count: the figures are published first (a suppressed value is not
        assessed). ``None``: the exact figures, for analysts inside the office.

    Returns
    -------
    pandas.DataFrame
        One row per (district, indicator), columns :data:`SCORECARD_COLUMNS`: the district's
        ``value`` and its ``target``; the indicator's ``weight``, ``rule`` and ``tolerance``
        (``NaN`` unless ``gap``); ``assessed`` and, when not, ``reason`` (``suppressed``,
        ``no-data``, ``no-funding-figures``); ``points`` (0 to ``weight``, ``NaN`` when not
        assessed); ``met`` (nullable boolean); ``people_needed`` (people still to reach the
        target; staff, rounded up, for ``staffing``; empty for ``funding`` and for a figure
        not published); then the district's ``score`` (0–100), ``rank`` (1 best, ties share
        the best rank), ``met_count`` and ``assessed_count``, on each of its rows. Districts in
        the order of ``district_summary``, indicators in the assessment's.

    Raises
    ------
    ValueError
        When a layer needed is missing.
    """
    assessment = assessment or default_assessment()
    wanted = NEEDED if min_cell is not None else NEEDED[:2]
    missing = [name for name in wanted if name not in layers]
    if missing:
        msg = f"the run holds no layer {', '.join(missing)}: no scorecard can be made"
        raise ValueError(msg)
    summary, indicators = layers["district_summary"], layers["indicators"]
    thresholds = _thresholds(summary)
    funding = _funding(summary, layers)
    exact = _measures(*_districts(summary, indicators), assessment, thresholds, funding)
    shown = exact
    if min_cell is not None:
        communities = layers["community_summary"]
        summary, _ = publish_summaries(summary, communities, thresholds, min_cell=min_cell)
        indicators = publish_indicators(indicators, communities.set_index("community_id")[
            "district"], min_cell=min_cell)
        shown = _measures(*_districts(summary, indicators), assessment, thresholds, funding)
    had = exact["value"].notna().to_numpy()
    assessed = shown["value"].notna().to_numpy()
    reason = np.where(assessed, None, np.where(had, "suppressed", "no-data")).astype(object)
    if funding is None:
        reason[~assessed & (shown["indicator"] == "funding").to_numpy()] = "no-funding-figures"
    table = shown.assign(assessed=assessed, reason=reason)
    return _score(table, assessment)[list(SCORECARD_COLUMNS)]


def _districts(summary: pd.DataFrame, indicators: pd.DataFrame
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the districts' rows of the summary and of the indicators."""
    return (summary[summary["level"] == "district"].reset_index(drop=True),
            indicators[indicators["level"] == "district"])


def scorecard_progress(before: Mapping[str, pd.DataFrame], after: Mapping[str, pd.DataFrame],
                       assessment: Assessment | None = None, *,
                       min_cell: int | None = DEFAULT_MIN_CELL,
                       names: tuple[str, str] = ("before", "after")) -> pd.DataFrame:
    """Return each district's score and rank in two runs and their change (quarter on quarter).

    Both runs are scored with the same ``assessment`` (:func:`scorecard`), so a change is the
    districts' doing, not the yardstick's; runs made with different travel modes or thresholds
    are refused, as for :func:`coverage.engine.progress.progress_table`.

    Parameters
    ----------
    before, after
        The earlier and the later run's layers (as for :func:`scorecard`, with ``run_info``).
    assessment, min_cell
        As for :func:`scorecard`.
    names
        How an error names the two runs (their ids).

    Returns
    -------
    pandas.DataFrame
        One row per district (the later run's order, those of the earlier run only after),
        columns :data:`PROGRESS_COLUMNS`: ``score_change`` = after − before; ``rank_change`` =
        before − after (positive: the district moved up); missing where a side is.

    Raises
    ------
    ValueError
        When the runs cannot be compared or lack a layer needed.
    """
    return compare_scores(*score_runs(before, after, assessment, min_cell=min_cell,
                                      names=names))


def score_runs(before: Mapping[str, pd.DataFrame], after: Mapping[str, pd.DataFrame],
               assessment: Assessment | None = None, *,
               min_cell: int | None = DEFAULT_MIN_CELL,
               names: tuple[str, str] = ("before", "after")) -> tuple[pd.DataFrame,
                                                                      pd.DataFrame]:
    """Return the scorecards of two runs scored alike (:func:`scorecard`), the earlier first.

    Raises
    ------
    ValueError
        When the runs cannot be compared (:func:`coverage.engine.progress.check_comparable`)
        or lack a layer needed.
    """
    check_comparable(before, after, names)
    return (scorecard(before, assessment, min_cell=min_cell),
            scorecard(after, assessment, min_cell=min_cell))


def compare_scores(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Return each district's score and rank in two scorecards and their change.

    ``before`` and ``after`` are :func:`scorecard` tables (:func:`score_runs`); the result is
    :func:`scorecard_progress`'s.
    """
    keep = ["district", "score", "rank", "met_count"]
    old = before[keep].drop_duplicates("district")
    new = after[keep].drop_duplicates("district")
    table = new.merge(old, on="district", how="outer", suffixes=("_after", "_before"),
                      sort=False)
    table["score_change"] = table["score_after"] - table["score_before"]
    table["rank_change"] = table["rank_before"] - table["rank_after"]
    for column in ("met_count_before", "met_count_after"):
        table[column] = table[column].astype("Int64")
    order = pd.Index(pd.concat([new["district"], old["district"]]).unique())
    table = table.iloc[np.argsort(order.get_indexer(table["district"]), kind="stable")]
    return table[list(PROGRESS_COLUMNS)].reset_index(drop=True)


def distance_to_target(card: pd.DataFrame) -> pd.Series:
    """Return how far each value of a scorecard is from its target, on the wrong side.

    A share short of its target (target − value), a gap or shortfall above it (value −
    target); 0 when the target is met, missing when the indicator is not assessed.

    Parameters
    ----------
    card
        A :func:`scorecard` table.

    Returns
    -------
    pandas.Series
        Float, on the index of ``card``, named ``to_target``.
    """
    higher = card["indicator"].map(lambda name: DEFAULTS[name].higher_is_better).to_numpy(bool)
    value, target = card["value"].to_numpy(float), card["target"].to_numpy(float)
    distance = np.maximum(np.where(higher, target - value, value - target), 0.0)
    distance[~card["assessed"].to_numpy(bool)] = np.nan
    return pd.Series(distance, index=card.index, name="to_target")


def compare_indicators(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Return each district's value of each indicator in two scorecards, and its change.

    Parameters
    ----------
    before, after
        The earlier and the later run's :func:`scorecard`, scored alike (:func:`score_runs`).

    Returns
    -------
    pandas.DataFrame
        One row per (district, indicator) of ``after``, in its order, columns
        :data:`CHANGE_COLUMNS`: the two values (missing where a run has no published figure
        or no such district), ``change`` = after − before, and whether each run met the
        target (nullable booleans, missing where not assessed).
    """
    keys = ["district", "indicator"]
    old = before[[*keys, "value", "met"]].drop_duplicates(keys)
    table = after[[*keys, "value", "met"]].merge(old, on=keys, how="left",
                                                   suffixes=("_after", "_before"), sort=False)
    table["change"] = table["value_after"] - table["value_before"]
    for column in ("met_before", "met_after"):
        table[column] = table[column].astype("boolean")
    return table[list(CHANGE_COLUMNS)].reset_index(drop=True)


def scorecard_between(project: Project | str | Path, run_a: str,
                      run_b: str | None = None) -> pd.DataFrame:
    """Return :func:`scorecard_progress` between two runs kept in a project's store.

    The runs are found as :func:`coverage.engine.progress.progress_between` finds them (either
    order; without ``run_b``, the run before ``run_a``) and scored with the project's
    ``[assessment]`` and ``[privacy] min_cell``; ``attrs`` ``run_before`` and ``run_after``
    name them.

    Raises
    ------
    ValueError
        As :func:`coverage.engine.progress.progress_between`.
    """
    project = project if isinstance(project, Project) else load_project(project)
    first, last, before, after = read_two_runs(project, run_a, run_b,
                                               (*NEEDED, RUN_INFO, _FUNDING_LAYER))
    table = scorecard_progress(before, after, project.assessment, min_cell=project.min_cell,
                               names=(first, last))
    table.attrs.update(run_before=first, run_after=last)
    return table
