"""Frames the store's tests write: values that are hard to keep exactly, and a second run."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: Floats a text format must not round: the classic sum, tiny, subnormal and huge numbers, both
#: zeros, NaN and the infinities.
AWKWARD_FLOATS = [0.1 + 0.2, 1e-300, 5e-324, -1e-320, 1.7976931348623157e308, -0.0, 0.0,
                  np.nan, np.inf, -np.inf, 1 / 3, 123456789.123456789]


def awkward_frames(time_unit: str = "us") -> dict[str, pd.DataFrame]:
    """Return a plain and a geo frame holding every kept dtype with awkward values.

    ``time_unit``: the finest time in them (``ms`` for a GeoPackage, which keeps no finer).
    """
    n = len(AWKWARD_FLOATS)
    step = "123456" if time_unit == "us" else "123"
    times = pd.to_datetime(
        [f"2024-01-01 08:00:00.{step}", None, "1970-01-01", "2038-01-19 03:14:07",
         "1900-02-28 12:00", "2024-02-29", "2000-01-01", None, "1999-12-31 23:59:59",
         "2024-06-30", "2024-07-01", "2024-12-31"], format="ISO8601")
    frame = pd.DataFrame({
        "floats": AWKWARD_FLOATS,
        "nullable_floats": pd.array([-0.0, None, *AWKWARD_FLOATS[:8], 2.5, None],
                                    dtype="Float64"),
        "ints": np.array([2**63 - 1, -(2**63), 0, -1, *range(n - 4)], dtype=np.int64),
        "nullable_ints": pd.array([None, 2**63 - 1, -(2**63), *range(n - 3)], dtype="Int64"),
        "flags": np.arange(n) % 2 == 0,
        "nullable_flags": pd.array([True, None, False] * (n // 3), dtype="boolean"),
        "text": pd.Series(["tab\there", None, "back\\slash \\N", "", "中文 名称", "line\nbreak",
                           "cr\rlf", "'quote\"", "=1+1", "\\", " ", "end"], dtype="str"),
        "text_na": pd.Series(["a", None, "x", None, "", "中文", "\r", "b", "c", "d", "e", "f"],
                             dtype="string"),
        "object_na": pd.Series(["a", pd.NA, "b", pd.NA, "", "x", "<NA>", "y", "z", "w", "v",
                                "u"], dtype=object),
        "object_none": pd.Series([None] * n, dtype=object),
        "object_nan": pd.Series(["p", np.nan, "q", *["r"] * (n - 3)], dtype=object),
        "times": times,
        "zoned_times": times.tz_localize("Asia/Shanghai"),
        "utc_times": times.tz_localize("UTC"),
    })
    geometry = [shapely.Point(1, 2), None, shapely.Point(),
                shapely.LineString([(0, 0), (1e-9, 3.3)]), shapely.box(0, 0, 1, 1),
                shapely.MultiPoint([(1, 1), (2, 2)]), shapely.Point(0.1 + 0.2, -0.0),
                shapely.Polygon([(0, 0), (1, 0), (1, 1), (0, 0)], [[(0.2, 0.1), (0.8, 0.1),
                                                                   (0.8, 0.7), (0.2, 0.1)]]),
                shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)]),
                shapely.LineString([(113.123456789012, 23.987654321098), (113.2, 23.1)]),
                shapely.Point(500000.123, 2500000.456), shapely.Point(-1e-300, 1e300)]
    geo = gpd.GeoDataFrame({"名称": [f"点{i}" for i in range(n)], "value": AWKWARD_FLOATS,
                            "geometry": geometry, "after_geometry": np.arange(n)},
                           geometry="geometry", crs="EPSG:32649")
    return {"awkward": frame, "awkward_geo": geo, "empty": frame.iloc[:0].copy()}


def later_run(layers: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Return a second run made from ``layers``: other figures, mode, a new column and layer."""
    out = dict(layers)
    info = layers["run_info"].copy()
    info.loc[info["key"] == "mode", "value"] = "ebike"
    out["run_info"] = info
    out["district_summary"] = layers["district_summary"].assign(
        staff=layers["district_summary"]["staff"] + 1.5,
        note=pd.Series(["quarter 2"] * len(layers["district_summary"]), dtype="str"))
    out["extra_layer"] = pd.DataFrame({"quarter": ["2025Q1", "2025Q2"], "value": [0.5, -0.0]})
    return out
