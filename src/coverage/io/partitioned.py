"""A layer read from a folder of GeoParquet parts (:mod:`coverage.io.parts`), checked like a file.

Each part is read and checked on its own, as a file would be
(:func:`coverage.io.layers.check_raw`): its headers matched (Chinese headers and the project's
``columns`` mapping alike), every cell converted, its CRS reconciled with the declared one and
its places converted to WGS-84 (GCJ-02 shifted back). Every problem names the part
(``migrants/part-003.parquet``), the row (its feature number in the part), the field and the
rule. Ids are then checked for repeats across the parts, and the rows put back in the order of
the table the parts were split from (the index each part keeps), so that the layer read from
its parts is the layer read from that table.

:func:`read_partitioned` reads all parts, or only those asked for (one part, or a few, for
work split by partition).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from coverage.io.layers import ROW, SOURCE_FILE, check_raw
from coverage.io.parts import INDEX_FILE, PartsError, part_files, read_index, stray_files
from coverage.io.project import LayerConfig
from coverage.io.readers import TABLE_SUFFIXES, VECTOR_SUFFIXES, read_table
from coverage.io.schema import LAYERS, Layer
from coverage.io.validation import MAX_LISTED, Problems

__all__ = ["is_partitioned", "part_label", "read_partitioned"]


@dataclass
class _Piece:
    """One part, checked: its attributes, WGS-84 geometries (or ``None``) and row labels."""

    frame: pd.DataFrame
    geoms: np.ndarray | None
    labels: np.ndarray | None


def is_partitioned(config: LayerConfig) -> bool:
    """Return whether a layer's path names a folder of GeoParquet parts.

    A folder named like a file of another format (``migrants.csv/``) is a mistake the file
    reader reports, not a folder of parts; ``migrants/`` and ``migrants.parquet/`` are.
    """
    if config.table is not None or config.path is None:
        return False
    if config.path.suffix.lower() in TABLE_SUFFIXES | VECTOR_SUFFIXES:
        return False
    try:
        return config.path.is_dir()
    except OSError:  # a name too long for the file system: the file reader says so
        return False


def part_label(config: LayerConfig, part: str) -> str:
    """Return how messages name a part: the folder as the project names it, then the file."""
    return f"{_label(config)}/{part}"


def _label(config: LayerConfig) -> str:
    """Return the folder as the project names it, without a trailing slash (``migrants``)."""
    return config.source.rstrip("/\\") or config.path.name  # type: ignore[union-attr]


def _chosen(
    config: LayerConfig, parts: Sequence[str | Path] | None, problems: Problems
) -> list[Path]:
    """Return the parts to read: all of the folder's, or those asked for that exist."""
    folder, label = config.path, _label(config)
    assert folder is not None
    if parts is None:
        for stray in stray_files(folder):
            problems.add(f"{label}/{stray.name}", None, None, "unreadable-file",
                         "not a .parquet part: a folder of parts holds only GeoParquet files "
                         f"(and its {INDEX_FILE}); move it out of the folder")
        files = part_files(folder)
        if not files:
            problems.add(label, None, None, "empty-layer",
                         f"the folder holds no .parquet part; put the {config.name} layer's "
                         "GeoParquet parts in it, or point the path at a file")
        return files
    files = []
    for part in parts:
        path = Path(part) if Path(part).is_absolute() else folder / part
        if path.is_file():
            files.append(path)
        else:
            problems.add(f"{label}/{Path(part).name}", None, None, "missing-file",
                         f"no part {Path(part).name} in {label}; list the parts with "
                         "coverage.io.parts.list_parts")
    return files


def _partition_key(config: LayerConfig, problems: Problems) -> str | None:
    """Return the partition key column named by the folder's index, if it has one."""
    assert config.path is not None
    if not (config.path / INDEX_FILE).is_file():
        return None
    try:
        return read_index(config.path).get("key")
    except PartsError as exc:
        problems.add(f"{_label(config)}/{INDEX_FILE}", None, None, "unreadable-file",
                     f"{exc}; the parts are read without it", "warning")
        return None


def read_partitioned(
    config: LayerConfig,
    parts: Sequence[str | Path] | None = None,
    *,
    problems: Problems,
    salt: Callable[[], bytes],
) -> tuple[pd.DataFrame | None, np.ndarray | None, str]:
    """Read and check a layer's parts (all, or those in ``parts``), converted to WGS-84.

    Parameters
    ----------
    config
        The layer, whose path is a folder of parts.
    parts
        Names of the parts to read (``part-003.parquet``), default all.
    problems
        Collector; each problem names the part.
    salt
        The project's salt (ID numbers are hashed as in any file).

    Returns
    -------
    (DataFrame or None, array or None, str)
        As :func:`coverage.io.layers.read_layer`: the attributes with
        :data:`~coverage.io.layers.ROW` (the feature number in the part) and
        :data:`~coverage.io.layers.SOURCE_FILE` (the part), in the order of the table the
        parts were split from; the WGS-84 geometries (``None`` when every part gave its
        places as coordinate columns); the coordinate conversion.
    """
    layer = LAYERS[config.name]
    key = _partition_key(config, problems)
    pieces: list[_Piece] = []
    conversion = ""
    for path in _chosen(config, parts, problems):
        name = f"{_label(config)}/{path.name}"
        raw = read_table(path, problems=problems, name=name, encoding=config.encoding,
                         personal=layer.personal)
        if raw is None or not len(raw.frame):
            continue
        if key is not None and key in raw.frame:  # bookkeeping of the parts, not data
            raw.frame = raw.frame.drop(columns=[key])
        frame, geoms, converted = check_raw(raw, layer, config, problems=problems, salt=salt)
        frame[SOURCE_FILE] = name
        conversion = conversion or converted
        pieces.append(_Piece(frame, geoms, raw.labels))
    if not pieces:
        return None, None, ""
    frame, geoms, labels = _combine(pieces)
    _check_repeats_across(frame, layer, problems)
    return *_in_table_order(frame, geoms, labels), conversion


def _as_points(piece: _Piece) -> np.ndarray:
    """Points of a part that gave coordinate columns (missing where they are unusable)."""
    lon, lat = piece.frame["lon"].to_numpy(float), piece.frame["lat"].to_numpy(float)
    points = shapely.points(lon, lat)
    points[np.isnan(lon) | np.isnan(lat)] = None
    return points


def _combine(pieces: list[_Piece]) -> tuple[pd.DataFrame, np.ndarray | None, np.ndarray | None]:
    """Stack the parts: attributes, geometries and row labels (``None`` unless every part has)."""
    with_geoms = [p.geoms is not None for p in pieces]
    geoms = None
    if any(with_geoms):  # parts that gave coordinates become points like the others
        geoms = np.concatenate([p.geoms if p.geoms is not None else _as_points(p)
                                for p in pieces])
        for p in pieces:
            p.frame = p.frame.drop(columns=[c for c in ("lon", "lat") if c in p.frame])
    frame = pd.concat([p.frame for p in pieces], ignore_index=True)
    frame[SOURCE_FILE] = frame[SOURCE_FILE].astype("category")
    labels = (np.concatenate([p.labels for p in pieces])  # type: ignore[misc]
              if all(p.labels is not None for p in pieces) else None)
    return frame, geoms, labels


def _in_table_order(
    frame: pd.DataFrame, geoms: np.ndarray | None, labels: np.ndarray | None
) -> tuple[pd.DataFrame, np.ndarray | None]:
    """Put the rows back in the order of the table the parts were split from.

    That order is the parts' row labels when they are all distinct; otherwise (parts written
    without their index) the rows stay part by part, in the order of the parts' names.
    """
    if labels is None or len(np.unique(labels)) != len(labels):
        return frame, geoms
    order = np.argsort(labels, kind="stable")
    if (order == np.arange(len(order))).all():
        return frame, geoms
    frame = frame.take(order).reset_index(drop=True)
    return frame, None if geoms is None else geoms[order]


def _check_repeats_across(frame: pd.DataFrame, layer: Layer, problems: Problems) -> None:
    """Report ids that repeat an id of another part (repeats within a part are reported there)."""
    key = layer.id_column
    if key not in frame:
        return
    ids = frame[key]
    files = frame[SOURCE_FILE].astype(str).to_numpy(dtype=object)
    position = pd.Series(np.arange(len(frame)), index=frame.index)
    first = position.groupby(ids, dropna=True).transform("first").to_numpy()
    seen = ids.notna().to_numpy()
    first = np.where(seen, first, 0).astype(np.int64)
    across = seen & (first != position.to_numpy()) & (files != files[first])
    rows = frame[ROW].to_numpy()
    for k in np.flatnonzero(across)[:MAX_LISTED]:
        problems.add(str(files[k]), int(rows[k]), key, "duplicate-id",
                     f"each {key} must be unique; this row repeats the id of row "
                     f"{int(rows[first[k]])} of {files[first[k]]}")
    rest = np.flatnonzero(across)[MAX_LISTED:]
    for name in dict.fromkeys(files[rest]):
        problems.add_rows(str(name), rows[rest][files[rest] == name], key, "duplicate-id",
                          f"each {key} must be unique across the parts")
