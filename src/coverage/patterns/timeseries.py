"""Trend statistics of rows of time series (units × quarters), vectorized over the rows.

:func:`theil_sen` fits a robust line to each row and :func:`mann_kendall` tests each row for a
monotonic trend; :mod:`coverage.patterns.trends` uses them on arrivals per quarter and on the
z-scores of emerging hot spots.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["mann_kendall", "theil_sen"]


def _pairs(t: int) -> tuple[np.ndarray, np.ndarray]:
    i, j = np.triu_indices(t, k=1)
    return i, j


def theil_sen(series: np.ndarray | pd.DataFrame) -> pd.DataFrame:
    r"""Theil–Sen line of every row against time 0, 1, ..., T−1.

    The slope is the median of the :math:`T(T-1)/2` pairwise slopes
    :math:`(y_j - y_i)/(j - i)`; the intercept is
    :math:`\operatorname{median}(y) - b\,\operatorname{median}(t)` (Conover's, as
    ``scipy.stats.theilslopes``). It tolerates up to 29 % of wild quarters
    (breakdown point :math:`1 - 1/\sqrt2`) and is unbiased for a linear trend.

    Returns
    -------
    pandas.DataFrame
        ``slope`` and ``intercept`` per row (on the frame's index for a DataFrame).
    """
    y = np.asarray(series, dtype=np.float64)
    if y.ndim != 2 or y.shape[1] < 2:
        msg = f"theil_sen needs a 2-D array with at least 2 time steps, got shape {y.shape}"
        raise ValueError(msg)
    i, j = _pairs(y.shape[1])
    slopes = (y[:, j] - y[:, i]) / (j - i)
    b = np.median(slopes, axis=1)
    a = np.median(y, axis=1) - b * np.median(np.arange(y.shape[1]))
    index = series.index if isinstance(series, pd.DataFrame) else None
    return pd.DataFrame({"slope": b, "intercept": a}, index=index)


def mann_kendall(series: np.ndarray | pd.DataFrame) -> pd.DataFrame:
    r"""Mann–Kendall trend test of every row (vectorized over rows).

    :math:`S = \sum_{i<j} \operatorname{sign}(y_j - y_i)`, with variance corrected for ties
    :math:`\operatorname{Var}S = [n(n-1)(2n+5) - \sum_g t_g(t_g-1)(2t_g+5)]/18` and
    :math:`z = (S - \operatorname{sign} S)/\sqrt{\operatorname{Var} S}` (continuity
    correction); the p-value is two-sided from the normal distribution. ``tau`` is
    :math:`S / (n(n-1)/2)` (Kendall's tau-a).

    Returns
    -------
    pandas.DataFrame
        ``s``, ``var_s``, ``z``, ``p_value`` and ``tau`` per row (p = 1 for a constant row).
    """
    y = np.asarray(series, dtype=np.float64)
    if y.ndim != 2 or y.shape[1] < 3:
        msg = f"mann_kendall needs a 2-D array with at least 3 time steps, got shape {y.shape}"
        raise ValueError(msg)
    n = y.shape[1]
    i, j = _pairs(n)
    s = np.sign(y[:, j] - y[:, i]).sum(axis=1)
    srt = np.sort(y, axis=1)
    new = np.ones_like(srt, dtype=bool)
    new[:, 1:] = srt[:, 1:] != srt[:, :-1]
    run_id = np.cumsum(new.ravel()) - 1  # runs of equal values, numbered across all rows
    sizes = np.bincount(run_id).astype(np.float64)
    run_row = np.repeat(np.arange(len(y)), new.sum(axis=1))
    ties = np.bincount(run_row, weights=sizes * (sizes - 1) * (2 * sizes + 5),
                       minlength=len(y))
    var = (n * (n - 1) * (2 * n + 5) - ties) / 18.0
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(var > 0, (s - np.sign(s)) / np.sqrt(np.where(var > 0, var, 1.0)), 0.0)
    p = 2.0 * stats.norm.sf(np.abs(z))
    index = series.index if isinstance(series, pd.DataFrame) else None
    return pd.DataFrame({"s": s, "var_s": var, "z": z, "p_value": p, "tau": s / (n * (n - 1) / 2)},
                        index=index)
