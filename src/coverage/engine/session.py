"""A planning session: the baseline, the scenario being edited and what may be shown of it.

:class:`PlanningSession` is what the web app (``apps/coverage_app``) drives, and a notebook can
drive it the same way: it holds a project's latest results, a :class:`~coverage.engine.scenario.
ScenarioModel` per travel mode (loaded on first use), the edits of the current scenario and the
saved scenarios. Everything it hands out for display is **published**: community and district
tables through :mod:`coverage.publish.tables`, migrant density as hexagon counts through
:mod:`coverage.publish.disclosure`, the run's scorecard and funding as the run published them
(:mod:`coverage.engine.cycle`); the personal data stay inside the model, in this process's
memory. Planners share scenarios through the project's store (``stored_scenarios``).

It is also the web app's one door into the library (with :mod:`coverage.publish.labels` for
the words and colours it shows): besides the session, the app opens its project here
(:func:`~coverage.io.project.load_project`), converts the map's positions
(:func:`to_web_mercator`, :func:`from_web_mercator`: GCJ-02 under the Amap base map) and, on its
import page, proposes, validates and saves a new project (:func:`propose_project`,
:func:`masked_preview`, :func:`missing_layers`, :func:`validate_new_project`,
:func:`save_new_project`, :func:`has_project`, from ``_new_project``), compares kept runs
(:func:`progress_between`, :func:`previous_run`) and logs a user in to a PostGIS store
(:func:`log_in`). For the app, the engine reaches above itself in two places only, named in
the contracts (``docs/architecture.md``): :meth:`PlanningSession.report` makes a report (an
output) for download, and ``_new_project`` calls the import wizard.

This module never imports ``panel``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage.engine._new_project import (
    LAYER_ORDER,
    ProjectProposal,
    has_project,
    masked_preview,
    missing_layers,
    propose_project,
    save_new_project,
    validate_new_project,
)
from coverage.engine._web_map import from_web_mercator, to_web_mercator, transformer
from coverage.engine.costs import COMPARISON_COST_COLUMNS, scenario_cost
from coverage.engine.cycle import Trend, published_funding, ranked_scorecard, scorecard_trend
from coverage.engine.places import named_roads
from coverage.engine.progress import previous_run, progress_between
from coverage.engine.reader import Reader, log_in, project_reader
from coverage.engine.recommend import Recommendation, default_candidates, recommend, site_effects
from coverage.engine.scenario import Edit, Scenario, ScenarioModel, compare, comparison_layer
from coverage.engine.stored_scenarios import StoredScenarios
from coverage.engine.workspace import (
    load_results,
    model_loaded,
    scenario_model,
    shared_figures,
    shared_layers,
)
from coverage.io.project import Project, load_project
from coverage.io.validation import Problems
from coverage.measures.availability import from_run_info
from coverage.measures.equalization import coverage_column
from coverage.patterns.grid import hex_polygons, point_cells
from coverage.publish.disclosure import shown_rows, suppress_series
from coverage.publish.tables import publish_indicators, publish_summaries
from coverage.store import ScenarioConflict, Store, StoreError

# What the web app uses besides the session: the project it is opened on, the map's positions,
# the import page's proposal of a new project (with the types these take and return), the
# progress between two kept runs (any run and the change since the last), a log-in to a
# PostGIS store, the store's errors met saving scenarios, the scorecard's trend and the names of
# a scenario's cost figures.
__all__ = ["COMPARISON_COST_COLUMNS", "LAYER_ORDER", "PlanningSession", "Problems", "Project",
           "ProjectProposal", "Reader", "ScenarioConflict", "StoreError", "Trend",
           "from_web_mercator", "has_project", "load_project", "log_in", "masked_preview",
           "missing_layers", "model_loaded", "previous_run", "progress_between",
           "project_reader", "propose_project", "save_new_project", "scenario_model",
           "to_web_mercator", "validate_new_project"]

DEFAULT_NEW_STAFF = 2.0
"""Staff of a service point added by a click."""

@dataclass
class PlanningSession(StoredScenarios):
    """The state of one planner's work on one project.

    Its scenarios are shared through the project's store (:class:`~coverage.engine.
    stored_scenarios.StoredScenarios`).

    Parameters
    ----------
    project
        The project (or its folder or ``project.toml``).
    layers
        The project's result layers (default: :func:`coverage.engine.workspace.load_results`).
    mode
        Travel mode (``walk`` or ``ebike``).
    shared
        Figures that do not depend on the edits (the baseline's tables, indicators, density,
        service points) are kept once per process and mode, for every shared session of the
        project, instead of once per session. They are handed out as they are: read them,
        never modify them in place.
    """

    project: Project
    layers: dict[str, pd.DataFrame]
    mode: str = "walk"
    edits: list[Edit] = field(default_factory=list)
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    shared: bool = False
    store: Store | None = field(default=None, repr=False)
    versions: dict[str, int] = field(default_factory=dict)
    _counter: int = 0
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, project: Project | str | Path, *, mode: str = "walk",
             progress: Callable[[str], None] | None = None,
             shared: bool = False) -> PlanningSession:
        """Open a project: its latest results (computed when missing) and an empty scenario.

        The saved results are the walking ones: another mode's are computed in memory, not
        written. With ``shared`` (a server's many sessions) the results are read once per
        process and mode, like the model, and so are the figures that do not depend on the
        edits.
        """
        project = project if isinstance(project, Project) else load_project(project)

        def read() -> dict[str, pd.DataFrame]:
            return load_results(project, mode=mode, progress=progress, write=mode == "walk")

        if not shared:
            return cls(project=project, layers=read(), mode=mode)
        return cls(project=project, layers=dict(shared_layers(project, mode, read)), mode=mode,
                   shared=True)

    # -- the model -------------------------------------------------------------------------

    @property
    def model(self) -> ScenarioModel:
        """The scenario model of the session's mode (built on first use, then shared)."""
        return scenario_model(self.project, self.mode)

    def prepare(self) -> None:
        """Build the model and what every recommendation on it starts from, before it is asked.

        The scenario model (:attr:`model`), the default candidate sites
        (:func:`~coverage.engine.recommend.default_candidates`) and the named roads that say
        where a new site is (:func:`~coverage.engine.places.named_roads`): seconds on a whole
        city, the same for every session of the project and mode, and kept with the model. A
        server calls it before its first visitor comes.
        """
        model = self.model
        default_candidates(model)
        named_roads(model)

    @property
    def thresholds(self) -> tuple[float, ...]:
        """Time thresholds (minutes)."""
        return tuple(self.project.parameters.thresholds_min)

    @property
    def min_cell(self) -> int:
        """Smallest published count."""
        return self.project.min_cell

    @property
    def skipped(self) -> dict[str, str]:
        """Analyses the data did not allow → reason code, as the results record them."""
        return from_run_info(self.layers.get("run_info"))

    @property
    def approximate_boundaries(self) -> bool:
        """Whether the community boundaries are approximated (communities given as a table)."""
        info = self.layers.get("run_info")
        if info is None:
            return False
        values = info.loc[info["key"].astype(str) == "approximate_boundaries", "value"]
        return bool(len(values)) and str(values.iloc[0]).lower() == "true"

    @property
    def estimated(self) -> dict[str, str]:
        """Analyses computed from an approximation → reason code, as the results record them."""
        return from_run_info(self.layers.get("run_info"), "estimated")

    def _key(self, edits: list[Edit] | None) -> tuple:
        return tuple(astuple(e) for e in (self.edits if edits is None else edits))

    def _store(self, key: tuple) -> dict:
        """Where ``key`` is kept: per process for a shared session's edit-free figures."""
        if not (self.shared and not key[2]):
            return self._cache
        return shared_figures(self.project, self.mode)

    def _memo(self, kind: str, edits: list[Edit] | None, compute: Callable[[], object]
              ) -> object:
        """Remember the last results per scenario: views ask for the same figures at once."""
        key = (kind, self.mode, self._key(edits))
        store = self._store(key)
        if key not in store:
            value = compute()
            if store is self._cache and len(store) >= 32:
                store.pop(next(iter(store)))
            store.setdefault(key, value)  # another thread may have been first: keep one
        return store[key]

    def _peek(self, kind: str, edits: list[Edit]) -> object | None:
        key = (kind, self.mode, self._key(edits))
        return self._store(key).get(key)

    def cached(self, name: str, compute: Callable[[], object]) -> object:
        """Remember a value derived from the results alone (not from the edits).

        For a shared session, once per process and mode (every session of the server gets
        the same object: read it, never modify it); otherwise once per session. Views keep
        here what they derive from the baseline, e.g. the map's display geometry.
        """
        return self._memo(f"cached:{name}", [], compute)

    def _state(self, edits: list[Edit]) -> object:
        """Return the state for ``edits``, extending the kept state one edit shorter."""

        def compute() -> object:
            shorter = self._peek("state", edits[:-1]) if edits else None
            if shorter is not None:
                state = shorter.copy()
                self.model.apply(state, edits[-1])
                return state
            return self.model.state_for(edits)

        return self._memo("state", edits, compute)

    def evaluate(self, edits: list[Edit] | None = None) -> pd.DataFrame:
        """Return the indicators (city, districts, communities) of the scenario or ``edits``."""
        chosen = list(self.edits if edits is None else edits)
        table = self._memo("evaluate", chosen,
                           lambda: self.model.summarize(self._state(chosen)))
        return table.copy()

    # -- editing ---------------------------------------------------------------------------

    def _new_id(self) -> str:
        self._counter += 1
        taken = set(self.model.baseline.sites.index) | {e.site_id for e in self.edits}
        while f"new-{self._counter}" in taken:
            self._counter += 1
        return f"new-{self._counter}"

    def add_site(self, lon: float, lat: float, *, staff: float = DEFAULT_NEW_STAFF,
                 kind: str = "health_station", name: str = "") -> Edit:
        """Add a service point at a WGS-84 position; return the edit."""
        edit = Edit("add", self._new_id(), lon=float(lon), lat=float(lat), staff=float(staff),
                    kind=kind, name=name)
        edit.check()
        self._state([*self.edits, edit])  # refuse an edit the model cannot apply
        self.edits.append(edit)
        return edit

    def move_site(self, site_id: str, lon: float, lat: float) -> Edit:
        """Move a service point (existing or added) to a WGS-84 position."""
        edit = Edit("move", site_id, lon=float(lon), lat=float(lat))
        self._state([*self.edits, edit])
        self.edits.append(edit)
        return edit

    def remove_site(self, site_id: str) -> None:
        """Remove a service point: drop an added one's edits, or close an existing one."""
        added = [e for e in self.edits if e.action == "add" and e.site_id == site_id]
        if added:
            self.edits = [e for e in self.edits if e.site_id != site_id]
            return
        edit = Edit("close", site_id)
        self._state([*self.edits, edit])
        self.edits.append(edit)

    def set_staff(self, site_id: str, staff: float) -> Edit:
        """Change the staff of a service point."""
        edit = Edit("set_staff", site_id, staff=float(staff))
        edit.check()
        self._state([*self.edits, edit])
        self.edits.append(edit)
        return edit

    def undo(self) -> None:
        """Drop the last edit."""
        if self.edits:
            self.edits.pop()

    def apply(self, edits: list[Edit]) -> None:
        """Add edits (e.g. a recommendation's) to the current scenario."""
        self._state([*self.edits, *edits])
        self.edits.extend(edits)

    def recommend(self, new_sites: int = 3, new_staff: int = 0, **options: Any
                  ) -> Recommendation:
        """Recommend new service points and staff on the baseline (not applied).

        :func:`coverage.engine.recommend.recommend` on the session's model (``options``: its
        ``objective``, ``staff_objective``, ``relocate``, ``progress``); :meth:`apply` adds
        its ``scenario.edits`` to the current scenario.
        """
        return recommend(self.model, new_sites=new_sites, new_staff=new_staff, **options)

    def scenario(self, name: str = "current") -> Scenario:
        """Return the current edits as a :class:`Scenario` (with the inputs' hashes)."""
        return Scenario(name, list(self.edits), inputs=self.model.inputs)

    def save(self, name: str) -> Scenario:
        """Keep the current edits under ``name`` (for comparing side by side)."""
        scenario = self.scenario(name)
        self.scenarios[name] = scenario
        return scenario

    def load(self, scenario: Scenario) -> None:
        """Make a scenario's edits the current ones (checked against the model)."""
        self._state(list(scenario.edits))
        self.edits = list(scenario.edits)
        self.scenarios[scenario.name] = scenario

    def load_json(self, text: str | bytes, *, label: str = "scenario") -> Scenario:
        """Make a scenario saved as JSON the current one (:meth:`load`); return it.

        Parameters
        ----------
        text
            The scenario's JSON text or its UTF-8 bytes (e.g. an uploaded file's contents;
            never a file name, see :meth:`~coverage.engine.scenario.Scenario.from_text`).
        label
            What to call the scenario in messages (e.g. the uploaded file's name).

        Raises
        ------
        ValueError
            When the text is not a scenario, or its edits do not apply to the model.
        """
        scenario = Scenario.from_text(text, label=label)
        self.load(scenario)
        return scenario

    # -- what may be shown -----------------------------------------------------------------

    def published(self, edits: list[Edit] | None = None
                  ) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
        """District and community tables of a scenario, as they may be published.

        Columns follow ``district_summary`` and ``community_summary`` (``level``, ``district``;
        ``community_id``, ``name``, ``district``, polygons): migrants, registered residents,
        staff, coverage within each threshold, gaps, E2SFCA means, staff per 1,000 and the
        shortfall; suppressed values are missing.
        """
        chosen = list(self.edits if edits is None else edits)
        return self._memo("published", chosen, lambda: self._published(chosen))

    def _published(self, edits: list[Edit]) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
        table = self.evaluate(edits)
        comm_layer = self.layers["community_summary"]
        districts = table[table["level"] != "community"].rename(
            columns={"unit": "district", "registered": "registered_pop"})
        districts["district"] = districts["district"].astype(str)
        communities = table[table["level"] == "community"].rename(
            columns={"unit": "community_id", "registered": "registered_pop"}).drop(
                columns="level")
        info = pd.DataFrame(comm_layer[["community_id", "name", "district"]])
        communities = info.merge(communities, on="community_id", how="left")
        for frame in (districts, communities):
            frame["migrants"] = frame["migrants"].round().astype(np.int64)
            frame["registered_pop"] = frame["registered_pop"].round().astype(np.int64)
        communities = gpd.GeoDataFrame(communities, geometry=comm_layer.geometry.to_numpy(),
                                       crs=comm_layer.crs)
        return publish_summaries(districts, communities, self.thresholds,
                                 min_cell=self.min_cell)

    def baseline_published(self) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
        """District and community tables of the saved results, as they may be published.

        The baseline's figures, without the model (for display while it loads).
        """
        layers = self.layers
        return self._memo("baseline", [], lambda: publish_summaries(
            layers["district_summary"], layers["community_summary"], self.thresholds,
            min_cell=self.min_cell))

    def indicators(self) -> pd.DataFrame:
        """Return the plan's indicators (city, districts, communities) as published."""
        layers = self.layers
        return self._memo("indicators", [], lambda: publish_indicators(
            layers["indicators"],
            layers["community_summary"].set_index("community_id")["district"],
            min_cell=self.min_cell))

    def city(self, edits: list[Edit] | None = None) -> pd.Series:
        """Return the published city row of a scenario."""
        districts, _ = self.published(edits)
        return districts[districts["level"] == "city"].iloc[0]

    def density(self, edge_m: float = 300.0) -> gpd.GeoDataFrame:
        """Migrants per hexagon (study CRS), small counts suppressed (missing)."""
        return self._memo(f"density-{edge_m!r}", [], lambda: self._density(edge_m))

    def _density(self, edge_m: float) -> gpd.GeoDataFrame:
        migrants = self.model.study.migrants
        _, q, r, count = point_cells(migrants, edge_m=edge_m)
        counts = suppress_series(pd.Series(count), min_cell=self.min_cell, total=False)
        return gpd.GeoDataFrame({"migrants": counts.to_numpy()},
                                geometry=hex_polygons(q, r, edge_m=edge_m), crs=migrants.crs)

    def sites(self, edits: list[Edit] | None = None) -> gpd.GeoDataFrame:
        """Service points of a scenario (public places): id, name, kind, staff, whether new.

        Remembered per scenario like the tables: read the frame, do not modify it in place.
        """
        chosen = list(self.edits if edits is None else edits)
        return self._memo("sites", chosen, lambda: self._sites(chosen))

    def _sites(self, edits: list[Edit]) -> gpd.GeoDataFrame:
        sites = self._state(edits).sites
        added = {e.site_id for e in edits if e.action == "add"}
        return gpd.GeoDataFrame({
            "site_id": sites.index.to_numpy(), "name": sites["name"].to_numpy(),
            "kind": sites["kind"].to_numpy(), "staff": sites["staff"].to_numpy(float),
            "added": sites.index.isin(list(added)),
        }, geometry=gpd.points_from_xy(sites["x"], sites["y"]), crs=self.model.study.crs)

    def nearest_site(self, lon: float, lat: float, *, within_m: float = 300.0) -> str | None:
        """Return the id of the scenario's service point nearest to a WGS-84 position.

        Parameters
        ----------
        lon, lat
            The position (e.g. a click on the map, :func:`from_web_mercator`).
        within_m
            Farthest the point may be, in metres (in the study's metric system).

        Returns
        -------
        str or None
            The service point's id; ``None`` when none is within ``within_m``.
        """
        sites = self.sites()
        x, y = transformer(4326, sites.crs).transform(lon, lat)
        d = np.hypot(sites.geometry.x.to_numpy() - x, sites.geometry.y.to_numpy() - y)
        if len(d) and d.min() <= within_m:
            return str(sites["site_id"].iloc[int(d.argmin())])
        return None

    def shown_layer(self, name: str) -> gpd.GeoDataFrame | None:
        """Return the rows of a result layer that may be drawn or listed.

        Parameters
        ----------
        name
            The result layer, e.g. ``underserved_clusters``.

        Returns
        -------
        geopandas.GeoDataFrame or None
            The layer without the rows flagged ``suppressed`` or counting fewer migrants than
            :attr:`min_cell` (:func:`~coverage.publish.disclosure.shown_rows`); ``None`` when
            the results have no such layer.
        """
        layer = self.layers.get(name)
        return None if layer is None else layer[shown_rows(layer, self.min_cell)]

    def province_flows(self) -> gpd.GeoDataFrame | None:
        """Return the migrants' flows from their provinces to the city, as a map may draw them.

        The ``origin_flows`` from each province to the city (to the districts when the results
        have none to the city), without the rows that may not be shown
        (:func:`~coverage.publish.disclosure.shown_rows`) or that have no line. ``None`` when
        the results have no flows.
        """
        flows = self.layers.get("origin_flows")
        if flows is None or not len(flows):
            return None
        sel = flows[(flows["origin_level"] == "province") & (flows["dest_level"] == "city")]
        if not len(sel):
            sel = flows[(flows["origin_level"] == "province")
                        & (flows["dest_level"] == "district")]
        return sel[shown_rows(sel, self.min_cell) & sel.geometry.notna()]

    def recommended_sites(self, recommendation: Recommendation) -> pd.DataFrame | None:
        """Return a recommendation's new service points as they may be listed.

        Parameters
        ----------
        recommendation
            A recommendation of :meth:`recommend`.

        Returns
        -------
        pandas.DataFrame or None
            Its ``recommended_sites`` layer without the geometry. The migrants newly within
            each threshold of a point (``migrants_newly_within_*``) count people: small
            counts are suppressed, missing (:func:`~coverage.publish.disclosure.
            suppress_series` over the points of the recommendation). ``None`` when it adds no
            service point.
        """
        layer = recommendation.layers.get("recommended_sites")
        if layer is None:
            return None
        sites = pd.DataFrame(layer.drop(columns="geometry"))
        for column in [c for c in sites.columns if c.startswith("migrants_newly_within")]:
            sites[column] = suppress_series(sites[column].astype("int64"), total=False,
                                            min_cell=self.min_cell)
        return sites

    def scenario_cost(self, edits: list[Edit] | None = None) -> pd.DataFrame:
        """Return what the scenario (or ``edits``) costs, per district and for the city.

        :func:`coverage.engine.costs.scenario_cost` against the baseline (``scenario``
        ``current``); without edits, a city row of zeros.
        """
        chosen = list(self.edits if edits is None else edits)
        return self._memo("cost", chosen, lambda: scenario_cost(
            self.model, chosen, {"baseline": self.evaluate([]), "current": self.evaluate(chosen)},
            scenario="current")).copy()

    def comparison(self) -> pd.DataFrame:
        """City rows of the baseline, every saved scenario and the current one, side by side.

        One column per scenario; the rows are the evaluated measures, then the scenario's
        cost (:data:`COMPARISON_COST_COLUMNS`, :meth:`scenario_cost`; the baseline's: 0).
        """
        edits = {name: scenario.edits for name, scenario in self.scenarios.items()}
        edits["current"] = self.edits
        tables = {"baseline": self.evaluate([])} | {n: self.evaluate(e) for n, e in edits.items()}
        city = compare(tables, costs={n: self.scenario_cost(e) for n, e in edits.items()}).iloc[0]
        return pd.DataFrame({name: city[name] for name in tables})

    def report_layers(self) -> dict[str, pd.DataFrame]:
        """Return result layers for a report on the current scenario.

        The project's layers, with the current scenario as the recommendation: its new service
        points with their own effect, the before/after comparison and its cost.
        """
        before = self.evaluate([])
        tables = {"baseline": before, "recommended": self.evaluate()}
        layers = {k: v for k, v in self.layers.items()
                  if k not in ("recommended_sites", "recommended_staff")}
        cost = self.scenario_cost().assign(scenario="recommended")
        layers["scenario_comparison"] = comparison_layer(tables, {"recommended": cost})
        layers["recommendation_cost"] = cost
        added = [e for e in self.edits if e.action == "add"]
        if added:
            sites = self.sites()
            new = sites[sites["site_id"].isin([e.site_id for e in added])].reset_index(
                drop=True)
            frame = gpd.GeoDataFrame({
                "rank": np.arange(1, len(new) + 1), "candidate_id": new["site_id"],
                "source": "scenario", "name": new["name"], "staff": new["staff"],
                "objective": "scenario"}, geometry=new.geometry.to_numpy(), crs=new.crs)
            layers["recommended_sites"] = site_effects(self.model, frame, added, before)
        return layers

    def coverage_key(self, threshold: float | None = None) -> str:
        """Column of migrants' coverage within ``threshold`` (default the largest)."""
        return coverage_column(threshold or max(self.thresholds))

    # -- the assessment cycle: the scorecard and the funding ----------------------------------

    def scorecard(self) -> pd.DataFrame:
        """Return the run's district scorecard as published, the best rank first.

        :func:`coverage.engine.cycle.ranked_scorecard`: one row per district and indicator,
        with the district's score, rank and targets met on each of its rows.
        """
        return self.cached("scorecard", lambda: ranked_scorecard(self.layers, self.project))

    def scorecard_trend(self) -> Trend:
        """Return each district's score and rank change since the run kept before this one.

        :func:`coverage.engine.cycle.scorecard_trend`, read from the store once (per process
        when shared): its ``table``, or the ``reason`` there is none (e.g. ``first-run``).
        """
        return self.cached("scorecard_trend", lambda: scorecard_trend(self.project, self.layers))

    def funding(self) -> pd.DataFrame | None:
        """Return the funding table as it may be shown; ``None``: see :meth:`funding_reason`.

        Per district, then the city: budgets, per capita, their gap, the standard and the
        budget lacking (:func:`coverage.engine.cycle.published_funding`).
        """
        layer = self.layers.get("funding")
        if layer is None or not len(layer):
            return None
        return self.cached("funding", lambda: published_funding(
            layer, self.baseline_published()[0]))

    def funding_reason(self) -> str | None:
        """Why the run has no funding table: a reason code (``no-budgets``), else ``None``."""
        return None if self.funding() is not None else self.skipped.get("funding", "no-budgets")
