"""Writing a run's results: ``results.gpkg`` and its CSV copies, whole or not at all.

What the main job (:func:`coverage.engine.run.run_study`), ``coverage recommend`` and
``coverage simulate`` write into a project's output folder, and under which names: the result
layers, the one person-level layer (only on request, into ``private/``), the recommendation's
and the simulations' layers, kept by name so that a new run never leaves stale ones beside its
own. Files are written beside their target and renamed into place, one writer at a time
(:mod:`coverage.io.atomic`), by the GeoPackage store (:mod:`coverage.store.files`, and
:mod:`coverage.store.gpkg`, which also keeps each run in the folder's history ``runs/``);
text cells a spreadsheet would take for a formula are neutralised.

:func:`save_results` and :func:`save_layers` are the one place deciding where a project's
results go: a folder given, or the project's store (:func:`coverage.store.open_store`: its
PostGIS database when ``[store] url`` names one, else its output folder).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from coverage.engine.reader import published_layers
from coverage.io.atomic import folder_lock, private_folder, replace_file, write_partial
from coverage.patterns import PATTERN_LAYERS
from coverage.store import StoreError, open_store
from coverage.store.files import replace_layers
from coverage.store.gpkg import GeoPackageStore

if TYPE_CHECKING:
    from coverage.engine.run import RunResults
    from coverage.io.project import Project

RESULT_LAYERS = ("site_catchments", "community_summary", "district_summary", "funding",
                 "indicators", "scorecard", *PATTERN_LAYERS, "run_info", "data_quality")
"""Layers written to ``results.gpkg``: aggregates, provenance and data quality only (``funding``
only for a project with a ``budgets`` layer)."""

PERSON_LAYER = "migrant_access"
"""The one person-level layer (ids and times); written only on request, into ``private/``."""

RECOMMENDATION_LAYERS = ("recommended_sites", "recommended_staff", "scenario_comparison",
                         "recommendation_cost")
"""Layers ``coverage recommend`` and ``coverage simulate`` add to a run's ``results.gpkg``."""

RECOMMENDATION_FILES = ("recommended_scenario.json",)
#: Prefix of the layers (and CSVs) that ``simulate`` writes, one per scenario name.
SIMULATION_PREFIX = "simulation_"
"""Files ``coverage recommend`` writes beside the results."""


def write_results(
    results: RunResults, folder: str | Path | None = None, *, person_level: bool = False
) -> Path:
    """Write ``results.gpkg`` and one CSV per layer into ``folder``; return the GeoPackage path.

    The default folder is the project's ``[outputs] dir``. CSV files are UTF-8 with a byte-order
    mark so that Excel opens the Chinese text correctly; text cells that a spreadsheet would
    take for a formula are neutralised (:func:`coverage.store.files.csv_ready`). The
    person-level layer ``migrant_access`` (migrant ids with their travel times) is written only
    with ``person_level``, into ``private/results.gpkg`` and ``private/migrant_access.csv``
    beside the results (folder 0700, files 0600), never into the history: it is personal data,
    for follow-up inside the service, never to be published.

    The write is atomic and exclusive (:mod:`coverage.io.atomic`): the new files are written
    under temporary names, then renamed over the old ones, the GeoPackage last, under the
    folder's lock; an interrupted write leaves the previous results whole. ``run_info`` lists the
    layers written (key ``layers``). The new results replace the previous run's entirely: the
    CSV copies of layers this run does not write and the previous recommendation
    (:data:`RECOMMENDATION_LAYERS`, ``recommended_scenario.json``) and the simulated scenarios
    (``simulation_*``), made on the old baseline, are removed just before the new GeoPackage is
    moved into place. The run is also kept in the folder's history, ``runs/<run id>.gpkg``
    (:class:`coverage.store.gpkg.GeoPackageStore`, which writes it).
    """
    return _write_folder(results, folder, person_level=person_level)[0]


def _write_folder(results: RunResults, folder: str | Path | None, *,
                  person_level: bool) -> tuple[Path, str]:
    """Write a run into a GeoPackage folder (see :func:`write_results`); return it and its id."""
    folder = Path(folder) if folder is not None else results.study.project.output_dir
    layers = results.layers()
    known = (*RESULT_LAYERS, "indicator_quarters", *RECOMMENDATION_LAYERS)
    stale = [folder / f"{name}.csv" for name in known if name not in layers]
    stale += [folder / name for name in RECOMMENDATION_FILES]
    stale += sorted(folder.glob(f"{SIMULATION_PREFIX}*.csv"))
    with folder_lock(folder):
        if person_level:
            _write_private(results, folder)
        store = GeoPackageStore(folder)
        run_id = store.write_run(layers, remove=stale)
        return store.results, run_id


def _write_private(results: RunResults, folder: Path) -> None:
    """Write the person-level layer into ``folder/private/``, owner-only."""
    private = private_folder(folder / "private")
    replace_layers({PERSON_LAYER: results.migrant_access}, private, private=True)


@dataclass(frozen=True)
class SavedRun:
    """Where :func:`save_results` kept a run.

    Attributes
    ----------
    place
        The GeoPackage written (``results.gpkg``), or the name of the PostGIS store.
    run_id
        The run's id in its store.
    """

    place: str
    run_id: str

    def __str__(self) -> str:
        return f"{self.place}; run {self.run_id}"


def save_results(results: RunResults, folder: str | Path | None = None, *,
                 person_level: bool = False, project: Project | None = None) -> SavedRun:
    """Keep a run's results in the project's store; return where, and the run's id.

    What ``coverage run`` calls. With ``folder``, or when the project names no store
    (``[store] url``), the results go into the GeoPackage folder (``folder``, default the
    project's ``[outputs] dir``) exactly as :func:`write_results` writes them. With a PostGIS
    store, the run's layers go into the database in one transaction
    (:meth:`coverage.store.postgis.PostGISStore.write_run`), and nothing into the folder;
    with them, the run's tables as they may be published, which district log-ins read
    (:func:`coverage.engine.reader.published_layers`).

    The person-level layer ``migrant_access`` never goes to a database: with
    ``person_level`` it is written into ``private/`` of the project's output folder (folder
    0700, files 0600), as with the GeoPackage store, and stays on the machine that computed
    it. ``project`` is the project whose store keeps the run (default the results' own).

    Raises
    ------
    coverage.store.StoreError
        When the PostGIS store cannot be reached or written; it then holds the runs it held.
    """
    project = project or results.study.project
    if folder is not None or project.store_url is None:
        path, run_id = _write_folder(results, folder or project.output_dir,
                                     person_level=person_level)
        return SavedRun(str(path), run_id)
    layers = results.layers()
    # what a district's log-in reads: the city's one publication (coverage.engine.reader)
    layers.update(published_layers(layers, project))
    with open_store(project) as store:
        run_id = store.write_run(layers)
        name = store.name
    if person_level:
        with folder_lock(project.output_dir):
            _write_private(results, project.output_dir)
    return SavedRun(name, run_id)


def save_layers(
    project: Project,
    layers: Mapping[str, pd.DataFrame],
    *,
    run_id: str | None,
    folder: str | Path | None = None,
    files: dict[str, str] | None = None,
    drop: tuple[str, ...] | list[str] = (),
) -> str:
    """Keep layers made on a run (a recommendation, a simulated scenario); return where.

    With ``folder``, or when the project names no store, they go into the folder's
    ``results.gpkg`` beside the run (:func:`write_layers`, default folder the project's
    ``[outputs] dir``), as always. With a PostGIS store they are added to the run they were
    made on, ``run_id``, in a transaction of their own
    (:meth:`coverage.store.postgis.PostGISStore.add_layers`), replacing the ones of the same
    name and those in ``drop``; ``files`` (the recommended scenario, for people to edit and
    simulate) are written into the project's output folder.

    Raises
    ------
    coverage.store.StoreError
        With a PostGIS store, when ``run_id`` is ``None`` (no current run to keep them with)
        or the store cannot be written.
    """
    if folder is not None or project.store_url is None:
        return str(write_layers(dict(layers), folder or project.output_dir, files=files,
                                drop=drop))
    with open_store(project) as store:
        if run_id is None:
            msg = (f"{store.name}: no run on the current inputs and parameters to keep the "
                   "layers with; run `coverage run` first")
            raise StoreError(msg)
        store.add_layers(run_id, layers, drop=drop)
        name = store.name
    if files:
        with folder_lock(project.output_dir):
            for file, text in files.items():
                data = text.encode("utf-8")
                target = project.output_dir / file
                replace_file(write_partial(target, lambda fh, d=data: fh.write(d)), target)
    return f"{name} (run {run_id})"


def write_layers(
    layers: dict[str, pd.DataFrame],
    folder: str | Path,
    *,
    files: dict[str, str] | None = None,
    drop: tuple[str, ...] | list[str] = (),
) -> Path:
    """Write (or replace) layers in ``folder/results.gpkg``, each with a CSV copy.

    The other layers of the GeoPackage are kept, but those named in ``drop`` (a set of layers
    written together, such as :data:`RECOMMENDATION_LAYERS`, of which this write replaces only
    some) are removed with their CSVs. The current file is copied to a temporary one,
    the layers are written there, and the copy replaces the file in one rename (under the
    folder's lock), so readers see the whole previous file until then.

    Parameters
    ----------
    layers
        Layer name → table.
    folder
        The results folder.
    files
        Text files to write beside the results (name → UTF-8 text), replaced together with
        the layers (e.g. ``recommended_scenario.json``).
    drop
        Layers to remove unless ``layers`` writes them.

    Returns
    -------
    pathlib.Path
        The GeoPackage.
    """
    folder = Path(folder)
    gone = tuple(name for name in drop if name not in layers)
    with folder_lock(folder):
        target = folder / "results.gpkg"
        return replace_layers(layers, folder, base=target if target.exists() else None,
                              files=files, drop=gone,
                              remove=[folder / f"{name}.csv" for name in gone])


def simulation_layer(name: str) -> str:
    """Return the layer (and CSV) name under which ``simulate`` keeps a scenario's comparison.

    ``simulation_`` and the scenario's name in letters, digits, ``_`` and ``-`` (Chinese
    letters kept); when the name had other characters or was long, a short hash of the whole
    name follows, so that two scenarios never share a layer.
    """
    slug = re.sub(r"[^\w-]+", "_", name).strip("_")[:40]
    if slug != name or not slug:
        slug = f"{slug or 'scenario'}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
    return SIMULATION_PREFIX + slug
