"""Layers compared value for value: a run on a cluster against the one-process run.

Floats to 1e-9 relative, geometries exactly (to a micrometre), columns and rows in order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import shapely

#: The layers a one-process run makes from its people, which a run by parts must equal.
LAYERS = ("community_summary", "district_summary", "site_catchments", "indicators",
          "indicator_quarters", "hotspots", "inflow_trends", "origin_flows", "commute_flows",
          "workplace_clusters", "underserved_clusters")


def assert_same_layer(mine: pd.DataFrame, theirs: pd.DataFrame, name: str) -> None:
    """Assert two layers equal: the same columns and rows, floats to 1e-9 relative."""
    assert list(mine.columns) == list(theirs.columns), name
    assert len(mine) == len(theirs), name
    geometry = getattr(theirs, "geometry", None) if "geometry" in theirs else None
    if geometry is not None:
        a, b = np.asarray(mine.geometry), np.asarray(theirs.geometry)
        empty = shapely.is_missing(a) & shapely.is_missing(b)
        assert (shapely.equals_exact(a, b, tolerance=1e-6) | empty).all(), name
        mine, theirs = (pd.DataFrame(t.drop(columns="geometry")) for t in (mine, theirs))
    pd.testing.assert_frame_equal(mine.reset_index(drop=True), theirs.reset_index(drop=True),
                                  check_exact=False, rtol=1e-9, atol=1e-12, obj=name)


def written_layers(gpkg: Path) -> dict[str, pd.DataFrame]:
    """Every layer of a results GeoPackage, by name."""
    import pyogrio

    return {str(name): pyogrio.read_dataframe(gpkg, layer=str(name))
            for name, _ in pyogrio.list_layers(gpkg)}
