"""Funding: the migrants' family-planning budget against the registered residents' standard.

The plan: "流动人口计划生育工作所需经费纳入财政预算，并实现与户籍人口同等标准投入" and
"按照与户籍人口同等投入标准…确定流动人口计划生育基本公共服务项目和开支". From the
``budgets`` layer (one row per district and year) and the people of each district
(``district_summary``), :func:`funding_table` gives per district and for the city:

* ``funding_registered_per_capita`` = budget for registered residents / registered residents;
* ``funding_migrant_per_capita`` = budget for migrants / migrants;
* ``funding_gap_per_capita`` = registered − migrant per capita (positive: migrants receive less);
* ``funding_standard_per_capita``: the standard of ``[parameters.funding] standard``;
* ``funding_migrant_at_standard_yuan`` = standard × migrants;
* ``funding_needed_yuan`` = standard × migrants − budget for migrants, at least 0: what the
  budget for migrants lacks to reach the standard.

:func:`recommendation_cost` prices a recommendation: its new service points at a one-off unit
cost and its new staff at a cost a year. Yuan throughout; a per-capita figure is empty (NaN)
for a unit without people.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from coverage.reference import CITY

__all__ = ["FUNDING_COLUMNS", "budget_year", "funding_table", "recommendation_cost"]

FUNDING_COLUMNS = ("level", "district", "funding_year", "migrants", "registered_pop",
                   "funding_registered_yuan", "funding_migrant_yuan",
                   "funding_registered_per_capita", "funding_migrant_per_capita",
                   "funding_gap_per_capita", "funding_standard_per_capita",
                   "funding_migrant_at_standard_yuan", "funding_needed_yuan")
"""Columns of the ``funding`` layer, in order."""


def budget_year(budgets: pd.DataFrame, year: int | None = None) -> int:
    """Return the budget year compared: ``year`` when given, else the latest of the layer.

    Raises
    ------
    ValueError
        When the layer holds no row of ``year``, or no year at all.
    """
    years = pd.to_numeric(budgets["year"], errors="coerce").dropna()
    if not len(years):
        msg = "the budgets layer holds no year"
        raise ValueError(msg)
    if year is None:
        return int(years.max())
    if not (years == year).any():
        msg = f"the budgets layer holds no row of the year {year}"
        raise ValueError(msg)
    return int(year)


def _per_capita(yuan: np.ndarray, people: np.ndarray) -> np.ndarray:
    """Yuan per person; NaN where there is nobody."""
    return np.divide(yuan, people, out=np.full(len(yuan), np.nan), where=people > 0)


def _year_budgets(budgets: pd.DataFrame, year: int,
                  names: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the budgets for registered residents and for migrants of ``year`` per district.

    In the order of ``names``; NaN for a district without a row of the year.
    """
    rows = budgets[pd.to_numeric(budgets["year"], errors="coerce") == year]
    by_district = rows.assign(district=rows["district"].astype(str).str.strip()).groupby(
        "district")[["budget_registered", "budget_migrant"]].sum(min_count=1).reindex(names)
    return (by_district["budget_registered"].to_numpy(float),
            by_district["budget_migrant"].to_numpy(float))


def funding_table(
    budgets: pd.DataFrame,
    districts: pd.DataFrame,
    *,
    standard: str | float = "district_registered_per_capita",
    year: int | None = None,
) -> pd.DataFrame:
    """Return the ``funding`` layer: per-capita funding, gap and budget needed per district.

    Parameters
    ----------
    budgets
        The ``budgets`` layer: ``district``, ``year``, ``budget_registered``,
        ``budget_migrant`` (yuan).
    districts
        ``district_summary`` (or any table with ``level``, ``district``, ``migrants`` and
        ``registered_pop``); its district rows, in their order, make the layer's.
    standard
        ``district_registered_per_capita`` (each district's own budget per registered
        resident), ``city_registered_per_capita`` (the city's) or yuan per person per year.
    year
        The budget year (default the latest of ``budgets``, :func:`budget_year`).

    Returns
    -------
    pandas.DataFrame
        :data:`FUNDING_COLUMNS`: one row per district, then the city's (``level`` ``city``,
        district ``全市``). A district without a budget row of the year has empty funding
        figures; the city row adds up the districts that have one, and its standard is the
        migrants' mean of the districts' standards (so that its ``funding_needed_yuan`` is the
        sum of theirs).
    """
    chosen = budget_year(budgets, year)
    units = districts[districts["level"] == "district"]
    names = units["district"].astype(str).to_numpy()
    reg_yuan, mig_yuan = _year_budgets(budgets, chosen, names)
    migrants = units["migrants"].to_numpy(float)
    registered = units["registered_pop"].to_numpy(float)
    reg_pc = _per_capita(reg_yuan, registered)
    has = ~np.isnan(reg_yuan) & ~np.isnan(mig_yuan)
    city_mig, city_people_m = mig_yuan[has].sum(), migrants[has].sum()
    city_people_r = registered[has].sum()
    city_reg_pc = reg_yuan[has].sum() / city_people_r if city_people_r > 0 else np.nan
    if standard == "district_registered_per_capita":
        std = reg_pc
    elif standard == "city_registered_per_capita":
        std = np.where(has, city_reg_pc, np.nan)
    else:
        std = np.where(has, float(standard), np.nan)
    at_standard = std * migrants
    needed = np.maximum(at_standard - mig_yuan, 0.0)
    # a district without migrants needs nothing, whatever its standard
    needed = np.where(has & (migrants == 0), 0.0, needed)
    at_standard = np.where(has & (migrants == 0), 0.0, at_standard)
    table = pd.DataFrame({
        "level": "district", "district": names, "funding_year": chosen,
        "migrants": units["migrants"].to_numpy(), "registered_pop": units["registered_pop"]
        .to_numpy(), "funding_registered_yuan": reg_yuan, "funding_migrant_yuan": mig_yuan,
        "funding_registered_per_capita": reg_pc,
        "funding_migrant_per_capita": _per_capita(mig_yuan, migrants),
        "funding_standard_per_capita": std,
        "funding_migrant_at_standard_yuan": at_standard, "funding_needed_yuan": needed})
    city = table[has].drop(columns=["level", "district"]).sum(min_count=1)
    city[["migrants", "registered_pop"]] = city[["migrants", "registered_pop"]].fillna(0)
    city["funding_registered_per_capita"] = city_reg_pc
    city["funding_migrant_per_capita"] = (city_mig / city_people_m if city_people_m > 0
                                          else np.nan)
    city["funding_standard_per_capita"] = (city["funding_migrant_at_standard_yuan"]
                                           / city_people_m if city_people_m > 0 else np.nan)
    city["funding_year"] = chosen
    table = pd.concat([table, city.to_frame().T.assign(level="city", district=CITY)],
                      ignore_index=True)
    table["funding_gap_per_capita"] = (table["funding_registered_per_capita"]
                                       - table["funding_migrant_per_capita"])
    numbers = [c for c in FUNDING_COLUMNS if c.startswith("funding_") and c != "funding_year"]
    table[numbers] = table[numbers].astype(float)
    table = table.astype({"funding_year": np.int64, "migrants": np.int64,
                          "registered_pop": np.int64})
    return table[list(FUNDING_COLUMNS)]


def recommendation_cost(
    new_sites: pd.Series,
    new_staff: pd.Series,
    *,
    site_cost_yuan: float,
    staff_cost_yuan_per_year: float,
) -> pd.DataFrame:
    """Return what a recommendation costs, per district and for the city.

    Parameters
    ----------
    new_sites
        District → new service points it gets.
    new_staff
        District → staff (FTE) it gains; negative where staff move away (their cost goes
        with them).
    site_cost_yuan
        Cost of one new service point (one-off), yuan.
    staff_cost_yuan_per_year
        Cost of one member of staff a year, yuan.

    Returns
    -------
    pandas.DataFrame
        ``level``, ``district``, ``new_sites``, ``new_staff``, ``site_cost_yuan``,
        ``staff_cost_yuan_per_year`` (the unit costs), ``cost_sites_yuan`` (new sites × site
        cost), ``cost_staff_yuan_per_year`` (new staff × staff cost) and
        ``budget_needed_yuan`` (the first year's: both added); one row per district named in
        either series (sorted), then the city's, which adds them up.
    """
    names = sorted(set(map(str, new_sites.index)) | set(map(str, new_staff.index)))
    sites = new_sites.groupby(new_sites.index.astype(str)).sum().reindex(names, fill_value=0)
    staff = new_staff.groupby(new_staff.index.astype(str)).sum().reindex(names, fill_value=0.0)
    table = pd.DataFrame({
        "level": np.r_[np.full(len(names), "district", dtype=object), ["city"]],
        "district": [*names, CITY],
        "new_sites": np.r_[sites.to_numpy(np.int64), [int(sites.sum())]],
        "new_staff": np.r_[staff.to_numpy(float), [float(staff.sum())]],
    })
    table["site_cost_yuan"] = float(site_cost_yuan)
    table["staff_cost_yuan_per_year"] = float(staff_cost_yuan_per_year)
    table["cost_sites_yuan"] = table["new_sites"] * float(site_cost_yuan)
    table["cost_staff_yuan_per_year"] = table["new_staff"] * float(staff_cost_yuan_per_year)
    table["budget_needed_yuan"] = table["cost_sites_yuan"] + table["cost_staff_yuan_per_year"]
    return table
