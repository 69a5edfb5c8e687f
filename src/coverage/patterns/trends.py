r"""Inflow trends and early warning: arrivals per quarter, growth, emerging hot spots, projection.

Steps of :func:`inflow_trends` (one row per community and one per hexagon):

1. :func:`arrivals_by_quarter` counts migrants by the quarter of ``arrived_on`` over the last
   ``quarters`` quarters (12 by default) up to ``through`` (the quarter of the latest arrival);
2. growth: :func:`~coverage.patterns.timeseries.theil_sen` slopes of the arrivals and of
   :math:`\log(1 + \text{arrivals})` (a robust quarterly growth rate), and
   :func:`~coverage.patterns.timeseries.mann_kendall` trend tests;
3. emerging hot spots (:func:`~coverage.patterns.emerging.emerging_hot_spots`): :math:`G_i^*`
   of each quarter's arrivals (:func:`~coverage.patterns.hotspots.gi_star`), then a
   Mann–Kendall test of each unit's z-scores over the quarters, classified with the categories
   of ESRI's *Emerging Hot Spot Analysis* (new, consecutive, intensifying, persistent,
   diminishing, sporadic, oscillating, historical);
4. projection of migrants ``horizon`` quarters ahead (:func:`project_migrants`) and, per
   community, an early-warning flag where the projected people per staff member pass the
   staffing standard.

Data caveat: a register lists the migrants living in the city *now* with their arrival dates;
people who left are gone from it. "Arrivals" are therefore arrivals of today's residents, and
the projection (today's migrants plus projected arrivals) assumes no departures. It is an
upper estimate when people also leave; with departure dates, subtract projected departures.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from coverage.measures.staffing import PER, staffing_of_counts
from coverage.patterns.emerging import emerging_hot_spots
from coverage.patterns.grid import (
    DEFAULT_EDGE_M,
    hex_frame,
    hex_weights,
)
from coverage.patterns.hotspots import DEFAULT_RINGS, fdr_threshold, suppress_counts
from coverage.patterns.inflow_counts import (
    InflowCounts,
    arrival_tables,
    inflow_counts,
    quarter_label,
    quarter_ordinals,
)
from coverage.patterns.timeseries import mann_kendall, theil_sen

__all__ = [
    "DEFAULT_HORIZON",
    "DEFAULT_MIN_GROWTH",
    "DEFAULT_QUARTERS",
    "PROJECTION_METHODS",
    "arrivals_by_quarter",
    "community_weights",
    "inflow_trends",
    "inflow_trends_of_counts",
    "project_migrants",
    "quarter_label",
]

#: Quarters of arrivals analysed (three years).
DEFAULT_QUARTERS = 12
#: Quarters ahead of the projection.
DEFAULT_HORIZON = 4
#: Smallest robust quarterly growth of arrivals for an *emerging* unit (5 % a quarter, i.e.
#: about +22 % a year, several times the typical city-wide growth).
DEFAULT_MIN_GROWTH = 0.05
#: Projection methods of :func:`project_migrants`.
PROJECTION_METHODS = ("theil_sen", "theil_sen_log")


def _ordinal_of(label: str) -> int:
    text = str(label).strip().upper()
    try:
        year, q = text.split("Q")
        year_i, q_i = int(year), int(q)
    except ValueError:
        year_i, q_i = 0, 0
    if not 1 <= q_i <= 4 or year_i < 1970:
        msg = f"through must be a quarter such as '2026Q3', got {label!r}"
        raise ValueError(msg)
    return (year_i - 1970) * 4 + q_i - 1


def arrivals_by_quarter(
    arrived_on: pd.Series | np.ndarray,
    units: pd.Series | np.ndarray,
    *,
    quarters: int = DEFAULT_QUARTERS,
    through: str | None = None,
) -> pd.DataFrame:
    """Count arrivals per unit and quarter.

    Parameters
    ----------
    arrived_on
        Arrival date of each migrant (missing dates are not counted).
    units
        Unit of each migrant (community id, hexagon key, ...), by position; missing units are
        not counted.
    quarters
        Number of quarters, ending with ``through``.
    through
        Last quarter (``"2026Q3"``); default the quarter of the latest arrival. Pass the last
        complete quarter when the data were extracted in the middle of a quarter.

    Returns
    -------
    pandas.DataFrame
        Units (sorted) × quarters (columns labelled ``"2024Q4"`` ..., oldest first), int64
        counts; units with no arrival in the window are rows of zeros only if they appear in
        ``units``. ``attrs["quarters"]`` holds the quarter ordinals.
    """
    if int(quarters) != quarters or quarters < 3:
        msg = f"quarters must be a whole number >= 3 (trend tests need 3 points), got {quarters!r}"
        raise ValueError(msg)
    qo = quarter_ordinals(arrived_on)
    units = pd.Series(np.asarray(units, dtype=object))
    if len(units) != len(qo):
        msg = f"units has {len(units)} values for {len(qo)} arrival dates"
        raise ValueError(msg)
    if through is None:
        if not np.isfinite(qo).any():
            msg = "no arrival dates: cannot count arrivals per quarter"
            raise ValueError(msg)
        last = int(np.nanmax(qo))
    else:
        last = _ordinal_of(through)
    first = last - int(quarters) + 1
    codes, uniques = pd.factorize(units, sort=True, use_na_sentinel=True)
    ok = (codes >= 0) & np.isfinite(qo) & (qo >= first) & (qo <= last)
    col = (qo[ok] - first).astype(np.int64)
    counts = np.zeros((len(uniques), int(quarters)), dtype=np.int64)
    np.add.at(counts, (codes[ok], col), 1)
    ords = np.arange(first, last + 1)
    out = pd.DataFrame(counts, index=pd.Index(uniques, name="unit"),
                       columns=[quarter_label(o) for o in ords])
    out.attrs["quarters"] = ords
    return out


def project_migrants(
    arrivals: pd.DataFrame | np.ndarray,
    stock: pd.Series | np.ndarray,
    *,
    horizon: int = DEFAULT_HORIZON,
    method: str = "theil_sen",
) -> pd.DataFrame:
    r"""Project migrants ``horizon`` quarters ahead: today's stock plus projected arrivals.

    ``theil_sen`` (default) fits a Theil–Sen line to the quarterly arrivals and extends it:
    arrivals in quarter :math:`T-1+h` are :math:`\max(0, a + b(T-1+h))`. It was chosen over
    Holt's linear smoothing because it needs no smoothing constants (which 12 points cannot
    estimate), one registration drive or data-entry backlog in a quarter does not bend it
    (29 % breakdown point; Holt follows the last quarters), and it is exact for a linear
    trend. It is conservative for exponential growth; ``theil_sen_log`` fits the line to
    :math:`\log(1 + \text{arrivals})` instead (a constant growth rate) and projects
    :math:`e^{a + b t} - 1`, which suits planted or real exponential growth but over-projects
    noisy small counts.

    Parameters
    ----------
    arrivals
        Units × quarters (oldest first), e.g. :func:`arrivals_by_quarter`.
    stock
        Migrants living in each unit now (by position).
    horizon
        Quarters ahead.
    method
        ``"theil_sen"`` or ``"theil_sen_log"``.

    Returns
    -------
    pandas.DataFrame
        ``projected_arrivals`` (sum over the horizon) and ``projected_migrants`` (stock plus
        it), on the index of ``arrivals`` for a DataFrame.
    """
    if method not in PROJECTION_METHODS:
        msg = f"method must be one of {', '.join(PROJECTION_METHODS)}; got {method!r}"
        raise ValueError(msg)
    if int(horizon) != horizon or horizon < 1:
        msg = f"horizon must be a whole number of quarters >= 1, got {horizon!r}"
        raise ValueError(msg)
    y = np.asarray(arrivals, dtype=np.float64)
    stock = np.asarray(stock, dtype=np.float64)
    if len(stock) != len(y):
        msg = f"stock has {len(stock)} values for {len(y)} units"
        raise ValueError(msg)
    t_future = y.shape[1] + np.arange(int(horizon))  # times T, T+1, ... (0 = first quarter)
    if method == "theil_sen":
        fit = theil_sen(y)
        future = fit["intercept"].to_numpy()[:, None] + fit["slope"].to_numpy()[:, None] * \
            t_future[None, :]
        future = np.maximum(future, 0.0)
    else:
        fit = theil_sen(np.log1p(y))
        future = np.expm1(fit["intercept"].to_numpy()[:, None]
                          + fit["slope"].to_numpy()[:, None] * t_future[None, :])
        future = np.maximum(future, 0.0)
    added = future.sum(axis=1)
    index = arrivals.index if isinstance(arrivals, pd.DataFrame) else None
    return pd.DataFrame({"projected_arrivals": added, "projected_migrants": stock + added},
                        index=index)


def community_weights(communities: gpd.GeoDataFrame) -> sp.csr_array:
    """Binary contiguity weights (polygons sharing a border or a corner), with self-weights."""
    geo = communities.geometry.reset_index(drop=True)
    left, right = geo.sindex.query(geo.to_numpy(), predicate="intersects")
    n = len(geo)
    return sp.csr_array(sp.coo_array((np.ones(len(left)), (left, right)), shape=(n, n)))


def _growth(arrivals: np.ndarray, min_growth: float, alpha: float) -> pd.DataFrame:
    log_fit = theil_sen(np.log1p(arrivals))
    growth = np.expm1(log_fit["slope"].to_numpy())
    mk = mann_kendall(arrivals)
    last4 = arrivals[:, -4:].sum(axis=1)
    prev4 = arrivals[:, -8:-4].sum(axis=1) if arrivals.shape[1] >= 8 else np.full(len(arrivals),
                                                                                 np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        yoy = np.where(prev4 > 0, last4 / np.where(prev4 > 0, prev4, 1) - 1.0, np.nan)
    p = mk["p_value"].to_numpy()
    cut = fdr_threshold(p, alpha)
    increasing = (p <= cut) & (cut > 0) & (mk["s"].to_numpy() > 0)
    decreasing = (p <= cut) & (cut > 0) & (mk["s"].to_numpy() < 0)
    trend = np.where(increasing, "increasing", np.where(decreasing, "decreasing", "no_trend"))
    return pd.DataFrame({
        "growth_rate": growth,
        "growth_yoy": yoy,
        "trend_tau": mk["tau"].to_numpy(),
        "trend_p": p,
        "trend": trend,
        "emerging": increasing & (growth >= min_growth),
    })


def inflow_trends(
    migrants: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    *,
    sites: pd.DataFrame | None = None,
    standard: str | float = "district_registered_ratio",
    migrants_per_staff: float | None = None,
    quarters: int = DEFAULT_QUARTERS, through: str | None = None,
    horizon: int = DEFAULT_HORIZON, method: str = "theil_sen",
    min_growth: float = DEFAULT_MIN_GROWTH, alpha: float = 0.05,
    edge_m: float = DEFAULT_EDGE_M, rings: int = DEFAULT_RINGS,
    hex_permutations: int = 0, seed: int | None = 0,
    min_cell: int = 10,
) -> gpd.GeoDataFrame:
    r"""Arrivals, growth, emerging hot spots, projections and early warnings (``inflow_trends``).

    Communities and hexagons are two kinds of rows of one table (column ``unit``). For both:
    arrivals per quarter, robust growth and trend, the emerging-hot-spot category and the
    projection. For communities also the staffing view: staff (service-point staff in the
    community plus its family-planning staff,
    :func:`coverage.measures.staffing.community_staffing`), people per staff member now and
    projected, the standard and the early-warning flag.

    A unit is ``emerging`` when its arrivals rise significantly (Mann–Kendall, Benjamini–
    Hochberg FDR at ``alpha`` across the units of its kind) **and** their robust growth rate
    (:math:`e^{b}-1`, ``b`` the Theil–Sen slope of :math:`\log(1+\text{arrivals})`) is at least
    ``min_growth`` per quarter. The early warning fires where the projected people per staff
    member exceed the standard while today's do not (``early_warning``);
    ``over_standard_projected`` marks every community over it at the horizon.

    Parameters
    ----------
    migrants
        Migrants: ``community_id``, ``arrived_on`` and residence points (study CRS).
    communities
        ``community_id``, ``name``, ``district``, ``registered_pop``, ``fp_staff`` and polygons.
    sites
        Service points with ``community_id`` and ``staff`` (None: family-planning staff only).
    standard
        Staffing standard (:func:`coverage.measures.staffing.staffing_standard`): staff per 1,000
        people (migrants and registered residents), by default the district's registered ratio.
    migrants_per_staff
        Use instead a standard of at most this many *migrants* per staff member.
    quarters, through
        Window of quarters (:func:`arrivals_by_quarter`).
    horizon, method
        Projection (:func:`project_migrants`).
    min_growth, alpha
        Emerging rule (growth per quarter; FDR level of the trend test).
    edge_m, rings
        Hexagon grid and Gi* neighbourhood.
    hex_permutations, seed
        Permutations of the per-quarter Gi* (0: normal approximation).
    min_cell
        Counts below this are suppressed (:func:`~coverage.patterns.hotspots.suppress_counts`).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per community, then one per hexagon holding migrants (study CRS); columns in
        ``docs/patterns.md``. ``attrs["quarters"]`` lists the quarter columns.
    """
    _check_migrants_per_staff(migrants_per_staff)
    return inflow_trends_of_counts(
        inflow_counts(migrants, edge_m=edge_m), communities, crs=migrants.crs, sites=sites,
        standard=standard, migrants_per_staff=migrants_per_staff, quarters=quarters,
        through=through, horizon=horizon, method=method, min_growth=min_growth, alpha=alpha,
        rings=rings, hex_permutations=hex_permutations, seed=seed, min_cell=min_cell)


def inflow_trends_of_counts(
    counts: InflowCounts,
    communities: gpd.GeoDataFrame,
    *,
    crs: Any,
    sites: pd.DataFrame | None = None,
    standard: str | float = "district_registered_ratio",
    migrants_per_staff: float | None = None,
    quarters: int = DEFAULT_QUARTERS, through: str | None = None,
    horizon: int = DEFAULT_HORIZON, method: str = "theil_sen",
    min_growth: float = DEFAULT_MIN_GROWTH, alpha: float = 0.05,
    rings: int = DEFAULT_RINGS, hex_permutations: int = 0, seed: int | None = 0,
    min_cell: int = 10,
) -> gpd.GeoDataFrame:
    """Return :func:`inflow_trends` from the counts of migrants and arrivals.

    ``counts``: :func:`coverage.patterns.inflow_counts.inflow_counts` (or the sum of parts'),
    whose hexagon side is used; ``crs``: the study CRS of the hexagons. The other parameters
    as for :func:`inflow_trends`.
    """
    _check_migrants_per_staff(migrants_per_staff)
    edge_m = counts.edge_m
    comm = communities.reset_index(drop=True)
    ctab, htab, cells, labels = _unit_tables(
        counts, comm, quarters=quarters, through=through, rings=rings,
        min_growth=min_growth, alpha=alpha, permutations=hex_permutations, seed=seed,
        horizon=horizon, method=method)
    _add_staffing(ctab, comm, sites, standard=standard,
                  migrants_per_staff=migrants_per_staff)
    out = _publish_layer(ctab, htab, comm, cells, labels, edge_m=edge_m, min_cell=min_cell,
                         crs=crs)
    out.attrs.update({
        "quarters": labels, "horizon": int(horizon), "projection_method": method,
        "min_growth": float(min_growth), "alpha": float(alpha), "edge_m": float(edge_m),
        "rings": int(rings), "min_cell": int(min_cell),
        "standard": _standard_text(standard, migrants_per_staff),
    })
    return out


def _check_migrants_per_staff(migrants_per_staff: float | None) -> None:
    """Raise unless ``migrants_per_staff`` is None or a positive number."""
    if migrants_per_staff is not None and not migrants_per_staff > 0:
        msg = f"migrants_per_staff must be a positive number, got {migrants_per_staff!r}"
        raise ValueError(msg)


def _standard_text(standard: str | float, migrants_per_staff: float | None) -> str:
    """Describe the staffing standard the early warnings were measured against."""
    if migrants_per_staff is not None:
        return f"{migrants_per_staff:g} migrants per staff member"
    return str(standard)


def _unit_tables(
    counts: InflowCounts,
    comm: gpd.GeoDataFrame,
    *,
    quarters: int,
    through: str | None,
    rings: int,
    min_growth: float,
    alpha: float,
    permutations: int,
    seed: int | None,
    horizon: int,
    method: str,
) -> tuple[pd.DataFrame, pd.DataFrame, tuple[np.ndarray, np.ndarray], list[str]]:
    """Count, fit and project the arrivals of every community and every hexagon.

    Returns the communities' table, the hexagons' table, the hexagons' axial coordinates and
    the labels of the quarters (the window of :func:`arrivals_by_quarter`).
    """
    if int(quarters) != quarters or quarters < 3:
        msg = f"quarters must be a whole number >= 3 (trend tests need 3 points), got {quarters!r}"
        raise ValueError(msg)
    if through is None:
        dated = counts.communities["quarter"].to_numpy(float)
        if not np.isfinite(dated).any():
            msg = "no arrival dates: cannot count arrivals per quarter"
            raise ValueError(msg)
        last = int(np.nanmax(dated))
    else:
        last = _ordinal_of(through)
    tables = arrival_tables(counts, comm["community_id"].to_numpy(),
                            first=last - int(quarters) + 1, last=last)
    labels = list(tables.communities.columns)
    hq, hr = tables.hex_q, tables.hex_r
    w_c, w_h = community_weights(comm), hex_weights(hq, hr, rings=rings)
    trend = {"min_growth": min_growth, "alpha": alpha, "permutations": permutations,
             "seed": seed, "horizon": horizon, "method": method}
    ctab = _unit_trends(tables.communities, tables.community_migrants, w_c, labels, **trend)
    htab = _unit_trends(tables.hexagons, tables.hexagon_migrants, w_h, labels, **trend)
    return ctab, htab, (hq, hr), labels


def _unit_trends(
    arr: pd.DataFrame,
    stock: np.ndarray,
    w: sp.csr_array,
    labels: list[str],
    *,
    min_growth: float,
    alpha: float,
    permutations: int,
    seed: int | None,
    horizon: int,
    method: str,
) -> pd.DataFrame:
    """Stock, arrivals, growth, emerging-hot-spot category and projection of one kind of unit."""
    a = arr.to_numpy(dtype=np.float64)
    table = pd.DataFrame({"migrants": stock.astype(np.int64)})
    for k, lab in enumerate(labels):
        table[f"arrivals_{lab}"] = a[:, k].astype(np.int64)
    table = pd.concat([table, _growth(a, min_growth, alpha)], axis=1)
    ehs = emerging_hot_spots(a, w, permutations=permutations, seed=seed)
    table["hotspot_trend"] = ehs["hotspot_trend"].to_numpy()
    table["quarters_hot"] = ehs["quarters_hot"].to_numpy()
    proj = project_migrants(a, stock, horizon=horizon, method=method)
    table["projected_migrants"] = np.rint(proj["projected_migrants"].to_numpy())
    return table


def _add_staffing(
    ctab: pd.DataFrame,
    comm: gpd.GeoDataFrame,
    sites: pd.DataFrame | None,
    *,
    standard: str | float,
    migrants_per_staff: float | None,
) -> None:
    """Add, in place, the communities' staff, people per staff member and early warnings.

    ``ctab``: the communities' table (their ``migrants``, in the order of ``comm``).
    """
    counts = pd.Series(ctab["migrants"].to_numpy(np.int64), index=comm["community_id"])
    staffing = staffing_of_counts(comm, counts, sites if sites is not None else
                                  pd.DataFrame({"community_id": pd.Series(dtype=object),
                                                "staff": pd.Series(dtype=float)}),
                                  standard=standard)
    staff = staffing["staff"].to_numpy(dtype=np.float64)
    reg = staffing["registered_pop"].to_numpy(dtype=np.float64)
    now = ctab["migrants"].to_numpy(dtype=np.float64)
    proj = ctab["projected_migrants"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        if migrants_per_staff is None:
            limit = PER / staffing["staffing_standard"].to_numpy(dtype=np.float64)
            per_now, per_proj = (now + reg) / staff, (proj + reg) / staff
        else:
            limit = np.full(len(ctab), float(migrants_per_staff))
            per_now, per_proj = now / staff, proj / staff
    per_now = np.where(staff > 0, per_now, np.inf)
    per_proj = np.where(staff > 0, per_proj, np.inf)
    over_now = per_now > limit
    over_proj = per_proj > limit
    ctab["staff"] = staff
    ctab["people_per_staff"] = np.where(np.isfinite(per_now), per_now, np.nan)
    ctab["people_per_staff_projected"] = np.where(np.isfinite(per_proj), per_proj, np.nan)
    ctab["standard_people_per_staff"] = limit
    ctab["over_standard_now"] = over_now
    ctab["over_standard_projected"] = over_proj
    ctab["early_warning"] = over_proj & ~over_now
    ctab["staff_needed_projected"] = np.where(
        migrants_per_staff is None, (proj + reg) / limit, proj / limit)


def _community_frame(comm: gpd.GeoDataFrame, crs: Any) -> gpd.GeoDataFrame:
    """Make the community rows: unit columns and polygons, in ``crs``."""
    return gpd.GeoDataFrame(
        {"unit": "community", "unit_id": comm["community_id"].astype(str).to_numpy(),
         "name": comm["name"].astype("string").to_numpy() if "name" in comm else None,
         "district": comm["district"].astype("string").to_numpy() if "district" in comm
         else None},
        geometry=comm.geometry.to_crs(crs).to_numpy() if comm.crs is not None and crs is not None
        else comm.geometry.to_numpy(), crs=crs)


def _hexagon_frame(hq: np.ndarray, hr: np.ndarray, *, edge_m: float, crs: Any) -> gpd.GeoDataFrame:
    """Make the hexagon rows: unit columns and polygons."""
    hframe = hex_frame(hq, hr, edge_m=edge_m, crs=crs)
    return gpd.GeoDataFrame({"unit": "hexagon", "unit_id": hframe["hex_id"].to_numpy(),
                             "name": pd.NA, "district": pd.NA},
                            geometry=hframe.geometry.to_numpy(), crs=crs)


def _publish_units(
    table: pd.DataFrame, frame: gpd.GeoDataFrame, count_cols: list[str], *, min_cell: int
) -> gpd.GeoDataFrame:
    """Suppress the small counts of one kind of unit and join its values to its polygons."""
    crs = frame.crs
    published = suppress_counts(table, count_cols, min_cell=min_cell, rows_have_totals=True)
    # Ratios and fits of a row with a suppressed count could recover it: blank them too.
    hidden = published[count_cols].isna().any(axis=1).to_numpy()
    for c in ("growth_rate", "growth_yoy", "trend_tau", "trend_p", "people_per_staff",
              "people_per_staff_projected", "staff_needed_projected"):
        if c in published:
            published[c] = published[c].astype("Float64").mask(hidden)
    published["projected_migrants"] = pd.array(
        np.where(hidden, np.nan, published["projected_migrants"].to_numpy(np.float64)),
        dtype="Float64").astype("Int64")
    merged = pd.concat([frame.reset_index(drop=True).drop(columns="geometry"),
                        published.reset_index(drop=True)], axis=1)
    return gpd.GeoDataFrame(merged, geometry=frame.geometry.to_numpy(), crs=crs)


def _publish_layer(
    ctab: pd.DataFrame,
    htab: pd.DataFrame,
    comm: gpd.GeoDataFrame,
    cells: tuple[np.ndarray, np.ndarray],
    labels: list[str],
    *,
    edge_m: float,
    min_cell: int,
    crs: Any,
) -> gpd.GeoDataFrame:
    """Publish the communities' table, then the hexagons', with their polygons."""
    count_cols = ["migrants"] + [f"arrivals_{lab}" for lab in labels]
    units = ((ctab, _community_frame(comm, crs)),
             (htab, _hexagon_frame(*cells, edge_m=edge_m, crs=crs)))
    frames = [_publish_units(table, frame, count_cols, min_cell=min_cell) for table, frame in units]
    out = pd.concat(frames, ignore_index=True)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=crs)
    for c in ("staff", "people_per_staff", "people_per_staff_projected",
              "standard_people_per_staff", "staff_needed_projected"):
        out[c] = out[c].astype("Float64")
    for c in ("over_standard_now", "over_standard_projected", "early_warning"):
        out[c] = out[c].astype("boolean")
    return out
