"""A project proposed from its data files: each layer read, its columns and system guessed.

:func:`propose_project` reads the communities first (they fix the study CRS and the area the
points are checked against), then the road network, then the other layers; it guesses every
layer's coordinate system once all are read, and lists what the user must settle.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from coverage import crs as crsmod
from coverage.init_project._reading import _coordinates, _read
from coverage.init_project.guesses import LAYER_ORDER, NEAR_AREA_M, SAMPLE_POINTS
from coverage.init_project.matching import _numbers, match_columns
from coverage.init_project.proposal import LayerProposal, ProjectProposal, _source
from coverage.init_project.systems import _system_for
from coverage.io.project import FILE_LAYERS, PROJECT_FILE
from coverage.io.readers import RawTable
from coverage.io.schema import LAYERS, Layer
from coverage.io.validation import RULES, Problems
from coverage.network import RoadNetwork


def _table_problems(proposal: LayerProposal, schema: Layer, raw: RawTable,
                    problems: Problems) -> None:
    """Problems for required fields without a header, ties and swapped coordinates."""
    for col in schema.columns:
        guess = proposal.columns.get(col.name)
        if guess is None or guess.header is not None or not col.required:
            continue
        close = ", ".join(f"{h!r} ({s:.2f})" for h, s in guess.candidates) or "none"
        what = ("several headers are equally close" if guess.note else
                "no header of the file matches it")
        problems.add(
            raw.file, raw.header_row, col.name,
            "ambiguous-column" if guess.note else "missing-column",
            f"{col.name} ({col.doc_zh.split('（')[0].split('；')[0]}) is required but {what} "
            f"(closest: {close}); add {col.name} = \"your header\" under "
            f"[layers.{schema.name}.columns] in {PROJECT_FILE}, or rename the column",
        )


def _swap_if_needed(proposal: LayerProposal) -> None:
    lon, lat = proposal.columns.get("lon"), proposal.columns.get("lat")
    if proposal.sample is None or lon is None or lat is None or not lon.header or not lat.header:
        return
    x, y = _numbers(proposal.sample[lon.header]), _numbers(proposal.sample[lat.header])
    if not (np.isfinite(x).any() and np.isfinite(y).any()):
        return
    mx, my = np.nanmedian(x), np.nanmedian(y)
    if bool(crsmod.in_china(my, mx)) and not bool(crsmod.in_china(mx, my)):
        lon.header, lat.header = lat.header, lon.header
        for g in (lon, lat):
            g.note = ("the two coordinate columns were swapped: their values say so",
                      "两列坐标按取值互换（经纬度颠倒）")


def _propose_table(
    proposal: LayerProposal, problems: Problems
) -> RawTable | None:
    schema = proposal.schema
    assert schema is not None
    raw = _read(proposal, problems)
    if raw is None:
        return None
    frame = raw.frame
    proposal.headers = [str(h) for h in frame.columns]
    proposal.label = raw.file
    proposal.rows = len(frame)
    proposal.file_crs = raw.file_crs
    proposal.head = frame.head(20).copy()
    pick = np.arange(len(frame))
    if len(frame) > SAMPLE_POINTS:
        pick = np.sort(np.random.default_rng(0).choice(len(frame), SAMPLE_POINTS, replace=False))
    sample = frame.iloc[pick].reset_index(drop=True)
    if raw.geometry is not None:
        sample["__geometry__"] = np.asarray(raw.geometry.values, dtype=object)[pick]
    proposal.sample = sample
    skip = frozenset({"lon", "lat"}) if raw.geometry is not None and schema.geometry == "point" \
        else frozenset()
    proposal.columns = match_columns(proposal.headers, schema, proposal.sample, skip=skip)
    _swap_if_needed(proposal)
    _table_problems(proposal, schema, raw, problems)
    proposal.lonlat = _coordinates(proposal)
    return raw


def _study_area(
    layer: LayerProposal, raw: RawTable | None
) -> tuple[pyproj.CRS | None, object | None]:
    """Return the study CRS and the communities in WGS-84, from the communities' file.

    The communities are a GeoDataFrame, with ``community_id`` when its column was found.
    """
    if raw is None or raw.geometry is None:
        return None, None
    frame = gpd.GeoDataFrame(geometry=gpd.GeoSeries(raw.geometry.values,
                                                    crs=raw.file_crs or 4326))
    guess = layer.columns.get("community_id")
    if guess is not None and guess.header is not None:
        frame["community_id"] = raw.frame[guess.header].astype("string").str.strip().to_numpy()
    frame = frame[~(frame.geometry.is_empty | frame.geometry.isna())]
    if not len(frame):
        return None, None
    try:
        if not frame.crs.equals(pyproj.CRS.from_epsg(4326)):
            frame = frame.to_crs(4326)
        pts = frame.geometry.representative_point()
        study = crsmod.study_crs(pts.x.to_numpy(), pts.y.to_numpy())
    except (ValueError, pyproj.exceptions.CRSError):
        return None, None
    return study, frame


def _near_area(polygons: np.ndarray) -> object | None:
    """Return the communities' union within :data:`NEAR_AREA_M` (None if GEOS cannot unite).

    Invalid polygons (reported when the project is validated) are mended here only to draw the
    area the guesses are checked against; NaN coordinates leave no area at all.
    """
    try:
        area = shapely.buffer(shapely.union_all(shapely.make_valid(polygons)), NEAR_AREA_M)
    except shapely.errors.GEOSException:
        return None
    shapely.prepare(area)
    return area


def _check_layer_names(files: Mapping[str, object]) -> None:
    unknown = sorted(set(files) - set(LAYER_ORDER))
    if unknown:
        msg = (f"unknown layer(s) {', '.join(map(repr, unknown))}; the layers are "
               f"{', '.join(LAYER_ORDER)}")
        raise ValueError(msg)


def propose_project(
    folder: str | Path,
    files: Mapping[str, str | Path],
    *,
    progress: Callable[[str], None] | None = None,
    cache: bool = True,
) -> ProjectProposal:
    """Read the data files and propose the project: encodings, columns, coordinate systems.

    Parameters
    ----------
    folder
        The project folder (paths are written relative to it).
    files
        Layer name (``migrants``, ``sites``, ``communities``, ``network``,
        ``registered_points``, ``candidates``) → file.
    progress
        Called with a short description at the start of each step.
    cache
        Use the road-network cache (:meth:`coverage.network.RoadNetwork.from_file`).

    Returns
    -------
    ProjectProposal
        The proposal; its ``problems`` list what the user must settle (a required layer without a
        file, a required field without a header, a coordinate system that cannot be guessed).

    Raises
    ------
    ValueError
        For a layer name that is not one of the above.
    """
    step = progress or (lambda _text: None)
    _check_layer_names(files)
    folder = Path(folder).resolve()
    proposal = ProjectProposal(folder=folder)
    problems = proposal.problems
    for name in LAYER_ORDER:
        required = name in FILE_LAYERS or LAYERS[name].required
        if name not in files and required:
            problems.add(PROJECT_FILE, None, name, "missing-file",
                         f"the {name} layer is required but no file was given; pass "
                         f"--{name.replace('_', '-')} FILE")
    for name in LAYER_ORDER:
        if name in files:
            path = Path(files[name]).expanduser().resolve()
            proposal.layers[name] = LayerProposal(name, path, _source(path, folder))
    raws: dict[str, RawTable | None] = {}
    for name in ("communities", *(n for n in LAYER_ORDER if n != "communities")):
        if name not in proposal.layers or name in FILE_LAYERS:
            continue
        start = time.perf_counter()
        step(f"reading {name}")
        raws[name] = _propose_table(proposal.layers[name], problems)
        proposal.seconds[f"read {name}"] = time.perf_counter() - start
        if name == "communities":
            study, wgs = _study_area(proposal.layers[name], raws[name])
            proposal.study_crs, proposal.communities = study, wgs
            if wgs is not None and study is not None:
                proposal.area = _near_area(wgs.to_crs(study).geometry.to_numpy())
        if name == "communities" and "network" in proposal.layers:
            _read_network(proposal, cache=cache, step=step)
    if "network" in proposal.layers and proposal.network is None and \
            "read network" not in proposal.seconds:
        _read_network(proposal, cache=cache, step=step)
    start = time.perf_counter()
    for name, layer in proposal.layers.items():
        if name in FILE_LAYERS:
            continue
        step(f"guessing the coordinate system of {name}")
        layer.system = _system_for(layer, proposal)
        _system_problems(layer, problems)
    proposal.seconds["guess coordinate systems"] = time.perf_counter() - start
    # Problems in the order of the layers, as the table reads best.
    rank = {p.source: i for i, p in enumerate(proposal.layers.values())}
    rank |= {p.label: i for i, p in enumerate(proposal.layers.values()) if p.label}
    problems.items.sort(key=lambda p: rank.get(p.file, -1))
    return proposal


def _read_network(proposal: ProjectProposal, *, cache: bool,
                  step: Callable[[str], None]) -> None:
    layer = proposal.layers["network"]
    start = time.perf_counter()
    step("reading the road network")
    layer.system = _system_for(layer, None)
    if not layer.path.exists():
        proposal.problems.add(layer.source, None, None, "missing-file",
                              "no road-network file there; check the path")
    else:
        try:
            proposal.network = RoadNetwork.from_file(layer.path, mode="walk",
                                                     crs=proposal.study_crs, cache=cache)
        except Exception as exc:  # the readers raise many types for a broken file
            proposal.problems.add(
                layer.source, None, None,
                "unreadable-network" if "unreadable-network" in RULES else "unreadable-file",
                f"cannot read the road network ({exc}); give an OSM .osm/.osm.pbf file, a "
                "GraphML or an OSMnx GeoPackage (layers nodes and edges)")
        else:
            if proposal.study_crs is None:
                proposal.study_crs = proposal.network.crs  # type: ignore[attr-defined]
    proposal.seconds["read network"] = time.perf_counter() - start


def _system_problems(layer: LayerProposal, problems: Problems) -> None:
    guess = layer.system
    schema = layer.schema
    if schema is None or guess is None:
        return
    if guess.system is None and guess.how == "none":
        problems.add(
            layer.label or layer.source, None, "crs", "crs-missing",
            f"{guess.evidence[0].removeprefix('TODO: ')} under [layers.{layer.name}] in "
            f"{PROJECT_FILE} (e.g. EPSG:4547 for CGCS2000 / 3-degree Gauss-Kruger CM 114E)",
        )
    elif guess.how in ("network", "default") and not guess.confident:
        problems.add(
            layer.label or layer.source, None, "crs", "crs-uncertain",
            f"{guess.evidence[0]}; the guess {guess.system} is uncertain: check a few points "
            f"on a map and correct crs under [layers.{layer.name}] if needed", "warning",
        )
