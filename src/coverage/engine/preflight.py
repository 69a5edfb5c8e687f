"""Check everything ``run`` will need before it runs: the layers, the road network, the CRS.

:func:`check_project` is what ``coverage validate`` does. It reads every layer with the loaders
(:func:`coverage.io.loaders.validate_project`'s rules) and then, when the layers load, reads the
road network for every travel mode and checks what the main job relies on:

- the network file is of a known type and readable (``unreadable-network``);
- each travel mode keeps at least one road (``empty-network``);
- residences and service points lie within ``max_snap_m`` of a usable road: fewer than
  :data:`MIN_REACH_ERROR` of them is an error, fewer than :data:`MIN_REACH` a warning
  (``network-reach``);
- each point layer's declared coordinate system fits the roads better than the other systems
  (``crs-suspect``, :func:`coverage.network.offsets.check_declaration`).

The rule it keeps: a project that :func:`check_project` passes without errors runs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from coverage.io.loaders import StudyData, load_checked
from coverage.io.project import Project, load_project
from coverage.io.validation import Problems
from coverage.network import RoadNetwork
from coverage.network.offsets import check_declaration
from coverage.network.readers import EmptyNetworkError

__all__ = ["MIN_REACH", "MIN_REACH_ERROR", "check_network", "check_project", "read_network",
           "suspect_declarations"]

MIN_REACH = 0.9
"""Share of residences (or service points) that should lie within reach of a road."""

MIN_REACH_ERROR = 0.5
"""Below this share within reach, the network does not cover the layer: an error."""

MODES = ("walk", "ebike")
"""Travel modes a project can be run in."""

_REACH_LAYERS = ("migrants", "sites")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def check_network(
    study: StudyData,
    problems: Problems,
    *,
    modes: tuple[str, ...] = MODES,
    reach: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict[str, RoadNetwork]:
    """Read the project's network for each mode and add what ``run`` would trip over.

    Parameters
    ----------
    study
        The loaded layers.
    problems
        Collector the problems are added to.
    modes
        Travel modes to check.
    reach
        Also check how many residences and service points lie within reach of a road.
    progress
        Called with a short description at the start of each step.

    Returns
    -------
    dict
        Mode → network, for the modes whose network could be read and holds roads.
    """
    source = study.project.layers["network"].source
    max_snap = study.project.parameters.max_snap_m
    nets: dict[str, RoadNetwork] = {}
    try:
        regular = study.network_path.is_file()
    except OSError:
        regular = False
    if not regular:  # a folder, a FIFO or a device: hashing or reading it may never end
        problems.add(source, None, None, "unreadable-network",
                     "it is not a regular file (a folder, a FIFO or a device); point "
                     "[layers.network] path at the road-network file")
        return nets
    for mode in modes:
        if progress:
            progress(f"reading the {mode} network")
        try:
            net = RoadNetwork.from_study(study, mode=mode)
        except EmptyNetworkError:
            net = None
        except Exception as exc:  # any reader's failure is the same problem for the user
            problems.add(source, None, None, "unreadable-network",
                         f"cannot read it as a road network ({_one_line(exc)}); give an OSM "
                         "XML/PBF file, an OSMnx GeoPackage (layers nodes and edges) or GraphML")
            return nets
        if net is None or net.n_links == 0:
            problems.add(source, None, None, "empty-network",
                         f"no road of the file can be used for {mode}; check that the file "
                         "covers the study area and holds streets or footpaths")
            continue
        nets[mode] = net
        for name in _REACH_LAYERS if reach else ():
            points = study.layers.get(name)
            if points is None or not len(points):
                continue
            reason = net.snap_points(points).reason
            reached = int((reason == None).sum())  # noqa: E711  (object array of None)
            file = study.project.layers[name].source
            share = reached / len(points)
            hint = (f"{reached:,} of {len(points):,} points ({share:.0%}) lie within "
                    f"max_snap_m = {max_snap:g} m of a road usable for {mode}")
            if share < MIN_REACH_ERROR:
                problems.add(file, None, "geometry", "network-reach",
                             f"{hint}: the network does not cover this layer (check the "
                             "network's extent, max_snap_m and the layer's crs)")
            elif share < MIN_REACH:
                problems.add(file, None, "geometry", "network-reach",
                             f"{hint}; the others are counted as unreachable", "warning")
    return nets


def read_network(study: StudyData, mode: str = "walk") -> RoadNetwork:
    """Read the project's network for ``mode``, as ``run`` does.

    Raises
    ------
    coverage.io.validation.ValidationError
        When the file cannot be read as a road network or keeps no road for ``mode``, with
        the same problem ``coverage validate`` reports.
    """
    problems = Problems()
    nets = check_network(study, problems, modes=(mode,), reach=False)
    problems.raise_if_errors()
    return nets[mode]


def suspect_declarations(study: StudyData, net: RoadNetwork) -> list[tuple[str, str]]:
    """Point layers whose declared coordinate system fits the roads clearly worse than another.

    Returns
    -------
    list of (str, str)
        The layer's file and the message in the project's language (the likely system, the
        evidence and the line to put in ``project.toml``), for each suspect layer.
    """
    out = []
    for name in ("migrants", "sites", "registered_points", "candidates"):
        points = study.layers.get(name)
        if points is None or not len(points):
            continue
        config = study.project.layers[name]
        declared = str(config.crs or "wgs84").lower()
        if declared not in ("wgs84", "cgcs2000", "gcj02", "bd09"):
            continue  # a projected EPSG system is not one of the offset systems
        found = check_declaration(net, points, declared=declared, name=config.source,
                                  communities=study.layers.get("communities"))
        message = found.message_zh if study.project.language == "zh" else found.message
        if found.likely_system is not None and message:
            out.append((config.source, message))
    return out


def check_project(
    project: Project | str | Path, *, progress: Callable[[str], None] | None = None
) -> Problems:
    """Check every layer, the road network and the declared coordinate systems of a project.

    Returns
    -------
    Problems
        Every problem found (errors and warnings); no errors means ``run`` can run.

    Raises
    ------
    coverage.io.project.ProjectError
        When the project file itself is invalid.
    """
    if not isinstance(project, Project):
        project = load_project(project)
    problems = Problems()
    study = load_checked(project, problems, progress)
    if study is None or problems.errors:
        return problems
    nets = check_network(study, problems, progress=progress)
    if "walk" in nets:
        if progress:
            progress("checking the declared coordinate systems")
        for file, message in suspect_declarations(study, nets["walk"]):
            problems.add(file, None, "crs", "crs-suspect", message, "warning")
    return problems
