"""The main job of one city on a Dask cluster, by parts of its migrants.

:func:`run_by_parts` is :func:`coverage.engine.run.run_study` computed where the people are:
each part of the migrants is routed, scored and added up on a worker (the road network read
there once per worker process), and only sums per site, per unit, per grid cell and the
members of the under-served clusters travel; the process that drives it holds no person's
travel time. The steps and their exactness: :mod:`coverage.engine.partitioned`; each layer is
made from the parts' sums by the same function the one-process run uses.

Rounds (each a task per part; the parts' routing stays on their workers between rounds):

1. route the part (nearest site, pairs within the largest threshold, the site demand), find
   its poor-access residences and the year of its latest arrival;
2. score it with the sites' ratios (the parts' demands added up) and count it: people per
   unit, indicator counts, hexagon, origin, inflow and grid counts;
3. the under-served clusters: the sampled poor points, their labels, the members gathered for
   the description (on a worker).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage.engine import part_tasks as tasks
from coverage.engine import partitioned as pt
from coverage.engine._run_steps import summaries_of_sums
from coverage.engine.part_tasks import PartCounts
from coverage.engine.summary import Units
from coverage.io.loaders import StudyData
from coverage.measures import indicators as ind
from coverage.measures.availability import columns_with_values, skipped_of_columns
from coverage.measures.equalization import allocate_registered
from coverage.measures.staffing import catchment_of_counts
from coverage.patterns import cluster_parts as cp
from coverage.patterns.commutes import add_grid_counts
from coverage.patterns.inflow_counts import add_inflow_counts
from coverage.patterns.origins import add_origin_counts
from coverage.patterns.underserved import DEFAULT_MAX_FIT, DEFAULT_MIN_CLUSTER_SIZE

__all__ = ["PartCounts", "run_by_parts", "run_on_cluster", "split_rows"]

#: Sites whose service areas one task draws.
AREA_SITES = 512

def split_rows(n: int, parts: int) -> list[np.ndarray]:
    """Cut ``n`` rows into ``parts`` runs of consecutive rows (the first ones one longer)."""
    return [rows for rows in np.array_split(np.arange(n), max(1, min(parts, n or 1)))]


def _scatter_rows(client: Any, migrants: gpd.GeoDataFrame, parts: int) -> list[Any]:
    """Send ``parts`` runs of consecutive rows to the workers, each part to one of them.

    Scattered rather than put in the task graph: the graph stays small, and each part is
    sent once to the worker that routes it.
    """
    frames = [migrants.iloc[rows] for rows in split_rows(len(migrants), parts)]
    return list(client.scatter(frames, hash=False))


def _repeats(hashes: list[np.ndarray]) -> list[tuple[int, int, int, int]]:
    """Return up to 10 (part, position, earlier part, its position) of ids seen in two parts."""
    part = np.concatenate([np.full(len(h), k) for k, h in enumerate(hashes)]).astype(np.int64)
    position = np.concatenate([np.arange(len(h)) for h in hashes]).astype(np.int64)
    values = np.concatenate(hashes)
    order = np.argsort(values, kind="stable")
    same = np.flatnonzero(values[order][1:] == values[order][:-1])
    pairs = [(int(part[order[i + 1]]), int(position[order[i + 1]]), int(part[order[i]]),
              int(position[order[i]])) for i in same[:10]]
    return [p for p in pairs if p[0] != p[2]]


def _refuse_repeats(client: Any, ctx: Any, kept: list[Any], sources: list[str],
                    study: StudyData) -> None:
    """Raise the one-line error of a person id found in two parts (each part is read alone).

    The ids are compared by a 64-bit hash on a worker; a pair of equal hashes is confirmed on
    the ids themselves before it is reported.
    """
    from coverage.io.partitioned import part_label
    from coverage.io.validation import Problems

    config = study.project.layers["migrants"]
    hashes = [client.submit(tasks.id_hashes, k, pure=False) for k in kept]
    found = client.submit(_repeats, hashes, pure=False).result()
    problems = Problems()
    for part, position, other, other_position in found:
        (name, row), (other_name, other_row) = client.gather([
            client.submit(tasks.id_at, kept[part], ctx, position, pure=False),
            client.submit(tasks.id_at, kept[other], ctx, other_position, pure=False)])
        if name == other_name:
            problems.add(part_label(config, sources[part]), row, "person_id", "duplicate-id",
                         f"each person_id must be unique; this row repeats the id of row "
                         f"{other_row} of {part_label(config, sources[other])}")
    problems.raise_if_errors()


def _area_tasks(client: Any, ctx: Any, mode: str, max_t: float, n_sites: int) -> list[Any]:
    """Submit the service areas in chunks of sites (:data:`AREA_SITES` each)."""
    return [client.submit(tasks.service_areas, ctx, mode, max_t, lo, lo + AREA_SITES,
                          pure=False) for lo in range(0, max(n_sites, 1), AREA_SITES)]


def _join_areas(client: Any, tasks: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Gather the chunks' polygons and reasons, in the sites' order."""
    done = client.gather(tasks)
    return (np.concatenate([d[0] for d in done]), np.concatenate([d[1] for d in done]))


def run_by_parts(study: StudyData, client: Any, *, parts: int | None = None,
                 sources: list[Any] | None = None, mode: str = "walk",
                 progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Compute the run's layers from parts of the migrants on ``client``.

    The parts are ``sources`` (the names of the parts of a partitioned migrants layer, read
    on the workers; ``study`` then loaded without its migrants), else ``parts`` runs of
    consecutive rows of ``study.migrants``. Returns the layers a one-process run makes from
    its people (``community_summary``, ``district_summary``, ``site_catchments``,
    ``indicators``, ``indicator_quarters``, the patterns' and the under-served clusters),
    with ``skipped``, ``schema`` (the migrants' columns) and ``timings``; the caller adds the
    layers made from these (funding, scorecard, provenance).
    """
    say = progress or (lambda _text: None)
    clock: dict[str, float] = {}
    start = time.perf_counter()
    params = study.project.parameters
    max_t = max(params.thresholds_min)
    ctx = client.scatter(_context(study), broadcast=True, hash=False)
    if sources is None:
        sources = _scatter_rows(client, study.migrants, parts or 1)
    say("routing the parts")
    routed = [client.submit(tasks.route_part, ctx, mode, source, k == 0, pure=False)
              for k, source in enumerate(sources)]
    registered = study.layers.get("registered_points")
    if registered is None:
        registered = allocate_registered(study.communities)
    points = client.submit(tasks.route_registered, ctx, mode,
                           client.scatter(registered, hash=False), pure=False)
    areas = _area_tasks(client, ctx, mode, max_t, len(study.sites))
    kept = [client.submit(lambda pair: pair[0], f, pure=False) for f in routed]
    first = client.gather([client.submit(lambda pair: pair[1], f, pure=False)
                           for f in routed])
    reg = points.result()
    if isinstance(sources[0], str):  # parts read alone: an id may repeat another part's
        _refuse_repeats(client, ctx, kept, sources, study)
    schema = first[0]["schema"]
    present = {name: columns_with_values(frame) for name, frame in study.layers.items()
               if name != "migrants"}
    skipped = skipped_of_columns(present | {"migrants": set().union(
        *(f["present"] for f in first))})
    sites = study.sites.set_index("site_id", drop=False)
    demand, ratio = pt.site_ratios([*[f["demand"] for f in first], reg.demand],
                                   sites["staff"].to_numpy(float))
    years = [f["year"] for f in first if f["year"] is not None]
    year = max(years) if years else pd.Timestamp.today().year
    clock["routing the parts"] = time.perf_counter() - start
    say("scoring and counting the parts")
    ratio_f = client.scatter(ratio, broadcast=True, hash=False)
    counted = client.gather([client.submit(tasks.count_part, k, ctx, ratio_f, year, skipped,
                                           pure=False) for k in kept])
    clock["scoring and counting the parts"] = time.perf_counter() - start - sum(clock.values())
    say("adding up the parts")
    layers = _finish(study, counted, reg, ratio, demand, first,
                     _join_areas(client, areas), skipped)
    clock["adding up the parts"] = time.perf_counter() - start - sum(clock.values())
    say("under-served clusters")
    layers["underserved_clusters"] = _clusters(client, ctx, kept, first, ratio_f, mode,
                                               layers["community_summary"])
    clock["under-served clusters"] = time.perf_counter() - start - sum(clock.values())
    layers["timings"] = clock
    layers["schema"] = schema
    layers["parts"] = [{k: f[k] for k in ("problems", "quarantined", "rows")} for f in first]
    layers["suspects"] = first[0]["suspects"]
    return layers


def _finish(study: StudyData, counted: list[PartCounts], reg: pt.Reach, ratio: np.ndarray,
            demand: np.ndarray, first: list[dict[str, Any]],
            areas: tuple[np.ndarray, np.ndarray], skipped: dict[str, str]) -> dict[str, Any]:
    """Make the layers from the parts' sums, with the one-process run's functions."""
    from coverage.engine.run import catchment_layer
    from coverage.patterns.commutes import commute_flows_of_cells, workplace_clusters_of_cells
    from coverage.patterns.hotspots import TooFewCellsError, add_cells, hot_spots_of_cells
    from coverage.patterns.origins import origin_flows_of_counts
    from coverage.patterns.trends import inflow_trends_of_counts

    params, min_cell, crs = study.project.parameters, study.project.min_cell, study.crs
    comm, sites = study.communities, study.sites
    registered = study.layers.get("registered_points")
    if registered is None:
        registered = allocate_registered(comm)
    units = Units.of(comm, [], [])
    reg_sums = pt.part_sums(units, params.thresholds_min, registered=pd.DataFrame({
        "community_id": registered["community_id"].to_numpy(),
        "population": registered["population"].to_numpy(float),
        "time_min": reg.nearest["time_min"].to_numpy(), "e2sfca": pt.score(reg, ratio)}))
    community, district = summaries_of_sums(
        study, pt.add_sums([*[c.sums for c in counted], reg_sums]))
    sites_idx = sites.set_index("site_id", drop=False)
    catch = catchment_of_counts(sites_idx, np.sum([f["nearest"] for f in first], axis=0),
                                reg.nearest_people, min_population=params.rate_min_population)
    out: dict[str, Any] = {
        "community_summary": community, "district_summary": district,
        "site_catchments": catchment_layer(sites_idx, catch, demand, areas[0], areas[1],
                                           max(params.thresholds_min), crs=crs),
        "indicators": ind.indicators_of_counts(ind.add_counts([c.indicators for c in counted]),
                                               comm, sites=sites, targets=params.targets),
        "unreachable": sum(c.unreachable for c in counted)}
    quarters = [c.quarters for c in counted if c.quarters is not None and len(c.quarters)]
    out["indicator_quarters"] = (ind.quarters_of_counts(ind.add_counts(quarters), comm,
                                                        targets=params.targets)
                                 if quarters else None)
    try:
        out["hotspots"] = hot_spots_of_cells(add_cells([c.cells for c in counted]), crs=crs,
                                             min_cell=min_cell)
    except TooFewCellsError:
        out["hotspots"] = None
        skipped["hotspots"] = "too-few-cells"
    out["inflow_trends"] = None if "inflow_trends" in skipped else inflow_trends_of_counts(
        add_inflow_counts([c.inflow for c in counted]), comm, crs=crs, sites=sites,
        standard=params.staffing_standard, min_cell=min_cell)
    out["origin_flows"] = None if "origin_flows" in skipped else origin_flows_of_counts(
        add_origin_counts([c.origins for c in counted]), comm, min_cell=min_cell)
    out["commute_flows"] = None if "commute_flows" in skipped else commute_flows_of_cells(
        add_grid_counts([c.commutes for c in counted]), crs=crs, communities=comm,
        min_cell=min_cell)
    out["workplace_clusters"] = (
        None if "workplace_clusters" in skipped else workplace_clusters_of_cells(
            add_grid_counts([c.workplaces for c in counted]), crs=crs, sites=sites,
            communities=comm, min_cell=min_cell))
    out["skipped"] = skipped
    return out


def _clusters(client: Any, ctx: Any, kept: list[Any], first: list[dict[str, Any]],
              ratio: Any, mode: str, community: pd.DataFrame) -> gpd.GeoDataFrame:
    """Round 3: the under-served clusters, the sample fitted and described on workers."""
    sizes = np.array([f["poor"] for f in first], dtype=np.int64)
    offsets = np.r_[0, np.cumsum(sizes)]
    totals = pd.Series(community["migrants"].to_numpy(np.int64),
                       index=community["community_id"].astype(str).to_numpy())
    if offsets[-1] < DEFAULT_MIN_CLUSTER_SIZE:
        return client.submit(tasks.describe, [], ctx, mode, totals, pure=False).result()
    fit = cp.sample_positions(int(offsets[-1]), DEFAULT_MAX_FIT, seed=0)
    local = [None if fit is None else fit[(fit >= lo) & (fit < hi)] - lo
             for lo, hi in itertools.pairwise(offsets)]
    picked = [client.submit(tasks.sample_points, k, loc, pure=False)
              for k, loc in zip(kept, local, strict=True)]
    sample = client.submit(np.concatenate, picked, pure=False)
    fitted = client.submit(cp.fit_labels, sample, min_cluster_size=DEFAULT_MIN_CLUSTER_SIZE,
                           min_samples=None, pure=False)
    raw = [client.submit(tasks.raw_labels, k, None if fit is None else sample, fitted, int(lo),
                         int(hi), pure=False)
           for k, lo, hi in zip(kept, offsets[:-1], offsets[1:], strict=True)]
    width = int(client.submit(lambda f: int(f.max()) + 1 if len(f) else 0, fitted,
                              pure=False).result())
    counts = client.gather([client.submit(lambda r, n: np.bincount(r[r >= 0], minlength=n),
                                          r, width, pure=False) for r in raw])
    rank = cp.size_ranks(np.sum(counts, axis=0)) if width else np.zeros(0, np.int64)
    members = [client.submit(tasks.cluster_members, k, r, rank, ratio, pure=False)
               for k, r in zip(kept, raw, strict=True)]
    return client.submit(tasks.describe, members, ctx, mode, totals, pure=False).result()


def _notes(study: StudyData, suspects: list[str], reason: np.ndarray) -> list[str]:
    """Return the run's notes: the inputs' warnings, coordinate suspicions, unreachable sites.

    ``suspects``: the declared coordinate systems found to fit the roads worse than another
    (checked on a worker while the first part was routed, the migrants by that part).
    """
    notes = [str(p) for p in study.problems.warnings] + list(suspects)
    unreachable = int(pd.notna(reason).sum())
    if unreachable:
        notes.append(f"{unreachable} service points cannot be reached from the road network "
                     "(too far from a road or on a cut-off part); they serve nobody here")
    return notes


def run_on_cluster(study: StudyData | Any, *, cluster: str = "local",
                   workers: int | None = None, parts: int | None = None, mode: str = "walk",
                   progress: Callable[[str], None] | None = None) -> Any:
    """Run a project's main job on a Dask cluster, by parts of its migrants.

    Parameters
    ----------
    study
        Loaded inputs, a project or the path of a project.
    cluster, workers
        As for :func:`coverage.engine.cluster.connect`.
    parts
        Parts of the migrants (default: two per worker).
    mode, progress
        As for :func:`coverage.engine.run.run_study`.

    Returns
    -------
    coverage.engine.run.RunResults
        The one-process run's layers and figures (:func:`run_by_parts`); without the
        person-level layer (``migrant_access`` empty: no process holds every person's time)
        and without the routing kept for scenarios (``baseline``).
    """
    from coverage.engine.cluster import connect
    from coverage.io.loaders import load_study
    from coverage.io.partitioned import is_partitioned
    from coverage.io.parts import list_parts
    from coverage.io.project import Project, load_project

    say = progress or (lambda _text: None)
    start = time.perf_counter()
    if not isinstance(study, StudyData):
        project = study if isinstance(study, Project) else load_project(study)
        config = project.layers.get("migrants")
        partitioned = config is not None and is_partitioned(config)
        say("loading inputs")
        study = load_study(project, without=("migrants",) if partitioned else ())
    else:
        partitioned = "migrants" not in study.layers
    clock = {"loading inputs": time.perf_counter() - start}
    with connect(cluster, workers=workers) as client:
        clock["starting the cluster"] = time.perf_counter() - start - clock["loading inputs"]
        if partitioned:
            sources: list[Any] = [p.file for p in list_parts(
                study.project.layers["migrants"].path)]
        else:
            count = parts or 2 * max(1, len(client.scheduler_info()["workers"]))
            sources = _scatter_rows(client, study.migrants, count)
        layers = run_by_parts(study, client, sources=sources, mode=mode, progress=say)
    notes = _notes(study, layers.pop("suspects"),
                   layers["site_catchments"]["unreachable_reason"].to_numpy())
    layers["timings"] = clock | layers["timings"]
    return _results(study, layers, notes, mode, len(sources))


def _results(study: StudyData, layers: dict[str, Any], notes: list[str], mode: str,
             parts: int) -> Any:
    """Assemble the :class:`~coverage.engine.run.RunResults` of a run by parts."""
    from coverage.engine.provenance import data_quality, run_info, with_layers
    from coverage.engine.run import RunResults, funding_and_scores
    from coverage.measures.availability import estimated_analyses

    schema, done = layers.pop("schema"), layers.pop("parts")
    if "migrants" not in study.layers:  # read part by part: their problems are the run's
        study.problems.items.extend(p for part in done for p in part["problems"])
        study.quarantined["migrants"] = sum(part["quarantined"] for part in done)
        study = replace(study, layers=study.layers | {"migrants": schema})
    skipped, estimated = layers.pop("skipped"), estimated_analyses(study.layers)
    funding, scores = funding_and_scores(study, skipped, layers["district_summary"],
                                         layers["community_summary"], layers["indicators"])
    timings = layers.pop("timings")
    layers.pop("unreachable")
    info = run_info(study, mode, timings, skipped=skipped, estimated=estimated)
    info = pd.concat([info, pd.DataFrame({"key": ["partitions"], "value": [str(parts)]})],
                     ignore_index=True)
    results = RunResults(study=study, mode=mode, migrant_access=_no_people(), run_info=info,
                         skipped=skipped, estimated=estimated, data_quality=data_quality(study),
                         funding=funding, scorecard=scores, notes=notes, timings=timings,
                         **layers)
    results.run_info = with_layers(results.run_info, list(results.layers()))
    return results


def _context(study: StudyData) -> StudyData:
    """Return the study without its migrants: what every worker is sent once."""
    return replace(study, layers={k: v for k, v in study.layers.items() if k != "migrants"})


def _no_people() -> pd.DataFrame:
    """Return an empty ``migrant_access`` (a run by parts keeps no person's times in one place)."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in (
        "person_id", "community_id", "site_id", "distance_m", "time_min", "snap_m",
        "unreachable_reason", "e2sfca")})
