"""Which district each row of a run belongs to, for the PostGIS store's district-level access.

Every layer table of the PostGIS store has a hidden ``_district`` column beside ``run_id`` and
``_row``: the district whose office may read the row (row-level security, ``docs/store.md``),
or ``NULL`` for a row only the city reads. It is filled when the run is written, from the
run's own layers, by the first rule that gives a row a district:

1. its ``district`` column (or ``home_district`` of a commute corridor: where its migrants
   live), when the value is one of the run's districts (the city's total row, ``全市``, is
   not);
2. its community (``community_id`` or ``home_community_id``) → that community's district in
   the run's ``community_summary``;
3. an indicator's ``level`` and ``unit``: a district's row is that district's, a community's
   row its community's district;
4. its geometry (hexagons, clusters): the district of the community whose boundary holds a
   point of the shape (``point_on_surface``).

A row no rule places (the city's rows, data-quality findings, a shape outside every
community) is the city's only. The column is never part of a layer read back: the catalogue
does not list it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import shapely

__all__ = ["COMMUNITY_LAYER", "PERSON_LAYER", "SCOPE_COLUMN", "SHARED_LAYERS", "layer_access",
           "row_districts"]

SCOPE_COLUMN = "_district"
"""The hidden column of every layer table holding its row's district."""

PERSON_LAYER = "migrant_access"
"""The person-level layer (one row per migrant): writers only, never the city's or a district's
read roles."""

SHARED_LAYERS = frozenset({"run_info"})
"""Layers every coverage role reads whole: the run's settings, no figures of any place."""

COMMUNITY_LAYER = "community_summary"
"""The run's layer whose communities place the other layers' rows in their districts."""
_DISTRICT_COLUMNS = ("district", "home_district")
_COMMUNITY_COLUMNS = ("community_id", "home_community_id")


def layer_access(layer: str) -> str:
    """Return who reads a layer: ``shared``, ``district`` (by row) or ``private`` (writers)."""
    if layer == PERSON_LAYER:
        return "private"
    return "shared" if layer in SHARED_LAYERS else "district"


def _none(values: pd.Series) -> np.ndarray:
    """Return a series as an object array with ``None`` for each missing value."""
    return values.astype(object).where(values.notna(), None).to_numpy()


def _text(values: pd.Series) -> np.ndarray:
    """Return a column as stripped text, ``None`` where missing or empty.

    Whole numbers held as floats (an id column with a gap) read as ``2``, not ``2.0``.
    """
    if pd.api.types.is_float_dtype(values.dtype):
        whole = values.dropna()
        if np.isfinite(whole).all() and (whole == whole.round()).all():
            values = values.astype("Int64")
    text = values.astype("string").str.strip()
    return _none(text.mask(text == ""))


def _lookup(keys: np.ndarray, table: Mapping[str, str]) -> np.ndarray:
    """Return ``table[key]`` for each key (``None`` for a missing or unknown key)."""
    return _none(pd.Series(keys, dtype=object).map(table))


def _known(values: np.ndarray, districts: frozenset[str] | None) -> np.ndarray:
    """Return ``values`` with anything that is not one of the run's districts as ``None``."""
    if districts is None:
        return values
    keep = pd.Series(values, dtype=object).isin(list(districts)).to_numpy()
    return np.where(keep, values, None)


class _Run:
    """The run's districts and communities, from which each layer's rows are placed."""

    def __init__(self, layers: Mapping[str, pd.DataFrame]) -> None:
        communities = layers.get(COMMUNITY_LAYER)
        self.districts: frozenset[str] | None = None
        self.community_district: dict[str, str] = {}
        self.shapes: np.ndarray | None = None
        self.crs = None
        self.names = np.array([], dtype=object)
        if communities is None or not {"community_id", "district"} <= set(communities.columns):
            return
        ids, names = _text(communities["community_id"]), _text(communities["district"])
        known = ~pd.isna(names)
        self.districts = frozenset(names[known])
        self.community_district = dict(zip(ids[known], names[known], strict=True))
        self.names = names
        if getattr(communities, "_geometry_column_name", None) in communities.columns:
            self.shapes = np.asarray(communities.geometry.array, dtype=object)
            self.crs = communities.geometry.crs

    def by_geometry(self, frame: pd.DataFrame) -> np.ndarray | None:
        """Return the district holding a point of each row's shape (``None`` outside all)."""
        if self.shapes is None or getattr(frame, "_geometry_column_name", None) not in frame:
            return None
        geometry = frame.geometry
        if self.crs is not None and geometry.crs is not None and geometry.crs != self.crs:
            geometry = geometry.to_crs(self.crs)
        points = shapely.point_on_surface(np.asarray(geometry.array, dtype=object))
        tree = shapely.STRtree(self.shapes)
        rows, shapes = tree.query(points, predicate="within")
        out = np.full(len(frame), None, dtype=object)
        # a point on a shared boundary lies within neither; one within two takes the first
        first = np.unique(rows, return_index=True)[1]
        out[rows[first]] = self.names[shapes[first]]
        return out

    def place(self, frame: pd.DataFrame) -> np.ndarray:
        """Return each row's district by the rules of the module, ``None`` for the city's."""
        out = np.full(len(frame), None, dtype=object)
        candidates = [_known(_text(frame[c]), self.districts)
                      for c in _DISTRICT_COLUMNS if c in frame.columns]
        candidates += [_lookup(_text(frame[c]), self.community_district)
                       for c in _COMMUNITY_COLUMNS if c in frame.columns]
        if {"level", "unit"} <= set(frame.columns):
            level, unit = _text(frame["level"]), _text(frame["unit"])
            district = np.where(level == "district", _known(unit, self.districts), None)
            community = np.where(level == "community",
                                 _lookup(unit, self.community_district), None)
            candidates += [district, community]
        for values in candidates:
            empty = pd.isna(out)
            out[empty] = values[empty]
        empty = pd.isna(out)
        if empty.any():
            shapes = self.by_geometry(frame)
            if shapes is not None:
                out[empty] = shapes[empty]
        return out


def row_districts(layers: Mapping[str, pd.DataFrame]) -> dict[str, np.ndarray]:
    """Return the district of each row of each layer of a run (``None``: the city's only).

    Parameters
    ----------
    layers
        The run's layers by name, as written.

    Returns
    -------
    dict
        Layer name → an object array, one district name (or ``None``) per row in order.
        Shared and person-level layers get ``None`` throughout: their access is by table.
    """
    run = _Run(layers)
    return {name: (run.place(frame) if layer_access(name) == "district"
                   else np.full(len(frame), None, dtype=object))
            for name, frame in layers.items()}
