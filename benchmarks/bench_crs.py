"""Throughput of the vectorized GCJ-02 / BD-09 conversions in coverage.crs.

Run with ``python benchmarks/bench_crs.py [n_points]``. Times each direction on 1,000,000
random points across China and prints points per second. If a scalar PyPI implementation
(``coord_convert``, ``eviltransform``, ``coordTransform_utils``) happens to be importable it is
timed on 10,000 points side by side; none of them is a dependency of this project.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable

import numpy as np

from coverage import crs

N_VECTOR = 1_000_000
N_SCALAR = 10_000
SEED = 20240601


def _points(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    return rng.uniform(73.0, 135.0, n), rng.uniform(18.0, 53.0, n)


def _best_of(func: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def bench_vectorized(n: int) -> None:
    lon, lat = _points(n)
    gcj = crs.wgs84_to_gcj02(lon, lat)
    bd = crs.wgs84_to_bd09(lon, lat)
    cases: list[tuple[str, Callable[[], object], tuple[np.ndarray, np.ndarray]]] = [
        ("wgs84_to_gcj02", lambda: crs.wgs84_to_gcj02(lon, lat), (lon, lat)),
        ("gcj02_to_wgs84", lambda: crs.gcj02_to_wgs84(*gcj), gcj),
        ("wgs84_to_bd09", lambda: crs.wgs84_to_bd09(lon, lat), (lon, lat)),
        ("bd09_to_wgs84", lambda: crs.bd09_to_wgs84(*bd), bd),
        ("gcj02_to_bd09", lambda: crs.gcj02_to_bd09(lon, lat), (lon, lat)),
        ("bd09_to_gcj02", lambda: crs.bd09_to_gcj02(*bd), bd),
    ]
    print(f"coverage.crs, vectorized, {n:,} points (best of 3)")
    for name, func, args in cases:
        seconds = _best_of(func)
        extra = ""
        if name in ("gcj02_to_wgs84", "bd09_to_wgs84", "bd09_to_gcj02"):
            inverse = getattr(crs, name)
            *_, n_iter = inverse(*args, return_iterations=True)
            extra = f"  ({n_iter} iterations)"
        print(f"  {name:<16} {seconds:8.3f} s  {n / seconds:14,.0f} points/s{extra}")


def _scalar_candidates() -> list[tuple[str, Callable[[float, float], object]]]:
    """Return (label, f(lon, lat)) for the scalar WGS-84 -> GCJ-02 packages that are importable."""
    found: list[tuple[str, Callable[[float, float], object]]] = []
    try:
        module = importlib.import_module("coord_convert.transform")
        found.append(("coord_convert.transform.wgs2gcj", module.wgs2gcj))
    except (ImportError, AttributeError):
        pass
    try:
        module = importlib.import_module("eviltransform")
        # eviltransform takes (lat, lon).
        found.append(("eviltransform.wgs2gcj", lambda x, y: module.wgs2gcj(y, x)))
    except (ImportError, AttributeError):
        pass
    try:
        module = importlib.import_module("coordTransform_utils")
        found.append(("coordTransform_utils.wgs84_to_gcj02", module.wgs84_to_gcj02))
    except (ImportError, AttributeError):
        pass
    return found


def bench_scalar(n: int) -> None:
    candidates = _scalar_candidates()
    if not candidates:
        print(
            "\nscalar comparison skipped: none of coord_convert, eviltransform, "
            "coordTransform_utils is installed (they are not dependencies)"
        )
        return
    lon, lat = _points(n)
    pairs = list(zip(lon.tolist(), lat.tolist(), strict=True))
    print(f"\nscalar packages, WGS-84 -> GCJ-02, {n:,} points (one Python call per point)")
    for label, func in candidates:
        seconds = _best_of(lambda func=func: [func(x, y) for x, y in pairs], repeat=1)
        print(f"  {label:<36} {seconds:8.3f} s  {n / seconds:14,.0f} points/s")
    seconds = _best_of(lambda: crs.wgs84_to_gcj02(lon, lat))
    print(f"  {'coverage.crs.wgs84_to_gcj02':<36} {seconds:8.3f} s  {n / seconds:14,.0f} points/s")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else N_VECTOR
    bench_vectorized(n)
    bench_scalar(N_SCALAR)


if __name__ == "__main__":
    main()
