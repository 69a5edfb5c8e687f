"""Allocating new staff (whole FTE) to service points, with a cap per point.

Two objectives, each solved exactly by a greedy rule:

- :func:`allocate_shortfall` — least total shortfall. Units (communities) have a shortfall
  ``s_u`` against the staffing standard and sites that can take staff; with ``x_k`` new staff at
  site ``k`` (``0 ≤ x_k ≤ cap_k``, ``Σ x_k = n``) it minimises ``Σ_u max(s_u − Σ_{k ∈ u} x_k,
  0)``. One more staff member in unit ``u`` lowers the total by ``min(1, max(r_u, 0))``, with
  ``r_u`` the shortfall still left there: the gains are concave and only the unit's total
  matters, so giving each staff member to the unit with the largest remaining shortfall among
  those with a site that has room is optimal. Inside a unit, staff go to the first site of
  ``order`` with room (e.g. the one serving most people).
- :func:`allocate_maxmin` — the fairest staff per 1,000 people served: each staff member goes
  to the site with room and the fewest staff per person (water-filling), which maximises the
  smallest ratio and, among the allocations that do, the next smallest, and so on (leximin).

The cap is what keeps one point from taking everything: a new point can hold no more than its
room allows (a candidate's ``max_staff``) and one recommendation gives any point at most
``[parameters.staffing] max_new_staff_per_site`` new staff. Staff that no point has room for are
left unallocated (the functions return fewer than ``n``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["allocate_maxmin", "allocate_shortfall", "check_caps"]


def check_caps(caps: np.ndarray | float, n_sites: int) -> np.ndarray:
    """Return per-site caps as whole numbers ≥ 0 (``inf`` for no cap).

    Raises
    ------
    ValueError
        When a cap is negative or NaN, or the caps do not match the sites.
    """
    out = np.broadcast_to(np.asarray(caps, dtype=float), (n_sites,)).copy()
    if np.isnan(out).any() or (out < 0).any():
        bad = out[np.isnan(out) | (out < 0)][0]
        msg = f"a site's cap on new staff must be ≥ 0 (or inf for none), got {bad!r}"
        raise ValueError(msg)
    return np.floor(out)


def allocate_shortfall(
    shortfall: np.ndarray,
    site_unit: np.ndarray,
    n: int,
    *,
    caps: np.ndarray | float = np.inf,
    order: np.ndarray | None = None,
    added: np.ndarray | None = None,
) -> np.ndarray:
    """Give ``n`` staff, one at a time, to the unit with the largest remaining shortfall.

    Parameters
    ----------
    shortfall
        Shortfall (FTE) of each unit; units are positions ``0 … len(shortfall) − 1``.
    site_unit
        Unit of each site (a position in ``shortfall``).
    n
        Staff to give.
    caps
        Most new staff each site may take (a number for all, ``inf`` for no cap).
    order
        Preference of the sites inside their unit: a larger value takes staff first (default:
        the first site of the unit).
    added
        Staff already given to each site in this recommendation (they count against the caps
        and the shortfall); not modified.

    Returns
    -------
    numpy.ndarray
        New staff per site (whole numbers), added to ``added``; their sum is ``n`` plus what
        was already added, or less when no site has room left. Ties go to the unit of higher
        position.
    """
    site_unit = np.asarray(site_unit, dtype=np.int64)
    cap = check_caps(caps, len(site_unit))
    got = np.zeros(len(site_unit)) if added is None else np.asarray(added, float).copy()
    rank = np.zeros(len(site_unit)) if order is None else np.asarray(order, dtype=float)
    # sites of each unit in order of preference: first by unit, then by preference, then by
    # position (the first listed wins a tie)
    by_pref = np.lexsort((np.arange(len(site_unit)), -rank, site_unit))
    left = np.asarray(shortfall, dtype=float).copy()
    np.subtract.at(left, site_unit, got)
    for _ in range(int(n)):
        room = got < cap
        if not room.any():
            break
        units = np.unique(site_unit[room])
        u = units[np.flatnonzero(left[units] == left[units].max())[-1]]
        k = next(k for k in by_pref if site_unit[k] == u and room[k])
        got[k] += 1
        left[u] -= 1
    return got


def allocate_maxmin(
    staff: np.ndarray,
    people: np.ndarray,
    n: int,
    *,
    caps: np.ndarray | float = np.inf,
    added: np.ndarray | None = None,
) -> np.ndarray:
    """Give ``n`` staff, one at a time, to the site with the fewest staff per person served.

    Parameters
    ----------
    staff
        Staff (FTE) of each site now.
    people
        People each site serves; a site serving nobody takes staff only when no other can.
    n
        Staff to give.
    caps
        Most new staff each site may take (a number for all, ``inf`` for no cap).
    added
        Staff already given to each site in this recommendation; not modified.

    Returns
    -------
    numpy.ndarray
        New staff per site (whole numbers), added to ``added``; fewer than ``n`` more when no
        site has room left. Ties go to the site listed first.
    """
    staff = np.asarray(staff, dtype=float)
    people = np.asarray(people, dtype=float)
    cap = check_caps(caps, len(staff))
    got = np.zeros(len(staff)) if added is None else np.asarray(added, float).copy()
    for _ in range(int(n)):
        room = got < cap
        if not room.any():
            break
        ratio = np.where(people > 0, (staff + got) / np.maximum(people, 1e-12), np.inf)
        got[int(np.argmin(np.where(room, ratio, np.inf)))
            if np.isfinite(ratio[room]).any() else int(np.flatnonzero(room)[0])] += 1
    return got
