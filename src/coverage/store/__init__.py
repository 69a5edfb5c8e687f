"""Where a project's results are kept: its runs, each whole, with their history.

One interface, :class:`~coverage.store.base.Store`, two stores: the GeoPackage folder
(:mod:`~coverage.store.gpkg`: ``results.gpkg`` and its CSVs, the latest run, as always, plus
``runs/`` with every run; the default) and PostGIS (:mod:`~coverage.store.postgis`: a schema of
a PostgreSQL database, for a city's shared deployment). :func:`open_store` opens a project's.
Either reads a layer back exactly as it was written (:mod:`~coverage.store.columns`), and
keeps the planners' saved scenarios, versioned so that two saves at once never lose one
(:class:`~coverage.store.base.ScenarioConflict`).
:mod:`~coverage.store.migrations` creates and upgrades the PostGIS schema
(``coverage db init``); :mod:`~coverage.store.backup` writes a project's runs into one
GeoPackage file and back into a store (``coverage db export``, ``import``). psycopg, the
PostgreSQL driver, is imported only when a PostGIS store is used (``pip install
"coverage-planner[store]"``).

The store sits beside the analyses in the layers (``docs/architecture.md``): the engine writes
through it; it knows frames, files and tables, never the engine, the outputs or the command
line.
"""

from __future__ import annotations

from pathlib import Path

from coverage.io.project import Project, load_project
from coverage.store.base import ScenarioConflict, Store, StoreError
from coverage.store.gpkg import GeoPackageStore

__all__ = ["ScenarioConflict", "Store", "StoreError", "open_store"]


def open_store(project: Project | str | Path, url: str | None = None, *,
               schema: str | None = None) -> Store:
    """Return the store of a project's runs.

    Parameters
    ----------
    project
        The project (or its folder or ``project.toml``).
    url
        A PostgreSQL URL (``postgresql://USER@HOST:PORT/DATABASE``): its PostGIS store; default
        the project's ``[store] url``, and without one the GeoPackage store of its output
        folder.
    schema
        The PostGIS store's schema (default the project's ``[store] schema``, ``coverage``).

    Raises
    ------
    StoreError
        For a URL that is no PostgreSQL URL, or when psycopg is not installed (the message
        never shows the URL's password).
    coverage.io.project.ProjectError
        When the project file cannot be read.
    """
    project = project if isinstance(project, Project) else load_project(project)
    url = url if url is not None else project.store_url
    if url is None:
        return GeoPackageStore(project.output_dir)
    # the PostgreSQL modules need the optional driver (the ``store`` extra): loaded for a URL
    from coverage.store.postgis import PostGISStore

    return PostGISStore(url, schema=schema or project.store_schema)
