"""A project's workspace: its results loaded, checked, computed and written, kept per process.

This module owns what a project has computed: :func:`load_results` reads the layers of
``results.gpkg`` when they are a complete run on the current inputs (and computes and writes
them when not), :func:`scenario_model` keeps the analysis model of each project and travel
mode once per process, and :func:`shared_layers` / :func:`shared_figures` keep what a server's
many sessions read alike. :func:`forget` drops a project's copies (after its inputs changed,
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
from coverage.engine.provenance import is_current, listed_layers
from coverage.engine.recommend import recommend
from coverage.engine.scenario import ScenarioModel
from coverage.engine.writing import write_layers, write_results
from coverage.io.atomic import folder_lock
from coverage.io.loaders import load_study
from coverage.io.project import Project, load_project
from coverage.network import RoadNetwork

if TYPE_CHECKING:
    from coverage.io.loaders import StudyData

__all__ = ["DEFAULT_NEW_SITES", "DEFAULT_NEW_STAFF", "current_layer", "forget", "load_results",
           "model_loaded", "scenario_model", "shared_figures", "shared_layers"]

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

_RECOMMENDATION = ("recommended_sites", "recommended_staff", "scenario_comparison")


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
    gpkg = project.output_dir / "results.gpkg"
    try:
        info = pyogrio.read_dataframe(gpkg, layer="run_info")
        listed = listed_layers(info)
        if listed is None or name not in listed or not is_current(info, project, mode):
            return None
        return pyogrio.read_dataframe(gpkg, layer=name)
    except (OSError, DataSourceError, DataLayerError, KeyError):
        return None


def load_results(
    project: Project | str | Path,
    *,
    mode: str = "walk",
    new_sites: int = DEFAULT_NEW_SITES,
    new_staff: int = DEFAULT_NEW_STAFF,
    progress: Callable[[str], None] | None = None,
    write: bool = True,
) -> dict[str, pd.DataFrame]:
    """Return the project's latest result layers, computing what is missing.

    The layers in the project's ``results.gpkg`` are used when their ``run_info`` matches the
    current inputs (SHA-256), parameters and travel mode; otherwise the main job runs again and
    writes them. When the results hold no recommendation, one is made (``new_sites`` sites for
    coverage and ``new_staff`` staff for the largest shortfalls) and written beside them, with
    its scenario file ``recommended_scenario.json``. With ``write`` False nothing is written
    (the web app computes another travel mode's results in memory, leaving the saved ones).

    Saved results are read without waiting; computing and writing missing ones holds the
    output folder's lock (:func:`coverage.io.atomic.folder_lock`), so a run already writing
    them is waited for and its results are used when they are current.
    """
    project = project if isinstance(project, Project) else load_project(project)
    gpkg = project.output_dir / "results.gpkg"
    layers = _current_layers(gpkg, project, mode)
    wanted = bool(new_sites or new_staff)
    if layers and (any(name in layers for name in _RECOMMENDATION) or not wanted):
        return layers
    if not write:
        return _complete(project, layers, mode=mode, new_sites=new_sites, new_staff=new_staff,
                         progress=progress, write=False)
    with folder_lock(project.output_dir):
        layers = _current_layers(gpkg, project, mode)  # another run may have written them
        return _complete(project, layers, mode=mode, new_sites=new_sites,
                         new_staff=new_staff, progress=progress, write=True)


def _complete(
    project: Project,
    layers: dict[str, pd.DataFrame],
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
            write_results(results, project.output_dir)
        layers = results.layers()
    if not any(name in layers for name in _RECOMMENDATION) and (new_sites or new_staff):
        step("recommending new service points and staff")
        # The process's model (the web app keeps using it), on the inputs just loaded.
        model = scenario_model(project, mode, study=study, network=net, baseline=baseline,
                               clusters=clusters)
        rec = recommend(model, new_sites=new_sites, new_staff=new_staff, progress=progress)
        if write:
            write_layers(rec.layers, project.output_dir,
                         files={"recommended_scenario.json": rec.scenario.to_json() + "\n"})
        layers = {**layers, **rec.layers}
    return layers
