"""The command line's store commands: ``coverage db init`` and ``coverage runs``.

Registered on the main command line (:mod:`coverage.cli`) with ``add_typer``: :data:`db_app`
as the ``db`` group, :data:`runs_app`'s command at the top level. Each prints one line and
exits 1 on a store error (server not reachable, no PostGIS, schema newer than the code,
permission denied), 2 on a bad project file or URL; never a traceback, never a password.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from coverage._cli.options import Lang

__all__ = ["db_app", "runs_app"]

console = Console()
err = Console(stderr=True)

db_app = typer.Typer(
    name="db",
    help="Set up a shared PostGIS store of runs (共享数据库的初始化与管理).",
    no_args_is_help=True,
)
runs_app = typer.Typer()

_SchemaOption = Annotated[str | None, typer.Option(
    help="Database schema of the store (default: the project's \\[store] schema, or coverage).",
    show_default=False)]


def _fail(text: str, code: int) -> None:
    err.print(f"[red]error:[/red] {escape(text)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@db_app.command("init")
def init(
    url: Annotated[str, typer.Argument(
        help="postgresql://USER@HOST:PORT/DATABASE (the password best in ~/.pgpass).")],
    schema: Annotated[str, typer.Option(help="Database schema of the store.")] = "coverage",
) -> None:
    """Create or upgrade the store's tables in a PostGIS database (初始化共享数据库).

    Idempotent: a database already at this version is left as it is. The database needs the
    PostGIS extension (CREATE EXTENSION postgis); the schema is created when missing.
    """
    from coverage.io.store_url import check_schema, check_store_url
    from coverage.store import StoreError
    from coverage.store.migrations import migrate, store_name

    try:
        check_store_url(url)
        check_schema(schema)
    except ValueError as exc:
        _fail(str(exc), 2)
    try:
        version = migrate(url, schema)
    except StoreError as exc:
        _fail(str(exc), 1)
        return
    console.print(f"{store_name(url, schema)}: schema version {version}", highlight=False,
                  soft_wrap=True)


def _short(text: object, n: int = 12) -> str:
    return "" if text is None else str(text)[:n]


def _inputs_digest(hashes: object) -> str:
    """Return a short digest of a run's input hashes: equal inputs, equal digests."""
    import hashlib
    import json

    if not hashes:
        return ""
    return hashlib.sha256(json.dumps(hashes, sort_keys=True).encode()).hexdigest()[:12]


def runs_table(runs: object, title: str, lang: str) -> Table:
    """Return the runs (:meth:`coverage.store.Store.runs`) as a table, newest first."""
    from coverage.messages import catalogue

    m = catalogue("cli", lang)
    modes = catalogue("report", lang)
    # one line per run in 80 columns: a run is named by its whole id
    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  padding=0)
    for key in ("run_id", "run_time", "mode", "parameters_digest", "inputs_digest",
                "layers_count"):
        table.add_column(m[key], no_wrap=True,
                         justify="right" if key == "layers_count" else "left")
    for row in runs.iloc[::-1].itertuples(index=False):  # type: ignore[attr-defined]
        mode = row.mode or ""
        table.add_row(escape(row.run_id), row.time.strftime("%Y-%m-%d %H:%M"),
                      escape(modes.get(f"mode_{mode}", mode)),
                      escape(_short(row.parameters_digest, 8)),
                      _inputs_digest(row.input_sha256)[:8], str(len(row.layers)))
    return table


@runs_app.command("runs")
def runs(
    project: Annotated[Path, typer.Argument(help="Project folder or project.toml.")],
    store: Annotated[str | None, typer.Option(
        "--store", help="postgresql://… URL of a PostGIS store (default: the project's "
        "\\[store] url, or its output folder).", show_default=False)] = None,
    schema: _SchemaOption = None,
    lang: Annotated[Lang, typer.Option(help="Message language.")] = Lang.zh,
) -> None:
    """List the project's runs, newest first (列出项目的历次运行)."""
    from coverage.io.project import ProjectError, load_project
    from coverage.io.store_url import check_schema, check_store_url
    from coverage.messages import catalogue
    from coverage.store import StoreError, open_store

    try:
        parsed = load_project(project)
        if store is not None:
            check_store_url(store)
        if schema is not None:
            check_schema(schema)
    except (ProjectError, ValueError) as exc:
        _fail(str(exc), 2)
        return
    try:
        with open_store(parsed, store, schema=schema) as opened:
            table = opened.runs()
            name = opened.name
    except StoreError as exc:
        _fail(str(exc), 1)
        return
    m = catalogue("cli", lang.value)
    if table.empty:
        console.print(m["no_runs"].format(store=name), highlight=False, soft_wrap=True)
        return
    console.print(runs_table(table, m["runs_title"].format(project=parsed.name, n=len(table)),
                             lang.value))
    console.print(name, highlight=False, soft_wrap=True)
