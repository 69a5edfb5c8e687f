"""Residential lots and workplaces of the demo city.

Every lot between the streets of a zone holds residents. Migrants crowd into urban villages,
factory dormitories and older neighbourhoods; registered residents live mostly in gated
compounds and older neighbourhoods (and, as original villagers, in the urban villages).
Workplaces are the factory zones of the industrial parks, the commercial centres and, a little,
the older neighbourhoods.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from coverage.demo.layout import Layout

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# residents per m² of lot (relative): migrants, registered residents
DENSITY = {
    "village": (1.0, 0.08),
    "dorm": (1.3, 0.002),
    "old": (0.25, 0.3),
    "commercial": (0.12, 0.1),
    "compound": (0.035, 0.28),
}
"""Relative resident density of each zone kind: ``(migrants, registered)``."""
LOTS_PER_CELL = {"old": (2, 2), "commercial": (2, 1)}
"""Lots per street-grid cell (columns, rows); other kinds have one lot per cell."""
WORK_WEIGHT = {"factory": 1.0, "commercial": 2.0, "old": 0.3}
"""Relative number of jobs per m² of each workplace zone kind."""


@dataclass
class Lots:
    """Residential lots.

    Attributes
    ----------
    x, y
        Lot centre (local m).
    half
        Half-size (m) of the square around the centre where residents are placed.
    zone
        Index of the lot's zone in :attr:`Layout.zones`.
    kind
        The zone's kind.
    w_mig, w_reg
        Expected migrants and registered residents (relative weights).
    """

    x: FloatArray
    y: FloatArray
    half: FloatArray
    zone: IntArray
    kind: NDArray[np.str_]
    w_mig: FloatArray
    w_reg: FloatArray


@dataclass
class Workplaces:
    """Zones where migrants work.

    Attributes
    ----------
    zone
        Zone indices.
    weight
        Relative number of jobs.
    x0, x1, y0, y1
        Zone extents (local m), inset from the streets.
    """

    zone: IntArray
    weight: FloatArray
    x0: FloatArray
    x1: FloatArray
    y0: FloatArray
    y1: FloatArray


def build_lots(layout: Layout, rng: np.random.Generator) -> Lots:
    """Place the residential lots of every zone.

    Parameters
    ----------
    layout
        The plan.
    rng
        Random generator.

    Returns
    -------
    Lots
        The lots, with migrant weights scaled so that each planted under-served area holds
        its share of all migrants (:attr:`~coverage.demo.config.SizeSpec.planted_share`).
    """
    xs, ys, half, zone, kind, wm, wr = [], [], [], [], [], [], []
    for index, z in enumerate(layout.zones):
        if z.kind not in DENSITY:
            continue
        cols, rows = LOTS_PER_CELL.get(z.kind, (1, 1))
        # cell edges: a lot's cell spans two consecutive street lines
        gx0, gy0 = np.meshgrid(z.xl[:-1], z.yl[:-1])
        gx1, gy1 = np.meshgrid(z.xl[1:], z.yl[1:])
        w = (gx1 - gx0).ravel() / cols
        h = (gy1 - gy0).ravel() / rows
        ox, oy = (g.ravel() + 0.5 for g in np.meshgrid(np.arange(cols), np.arange(rows)))
        cx = (gx0.ravel()[:, None] + w[:, None] * ox[None, :]).ravel()
        cy = (gy0.ravel()[:, None] + h[:, None] * oy[None, :]).ravel()
        w = np.repeat(w, cols * rows)
        h = np.repeat(h, cols * rows)
        n = len(cx)
        zone_factor = rng.lognormal(0.0, 0.3)
        noise = rng.lognormal(0.0, 0.35, n)
        dm, dr = DENSITY[z.kind]
        xs.append(cx)
        ys.append(cy)
        half.append(np.maximum(np.minimum(w, h) / 2 - 6.0, 1.0))
        zone.append(np.full(n, index))
        kind.append(np.full(n, z.kind))
        wm.append(dm * w * h * zone_factor * noise)
        wr.append(dr * w * h * zone_factor * noise)
    lots = Lots(np.concatenate(xs), np.concatenate(ys), np.concatenate(half),
                np.concatenate(zone), np.concatenate(kind), np.concatenate(wm), np.concatenate(wr))
    _plant_share(layout, lots)
    return lots


def _plant_share(layout: Layout, lots: Lots) -> None:
    """Scale migrants in the planted areas to their planted share of all migrants."""
    masks = {p.area_id: lots.zone == p.zone for p in layout.planted}
    planted = np.zeros(len(lots.x), dtype=bool)
    for mask in masks.values():
        planted |= mask
    rest = lots.w_mig[~planted].sum()
    planted_share = dict(zip(("U1", "U2"), layout.spec.planted_share, strict=True))
    shares = {k: planted_share[k] for k in masks}
    free = 1.0 - sum(shares.values())
    for key, mask in masks.items():
        lots.w_mig[mask] *= shares[key] * rest / free / lots.w_mig[mask].sum()


def build_workplaces(layout: Layout) -> Workplaces:
    """Collect the workplace zones.

    Parameters
    ----------
    layout
        The plan.

    Returns
    -------
    Workplaces
        Factory zones, commercial centres and older neighbourhoods with their job weights.
    """
    picked = [(i, z) for i, z in enumerate(layout.zones) if z.kind in WORK_WEIGHT]
    x0 = np.array([z.x0 for _, z in picked]) + 15
    x1 = np.array([z.x1 for _, z in picked]) - 15
    y0 = np.array([z.y0 for _, z in picked]) + 15
    y1 = np.array([z.y1 for _, z in picked]) - 15
    weight = np.array([WORK_WEIGHT[z.kind] for _, z in picked]) * (x1 - x0) * (y1 - y0)
    return Workplaces(np.array([i for i, _ in picked]), weight, x0, x1, y0, y1)
