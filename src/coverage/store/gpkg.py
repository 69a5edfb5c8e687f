"""The GeoPackage folder store: the project's output folder, with its history of runs.

The default store, and what users have always had: the latest run is ``results.gpkg`` and one
CSV per layer in the output folder (:mod:`coverage.store.files`), read by reports, the web app
and people alike. Beside it, ``runs/`` keeps every run as ``runs/<run id>.gpkg``: a copy of
the run's ``results.gpkg`` as written, owner-only (folder 0700, files 0600), never changed
after. Each layer carries its column catalogue (:mod:`coverage.store.columns`) as GeoPackage
layer metadata, so a layer reads back with the dtypes it was written with.

A run is written under the folder's lock (:func:`coverage.io.atomic.folder_lock`): every file
is first written under a temporary name, then the history file is renamed into place, then
the CSVs and ``results.gpkg``. A run is listed once its history file is in place, and a reader
sees the previous ``results.gpkg`` until the new one replaces it in one rename.

The planners' saved scenarios are kept in ``scenarios.sqlite`` beside them
(:mod:`coverage.store.scenario_file`), which writing a run leaves alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError

from coverage.io.atomic import folder_lock
from coverage.store.base import (
    Store,
    StoreError,
    check_run_id,
    first_line,
    new_run_id,
    prepare_run,
    runs_frame,
)
from coverage.store.columns import LayerSpec, restore
from coverage.store.files import CATALOGUE_KEY, RESULTS_FILE, replace_layers
from coverage.store.runinfo import RUN_INFO, listed_layers
from coverage.store.scenario_file import SCENARIO_FILE, ScenarioFile

__all__ = ["HISTORY_DIR", "GeoPackageStore"]

HISTORY_DIR = "runs"
"""Folder (inside the output folder) keeping one GeoPackage per run."""


class GeoPackageStore(Store):
    """A project's runs in its output folder: ``results.gpkg`` (the latest) and ``runs/``.

    Parameters
    ----------
    folder
        The output folder (the project's ``[outputs] dir``).
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.name = f"GeoPackage store {self.folder}"

    @property
    def saved(self) -> ScenarioFile:
        """The saved scenarios (``scenarios.sqlite`` in the folder)."""
        return ScenarioFile(self.folder / SCENARIO_FILE, self.name)

    def scenarios(self) -> pd.DataFrame:
        """Return the saved scenarios, by name (see :meth:`Store.scenarios`)."""
        return self.saved.scenarios()

    def read_scenario(self, name: str) -> tuple[str, int]:
        """Return a saved scenario's text and version (see :meth:`Store.read_scenario`)."""
        return self.saved.read(name)

    def save_scenario(self, name: str, text: str, *, expected_version: int | None,
                      saved_by: str | None = None, inputs: str = "") -> int:
        """Save a scenario unless saved since (see :meth:`Store.save_scenario`).

        ``saved_by`` defaults to the system user running the process.
        """
        return self.saved.save(name, text, expected_version=expected_version,
                               saved_by=saved_by, inputs=inputs)

    def delete_scenario(self, name: str, expected_version: int) -> None:
        """Delete a saved scenario unless saved since (see :meth:`Store.delete_scenario`)."""
        self.saved.delete(name, expected_version)

    @property
    def history(self) -> Path:
        """The folder keeping one GeoPackage per run."""
        return self.folder / HISTORY_DIR

    @property
    def results(self) -> Path:
        """The GeoPackage of the latest run (``results.gpkg``)."""
        return self.folder / RESULTS_FILE

    def run_file(self, run_id: str) -> Path:
        """Return the history file of a run (which may not exist)."""
        try:
            return self.history / f"{check_run_id(run_id)}.gpkg"
        except ValueError as exc:
            raise StoreError(f"{self.name}: {exc}") from None

    def write_run(self, layers: Mapping[str, pd.DataFrame], info: pd.DataFrame | None = None,
                  *, remove: list[Path] | tuple[Path, ...] = ()) -> str:
        """Write a new run: its history file, then the folder's CSVs and ``results.gpkg``.

        See :meth:`Store.write_run`. ``remove`` names files of the folder to delete as the
        new run replaces the previous one (the CSVs and files of the previous run's layers
        that this run does not write). A file that cannot be written raises its
        ``OSError`` as it is; the folder then holds the previous run whole.
        """
        run = prepare_run(layers, info)
        with folder_lock(self.folder):
            run_id = new_run_id(after=self.latest_run())
            replace_layers(run, self.folder, remove=tuple(remove),
                           copies=(self.run_file(run_id),))
        return run_id

    def _ids(self) -> list[str]:
        """Return the ids of the runs kept, oldest first."""
        if not self.history.is_dir():
            return []
        ids = []
        for path in self.history.glob("*.gpkg"):
            try:
                ids.append(check_run_id(path.stem))
            except ValueError:
                continue
        return sorted(ids)

    def latest_run(self) -> str | None:
        """Return the id of the latest run, ``None`` when the folder keeps none."""
        ids = self._ids()
        return ids[-1] if ids else None

    def runs(self) -> pd.DataFrame:
        """Return the runs kept in ``runs/``, oldest first (see :meth:`Store.runs`)."""
        return runs_frame([self._record(run_id, self._run_info(run_id))
                           for run_id in self._ids()])

    def _run_info(self, run_id: str) -> pd.DataFrame | None:
        """Read a run's ``run_info`` table (``None`` when its file holds none)."""
        path = self.run_file(run_id)
        try:
            names = [str(name) for name, _ in pyogrio.list_layers(path)]
            if RUN_INFO not in names:
                return None
            return pyogrio.read_dataframe(path, layer=RUN_INFO)
        except (OSError, DataSourceError, DataLayerError) as exc:
            msg = f"{self.name}: {path.name} cannot be read ({first_line(exc)})"
            raise StoreError(msg) from None

    def read_layers(self, run_id: str | None = None,
                    names: list[str] | tuple[str, ...] | None = None) -> dict[str, pd.DataFrame]:
        """Return layers of a run exactly as written (see :meth:`Store.read_layers`)."""
        run_id = run_id if run_id is not None else self.latest_run()
        if run_id is None:
            msg = f"{self.name}: no run kept yet (run `coverage run` first)"
            raise StoreError(msg)
        path = self.run_file(run_id)
        if not path.is_file():
            msg = f"{self.name}: no run {run_id} (`coverage runs` lists the runs kept)"
            raise StoreError(msg)
        try:
            in_file = [str(name) for name, _ in pyogrio.list_layers(path)]
            info = self._run_info(run_id)
            listed = listed_layers(info) if info is not None else None
            available = [n for n in (listed or in_file) if n in in_file]
            wanted = self._wanted(run_id, names, available)
            return {name: _read_layer(path, name) for name in wanted}
        except (OSError, DataSourceError, DataLayerError) as exc:
            msg = f"{self.name}: run {run_id} cannot be read ({first_line(exc)})"
            raise StoreError(msg) from None


def _read_layer(path: Path, name: str) -> pd.DataFrame:
    """Read one layer of a GeoPackage, rebuilt from its catalogue when it has one."""
    metadata = pyogrio.read_info(path, layer=name).get("layer_metadata") or {}
    if CATALOGUE_KEY not in metadata:
        return pyogrio.read_dataframe(path, layer=name)
    spec = LayerSpec.from_json(metadata[CATALOGUE_KEY])
    meta, table = pyogrio.read_arrow(path, layer=name)
    values = {column: table.column(column) for column in table.column_names}
    if spec.geometry is not None:
        values[spec.geometry] = table.column(meta["geometry_name"] or "wkb_geometry")
    return restore(spec, values)
