"""Hot spots of unmet demand: Getis–Ord :math:`G_i^*` on hexagons with permutation inference.

Steps of :func:`hot_spots`:

1. count migrants and migrants with poor access (:func:`~coverage.patterns.underserved.poor_access`)
   in the hexagons of a metric grid (:mod:`coverage.patterns.grid`; cells holding nobody are left
   out, so the study area is where migrants live);
2. compute :math:`G_i^*` of the unmet-demand count with binary contiguity weights that include
   the cell itself (:func:`gi_star`);
3. test each cell by **conditional permutation** (the cell's own value fixed, its neighbours
   drawn at random from the other cells; 9,999 draws by default) and correct the pseudo
   p-values for multiple testing with the **Benjamini–Hochberg false-discovery rate**
   (:func:`fdr_threshold`);
4. classify each cell as a hot or cold spot at 99, 95 or 90 % confidence (:func:`classify`),
   the ``Gi_Bin`` convention of ArcGIS's Hot Spot Analysis (−3 … 3).

:func:`gi_star` reproduces esda's ``G_Local(y, w, transform="B", star=True)`` (statistic and
analytic z-score) and replaces esda's per-cell permutation loop by array operations, so 9,999
permutations of a thousand cells take about a second without numba.

Published tables never hold a count of fewer than ``min_cell`` people: see
:func:`suppress_counts` (primary suppression plus complementary suppression, so that column
totals cannot recover a suppressed cell). The raw :math:`G_i^*` ratio is not published (from it
and the published counts a suppressed count could be solved for); the z-score is rounded to two
decimals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats

from coverage.patterns.grid import (
    DEFAULT_EDGE_M,
    hex_frame,
    hex_keys,
    hex_weights,
    point_cells,
)
from coverage.publish.disclosure import suppression_mask

__all__ = [
    "CONFIDENCE_LEVELS",
    "DEFAULT_PERMUTATIONS",
    "DEFAULT_RINGS",
    "add_cells",
    "classify",
    "fdr_threshold",
    "gi_star",
    "hot_spots",
    "hot_spots_of_cells",
    "suppress_counts",
    "unmet_demand_cells",
]

#: Default number of conditional permutations (smallest two-sided pseudo p-value 0.0002).
DEFAULT_PERMUTATIONS = 9999
#: Default neighbourhood: the cells within two steps (19 cells with the cell itself). One ring of
#: 150 m hexagons (0.4 km²) is too small for Gi* to tell a planted under-served area of 0.07 km²
#: from chance on the small demo city; two rings find both planted areas.
DEFAULT_RINGS = 2
#: Confidence levels of the classes, strongest first (``Gi_Bin`` ±3, ±2, ±1).
CONFIDENCE_LEVELS = (0.99, 0.95, 0.90)
#: Largest number of simulated values held at once by the permutation test.
_CHUNK_CELLS = 1 << 22


class TooFewCellsError(ValueError):
    """Too few hexagons hold migrants to compare neighbourhoods (hot spots need two)."""


def gi_star(
    values: Sequence[float] | np.ndarray | pd.Series,
    weights: sp.sparray | sp.spmatrix,
    *,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int | None = 0,
) -> pd.DataFrame:
    r"""Getis–Ord :math:`G_i^*` with analytic z-scores and conditional-permutation p-values.

    With :math:`x` the values, :math:`w_{ij}` the weights (including :math:`w_{ii}`),
    :math:`n` cells, :math:`\bar x` and :math:`s^2 = \frac1n\sum x_j^2 - \bar x^2`:

    .. math::

        G_i^* = \frac{\sum_j w_{ij} x_j}{\sum_j x_j}, \qquad
        z_i = \frac{\sum_j w_{ij} x_j - \bar x W_i}
                   {s\,\sqrt{(n S_{1i} - W_i^2)/(n-1)}}

    with :math:`W_i = \sum_j w_{ij}` and :math:`S_{1i} = \sum_j w_{ij}^2` (Ord & Getis 1995,
    eq. 14). For binary weights this equals esda's ``G_Local(..., transform="B", star=True)``
    (``Gs`` and ``Zs``).

    **Permutation inference** (as esda's conditional randomisation, vectorized): cell *i* keeps
    its value and weight :math:`w_{ii}`; its neighbours' values are replaced by
    :math:`|N_i|` values drawn without replacement from the other :math:`n-1` cells. The same
    ``permutations`` draws of positions serve every cell (esda's scheme), each shifted past the
    cell itself. The two-sided pseudo p-value is

    .. math:: p_i = \min\Big(1, \frac{2\,(\min(\#\{G^{sim} \ge G\},
                                  \#\{G^{sim} \le G\}) + 1)}{P + 1}\Big).

    Parameters
    ----------
    values
        One value per cell (non-negative for :math:`G^*` to be meaningful).
    weights
        ``n × n`` non-negative sparse weights with the self-weights on the diagonal
        (:func:`~coverage.patterns.grid.hex_weights`).
    permutations
        Number of permutations; 0 skips the test (``p_sim`` is then NaN).
    seed
        Seed of the random generator (the same seed gives the same p-values).

    Returns
    -------
    pandas.DataFrame
        On the index of ``values`` (a RangeIndex for arrays): ``gi_star``, ``z_score``,
        ``p_normal`` (two-sided, from ``z_score``), ``p_sim`` (two-sided pseudo p-value) and
        ``direction`` (+1 when the observed value is in the upper tail of the permutations, −1
        when in the lower; from the z-score without permutations).

    Raises
    ------
    ValueError
        For a weights matrix of the wrong shape, negative weights or values, fewer than two
        cells, or a negative number of permutations.
    """
    index = values.index if isinstance(values, pd.Series) else None
    x = np.asarray(values, dtype=np.float64).ravel()
    w = sp.csr_array(weights)
    _check_gi_inputs(x, w, permutations)
    w.sum_duplicates()
    lag = w @ x
    gi, z = _analytic_gi(x, w, lag)
    p_normal = np.where(np.isfinite(z), 2.0 * stats.norm.sf(np.abs(z)), 1.0)
    direction = np.where(np.nan_to_num(z) >= 0, 1, -1)
    p_sim = np.full(len(x), np.nan)
    if permutations:
        p_sim, direction = _permutation_test(x, w, lag, int(permutations), seed)
    out = pd.DataFrame({"gi_star": gi, "z_score": z, "p_normal": p_normal, "p_sim": p_sim,
                        "direction": direction.astype(np.int64)})
    if index is not None:
        out.index = index
    return out


def _check_gi_inputs(x: np.ndarray, w: sp.csr_array, permutations: int) -> None:
    """Raise when the values, weights or number of permutations cannot give a Gi*."""
    n = len(x)
    if w.shape != (n, n):
        msg = f"weights must be {n} × {n} to match the {n} values, got {w.shape}"
        raise ValueError(msg)
    if n < 2:
        msg = f"Gi* needs at least 2 cells, got {n}"
        raise ValueError(msg)
    if (w.data < 0).any() or not np.isfinite(x).all() or (x < 0).any():
        msg = "Gi* needs finite non-negative values and non-negative weights"
        raise ValueError(msg)
    if int(permutations) != permutations or permutations < 0:
        msg = f"permutations must be a whole number >= 0, got {permutations!r}"
        raise ValueError(msg)


def _analytic_gi(
    x: np.ndarray, w: sp.csr_array, lag: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gi* ratio and analytic z-score of every cell (NaN where undefined); see :func:`gi_star`."""
    n = len(x)
    total = x.sum()
    w_sum = np.asarray(w.sum(axis=1)).ravel()
    s1 = np.asarray(w.multiply(w).sum(axis=1)).ravel()
    mean = total / n
    sd = np.sqrt(max((x**2).sum() / n - mean**2, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        gi = lag / total if total > 0 else np.full(n, np.nan)
        denom = sd * np.sqrt((n * s1 - w_sum**2) / (n - 1))
        z = np.where(denom > 0, (lag - mean * w_sum) / np.where(denom > 0, denom, 1.0), np.nan)
    return gi, z


def _draws(rng: np.random.Generator, permutations: int, k: int, pool: int) -> np.ndarray:
    """``permutations × k`` positions in ``range(pool)``, distinct within each row."""
    if k == 0:
        return np.zeros((permutations, 0), dtype=np.int64)
    if pool < 4 * k:  # small pools: a random ordering of the whole pool per row
        return np.argsort(rng.random((permutations, pool)), axis=1)[:, :k].astype(np.int64)
    ids = rng.integers(0, pool, size=(permutations, k))
    while True:
        srt = np.sort(ids, axis=1)
        dup = (srt[:, 1:] == srt[:, :-1]).any(axis=1)
        if not dup.any():
            return ids
        ids[dup] = rng.integers(0, pool, size=(int(dup.sum()), k))


def _permutation_test(
    x: np.ndarray, w: sp.csr_array, lag: np.ndarray, permutations: int, seed: int | None
) -> tuple[np.ndarray, np.ndarray]:
    n = len(x)
    rows = np.repeat(np.arange(n), np.diff(w.indptr))
    diag = rows == w.indices
    self_w = np.bincount(rows[diag], weights=w.data[diag], minlength=n)
    nb_rows, nb_w = rows[~diag], w.data[~diag]
    card = np.bincount(nb_rows, minlength=n)
    k = int(card.max()) if n else 0
    # Neighbour weights of each cell, left-aligned and padded with zeros: (n, k).
    slot = np.arange(len(nb_rows)) - np.repeat(np.r_[0, np.cumsum(card)[:-1]], card)
    wmat = np.zeros((n, k))
    wmat[nb_rows, slot] = nb_w
    rng = np.random.default_rng(seed)
    ids = _draws(rng, permutations, k, n - 1)
    tol = 1e-9 * max(float(np.abs(lag).max()), 1.0)
    n_ge = np.zeros(n, dtype=np.int64)
    n_le = np.zeros(n, dtype=np.int64)
    step = max(1, _CHUNK_CELLS // max(permutations * max(k, 1), 1))
    for start in range(0, n, step):  # chunks of cells bound the memory, no loop per cell
        cells = np.arange(start, min(start + step, n))
        pos = ids[None, :, :] + (ids[None, :, :] >= cells[:, None, None])  # skip the cell
        sims = (x[pos] * wmat[cells, None, :]).sum(axis=2) + (self_w * x)[cells, None]
        obs = lag[cells, None]
        n_ge[cells] = (sims >= obs - tol).sum(axis=1)
        n_le[cells] = (sims <= obs + tol).sum(axis=1)
    p = np.minimum(1.0, 2.0 * (np.minimum(n_ge, n_le) + 1) / (permutations + 1))
    direction = np.where(n_ge <= n_le, 1, -1)
    return p, direction


def fdr_threshold(p_values: Sequence[float] | np.ndarray, alpha: float) -> float:
    r"""Benjamini–Hochberg cut-off: reject :math:`H_i` when :math:`p_i \le` the returned value.

    With the p-values sorted, :math:`p_{(1)} \le \dots \le p_{(m)}`, the cut-off is the
    largest :math:`p_{(k)}` with :math:`p_{(k)} \le \alpha k / m` (0 when there is none, so
    nothing is rejected). This controls the expected share of false discoveries at
    :math:`\alpha` for independent or positively dependent tests (Benjamini & Hochberg 1995;
    Benjamini & Yekutieli 2001), and the chance of any false discovery at :math:`\alpha` when no
    cell is a real hot spot. NaN p-values are ignored.
    """
    if not 0 < alpha < 1:
        msg = f"alpha must be between 0 and 1, got {alpha!r}"
        raise ValueError(msg)
    p = np.sort(np.asarray(p_values, dtype=np.float64))
    p = p[np.isfinite(p)]
    m = len(p)
    if m == 0:
        return 0.0
    ok = np.flatnonzero(p <= alpha * np.arange(1, m + 1) / m)
    return float(p[ok[-1]]) if len(ok) else 0.0


def classify(
    p_values: np.ndarray | pd.Series,
    direction: np.ndarray | pd.Series,
    *,
    fdr: bool = True,
    levels: Sequence[float] = CONFIDENCE_LEVELS,
) -> pd.DataFrame:
    r"""Hot/cold classes at the given confidence levels.

    A cell is significant at confidence :math:`c` when its p-value is at most
    :math:`1 - c` (``fdr=False``) or at most the Benjamini–Hochberg cut-off
    :func:`fdr_threshold` at :math:`\alpha = 1 - c` over all cells (``fdr=True``).

    Parameters
    ----------
    p_values
        Two-sided p-values.
    direction
        +1 for high values (hot), −1 for low values (cold).
    fdr
        Apply the false-discovery-rate correction.
    levels
        Confidence levels, strongest first.

    Returns
    -------
    pandas.DataFrame
        ``gi_bin`` (±3/±2/±1 for the first/second/third level, 0 when not significant) and
        ``hotspot`` (``"hot_99"``, ``"cold_95"``, ... or ``"not_significant"``), on the index of
        ``p_values`` when it is a Series.
    """
    p = np.asarray(p_values, dtype=np.float64)
    sign = np.where(np.asarray(direction) >= 0, 1, -1)
    level = np.zeros(len(p), dtype=np.int64)
    names = np.full(len(p), "not_significant", dtype=object)
    ranked = list(levels)
    for rank, conf in enumerate(reversed(ranked), start=1):  # weakest first; stronger overwrite
        alpha = 1.0 - conf
        cut = fdr_threshold(p, alpha) if fdr else alpha
        sig = np.isfinite(p) & (p <= cut) & (cut > 0)
        level[sig] = rank
        names[sig & (sign > 0)] = f"hot_{round(conf * 100):d}"
        names[sig & (sign < 0)] = f"cold_{round(conf * 100):d}"
    out = pd.DataFrame({"gi_bin": level * sign, "hotspot": names})
    if isinstance(p_values, pd.Series):
        out.index = p_values.index
    return out


def suppress_counts(
    table: pd.DataFrame,
    columns: Sequence[str],
    *,
    min_cell: int = 10,
    rows_have_totals: bool = False,
) -> pd.DataFrame:
    """Blank counts of fewer than ``min_cell`` people so that totals cannot recover them.

    A thin wrapper of :func:`coverage.publish.disclosure.suppression_mask` with the totals known
    (published elsewhere, never suppressed). **Primary suppression**: every count from 1 to
    ``min_cell − 1`` becomes missing (zeros are kept: they identify nobody). **Complementary
    suppression**: every column (and every row when ``rows_have_totals``, i.e. when the row's
    total is published elsewhere) holding a suppressed count holds at least two, and its
    suppressed counts add up to at least ``min_cell`` people; the smallest published positive
    count is suppressed next (then a zero), repeatedly. So a published total minus the published
    cells never isolates one count and always leaves a group of at least ``min_cell`` people
    (unless the total itself is below ``min_cell``).

    Parameters
    ----------
    table
        The table to publish.
    columns
        Integer count columns to protect (as one block); missing counts count as zero and stay
        missing.
    min_cell
        Smallest count published.
    rows_have_totals
        Also protect row sums (e.g. arrivals per quarter when the stock is published).

    Returns
    -------
    pandas.DataFrame
        A copy with the columns as nullable ``Int64`` and suppressed counts missing.
    """
    cols = list(columns)
    out = table.copy()
    if not cols or len(out) == 0:
        for c in cols:
            out[c] = pd.array(out[c], dtype="Int64")
        return out
    values = out[cols].to_numpy(dtype=np.float64)
    values = np.rint(np.where(np.isfinite(values), values, 0.0)).astype(np.int64)
    hidden = suppression_mask(values, min_cell=min_cell, row_totals=rows_have_totals,
                              column_totals=True, totals_known=True)[:-1, :-1]
    for j, c in enumerate(cols):
        col = pd.array(values[:, j], dtype="Int64")
        col[hidden[:, j]] = pd.NA
        missing = table[c].isna().to_numpy()
        col[missing] = pd.NA
        out[c] = col
    return out


def unmet_demand_cells(
    migrants: gpd.GeoDataFrame | gpd.GeoSeries,
    poor: pd.Series | np.ndarray,
    *,
    edge_m: float = DEFAULT_EDGE_M,
) -> pd.DataFrame:
    """Count migrants and migrants with poor access in the hexagons they live in.

    Parameters
    ----------
    migrants
        Residence points in a metric CRS (the study CRS). Missing points are left out.
    poor
        True for migrants with poor access, aligned with ``migrants`` by position.
    edge_m
        Hexagon side (m), see :mod:`coverage.patterns.grid`.

    Returns
    -------
    pandas.DataFrame
        One row per hexagon holding at least one migrant, sorted by cell: ``hex_q``, ``hex_r``,
        ``migrants`` and ``unmet`` (migrants with poor access).
    """
    geo = migrants.geometry if isinstance(migrants, gpd.GeoDataFrame) else migrants
    poor = np.asarray(poor, dtype=bool)
    if len(poor) != len(geo):
        msg = f"poor has {len(poor)} values for {len(geo)} migrants; align them by position"
        raise ValueError(msg)
    cell, q, r, count = point_cells(geo, edge_m=edge_m)
    ok = cell >= 0
    return pd.DataFrame({
        "hex_q": q,
        "hex_r": r,
        "migrants": count,
        "unmet": np.bincount(cell[ok], weights=poor[ok], minlength=len(q)).astype(np.int64),
    })


def hot_spots(
    migrants: gpd.GeoDataFrame,
    poor: pd.Series | np.ndarray,
    *,
    edge_m: float = DEFAULT_EDGE_M,
    rings: int = DEFAULT_RINGS,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int | None = 0,
    fdr: bool = True,
    min_cell: int = 10,
) -> gpd.GeoDataFrame:
    """Hot and cold spots of unmet demand on a hexagonal grid (the ``hotspots`` layer).

    The value of a hexagon is its number of migrants with poor access (the unmet demand a new
    service point or more staff would meet); :func:`gi_star` tests whether a hexagon and its
    ``rings`` of neighbours hold more (hot) or less (cold) of it than random rearrangements of
    the hexagons would; :func:`classify` applies the false-discovery-rate correction and the
    99/95/90 % classes. Column documentation: ``docs/patterns.md``.

    Parameters
    ----------
    migrants
        Migrants with residence points in the study CRS.
    poor
        True for migrants with poor access (:func:`coverage.patterns.poor_access`), by position.
    edge_m
        Hexagon side (m).
    rings
        Neighbourhood of a hexagon: the cells within this many steps, and itself.
    permutations
        Conditional permutations per hexagon.
    seed
        Random seed of the permutations.
    fdr
        Correct the p-values with the Benjamini–Hochberg false-discovery rate.
    min_cell
        Counts below this are suppressed (:func:`suppress_counts`).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per hexagon holding migrants, in the study CRS: ``hex_id``, ``hex_q``,
        ``hex_r``, ``migrants``, ``unmet`` (suppressed below ``min_cell``), ``z_score``
        (rounded to 0.01), ``p_value`` (two-sided pseudo p-value), ``gi_bin``, ``hotspot``,
        ``neighbours`` (cells in the neighbourhood, itself included) and the hexagon polygon.
        ``attrs`` records the method and parameters.
    """
    cells = unmet_demand_cells(migrants, poor, edge_m=edge_m)
    return hot_spots_of_cells(cells, crs=migrants.crs, edge_m=edge_m, rings=rings,
                              permutations=permutations, seed=seed, fdr=fdr, min_cell=min_cell)


def add_cells(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Add up the hexagon counts of parts of the migrants (:func:`unmet_demand_cells`).

    Sorted by cell as :func:`unmet_demand_cells` sorts them (by
    :func:`coverage.patterns.grid.hex_keys`).
    """
    table = pd.concat(parts, ignore_index=True)
    keys = hex_keys(table["hex_q"].to_numpy(), table["hex_r"].to_numpy())
    summed = table.groupby(keys, sort=True).agg(hex_q=("hex_q", "first"),
                                                hex_r=("hex_r", "first"),
                                                migrants=("migrants", "sum"),
                                                unmet=("unmet", "sum"))
    return summed.reset_index(drop=True)


def hot_spots_of_cells(
    cells: pd.DataFrame,
    *,
    crs: object,
    edge_m: float = DEFAULT_EDGE_M,
    rings: int = DEFAULT_RINGS,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int | None = 0,
    fdr: bool = True,
    min_cell: int = 10,
) -> gpd.GeoDataFrame:
    """Return :func:`hot_spots` from the hexagon counts (:func:`unmet_demand_cells`).

    ``crs``: the study CRS the hexagons are drawn in; the other parameters as for
    :func:`hot_spots`.
    """
    if len(cells) < 2:
        msg = (f"hot spots need migrants in at least 2 hexagons of {edge_m:g} m; they live in "
               f"{len(cells)}")
        raise TooFewCellsError(msg)
    q, r = cells["hex_q"].to_numpy(), cells["hex_r"].to_numpy()
    w = hex_weights(q, r, rings=rings)
    stat = gi_star(cells["unmet"].to_numpy(float), w, permutations=permutations, seed=seed)
    p = stat["p_sim"] if permutations else stat["p_normal"]
    classes = classify(p.to_numpy(), stat["direction"].to_numpy(), fdr=fdr)
    out = _hotspot_layer(cells, w, stat["z_score"], p, classes, edge_m=edge_m,
                         min_cell=min_cell, crs=crs)
    out.attrs.update({
        "method": "Getis-Ord Gi* (binary weights incl. self), conditional permutations, "
                  + ("Benjamini-Hochberg FDR" if fdr else "no multiple-testing correction"),
        "edge_m": float(edge_m), "rings": int(rings), "permutations": int(permutations),
        "seed": seed, "min_cell": int(min_cell),
    })
    return out


def _hotspot_layer(
    cells: pd.DataFrame,
    w: sp.csr_array,
    z_score: pd.Series,
    p: pd.Series,
    classes: pd.DataFrame,
    *,
    edge_m: float,
    min_cell: int,
    crs: Any,
) -> gpd.GeoDataFrame:
    """Make the published hexagons: suppressed counts, rounded z-scores, classes, polygons."""
    q, r = cells["hex_q"].to_numpy(), cells["hex_r"].to_numpy()
    frame = hex_frame(q, r, edge_m=edge_m, crs=crs)
    published = suppress_counts(cells[["migrants", "unmet"]], ["migrants", "unmet"],
                                min_cell=min_cell)
    return gpd.GeoDataFrame(
        {
            "hex_id": frame["hex_id"].to_numpy(),
            "hex_q": q,
            "hex_r": r,
            "migrants": published["migrants"].array,
            "unmet": published["unmet"].array,
            "z_score": np.round(z_score.to_numpy(), 2),
            "p_value": p.to_numpy(),
            "gi_bin": classes["gi_bin"].to_numpy(),
            "hotspot": classes["hotspot"].to_numpy(),
            "neighbours": np.diff(w.indptr).astype(np.int64),
        },
        geometry=frame.geometry.to_numpy(), crs=crs,
    )
