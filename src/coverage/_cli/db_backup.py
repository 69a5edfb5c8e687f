"""The command line's backup and moving of a store: ``coverage db export`` and ``db import``.

Registered on the ``db`` group by :mod:`coverage._cli.db`. ``export`` writes every run of a
project kept in a store (PostGIS, or a GeoPackage output folder) into one GeoPackage file;
``import`` writes the runs of such a file into a PostGIS store under their own ids
(:mod:`coverage.store.backup`). Each prints one line and exits 1 on a store error, 2 on a bad
project, file, URL or schema; never a traceback, never a password.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from coverage._cli.store_options import SchemaOption

if TYPE_CHECKING:
    from coverage.store.base import Store

__all__ = ["export_command", "import_command"]

console = Console()
err = Console(stderr=True)


def _fail(text: str, code: int) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(text)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def _progress(what: str, total: int) -> Iterator[Progress]:
    """Show a progress bar over runs on standard error, gone once done."""
    bar = Progress(TextColumn(what), BarColumn(), MofNCompleteColumn(), console=err,
                   transient=True)
    with bar:
        bar.add_task(what, total=total)
        yield bar


def _source(url: str, project: Path, schema: str | None) -> tuple[Store, str]:
    """Return the store to export from and the project's name; exit 2 on a bad input."""
    from coverage.io.project import ProjectError, load_project
    from coverage.io.store_url import check_schema, check_store_url
    from coverage.store.gpkg import GeoPackageStore

    try:
        parsed = load_project(project)
        folder = Path(url).is_dir()
        if not folder:
            check_store_url(url)
            schema = check_schema(schema if schema is not None else parsed.store_schema)
    except (ProjectError, ValueError) as exc:
        _fail(str(exc), 2)
    if folder:
        if schema is not None:
            _fail("--schema is for a PostGIS store, not a GeoPackage folder", 2)
        return GeoPackageStore(url), parsed.name
    from coverage.store.postgis import PostGISStore

    return PostGISStore(url, schema=schema), parsed.name


def export_command(
    url: Annotated[str, typer.Argument(
        help="postgresql://USER@HOST:PORT/DATABASE of a PostGIS store, or a GeoPackage "
        "store's output folder (e.g. results/).")],
    project: Annotated[Path, typer.Argument(
        help="Project folder or project.toml: its name selects its runs.")],
    file: Annotated[Path, typer.Argument(help="The GeoPackage file to write (.gpkg).")],
    schema: SchemaOption = None,
) -> None:
    """Write every run of a project into one GeoPackage file (备份: 导出全部运行结果).

    Each run's layers, those added to it later (a recommendation) too, with their column
    catalogue, so that `coverage db import` puts them back exactly. Owner-only (0600), written
    whole or not at all; never the person-level layer.
    """
    from coverage.store import StoreError
    from coverage.store.backup import export_runs

    if file.suffix.lower() != ".gpkg":
        _fail(f"{file}: the export is a GeoPackage; name it FILE.gpkg", 2)
    if not file.parent.is_dir():
        _fail(f"{file.parent}: no such folder", 2)
    store, name = _source(url, project, schema)
    try:
        with store:
            total = int((store.runs()["project"] == name).sum())
            with _progress("runs", total) as bar:
                done = export_runs(store, name, file,
                                   on_run=lambda _: bar.advance(bar.task_ids[0]))
    except StoreError as exc:
        _fail(str(exc), 1)
    except OSError as exc:
        _fail(f"{file}: cannot be written ({exc.strerror or exc})", 1)
    console.print(f"{escape(str(file))}: {len(done)} runs of project {escape(name)} from "
                  f"{escape(store.name)}", highlight=False, soft_wrap=True)


def import_command(
    file: Annotated[Path, typer.Argument(help="A file written by coverage db export.")],
    url: Annotated[str, typer.Argument(
        help="postgresql://USER@HOST:PORT/DATABASE of the PostGIS store to write into "
        "(set up by coverage db init).")],
    schema: Annotated[str, typer.Option(help="Database schema of the store.")] = "coverage",
) -> None:
    """Write the runs of an export file into a PostGIS store, keeping their ids (导入).

    A run the store already holds is skipped when identical; one held with other contents
    stops the import before anything is written. Each run is written in one transaction.
    """
    from coverage.io.store_url import check_schema, check_store_url
    from coverage.store import StoreError
    from coverage.store.backup import ExportError, import_runs, read_export
    from coverage.store.postgis import PostGISStore

    try:
        check_store_url(url)
        check_schema(schema)
        total = len(read_export(file).run_ids)
    except (ExportError, ValueError) as exc:
        _fail(str(exc), 2)
    notes: list[str] = []

    def step(run_id: str, written: bool) -> None:
        if not written:
            notes.append(run_id)
        bar.advance(bar.task_ids[0])

    try:
        with PostGISStore(url, schema=schema) as store, _progress("runs", total) as bar:
            done = import_runs(file, store, on_run=step)
    except ExportError as exc:
        _fail(str(exc), 2)
    except StoreError as exc:
        _fail(str(exc), 1)
    for run_id in notes:
        err.print(f"note: run {run_id} is already kept there, identical; skipped",
                  highlight=False, soft_wrap=True)
    console.print(f"{escape(store.name)}: {len(done.imported)} runs imported, "
                  f"{len(done.skipped)} already there", highlight=False, soft_wrap=True)
