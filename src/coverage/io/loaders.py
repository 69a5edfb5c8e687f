"""Load a project's layers into checked GeoDataFrames in one projected metric CRS.

Each table layer goes through the same steps, all vectorized:

1. read the file (or the table of the project's database, or the folder of GeoParquet parts)
   as it is (:mod:`coverage.io.readers`, :mod:`coverage.io.db_tables`,
   :mod:`coverage.io.partitioned`);
2. match headers to the data model (:mod:`coverage.io.schema`): the project's ``columns`` mapping
   first, then the canonical names and their Chinese and English aliases
   (:mod:`coverage.io.columns`);
3. check and convert every column (numbers, yes/no, dates, categories, division codes, ids);
   national ID numbers (18 or 15 digits, however written) in id columns are replaced by salted
   hashes
   (:mod:`coverage.io.privacy`);
4. check coordinates (empty, non-numeric, swapped, out of range) and geometries (validity, type),
   reconcile the declared coordinate system with the file's own, convert to WGS-84
   (:mod:`coverage.crs`), recording the conversion (:mod:`coverage.io.layers`);
5. project to the study CRS, quarantine points outside the study area (the communities plus a
   tolerance) and assign points to communities (:mod:`coverage.io.study_area`).

Every problem is collected (:mod:`coverage.io.validation`); :func:`load_study` raises one
:class:`~coverage.io.validation.ValidationError` if any is an error, :func:`validate_project`
returns them all.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from coverage.io.budgets import check_budgets
from coverage.io.layers import ROW, SOURCE_FILE, read_layer
from coverage.io.partitioned import is_partitioned, read_partitioned
from coverage.io.privacy import load_salt
from coverage.io.project import LayerConfig, Project, load_project
from coverage.io.schema import LAYERS
from coverage.io.study_area import (
    _check_community_ids,
    _communities,
    _place_points,
    _study_crs_fits,
    _to_study,
)
from coverage.io.validation import Problems

_Loaded = dict[str, tuple[pd.DataFrame, np.ndarray | None]]
"""Layer name → its attributes and WGS-84 geometries (:func:`~coverage.io.layers.read_layer`)."""


@dataclass
class StudyData:
    """All layers of a project, checked and in the study CRS.

    Attributes
    ----------
    project
        The parsed project file.
    crs
        The projected metric CRS every layer is in.
    layers
        GeoDataFrames by layer name (``migrants``, ``sites``, ``communities`` and, when declared,
        ``registered_points`` and ``candidates``), canonical columns plus
        :data:`~coverage.io.layers.ROW`; the ``budgets``, when declared, a plain DataFrame
        (no places).
    network_path
        The road-network file (read by the routing layer).
    conversions
        Layer name → the coordinate conversion applied.
    quarantined
        Layer name → number of points set aside for lying outside the study area.
    problems
        Warnings and notes found while loading (errors raise instead).
    approximate_boundaries
        Whether the communities came as a table without geometry and their boundaries are
        approximated from the migrants' residences (:mod:`coverage.io.boundaries`).
    """

    project: Project
    crs: pyproj.CRS
    layers: dict[str, gpd.GeoDataFrame]
    network_path: Path
    conversions: dict[str, str] = field(default_factory=dict)
    quarantined: dict[str, int] = field(default_factory=dict)
    problems: Problems = field(default_factory=Problems)
    approximate_boundaries: bool = False

    def __getattr__(self, name: str) -> gpd.GeoDataFrame:
        layers = self.__dict__.get("layers", {})
        if name in layers:
            return layers[name]
        if name in LAYERS:
            msg = f"the project declares no {name!r} layer"
        else:
            msg = f"{type(self).__name__!r} object has no attribute {name!r}"
        raise AttributeError(msg)


def _salt(project: Project, problems: Problems) -> Callable[[], bytes]:
    """Return the project's salt, read on first use (only a file with ID numbers needs it)."""
    salt_cache: list[bytes] = []

    def salt() -> bytes:
        if not salt_cache:
            try:
                salt_cache.append(load_salt(project.salt_file))
            except (OSError, ValueError) as exc:
                # reported as an error, so nothing hashed with this stand-in is ever kept
                problems.add(project.salt_file.name, None, None, "unreadable-file",
                             " ".join(str(exc).split()))
                salt_cache.append(secrets.token_bytes(16))
        return salt_cache[0]

    return salt


def _read_layers(
    project: Project, problems: Problems, progress: Callable[[str], None] | None,
    skip: tuple[str, ...] = (),
) -> tuple[_Loaded, dict[str, str], dict[str, str]]:
    """Read every table layer but ``skip``, communities first; return them, their files."""
    salt = _salt(project, problems)
    loaded: _Loaded = {}
    conversions: dict[str, str] = {}
    sources: dict[str, str] = {}
    order = ["communities", *(n for n in LAYERS if n != "communities")]
    for name in order:
        if name not in project.layers or name in skip:
            continue
        if progress:
            progress(f"reading {name}")
        config = project.layers[name]
        if is_partitioned(config):  # a folder of GeoParquet parts
            frame, geoms, conversion = read_partitioned(config, problems=problems, salt=salt)
        else:
            frame, geoms, conversion = read_layer(config, problems=problems, salt=salt,
                                                  store_url=project.store_url)
        if frame is not None:
            loaded[name] = (frame, geoms)
            conversions[name], sources[name] = conversion, config.source
    return loaded, conversions, sources


def _check_network(project: Project, problems: Problems) -> LayerConfig:
    """Report a road-network file that is not there or cannot be opened; return its layer."""
    net = project.layers["network"]
    try:
        net_missing = not net.path.exists()
    except OSError as exc:  # a name too long for the file system
        problems.add(net.source, None, None, "unreadable-network",
                     f"cannot open it ({exc.strerror or type(exc).__name__}); check the path in "
                     "project.toml")
        net_missing = False
    if net_missing:
        problems.add(
            net.source,
            None,
            None,
            "missing-file",
            "no road-network file there; check the path in project.toml",
        )
    return net


def _load(
    project: Project, problems: Problems, progress: Callable[[str], None] | None,
    skip: tuple[str, ...] = (),
) -> StudyData | None:
    """Read every layer, then place them in the study CRS and area (see :func:`load_checked`)."""
    loaded, conversions, sources = _read_layers(project, problems, progress, skip)
    net = _check_network(project, problems)
    approximate = "communities" in loaded and loaded["communities"][1] is None
    if approximate and "migrants" in skip:
        problems.add(sources["communities"], None, "geometry", "missing-geometry",
                     "a run by parts needs the communities' boundaries (a layer of polygons); "
                     "this one is a table, whose boundaries come from all the migrants at once")
        return None
    if approximate and "migrants" in loaded:
        _check_community_ids(loaded, sources, problems)
    if "communities" not in loaded or problems.errors:
        return None
    built = _communities(project, loaded, sources, problems, progress)
    if built is None:
        return None
    communities, study = built
    if not _study_crs_fits(project, study, communities, problems):
        return None
    layers = {"communities": communities}
    quarantined: dict[str, int] = {}
    for name, (frame, geoms) in loaded.items():
        if name == "communities":
            continue
        if LAYERS[name].geometry == "table":  # no places: checked, never placed
            conversions.pop(name, None)
            layers[name] = _table_layer(project, name, frame, sources[name], communities,
                                        problems)
            continue
        if progress:
            progress(f"placing {name} in the study area")
        gdf = _to_study(frame, geoms, study)
        layers[name], quarantined[name] = _place_points(
            gdf,
            communities,
            tolerance=project.parameters.study_area_tolerance_m,
            file=sources[name],
            problems=problems,
        )
    for name, gdf in layers.items():  # the parts each row came from: named in messages only
        if SOURCE_FILE in gdf:
            layers[name] = gdf.drop(columns=[SOURCE_FILE])
    return StudyData(
        project=project,
        crs=study,
        layers=layers,
        network_path=net.path,
        conversions=conversions,
        quarantined=quarantined,
        problems=problems,
        approximate_boundaries=approximate,
    )


def _table_layer(
    project: Project, name: str, frame: pd.DataFrame, source: str,
    communities: gpd.GeoDataFrame, problems: Problems,
) -> pd.DataFrame:
    """Check a layer without places against the communities (the budgets' districts)."""
    if name != "budgets":
        return frame
    return check_budgets(frame, communities["district"], file=source,
                         rows=frame[ROW].to_numpy(), year=project.parameters.funding.year,
                         problems=problems)


def load_checked(
    project: Project, problems: Problems, progress: Callable[[str], None] | None = None
) -> StudyData | None:
    """Load a project's layers, adding every problem to ``problems`` instead of raising.

    Returns
    -------
    StudyData or None
        The layers, or None when a required layer could not be read at all. With errors in
        ``problems`` the layers may be incomplete: use them only for further checks.
    """
    return _load(project, problems, progress)


def validate_project(
    project: Project | str | Path, *, progress: Callable[[str], None] | None = None
) -> Problems:
    """Check every layer of a project and return all problems found (errors and warnings).

    Raises
    ------
    coverage.io.project.ProjectError
        When the project file itself is invalid.
    """
    if not isinstance(project, Project):
        project = load_project(project)
    problems = Problems()
    load_checked(project, problems, progress)
    return problems


def load_study(
    project: Project | str | Path, *, progress: Callable[[str], None] | None = None,
    without: tuple[str, ...] = (),
) -> StudyData:
    """Load every layer of a project, checked and projected to the study CRS.

    Parameters
    ----------
    project
        A :class:`~coverage.io.project.Project` or the path of its ``project.toml`` (or folder).
    progress
        Called with a short description at the start of each step.
    without
        Layers not to read (a run by parts reads its migrants part by part,
        :func:`place_part`); the communities then need their boundaries.

    Raises
    ------
    coverage.io.validation.ValidationError
        When any input breaks a rule; its message is the first problem, ``.problems`` all.
    """
    if not isinstance(project, Project):
        project = load_project(project)
    problems = Problems()
    study = _load(project, problems, progress, tuple(without))
    problems.raise_if_errors()
    assert study is not None  # no errors means every required layer loaded
    return study


def read_parts(
    project: Project | str | Path,
    parts: Sequence[str | Path] | None = None,
    *,
    layer: str = "migrants",
) -> gpd.GeoDataFrame:
    """Read parts of a partitioned layer on their own, checked as the whole layer is; WGS-84.

    For work split by partition: each part (or a few) is read and checked like a file (headers,
    cells, ids, places, the declared CRS; GCJ-02 converted), without the other parts. Placing
    the points in the study area needs the communities and comes later, as for the whole layer.

    Parameters
    ----------
    project
        A :class:`~coverage.io.project.Project` or the path of its ``project.toml`` (or folder).
    parts
        Names of the parts (``part-003.parquet``; :func:`coverage.io.parts.list_parts` lists
        them), default all.
    layer
        The layer whose path is the folder of parts.

    Returns
    -------
    geopandas.GeoDataFrame
        The rows of the parts in the order of the table they were split from: canonical
        columns, :data:`~coverage.io.layers.ROW` (the row in its part) and
        :data:`~coverage.io.layers.SOURCE_FILE` (the part), points in WGS-84.

    Raises
    ------
    ValueError
        When the layer is not declared or its path is not a folder of parts.
    coverage.io.validation.ValidationError
        When any row breaks a rule; its one-line message names the part, row, field and rule.
    """
    if not isinstance(project, Project):
        project = load_project(project)
    config = project.layers.get(layer)
    if config is None or not is_partitioned(config):
        msg = (f"[layers.{layer}] path must be a folder of GeoParquet parts"
               + ("" if config is None else f"; it is {config.source}"))
        raise ValueError(msg)
    problems = Problems()
    frame, geoms, _ = read_partitioned(config, parts, problems=problems,
                                       salt=_salt(project, problems))
    problems.raise_if_errors()
    assert frame is not None  # no errors means some part was read
    if geoms is None:
        geoms = shapely.points(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float))
        frame = frame.drop(columns=["lon", "lat"])
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, index=frame.index),
                            crs="EPSG:4326")


def place_part(study: StudyData, part: str, *, layer: str = "migrants"
               ) -> tuple[gpd.GeoDataFrame, Problems, int]:
    """Read one part of a partitioned layer, checked and placed as the whole layer would be.

    :func:`read_parts` of ``part``, then in the study CRS and area of ``study`` (loaded
    ``without`` the layer): the rows :func:`load_study` would give for this part. Returns the
    rows, the problems found (warnings; errors raise) and how many points were set aside for
    lying outside the study area.

    Raises
    ------
    coverage.io.validation.ValidationError
        When a row of the part breaks a rule; the message names the part, row, field and rule.
    """
    project = study.project
    config = project.layers[layer]
    problems = Problems()
    frame, geoms, _ = read_partitioned(config, [part], problems=problems,
                                       salt=_salt(project, problems))
    problems.raise_if_errors()
    assert frame is not None  # no errors means the part was read
    placed, quarantined = _place_points(
        _to_study(frame, geoms, study.crs), study.communities,
        tolerance=project.parameters.study_area_tolerance_m, file=config.source,
        problems=problems)
    problems.raise_if_errors()
    if SOURCE_FILE in placed:
        placed = placed.drop(columns=[SOURCE_FILE])
    return placed, problems, quarantined
