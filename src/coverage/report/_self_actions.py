"""The actions a run recommends for one district, in its self-assessment.

Its new service points (where, with how many staff, how many migrants they newly reach within
the threshold, published with small counts withheld), the staff added to or moved from its
service points, and what that costs (``recommendation_cost``), as one sentence each and as
tables. The rows are the district's own (:class:`coverage.engine.quarter.DistrictQuarter`).
"""

from __future__ import annotations

import re

import pandas as pd

from coverage.cartography import site_places
from coverage.engine.quarter import DistrictQuarter
from coverage.maps import safe_link
from coverage.report._recommend import _staff_places
from coverage.report.content import Section, _n, _table, _Text, fmt_value

__all__ = ["actions_section"]

_NEWLY = re.compile(r"migrants_newly_within_(\d+(?:\.\d+)?)min")


def _sites(t: _Text, s: Section, sites: pd.DataFrame) -> None:
    """Add the district's new service points: one sentence each and their table."""
    frame = sites.copy()
    frame["place"] = site_places(frame, lang=t.lang).to_numpy()
    newly = next((c for c in frame.columns if _NEWLY.fullmatch(c)), None)
    for k in range(len(frame)):
        row = frame.iloc[k]
        link = safe_link(row.get("map_link"))
        if link:
            s.links[len(s.bullets)] = link
        count = row[newly] if newly else None
        if count is None or pd.isna(count):
            s.bullets.append(t("act_site_suppressed", place=row["place"],
                               staff=f"{row['staff']:g}"))
        else:
            s.bullets.append(t("act_site", place=row["place"], staff=f"{row['staff']:g}",
                               n=_n(count), t=_NEWLY.fullmatch(newly)[1]))
    columns = ["rank", "place", "staff", *([newly] if newly else []),
               *(c for c in ("map_link",) if c in frame)]
    if "map_link" in frame:
        frame["map_link"] = frame["map_link"].map(safe_link)
    s.tables.append(_table(t, "new_sites", frame[columns], "recommended_sites"))


def _staff(t: _Text, s: Section, staff: pd.DataFrame) -> None:
    """Add the staff added to (or moved from) the district's service points."""
    frame = staff.copy()
    frame["place"] = _staff_places(frame, t.lang).to_numpy()
    for k in range(len(frame)):
        row = frame.iloc[k]
        link = safe_link(row.get("map_link"))
        if link:
            s.links[len(s.bullets)] = link
        moved = float(row["new_staff"]) < 0
        s.bullets.append(t("act_staff_moved" if moved else "act_staff", place=row["place"],
                           district=row["district"], n=f"{abs(float(row['new_staff'])):g}",
                           before=f"{row['staff_before']:g}", after=f"{row['staff_after']:g}"))
    if "map_link" in frame:
        frame["map_link"] = frame["map_link"].map(safe_link)
    columns = ["site_id", "place", "new_staff", "staff_before", "staff_after",
               *(c for c in ("map_link",) if c in frame)]
    s.tables.append(_table(t, "new_staff", frame[columns], "recommended_staff"))


def _cost(t: _Text, s: Section, cost: pd.DataFrame) -> None:
    """Add what the district's share of the recommendation costs."""
    first = cost.iloc[0]
    columns = ["new_sites", "new_staff", "cost_sites_yuan", "cost_staff_yuan_per_year",
               "budget_needed_yuan"]
    table = _table(t, "cost", cost[columns], "recommendation_cost")
    table.notes.append(t("txt_cost", site=fmt_value(first["site_cost_yuan"], "yuan", t.lang),
                         staff=fmt_value(first["staff_cost_yuan_per_year"], "yuan", t.lang)))
    s.tables.append(table)


def actions_section(t: _Text, part: DistrictQuarter) -> Section:
    """Return the section of the actions the run recommends for the district."""
    s = Section("measures", t("sec_sa_actions"))
    if not part.recommended:
        s.paragraphs.append(t("txt_no_recommend"))
        return s
    sites = part.sites if part.sites is not None else pd.DataFrame()
    staff = part.staff if part.staff is not None else pd.DataFrame()
    cost = part.cost if part.cost is not None else pd.DataFrame()
    if not (len(sites) or len(staff)):
        s.paragraphs.append(t("txt_sa_no_actions", district=part.district))
        return s
    s.paragraphs.append(t("txt_sa_actions"))
    if len(sites):
        _sites(t, s, sites)
    if len(staff):
        _staff(t, s, staff)
    if len(cost):
        _cost(t, s, cost)
    return s
