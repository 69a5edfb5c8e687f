"""Candidate sites of the demo city: vacant community rooms where a new site could open.

About a third of the candidates are drawn inside the planted under-served areas, so that
placement models have something to find; the others on lots outside them, more often where
migrants live, at least 150 m from an existing site (:mod:`coverage.demo.services`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from coverage.demo.admin import Admin
from coverage.demo.buildings import Lots
from coverage.demo.layout import Layout
from coverage.demo.services import Sites, planted_distance

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass
class Candidates:
    """Possible locations of new service sites (local coordinates).

    Attributes
    ----------
    candidate_id, name
        Identifier and Chinese name.
    x, y
        Position (local m).
    max_staff
        Most staff (FTE) the place can hold.
    planted
        Id of the planted under-served area holding the candidate, else ``""``.
    """

    candidate_id: NDArray[np.str_]
    name: NDArray[np.str_]
    x: FloatArray
    y: FloatArray
    max_staff: FloatArray
    planted: NDArray[np.str_]


def place_candidates(layout: Layout, lots: Lots, lot_community: IntArray, admin: Admin,
                     sites: Sites, rng: np.random.Generator) -> Candidates:
    """Draw candidate sites: vacant community rooms, about a third in the planted areas.

    Parameters
    ----------
    layout
        The plan.
    lots
        Residential lots; candidates stand on lots.
    lot_community
        Community index of each lot.
    admin
        Communities.
    sites
        Existing sites (candidates keep 150 m away from them).
    rng
        Random generator.

    Returns
    -------
    Candidates
        The candidates.
    """
    n = layout.spec.candidates
    n_planted = max(len(layout.planted), round(n / 3))
    chosen: list[int] = []
    planted: list[str] = []
    for k, area in enumerate(layout.planted):
        idx = np.flatnonzero(lots.zone == area.zone)
        take = n_planted // len(layout.planted) + (k < n_planted % len(layout.planted))
        chosen += list(rng.choice(idx, size=min(take, len(idx)), replace=False))
        planted += [area.area_id] * min(take, len(idx))
    near_site = cKDTree(np.column_stack([sites.x, sites.y])).query(
        np.column_stack([lots.x, lots.y]))[0] < 150
    mask = ~near_site & (planted_distance(layout, lots.x, lots.y) > 0)
    mask &= np.isin(lots.kind, ["old", "village", "dorm", "commercial", "compound"])
    idx = np.flatnonzero(mask)
    w = lots.w_mig[idx]
    rest = rng.choice(idx, size=n - len(chosen), replace=False, p=w / w.sum())
    chosen += list(rest)
    planted += [""] * len(rest)
    lot = np.array(chosen, dtype=np.int64)
    names = []
    for k, lt in enumerate(lot):
        zone = layout.zones[int(lots.zone[lt])]
        if zone.kind == "village":
            names.append(f"{zone.name}村民委员会旧址{k + 1}号")
        elif zone.kind == "dorm":
            names.append(f"{zone.name}活动室{k + 1}号")
        else:
            names.append(f"{admin.name[lot_community[lt]]}闲置用房{k + 1}号")
    return Candidates(
        candidate_id=np.array([f"CAND{k + 1:03d}" for k in range(len(lot))]),
        name=np.array(names),
        x=lots.x[lot] + 3.0,
        y=lots.y[lot],
        max_staff=rng.choice([2.0, 3.0, 4.0, 6.0], size=len(lot)),
        planted=np.array(planted),
    )
