"""Read OR-Library p-median instances (Beasley 1990), the field's standard test set.

Format: a first line ``n_vertices n_edges p``, then one line per edge ``i j cost`` (1-based,
undirected). OR-Library's rule for the distance matrix is followed exactly: edges are read in
file order and a later duplicate of a pair overrides an earlier one (taking the minimum of
duplicates gives wrong optima), then all-pairs shortest paths. Every vertex is a demand point of
weight 1 and a candidate site.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path


def read_pmed(path: str | Path) -> tuple[np.ndarray, int]:
    """Read ``pmedN.txt``; return the dense distance matrix and ``p``.

    Parameters
    ----------
    path
        An OR-Library p-median file.

    Returns
    -------
    (numpy.ndarray, int)
        The ``n × n`` shortest-path distances and the number of medians ``p``.
    """
    lines = Path(path).read_text(encoding="ascii").split("\n")
    n, e, p = map(int, lines[0].split())
    edges = np.loadtxt(lines[1 : 1 + e], dtype=np.int64).reshape(-1, 3)
    i = np.minimum(edges[:, 0], edges[:, 1]) - 1
    j = np.maximum(edges[:, 0], edges[:, 1]) - 1
    key = i * n + j
    _, rev = np.unique(key[::-1], return_index=True)
    last = len(key) - 1 - rev  # last occurrence of each undirected pair, in file order
    graph = sp.coo_array((edges[last, 2].astype(float), (i[last], j[last])), shape=(n, n))
    return shortest_path(graph.tocsr(), directed=False), p
