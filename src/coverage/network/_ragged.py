"""Index arithmetic on ragged runs (CSR rows, link vertices, segment pieces), vectorized."""

from __future__ import annotations

import numpy as np

__all__ = ["owners", "ranges", "within"]


def ranges(start: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(start[i], start[i] + count[i])`` (int64), without a Python loop."""
    count = np.asarray(count, dtype=np.int64)
    total = int(count.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    shift = np.asarray(start, dtype=np.int64) - (np.cumsum(count) - count)
    out = np.repeat(shift, count)
    out += np.arange(total, dtype=np.int64)
    return out


def within(count: np.ndarray) -> np.ndarray:
    """Position of every element inside its run: concatenated ``arange(count[i])``."""
    return ranges(np.zeros(len(count), dtype=np.int64), count)


def owners(count: np.ndarray) -> np.ndarray:
    """``np.repeat(np.arange(len(count)), count)`` as int32 (a cumulative sum of markers).

    NumPy's ``repeat`` with counts moves one element at a time; marking where each owner's
    run starts and summing is several times faster for short runs.
    """
    total = int(count.sum())
    out = np.zeros(total, dtype=np.int32)
    if total == 0:
        return out
    nz = np.flatnonzero(count)
    starts = np.cumsum(count[nz]) - count[nz]
    out[starts[1:]] = np.diff(nz).astype(np.int32)
    out[0] = nz[0]
    np.cumsum(out, out=out)
    return out
