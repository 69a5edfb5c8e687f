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
before → after), evaluated with :class:`coverage.engine.scenario.ScenarioModel`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from coverage.engine.scenario import Edit, Scenario, ScenarioModel, compare, comparison_layer
from coverage.measures.equalization import coverage_column, threshold_label
from coverage.measures.staffing import PER, staff_rate
from coverage.network.readers import read_road_names
from coverage.placement import PlacementResult, max_coverage, p_median, set_cover
from coverage.placement.places import ROAD_NAME_MAX_M, place_names
from coverage.placement.staff import allocate_maxmin, allocate_shortfall

OBJECTIVES = ("coverage", "distance", "target")
STAFF_OBJECTIVES = ("shortfall", "maxmin")
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


def _demand_nodes(model: ScenarioModel) -> tuple[pd.Series, tuple[np.ndarray, np.ndarray]]:
    """Migrants aggregated to the network node where each joins the roads."""
    snap = model.snap_m
    s = snap.snapped
    ok = pd.isna(snap.reason)
    a = model.net.arrays
    link = s.link[ok]
    node = np.where(s.t[ok] < 0.5, a.link_a[link], a.link_b[link])
    counts = np.bincount(node, minlength=model.net.n_nodes)
    used = np.flatnonzero(counts)
    weights = pd.Series(counts[used].astype(float), index=pd.RangeIndex(len(used)))
    return weights, (model.net.x[used], model.net.y[used])


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
    existing = model.baseline.sites
    weights, (ox, oy) = _demand_nodes(model)
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
    table = (model.derived(f"candidate_costs:{reach!r}", costs) if candidates is None
             else costs())
    # Existing sites stay open. One that reaches nobody within ``reach`` is no column of the
    # table and changes no objective: leave it out of the model rather than fail on it.
    fixed = list(existing.index[existing.index.isin(table["destination"].unique())])
    if objective == "distance":
        # The table stops at the reach, so some people may reach no open site whatever is
        # chosen, which would make the p-median infeasible. Everyone may instead stay "beyond
        # reach" (a column always open) at twice the reach: those reaching no site count as far
        # away, and the choice still brings the most people nearest.
        beyond = pd.DataFrame({"origin": weights.index.to_numpy(), "destination": _BEYOND,
                               "cost": 2 * reach})
        table = pd.concat([table, beyond], ignore_index=True)
        fixed.append(_BEYOND)
    if objective == "coverage":
        result = max_coverage(table, weights, len(fixed) + k, max_cost=model.max_t,
                              fixed=fixed, time_limit=time_limit)
    elif objective == "distance":
        result = p_median(table, weights, len(fixed) + k, fixed=fixed, time_limit=time_limit)
    else:
        goal = target if target is not None else model.study.project.parameters.targets[
            "free_service_local"]
        result = set_cover(table, max_cost=model.max_t, weights=weights, target=goal,
                           fixed=fixed, time_limit=time_limit)
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


def default_candidates(model: ScenarioModel) -> gpd.GeoDataFrame:
    """Return the default candidate sites of :func:`recommend_sites`, computed once per model.

    :func:`candidate_sites` with the baseline's under-served clusters: both depend on the
    baseline alone, and finding the clusters is most of a recommendation's time.
    """
    def compute() -> gpd.GeoDataFrame:
        from coverage.patterns import underserved_clusters

        access = pd.DataFrame({"time_min": model.baseline.m_time,
                               "community_id": model.m_comm})
        clusters = underserved_clusters(model.study.migrants, access, network=model.net,
                                        min_cell=model.study.project.min_cell)
        return candidate_sites(model, clusters=clusters)

    return model.derived("default_candidates", compute)


def named_roads(model: ScenarioModel) -> gpd.GeoDataFrame | None:
    """Return the named roads of the network, read once per model (``None``: no names)."""
    def compute() -> gpd.GeoDataFrame | None:
        try:
            return read_road_names(model.study.network_path)
        except (OSError, ValueError, ImportError):
            return None  # no names: places are still named by community and coordinates

    return model.derived("named_roads", compute)


def site_places(model: ScenarioModel, points: gpd.GeoSeries,
                labels: list[str] | None = None) -> pd.DataFrame:
    """Return where each point is, for a person to find it (:mod:`coverage.placement.places`).

    The community it falls in, the nearest named road of the project's road network (read for
    the points' surroundings only; empty when the file keeps no names or cannot be read),
    WGS-84 and GCJ-02 coordinates and an Amap link labelled ``labels`` (default the community
    and road).

    Returns
    -------
    pandas.DataFrame
        ``community_name``, ``road_name``, ``lon_wgs84``, ``lat_wgs84``, ``lon_gcj02``,
        ``lat_gcj02``, ``map_link``, indexed like ``points``.
    """
    roads = None
    if len(points):
        wgs = points.to_crs(4326)
        pad_lat = 2 * ROAD_NAME_MAX_M / 111_000.0
        pad_lon = pad_lat / max(np.cos(np.radians(float(np.abs(wgs.y).max()))), 0.1)
        bbox = (float(wgs.x.min()) - pad_lon, float(wgs.y.min()) - pad_lat,
                float(wgs.x.max()) + pad_lon, float(wgs.y.max()) + pad_lat)
        roads = named_roads(model)
        if roads is not None:
            roads = roads.iloc[np.sort(roads.sindex.query(shapely.box(*bbox)))]
    return place_names(points, communities=model.communities, roads=roads, labels=labels)


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


def recommend_staff(
    model: ScenarioModel,
    n: int,
    *,
    objective: str = "shortfall",
    edits: list[Edit] | None = None,
    relocate: int = 0,
    max_per_site: int | None = None,
    limits: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Allocate ``n`` new staff (whole FTE), optionally move existing staff, and state effects.

    Parameters
    ----------
    model
        The project's baseline.
    n
        New staff to allocate.
    objective
        ``shortfall`` (largest community shortfall first) or ``maxmin`` (site with the fewest
        staff per 1,000 people in its catchment first).
    edits
        A scenario to start from (e.g. recommended new sites), else the baseline.
    relocate
        Also move up to this many existing staff (whole FTE), one at a time, while a move still
        improves the objective: for ``shortfall`` from a community with a surplus of at least
        one FTE over its need to the community with the largest shortfall (each move lowers the
        total shortfall by one); for ``maxmin`` from the service point with the most staff per
        1,000 served to the one with the fewest, while the donor stays above the recipient. A
        service point keeps at least one FTE.
    max_per_site
        Most new staff one service point may receive (default the project's
        ``[parameters.staffing] max_new_staff_per_site``, 4).
    limits
        Most staff (in all) some service points can hold, by site id, e.g. a new site's
        candidate ``max_staff`` (:func:`staff_caps`).

    Returns
    -------
    pandas.DataFrame
        One row per site receiving staff: ``site_id``, ``name``, ``community_id``,
        ``district``, ``new_staff``, ``new_staff_cap``, ``staff_before``, ``staff_after``, and
        the effect: ``community_shortfall_before/after`` or
        ``staff_per_1000_served_before/after``, plus the city's ``e2sfca_gap_before/after``
        (accessible staff per 1,000, registered minus migrants). ``attrs["unallocated"]`` is the
        number of new staff no service point had room for (0 normally).
    """
    return _recommend_staff(model, n, objective=objective, edits=list(edits or []),
                            relocate=relocate, max_per_site=max_per_site, limits=limits)[0]


def staff_caps(
    model: ScenarioModel,
    sites: pd.DataFrame,
    *,
    max_per_site: int | None = None,
    limits: dict[str, float] | None = None,
) -> np.ndarray:
    """Return the most new staff each service point may receive in one recommendation.

    ``min(max_per_site, limit − staff)`` for a point with a ``limit`` (the most staff it can
    hold, e.g. a new site's candidate ``max_staff``), else ``max_per_site``; never below 0.

    Parameters
    ----------
    model
        The project's baseline (for the default ``max_per_site``).
    sites
        The service points (a model state's ``sites``: index site id, ``staff``).
    max_per_site
        Default: ``[parameters.staffing] max_new_staff_per_site``.
    limits
        Site id → most staff in all; NaN or missing for none.

    Returns
    -------
    numpy.ndarray
        Whole FTE per site, in the order of ``sites``.
    """
    cap = (model.study.project.parameters.max_new_staff_per_site if max_per_site is None
           else max_per_site)
    if isinstance(cap, bool) or not isinstance(cap, int | np.integer) or cap < 1:
        msg = f"max_per_site must be a whole number ≥ 1 (new staff per service point), got {cap!r}"
        raise ValueError(msg)
    limit = pd.Series(limits or {}, dtype=float).reindex(sites.index).to_numpy()
    room = np.floor(limit - sites["staff"].to_numpy(float))
    return np.clip(np.where(np.isnan(room), cap, np.minimum(room, cap)), 0, None)


def _recommend_staff(
    model: ScenarioModel, n: int, *, objective: str, edits: list[Edit], relocate: int,
    state: object = None, max_per_site: int | None = None,
    limits: dict[str, float] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`recommend_staff`, and the evaluated table with the staff.

    ``state`` is the model state of ``edits`` when the caller has it (not routed again).
    """
    if objective not in STAFF_OBJECTIVES:
        msg = f"objective must be one of {', '.join(STAFF_OBJECTIVES)}; got {objective!r}"
        raise ValueError(msg)
    if not isinstance(n, int | np.integer) or n < 0:
        msg = f"n (new staff) must be a whole number ≥ 0, got {n!r}"
        raise ValueError(msg)
    if not isinstance(relocate, int | np.integer) or relocate < 0:
        msg = f"relocate must be a whole number ≥ 0, got {relocate!r}"
        raise ValueError(msg)
    if n == 0 and relocate == 0:
        msg = "nothing to recommend: give n new staff or relocate ≥ 1"
        raise ValueError(msg)
    if state is None:
        state = model.state_for(edits)
    sites = state.sites
    if len(sites) == 0:
        msg = "there is no service point to give staff to"
        raise ValueError(msg)
    served = (pd.Series(1.0, index=range(model.n_m)).groupby(state.m_site).sum()
              .add(pd.Series(model.r_pop).groupby(state.r_site).sum(), fill_value=0.0)
              .reindex(sites.index, fill_value=0.0))
    staff = sites["staff"].to_numpy(float).copy()
    caps = staff_caps(model, sites, max_per_site=max_per_site, limits=limits)
    summary = model.summarize(state)
    comm = summary[summary["level"] == "community"].set_index("unit")
    if objective == "shortfall":
        units, site_unit = np.unique(sites["community_id"].to_numpy().astype(str),
                                     return_inverse=True)
        short = comm["staff_shortfall"].reindex(units).fillna(0.0).to_numpy()
        people = served.to_numpy()
        added = allocate_shortfall(short, site_unit, n, caps=caps, order=people)
        # Surplus of a community: its staff (service points and 专干) above its need under the
        # baseline's standard; a service point there may give staff away.
        ctab = model._community_table(sites)
        cid = model.communities["community_id"].to_numpy()
        need = pd.Series(model._std * (ctab["migrants"] + ctab["registered_pop"]).to_numpy()
                         / PER, index=cid)
        base = pd.Series(ctab["staff"].to_numpy(), index=cid)
        site_comm = sites["community_id"].to_numpy()
        for _ in range(relocate):
            gained = np.maximum(added, 0.0)  # a donor keeps no shortfall (it had a surplus)
            step = allocate_shortfall(short, site_unit, 1, caps=caps, order=people,
                                      added=gained) - gained
            if not step.any():
                break
            k = int(np.argmax(step))
            left = short[site_unit[k]] - gained[site_unit == site_unit[k]].sum()
            moved = pd.Series(added).groupby(site_comm).sum().reindex(cid, fill_value=0.0)
            surplus = (base + moved - need).reindex(site_comm).to_numpy()
            can_give = (surplus >= 1) & (staff + added >= 2) & (site_unit != site_unit[k])
            if left < 1 or not can_give.any():
                break
            added[int(np.argmax(np.where(can_give, surplus, -np.inf)))] -= 1
            added[k] += 1
    else:
        people = served.to_numpy()

        def ratios() -> np.ndarray:
            return np.where(people > 0, (staff + added) / np.maximum(people, 1) * PER, np.inf)

        added = allocate_maxmin(staff, people, n, caps=caps)
        for _ in range(relocate):
            r = ratios()
            room = added < caps
            if not room.any():
                break
            low = int(np.argmin(np.where(room, r, np.inf)))
            can_give = (people > 0) & (staff + added >= 2)
            if not can_give.any():
                break
            high = int(np.argmax(np.where(can_give, r, -np.inf)))
            after_high = (staff[high] + added[high] - 1) / max(people[high], 1) * PER
            after_low = (staff[low] + added[low] + 1) / max(people[low], 1) * PER
            if high == low or after_high <= after_low:
                break
            added[high] -= 1
            added[low] += 1
    chosen = np.flatnonzero(added != 0)
    after_edits = edits + [
        Edit("set_staff", str(sites.index[k]), staff=float(staff[k] + added[k])) for k in chosen
    ]
    # Staff changes need no routing: apply them to a copy of the state.
    after_state = state.copy()
    for edit in after_edits[len(edits):]:
        model.apply(after_state, edit)
    after_t = model.summarize(after_state)
    city_b = summary[summary["level"] == "city"].iloc[0]
    city_a = after_t[after_t["level"] == "city"].iloc[0]
    comm_a = after_t[after_t["level"] == "community"].set_index("unit")
    out = pd.DataFrame({
        "site_id": sites.index.to_numpy()[chosen],
        "name": sites["name"].to_numpy()[chosen],
        "community_id": sites["community_id"].to_numpy()[chosen],
        "new_staff": added[chosen],  # negative: staff moved away
        "new_staff_cap": caps[chosen],
        "staff_before": staff[chosen],
        "staff_after": staff[chosen] + added[chosen],
        "people_served": served.to_numpy()[chosen],
    })
    district = model.communities.set_index("community_id")["district"]
    out.insert(3, "district", out["community_id"].map(district).to_numpy())
    for when in ("before", "after"):
        out[f"staff_per_1000_served_{when}"] = staff_rate(
            out[f"staff_{when}"], out["people_served"],
            min_population=model.rate_min_population)[0]
    out["community_shortfall_before"] = comm["staff_shortfall"].reindex(
        out["community_id"]).to_numpy()
    out["community_shortfall_after"] = comm_a["staff_shortfall"].reindex(
        out["community_id"]).to_numpy()
    gap_b = city_b["e2sfca_mean_registered"] - city_b["e2sfca_mean_migrant"]
    gap_a = city_a["e2sfca_mean_registered"] - city_a["e2sfca_mean_migrant"]
    out["e2sfca_gap_before"] = gap_b
    out["e2sfca_gap_after"] = gap_a
    where = gpd.GeoSeries(gpd.points_from_xy(sites["x"].to_numpy(float)[chosen],
                                             sites["y"].to_numpy(float)[chosen]),
                          crs=model.study.crs)
    places = site_places(model, where, [str(v) for v in out["name"]])
    for col in places.columns:
        out[col] = places[col].to_numpy()
    out = out.sort_values("new_staff", ascending=False, kind="stable").reset_index(drop=True)
    out.attrs["edits"] = after_edits
    out.attrs["unallocated"] = int(n - added.sum())
    return out, after_t


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
    (when staff are) and ``scenario_comparison`` (baseline and recommended, city and
    districts), the scenario ``recommended`` and the two evaluated tables.
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
        staff, recommended = _recommend_staff(model, new_staff, objective=staff_objective,
                                              edits=edits, relocate=relocate, state=state,
                                              limits=limits)
        layers["recommended_staff"] = staff
        edits = staff.attrs["edits"]
    step("evaluating the recommendation")
    scenario = Scenario("recommended", edits, inputs=model.inputs)
    # The tables the steps above evaluated, not evaluated again.
    tables = {"baseline": model.evaluate() if baseline is None else baseline,
              "recommended": model.evaluate(scenario) if recommended is None else recommended}
    layers["scenario_comparison"] = comparison_layer(tables)
    return Recommendation(layers, scenario, tables)
