"""Options naming a project's store and one of its runs, shared by the commands.

``--store URL`` and ``--schema NAME`` name a PostGIS store for one command instead of the
project's ``[store]`` (``docs/store.md``); ``--run ID`` names a run of ``coverage runs``.
:func:`with_store` gives the commands the project with the store given, so that the engine,
which decides where results go, finds it in the project like one written in ``project.toml``.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from coverage.io.project import Project
from coverage.io.store_url import check_schema, check_store_url

__all__ = ["CompareOption", "RunOption", "SchemaOption", "StoreOption", "check_run", "with_store"]

StoreOption = Annotated[str | None, typer.Option(
    "--store", help="postgresql://… URL of a PostGIS store (default: the project's "
    "\\[store] url, or its output folder).", show_default=False)]
SchemaOption = Annotated[str | None, typer.Option(
    help="Database schema of the store (default: the project's \\[store] schema, or coverage).",
    show_default=False)]
RunOption = Annotated[str | None, typer.Option(
    "--run", help="The run to report, as kept (an id listed by `coverage runs PROJECT`; "
    "default: the latest run on the current inputs).", show_default=False)]
CompareOption = Annotated[tuple[str, str] | None, typer.Option(
    "--compare", metavar="ID_A ID_B",
    help="Report the progress between two kept runs (ids of `coverage runs PROJECT`, in "
         "either order) instead: indicators, coverage and staffing per district, the change "
         "and whether each target was met.", show_default=False)]


def with_store(project: Project, store: str | None, schema: str | None) -> Project:
    """Return ``project`` keeping its runs in the store given (its own when none is given).

    Raises
    ------
    ValueError
        For a URL that is no PostgreSQL URL (password masked) or a schema name PostgreSQL
        would not take.
    """
    if store is None and schema is None:
        return project
    return dataclasses.replace(
        project,
        store_url=project.store_url if store is None else check_store_url(store),
        store_schema=project.store_schema if schema is None else check_schema(schema))


def check_run(run: str | None) -> str | None:
    """Return ``run`` if it is ``None`` or has the form of a run id, else raise ``ValueError``."""
    if run is None:
        return None
    from coverage.store.base import check_run_id

    return check_run_id(run)
