"""One check shared by the store's tests: two frames are the same, value for value.

Stricter than ``pandas.testing.assert_frame_equal``: the same class (data frame or geo data
frame, with the same active geometry and CRS), columns in the same order with the same dtypes,
floats equal to the bit (``-0.0`` is not ``0.0``; ``NaN`` where ``NaN``), missing values of the
same kind in ``object`` columns (``None``, ``pd.NA``, ``NaN``), geometry by WKB.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely


def _kind(value: object) -> str:
    if value is None:
        return "None"
    if value is pd.NA:
        return "NA"
    if isinstance(value, float) and np.isnan(value):
        return "NaN"
    return type(value).__name__


def _floats(a: pd.Series, b: pd.Series, where: str) -> None:
    x = a.to_numpy(dtype=np.float64, na_value=np.nan)
    y = b.to_numpy(dtype=np.float64, na_value=np.nan)
    assert np.array_equal(np.isnan(x), np.isnan(y)), f"{where}: NaN at other rows"
    keep = ~np.isnan(x)
    assert np.array_equal(x[keep].view(np.int64), y[keep].view(np.int64)), (
        f"{where}: floats differ: {x[keep][x[keep].view(np.int64) != y[keep].view(np.int64)][:5]}")


def assert_identical(a: pd.DataFrame, b: pd.DataFrame, name: str = "") -> None:
    """Assert that ``b`` is ``a`` to the last bit (see the module's description)."""
    assert type(a) is type(b), f"{name}: {type(a).__name__} vs {type(b).__name__}"
    assert list(a.columns) == list(b.columns), name
    assert [str(t) for t in a.dtypes] == [str(t) for t in b.dtypes], (
        name, [(c, str(x), str(y)) for c, x, y in zip(a.columns, a.dtypes, b.dtypes,
                                                          strict=True) if str(x) != str(y)])
    assert a.index.equals(b.index), name
    if hasattr(a, "geometry") and a._geometry_column_name in a.columns:
        assert a._geometry_column_name == b._geometry_column_name, name
        assert a.crs == b.crs, name
    for column in a.columns:
        where = f"{name}.{column}"
        x, y = a[column], b[column]
        if str(x.dtype) == "geometry":
            assert x.crs == y.crs, where
            assert list(shapely.to_wkb(x.array)) == list(shapely.to_wkb(y.array)), where
        elif str(x.dtype) in ("float64", "Float64"):
            assert np.array_equal(x.isna().to_numpy(), y.isna().to_numpy()), where
            _floats(x, y, where)
        elif x.dtype == object:
            assert [_kind(v) for v in x] == [_kind(v) for v in y], where
            assert [v for v in x if isinstance(v, str)] == [v for v in y if isinstance(v, str)]
        else:
            pd.testing.assert_series_equal(x, y, check_exact=True, obj=where)
