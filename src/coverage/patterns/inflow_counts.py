"""The counts behind the inflow trends: migrants and arrivals per community and hexagon.

:func:`coverage.patterns.trends.inflow_trends` fits trends to arrivals per quarter; the
arrivals are counts, kept here by community and by hexagon and quarter, so that the counts of
parts of a city's migrants add up to the whole's (:func:`add_inflow_counts`) and the trends
of a city computed by parts are the one-process run's (:func:`arrival_tables`).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage.patterns.grid import DEFAULT_EDGE_M, hex_cells, hex_keys

__all__ = ["ArrivalTables", "InflowCounts", "add_inflow_counts", "arrival_tables",
           "inflow_counts", "quarter_label", "quarter_ordinals"]


def quarter_ordinals(dates: pd.Series | np.ndarray) -> np.ndarray:
    """Quarters since 1970Q1 (pandas' quarterly period ordinals; NaN for missing dates)."""
    periods = pd.PeriodIndex(pd.to_datetime(pd.Series(dates)), freq="Q")
    out = periods.asi8.astype(np.float64)
    out[periods.isna()] = np.nan
    return out


def quarter_label(ordinal: int | np.integer) -> str:
    """Return ``"2025Q3"`` for a quarter counted from 1970Q1 = 0."""
    return str(pd.Period(ordinal=int(ordinal), freq="Q"))


@dataclass(frozen=True)
class InflowCounts:
    """Migrants by community and quarter of arrival, and by hexagon and quarter.

    Attributes
    ----------
    communities
        ``unit`` (community id as text; missing for none), ``quarter`` (ordinal, NaN without
        an arrival date) and ``migrants``.
    hexagons
        ``hex_q``, ``hex_r`` (the hexagon of the residence; migrants without a location are
        left out), ``quarter`` and ``migrants``.
    edge_m
        Hexagon side (m).
    """

    communities: pd.DataFrame
    hexagons: pd.DataFrame
    edge_m: float


def inflow_counts(migrants: gpd.GeoDataFrame, *, edge_m: float = DEFAULT_EDGE_M
                  ) -> InflowCounts:
    """Count the migrants by community and quarter of arrival, and by hexagon and quarter."""
    quarter = quarter_ordinals(migrants["arrived_on"])
    unit = migrants["community_id"].astype("string").to_numpy(dtype=object, na_value=None)
    communities = (pd.DataFrame({"unit": unit, "quarter": quarter})
                   .groupby(["unit", "quarter"], dropna=False, sort=True).size()
                   .rename("migrants").reset_index())
    geo = migrants.geometry
    x = geo.x.to_numpy(dtype=np.float64, na_value=np.nan)
    y = geo.y.to_numpy(dtype=np.float64, na_value=np.nan)
    ok = np.isfinite(x) & np.isfinite(y)
    q, r = hex_cells(x[ok], y[ok], edge_m=edge_m)
    hexagons = (pd.DataFrame({"hex_q": q, "hex_r": r, "quarter": quarter[ok]})
                .groupby(["hex_q", "hex_r", "quarter"], dropna=False, sort=True).size()
                .rename("migrants").reset_index())
    return InflowCounts(communities, hexagons, float(edge_m))


def add_inflow_counts(parts: list[InflowCounts]) -> InflowCounts:
    """Add the counts of parts of the migrants (:func:`inflow_counts`) up."""
    def add(tables: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
        table = pd.concat(tables, ignore_index=True)
        return table.groupby(keys, dropna=False, sort=True)["migrants"].sum().reset_index()

    return InflowCounts(add([p.communities for p in parts], ["unit", "quarter"]),
                        add([p.hexagons for p in parts], ["hex_q", "hex_r", "quarter"]),
                        parts[0].edge_m)


@dataclass(frozen=True)
class ArrivalTables:
    """Arrivals per quarter in the window, and migrants, of every community and hexagon.

    Attributes
    ----------
    communities, hexagons
        Units × quarters (columns labelled ``"2024Q4"`` ..., oldest first), int64: the
        communities in the order asked for, the occupied hexagons in the order of
        :func:`coverage.patterns.grid.hex_keys`.
    community_migrants, hexagon_migrants
        Migrants of each (with or without an arrival date).
    hex_q, hex_r
        Axial coordinates of the occupied hexagons.
    """

    communities: pd.DataFrame
    hexagons: pd.DataFrame
    community_migrants: np.ndarray
    hexagon_migrants: np.ndarray
    hex_q: np.ndarray
    hex_r: np.ndarray


def arrival_tables(counts: InflowCounts, community_ids: np.ndarray, *, first: int,
                   last: int) -> ArrivalTables:
    """Return the arrivals of quarters ``first`` … ``last`` (ordinals) of every unit."""
    labels = [quarter_label(o) for o in range(first, last + 1)]
    ids = np.asarray(community_ids).astype(str)
    comm = counts.communities[counts.communities["unit"].notna()]
    c_arr = _window(comm, comm["unit"].astype(str).to_numpy(), ids, first, labels)
    c_stock = comm.groupby(comm["unit"].astype(str))["migrants"].sum().reindex(
        ids, fill_value=0).to_numpy(np.int64)
    hexes = counts.hexagons
    keys = hex_keys(hexes["hex_q"].to_numpy(), hexes["hex_r"].to_numpy())
    occupied, first_row = np.unique(keys, return_index=True)
    h_arr = _window(hexes, keys, occupied, first, labels)
    h_stock = hexes.groupby(keys)["migrants"].sum().reindex(occupied).to_numpy(np.int64)
    h_arr.index = pd.RangeIndex(len(occupied))
    return ArrivalTables(c_arr, h_arr, c_stock, h_stock,
                         hexes["hex_q"].to_numpy()[first_row].astype(np.int64),
                         hexes["hex_r"].to_numpy()[first_row].astype(np.int64))


def _window(table: pd.DataFrame, units: np.ndarray, order: np.ndarray, first: int,
            labels: list[str]) -> pd.DataFrame:
    """Units × quarters of the window, in ``order`` (units without arrivals: zeros)."""
    quarter = table["quarter"].to_numpy(float)
    inside = np.isfinite(quarter) & (quarter >= first) & (quarter < first + len(labels))
    row = pd.Index(order).get_indexer(units[inside])
    out = np.zeros((len(order), len(labels)), dtype=np.int64)
    np.add.at(out, (row, (quarter[inside] - first).astype(np.int64)),
              table["migrants"].to_numpy(np.int64)[inside])
    return pd.DataFrame(out, index=pd.Index(order, name="unit"), columns=labels)
