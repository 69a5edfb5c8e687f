"""The funding part of a report: budgets per capita, the standard, and a recommendation's cost.

The ``funding`` layer (:mod:`coverage.measures.funding`) is shown in the section on coverage
and staffing of migrants and registered residents; without it that section says why it is not
computed (the ``budgets`` layer is missing, ``run_info``). The ``recommendation_cost`` layer is
shown with the recommendations. Only yuan and yuan per person are shown, as published by
:func:`coverage.publish.tables.publish_funding` (a per-capita figure of a district whose
migrants are suppressed in the published summary is suppressed too).
"""

from __future__ import annotations

import pandas as pd

from coverage.publish.tables import publish_funding
from coverage.report.content import Section, _Context, _not_computed, _table, fmt_value

_FUNDING_COLUMNS = ["unit_name", "funding_registered_per_capita", "funding_migrant_per_capita",
                    "funding_gap_per_capita", "funding_standard_per_capita",
                    "funding_migrant_yuan", "funding_needed_yuan"]
_COST_COLUMNS = ["unit_name", "new_sites", "new_staff", "cost_sites_yuan",
                 "cost_staff_yuan_per_year", "budget_needed_yuan"]


def _scoped(ctx: _Context, frame: pd.DataFrame) -> pd.DataFrame:
    """Return the rows of the report's scope: every district and the city, or one district's."""
    if ctx.district is not None:
        frame = frame[(frame["level"] == "city") | (frame["district"] == ctx.district)]
    out = frame.copy()
    out["unit_name"] = out["district"].where(out["level"] != "city", ctx.t("scope_city"))
    return out


def _funding_part(ctx: _Context, s: Section) -> None:
    """Add the funding paragraphs and table to ``s`` (or why funding is not computed)."""
    t = ctx.t
    funding = ctx.layers.get("funding")
    if funding is None or not len(funding):
        s.paragraphs += _not_computed(ctx, "funding")
        return
    frame = _scoped(ctx, publish_funding(funding, ctx.districts))
    standard = ctx.info.get("funding_standard", "district_registered_per_capita")
    words = (t(f"std_{standard}") if f"std_{standard}" in t.m
             else t("std_yuan", n=standard))
    s.paragraphs.append(t("txt_funding", year=int(frame["funding_year"].iloc[0]),
                          standard=words))
    city = frame[frame["level"] == "city"]
    if len(city):
        row = city.iloc[0]
        s.paragraphs.append(t(
            "txt_funding_city", migrant=fmt_value(row["funding_migrant_per_capita"], "f2", t.lang),
            registered=fmt_value(row["funding_registered_per_capita"], "f2", t.lang),
            needed=fmt_value(row["funding_needed_yuan"], "yuan", t.lang)))
    s.tables.append(_table(t, "funding", frame[_FUNDING_COLUMNS], "funding",
                           labels={"unit_name": t("col_unit")}))


def _cost_part(ctx: _Context, s: Section, cost: pd.DataFrame | None) -> None:
    """Add what the recommendation costs to ``s`` (nothing without the layer)."""
    if cost is None or not len(cost):
        return
    t = ctx.t
    frame = _scoped(ctx, pd.DataFrame(cost))
    if ctx.district is not None and not (frame["district"] == ctx.district).any():
        return  # nothing recommended in the district
    first = frame.iloc[0]
    s.paragraphs.append(t("txt_cost", site=fmt_value(first["site_cost_yuan"], "yuan", t.lang),
                          staff=fmt_value(first["staff_cost_yuan_per_year"], "yuan", t.lang)))
    s.tables.append(_table(t, "cost", frame[_COST_COLUMNS], "recommendation_cost",
                           labels={"unit_name": t("col_unit")}))
