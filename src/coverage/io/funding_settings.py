"""``[parameters.funding]`` of the project file: the funding standard and the unit costs.

The plan asks that the family-planning work for migrants be funded from the budget "at the same
standard as for registered residents" (与户籍人口同等标准投入). The standard is the yuan per
person per year the migrants of a district should receive: by default the district's own spend
per registered resident (``district_registered_per_capita``), or the city's
(``city_registered_per_capita``), or a number of yuan. The unit costs price a recommendation:
a new service point (one-off) and a new member of staff (per year). Their defaults are
placeholders, of the order of a community room's fitting-out and of a community worker's
yearly pay: a city sets its own.

:func:`funding_parameters` checks the table; :mod:`coverage.io.project` turns its
:class:`ValueError` into a :class:`~coverage.io.project.ProjectError` naming the file.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_SITE_COST_YUAN", "DEFAULT_STAFF_COST_YUAN_PER_YEAR", "FUNDING_STANDARDS",
           "FundingParameters", "funding_parameters"]

#: Named funding standards: the district's or the city's budget per registered resident.
FUNDING_STANDARDS = ("district_registered_per_capita", "city_registered_per_capita")
#: Placeholder cost of opening one service point (fitting-out and equipment), yuan.
DEFAULT_SITE_COST_YUAN = 200_000.0
#: Placeholder cost of one member of staff (FTE) a year, yuan.
DEFAULT_STAFF_COST_YUAN_PER_YEAR = 60_000.0
_KEYS = ("standard", "year", "site_cost_yuan", "staff_cost_yuan_per_year")
_WHERE = "[parameters.funding]"


@dataclass(frozen=True)
class FundingParameters:
    """How funding is compared and a recommendation priced.

    Attributes
    ----------
    standard
        Yuan per migrant per year to reach: ``district_registered_per_capita`` (default),
        ``city_registered_per_capita`` or a number.
    year
        Budget year compared (``None``: the latest year of the ``budgets`` layer).
    site_cost_yuan
        Cost of one new service point, yuan (one-off).
    staff_cost_yuan_per_year
        Cost of one new member of staff (FTE), yuan a year.
    """

    standard: str | float = "district_registered_per_capita"
    year: int | None = None
    site_cost_yuan: float = DEFAULT_SITE_COST_YUAN
    staff_cost_yuan_per_year: float = DEFAULT_STAFF_COST_YUAN_PER_YEAR


def _cost(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        msg = f"{_WHERE} {key}: {value!r} is not a number of yuan"
        raise ValueError(msg)
    if value < 0:
        msg = f"{_WHERE} {key}: {value!r} must be ≥ 0 yuan"
        raise ValueError(msg)
    return float(value)


def funding_parameters(table: Any) -> FundingParameters:
    """Return ``[parameters.funding]`` checked; the defaults for the keys not given.

    Raises
    ------
    ValueError
        For an unknown key or a bad value; the message starts with where it is.
    """
    if not isinstance(table, dict):
        msg = (f"{_WHERE}: {table!r} must be a table of settings, written as {_WHERE} with "
               "key = value lines below it")
        raise ValueError(msg)
    for key in table:
        if key not in _KEYS:
            close = difflib.get_close_matches(key, _KEYS, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"valid keys: {', '.join(_KEYS)}"
            msg = f"{_WHERE}: unknown key {key!r}; {hint}"
            raise ValueError(msg)
    defaults = FundingParameters()
    standard = table.get("standard", defaults.standard)
    if isinstance(standard, str):
        if standard not in FUNDING_STANDARDS:
            msg = (f"{_WHERE} standard: {standard!r} is not a standard; use one of "
                   f"{', '.join(FUNDING_STANDARDS)} or yuan per person per year as a number")
            raise ValueError(msg)
    else:
        standard = _cost("standard", standard)
    year = table.get("year")
    if year is not None and (isinstance(year, bool) or not isinstance(year, int)
                             or not 1949 <= year <= 2100):
        msg = f"{_WHERE} year: {year!r} must be a year such as 2025"
        raise ValueError(msg)
    return FundingParameters(
        standard=standard, year=year,
        site_cost_yuan=_cost("site_cost_yuan", table.get("site_cost_yuan",
                                                         defaults.site_cost_yuan)),
        staff_cost_yuan_per_year=_cost("staff_cost_yuan_per_year", table.get(
            "staff_cost_yuan_per_year", defaults.staff_cost_yuan_per_year)))
