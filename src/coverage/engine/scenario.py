"""What-if scenarios: a baseline plus an ordered list of edits to the service points.

The scenarios and their edits are data (:mod:`coverage.engine.edits`: :class:`Scenario`,
:class:`Edit`, the scenario file). A :class:`ScenarioModel` holds the baseline once (the people
snapped to the roads, every person's nearest service point and the pairs within the largest
time threshold) and evaluates scenarios **incrementally**, updating only what an edit changes:

- *add* a point: one search from the new point (:meth:`RoadNetwork.nearest` with that single
  destination) and an element-wise minimum with the current nearest times; its pairs within the
  largest threshold are appended for E2SFCA;
- *close* a point: only the people whose nearest it was are routed again, to the remaining
  points; its pairs are dropped;
- *move*: close, then add at the new place;
- *change staff*: no routing at all.

The staffing standard stays the baseline's (by default today's staff per 1,000 registered
residents in the district), so adding staff lowers the shortfall instead of raising the bar.

The cheap aggregates (coverage per community and district, staffing, E2SFCA) are then computed
from these arrays. :meth:`ScenarioModel.full` recomputes the same figures from scratch, for
checking: both give the same numbers (``tests/integration/test_scenario.py``).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from coverage.engine.baseline import Baseline
from coverage.engine.costs import cost_columns, scenario_costs
from coverage.engine.edits import (
    MAX_PLACEMENTS,
    Edit,
    Scenario,
    input_hashes,
    shown_value,
)
from coverage.engine.summary import Units, unit_summaries
from coverage.io.loaders import StudyData, load_study
from coverage.measures.access import e2sfca_steps, step_weights
from coverage.measures.equalization import allocate_registered
from coverage.measures.staffing import PER, staffing_standard
from coverage.network import RoadNetwork

__all__ = ["MAX_PLACEMENTS", "Edit", "Scenario", "ScenarioModel", "State", "compare",
           "comparison_layer", "input_hashes", "scenario_layer"]

#: Sites whose E2SFCA step 1 a model keeps (a city's sites and the what-ifs' new places).
_WEIGHTS_KEPT = 4096


@dataclass
class State:
    """The service points of a scenario and what routing gives for them.

    :meth:`ScenarioModel.state_for` makes one from the baseline and a scenario's edits;
    :meth:`ScenarioModel.apply` changes one in place, :meth:`ScenarioModel.summarize` adds it
    up. Arrays are one entry per migrant (``m_``) or registered-resident point (``r_``).
    """

    sites: pd.DataFrame  # site_id index: x, y, staff, kind, name, community_id
    m_time: np.ndarray  # nearest time per migrant
    m_site: np.ndarray  # nearest site id per migrant (object, None when unreachable)
    r_time: np.ndarray
    r_site: np.ndarray
    pairs: dict[str, tuple[np.ndarray, np.ndarray]]  # site → (demand rows, minutes) ≤ max_t

    def copy(self) -> State:
        """Return a copy that edits may change without changing this state."""
        return State(self.sites.copy(), self.m_time.copy(),
                      self.m_site.copy(), self.r_time.copy(), self.r_site.copy(),
                      dict(self.pairs))


class ScenarioModel:
    """The baseline of a project, ready to evaluate scenarios incrementally.

    Parameters
    ----------
    study
        Loaded inputs, or the path of a project.
    network
        The road network (read from the project when not given).
    mode
        Travel mode when the network is read here.
    baseline
        The routing of the main job on the same study (``run_study(...).baseline``): the
        model starts from it instead of snapping and routing again (same figures).
    clusters
        The main job's ``underserved_clusters`` layer on the same inputs, when at hand: the
        default candidate sites of a recommendation start from it instead of finding the
        clusters again (:func:`coverage.engine.recommend.default_candidates`).
    """

    def __init__(self, study: StudyData | str | Path, *, network: RoadNetwork | None = None,
                 mode: str = "walk", baseline: Baseline | None = None,
                 clusters: gpd.GeoDataFrame | None = None) -> None:
        self.study = study if isinstance(study, StudyData) else load_study(study)
        self.net = (baseline.network if baseline is not None
                    else network or RoadNetwork.from_study(self.study, mode=mode))
        params = self.study.project.parameters
        self.thresholds = params.thresholds_min
        self.max_t = max(self.thresholds)
        self.standard = params.staffing_standard
        self.rate_min_population = params.rate_min_population
        self.steps = e2sfca_steps(self.thresholds)
        self._step = step_weights(self.steps)
        self._weights: dict[int, tuple[np.ndarray, np.ndarray, float]] = {}
        self._weights_lock = threading.Lock()
        self._derived: dict[str, Any] = {}
        self._derived_lock = threading.Lock()  # held while a derived value is computed
        study = self.study
        self.communities = study.communities.reset_index(drop=True)
        registered = (baseline.registered if baseline is not None
                      else study.layers.get("registered_points"))
        if registered is None:
            registered = allocate_registered(study.communities)
        self.registered = registered.reset_index(drop=True)
        self.m_comm = study.migrants["community_id"].to_numpy()
        self.r_comm = self.registered["community_id"].to_numpy()
        self.r_pop = self.registered["population"].to_numpy(float)
        self.n_m = len(study.migrants)
        self.demand = np.r_[np.ones(self.n_m), self.r_pop]
        self._to_study = pyproj.Transformer.from_crs(4326, study.crs, always_xy=True)
        if baseline is not None:
            self.snap_m = Baseline.by_position(baseline.snap_m)
            self.snap_r = Baseline.by_position(baseline.snap_r)
        else:
            self.snap_m = self.net.snap_points(study.migrants.reset_index(drop=True))
            self.snap_r = self.net.snap_points(self.registered)
        self.units = Units.of(self.communities, self.m_comm, self.r_comm)
        # The staffing standard is the baseline's (e.g. today's district ratio for registered
        # residents): a scenario's own staff must not move the bar it is measured against.
        self._std = staffing_standard(self._community_table(self._site_frame()), self.standard)
        self.baseline = (self._baseline() if baseline is None
                         else self._from_run(baseline))
        self.inputs = input_hashes(study)
        self.clusters = clusters

    def derived(self, name: str, compute: Callable[[], Any]) -> Any:
        """Return a value derived from the baseline alone (not from any edit), computed once.

        Recommendations ask again and again for the same candidate sites and road names;
        a server's sessions share one model, so they share these too. The value is handed
        out as it is: read it, never modify it in place.
        """
        with self._derived_lock:  # one computation per name, however many ask at once
            if name not in self._derived:
                self._derived[name] = compute()
            return self._derived[name]

    # -- building blocks -------------------------------------------------------------------

    def _site_frame(self) -> pd.DataFrame:
        s = self.study.sites
        return pd.DataFrame({
            "x": s.geometry.x.to_numpy(), "y": s.geometry.y.to_numpy(),
            "staff": s["staff"].to_numpy(float), "kind": s["kind"].to_numpy(),
            "name": s["name"].to_numpy(), "community_id": s["community_id"].to_numpy(),
        }, index=pd.Index(s["site_id"].to_numpy(), name="site_id"))

    def _pairs(self, snapped: Any) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Pairs within the largest threshold: site position → (demand rows, minutes).

        Demand rows number the migrants first, then the registered-resident points.
        """
        out: dict[int, tuple[list[np.ndarray], list[np.ndarray]]] = {}
        for snap, offset in ((self.snap_m, 0), (self.snap_r, self.n_m)):
            table = self.net.cost_table(snap, snapped, max_cost=self.max_t)
            dest = table["destination"].to_numpy(np.int64)
            orig = table["origin"].to_numpy(np.int64) + offset
            cost = table["cost"].to_numpy(float)
            order = np.argsort(dest, kind="stable")
            dest, orig, cost = dest[order], orig[order], cost[order]
            bounds = np.searchsorted(dest, np.arange(len(snapped) + 1))
            for k in range(len(snapped)):  # per site, not per person
                a, b = bounds[k], bounds[k + 1]
                rows, mins = out.setdefault(k, ([], []))
                rows.append(orig[a:b])
                mins.append(cost[a:b])
        return {k: (np.concatenate(r), np.concatenate(c)) for k, (r, c) in out.items()}

    def _snap_sites(self, sites: pd.DataFrame) -> Any:
        return self.net.snap_points((sites["x"].to_numpy(float), sites["y"].to_numpy(float)))

    def _nearest_all(self, sites: pd.DataFrame, which: str) -> tuple[np.ndarray, np.ndarray]:
        """Nearest site of every migrant (``which="m"``) or registered point (``"r"``)."""
        snap = self.snap_m if which == "m" else self.snap_r
        n = self.n_m if which == "m" else len(self.registered)
        site = np.full(n, None, dtype=object)
        if len(sites) == 0:
            return np.full(n, np.nan), site
        near = self.net.nearest(snap, self._snap_sites(sites))
        pos = near["destination"].to_numpy()
        ok = pd.notna(pos)
        site[ok] = sites.index.to_numpy(dtype=object)[pos[ok].astype(np.int64)]
        return near["time_min"].to_numpy(float), site

    def _routed(self, sites: pd.DataFrame) -> State:
        """Route everything for ``sites`` from scratch."""
        m_time, m_site = self._nearest_all(sites, "m")
        r_time, r_site = self._nearest_all(sites, "r")
        pairs = self._pairs(self._snap_sites(sites)) if len(sites) else {}
        by_id = {sid: pairs.get(k, (np.zeros(0, np.int64), np.zeros(0)))
                 for k, sid in enumerate(sites.index)}
        return State(sites, m_time, m_site, r_time, r_site, by_id)

    def _baseline(self) -> State:
        return self._routed(self._site_frame())

    def _from_run(self, baseline: Baseline) -> State:
        """Build the baseline state from the main job's routing (as :meth:`_baseline` does)."""
        m_time, m_site = baseline.nearest_of("m")
        r_time, r_site = baseline.nearest_of("r")
        return State(self._site_frame(), m_time, m_site, r_time, r_site, baseline.pairs())

    # -- edits -----------------------------------------------------------------------------

    def _add(self, state: State, edit: Edit) -> None:
        if edit.site_id in state.sites.index:
            msg = f"add: a service point {edit.site_id!r} already exists; choose a new id"
            raise ValueError(msg)
        x, y = self._to_study.transform(edit.lon, edit.lat)
        comm = self._community_of(x, y)
        state.sites.loc[edit.site_id] = {"x": x, "y": y, "staff": float(edit.staff),
                                         "kind": edit.kind, "name": edit.name,
                                         "community_id": comm}
        snapped = self.net.snap_points((np.array([x]), np.array([y])))
        for snap, times, owners in ((self.snap_m, state.m_time, state.m_site),
                                    (self.snap_r, state.r_time, state.r_site)):
            t_new = self.net.nearest(snap, snapped)["time_min"].to_numpy(float)
            better = t_new < np.where(np.isnan(times), np.inf, times)
            times[better] = t_new[better]
            owners[better] = edit.site_id
        state.pairs[edit.site_id] = self._pairs(snapped).get(
            0, (np.zeros(0, np.int64), np.zeros(0)))

    def _close(self, state: State, site_id: str) -> None:
        if site_id not in state.sites.index:
            msg = f"no service point {site_id!r} in the scenario"
            raise ValueError(msg)
        state.sites = state.sites.drop(index=site_id)
        state.pairs.pop(site_id, None)
        for which, times, owners in (("m", state.m_time, state.m_site),
                                     ("r", state.r_time, state.r_site)):
            rows = np.flatnonzero(owners == site_id)
            if len(rows):  # only their nearest point changes: route them to the rest
                t, sid = self._nearest_all(state.sites, which)
                times[rows] = t[rows]
                owners[rows] = sid[rows]

    def _outside_m(self, x: float, y: float) -> float:
        """Distance (m) from a study-CRS point to the nearest community; 0 inside one."""
        if not (math.isfinite(x) and math.isfinite(y)):
            return math.inf
        geoms = self.communities.geometry.to_numpy()
        geoms = geoms[~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)]
        if not len(geoms) or shapely.contains_xy(geoms, x, y).any():
            return 0.0
        return float(np.min(shapely.distance(geoms, shapely.Point(x, y))))

    def check_area(self, edit: Edit, number: int | None = None) -> None:
        """Refuse a new or moved service point outside the study area.

        A point may lie at most the project's ``study_area_tolerance_m`` outside the
        communities (as the input service points may).

        Raises
        ------
        ValueError
            One line naming the edit, its position and how far outside it is.
        """
        if edit.action not in ("add", "move"):
            return
        x, y = self._to_study.transform(edit.lon, edit.lat)
        off = self._outside_m(float(x), float(y))
        tolerance = self.study.project.parameters.study_area_tolerance_m
        if off <= tolerance:
            return
        which = f"{edit.action} {shown_value(edit.site_id)}"
        which = which if number is None else f"edit {number} ({which})"
        far = ("far" if not math.isfinite(off) else
               f"{off / 1000:,.1f} km" if off >= 1000 else f"{off:,.0f} m")
        msg = (f"{which}: lon {edit.lon:g}, lat {edit.lat:g} is {far} outside the study area "
               f"(the communities), more than the {tolerance:,.0f} m allowed "
               "(study_area_tolerance_m); place the service point in the city and give lon, "
               "lat in WGS-84 degrees, in that order")
        raise ValueError(msg)

    def _community_of(self, x: float, y: float) -> str | None:
        geoms = self.communities.geometry.to_numpy()
        hit = np.flatnonzero(shapely.contains_xy(geoms, x, y))
        if len(hit):
            return str(self.communities["community_id"].iloc[hit[0]])
        d = shapely.distance(geoms, shapely.Point(x, y))
        return str(self.communities["community_id"].iloc[int(np.argmin(d))])

    def apply(self, state: State, edit: Edit, *, number: int | None = None) -> None:
        """Apply one edit to ``state`` in place, updating only what it changes.

        ``number`` is the edit's position in its scenario (from 1), named in messages. A new
        or moved point outside the study area is refused (:meth:`check_area`).
        """
        edit.check(number)
        self.check_area(edit, number)
        where = f"{edit.action} {shown_value(edit.site_id)}"
        where = where if number is None else f"edit {number} ({where})"
        exists = edit.site_id in state.sites.index
        if edit.action == "add" and exists:
            msg = f"{where}: a service point with this site_id already exists; choose a new id"
            raise ValueError(msg)
        if edit.action != "add" and not exists:
            msg = (f"{where}: no service point with this site_id in the scenario (the project's "
                   "sites and those added by earlier edits); check the site_id")
            raise ValueError(msg)
        if edit.action == "add":
            self._add(state, edit)
        elif edit.action == "close":
            self._close(state, edit.site_id)
        elif edit.action == "move":
            old = state.sites.loc[edit.site_id]
            self._close(state, edit.site_id)
            self._add(state, Edit("add", edit.site_id, edit.lon, edit.lat,
                                  float(old["staff"]), str(old["kind"]), str(old["name"])))
        else:
            state.sites.loc[edit.site_id, "staff"] = float(edit.staff)

    # -- evaluation ------------------------------------------------------------------------

    def state_for(self, scenario: Scenario | list[Edit]) -> State:
        """Apply a scenario's edits to a copy of the baseline."""
        edits = scenario.edits if isinstance(scenario, Scenario) else scenario
        state = self.baseline.copy()
        for number, edit in enumerate(edits, start=1):
            self.apply(state, edit, number=number)
        return state

    def evaluate(self, scenario: Scenario | list[Edit] | None = None) -> pd.DataFrame:
        """Return the indicators (city, districts, communities) of the baseline or a scenario."""
        state = self.baseline if scenario is None else self.state_for(scenario)
        return self.summarize(state)

    def full(self, edits: list[Edit]) -> pd.DataFrame:
        """Recompute a scenario from scratch (no incremental update), for checking."""
        sites = self.baseline.sites.copy()
        for number, edit in enumerate(edits, start=1):  # bookkeeping: positions, staff, kinds
            edit.check(number)
            self.check_area(edit, number)
            if edit.action in ("add", "move"):
                x, y = self._to_study.transform(edit.lon, edit.lat)
                row = {"x": x, "y": y, "community_id": self._community_of(x, y)}
                if edit.action == "add":
                    row |= {"staff": float(edit.staff), "kind": edit.kind, "name": edit.name}
                    sites.loc[edit.site_id] = row
                else:
                    moved = sites.loc[edit.site_id].to_dict() | row
                    sites = sites.drop(index=edit.site_id)
                    sites.loc[edit.site_id] = moved
            elif edit.action == "close":
                sites = sites.drop(index=edit.site_id)
            else:
                sites.loc[edit.site_id, "staff"] = float(edit.staff)
        return self.summarize(self._routed(sites))

    def _community_table(self, sites: pd.DataFrame) -> pd.DataFrame:
        """Per community: district, registered residents, migrants and staff (sites + 专干)."""
        comm = self.communities
        cid = comm["community_id"].to_numpy()
        site_staff = pd.Series(sites["staff"].to_numpy(float)).groupby(
            sites["community_id"].to_numpy()).sum().reindex(cid, fill_value=0.0).to_numpy()
        fp = comm["fp_staff"].fillna(0).to_numpy(float) if "fp_staff" in comm else 0.0
        return pd.DataFrame({
            "district": comm["district"].to_numpy(),
            "registered_pop": comm["registered_pop"].to_numpy(float),
            "staff": site_staff + fp,
            "migrants": np.bincount(self.units.migrant_community[self.units.migrant_community >= 0],
                                    minlength=len(cid)).astype(float),
        })

    def community_need(self, sites: pd.DataFrame) -> pd.DataFrame:
        """Return the staff and the staff needed of every community, given ``sites``.

        Indexed by ``community_id``: ``staff`` (its service points' staff and its
        family-planning staff) and ``need`` (the baseline's staffing standard applied to its
        migrants and registered residents).
        """
        table = self._community_table(sites)
        people = (table["migrants"] + table["registered_pop"]).to_numpy()
        return pd.DataFrame({"staff": table["staff"].to_numpy(), "need": self._std * people / PER},
                            index=pd.Index(self.communities["community_id"].to_numpy(),
                                           name="community_id"))

    def demand_nodes(self) -> tuple[pd.Series, tuple[np.ndarray, np.ndarray]]:
        """Return the migrants aggregated to the road node where each joins the roads.

        Returns
        -------
        weights : pandas.Series
            Migrants per node (nodes numbered 0 … n-1 here).
        x, y : numpy.ndarray
            The nodes' positions in the study's system.
        """
        snap = self.snap_m
        s = snap.snapped
        ok = pd.isna(snap.reason)
        a = self.net.arrays
        link = s.link[ok]
        node = np.where(s.t[ok] < 0.5, a.link_a[link], a.link_b[link])
        counts = np.bincount(node, minlength=self.net.n_nodes)
        used = np.flatnonzero(counts)
        weights = pd.Series(counts[used].astype(float), index=pd.RangeIndex(len(used)))
        return weights, (self.net.x[used], self.net.y[used])

    def _site_weights(self, rows: np.ndarray, mins: np.ndarray) -> tuple[np.ndarray, float]:
        """E2SFCA weights of a site's pairs and the weighted demand it reaches (step 1).

        Both depend on the site's pairs alone, which states share until the site moves: kept
        per pairs array (held here, so its ``id`` is not reused while kept).
        """
        key = id(rows)
        hit = self._weights.get(key)
        if hit is not None and hit[0] is rows:
            return hit[1], hit[2]
        w = self._step(mins)
        # in order, as the library's bincount adds (np.sum would round the last digit apart)
        reached = float(np.bincount(np.zeros(len(rows), np.int64), self.demand[rows] * w, 1)[0])
        with self._weights_lock:  # not the derived values' lock, held for seconds at times
            if len(self._weights) >= _WEIGHTS_KEPT:
                self._weights.pop(next(iter(self._weights)))
            self._weights[key] = (rows, w, reached)
        return w, reached

    def _e2sfca(self, state: State) -> np.ndarray:
        """E2SFCA score of every demand row (``access.enhanced_two_step_fca``).

        The same formula on the state's pairs, each site's step 1 kept (a what-if changes a
        few sites; weighting every pair again took most of a summary's time). ``coverage run``
        uses the library function; ``tests/integration/test_scenario.py`` checks that both agree.
        """
        ids = list(state.sites.index)
        empty = (np.zeros(0, np.int64), np.zeros(0))
        pairs = [state.pairs.get(s, empty) for s in ids]
        if not pairs:
            return np.zeros(len(self.demand))
        weighted = [self._site_weights(rows, mins) for rows, mins in pairs]
        reached = np.array([r for _, r in weighted])
        supply = state.sites["staff"].to_numpy(float)
        ratio = np.divide(supply, reached, out=np.zeros_like(supply), where=reached > 0)
        lengths = [len(rows) for rows, _ in pairs]
        return np.bincount(np.concatenate([rows for rows, _ in pairs]),
                           weights=np.concatenate([w for w, _ in weighted])
                           * np.repeat(ratio, lengths), minlength=len(self.demand))

    def summarize(self, state: State) -> pd.DataFrame:
        """Coverage, staffing and E2SFCA per city, district and community for a state.

        The main job's aggregation (:func:`coverage.engine.summary.unit_summaries`) on the
        state's travel times, scores and staff: the baseline's table holds the main job's
        figures to the last digit.
        """
        score = self._e2sfca(state) * PER
        table = self._community_table(state.sites)
        people = table["migrants"].to_numpy() + table["registered_pop"].to_numpy()
        staff = table["staff"].to_numpy()
        return unit_summaries(
            self.units, self.thresholds, migrant_time=state.m_time,
            registered_time=state.r_time, registered_pop=self.r_pop,
            migrant_score=score[: self.n_m], registered_score=score[self.n_m:],
            staff=staff, shortfall=np.maximum(self._std * people / PER - staff, 0.0),
            people=people, min_population=self.rate_min_population)


def compare(tables: dict[str, pd.DataFrame], *, level: str = "city",
            costs: Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Side-by-side indicator table: one column block per scenario, with deltas to the first.

    Parameters
    ----------
    tables
        Scenario name → :meth:`ScenarioModel.evaluate` table; the first is the reference.
    level
        ``city``, ``district`` or ``community``.
    costs
        Scenario name → its cost (:func:`coverage.engine.costs.scenario_cost`): each block
        then ends with the scenario's :data:`~coverage.engine.costs.COMPARISON_COST_COLUMNS`
        (a scenario without a cost, the reference, costs nothing; at the ``city`` and
        ``district`` levels). ``None``: no cost columns.
    """
    names = list(tables)
    frames = {}
    for n, t in tables.items():
        rows = t[t["level"] == level]
        if costs is not None and level != "community":
            rows = pd.concat([rows, cost_columns(rows.assign(scenario=n), _known(costs, n))],
                             axis=1)
        frames[n] = rows.set_index("unit").drop(columns="level")
    ref = frames[names[0]]
    blocks = {names[0]: ref}
    for n in names[1:]:
        blocks[n] = frames[n]
        blocks[f"{n} − {names[0]}"] = frames[n] - ref
    return pd.concat(blocks, axis=1)


def _known(costs: Mapping[str, pd.DataFrame], name: str) -> dict[str, pd.DataFrame]:
    """Return the cost of scenario ``name`` alone (none: it costs nothing)."""
    return {name: costs[name]} if name in costs else {}


def comparison_layer(tables: dict[str, pd.DataFrame],
                     costs: Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Return the ``scenario_comparison`` table: city and district rows of every table.

    Parameters
    ----------
    tables
        Scenario name → :meth:`ScenarioModel.evaluate` table (the baseline first).
    costs
        Scenario name → its cost (:func:`coverage.engine.costs.scenario_cost`): the layer's
        last columns are then each row's :data:`~coverage.engine.costs.
        COMPARISON_COST_COLUMNS` (the district's cost on a district's row, 0 where the
        scenario changes nothing; a scenario without a cost, the baseline, costs nothing).
        ``None``: the evaluated columns only.
    """
    out = pd.concat([t.assign(scenario=n) for n, t in tables.items()], ignore_index=True)
    out = out[out["level"] != "community"]
    out = out[["scenario", *[c for c in out.columns if c != "scenario"]]]
    if costs is None:
        return out
    return pd.concat([out, cost_columns(out, costs)], axis=1)


def scenario_layer(model: ScenarioModel, scenarios: dict[str, Scenario]) -> pd.DataFrame:
    """Return the ``scenario_comparison`` table of the baseline and ``scenarios``, with costs."""
    tables = {"baseline": model.evaluate()}
    tables.update({name: model.evaluate(s) for name, s in scenarios.items()})
    edits = {name: list(s.edits) for name, s in scenarios.items()}
    return comparison_layer(tables, scenario_costs(model, edits, tables))
