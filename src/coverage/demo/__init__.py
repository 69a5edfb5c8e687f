"""The demo city: a seeded synthetic Chinese prefecture-level urban area.

:func:`build_demo` writes a complete project folder (``project.toml`` and every layer) for a
**synthetic** city placed near Dongguan, Guangdong: districts (区), street offices (街道) and
communities (社区); a road network with arterials, one-way pairs, local streets, gated
compounds (小区) reached through gates, dense urban villages (城中村), industrial parks with
dormitories, parks, a river crossed by a few bridges and an island no bridge reaches; service
sites of every kind; migrants with every attribute of the data model; registered-resident
points; candidate sites; and the districts' family-planning budgets. Nothing in it describes a
real person, facility or boundary.

Known effects are planted so that analyses can be tested against them (``ground_truth.json``):
under-served areas with no site within a long walk, under-staffed sites, communities whose
inflow grows fast, the disconnected island, and the inequality the plan is written against:
in most districts migrants live farther from a service point and reach fewer staff than
registered residents, except in one or two districts planted the other way round
(:func:`coverage.demo.services.equal_districts`, ``equalization`` in the truth).

The same size and seed give byte-identical tables. Modules, one concern each:

* :mod:`~coverage.demo.config` — size presets;
* :mod:`~coverage.demo.frame` — local metric frame and its conversion to WGS-84;
* :mod:`~coverage.demo.layout` — arterial grid, land use, river, bridges, planted areas;
* :mod:`~coverage.demo.roads` — the street network;
* :mod:`~coverage.demo.buildings` — residential lots and workplaces;
* :mod:`~coverage.demo.admin` — communities, street offices, districts;
* :mod:`~coverage.demo.people` — migrants and registered residents;
* :mod:`~coverage.demo.services` — service sites;
* :mod:`~coverage.demo.candidates` — candidate sites;
* :mod:`~coverage.demo.budgets` — the districts' budgets;
* :mod:`~coverage.demo.origins`, :mod:`~coverage.demo.names` — origin codes and Chinese names;
* :mod:`~coverage.demo.truth` — the planted truth and the README;
* :mod:`~coverage.demo.write` — the files;
* :mod:`~coverage.demo.partitioned` — the migrants as partitioned GeoParquet, described
  district by district for a city that does not fit one process (``xlarge``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from coverage.demo.admin import build_admin
from coverage.demo.budgets import make_budgets, write_budgets
from coverage.demo.buildings import build_lots, build_workplaces
from coverage.demo.candidates import place_candidates
from coverage.demo.config import SIZES, Size, SizeSpec, size_spec
from coverage.demo.layout import build_layout
from coverage.demo.partitioned import FOLDER, describe_by_district, write_migrant_parts
from coverage.demo.people import (
    Migrants,
    describe_migrants,
    fp_staff,
    growth_rates,
    lot_communities,
    place_migrants,
    place_registered,
)
from coverage.demo.roads import build_network
from coverage.demo.services import place_sites
from coverage.demo.truth import City, ground_truth, readme
from coverage.demo.write import (
    write_candidates,
    write_communities,
    write_migrants,
    write_network,
    write_project,
    write_registered,
    write_sites,
    write_truth,
)

__all__ = ["SIZES", "build_demo", "project_figures", "size_spec"]

_STEPS = 9


def build_demo(
    out_dir: str | Path,
    *,
    size: Size = "default",
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    partitioned: bool | None = None,
) -> Path:
    """Write a demo project folder and return the path of its project.toml.

    Parameters
    ----------
    out_dir
        Folder to write into (created if missing). Existing demo files are overwritten.
    size
        ``small`` (about 50 communities, 20,000 migrants, 12,000 network nodes; seconds),
        ``default`` (100 communities, 200,000 migrants, 50,000 nodes), ``large``
        (260 communities, 1,200,000 migrants, 175,000 nodes, a larger area) or ``xlarge``
        (2,500 communities in 11 districts, 10,000,000 migrants, over 1,000,000 nodes: a city
        for a run split by partition, built district by district in a few GB; minutes).
    seed
        Seed of the random generator; the same size and seed give identical tables.
    progress
        Called with a short English description at the start of each step; a step that goes
        part by part ends in ``(k/n)``.
    partitioned
        Write the migrants as partitioned GeoParquet, a folder ``migrants/`` with one part
        per district (:mod:`coverage.demo.partitioned`), instead of ``migrants.csv``. Default:
        the preset's (only ``xlarge``, which cannot be written otherwise). The records are
        the same either way.

    Returns
    -------
    pathlib.Path
        The ``project.toml`` written.

    Raises
    ------
    ValueError
        When ``size`` is not a preset, ``seed`` is negative or ``partitioned`` is false for
        ``xlarge``.

    Examples
    --------
    >>> path = build_demo("demo", size="small", seed=1)  # doctest: +SKIP
    >>> path.name  # doctest: +SKIP
    'project.toml'
    """
    spec = size_spec(size)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        msg = f"seed {seed!r} must be a whole number ≥ 0, e.g. seed=0"
        raise ValueError(msg)
    if partitioned is False and spec.partitioned:
        msg = (f"the {spec.name} city's migrants are written only as partitioned GeoParquet: "
               "leave partitioned unset")
        raise ValueError(msg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(_STEPS)]
    step = progress or (lambda _text: None)
    city = _make_city(spec, rngs, step, out / FOLDER if spec.partitioned else None)
    project = _write_city(out, city, size=spec.name, seed=int(seed), step=step,
                          partitioned=bool(spec.partitioned if partitioned is None
                                           else partitioned))
    # the last generator of the seed: the budgets change nothing else of the city
    budgets = make_budgets(city.admin.district, city.registered_pop,
                           city.migrants.residents.community, rngs[8])
    write_budgets(out / "budgets.csv", budgets)
    return project


def _make_city(
    spec: SizeSpec, rngs: list[np.random.Generator], step: Callable[[str], None],
    parts: Path | None = None,
) -> City:
    """Generate every part of the city, each step from its own random generator.

    With ``parts`` the migrants are described district by district and written there as they
    are (:func:`~coverage.demo.partitioned.describe_by_district`): the city keeps only their
    :class:`~coverage.demo.people.MigrantFacts`.
    """
    step("Planning the city: arterials, land use, river and bridges")
    layout = build_layout(spec, rngs[0])
    step("Drawing the road network")
    network = build_network(layout, rngs[1])
    step("Placing residential lots and workplaces")
    lots = build_lots(layout, rngs[2])
    work = build_workplaces(layout)
    step("Drawing communities, street offices and districts")
    admin = build_admin(layout, lots, rngs[3])
    lot_comm = lot_communities(lots, admin)
    step("Placing migrants and registered residents")
    residents = place_migrants(lots, lot_comm, admin, spec.migrants, rngs[4])
    registered = place_registered(layout, lots, lot_comm, admin,
                                  round(spec.migrants * spec.registered_per_migrant), rngs[4])
    registered_pop = registered.per_community(len(admin))
    staff = fp_staff(registered_pop, rngs[4])
    step("Placing service sites and candidate sites")
    xy = np.column_stack([residents.x, residents.y])
    sites = place_sites(layout, lots, lot_comm, admin, xy, residents.community, rngs[5])
    candidates = place_candidates(layout, lots, lot_comm, admin, sites, rngs[5])
    growth, fast = growth_rates(layout, lots, lot_comm, residents, len(admin), rngs[6])
    if parts is None:
        step("Describing migrants: origins, arrivals, work and service records")
        migrants = describe_migrants(residents, lots, layout, admin, sites, work, growth,
                                     rngs[7])
    else:
        migrants = describe_by_district(parts, residents,
                                        (lots, layout, admin, sites, work, growth), rngs[7], step)
    return City(layout, network, lots, admin, migrants, registered, registered_pop, staff,
                sites, candidates, growth, fast)


def _write_city(
    out: Path, city: City, *, size: str, seed: int, step: Callable[[str], None],
    partitioned: bool,
) -> Path:
    """Write the layers, the ground truth, the README and project.toml; return the latter.

    Migrants described at once are written as ``migrants.csv`` or, ``partitioned``, as parts
    (those described district by district are written already).
    """
    step("Writing the network")
    _, n_edges = write_network(out / "network.gpkg", city.network)
    step("Writing layers, ground truth and project.toml")
    if isinstance(city.migrants, Migrants) and partitioned:
        write_migrant_parts(out / FOLDER, city.migrants, city.admin)
    elif isinstance(city.migrants, Migrants):
        write_migrants(out / "migrants.csv", city.migrants, city.admin)
    write_sites(out / "sites.csv", city.sites)
    write_communities(out / "communities.gpkg", city.admin, city.registered_pop, city.fp_staff)
    write_registered(out / "registered_points.gpkg", city.registered, city.admin)
    write_candidates(out / "candidates.geojson", city.candidates)
    truth, layers = ground_truth(city, size=size, seed=seed, edges_written=n_edges,
                                 parts=out / FOLDER if partitioned else None)
    write_truth(out / "ground_truth.json", out / "ground_truth.gpkg", truth, layers)
    (out / "README.md").write_text(readme(truth), encoding="utf-8")
    project = out / "project.toml"
    write_project(project, partitioned=partitioned)
    return project


def project_figures(folder: str | Path) -> dict[str, int]:
    """Return the figures of a built demo project, read from its files.

    Parameters
    ----------
    folder
        The demo project's folder.

    Returns
    -------
    dict
        ``migrants``, ``network_nodes``, ``sites`` and ``communities`` (the planted truth's
        counts), ``districts``, ``parts`` (the migrants' GeoParquet parts, 0 for
        ``migrants.csv``) and ``bytes`` (every file of the folder, on disk).
    """
    folder = Path(folder)
    truth = json.loads((folder / "ground_truth.json").read_text(encoding="utf-8"))
    counts = truth["counts"]
    return {
        "migrants": int(counts["migrants"]),
        "network_nodes": int(counts["network_nodes"]),
        "sites": int(counts["sites"]),
        "communities": int(counts["communities"]),
        "districts": int(counts["districts"]),
        "parts": int(truth.get("migrants_parts", {}).get("parts", 0)),
        "bytes": sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()),
    }
