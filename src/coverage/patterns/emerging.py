"""Emerging hot spots: Gi* of every quarter and a Mann–Kendall test of its z-scores.

:func:`emerging_hot_spots` tests each quarter's values with
:func:`~coverage.patterns.hotspots.gi_star`, tests each unit's z-scores over the quarters for a
trend (:func:`~coverage.patterns.timeseries.mann_kendall`) and names the pattern with the
categories of ESRI's *Emerging Hot Spot Analysis*. :func:`coverage.patterns.inflow_trends`
applies it to the arrivals of communities and hexagons.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coverage.patterns.hotspots import fdr_threshold, gi_star
from coverage.patterns.timeseries import mann_kendall

__all__ = ["emerging_hot_spots"]

_HOT_CLASSES = ("new", "consecutive", "intensifying", "persistent", "diminishing", "sporadic",
                "oscillating", "historical")


def emerging_hot_spots(
    values: pd.DataFrame | np.ndarray,
    weights: sp.sparray | sp.spmatrix,
    *,
    confidence: float = 0.90,
    permutations: int = 0,
    seed: int | None = 0,
    fdr: bool = True,
) -> pd.DataFrame:
    """Emerging hot spots: :math:`G_i^*` per time step and a Mann–Kendall test of its z-scores.

    Each quarter's values are tested with :func:`~coverage.patterns.hotspots.gi_star`
    (normal p-values by default, as ESRI's tool; pass ``permutations`` for pseudo p-values) and
    corrected for the false-discovery rate within the quarter. A unit is *hot* in a quarter
    when significant at ``confidence`` with a positive z-score. The Mann–Kendall test of the
    unit's z-scores over time gives the trend of its intensity. Categories (ESRI, *Emerging Hot
    Spot Analysis*; "90 %" below means at least 90 % of the quarters):

    * ``new``: hot in the last quarter only;
    * ``consecutive``: an unbroken run of at least two hot quarters up to the last, never hot
      before the run, hot in fewer than 90 %;
    * ``intensifying`` / ``persistent`` / ``diminishing``: hot in 90 % of quarters including
      the last, with a significant increasing / no significant / a significant decreasing trend;
    * ``sporadic``: hot in the last quarter and some earlier ones, never cold, hot in fewer
      than 90 %;
    * ``oscillating``: hot in the last quarter, cold in some earlier one, hot in fewer than 90 %;
    * ``historical``: not hot in the last quarter but hot in 90 % of the others;
    * ``none``: no hot-spot pattern (cold-spot patterns are not classified).

    With fewer than two units no quarter can be tested (a hot spot is a unit against its
    neighbours): every unit is ``none`` with ``quarters_hot`` 0 and NaN z-scores.

    ``new``, ``consecutive`` and ``intensifying`` are *emerging* hot spots.

    Parameters
    ----------
    values
        Units × time steps (non-negative).
    weights
        Weights between units with self-weights (:func:`~coverage.patterns.grid.hex_weights`,
        :func:`~coverage.patterns.trends.community_weights`).
    confidence
        Confidence level of a hot quarter and of the trend.
    permutations, seed
        Permutation inference per quarter (0: normal approximation).
    fdr
        Benjamini–Hochberg correction within each quarter.

    Returns
    -------
    pandas.DataFrame
        ``quarters_hot``, ``z_last`` (z-score of the last quarter), ``z_trend_tau``,
        ``z_trend_p`` and ``hotspot_trend`` (category), on the index of ``values``.
    """
    v = np.asarray(values, dtype=np.float64)
    n = v.shape[0]
    index = values.index if isinstance(values, pd.DataFrame) else None
    if n < 2:
        # A hot spot is a unit against its surroundings; with fewer than two units there are
        # none to compare, so no quarter can be tested and no pattern can be named.
        nan = np.full(n, np.nan)
        return pd.DataFrame({"quarters_hot": np.zeros(n, dtype=np.int64), "z_last": nan,
                             "z_trend_tau": nan, "z_trend_p": nan,
                             "hotspot_trend": np.full(n, "none", dtype=object)}, index=index)
    alpha = 1.0 - confidence
    z, hot, cold = _hot_quarters(v, weights, alpha=alpha, permutations=permutations, seed=seed,
                                 fdr=fdr)
    mk = mann_kendall(z)
    trend_sig = mk["p_value"].to_numpy() <= alpha
    up, down = trend_sig & (mk["s"].to_numpy() > 0), trend_sig & (mk["s"].to_numpy() < 0)
    label = _hot_spot_trend(hot, cold, up, down)
    return pd.DataFrame({"quarters_hot": hot.sum(axis=1).astype(np.int64), "z_last": z[:, -1],
                         "z_trend_tau": mk["tau"].to_numpy(), "z_trend_p": mk["p_value"].to_numpy(),
                         "hotspot_trend": label}, index=index)


def _hot_quarters(
    v: np.ndarray,
    weights: sp.sparray | sp.spmatrix,
    *,
    alpha: float,
    permutations: int,
    seed: int | None,
    fdr: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gi* z-score of every unit and quarter, and whether it is a significant hot or cold spot.

    A quarter without arrivals is not tested: its z-scores are 0, no unit hot or cold.
    """
    n, steps = v.shape
    z = np.zeros((n, steps))
    hot = np.zeros((n, steps), dtype=bool)
    cold = np.zeros((n, steps), dtype=bool)
    for k in range(steps):  # one Gi* per quarter (a dozen), vectorized over the units
        if v[:, k].sum() <= 0:
            continue
        g = gi_star(v[:, k], weights, permutations=permutations, seed=seed)
        p = (g["p_sim"] if permutations else g["p_normal"]).to_numpy()
        cut = fdr_threshold(p, alpha) if fdr else alpha
        sig = (p <= cut) & (cut > 0)
        zk = np.nan_to_num(g["z_score"].to_numpy())
        z[:, k] = zk
        up = g["direction"].to_numpy() > 0
        hot[:, k] = sig & up
        cold[:, k] = sig & ~up
    return z, hot, cold


def _hot_spot_trend(
    hot: np.ndarray, cold: np.ndarray, up: np.ndarray, down: np.ndarray
) -> np.ndarray:
    """Category of each unit (:data:`_HOT_CLASSES` or ``none``), see :func:`emerging_hot_spots`.

    ``hot`` and ``cold`` are units × quarters; ``up`` and ``down`` mark units whose z-scores
    rise or fall significantly.
    """
    n, steps = hot.shape
    n_hot = hot.sum(axis=1)
    last = hot[:, -1]
    earlier_hot = hot[:, :-1].any(axis=1)
    mostly = n_hot >= 0.9 * steps
    mostly_before = hot[:, :-1].sum(axis=1) >= 0.9 * (steps - 1)
    # Length of the run of hot quarters that ends with the last quarter.
    not_hot_rev = ~hot[:, ::-1]
    run = np.where(not_hot_rev.any(axis=1), not_hot_rev.argmax(axis=1), steps)
    before_run = np.where(run < steps, hot.sum(axis=1) - run, 0)
    label = np.full(n, "none", dtype=object)
    label[~last & mostly_before & (steps > 1)] = "historical"
    label[last & cold[:, :-1].any(axis=1) & ~mostly] = "oscillating"
    label[last & earlier_hot & ~cold[:, :-1].any(axis=1) & ~mostly] = "sporadic"
    label[last & mostly & ~up & ~down] = "persistent"
    label[last & mostly & down] = "diminishing"
    label[last & mostly & up] = "intensifying"
    label[last & (run >= 2) & (before_run == 0) & ~mostly] = "consecutive"
    label[last & ~earlier_hot] = "new"
    return label
