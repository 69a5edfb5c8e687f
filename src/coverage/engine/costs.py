"""What a scenario costs, and its cost beside its effect in a scenario comparison.

A scenario's cost (:func:`scenario_cost`, the ``recommendation_cost`` layer of a
recommendation) is its new service points and the staff it adds, per district and for the
city, priced at the unit costs of ``[parameters.funding]``
(:func:`coverage.measures.funding.recommendation_cost`). :func:`scenario_costs` prices several
scenarios at once; :func:`cost_columns` gives the figures a scenario comparison shows beside
each scenario's coverage (:data:`COMPARISON_COST_COLUMNS`: the ``scenario_comparison`` layer,
:func:`coverage.engine.scenario.compare`, the session's comparison).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from coverage.measures.funding import recommendation_cost

if TYPE_CHECKING:
    from coverage.engine.edits import Edit
    from coverage.engine.scenario import ScenarioModel

__all__ = ["COMPARISON_COST_COLUMNS", "cost_columns", "districts_at", "scenario_cost",
           "scenario_costs"]

COMPARISON_COST_COLUMNS = ("new_sites", "new_staff", "cost_sites_yuan",
                           "cost_staff_yuan_per_year", "budget_needed_yuan")
"""A scenario's cost beside its effect: new service points, staff (FTE) gained, the new points'
one-off cost, the new staff's cost a year and the first year's budget needed (yuan)."""


def districts_at(points: gpd.GeoSeries, communities: gpd.GeoDataFrame) -> np.ndarray:
    """Return the district of each point: its community's, the nearest community's outside all.

    The one rule placing a new service point in a district, for the cost of a scenario
    (:func:`scenario_cost`) and a district's share of a recommendation
    (:mod:`coverage.engine.quarter`). Communities without a boundary are left out; ``points``
    are taken to the communities' CRS.
    """
    shapes = communities.geometry.to_numpy()
    comm = communities[~shapely.is_missing(shapes) & ~shapely.is_empty(shapes)]
    if not len(points) or not len(comm):
        return np.full(len(points), None, dtype=object)
    if points.crs is not None and comm.crs is not None and points.crs != comm.crs:
        points = points.to_crs(comm.crs)
    _, nearest = comm.sindex.nearest(points.to_numpy(), return_all=False)
    return comm["district"].astype(str).to_numpy()[nearest]


def scenario_cost(model: ScenarioModel, edits: list[Edit], tables: Mapping[str, pd.DataFrame],
                  *, scenario: str = "recommended") -> pd.DataFrame:
    """Return what a scenario costs per district and for the city (``recommendation_cost``).

    Parameters
    ----------
    model
        The scenario model the scenario was evaluated on.
    edits
        The scenario's edits.
    tables
        Evaluated tables (:meth:`~coverage.engine.scenario.ScenarioModel.evaluate`):
        ``baseline`` and the scenario's, under ``scenario``.
    scenario
        The scenario's name: its table in ``tables`` and the ``scenario`` column.

    Returns
    -------
    pandas.DataFrame
        ``scenario``, then the columns of
        :func:`coverage.measures.funding.recommendation_cost`: one row per district the
        scenario changes (sorted by name), then the city's, their sum. Its new service points
        are the ``add`` edits, each in the district of the community it falls in (the nearest
        one when it falls in none); its new staff per district are the district's staff in the
        scenario's table less those in the baseline's (the new sites' staff and the staff
        added; staff moved between districts count where they go, and against where they
        leave). Priced at ``[parameters.funding]``'s unit costs.
    """
    funding = model.study.project.parameters.funding
    added = [e for e in edits if e.action == "add"]
    comm = model.communities
    districts = np.asarray([], dtype=object)
    if added:
        to_study = pyproj.Transformer.from_crs(4326, model.study.crs, always_xy=True)
        x, y = to_study.transform(np.array([e.lon for e in added], dtype=float),
                                  np.array([e.lat for e in added], dtype=float))
        districts = districts_at(gpd.GeoSeries(gpd.points_from_xy(x, y), crs=model.study.crs),
                                 comm)
    sites = pd.Series(1, index=pd.Index(districts, dtype=object)).groupby(level=0).sum()

    def staff_of(name: str) -> pd.Series:
        table = tables[name]
        return table[table["level"] == "district"].set_index("unit")["staff"].astype(float)

    # rounded: a district's staff is a sum of fractions of FTE, so an unchanged one may differ
    # in the last digit
    staff = staff_of(scenario).sub(staff_of("baseline"), fill_value=0.0).round(6)
    cost = recommendation_cost(sites, staff[staff != 0], site_cost_yuan=funding.site_cost_yuan,
                               staff_cost_yuan_per_year=funding.staff_cost_yuan_per_year)
    return cost.assign(scenario=scenario)[["scenario", *cost.columns]]


def scenario_costs(model: ScenarioModel, scenarios: Mapping[str, list[Edit]],
                   tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Return :func:`scenario_cost` of each scenario, by name.

    ``scenarios``: name → edits; ``tables``: the evaluated tables, ``baseline`` and one per
    scenario, by the same names.
    """
    return {name: scenario_cost(model, list(edits), tables, scenario=name)
            for name, edits in scenarios.items()}


def cost_columns(rows: pd.DataFrame, costs: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Return each row's scenario cost (:data:`COMPARISON_COST_COLUMNS`), on ``rows``' index.

    Parameters
    ----------
    rows
        Rows of a scenario comparison: ``scenario``, ``level`` (``city`` or ``district``) and
        ``unit`` (the district's name, or :data:`coverage.reference.CITY`).
    costs
        Scenario name → its :func:`scenario_cost` table. A scenario without one is the
        reference (the baseline): it costs nothing.

    Returns
    -------
    pandas.DataFrame
        The city's cost on the city's rows, a district's on its rows; 0 for a district the
        scenario does not change. ``new_sites`` whole numbers, the rest floats.
    """
    parts = [pd.DataFrame(c).assign(scenario=name) for name, c in costs.items()]
    keys = ["scenario", "level", "unit"]
    columns = list(COMPARISON_COST_COLUMNS)
    if parts:
        table = pd.concat(parts, ignore_index=True).rename(columns={"district": "unit"})
        table = table.assign(unit=table["unit"].astype(str))[[*keys, *columns]]
    else:
        table = pd.DataFrame(columns=[*keys, *columns])
    looked_up = rows[keys].astype({"unit": str}).merge(table, on=keys, how="left")
    out = looked_up[columns].fillna(0.0).set_axis(rows.index)
    return out.astype({"new_sites": np.int64, **{c: float for c in columns[1:]}})
