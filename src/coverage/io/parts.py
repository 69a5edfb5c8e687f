"""A layer as partitioned GeoParquet: a folder of parts, one per area, and their index.

A layer too large for one file (the migrants of a city that does not fit one process) comes
as a folder of GeoParquet files, each holding the rows of one spatial partition (a district,
a tile) with its geometry, CRS and bounding box in the file's ``geo`` metadata and a
*partition key* column that holds one value per part (the demo city's: ``district``)::

    migrants/
        part-000.parquet
        part-001.parquet
        ...
        _partitions.json

Parts are the folder's ``.parquet`` (or ``.geoparquet``) files, in the order of their names;
names starting with ``_`` or ``.`` are not parts. ``_partitions.json``, written beside them
(:func:`write_index`), lists each part's file, key value, rows, bounds and bytes, so that a run
that splits its work can route the parts to workers without opening them;
:func:`list_parts` reads the same figures from the parts' footers, without reading a row.

Each part keeps the pandas index of the table it was split from (geopandas writes it with
the part): reading all parts restores the rows' order in that table
(:func:`coverage.io.layers.read_partitioned`), so that a layer read from its parts is the
layer read from the one file it was split from.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyarrow.parquet as pq
import pyproj

__all__ = [
    "INDEX_FILE",
    "PART_SUFFIXES",
    "Part",
    "PartsError",
    "list_parts",
    "part_files",
    "write_index",
    "write_part",
    "write_parts",
]

PART_SUFFIXES = (".parquet", ".geoparquet")
"""Suffixes of a part's file."""
INDEX_FILE = "_partitions.json"
"""The index written beside the parts (:func:`write_index`)."""
INDEX_FORMAT = "coverage partitioned GeoParquet"
"""The index's ``format`` value."""

Bounds = tuple[float, float, float, float]


class PartsError(ValueError):
    """A folder of parts, or one of its parts, cannot be listed; the message names the file."""


@dataclass(frozen=True)
class Part:
    """One part of a partitioned layer, as its footer describes it.

    Attributes
    ----------
    file
        The part's file name inside the folder.
    rows
        Rows it holds.
    bounds
        ``(minx, miny, maxx, maxy)`` of its geometries in its CRS (the ``bbox`` of its ``geo``
        metadata), ``None`` when the file does not say.
    crs
        Its CRS (``EPSG:4326``, or the CRS's name), ``None`` when the file declares none.
    key
        The partition key's value in the part, ``None`` when no key column was asked for or
        its statistics do not show a single value.
    size
        Bytes on disk.
    """

    file: str
    rows: int
    bounds: Bounds | None
    crs: str | None
    key: str | None
    size: int


def is_part(path: Path) -> bool:
    """Return whether ``path`` names a part: a ``.parquet`` file not named ``_…`` or ``.…``."""
    return path.suffix.lower() in PART_SUFFIXES and not path.name.startswith(("_", "."))


def part_files(folder: str | Path) -> list[Path]:
    """Return the parts of a folder (files ending in ``.parquet``), in the order of their names.

    Files whose names start with ``_`` or ``.`` (the index, hidden files) are not parts.
    """
    return sorted((p for p in Path(folder).iterdir() if p.is_file() and is_part(p)),
                  key=lambda p: p.name)


def stray_files(folder: str | Path) -> list[Path]:
    """Return the files of a folder of parts that are neither parts nor bookkeeping.

    Bookkeeping: names starting with ``_`` or ``.`` (the index, hidden files).
    """
    return sorted(p for p in Path(folder).iterdir()
                  if not is_part(p) and not p.name.startswith(("_", ".")))


def _crs_name(column: dict[str, Any]) -> str | None:
    """Return the CRS of a ``geo`` metadata column as ``EPSG:n`` or its name."""
    if "crs" not in column:
        return "OGC:CRS84"  # GeoParquet: a column without "crs" is in longitude/latitude
    if column["crs"] is None:
        return None
    given = column["crs"]
    crs = (pyproj.CRS.from_json_dict(given) if isinstance(given, dict)
           else pyproj.CRS.from_user_input(given))
    code = crs.to_epsg()
    return f"EPSG:{code}" if code is not None else crs.name


def _key_value(metadata: pq.FileMetaData, key: str) -> str | None:
    """Return the single value of column ``key`` from its statistics, else ``None``."""
    names = metadata.schema.names
    if key not in names:
        return None
    j = names.index(key)
    seen: set[object] = set()
    for g in range(metadata.num_row_groups):
        stats = metadata.row_group(g).column(j).statistics
        if stats is None or not stats.has_min_max:
            return None
        seen |= {stats.min, stats.max}
    return str(seen.pop()) if len(seen) == 1 else None


def describe_part(path: Path, *, key: str | None = None) -> Part:
    """Describe one part from its footer (see :class:`Part`); nothing of its rows is read.

    Raises
    ------
    PartsError
        When the file is not Parquet or holds no GeoParquet ``geo`` metadata.
    """
    try:
        metadata = pq.read_metadata(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        msg = (f"{path.name}: not a Parquet file ({' '.join(str(exc).split())[:120]}); a "
               "folder of parts holds only GeoParquet files")
        raise PartsError(msg) from None
    geo = (metadata.metadata or {}).get(b"geo")
    if geo is None:
        msg = (f"{path.name}: a Parquet file without GeoParquet metadata (no 'geo' key); "
               "write it with geopandas' to_parquet")
        raise PartsError(msg)
    info = json.loads(geo)
    column = info.get("columns", {}).get(info.get("primary_column", ""), {})
    bbox = column.get("bbox")
    bounds = tuple(float(v) for v in bbox[:4]) if bbox and len(bbox) == 4 else None
    return Part(file=path.name, rows=int(metadata.num_rows), bounds=bounds,  # type: ignore[arg-type]
                crs=_crs_name(column), key=None if key is None else _key_value(metadata, key),
                size=path.stat().st_size)


def list_parts(folder: str | Path, *, key: str | None = None) -> list[Part]:
    """List the parts of a folder with their rows, bounds, CRS and key, from their footers.

    Parameters
    ----------
    folder
        The folder of parts.
    key
        The partition key column, whose value in each part is read from the column's
        statistics (default: the index's ``key``, when the folder has an index).

    Returns
    -------
    list of Part
        The parts in the order of their names.

    Raises
    ------
    PartsError
        When the folder holds no part, or a part is not GeoParquet (the message names it).
    """
    folder = Path(folder)
    if not folder.is_dir():
        msg = f"{folder.name}: not a folder of GeoParquet parts"
        raise PartsError(msg)
    files = part_files(folder)
    if not files:
        msg = f"{folder.name}: the folder holds no .parquet part"
        raise PartsError(msg)
    if key is None and (folder / INDEX_FILE).is_file():
        key = read_index(folder).get("key")
    return [describe_part(p, key=key) for p in files]


def read_index(folder: str | Path) -> dict[str, Any]:
    """Return the folder's index (:data:`INDEX_FILE`) as written by :func:`write_index`."""
    path = Path(folder) / INDEX_FILE
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        msg = f"{INDEX_FILE}: cannot be read ({' '.join(str(exc).split())[:120]})"
        raise PartsError(msg) from None
    if not isinstance(index, dict) or index.get("format") != INDEX_FORMAT:
        msg = f"{INDEX_FILE}: not the index of a folder of parts (format {INDEX_FORMAT!r})"
        raise PartsError(msg)
    return index


def _union(bounds: list[Bounds | None]) -> list[float] | None:
    if not bounds or any(b is None for b in bounds):
        return None
    box = np.array(bounds, dtype=float)
    return [float(box[:, 0].min()), float(box[:, 1].min()),
            float(box[:, 2].max()), float(box[:, 3].max())]


def write_index(folder: str | Path, *, key: str) -> Path:
    """Write the folder's index, :data:`INDEX_FILE`, from its parts' footers; return its path.

    The index holds ``format``, ``version``, ``key`` (the partition key column), ``crs``,
    ``rows`` and ``bounds`` (all parts) and ``parts``: each part's ``file``, ``key`` value,
    ``rows``, ``bounds`` and ``bytes``, in the order of their names.
    """
    parts = list_parts(folder, key=key)
    crs = sorted({p.crs for p in parts if p.crs is not None})
    index = {
        "format": INDEX_FORMAT,
        "version": 1,
        "key": key,
        "crs": crs[0] if len(crs) == 1 else None,
        "rows": sum(p.rows for p in parts),
        "bounds": _union([p.bounds for p in parts]),
        "parts": [{"file": p.file, "key": p.key, "rows": p.rows,
                   "bounds": None if p.bounds is None else list(p.bounds), "bytes": p.size}
                  for p in parts],
    }
    path = Path(folder) / INDEX_FILE
    path.write_text(json.dumps(index, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def write_part(frame: gpd.GeoDataFrame, path: str | Path) -> None:
    """Write one part: GeoParquet 1.1 with its CRS and bounding box, and the frame's index.

    The index (the rows' positions in the table the part was split from) is kept so that
    reading all parts restores the table's order. A ``bbox`` covering column gives each row
    group's bounds in the file's statistics (GeoParquet readers drop it when they read);
    Zstandard compression.
    """
    frame.to_parquet(path, index=True, schema_version="1.1.0", compression="zstd",
                     write_covering_bbox=True)


def write_parts(frame: gpd.GeoDataFrame, folder: str | Path, *, key: str) -> list[Part]:
    """Split a layer by the values of column ``key`` and write one part per value, and the index.

    Parts are named ``part-000.parquet`` … in the order of the sorted key values; each keeps
    its rows' positions in ``frame`` (its index). Parts already in the folder are removed
    first.

    Parameters
    ----------
    frame
        The layer, with a geometry and a CRS.
    folder
        The folder to write (created if missing).
    key
        The partition key column: a district, a tile, one value per part.

    Returns
    -------
    list of Part
        The parts written.
    """
    if key not in frame.columns:
        msg = f"the frame has no column {key!r} to partition by; its columns: {list(frame)}"
        raise ValueError(msg)
    if frame[key].isna().any():
        msg = f"column {key!r} is empty in {int(frame[key].isna().sum()):,} rows; every row "
        msg += "needs a partition"
        raise ValueError(msg)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in part_files(folder):
        old.unlink()
    frame = frame.reset_index(drop=True)
    codes, values = frame[key].factorize(sort=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(values) + 1))
    for k in range(len(values)):
        write_part(frame.iloc[order[bounds[k]:bounds[k + 1]]], folder / f"part-{k:03d}.parquet")
    write_index(folder, key=key)
    return list_parts(folder, key=key)


def part_dicts(parts: list[Part]) -> list[dict[str, Any]]:
    """Return the parts as plain dictionaries (for tables and JSON)."""
    return [asdict(p) for p in parts]
