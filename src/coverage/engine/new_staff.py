"""Where to add staff: new staff (whole FTE) allocated to service points, with their effect.

:func:`recommend_staff` allocates ``n`` new staff to communities and their service points
(:mod:`coverage.placement.staff`): ``shortfall`` gives each unit to the community with the
largest remaining shortfall against the staffing standard (each unit there lowers the total
shortfall by one, so the greedy allocation is optimal); ``maxmin`` gives each unit to the service
point with the fewest staff per 1,000 people in its catchment (greedy water-filling, optimal for
this objective). Existing staff may also be moved (``relocate``). No service point receives
more than ``[parameters.staffing] max_new_staff_per_site`` new staff, nor a new site more than
its candidate's ``max_staff`` in all (:func:`staff_caps`). The effect of every change is
evaluated with the analysis model (:class:`coverage.engine.scenario.ScenarioModel`).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage.engine.places import site_places
from coverage.engine.scenario import Edit, ScenarioModel
from coverage.measures.staffing import PER, staff_rate
from coverage.placement.staff import allocate_maxmin, allocate_shortfall

__all__ = ["STAFF_OBJECTIVES", "recommend_staff", "staff_caps"]

STAFF_OBJECTIVES = ("shortfall", "maxmin")


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
    return staff_and_table(model, n, objective=objective, edits=list(edits or []),
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


def staff_and_table(
    model: ScenarioModel, n: int, *, objective: str, edits: list[Edit], relocate: int,
    state: object = None, max_per_site: int | None = None,
    limits: dict[str, float] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return :func:`recommend_staff`'s table and the evaluated table with the staff.

    ``state`` is the model state of ``edits`` when the caller has it (not routed again).
    """
    _check(objective, n, relocate)
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
    people = served.to_numpy()
    if objective == "shortfall":
        added = _by_shortfall(model, sites, comm, people, staff, caps, n, relocate)
    else:
        added = _by_ratio(staff, people, caps, n, relocate)
    chosen = np.flatnonzero(added != 0)
    after_edits = edits + [
        Edit("set_staff", str(sites.index[k]), staff=float(staff[k] + added[k])) for k in chosen
    ]
    # Staff changes need no routing: apply them to a copy of the state.
    after_state = state.copy()
    for edit in after_edits[len(edits):]:
        model.apply(after_state, edit)
    after_t = model.summarize(after_state)
    out = _staff_table(model, sites, chosen, staff, added, caps, people)
    _add_effects(out, comm, summary, after_t)
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


def _check(objective: str, n: int, relocate: int) -> None:
    """Refuse an unknown objective, a count that is not a whole number ≥ 0, or nothing to do."""
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


def _by_shortfall(
    model: ScenarioModel, sites: pd.DataFrame, comm: pd.DataFrame, people: np.ndarray,
    staff: np.ndarray, caps: np.ndarray, n: int, relocate: int,
) -> np.ndarray:
    """Staff added per site (negative: moved away), largest community shortfall first."""
    units, site_unit = np.unique(sites["community_id"].to_numpy().astype(str),
                                 return_inverse=True)
    short = comm["staff_shortfall"].reindex(units).fillna(0.0).to_numpy()
    added = allocate_shortfall(short, site_unit, n, caps=caps, order=people)
    # Surplus of a community: its staff (service points and 专干) above its need under the
    # baseline's standard; a service point there may give staff away.
    need = model.community_need(sites)
    cid = need.index.to_numpy()
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
        surplus = (need["staff"] + moved - need["need"]).reindex(site_comm).to_numpy()
        can_give = (surplus >= 1) & (staff + added >= 2) & (site_unit != site_unit[k])
        if left < 1 or not can_give.any():
            break
        added[int(np.argmax(np.where(can_give, surplus, -np.inf)))] -= 1
        added[k] += 1
    return added


def _by_ratio(staff: np.ndarray, people: np.ndarray, caps: np.ndarray, n: int,
              relocate: int) -> np.ndarray:
    """Staff added per site (negative: moved away), fewest staff per 1,000 served first."""
    added = allocate_maxmin(staff, people, n, caps=caps)
    for _ in range(relocate):
        r = np.where(people > 0, (staff + added) / np.maximum(people, 1) * PER, np.inf)
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
    return added


def _staff_table(model: ScenarioModel, sites: pd.DataFrame, chosen: np.ndarray,
                 staff: np.ndarray, added: np.ndarray, caps: np.ndarray,
                 people: np.ndarray) -> pd.DataFrame:
    """One row per site whose staff change: who, where, the change and the staff ratios."""
    out = pd.DataFrame({
        "site_id": sites.index.to_numpy()[chosen],
        "name": sites["name"].to_numpy()[chosen],
        "community_id": sites["community_id"].to_numpy()[chosen],
        "new_staff": added[chosen],  # negative: staff moved away
        "new_staff_cap": caps[chosen],
        "staff_before": staff[chosen],
        "staff_after": staff[chosen] + added[chosen],
        "people_served": people[chosen],
    })
    district = model.communities.set_index("community_id")["district"]
    out.insert(3, "district", out["community_id"].map(district).to_numpy())
    for when in ("before", "after"):
        out[f"staff_per_1000_served_{when}"] = staff_rate(
            out[f"staff_{when}"], out["people_served"],
            min_population=model.rate_min_population)[0]
    return out


def _add_effects(out: pd.DataFrame, comm: pd.DataFrame, before: pd.DataFrame,
                 after: pd.DataFrame) -> None:
    """Add the communities' shortfalls and the city's E2SFCA gap, before and after."""
    comm_a = after[after["level"] == "community"].set_index("unit")
    out["community_shortfall_before"] = comm["staff_shortfall"].reindex(
        out["community_id"]).to_numpy()
    out["community_shortfall_after"] = comm_a["staff_shortfall"].reindex(
        out["community_id"]).to_numpy()
    for when, table in (("before", before), ("after", after)):
        city = table[table["level"] == "city"].iloc[0]
        out[f"e2sfca_gap_{when}"] = city["e2sfca_mean_registered"] - city["e2sfca_mean_migrant"]
