"""Travel modes: which OSM ways each mode may use, in which directions, and at what speed.

The tag rules mirror OSMnx's Overpass filters (``osmnx._overpass._get_network_filter``) for the
``walk`` and ``bike`` network types, evaluated on tags we already hold instead of on a server:
Overpass's ``["key"!~"a|b"]`` means "the tag is absent, or its value does not *contain* any of the
alternatives" (the regular expression is unanchored), and so do the rules here. Tag values that
are lists (edges OSMnx merged while simplifying, stored as ``"['a', 'b']"`` in files) are tested
as one string, so an edge is excluded when any of its merged ways would be.

Differences from OSMnx, on purpose:

* ``access=no`` is excluded too (OSMnx excludes only ``private``), unless the mode's own tag
  (``foot`` / ``bicycle``) is ``yes``, ``designated`` or ``permissive``.
* ``ebike`` (OSMnx ``bike``) also admits ``highway=footway`` when ``bicycle`` is ``yes``,
  ``designated`` or ``permissive``, and keeps a one-way street usable both ways when
  ``oneway:bicycle=no`` or ``cycleway=opposite*`` (contraflow cycling).

Directions: ``walk`` uses every way both ways (OSMnx's ``bidirectional_network_types``).
``ebike`` keeps one-way rules with OSMnx's values: ``oneway`` in ``yes, true, 1, -1, reverse, T,
F`` or ``junction=roundabout`` is one-way, reversed for ``-1, reverse, T``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_SPEEDS_KMH",
    "MODES",
    "TAG_KEYS",
    "check_mode",
    "edge_directions",
    "usable",
    "way_directions",
]

#: Travel modes and their default speeds (km/h); the project file can override them.
DEFAULT_SPEEDS_KMH: dict[str, float] = {"walk": 4.5, "ebike": 15.0}
#: Accepted travel modes.
MODES: tuple[str, ...] = ("walk", "ebike")

#: OSM way tags the filters read.
TAG_KEYS: tuple[str, ...] = (
    "highway",
    "area",
    "access",
    "foot",
    "bicycle",
    "service",
    "sidewalk",
    "sidewalk:both",
    "sidewalk:left",
    "sidewalk:right",
    "oneway",
    "oneway:bicycle",
    "junction",
    "cycleway",
)

_COMMON_EXCLUDED = (
    "abandoned|bus_guideway|construction|motor|no|planned|platform|proposed|raceway|razed|"
    "rest_area|services"
)
_WALK_EXCLUDED_HIGHWAY = _COMMON_EXCLUDED + "|cycleway"
_BIKE_EXCLUDED_HIGHWAY = _COMMON_EXCLUDED + "|corridor|elevator|escalator|footway|steps"
_ALLOWED = {"yes", "designated", "permissive"}
_ONEWAY = {"yes", "true", "1", "-1", "reverse", "T", "F"}
_REVERSED = {"-1", "reverse", "T"}
_MODE_TAG = {"walk": "foot", "ebike": "bicycle"}


def check_mode(mode: str) -> str:
    """Return ``mode`` if it is a known travel mode, else raise a ValueError naming the choices."""
    if mode not in MODES:
        msg = f"unknown travel mode {mode!r}; use one of {', '.join(MODES)}"
        raise ValueError(msg)
    return mode


def _text(tags: pd.DataFrame, key: str) -> pd.Series:
    """Return a tag column as strings ('' where absent); list values are joined into one string."""
    if key not in tags:
        return pd.Series("", index=tags.index, dtype=object)
    col = tags[key]
    values = [
        ""
        if v is None or (isinstance(v, float) and np.isnan(v))
        else ";".join(map(str, v))
        if isinstance(v, (list, tuple, set))
        else str(v)
        for v in col.to_numpy(dtype=object)
    ]
    return pd.Series(values, index=tags.index, dtype=object)


def _contains(values: pd.Series, pattern: str) -> np.ndarray:
    """Overpass ``~"pattern"``: the value contains a match of the unanchored regex."""
    return values.str.contains(pattern, regex=True).to_numpy(dtype=bool)


def usable(tags: pd.DataFrame, mode: str) -> np.ndarray:
    """Return which ways (rows of ``tags``) the travel mode may use.

    Parameters
    ----------
    tags
        One row per way or edge, one column per tag (any of :data:`TAG_KEYS`; missing columns
        mean the tag is absent everywhere).
    mode
        ``"walk"`` or ``"ebike"``.

    Returns
    -------
    numpy.ndarray
        Boolean mask, one value per row.
    """
    check_mode(mode)
    highway = _text(tags, "highway")
    access = _text(tags, "access")
    own = _text(tags, _MODE_TAG[mode]).str.strip()
    own_allowed = own.isin(_ALLOWED).to_numpy()
    keep = np.array(highway != "", dtype=bool)
    keep &= ~_contains(_text(tags, "area"), "yes")
    keep &= ~_contains(access, "private")
    keep &= ~((access.str.strip() == "no").to_numpy() & ~own_allowed)
    keep &= ~_contains(_text(tags, "service"), "private")
    keep &= ~_contains(own, "no")
    if mode == "walk":
        keep &= ~_contains(highway, _WALK_EXCLUDED_HIGHWAY)
        for key in ("sidewalk", "sidewalk:both", "sidewalk:left", "sidewalk:right"):
            keep &= ~_contains(_text(tags, key), "separate")
    else:
        excluded = _contains(highway, _BIKE_EXCLUDED_HIGHWAY)
        footway_ok = (highway == "footway").to_numpy() & own_allowed
        keep &= ~excluded | footway_ok
    return keep


def _contraflow(tags: pd.DataFrame) -> np.ndarray:
    """Ways where bicycles may ride against a one-way rule."""
    return (
        (_text(tags, "oneway:bicycle").str.strip() == "no").to_numpy()
        | _contains(_text(tags, "cycleway"), "^opposite")
    )


def way_directions(tags: pd.DataFrame, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Return whether each OSM way may be travelled along and against its node order.

    Parameters
    ----------
    tags
        One row per OSM way (see :func:`usable`).
    mode
        ``"walk"`` (always both ways) or ``"ebike"`` (one-way rules kept).

    Returns
    -------
    forward, backward : numpy.ndarray
        Boolean masks.
    """
    check_mode(mode)
    n = len(tags)
    if mode == "walk":
        return np.ones(n, dtype=bool), np.ones(n, dtype=bool)
    oneway_tag = _text(tags, "oneway").str.strip()
    oneway = np.array(oneway_tag.isin(_ONEWAY), dtype=bool)
    oneway |= (_text(tags, "junction").str.strip() == "roundabout").to_numpy()
    oneway &= ~_contraflow(tags)
    reverse = oneway & oneway_tag.isin(_REVERSED).to_numpy()
    forward = ~reverse
    backward = ~oneway | reverse
    return forward, backward


def edge_directions(
    tags: pd.DataFrame, mode: str, *, directed: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Return whether each graph edge ``u → v`` may be travelled forward and backward.

    For graphs written by OSMnx the edge rows already follow the travel direction (a two-way
    street is two rows, or one row with ``oneway=False``; a one-way street is one row with
    ``oneway=True`` in its travel direction), so ``u → v`` is always allowed and ``v → u`` is
    allowed when the mode ignores one-way rules (``walk``), when the graph is undirected, when
    ``oneway`` is false, or when cycling against the one-way rule is allowed. A directed graph
    without a ``oneway`` attribute is taken literally: each edge is one arc.

    Parameters
    ----------
    tags
        One row per edge; may hold ``oneway`` (bool or text), ``oneway:bicycle``, ``cycleway``.
    mode
        ``"walk"`` or ``"ebike"``.
    directed
        Whether the source graph is directed.

    Returns
    -------
    forward, backward : numpy.ndarray
        Boolean masks.
    """
    check_mode(mode)
    n = len(tags)
    forward = np.ones(n, dtype=bool)
    if mode == "walk" or not directed:
        return forward, np.ones(n, dtype=bool)
    if "oneway" not in tags:
        return forward, np.zeros(n, dtype=bool)
    text = _text(tags, "oneway").str.strip().str.lower()
    is_false = text.isin({"false", "0", "no"}).to_numpy()
    return forward, is_false | _contraflow(tags)
