"""A quarter's assessment of the districts: one kept run's scorecard beside the run before it.

The city assesses its districts every quarter (``docs/assessment.md``): the project is run on
the quarter's data and each run is kept in the project's store. :func:`read_quarter` reads one
run (by default the latest on the current inputs, computed when there is none, as for
``coverage report``) and the run kept before it, the previous quarter
(:func:`coverage.engine.progress.previous_run`), and returns a :class:`Quarter`: the run's
scorecard, the districts ranked with the change of score and rank, how many districts met
each target in both runs, each indicator's change in each district, and the plan's
indicators met by the city and its districts in both runs
(:func:`coverage.engine.progress.met_counts`). :meth:`Quarter.district` gives one district's
part: its scorecard and rank, its published funding figures and its share of the run's
recommendation (new service points, staff added or moved and their cost).

Every figure here is computed once, in this module and those it calls
(:mod:`coverage.engine.scorecard`, :mod:`coverage.engine.progress`); the quarterly progress
report and a district's self-assessment (``coverage report --kind progress``,
``--kind self-assessment``) only show them. The change between the runs scores both with the
project's ``[assessment]`` (:func:`coverage.engine.scorecard.score_runs`), so it is the
districts' doing, not the yardstick's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage.engine.costs import districts_at
from coverage.engine.progress import (
    NEEDED,
    met_counts,
    previous_run,
    progress_table,
    read_two_runs,
)
from coverage.engine.scorecard import (
    SCORECARD_COLUMNS,
    compare_indicators,
    compare_scores,
    distance_to_target,
    score_runs,
    scorecard,
)
from coverage.engine.workspace import current_run, load_results
from coverage.io.project import Project, load_project
from coverage.publish.disclosure import DEFAULT_MIN_CELL, suppress_series
from coverage.publish.tables import publish_funding, publish_summaries, summary_thresholds
from coverage.store import open_store
from coverage.store.base import run_time
from coverage.store.runinfo import RUN_INFO

__all__ = ["RANKING_COLUMNS", "TARGET_COLUMNS", "DistrictQuarter", "Quarter",
           "district_ranking", "kept_districts", "meeting_every_target", "read_quarter",
           "target_counts"]

RANKING_COLUMNS = ("rank", "district", "score", "met_count", "assessed_count", "score_before",
                   "score_change", "rank_before", "rank_change", "met_count_before")
"""Columns of :func:`district_ranking`, in order."""

TARGET_COLUMNS = ("indicator", "districts", "assessed", "met", "met_before", "met_change")
"""Columns of :func:`target_counts`, in order."""

_FUNDING = "funding"
_RECOMMENDATION = ("recommended_sites", "recommended_staff", "recommendation_cost")


def district_ranking(card: pd.DataFrame, progress: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the districts of a scorecard ranked, with the change since an earlier run.

    Parameters
    ----------
    card
        A :func:`~coverage.engine.scorecard.scorecard` table (one row per district and
        indicator).
    progress
        :func:`~coverage.engine.scorecard.scorecard_progress` of the earlier run and this one
        (``None``: no earlier run; the change columns are then empty).

    Returns
    -------
    pandas.DataFrame
        One row per district of ``card``, columns :data:`RANKING_COLUMNS`, by rank (1 first;
        ties in the scorecard's order; a district without a score last). ``score_before``,
        ``rank_before`` and ``met_count_before`` are the earlier run's, ``score_change`` and
        ``rank_change`` those of ``progress`` (positive rank change: moved up); missing where
        the district has no figure in a run.
    """
    table = card.drop_duplicates("district")[
        ["district", "score", "rank", "met_count", "assessed_count"]].reset_index(drop=True)
    earlier = (progress.set_index("district") if progress is not None
               else pd.DataFrame(index=pd.Index([], dtype=object)))
    for column in ("score_before", "score_change", "rank_before", "rank_change",
                   "met_count_before"):
        kind = "Float64" if column.startswith("score") else "Int64"
        values = (earlier[column].reindex(table["district"]).to_numpy() if column in earlier
                  else np.full(len(table), np.nan))
        table[column] = pd.array(pd.to_numeric(pd.Series(values), errors="coerce"),
                                 dtype="Float64").astype(kind)
    table["score_before"] = table["score_before"].astype(float)
    table["score_change"] = table["score_change"].astype(float)
    rank = table["rank"].astype("Float64").to_numpy(dtype=float, na_value=np.inf)
    order = np.argsort(rank, kind="stable")
    return table.iloc[order][list(RANKING_COLUMNS)].reset_index(drop=True)


def _counts(card: pd.DataFrame) -> pd.DataFrame:
    """Districts, districts assessed and districts meeting the target, by indicator."""
    met = card["met"].astype("boolean").fillna(False).to_numpy(bool)
    counted = pd.DataFrame({"indicator": card["indicator"].astype(str),
                            "districts": 1, "assessed": card["assessed"].to_numpy(bool),
                            "met": met})
    return counted.groupby("indicator", sort=False).sum().astype(np.int64)


def target_counts(card: pd.DataFrame, before: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return how many districts met each target, in a run and in an earlier one.

    Parameters
    ----------
    card
        The run's :func:`~coverage.engine.scorecard.scorecard`.
    before
        The earlier run's scorecard, scored with the same settings (``None``: none).

    Returns
    -------
    pandas.DataFrame
        One row per indicator (the scorecard's order), columns :data:`TARGET_COLUMNS`:
        ``districts`` (in the run), ``assessed`` (districts whose figure was assessed),
        ``met`` (districts meeting the target), ``met_before`` (the earlier run's, missing
        without one) and ``met_change`` (``met − met_before``).
    """
    now = _counts(card)
    table = now.reset_index()
    if before is None:
        table["met_before"] = pd.array([pd.NA] * len(table), dtype="Int64")
    else:
        old = _counts(before)["met"].reindex(now.index)
        table["met_before"] = pd.array(old.to_numpy(dtype=float, na_value=np.nan),
                                       dtype="Float64").astype("Int64")
    table["met_change"] = table["met"].astype("Int64") - table["met_before"]
    return table[list(TARGET_COLUMNS)]


def meeting_every_target(card: pd.DataFrame) -> int:
    """Return how many districts met every target assessed for them (at least one assessed)."""
    per = card.drop_duplicates("district")
    return int(((per["met_count"] == per["assessed_count"]) & (per["assessed_count"] > 0)).sum())


@dataclass(frozen=True)
class DistrictQuarter:
    """One district's part of a :class:`Quarter` (:meth:`Quarter.district`).

    Attributes
    ----------
    district
        Its name.
    ranked
        How many districts have a rank in the run (its rank is out of these).
    card
        Its rows of the run's scorecard (one per indicator), with ``to_target``: how far
        each value is from its target (:func:`~coverage.engine.scorecard.distance_to_target`).
    standing
        Its row of :attr:`Quarter.ranking`.
    changes
        Its rows of :attr:`Quarter.changes` (``None``: no earlier run compared).
    plan
        :func:`~coverage.engine.progress.met_counts` of its own rows of the progress table.
    funding
        Its row of the run's ``funding`` layer as published
        (:func:`coverage.publish.tables.publish_funding`); ``None`` when the run has none.
    funding_reason
        Why the run has no funding figures, as the run recorded it (``run_info``
        ``skipped:funding``, e.g. ``no-budgets``); ``None`` when it has them or said nothing.
    sites, staff, cost
        Its rows of ``recommended_sites`` (in the district by
        :func:`coverage.engine.costs.districts_at`, the newly reached migrants published
        with small counts withheld), ``recommended_staff`` and ``recommendation_cost``;
        ``None`` when the run holds no such layer.
    """

    district: str
    ranked: int
    card: pd.DataFrame
    standing: pd.Series
    changes: pd.DataFrame | None
    plan: dict[str, int] | None
    funding: pd.DataFrame | None
    funding_reason: str | None
    sites: pd.DataFrame | None
    staff: pd.DataFrame | None
    cost: pd.DataFrame | None

    @property
    def recommended(self) -> bool:
        """Whether the run holds a recommendation (any of its layers)."""
        return any(x is not None for x in (self.sites, self.staff, self.cost))


@dataclass(frozen=True)
class Quarter:
    """One run's assessment of the districts beside the run before it (:func:`read_quarter`).

    Attributes
    ----------
    run
        The run's id (``None``: the results are not kept in the store).
    previous
        The earlier run's id (``None``: the run is the first kept).
    scorecard
        The run's scorecard (its ``scorecard`` layer; scored with the project's settings when
        the run has none), columns :data:`~coverage.engine.scorecard.SCORECARD_COLUMNS`.
    ranking
        :func:`district_ranking` (with the change when an earlier run was compared).
    targets
        :func:`target_counts` of the run and the earlier run.
    changes
        :func:`~coverage.engine.scorecard.compare_indicators` of the two runs (``None``:
        no earlier run compared).
    progress
        The progress table of the two runs (:func:`~coverage.engine.progress.progress_table`;
        ``None``: no earlier run compared).
    refused
        Why the earlier run could not be compared (its settings differ or it lacks a layer);
        ``None`` when it was, or there is none.
    every_target
        Districts meeting every target assessed: in the run and in the earlier one
        (:func:`meeting_every_target`; the second ``None`` without one).
    layers
        The run's layers (its funding, recommendation and ``run_info``, for
        :meth:`district`).
    min_cell
        Smallest published count of the project.
    """

    run: str | None
    previous: str | None
    scorecard: pd.DataFrame
    ranking: pd.DataFrame
    targets: pd.DataFrame
    changes: pd.DataFrame | None
    progress: pd.DataFrame | None
    refused: str | None
    every_target: tuple[int, int | None]
    layers: dict[str, pd.DataFrame] = field(repr=False)
    min_cell: int = DEFAULT_MIN_CELL

    @property
    def compared(self) -> bool:
        """Whether an earlier run was compared."""
        return self.changes is not None

    @property
    def ranked(self) -> int:
        """How many districts have a rank (a score) in the run."""
        return int(self.ranking["rank"].notna().sum())

    @property
    def districts(self) -> list[str]:
        """The districts of the run's scorecard, in its order."""
        return list(dict.fromkeys(self.scorecard["district"].astype(str)))

    def run_time(self, which: str = "run") -> pd.Timestamp | None:
        """When the run (``"run"``) or the earlier one (``"previous"``) was written, UTC."""
        run_id = self.run if which == "run" else self.previous
        return None if run_id is None else run_time(run_id)

    def plan(self) -> dict[str, int] | None:
        """Return the plan's indicators met by the city and its districts in both runs."""
        return None if self.progress is None else met_counts(self.progress)

    def district(self, name: str) -> DistrictQuarter:
        """Return one district's part of the quarter.

        Raises
        ------
        ValueError
            When the district is not in the run's scorecard, naming those that are.
        """
        if name not in self.districts:
            msg = (f"district {name!r} is not in the run's scorecard; districts: "
                   f"{', '.join(sorted(self.districts))}")
            raise ValueError(msg)
        ranking = self.ranking.set_index("district")
        progress = self.progress
        return DistrictQuarter(
            district=name, ranked=self.ranked,
            card=self.scorecard[self.scorecard["district"] == name].assign(
                to_target=distance_to_target).reset_index(drop=True),
            standing=ranking.loc[name],
            changes=(None if self.changes is None else
                     self.changes[self.changes["district"] == name].reset_index(drop=True)),
            plan=(None if progress is None else met_counts(
                progress[(progress["level"] == "district") & (progress["unit"] == name)])),
            funding=_district_funding(self.layers, name, self.min_cell),
            funding_reason=_info(self.layers).get(f"skipped:{_FUNDING}"),
            **_district_actions(self.layers, name, self.min_cell))


def _info(layers: dict[str, pd.DataFrame]) -> dict[str, str]:
    info = layers.get(RUN_INFO)
    if info is None:
        return {}
    return dict(zip(info["key"].astype(str), info["value"].astype(str), strict=True))


def _published_summary(layers: dict[str, pd.DataFrame], min_cell: int) -> pd.DataFrame:
    """Return the run's district summary as published (kept with the run, or published now)."""
    kept = layers.get("published_district_summary")
    if kept is not None:
        return kept
    summary = layers["district_summary"]
    info = _info(layers)
    thresholds = (tuple(float(v) for v in info["thresholds_min"].split(","))
                  if "thresholds_min" in info else summary_thresholds(summary.columns))
    published, _ = publish_summaries(summary, layers["community_summary"], thresholds,
                                     min_cell=min_cell)
    return published


def _district_funding(layers: dict[str, pd.DataFrame], district: str,
                      min_cell: int) -> pd.DataFrame | None:
    """Return the district's row of the run's funding layer, published (``None``: none)."""
    funding = layers.get(_FUNDING)
    if funding is None or not len(funding):
        return None
    rows = pd.DataFrame(funding)
    rows = rows[(rows["level"] == "district") & (rows["district"] == district)]
    if not len(rows):
        return None
    return publish_funding(rows, _published_summary(layers, min_cell)).reset_index(drop=True)


def _district_actions(layers: dict[str, pd.DataFrame], district: str,
                      min_cell: int) -> dict[str, pd.DataFrame | None]:
    """Return the district's rows of the run's recommendation: sites, staff and cost."""
    out: dict[str, pd.DataFrame | None] = {"sites": None, "staff": None, "cost": None}
    sites = layers.get("recommended_sites")
    communities = layers.get("community_summary")
    if isinstance(sites, gpd.GeoDataFrame) and isinstance(communities, gpd.GeoDataFrame):
        where = districts_at(sites.geometry, communities)
        frame = pd.DataFrame(sites.drop(columns=sites.geometry.name))[where == district]
        for column in [c for c in frame.columns if c.startswith("migrants_newly_within_")]:
            counts = pd.to_numeric(frame[column]).round().astype(np.int64)
            frame[column] = suppress_series(counts, total=False, min_cell=min_cell).to_numpy()
        out["sites"] = frame.reset_index(drop=True)
    staff = layers.get("recommended_staff")
    if staff is not None:
        out["staff"] = pd.DataFrame(staff)[staff["district"] == district].reset_index(drop=True)
    cost = layers.get("recommendation_cost")
    if cost is not None:
        cost = pd.DataFrame(cost)
        out["cost"] = cost[(cost["level"] == "district")
                           & (cost["district"] == district)].reset_index(drop=True)
    return out


def _card(layers: dict[str, pd.DataFrame], project: Project) -> pd.DataFrame:
    """Return the run's scorecard: its layer (``met`` nullable boolean), else scored now."""
    card = layers.get("scorecard")
    if card is None:
        return scorecard(layers, project.assessment, min_cell=project.min_cell)
    card = pd.DataFrame(card)[list(SCORECARD_COLUMNS)].copy()
    card["met"] = pd.array(card["met"].to_numpy(dtype=object), dtype="boolean")
    card["rank"] = pd.array(pd.to_numeric(card["rank"]), dtype="Float64").astype("Int64")
    return card


def _read_run(project: Project, run_id: str) -> dict[str, pd.DataFrame]:
    """Read the layers of a kept run that the comparison needs (those it holds)."""
    with open_store(project) as store:
        runs = store.runs()
        listed = dict(zip(runs["run_id"].astype(str), runs["layers"], strict=True))
        names = [n for n in (*NEEDED, RUN_INFO, _FUNDING) if n in listed[run_id]]
        return store.read_layers(run_id, names)


def kept_districts(project: Project, run: str | None = None) -> list[str]:
    """Return the districts of a run kept in the project's store, computing nothing.

    The districts of ``district_summary`` of ``run`` (default the latest run kept), sorted;
    empty when the store keeps no run, or the run is not kept or has no such layer. What a
    report asked for without a district names, before anything is computed.
    """
    with open_store(project) as store:
        runs = store.runs()
        if not len(runs):
            return []
        listed = dict(zip(runs["run_id"].astype(str), runs["layers"], strict=True))
        run_id = run if run is not None else str(runs["run_id"].iloc[-1])
        if "district_summary" not in listed.get(run_id, ()):
            return []
        summary = store.read_layers(run_id, ["district_summary"])["district_summary"]
    districts = summary.loc[summary["level"] == "district", "district"].astype(str)
    return sorted(set(districts))


def _runs(project: Project, run: str | None, compare: tuple[str, str] | None, mode: str,
          progress: Callable[[str], None] | None
          ) -> tuple[str | None, str | None, dict[str, pd.DataFrame]]:
    """Return the run's id, the earlier run's id and the run's layers."""
    if compare is not None:
        first, last, _, _ = read_two_runs(project, *compare, (RUN_INFO,))
        return last, first, load_results(project, run=last)
    if run is not None:
        with open_store(project) as store:
            previous = previous_run(store, run)
        return run, previous, load_results(project, run=run)
    layers = load_results(project, mode=mode, progress=progress)
    run_id = current_run(project, mode)
    if run_id is None:
        return None, None, layers
    with open_store(project) as store:
        return run_id, previous_run(store, run_id), layers


def read_quarter(
    project: Project | str | Path,
    run: str | None = None,
    *,
    compare: tuple[str, str] | None = None,
    mode: str = "walk",
    progress: Callable[[str], None] | None = None,
) -> Quarter:
    """Read a run's assessment of the districts and compare it with the run before it.

    Parameters
    ----------
    project
        The project (or its folder or ``project.toml``).
    run
        The run to assess (an id of ``coverage runs``); default the latest run on the current
        inputs (:func:`coverage.engine.workspace.load_results`: computed and kept when there
        is none).
    compare
        Two run ids instead, in either order: the later is assessed, the earlier is the
        previous quarter.
    mode
        Travel mode of the results (without ``run`` or ``compare``).
    progress
        Called with a short description at the start of each step.

    Returns
    -------
    Quarter
        Without an earlier run (the first kept), or when the earlier run cannot be compared
        (``refused`` says why), the run's figures alone.

    Raises
    ------
    ValueError
        For a run id that is no id or not in the store, the same run twice, or (with
        ``compare``) runs that cannot be compared.
    coverage.store.StoreError
        When the store cannot be read.
    """
    project = project if isinstance(project, Project) else load_project(project)
    run_id, previous, layers = _runs(project, run, compare, mode, progress)
    card = _card(layers, project)
    old = scores = changes = table = refused = None
    if previous is not None:
        step = progress or (lambda _text: None)
        step("reading the previous run")
        before = _read_run(project, previous)
        names = (previous, run_id or "latest")
        try:
            old, new = score_runs(before, layers, project.assessment,
                                  min_cell=project.min_cell, names=names)
            table = progress_table(before, layers, min_cell=project.min_cell, names=names)
        except ValueError as exc:
            if compare is not None:
                raise
            refused = str(exc)
        else:
            scores, changes = compare_scores(old, new), compare_indicators(old, new)
    return Quarter(
        run=run_id, previous=previous, scorecard=card, ranking=district_ranking(card, scores),
        targets=target_counts(card, old), changes=changes, progress=table, refused=refused,
        every_target=(meeting_every_target(card),
                      None if old is None else meeting_every_target(old)),
        layers=layers, min_cell=project.min_cell)
