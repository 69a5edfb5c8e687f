"""Connected components of a road network: which nodes routing uses, the table, the report.

Routing uses only the largest component: the largest *connected* component for ``walk`` (every
road is two-way on foot) and the largest *strongly connected* component for ``ebike`` (one-way
streets kept, so every node of it can reach every other). Components are numbered by size, so
component 0 is the one used for routing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

if TYPE_CHECKING:
    from coverage.network.graph import RoadNetwork

__all__ = ["components_report", "components_table", "node_components"]


def node_components(graph: sp.csr_array, mode: str) -> tuple[np.ndarray, int]:
    """Label every node with its component, numbered by size (0 is the largest).

    Parameters
    ----------
    graph
        The directed graph of the mode.
    mode
        ``"walk"`` (weakly connected components) or ``"ebike"`` (strongly connected ones).

    Returns
    -------
    labels, n_components : tuple
        The component of each node, and the number of components. Components of the same
        size keep the order SciPy finds them in.
    """
    connection = "weak" if mode == "walk" else "strong"
    n_comp, labels = connected_components(graph, directed=True, connection=connection)
    sizes = np.bincount(labels, minlength=n_comp)
    order = np.lexsort((np.arange(n_comp), -sizes))
    rank = np.empty(n_comp, dtype=np.int64)
    rank[order] = np.arange(n_comp)
    return rank[labels], n_comp


def components_table(net: RoadNetwork) -> pd.DataFrame:
    """Return the components of ``net``, largest first (:attr:`RoadNetwork.components`).

    Parameters
    ----------
    net
        The road network.

    Returns
    -------
    pandas.DataFrame
        Columns ``component``, ``nodes``, ``links``, ``length_km`` and ``routing``; one-way
        links joining two components in a last row ``component = -1``.
    """
    comp = net.node_component
    nodes = np.bincount(comp, minlength=net.n_components)
    lc = net.link_component + 1
    links = np.bincount(lc, minlength=net.n_components + 1)
    length = np.bincount(lc, weights=net.arrays.length, minlength=net.n_components + 1)
    ids = np.arange(net.n_components)
    df = pd.DataFrame({
        "component": ids,
        "nodes": nodes,
        "links": links[1:],
        "length_km": length[1:] / 1000.0,
        "routing": ids == 0,
    })
    if links[0]:
        between = pd.DataFrame({"component": [-1], "nodes": [0], "links": [links[0]],
                                "length_km": [length[0] / 1000.0], "routing": [False]})
        df = pd.concat([df, between], ignore_index=True)
    return df


def components_report(net: RoadNetwork) -> str:
    """Describe ``net`` and its components in a few lines of plain text.

    Parameters
    ----------
    net
        The road network.

    Returns
    -------
    str
        The source, mode, speed and CRS; nodes, links and kilometres of road; the components,
        the one used for routing and what is left out.
    """
    comps = net.components
    real = comps[comps["component"] >= 0]
    main = real.iloc[0]
    total_km = float(net.arrays.length.sum()) / 1000.0
    kind = "connected" if net.mode == "walk" else "strongly connected"
    lines = [
        f"road network {net.source} ({net.mode}, {net.speed_kmh:g} km/h, CRS "
        f"{net.crs.to_string()})",
        f"  {net.n_nodes:,} nodes, {net.n_links:,} links, {total_km:,.1f} km of road",
        f"  {len(real):,} {kind} component(s); routing uses the largest: "
        f"{int(main['nodes']):,} nodes ({100.0 * main['nodes'] / net.n_nodes:.1f} %), "
        f"{main['length_km']:,.1f} km",
    ]
    rest = real.iloc[1:]
    if len(rest):
        lines.append(
            f"  left out: {int(rest['nodes'].sum()):,} nodes in {len(rest):,} smaller "
            f"component(s), {rest['length_km'].sum():,.1f} km; the largest of them has "
            f"{int(rest['nodes'].iloc[0]):,} nodes"
        )
    between = comps[comps["component"] < 0]
    if len(between):
        lines.append(
            f"  {int(between['links'].iloc[0]):,} one-way link(s) join components and are "
            "not used for snapping"
        )
    return "\n".join(lines)
