"""Size presets of the demo city.

Each preset fixes the extent of the built-up area, the number of communities, districts and
migrants and the strength of the planted effects. Everything else follows from the seed.

``xlarge`` is a city that does not fit one process: ten million migrants and a million road
nodes. It is generated district by district (:mod:`coverage.demo.partitioned`) and its migrants
are written as partitioned GeoParquet, one part per district
(:mod:`coverage.io.parts`), for a run that splits the work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Size = Literal["small", "default", "large", "xlarge"]


@dataclass(frozen=True)
class SizeSpec:
    """Parameters of one city size.

    Parameters
    ----------
    name
        ``small``, ``default``, ``large`` or ``xlarge``.
    half_x, half_y
        Semi-axes (m) of the roughly elliptical built-up area, east-west and north-south.
    block
        Nominal spacing (m) of the arterial grid, i.e. the size of a superblock.
    communities
        Number of communities (社区) to draw (a few fewer may result if seeds coincide).
    districts
        Number of districts (区).
    migrants
        Number of migrants (rows of ``migrants.csv``, or of the parts of ``migrants/``).
    registered_per_migrant
        Registered residents per migrant, city-wide.
    bridges
        Road bridges across the river (one footbridge is added).
    village_spacing
        Alley spacing (m) in urban villages, the main lever on the node count.
    candidates
        Candidate sites for new service points.
    fast_growing
        Communities planted with fast-growing inflow.
    understaffed
        Sites planted as under-staffed.
    underserved_distance_m
        No site lies closer than this (straight line, m) to a planted under-served area.
    health_station_share, fp_room_share
        Share of communities with a health station and with a family-planning room.
    equal_districts
        Districts planted as exceptions, where community services stand where migrants live
        (elsewhere they stand among registered residents; see
        :func:`coverage.demo.services.equal_districts`).
    planted_share
        Share of all migrants living in each planted under-served area (``U1``, the urban
        village, and ``U2``, the dormitory area); smaller in a city with many more areas, so
        that the two planted superblocks stay as crowded as a large city's.
    partitioned
        Whether the migrants are written as partitioned GeoParquet (a folder ``migrants/``,
        one part per district) rather than ``migrants.csv``, and described district by
        district, so that the records of all migrants are never held at once.
    """

    name: str
    half_x: float
    half_y: float
    communities: int
    districts: int
    migrants: int
    bridges: int
    village_spacing: float
    candidates: int
    fast_growing: int
    understaffed: int
    underserved_distance_m: float
    health_station_share: float
    fp_room_share: float
    equal_districts: int = 1
    block: float = 850.0
    registered_per_migrant: float = 0.55
    planted_share: tuple[float, float] = (0.06, 0.03)
    partitioned: bool = False


SIZES: dict[str, SizeSpec] = {
    "small": SizeSpec(
        name="small",
        half_x=2900.0,
        half_y=2300.0,
        communities=48,
        districts=4,
        migrants=20_000,
        bridges=2,
        village_spacing=27.0,
        candidates=20,
        fast_growing=3,
        understaffed=3,
        underserved_distance_m=1200.0,
        health_station_share=0.55,
        fp_room_share=0.45,
    ),
    "default": SizeSpec(
        name="default",
        half_x=5600.0,
        half_y=4400.0,
        communities=100,
        districts=5,
        migrants=200_000,
        bridges=3,
        village_spacing=23.0,
        candidates=40,
        fast_growing=5,
        understaffed=5,
        underserved_distance_m=1500.0,
        health_station_share=0.5,
        fp_room_share=0.4,
    ),
    "large": SizeSpec(
        name="large",
        half_x=9000.0,
        half_y=7200.0,
        communities=260,
        districts=6,
        migrants=1_200_000,
        bridges=4,
        village_spacing=19.0,
        candidates=60,
        fast_growing=10,
        understaffed=8,
        underserved_distance_m=1500.0,
        health_station_share=0.65,
        fp_room_share=0.5,
        equal_districts=2,
    ),
    "xlarge": SizeSpec(
        name="xlarge",
        half_x=22000.0,
        half_y=17600.0,
        communities=2500,
        districts=11,
        migrants=10_000_000,
        bridges=8,
        village_spacing=18.5,
        candidates=200,
        fast_growing=30,
        understaffed=24,
        underserved_distance_m=1500.0,
        health_station_share=0.65,
        fp_room_share=0.5,
        equal_districts=3,
        planted_share=(0.012, 0.006),
        partitioned=True,
    ),
}


def size_spec(size: str) -> SizeSpec:
    """Return the preset called ``size``.

    Parameters
    ----------
    size
        ``small``, ``default``, ``large`` or ``xlarge``.

    Returns
    -------
    SizeSpec
        The preset.

    Raises
    ------
    ValueError
        When ``size`` is not a preset name.
    """
    try:
        return SIZES[size]
    except KeyError:
        msg = f"size {size!r} is not a demo size; use one of {', '.join(SIZES)}"
        raise ValueError(msg) from None
