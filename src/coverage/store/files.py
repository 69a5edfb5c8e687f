"""A results folder's files: ``results.gpkg`` and one CSV per layer, replaced whole.

The format-level part of writing results into a folder, shared by the GeoPackage store
(:mod:`coverage.store.gpkg`) and the engine's writers (:mod:`coverage.engine.writing`, which
decide which layers and files a run replaces). Everything is written under temporary names
beside its target, then renamed into place, the GeoPackage last (:mod:`coverage.io.atomic`);
text cells a spreadsheet would take for a formula are neutralised in the CSVs. Each layer of
the GeoPackage carries its column catalogue (:mod:`coverage.store.columns`) as layer metadata,
so that the store reads it back with its dtypes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyogrio

from coverage.io.atomic import (
    partial_path,
    private_folder,
    remove_partials,
    replace_file,
    write_partial,
)
from coverage.store.base import StoreError
from coverage.store.columns import LayerSpec, describe

__all__ = ["CATALOGUE_KEY", "RESULTS_FILE", "copy_results", "csv_ready", "layer_catalogue",
           "replace_layers"]

RESULTS_FILE = "results.gpkg"
"""The GeoPackage holding a folder's latest results."""

CATALOGUE_KEY = "coverage_columns"
"""Layer metadata key of a layer's column catalogue (JSON) in a GeoPackage."""

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def layer_catalogue(table: pd.DataFrame, name: str) -> LayerSpec | None:
    """Return the catalogue kept with a layer in a GeoPackage (``None`` when it has none).

    Columns a GeoPackage cannot keep exactly are recorded as read back by GDAL; a layer whose
    column names are not distinct text gets no catalogue.
    """
    try:
        return describe(table, name, strict=False, time_unit="ms")
    except StoreError:
        return None


def _write_layer(table: pd.DataFrame, gpkg: Path, name: str) -> None:
    """Write one layer into ``gpkg`` (replacing one of that name) with its catalogue."""
    spec = layer_catalogue(table, name)
    metadata = None if spec is None else {CATALOGUE_KEY: spec.to_json()}
    zoned = [i for i, dtype in enumerate(table.dtypes) if isinstance(dtype, pd.DatetimeTZDtype)]
    if zoned:  # GDAL keeps a time zone to the quarter hour only: keep the instants, in UTC
        table = table.copy()
        for i in zoned:
            table.isetitem(i, table.iloc[:, i].dt.tz_convert("UTC"))
    pyogrio.write_dataframe(table, gpkg, layer=name, driver="GPKG",
                            layer_options={"OVERWRITE": "YES"}, layer_metadata=metadata)


def replace_layers(
    layers: dict[str, pd.DataFrame],
    folder: Path,
    *,
    base: Path | None = None,
    private: bool = False,
    remove: list[Path] | tuple[Path, ...] = (),
    files: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
    copies: tuple[Path, ...] = (),
) -> Path:
    """Write ``layers`` (onto a copy of ``base``) and their CSVs, then rename all into place.

    Call while holding the folder's lock (:func:`coverage.io.atomic.folder_lock`). Everything
    is written under temporary names first; then each of ``copies`` (owner-only copies of the
    new GeoPackage, e.g. a run's history file) is renamed into place, ``remove`` is deleted,
    the CSVs and ``files`` are renamed and the GeoPackage last. An error on the way removes
    the temporary files and leaves the previous files as they were.

    Parameters
    ----------
    layers
        Layer name → table, written to ``folder/results.gpkg`` and ``folder/<name>.csv``.
    folder
        The results folder (created when missing).
    base
        A GeoPackage whose other layers are kept (its layers named in ``drop`` left out).
    private
        Write owner-only files (personal data).
    remove
        Files to delete just before the new ones are renamed into place.
    files
        Text files to write beside the results (name → UTF-8 text).
    drop
        Layers of ``base`` to leave out.
    copies
        Where to keep owner-only copies of the new GeoPackage (their folders are created
        owner-only).

    Returns
    -------
    pathlib.Path
        The GeoPackage.
    """
    folder.mkdir(parents=True, exist_ok=True)
    remove_partials(folder)
    for copy in copies:
        remove_partials(private_folder(copy.parent))
    target = folder / RESULTS_FILE
    gpkg = partial_path(target)
    ready: list[tuple[Path, Path]] = []
    kept: list[tuple[Path, Path]] = []
    try:
        if base is not None:
            copy_results(base, gpkg, drop=drop, replaced=set(layers))
        for name, table in layers.items():
            _write_layer(table, gpkg, name)
            csv = folder / f"{name}.csv"
            ready.append((_write_csv(table, csv, private=private), csv))
        for name, text in (files or {}).items():
            data = text.encode("utf-8")
            ready.append((write_partial(folder / name, lambda fh, d=data: fh.write(d),
                                        private=private), folder / name))
        for copy in copies:
            with gpkg.open("rb") as source:
                kept.append((write_partial(copy, lambda fh, s=source: shutil.copyfileobj(s, fh),
                                           private=True), copy))
        for partial, final in kept:
            replace_file(partial, final, private=True)
        for path in remove:
            path.unlink(missing_ok=True)
        for partial, final in ready:
            replace_file(partial, final, private=private)
        return replace_file(gpkg, target, private=private)
    except BaseException:
        for partial in (gpkg, *(p for p, _ in ready), *(p for p, _ in kept)):
            partial.unlink(missing_ok=True)
        raise


def _write_csv(table: pd.DataFrame, csv: Path, *, private: bool) -> Path:
    """Write a layer's CSV copy (UTF-8 with a byte-order mark) under a temporary name."""
    plain = (pd.DataFrame(table.drop(columns=table.geometry.name))
             if isinstance(table, gpd.GeoDataFrame) else table)
    frame = pa.Table.from_pandas(csv_ready(plain), preserve_index=False)

    def write(fh: object) -> None:
        fh.write(b"\xef\xbb\xbf")
        pacsv.write_csv(frame, fh)

    return write_partial(csv, write, private=private)


def copy_results(base: Path, copy: Path, *, drop: tuple[str, ...], replaced: set[str]) -> None:
    """Copy a results GeoPackage, leaving out the layers in ``drop``.

    GDAL (through pyogrio) cannot delete a layer from a GeoPackage, so a copy without some
    layers is written layer by layer; a plain file copy when nothing is left out.
    """
    names = [str(name) for name, _ in pyogrio.list_layers(base)]
    if not set(drop) & set(names):
        shutil.copyfile(base, copy)
        return
    for name in names:
        if name not in drop and name not in replaced:
            table = pyogrio.read_dataframe(base, layer=name)
            metadata = pyogrio.read_info(base, layer=name).get("layer_metadata") or None
            pyogrio.write_dataframe(table, copy, layer=name, driver="GPKG",
                                    layer_metadata=metadata)


def _neutralise(value: object) -> object:
    """Prefix ``'`` to text a spreadsheet would run as a formula (``=``, ``+``, ``@`` ...)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Plain numpy/str columns for CSV writing (nullable dtypes become object with blanks).

    Text cells starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (site and
    community names come from users' files) get a leading ``'`` so that Excel shows them as
    text instead of running them; numbers, negative ones included, stay numbers.
    """
    out = {}
    for col in frame.columns:
        s = frame[col]
        if isinstance(s.dtype, pd.BooleanDtype | pd.Int64Dtype):
            s = s.astype(object).where(s.notna(), None)
        elif s.dtype == object or isinstance(s.dtype, pd.StringDtype):
            s = s.map(_neutralise, na_action="ignore")
        out[col] = s
    return pd.DataFrame(out)
