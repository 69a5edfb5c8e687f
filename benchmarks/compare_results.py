"""Compare two ``results.gpkg`` files layer by layer, value by value.

Run with ``python benchmarks/compare_results.py BEFORE.gpkg AFTER.gpkg [--rtol 0]``. Used when
the code is restructured: every result layer must come out identical. Prints, per layer, the
rows and columns compared and every difference (column, rows differing, the largest difference);
exits 1 when a layer, a column, a row count or a value differs. Floating-point columns are
compared within ``--rtol`` (default 0: exactly), missing values equal missing values, geometry
by WKB. The ``run_info`` rows that record when the run was and how long it took are left out.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio

#: ``run_info`` keys that differ between two runs of the same inputs and code.
VOLATILE = ("run_at", "seconds")


def _frame(path: Path, layer: str) -> pd.DataFrame:
    table = pyogrio.read_dataframe(path, layer=layer)
    frame = pd.DataFrame(table)
    if "geometry" in frame:
        frame["geometry"] = [None if g is None else g.wkb for g in table.geometry]
    if layer == "run_info" and "key" in frame:
        frame = frame[~frame["key"].astype(str).isin(VOLATILE)]
    return frame.reset_index(drop=True)


def _differences(a: pd.Series, b: pd.Series, rtol: float) -> tuple[int, str]:
    """Rows that differ and the largest difference, as text."""
    if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
        x = a.to_numpy(dtype=float, na_value=np.nan)
        y = b.to_numpy(dtype=float, na_value=np.nan)
        same = (np.isnan(x) & np.isnan(y)) | np.isclose(x, y, rtol=rtol, atol=0.0)
        if same.all():
            return 0, ""
        gap = np.nanmax(np.abs(x[~same] - y[~same])) if (~same).any() else np.nan
        return int((~same).sum()), f"largest difference {gap:.3g}"
    x = a.astype(object).where(a.notna(), None).to_numpy()
    y = b.astype(object).where(b.notna(), None).to_numpy()
    differ = np.array([u != v for u, v in zip(x, y, strict=True)], dtype=bool)
    return int(differ.sum()), ""


def compare(before: Path, after: Path, rtol: float = 0.0) -> bool:
    """Print the comparison of two result files; return whether they are identical."""
    names_a = [n for n, _ in pyogrio.list_layers(before)]
    names_b = [n for n, _ in pyogrio.list_layers(after)]
    same = True
    for name in sorted(set(names_a) ^ set(names_b)):
        print(f"{name}: only in {'the first' if name in names_a else 'the second'} file")
        same = False
    for name in sorted(set(names_a) & set(names_b)):
        a, b = _frame(before, name), _frame(after, name)
        problems = []
        if list(a.columns) != list(b.columns):
            problems.append(f"columns differ: {sorted(set(a.columns) ^ set(b.columns))}")
        if len(a) != len(b):
            problems.append(f"rows {len(a)} → {len(b)}")
        else:
            for column in [c for c in a.columns if c in b.columns]:
                n, note = _differences(a[column], b[column], rtol)
                if n:
                    problems.append(f"{column}: {n} rows differ {note}".rstrip())
        status = "identical" if not problems else "DIFFERENT"
        print(f"{name}: {len(a)} rows × {len(a.columns)} columns {status}")
        for p in problems:
            print(f"    {p}")
        same &= not problems
    return same


def main() -> None:
    """Compare the two files named on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--rtol", type=float, default=0.0)
    args = parser.parse_args()
    identical = compare(args.before, args.after, args.rtol)
    print("all layers identical" if identical else "the results differ")
    sys.exit(0 if identical else 1)


if __name__ == "__main__":
    main()
