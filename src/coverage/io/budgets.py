"""Checks of the ``budgets`` layer against the communities and the project's funding settings.

The layer's cells are checked like every layer's (:mod:`coverage.io.columns`: a missing year,
a negative budget ...); these rules need the other layers or the project:

* every district must be a district of the communities layer (``unknown-reference``);
* a district has one row per year (``duplicate-id``);
* the year set in ``[parameters.funding] year`` must be in the layer (``unknown-reference``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from coverage.io.validation import Problems

__all__ = ["check_budgets"]


def check_budgets(
    budgets: pd.DataFrame,
    districts: pd.Series,
    *,
    file: str,
    rows: np.ndarray,
    year: int | None,
    problems: Problems,
) -> pd.DataFrame:
    """Check the budgets' districts and years; add a problem per bad row.

    Parameters
    ----------
    budgets
        The ``budgets`` layer as read (:func:`coverage.io.layers.read_layer`).
    districts
        The ``district`` column of the communities.
    file
        The layer's file as named in messages.
    rows
        The spreadsheet row of each budget row.
    year
        ``[parameters.funding] year`` (``None``: the latest year of the layer is used).
    problems
        Where the problems go.

    Returns
    -------
    pandas.DataFrame
        The layer with its districts as stripped text.
    """
    district = budgets["district"].astype("string").str.strip()
    known = set(districts.astype("string").str.strip().dropna())
    unknown = (district.notna() & ~district.isin(known)).to_numpy(bool)
    names = "、".join(sorted(known)[:10])
    problems.add_rows(file, rows[unknown], "district", "unknown-reference",
                      f"the district is not a district of the communities layer ({names})")
    keyed = district.notna().to_numpy(bool) & budgets["year"].notna().to_numpy(bool)
    pairs = pd.DataFrame({"district": district, "year": budgets["year"]})
    repeat = pairs.duplicated(keep="first").to_numpy(bool) & keyed
    problems.add_rows(file, rows[repeat], "year", "duplicate-id",
                      "a district has one row per year; this row repeats an earlier one")
    if year is not None and budgets["year"].notna().any() and not (budgets["year"] == year).any():
        problems.add(file, None, "year", "unknown-reference",
                     f"no row of the year {year} set in [parameters.funding] year; remove the "
                     "setting to use the latest year of the layer")
    return budgets.assign(district=district)
