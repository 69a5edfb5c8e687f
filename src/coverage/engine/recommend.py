"""Recommendations: where to open new service points and where to add staff.

**New sites.** Candidates come from three sources (:func:`candidate_sites`): the project's
``candidates`` layer (e.g. vacant community rooms), road-network nodes at a regular spacing, and
the network nodes that minimise the walking time of each under-served cluster. Migrants are
aggregated to the network node where they join the roads (demand weight = migrants), the cost
table from those nodes to the existing sites and the candidates is built once, and a location
model of :mod:`coverage.placement` chooses ``k`` new sites with every existing site fixed open:

- ``coverage``: maximal covering — most migrants within the largest time threshold;
- ``distance``: p-median — least total walking time;
- ``target``: set cover — the fewest new sites that bring the share of migrants within the
  threshold to the plan's target for free local services (95 % by default); ``k`` is ignored.

**New staff.** :func:`recommend_staff` allocates ``n`` new staff (whole FTE) to communities and
their service points (:mod:`coverage.placement.staff`): ``shortfall`` gives each unit to the
community with the largest remaining shortfall against the staffing standard (each unit there
lowers the total shortfall by one, so the greedy allocation is optimal); ``maxmin`` gives each
unit to the service point with the fewest staff per 1,000 people in its catchment (greedy
water-filling, optimal for this objective). No service point receives more than
``[parameters.staffing] max_new_staff_per_site`` (4) new staff, nor a new site more than its
candidate's ``max_staff`` in all (:func:`staff_caps`): the staff spread over the communities in
need instead of piling up at one point.

Every recommendation states its expected effect (coverage, staff ratio, migrant–registered gap:
before → after), evaluated with :class:`coverage.engine.scenario.ScenarioModel`, and its cost
(:func:`scenario_cost`: new sites and staff at the unit costs of ``[parameters.funding]``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from coverage.engine.costs import scenario_cost
from coverage.engine.new_staff import (
    STAFF_OBJECTIVES,
    recommend_staff,
    staff_and_table,
    staff_caps,
)
from coverage.engine.places import named_roads, site_places
from coverage.engine.scenario import Edit, Scenario, ScenarioModel, compare, comparison_layer
from coverage.measures.equalization import coverage_column, threshold_label
from coverage.placement import PlacementResult, max_coverage, p_median, set_cover

# New staff, the places of new points and the cost of a scenario have their own modules;
# users take them from here.
__all__ = ["DEFAULT_NEW_SITE_STAFF", "DISTANCE_REACH_MIN", "OBJECTIVES", "STAFF_OBJECTIVES",
           "Recommendation", "SiteRecommendation", "candidate_sites", "default_candidates",
           "named_roads", "recommend", "recommend_sites", "recommend_staff",
           "scenario_cost", "site_effects", "site_places", "staff_caps"]

OBJECTIVES = ("coverage", "distance", "target")
#: Staff given to each recommended new site when the candidate states no limit.
DEFAULT_NEW_SITE_STAFF = 2.0
#: Reach of the cost table for the distance objective, minutes: pairs farther apart are left
#: out of the p-median (a site is never chosen to serve people more than this far away).
DISTANCE_REACH_MIN = 30.0

#: Column of the p-median standing for "no site within reach" (see :func:`recommend_sites`).
_BEYOND = "__beyond_reach__"


def candidate_sites(
    model: ScenarioModel,
    *,
    clusters: gpd.GeoDataFrame | None = None,
    spacing_m: float = 400.0,
) -> gpd.GeoDataFrame:
    """Possible new service points from every source, in the study CRS.

    Parameters
    ----------
    model
        The project's baseline (:class:`~coverage.engine.scenario.ScenarioModel`).
    clusters
        The ``underserved_clusters`` layer; its ``node_x``/``node_y`` become candidates.
    spacing_m
        Spacing of the generated candidates: one road-network node per square of this side.

    Returns
    -------
    geopandas.GeoDataFrame
        ``candidate_id``, ``source`` (``user``, ``cluster`` or ``grid``), ``name``,
        ``max_staff`` and point geometry.
    """
    if not spacing_m > 0:
        msg = f"spacing_m must be > 0 metres, got {spacing_m!r}"
        raise ValueError(msg)
    crs = model.study.crs
    parts = []
    user = model.study.layers.get("candidates")
    if user is not None and len(user):
        parts.append(pd.DataFrame({
            "candidate_id": user["candidate_id"].astype(str).to_numpy(),
            "source": "user",
            "name": user["name"].to_numpy() if "name" in user else "",
            "max_staff": user["max_staff"].to_numpy(float) if "max_staff" in user else np.nan,
            "x": user.geometry.x.to_numpy(), "y": user.geometry.y.to_numpy()}))
    if clusters is not None and len(clusters) and "node_x" in clusters:
        parts.append(pd.DataFrame({
            "candidate_id": [f"cluster-{c}" for c in clusters["cluster_id"]],
            "source": "cluster", "name": "", "max_staff": np.nan,
            "x": clusters["node_x"].to_numpy(float), "y": clusters["node_y"].to_numpy(float)}))
    net = model.net
    nodes = np.flatnonzero(net.node_component == 0)  # the routing component
    x, y = net.x[nodes], net.y[nodes]
    cell = np.floor(x / spacing_m).astype(np.int64) * 1_000_003 + np.floor(
        y / spacing_m).astype(np.int64)
    cx = (np.floor(x / spacing_m) + 0.5) * spacing_m
    cy = (np.floor(y / spacing_m) + 0.5) * spacing_m
    order = np.lexsort((np.hypot(x - cx, y - cy), cell))  # nearest node to each square's centre
    first = order[np.r_[True, cell[order][1:] != cell[order][:-1]]]
    parts.append(pd.DataFrame({
        "candidate_id": [f"grid-{int(n)}" for n in nodes[first]], "source": "grid", "name": "",
        "max_staff": np.nan, "x": x[first], "y": y[first]}))
    table = pd.concat(parts, ignore_index=True)
    return gpd.GeoDataFrame(table.drop(columns=["x", "y"]),
                            geometry=gpd.points_from_xy(table["x"], table["y"]), crs=crs)


@dataclass
class SiteRecommendation:
    """Recommended new sites, the solved model and the expected effect."""

    sites: gpd.GeoDataFrame
    result: PlacementResult
    effect: pd.DataFrame
    edits: list[Edit]
    #: Evaluated tables (:meth:`ScenarioModel.evaluate`) of the baseline and with the sites.
    before: pd.DataFrame | None = field(default=None, repr=False)
    after: pd.DataFrame | None = field(default=None, repr=False)
    #: The model state with the sites, for further edits without routing them again.
    after_state: object = field(default=None, repr=False)


def recommend_sites(
    model: ScenarioModel,
    k: int,
    *,
    objective: str = "coverage",
    candidates: gpd.GeoDataFrame | None = None,
    staff: float = DEFAULT_NEW_SITE_STAFF,
    target: float | None = None,
    time_limit: float | None = 120.0,
) -> SiteRecommendation:
    """Choose ``k`` new service points (existing ones stay open).

    Parameters
    ----------
    model
        The project's baseline.
    k
        Number of new sites (ignored by ``target``).
    objective
        ``coverage`` (maximal covering within the largest threshold), ``distance`` (p-median)
        or ``target`` (fewest sites reaching ``target``).
    candidates
        Candidate sites (default :func:`candidate_sites` from the project's candidates, the
        under-served clusters' best nodes and a 400 m grid of road nodes).
    staff
        Staff of each new site, unless the candidate's ``max_staff`` is smaller.
    target
        Coverage target for ``target`` (default the plan's ``free_service_local``, 0.95).
    time_limit
        Seconds for the solver; past it the best solution found and its bound are returned.
    """
    if objective not in OBJECTIVES:
        msg = f"objective must be one of {', '.join(OBJECTIVES)}; got {objective!r}"
        raise ValueError(msg)
    if objective != "target" and (not isinstance(k, int | np.integer) or k < 1):
        msg = f"k (number of new sites) must be a whole number ≥ 1, got {k!r}"
        raise ValueError(msg)
    cands = default_candidates(model) if candidates is None else candidates
    result = _solve(model, cands, k, objective=objective, default=candidates is None,
                    target=target, time_limit=time_limit)
    chosen = result.new_sites
    picked = cands.set_index("candidate_id").loc[chosen]
    limit = picked["max_staff"].to_numpy(float)
    staffs = np.where(np.isnan(limit), staff, np.minimum(limit, staff))
    to_wgs = pyproj.Transformer.from_crs(model.study.crs, 4326, always_xy=True)
    lon, lat = to_wgs.transform(picked.geometry.x.to_numpy(), picked.geometry.y.to_numpy())
    edits = [Edit("add", f"new-{cid}", lon=float(a), lat=float(b), staff=float(st),
                  kind="health_station", name=str(nm or cid))
             for cid, a, b, st, nm in zip(chosen, lon, lat, staffs, picked["name"], strict=True)]
    before = model.evaluate()
    after_state = model.state_for(edits)
    after = model.summarize(after_state)
    effect = compare({"before": before, "after": after}, level="city")
    sites = gpd.GeoDataFrame({
        "rank": np.arange(1, len(chosen) + 1),
        "candidate_id": chosen,
        "source": picked["source"].to_numpy(),
        "name": picked["name"].to_numpy(),
        "staff": staffs,
        "max_staff": limit,
        "objective": objective,
        "solver_status": result.status,
        "gap": result.gap,
    }, geometry=picked.geometry.to_numpy(), crs=model.study.crs)
    sites = site_effects(model, sites, edits, before)
    return SiteRecommendation(sites=sites, result=result, effect=effect, edits=edits,
                              before=before, after=after, after_state=after_state)


def _solve(model: ScenarioModel, cands: gpd.GeoDataFrame, k: int, *, objective: str,
           default: bool, target: float | None, time_limit: float | None) -> PlacementResult:
    """Solve the location model of ``objective`` with every existing site open.

    ``default``: the candidates are the model's default ones (their cost table is kept).
    """
    existing = model.baseline.sites
    weights, (ox, oy) = model.demand_nodes()
    reach = DISTANCE_REACH_MIN if objective == "distance" else model.max_t

    def costs() -> pd.DataFrame:
        dest_ids = np.r_[existing.index.to_numpy(dtype=object),
                         cands["candidate_id"].to_numpy(dtype=object)]
        dx = np.r_[existing["x"].to_numpy(float), cands.geometry.x.to_numpy()]
        dy = np.r_[existing["y"].to_numpy(float), cands.geometry.y.to_numpy()]
        out = model.net.cost_table((ox, oy), (dx, dy), max_cost=reach)
        out["destination"] = dest_ids[out["destination"].to_numpy()]
        return out

    # The default candidates' table is the same for every recommendation: made once.
    table = model.derived(f"candidate_costs:{reach!r}", costs) if default else costs()
    # Existing sites stay open. One that reaches nobody within ``reach`` is no column of the
    # table and changes no objective: leave it out of the model rather than fail on it.
    fixed = list(existing.index[existing.index.isin(table["destination"].unique())])
    if objective == "coverage":
        return max_coverage(table, weights, len(fixed) + k, max_cost=model.max_t,
                            fixed=fixed, time_limit=time_limit)
    if objective == "distance":
        # The table stops at the reach, so some people may reach no open site whatever is
        # chosen, which would make the p-median infeasible. Everyone may instead stay "beyond
        # reach" (a column always open) at twice the reach: those reaching no site count as far
        # away, and the choice still brings the most people nearest.
        beyond = pd.DataFrame({"origin": weights.index.to_numpy(), "destination": _BEYOND,
                               "cost": 2 * reach})
        table = pd.concat([table, beyond], ignore_index=True)
        fixed.append(_BEYOND)
        return p_median(table, weights, len(fixed) + k, fixed=fixed, time_limit=time_limit)
    goal = target if target is not None else model.study.project.parameters.targets[
        "free_service_local"]
    return set_cover(table, max_cost=model.max_t, weights=weights, target=goal,
                     fixed=fixed, time_limit=time_limit)


def default_candidates(model: ScenarioModel) -> gpd.GeoDataFrame:
    """Return the default candidate sites of :func:`recommend_sites`, computed once per model.

    :func:`candidate_sites` with the baseline's under-served clusters: both depend on the
    baseline alone, and finding the clusters is most of a recommendation's time. The main
    job's clusters are used when the model has them (:attr:`ScenarioModel.clusters`).
    """
    def compute() -> gpd.GeoDataFrame:
        clusters = model.clusters
        if clusters is None:  # not at hand from the main job: found here, on the same inputs
            # Lazy: the clusters' HDBSCAN (scikit-learn) takes most of a second to import, and
            # a model built from a project's results has the main job's clusters.
            from coverage.patterns.underserved import underserved_clusters

            access = pd.DataFrame({"time_min": model.baseline.m_time,
                                   "community_id": model.m_comm})
            clusters = underserved_clusters(model.study.migrants, access, network=model.net,
                                            min_cell=model.study.project.min_cell)
        return candidate_sites(model, clusters=clusters)

    return model.derived("default_candidates", compute)


def site_effects(model: ScenarioModel, sites: gpd.GeoDataFrame, edits: list[Edit],
                 before: pd.DataFrame) -> gpd.GeoDataFrame:
    """Add each new site's own effect to ``sites``, and where it is.

    The effect: city coverage and gap with it alone. Where: :func:`site_places` (community,
    nearest named road, coordinates, map link). ``edits`` are the sites' ``add`` edits (same
    order); ``before`` the baseline's :meth:`ScenarioModel.evaluate` table. Used for
    recommended sites and for a scenario's new sites in a report.
    """
    lab = threshold_label(model.max_t)
    city_before = before[before["level"] == "city"].iloc[0]
    cov, gap = coverage_column(model.max_t), coverage_column(model.max_t, "gap")
    cov_b, gap_b = city_before[cov], city_before[gap]
    cov_a, gap_a, newly = [], [], []
    for edit in edits:
        city = model.evaluate([edit])
        row = city[city["level"] == "city"].iloc[0]
        cov_a.append(row[cov])
        gap_a.append(row[gap])
        newly.append(round((row[cov] - cov_b) * model.n_m))
    sites[f"{cov}_before"] = cov_b
    sites[f"{cov}_after"] = cov_a
    sites[f"{gap}_before"] = gap_b
    sites[f"{gap}_after"] = gap_a
    sites[f"migrants_newly_within_{lab}"] = np.asarray(newly, dtype=np.int64)
    labels = ([str(v) if isinstance(v, str) else "" for v in sites["name"]]
              if "name" in sites else None)
    places = site_places(model, sites.geometry, labels)
    for col in places.columns:
        sites[col] = places[col].to_numpy()
    return sites


@dataclass
class Recommendation:
    """A whole recommendation: layers to write, the scenario and the evaluated tables."""

    layers: dict[str, pd.DataFrame]
    scenario: Scenario
    tables: dict[str, pd.DataFrame]


def recommend(
    model: ScenarioModel,
    *,
    new_sites: int = 3,
    new_staff: int = 0,
    objective: str = "coverage",
    staff_objective: str = "shortfall",
    relocate: int = 0,
    progress: Callable[[str], None] | None = None,
) -> Recommendation:
    """Recommend new sites and staff together and evaluate them against the baseline.

    Returns the layers ``recommended_sites`` (when sites are asked for), ``recommended_staff``
    (when staff are), ``scenario_comparison`` (baseline and recommended, city and
    districts) and ``recommendation_cost`` (:func:`scenario_cost`), the scenario
    ``recommended`` and the two evaluated tables.
    """
    step = progress or (lambda _text: None)
    layers: dict[str, pd.DataFrame] = {}
    edits: list[Edit] = []
    state = None
    baseline = recommended = None
    limits: dict[str, float] = {}
    if new_sites > 0 or objective == "target":
        step("choosing new service points")
        rec = recommend_sites(model, max(new_sites, 1), objective=objective)
        layers["recommended_sites"] = rec.sites
        edits, state = rec.edits, rec.after_state
        baseline, recommended = rec.before, rec.after
        # a new site holds no more staff than its room allows
        limits = dict(zip([e.site_id for e in rec.edits], rec.sites["max_staff"], strict=True))
    if new_staff > 0 or relocate > 0:
        step("allocating staff")
        staff, recommended = staff_and_table(model, new_staff, objective=staff_objective,
                                             edits=edits, relocate=relocate, state=state,
                                             limits=limits)
        layers["recommended_staff"] = staff
        edits = staff.attrs["edits"]
    step("evaluating the recommendation")
    scenario = Scenario("recommended", edits, inputs=model.inputs)
    # The tables the steps above evaluated, not evaluated again.
    tables = {"baseline": model.evaluate() if baseline is None else baseline,
              "recommended": model.evaluate(scenario) if recommended is None else recommended}
    cost = scenario_cost(model, edits, tables)
    layers["scenario_comparison"] = comparison_layer(tables, {"recommended": cost})
    layers["recommendation_cost"] = cost
    return Recommendation(layers, scenario, tables)
