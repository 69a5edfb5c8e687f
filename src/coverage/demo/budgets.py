"""The districts' family-planning budgets of the demo city (``budgets.csv``).

Two budget years (2025 and 2026). Each district spends a drawn amount per registered resident
(25–45 yuan a year) and, per migrant, a drawn share of it (35–80 %): the unequal funding the
plan is written against ("实现与户籍人口同等标准投入"). The first district in name order is
planted the other way round: it funds migrants at 105 % of its
registered residents' standard, so that a district with no funding gap is there to be found.
The 2025 budgets are the 2026 ones less a drawn growth (3–10 %).

The file is GB18030 (as Chinese Excel saves plain CSV), with Chinese headers, like ``sites.csv``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from coverage.io.schema import BUDGETS

__all__ = ["BUDGETS_HEADERS", "BUDGET_YEARS", "make_budgets", "write_budgets"]

BUDGET_YEARS = (2025, 2026)
"""The demo's budget years."""
BUDGETS_HEADERS = {c.name: c.aliases[0] for c in BUDGETS.columns}
"""Header written for each budget column: its first (Chinese) alias."""


def make_budgets(
    district_of_community: NDArray[np.str_],
    registered_pop: NDArray[np.int64],
    migrant_community: NDArray[np.int64],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Draw the budgets of every district for :data:`BUDGET_YEARS`.

    Parameters
    ----------
    district_of_community
        District name of each community.
    registered_pop
        Registered residents of each community.
    migrant_community
        Community index of each migrant.
    rng
        The random generator (the same seed gives the same budgets).

    Returns
    -------
    pandas.DataFrame
        ``district``, ``year``, ``budget_registered``, ``budget_migrant`` (whole yuan), by
        year then district name.
    """
    names, code = np.unique(district_of_community, return_inverse=True)
    registered = np.bincount(code, weights=registered_pop.astype(float), minlength=len(names))
    migrants = np.bincount(code[migrant_community], minlength=len(names)).astype(float)
    per_registered = rng.uniform(25.0, 45.0, len(names))
    share = rng.uniform(0.35, 0.80, len(names))
    share[0] = 1.05  # planted: one district funds migrants above its registered standard
    growth = rng.uniform(0.03, 0.10, len(names))
    rows = []
    for year, scale in zip(BUDGET_YEARS, (1.0 / (1.0 + growth), np.ones(len(names))),
                           strict=True):
        rows.append(pd.DataFrame({
            "district": names.astype(object),
            "year": year,
            "budget_registered": np.round(registered * per_registered * scale).astype(np.int64),
            "budget_migrant": np.round(migrants * per_registered * share * scale).astype(
                np.int64),
        }))
    return pd.concat(rows, ignore_index=True)


def write_budgets(path: Path, budgets: pd.DataFrame) -> None:
    """Write ``budgets.csv`` (GB18030, Chinese headers, CRLF line ends)."""
    frame = budgets.rename(columns=BUDGETS_HEADERS)
    frame.to_csv(path, index=False, encoding="gb18030", lineterminator="\r\n")
