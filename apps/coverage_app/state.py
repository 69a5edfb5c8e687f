"""The app's state: choices and the scenario, as ``param`` objects without widgets.

:class:`AppState` wraps a :class:`coverage.engine.session.PlanningSession` (all computation is
in the library; the words come from :mod:`coverage.publish.labels`) and publishes the choices
the views show (language, district, service kind, travel mode, threshold, shading, base map,
layers) and a ``version`` counter that changes whenever the scenario does. Views watch it;
tests drive it directly. Saved scenarios are the project store's, shared by every planner: a
save made on a version someone else has since replaced is refused with a message saying who
saved which version when, in the app's language.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import pandas as pd
import param

from coverage.engine.session import (
    PlanningSession,
    ScenarioConflict,
    StoreError,
    from_web_mercator,
)
from coverage.publish.labels import coverage_column, reason_text, text

INDICATORS = ("coverage", "staff", "gap", "e2sfca")
BASEMAPS = ("osm", "tianditu", "amap", "none")
LAYERS = ("communities", "density", "sites", "catchments", "underserved", "hotspots",
          "recommended", "flows")
CLICK = ("add", "choose", "move", "none")


class AppState(param.Parameterized):
    """Everything the planner has chosen, and the current scenario."""

    lang = param.Selector(default="zh", objects=["zh", "en"])
    district = param.String(default="", doc="District shown ('' for the whole city).")
    kind = param.String(default="", doc="Kind of service point shown ('' for all).")
    mode = param.Selector(default="walk", objects=["walk", "ebike"])
    threshold = param.Number(default=15.0)
    indicator = param.Selector(default="coverage", objects=list(INDICATORS))
    basemap = param.Selector(default="osm", objects=list(BASEMAPS))
    layers = param.ListSelector(default=["communities", "sites", "underserved"],
                                objects=list(LAYERS))
    click = param.Selector(default="add", objects=list(CLICK))
    new_staff = param.Number(default=2.0, bounds=(0.0, 100.0))
    chosen = param.String(default="", doc="Service point chosen for moving or removing.")
    version = param.Integer(default=0, doc="Changes whenever the scenario changes.")
    ready = param.Boolean(default=False, doc="The analysis model is loaded.")
    busy = param.Boolean(default=False)
    message = param.String(default="")
    recommendation = param.Parameter(default=None, doc="Last recommendation (not applied).")
    user = param.String(default="", doc="The planner's log-in, who saves ('' without one).")
    saved = param.DataFrame(default=None, doc="The store's saved scenarios, as last listed.")
    scored = param.String(default="", doc="District whose scorecard is shown ('': the first).")

    #: Map layers that need an optional analysis: layer → analysis.
    LAYER_NEEDS: ClassVar[dict[str, str]] = {"flows": "origin_flows"}

    def unavailable_layers(self) -> dict[str, str]:
        """Map layers whose analysis the data did not allow → the reason, in the app's language."""
        skipped = self.session.skipped
        return {layer: reason_text(skipped[need], self.lang)
                for layer, need in self.LAYER_NEEDS.items() if need in skipped}

    def __init__(self, session: PlanningSession, **params: Any) -> None:
        super().__init__(**params)
        self.session = session
        if self.threshold not in session.thresholds:
            self.threshold = max(session.thresholds)
        self._lock = threading.RLock()

    # -- texts ------------------------------------------------------------------------------

    def t(self, key: str, **fields: object) -> str:
        """Text of the app in the chosen language."""
        return text("app", key, self.lang, **fields)

    # -- the model --------------------------------------------------------------------------

    def load_model(self) -> None:
        """Load the analysis model (seconds on a whole city); call from a worker thread."""
        with self._lock:
            _ = self.session.model
        self.ready = True

    # -- positions --------------------------------------------------------------------------

    def to_lonlat(self, x: float, y: float) -> tuple[float, float]:
        """WGS-84 position of a map click (Web Mercator; GCJ-02 under the Amap base map)."""
        return from_web_mercator(x, y, gcj02=self.basemap == "amap")

    # -- scenario actions -------------------------------------------------------------------

    def _changed(self, message: str = "") -> None:
        import panel as pn

        with pn.io.hold():  # one message to the browser for all the views' changes
            self.version += 1  # views update first; the status line last
            self.message = message

    def _guard(self, action: Any, *args: Any) -> Any:
        with self._lock:
            try:
                return action(*args)
            except (ValueError, KeyError) as exc:
                self.message = self.t("error", message=str(exc))
                return None

    def click_at(self, x: float, y: float) -> None:
        """Apply the click action at a map position (Web Mercator)."""
        lon, lat = self.to_lonlat(x, y)
        if self.click == "add":
            self.add_site(lon, lat)
        elif self.click == "choose":
            self.choose_near(lon, lat)
        elif (self.click == "move" and self.chosen
              and self._guard(self.session.move_site, self.chosen, lon, lat) is not None):
            self._changed()

    def add_site(self, lon: float, lat: float) -> None:
        """Add a service point with ``new_staff`` staff at a WGS-84 position."""
        edit = self._guard(lambda: self.session.add_site(lon, lat, staff=self.new_staff))
        if edit is not None:
            self.chosen = edit.site_id
            self._changed(self.t("site_added", id=edit.site_id))

    def choose_near(self, lon: float, lat: float, *, within_m: float = 300.0) -> None:
        """Choose the service point nearest to a WGS-84 position (within ``within_m``)."""
        if not self.ready:
            return
        chosen = self.session.nearest_site(lon, lat, within_m=within_m)
        if chosen is not None:
            self.chosen = chosen
            self.message = f"{self.t('chosen')}: {self.chosen}"

    def remove_chosen(self) -> None:
        """Remove the chosen service point."""
        if self.chosen:
            self._guard(self.session.remove_site, self.chosen)
            self.chosen = ""
            self._changed()

    def undo(self) -> None:
        """Drop the last edit."""
        with self._lock:
            self.session.undo()
        self._changed()

    def save(self, name: str) -> None:
        """Save the current scenario in the project's store under ``name``, for every planner.

        Made on the version of ``name`` last loaded or saved here: when another planner
        saved it since (or first, for a new name) nothing is saved and the message says who
        saved which version when, and what to do.
        """
        name = name.strip()
        if not name:
            return
        with self._lock:
            try:
                self.session.store_scenario(name, saved_by=self.user or None)
            except ScenarioConflict as exc:
                self.message = self.conflict_text(exc)
                self.list_saved()
                return
            except StoreError as exc:
                self.message = self.t("error", message=self._store_problem(exc))
                return
            version = self.session.versions[name]
        self.list_saved()
        self._changed(self.t("scenario_saved", name=name, version=version))

    def conflict_text(self, exc: ScenarioConflict) -> str:
        """The message of a refused save, in the app's language."""
        at = "" if exc.saved_at is None else f"{exc.saved_at:%Y-%m-%d %H:%M:%S}"
        fields = {"name": exc.name, "version": exc.current, "loaded": exc.expected,
                  "by": exc.saved_by, "at": at}
        key = ("scenario_deleted" if exc.current is None else
               "scenario_exists" if exc.expected is None else "scenario_conflict")
        return self.t(key, **fields)

    def _store_problem(self, exc: StoreError) -> str:
        """A store's error without the store's place (a folder or a server's address)."""
        return str(exc).removeprefix(f"{self.session.scenario_store().name}: ")

    def list_saved(self) -> None:
        """List the scenarios saved in the project's store (by every planner) in ``saved``."""
        try:
            self.saved = self.session.saved_scenarios()
        except StoreError as exc:
            self.message = self.t("error", message=self._store_problem(exc))

    def load_saved(self, name: str) -> None:
        """Make a scenario saved in the store the current one (and the base of its next save)."""
        with self._lock:
            try:
                self.session.load_stored(name)
            except (ValueError, StoreError) as exc:
                problem = exc if isinstance(exc, ValueError) else self._store_problem(exc)
                self.message = self.t("error", message=str(problem))
                return
            version = self.session.versions[name]
        self._changed(self.t("scenario_loaded", name=name, version=version))

    def load(self, text: str | bytes, *, label: str = "scenario") -> None:
        """Load a scenario from its JSON text or bytes (never from a file name)."""
        with self._lock:
            try:
                self.session.load_json(text, label=label)
            except ValueError as exc:
                self.message = self.t("error", message=str(exc))
                return
        self._changed()

    def recommend(self, k: int, n: int) -> None:
        """Compute a recommendation (shown, not applied)."""
        self.busy = True
        try:
            with self._lock:
                rec = self.session.recommend(new_sites=int(k), new_staff=int(n))
            self.recommendation = rec
            if "recommended" not in self.layers:
                self.layers = [*self.layers, "recommended"]
        except (ValueError, RuntimeError) as exc:
            self.message = self.t("error", message=str(exc))
        finally:
            self.busy = False

    def apply_recommendation(self) -> None:
        """Add the last recommendation's edits to the scenario."""
        if self.recommendation is not None:
            self._guard(self.session.apply, list(self.recommendation.scenario.edits))
            self.recommendation = None
            self._changed()

    # -- what the views show ----------------------------------------------------------------

    @property
    def coverage_column(self) -> str:
        """Column of migrants' coverage within the chosen threshold."""
        return coverage_column(self.threshold)

    def published(self) -> tuple[pd.DataFrame, Any]:
        """Published district and community tables of the current scenario.

        Before the model is loaded, the baseline's result layers (identical figures).
        """
        if not self.ready:
            return self.session.baseline_published()
        with self._lock:
            return self.session.published()

    def indicators(self) -> pd.DataFrame:
        """The plan's indicators (city, districts, communities) as they may be published."""
        return self.session.indicators()

    def scenario_cost(self) -> pd.DataFrame:
        """What the current scenario costs, per district and for the city (model loaded)."""
        with self._lock:
            return self.session.scenario_cost()

    def baseline_city(self) -> pd.Series:
        """Published city row of the baseline."""
        districts, _ = self.session.baseline_published()
        return districts[districts["level"] == "city"].iloc[0]
