"""The demo's migrants as partitioned GeoParquet: one part per district, written as described.

A city too large for one process (the ``xlarge`` preset, ten million migrants) is described
district by district: each district's migrants get every attribute and service record from
their own random generator (spawned from the describing step's, so the same seed gives the
same parts), are written as one GeoParquet part and let go; only what the planted truth reads
of every migrant (:class:`~coverage.demo.people.MigrantFacts`) is kept. Records are calibrated
to the plan's rates within each district rather than city-wide.

Any other size can write its migrants this way too (``build_demo(..., partitioned=True)``):
the same records as ``migrants.csv``, split by district, whose parts read back into the same
layer (:mod:`coverage.io.partitioned`).

A part holds the columns of ``migrants.csv`` under the same Chinese headers, typed (whole
numbers, dates, yes/no as 是/否, empty cells as nulls), the residence as a WGS-84 point
geometry, the partition key ``district`` (the district's name) and, as its index, each
person's position in the city's table (the person number less one).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from coverage.demo.admin import Admin
from coverage.demo.buildings import Lots, Workplaces
from coverage.demo.layout import Layout
from coverage.demo.people import MigrantFacts, Migrants, Residents, describe_migrants
from coverage.demo.services import Sites
from coverage.demo.write import MIGRANTS_HEADERS, YES_NO_RECORDS, migrant_table
from coverage.io.parts import part_files, write_index, write_part

PARTITION_KEY = "district"
"""The partition key column of the demo's parts: the district's name (莞城区 …)."""
FOLDER = "migrants"
"""The folder of the parts in the demo project."""
YES_NO_TEXT = np.array(["否", "是", None], dtype=object)
"""Text of the codes 0, 1 and -1 (a null) in a part."""


def id_width(n: int) -> int:
    """Return the digits of the person number in the ids of ``n`` migrants (at least 7)."""
    return max(7, len(str(n)))


def part_frame(migrants: Migrants, admin: Admin, number: np.ndarray, *, width: int,
               district: str) -> gpd.GeoDataFrame:
    """Return one district's migrants as a part: typed columns, Chinese headers, points.

    Parameters
    ----------
    migrants
        The district's records.
    admin
        Communities.
    number
        Person number (1-based) of each record in the city; the index is ``number - 1``.
    width
        Digits of the person number in the id.
    district
        The district's name, the partition key's value.
    """
    table = migrant_table(migrants, admin, number, width)
    lon, lat = table.pop("lon"), table.pop("lat")
    hukou = table["hukou_code"].astype(object)
    hukou[hukou == ""] = None
    table["hukou_code"] = hukou
    table["birth_year"] = table["birth_year"].astype(np.int16)
    for name in ("arrived_on", "recorded_on"):
        dates = pa.array(table[name], type=pa.date32(), from_pandas=True)  # NaT → null
        table[name] = pd.array(dates, dtype=pd.ArrowDtype(pa.date32()))
    for name in YES_NO_RECORDS:
        table[name] = YES_NO_TEXT[table[name]]
    rh = table["rh_checks_year"]
    table["rh_checks_year"] = pd.arrays.IntegerArray(np.maximum(rh, 0).astype(np.int8), rh < 0)
    columns = {MIGRANTS_HEADERS[k]: v for k, v in table.items()}
    columns[PARTITION_KEY] = np.full(len(lon), district, dtype=object)
    index = pd.Index(number - 1, dtype=np.int64)
    return gpd.GeoDataFrame(pd.DataFrame(columns, index=index),
                            geometry=gpd.GeoSeries(shapely.points(lon, lat), index=index),
                            crs="EPSG:4326")


def _clear(folder: Path) -> None:
    """Create the folder of parts, or empty it of a previous build's parts."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in part_files(folder):
        old.unlink()


def _districts(residents: Residents, admin: Admin) -> list[np.ndarray]:
    """Return the positions of each district's migrants (ascending), district by district."""
    district = admin.district_index[residents.community]
    order = np.argsort(district, kind="stable")
    n = int(admin.district_index.max()) + 1
    bounds = np.searchsorted(district[order], np.arange(n + 1))
    return [order[bounds[d]:bounds[d + 1]] for d in range(n)]


def _district_name(admin: Admin, d: int) -> str:
    return str(admin.district[admin.district_index == d][0])


def write_migrant_parts(folder: Path, migrants: Migrants, admin: Admin) -> int:
    """Write migrants described at once as parts, one per district; return the parts written.

    The parts hold the records of ``migrants.csv``, split by district.
    """
    _clear(folder)
    width = id_width(len(migrants.residents.x))
    for d, members in enumerate(_districts(migrants.residents, admin)):
        part = _subset(migrants, members)
        write_part(part_frame(part, admin, members + 1, width=width,
                              district=_district_name(admin, d)),
                   folder / f"part-{d:03d}.parquet")
    write_index(folder, key=PARTITION_KEY)
    return len(part_files(folder))


def _subset(migrants: Migrants, rows: np.ndarray) -> Migrants:
    """Return the records at positions ``rows``."""
    res = migrants.residents
    return Migrants(
        residents=Residents(res.x[rows], res.y[rows], res.lot[rows], res.community[rows]),
        quarter=migrants.quarter[rows], records={k: v[rows] for k, v in migrants.records.items()},
        walk_m=migrants.walk_m[rows], male=migrants.male[rows],
        birth_year=migrants.birth_year[rows], marital=migrants.marital[rows],
        hukou=migrants.hukou[rows], arrived_on=migrants.arrived_on[rows],
        work_x=migrants.work_x[rows], work_y=migrants.work_y[rows])


def describe_by_district(
    folder: Path,
    residents: Residents,
    city: tuple[Lots, Layout, Admin, Sites, Workplaces, np.ndarray],
    rng: np.random.Generator,
    step: Callable[[str], None],
) -> MigrantFacts:
    """Describe the migrants district by district, writing each district's part as it goes.

    Parameters
    ----------
    folder
        The folder of parts (created; parts of a previous build removed).
    residents
        Every migrant's residence.
    city
        What the descriptions draw on: lots, layout, communities, sites, workplaces and the
        quarterly growth of arrivals per community (:func:`~coverage.demo.people.
        describe_migrants`).
    rng
        The describing step's generator; each district draws from a generator spawned from it.
    step
        Called with ``… (k/n)`` before each district.

    Returns
    -------
    MigrantFacts
        What the planted truth needs of every migrant, in the city's order.
    """
    lots, layout, admin, sites, work, growth = city
    _clear(folder)
    n = len(residents.x)
    width = id_width(n)
    quarter = np.zeros(n, dtype=np.int8)
    walk = np.zeros(n)
    records: dict[str, np.ndarray] = {}
    districts = _districts(residents, admin)
    for d, (members, generator) in enumerate(zip(districts, rng.spawn(len(districts)),
                                                 strict=True)):
        step(f"Describing and writing the migrants, district by district ({d + 1}/"
             f"{len(districts)})")
        part = Residents(residents.x[members], residents.y[members], residents.lot[members],
                         residents.community[members])
        described = describe_migrants(part, lots, layout, admin, sites, work, growth, generator)
        write_part(part_frame(described, admin, members + 1, width=width,
                              district=_district_name(admin, d)),
                   folder / f"part-{d:03d}.parquet")
        quarter[members] = described.quarter
        walk[members] = described.walk_m
        for key, codes in described.records.items():
            records.setdefault(key, np.full(n, -1, dtype=np.int8))[members] = codes
    write_index(folder, key=PARTITION_KEY)
    return MigrantFacts(residents=residents, quarter=quarter, records=records, walk_m=walk)
