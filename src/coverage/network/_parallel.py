"""Chunked array work on a few threads.

NumPy, SciPy's KD-tree and ``csgraph`` release the GIL inside their loops, so chunks of one
vectorized step run in parallel on threads, with no copy of the inputs to other processes.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["THREADS", "each", "ordered"]

#: Threads for chunked array work.
THREADS = min(4, os.cpu_count() or 1)

T = TypeVar("T")
R = TypeVar("R")


def ordered(func: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
    """Yield ``func(x)`` for ``items`` in order, computed on up to ``THREADS`` threads.

    At most ``2 × THREADS`` results are computed ahead of the one being consumed, so their
    memory is reused instead of piling up.
    """
    if len(items) <= 1 or THREADS <= 1:
        for x in items:
            yield func(x)
        return
    ahead = 2 * THREADS
    with ThreadPoolExecutor(max_workers=min(THREADS, len(items))) as pool:
        pending = deque(pool.submit(func, x) for x in items[:ahead])
        for x in items[ahead:]:
            yield pending.popleft().result()
            pending.append(pool.submit(func, x))
        while pending:
            yield pending.popleft().result()


def each(func: Callable[[T], object], items: Sequence[T]) -> None:
    """Run ``func`` on every item (for its side effects), on up to ``THREADS`` threads."""
    for _ in ordered(func, items):
        pass
