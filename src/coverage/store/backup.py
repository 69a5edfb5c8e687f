"""Backup and moving: a project's runs in one GeoPackage file, and back into a store.

:func:`export_runs` writes every run of a project kept in a store (any :class:`Store`: the
PostGIS store or the GeoPackage folder) into one GeoPackage file; :func:`import_runs` writes
the runs of such a file into a store under their own ids (``coverage db export`` and
``coverage db import``, ``docs/store.md``). The file holds:

* ``coverage_export``: ``key``/``value`` rows saying what the file is (:data:`FORMAT`, its
  version, the project, how many runs, where from and when);
* ``coverage_runs``: one row per run, oldest first: the columns of :meth:`Store.runs`
  (``time`` as ISO 8601 text; ``input_sha256``, ``layers`` and the run's ``parameters`` as
  JSON text);
* ``coverage_layers``: one row per layer of each run, in the run's order: the run, the
  layer's position and name, the table holding it, whether it is one of the run's own layers
  or was added later (a recommendation), its rows and its column catalogue
  (:meth:`coverage.store.columns.LayerSpec.to_json`);
* one table per layer of each run, ``run<N>_<layer>`` (``N``: the run's number in the file,
  from 1), holding the layer's rows in order.

Each layer reads back exactly as the store gave it, by the catalogue: the dtypes, ``-0.0``,
the kind of each missing value, the CRS. Times are kept as whole microseconds since
1970-01-01 (UTC for a time with a zone), since a GeoPackage keeps times to the millisecond
only. The person-level layer is never written. The file is written under a temporary name,
owner-only (0600), and renamed into place when complete.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError

from coverage.io.atomic import partial_path, replace_file
from coverage.store.base import RUN_COLUMNS, Store, StoreError, check_run_id, first_line
from coverage.store.columns import LayerSpec, describe, restore
from coverage.store.districts import PERSON_LAYER
from coverage.store.runinfo import RUN_INFO, run_record

__all__ = ["FORMAT", "FORMAT_VERSION", "ExportError", "ExportFile", "ExportedRun",
           "ImportDone", "export_runs", "identical", "import_runs", "read_export"]

FORMAT = "coverage-planner runs"
"""What ``coverage_export`` says the file is."""

FORMAT_VERSION = 1
"""The version of the file's layout this code writes and reads."""

_META, _RUNS, _LAYERS = "coverage_export", "coverage_runs", "coverage_layers"
_BAD_FILE = "not a coverage export (write one with `coverage db export`)"


class ExportError(ValueError):
    """A file that is missing or not an export this code reads; the message is one line."""


@dataclass(frozen=True)
class ExportedRun:
    """One run of an export file.

    Attributes
    ----------
    run_id
        The run's id.
    own
        The run's own layers, in order (those of :meth:`Store.runs`).
    layers
        Every layer of the run in order, the layers added later after its own.
    """

    run_id: str
    own: tuple[str, ...]
    layers: dict[str, pd.DataFrame]


@dataclass
class ImportDone:
    """What :func:`import_runs` did.

    Attributes
    ----------
    imported
        The runs written into the store, oldest first.
    skipped
        The runs the store already held, identical.
    """

    imported: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _time_columns(spec: LayerSpec) -> list[str]:
    return [c.name for c in spec.columns if c.dtype.startswith("datetime64")]


def _encoded(frame: pd.DataFrame, spec: LayerSpec) -> pd.DataFrame:
    """Return the frame as the file keeps it: times as whole microseconds (UTC instants)."""
    times = _time_columns(spec)
    if not times:
        return frame
    out = frame.copy()
    for name in times:
        values = out[name]
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        ticks = values.to_numpy().astype("datetime64[us]").astype(np.int64)
        out[name] = pd.arrays.IntegerArray(ticks, values.isna().to_numpy())
    return out


def _table_name(number: int, layer: str) -> str:
    return f"run{number}_{layer}"


def _write_table(frame: pd.DataFrame, path: Path, layer: str) -> None:
    pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG")


def export_runs(store: Store, project: str, path: str | Path, *, source: str | None = None,
                on_run: Callable[[str], None] | None = None) -> list[str]:
    """Write every run of ``project`` kept in ``store`` into one GeoPackage file.

    Parameters
    ----------
    store
        The store holding the runs (read through :meth:`Store.runs` and
        :meth:`Store.read_layers`, so layers added to a run later come too).
    project
        The project's name: the runs whose ``project`` it is are written.
    path
        The file (``.gpkg``); replaced whole when it exists.
    source
        How the file names where the runs came from (default the store's name).
    on_run
        Called with each run's id once it is written (a progress bar).

    Returns
    -------
    list of str
        The ids of the runs written, oldest first.

    Raises
    ------
    StoreError
        When the store holds no run of the project, or cannot be read; no file is left then.
    OSError
        When the file cannot be written (its temporary file is removed).
    """
    runs = store.runs()
    mine = runs[runs["project"] == project].reset_index(drop=True)
    if mine.empty:
        held = sorted({str(p) for p in runs["project"] if p is not None})
        msg = (f"{store.name}: holds no run of project {project!r}"
               + (f" (its runs are of {', '.join(held)})" if held else ""))
        raise StoreError(msg)
    target = Path(path)
    partial = partial_path(target)
    try:
        rows, index = [], []
        for number, run in enumerate(mine.itertuples(index=False), start=1):
            layers = store.read_layers(run.run_id)
            layers.pop(PERSON_LAYER, None)
            own = [name for name in run.layers if name in layers]
            for position, (name, frame) in enumerate(layers.items()):
                spec = describe(frame, name, strict=False)
                table = _table_name(number, name)
                _write_table(_encoded(frame, spec), partial, table)
                index.append({"run_id": run.run_id, "position": position, "layer": name,
                              "table_name": table, "own": name in own, "rows": spec.rows,
                              "columns": spec.to_json()})
            rows.append(_run_row(run._asdict(), own, layers.get(RUN_INFO)))
            if on_run is not None:
                on_run(run.run_id)
        _write_table(pd.DataFrame(rows), partial, _RUNS)
        _write_table(pd.DataFrame(index), partial, _LAYERS)
        meta = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "project": project,
                "runs": str(len(rows)), "source": source or store.name,
                "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        _write_table(pd.DataFrame({"key": list(meta), "value": list(meta.values())}), partial,
                     _META)
        replace_file(partial, target, private=True)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return [str(r) for r in mine["run_id"]]


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _run_row(run: dict[str, object], own: list[str],
             info: pd.DataFrame | None) -> dict[str, object]:
    """Return a run's row of ``coverage_runs``."""
    row: dict[str, object] = {key: run[key] for key in RUN_COLUMNS}
    row["time"] = pd.Timestamp(run["time"]).isoformat()
    row["input_sha256"] = _json(run["input_sha256"])
    row["layers"] = _json(own)
    row["parameters"] = _json(run_record(info)["parameters"])
    return row


def _read_table(path: Path, name: str) -> pd.DataFrame:
    return pyogrio.read_dataframe(path, layer=name, read_geometry=False)


def _catalogue(path: Path) -> tuple[dict[str, str], pd.DataFrame]:
    """Return the file's description and its layers' index, or raise :class:`ExportError`."""
    if not path.is_file():
        raise ExportError(f"{path}: no such file")
    try:
        names = {str(name) for name, _ in pyogrio.list_layers(path)}
        if not {_META, _RUNS, _LAYERS} <= names:
            raise ExportError(f"{path}: {_BAD_FILE}")
        meta_table = _read_table(path, _META)
        meta = dict(zip(meta_table["key"].astype(str), meta_table["value"].astype(str),
                        strict=True))
        index = _read_table(path, _LAYERS)
    except (OSError, DataSourceError, DataLayerError, KeyError) as exc:
        raise ExportError(f"{path}: {_BAD_FILE} ({first_line(exc)})") from None
    if meta.get("format") != FORMAT:
        raise ExportError(f"{path}: {_BAD_FILE}")
    if meta.get("format_version") != str(FORMAT_VERSION):
        raise ExportError(f"{path}: an export of layout version {meta.get('format_version')}, "
                          f"which this coverage-planner does not read (it reads version "
                          f"{FORMAT_VERSION}); upgrade coverage-planner")
    return meta, index.sort_values(["run_id", "position"], kind="stable")


def _read_layer(path: Path, table: str, spec: LayerSpec) -> pd.DataFrame:
    """Read one layer's table, rebuilt from its catalogue."""
    meta, data = pyogrio.read_arrow(path, layer=table)
    values = {column: data.column(column) for column in data.column_names}
    for name in _time_columns(spec):
        values[name] = values[name].cast(pa.int64()).cast(pa.timestamp("us"))
    if spec.geometry is not None:
        values[spec.geometry] = data.column(meta["geometry_name"] or "wkb_geometry")
    return restore(spec, values)


@dataclass(frozen=True)
class ExportFile:
    """An export file opened by :func:`read_export`.

    Attributes
    ----------
    path
        The file.
    meta
        Its ``coverage_export`` rows (key → value).
    index
        Its ``coverage_layers`` table, by run and position.
    """

    path: Path
    meta: dict[str, str]
    index: pd.DataFrame

    @property
    def run_ids(self) -> list[str]:
        """The ids of the file's runs, oldest first."""
        return [str(i) for i in dict.fromkeys(self.index["run_id"])]

    def run(self, run_id: str) -> ExportedRun:
        """Read one run of the file.

        Raises
        ------
        ExportError
            When the file holds no such run, or its tables cannot be read.
        """
        rows = self.index[self.index["run_id"] == run_id]
        try:
            check_run_id(run_id)
            if rows.empty:
                raise KeyError(run_id)
            layers = {str(r.layer): _read_layer(self.path, str(r.table_name),
                                                LayerSpec.from_json(str(r.columns)))
                      for r in rows.itertuples(index=False)}
        except (ValueError, KeyError, OSError, DataSourceError, DataLayerError) as exc:
            msg = f"{self.path}: run {run_id} cannot be read ({first_line(exc)})"
            raise ExportError(msg) from None
        own = tuple(str(r.layer) for r in rows.itertuples(index=False) if bool(r.own))
        return ExportedRun(run_id, own, layers)

    def runs(self) -> Iterator[ExportedRun]:
        """Read the file's runs one by one, oldest first (see :meth:`run`)."""
        for run_id in self.run_ids:
            yield self.run(run_id)


def read_export(path: str | Path) -> ExportFile:
    """Open an export file written by :func:`export_runs`.

    Raises
    ------
    ExportError
        When the file is missing, is not an export, or of a layout this code does not read.
    """
    path = Path(path)
    meta, index = _catalogue(path)
    return ExportFile(path, meta, index.reset_index(drop=True))


def identical(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Return whether two layers are the same frame: dtypes, values, kinds of missing values.

    Floats are compared with ``-0.0`` told from ``0.0``, geometry by its WKB, the CRS and the
    active geometry by the catalogue (:func:`coverage.store.columns.describe`).
    """
    if type(a) is not type(b) or list(a.columns) != list(b.columns):
        return False
    if describe(a, "", strict=False) != describe(b, "", strict=False):
        return False
    for position in range(a.shape[1]):
        x = a.iloc[:, position].reset_index(drop=True)
        y = b.iloc[:, position].reset_index(drop=True)
        if str(x.dtype) == "geometry":
            same = list(shapely.to_wkb(np.asarray(x.array))) == list(
                shapely.to_wkb(np.asarray(y.array)))
        elif x.dtype == object:
            gaps = x.isna().to_numpy()
            same = bool((gaps == y.isna().to_numpy()).all()) and list(x[~gaps]) == list(
                y[~gaps])
        else:
            same = x.equals(y)
        if not same:
            return False
    return True


def _same_run(store: Store, run: ExportedRun, kept: tuple[str, ...]) -> bool:
    """Whether the store holds ``run`` as it is: the same own layers, every layer identical."""
    if tuple(kept) != run.own:
        return False
    layers = store.read_layers(run.run_id)
    layers.pop(PERSON_LAYER, None)
    return list(layers) == list(run.layers) and all(
        identical(frame, layers[name]) for name, frame in run.layers.items())


def import_runs(path: str | Path, store: Store, *,
                on_run: Callable[[str, bool], None] | None = None) -> ImportDone:
    """Write the runs of an export file into ``store``, each under its own id.

    A run the store already holds is skipped when it is identical (its own layers and every
    layer, added ones included); when it differs, nothing at all is imported. Each run is
    written in one transaction of its own (:meth:`Store.put_run`), its rows placed in their
    districts as when it was first written.

    Parameters
    ----------
    path
        The export file (:func:`export_runs`).
    store
        The store to write into.
    on_run
        Called with each run's id and whether it was written (``False``: already there).

    Raises
    ------
    ExportError
        When the file is missing or no export, or a run of it cannot be read.
    StoreError
        When the store cannot be read or written (not set up: ``coverage db init``), or holds
        a run of the file with other contents.
    """
    export = read_export(path)
    held = store.runs()
    kept = {str(r.run_id): tuple(r.layers) for r in held.itertuples(index=False)}
    for run_id in export.run_ids:
        if run_id in kept and not _same_run(store, export.run(run_id), kept[run_id]):
            msg = (f"{store.name}: already holds run {run_id} with other contents; "
                   "nothing imported")
            raise StoreError(msg)
    done = ImportDone()
    for run_id in export.run_ids:
        written = run_id not in kept
        if written:
            run = export.run(run_id)
            store.put_run(run_id, run.layers, own=run.own)
            done.imported.append(run_id)
        else:
            done.skipped.append(run_id)
        if on_run is not None:
            on_run(run_id, written)
    return done
