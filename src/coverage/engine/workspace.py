"""A project's workspace: its results loaded, checked, computed and written, kept per process.

This module owns what a project has computed: :func:`load_results` reads the layers of the
latest run on the current inputs from the project's store (``results.gpkg`` of the output
folder, or the latest current run of its PostGIS store), and computes and writes them through
the store when there is none (``load_results(..., run=ID)`` reads any run kept);
:func:`keep_layers` keeps a recommendation or a simulated scenario with the run it was made
on. :func:`scenario_model` keeps the analysis model of each project and travel mode once per
process, and :func:`shared_layers` / :func:`shared_figures` keep what a server's many sessions
read alike. :func:`forget` drops a project's copies (after its inputs changed,
or in tests). The report, the web app and notebooks all take their results from here.

The model holds personal data (the migrants' positions on the roads); it stays in this
process's memory, never written anywhere.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError

from coverage.engine.baseline import Baseline
from coverage.engine.provenance import input_hashes, is_current, listed_layers, parameters_digest
from coverage.engine.recommend import recommend
from coverage.engine.scenario import ScenarioModel
from coverage.engine.writing import RECOMMENDATION_LAYERS, save_layers, save_results
from coverage.io.atomic import folder_lock
from coverage.io.loaders import load_study
from coverage.io.project import Project, load_project
from coverage.network import RoadNetwork
from coverage.store import Store, open_store
from coverage.store.gpkg import GeoPackageStore

if TYPE_CHECKING:
    from coverage.io.loaders import StudyData

__all__ = ["DEFAULT_NEW_SITES", "DEFAULT_NEW_STAFF", "current_layer", "current_run", "forget",
           "keep_layers", "load_results", "model_loaded", "scenario_model", "shared_figures",
           "shared_layers"]

_MODELS: dict[tuple[str, str], ScenarioModel] = {}
_MODELS_LOCK = threading.Lock()
_LAYERS: dict[tuple[str, str], dict[str, pd.DataFrame]] = {}
_LAYERS_LOCK = threading.Lock()
_FIGURES: dict[tuple[str, str], dict[tuple, object]] = {}
_FIGURES_LOCK = threading.Lock()


def _key(project: Project, mode: str) -> tuple[str, str]:
    return (str(project.path.resolve()), mode)


def scenario_model(project: Project, mode: str, *, study: StudyData | None = None,
                   network: RoadNetwork | None = None, baseline: Baseline | None = None,
                   clusters: gpd.GeoDataFrame | None = None) -> ScenarioModel:
    """Return the project's :class:`ScenarioModel` for ``mode``, built once per process.

    Kept in this process's memory only, keyed by the project file and the mode. ``study``
    and ``network``, when the caller has just loaded them, are used to build it, and
    ``baseline``, the routing of a main job just run on that study, spares routing again.
    The main job's under-served clusters (``clusters``, or the layer of the project's
    current results) spare finding them again for a recommendation.
    """
    key = _key(project, mode)
    with _MODELS_LOCK:
        if key not in _MODELS:
            if clusters is None:
                clusters = current_layer(project, mode, "underserved_clusters")
            _MODELS[key] = ScenarioModel(project if study is None else study, network=network,
                                         mode=mode, baseline=baseline, clusters=clusters)
        return _MODELS[key]


def model_loaded(project: Project, mode: str) -> bool:
    """Whether :func:`scenario_model` already holds the project's model for ``mode``."""
    return _key(project, mode) in _MODELS


def shared_layers(project: Project, mode: str,
                  read: Callable[[], dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """Return the project's result layers for ``mode``, read (with ``read``) once per process.

    The same objects for every caller: read them, never modify them in place.
    """
    key = _key(project, mode)
    with _LAYERS_LOCK:
        if key not in _LAYERS:
            _LAYERS[key] = read()
        return _LAYERS[key]


def shared_figures(project: Project, mode: str) -> dict[tuple, object]:
    """Return the process's store of figures derived from the project's results alone."""
    with _FIGURES_LOCK:
        return _FIGURES.setdefault(_key(project, mode), {})


def forget(project: Project | None = None) -> None:
    """Drop the process's copies of a project's results, model and figures (all: ``None``)."""
    for store, lock in ((_MODELS, _MODELS_LOCK), (_LAYERS, _LAYERS_LOCK),
                        (_FIGURES, _FIGURES_LOCK)):
        with lock:
            for key in list(store):
                if project is None or key[0] == str(project.path.resolve()):
                    del store[key]


#: Recommendation made for a report when the results hold none (``coverage recommend`` makes
#: others): three new service points for coverage, twenty new staff for the largest shortfalls.
DEFAULT_NEW_SITES = 3
DEFAULT_NEW_STAFF = 20

_RECOMMENDATION = RECOMMENDATION_LAYERS


def _current_layers(gpkg: Path, project: Project, mode: str) -> dict[str, pd.DataFrame]:
    """Read the layers of ``results.gpkg`` if they are a complete, current run, else none.

    Complete: the file opens, has ``run_info``, and holds every layer ``run_info`` lists under
    ``layers`` (a file without that list, or missing one of its layers, is not used: the
    results are computed again rather than shown with sections missing). Current: ``run_info``
    matches the project's inputs, parameters and ``mode``. The layers are read again when a
    new run replaced the file while they were read, so that they all come from one run.
    """
    for _attempt in range(3):
        try:
            before = gpkg.stat()
            names = [name for name, _ in pyogrio.list_layers(gpkg)]
            if "run_info" not in names:
                return {}
            info = pyogrio.read_dataframe(gpkg, layer="run_info")
            listed = listed_layers(info)
            if listed is None or not set(listed) <= set(names):
                return {}
            if not is_current(info, project, mode):
                return {}
            layers = {name: info if name == "run_info" else
                      pyogrio.read_dataframe(gpkg, layer=name) for name in names}
            after = gpkg.stat()
        except (OSError, DataSourceError, DataLayerError, KeyError):
            return {}
        if (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns):
            return layers
    return {}


def current_layer(project: Project, mode: str, name: str) -> pd.DataFrame | None:
    """Return one layer of the project's results if they are a complete, current run, else None.

    As :func:`load_results` judges them (inputs, parameters and ``mode`` unchanged), reading
    ``run_info`` and that layer only.
    """
    if project.store_url is not None:
        with open_store(project) as store:
            run_id = _latest_current(store, project, mode)
            if run_id is None or name not in (listed_layers(store.run_info(run_id)) or ()):
                return None
            return store.read_layers(run_id, [name])[name]
    gpkg = project.output_dir / "results.gpkg"
    try:
        info = pyogrio.read_dataframe(gpkg, layer="run_info")
        listed = listed_layers(info)
        if listed is None or name not in listed or not is_current(info, project, mode):
            return None
        return pyogrio.read_dataframe(gpkg, layer=name)
    except (OSError, DataSourceError, DataLayerError, KeyError):
        return None


def _latest_current(store: Store, project: Project, mode: str) -> str | None:
    """Return the latest run of a store on the project's current inputs, parameters and mode.

    The runs' table names the candidates (same parameters' digest, same input hashes); the
    newest is confirmed on its ``run_info`` (:func:`coverage.engine.provenance.is_current`).
    """
    runs = store.runs()
    digest, hashes = parameters_digest(project, mode), input_hashes(project)
    for row in runs.iloc[::-1].itertuples(index=False):
        if row.parameters_digest == digest and dict(row.input_sha256) == hashes:
            run_id = str(row.run_id)
            return run_id if is_current(store.run_info(run_id), project, mode) else None
    return None


def current_run(project: Project, mode: str = "walk") -> str | None:
    """Return the id of the project's latest run on its current inputs (``None``: none).

    In a PostGIS store, the newest run whose ``run_info`` matches the project's inputs,
    parameters and ``mode``; in the output folder, the latest run when ``results.gpkg``
    (which is that run) is current.
    """
    with open_store(project) as store:
        if project.store_url is not None:
            return _latest_current(store, project, mode)
        run_id = store.latest_run()
        current = current_layer(project, mode, "run_info") is not None  # only run_info read
        return run_id if run_id is not None and current else None


def keep_layers(project: Project, layers: dict[str, pd.DataFrame], *, mode: str = "walk",
                folder: str | Path | None = None, files: dict[str, str] | None = None,
                drop: tuple[str, ...] | list[str] = ()) -> str:
    """Keep layers made on the project's current results with them; return where.

    What ``coverage recommend`` and ``coverage simulate`` write: into ``results.gpkg`` of
    ``folder`` or the output folder, or, with a PostGIS store, added to the latest current
    run (:func:`current_run`), which they were made on. See
    :func:`coverage.engine.writing.save_layers`.
    """
    run_id = None
    if folder is None and project.store_url is not None:
        run_id = current_run(project, mode)
    return save_layers(project, layers, run_id=run_id, folder=folder, files=files, drop=drop)


def _stored(project: Project, mode: str) -> tuple[str | None, dict[str, pd.DataFrame]]:
    """Return the project's latest current run in its store, and its layers (none: empty)."""
    if project.store_url is None:
        return None, _current_layers(project.output_dir / "results.gpkg", project, mode)
    with open_store(project) as store:
        run_id = _latest_current(store, project, mode)
        return run_id, ({} if run_id is None else store.read_layers(run_id))


def _kept_run(project: Project, run_id: str) -> dict[str, pd.DataFrame]:
    """Return the layers of a run kept in the project's store, as kept (nothing computed).

    In the output folder, the latest run's recommendation is in ``results.gpkg`` (never in
    the run's history file): it is added when ``results.gpkg`` still holds that run.
    """
    with open_store(project) as store:
        layers = store.read_layers(run_id)
        if not isinstance(store, GeoPackageStore) or run_id != store.latest_run():
            return layers
        try:
            info = pyogrio.read_dataframe(store.results, layer="run_info")
            if not info.equals(pyogrio.read_dataframe(store.run_file(run_id), layer="run_info")):
                return layers
            names = {str(name) for name, _ in pyogrio.list_layers(store.results)}
            extra = {name: pyogrio.read_dataframe(store.results, layer=name)
                     for name in _RECOMMENDATION if name in names}
        except (OSError, DataSourceError, DataLayerError):
            return layers
        return {**layers, **extra}


def load_results(
    project: Project | str | Path,
    *,
    mode: str = "walk",
    new_sites: int = DEFAULT_NEW_SITES,
    new_staff: int = DEFAULT_NEW_STAFF,
    progress: Callable[[str], None] | None = None,
    write: bool = True,
    run: str | None = None,
) -> dict[str, pd.DataFrame]:
    """Return the project's latest result layers, computing what is missing.

    The layers of the latest run in the project's store are used when its ``run_info``
    matches the current inputs (SHA-256), parameters and travel mode: ``results.gpkg`` of
    the output folder, or, with a PostGIS store (``[store] url``), its newest such run.
    Otherwise the main job runs again and writes a new run through the store
    (:func:`coverage.engine.writing.save_results`). When the results hold no recommendation,
    one is made (``new_sites`` sites for coverage and ``new_staff`` staff for the largest
    shortfalls) and kept with them (:func:`coverage.engine.writing.save_layers`: beside them
    in ``results.gpkg`` with its scenario file ``recommended_scenario.json``, or added to the
    PostGIS run). With ``write`` False nothing is written (the web app computes another
    travel mode's results in memory, leaving the saved ones).

    With ``run`` (an id of ``coverage runs``), that run's layers as kept are returned, its
    recommendation among them when one was kept with it; nothing is computed or written.

    Saved results are read without waiting; computing and writing missing ones holds the
    output folder's lock (:func:`coverage.io.atomic.folder_lock`), so a run already writing
    them is waited for and its results are used when they are current.

    Raises
    ------
    coverage.store.StoreError
        When the store cannot be read or written, or holds no run ``run``.
    """
    project = project if isinstance(project, Project) else load_project(project)
    if run is not None:
        return _kept_run(project, run)
    run_id, layers = _stored(project, mode)
    wanted = bool(new_sites or new_staff)
    if layers and (any(name in layers for name in _RECOMMENDATION) or not wanted):
        return layers
    if not write:
        return _complete(project, layers, run_id, mode=mode, new_sites=new_sites,
                         new_staff=new_staff, progress=progress, write=False)
    with folder_lock(project.output_dir):
        run_id, layers = _stored(project, mode)  # another run may have written them
        return _complete(project, layers, run_id, mode=mode, new_sites=new_sites,
                         new_staff=new_staff, progress=progress, write=True)


def _complete(
    project: Project,
    layers: dict[str, pd.DataFrame],
    run_id: str | None,
    *,
    mode: str,
    new_sites: int,
    new_staff: int,
    progress: Callable[[str], None] | None,
    write: bool,
) -> dict[str, pd.DataFrame]:
    """Compute (and with ``write`` save) what :func:`load_results` found missing."""
    step = progress or (lambda _text: None)
    study = net = baseline = None
    clusters = layers.get("underserved_clusters")
    if not layers:
        step("running the main job")
        study = load_study(project)
        net = RoadNetwork.from_study(study, mode=mode)
        # the main job's modules (the patterns' statistics libraries) take a second or two to
        # import: only a project without current results needs them, not every report
        from coverage.engine.run import run_study

        results = run_study(study, mode=mode, progress=progress, network=net)
        baseline, clusters = results.baseline, results.underserved_clusters
        if write:
            run_id = save_results(results, project=project).run_id
        layers = results.layers()
    if not any(name in layers for name in _RECOMMENDATION) and (new_sites or new_staff):
        step("recommending new service points and staff")
        # The process's model (the web app keeps using it), on the inputs just loaded.
        model = scenario_model(project, mode, study=study, network=net, baseline=baseline,
                               clusters=clusters)
        rec = recommend(model, new_sites=new_sites, new_staff=new_staff, progress=progress)
        if write:
            save_layers(project, rec.layers, run_id=run_id,
                        files={"recommended_scenario.json": rec.scenario.to_json() + "\n"})
        layers = {**layers, **rec.layers}
    return layers
