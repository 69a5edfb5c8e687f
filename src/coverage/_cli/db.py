"""The command line's store commands: ``coverage db init``, ``db user`` and ``runs``.

Registered on the main command line (:mod:`coverage.cli`) with ``add_typer``: :data:`db_app`
as the ``db`` group (with :data:`user_app` as its ``user`` group: ``add``, ``list`` and
``remove``; and ``export`` and ``import`` of :mod:`coverage._cli.db_backup`),
:data:`runs_app`'s command at the top level. Each prints one line and exits 1 on a store
error (server not reachable, no PostGIS, schema newer than the code, permission denied), 2 on
a bad project file, URL or choice of options; never a traceback, never a password.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from coverage._cli.db_backup import export_command, import_command
from coverage._cli.options import Lang
from coverage._cli.store_options import SchemaOption, StoreOption

__all__ = ["db_app", "runs_app", "user_app"]

console = Console()
err = Console(stderr=True)

db_app = typer.Typer(
    name="db",
    help="Set up a shared PostGIS store of runs (共享数据库的初始化与管理).",
    no_args_is_help=True,
)
runs_app = typer.Typer()
user_app = typer.Typer(
    name="user",
    help="Log-ins of a PostGIS store and what each may read (数据库用户与区级权限).",
    no_args_is_help=True,
)
db_app.add_typer(user_app)
db_app.command("export")(export_command)
db_app.command("import")(import_command)


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


_UrlArgument = Annotated[str, typer.Argument(
    help="postgresql://USER@HOST:PORT/DATABASE, as a user allowed to create roles (the one "
    "who ran coverage db init, or a superuser).")]


def _password(from_stdin: bool) -> str:
    """Return the new password: stdin's first line, or typed twice at a hidden prompt."""
    import sys

    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password (密码)", hide_input=True, confirmation_prompt=True))


def _scope(city: bool, district: str | None, writer: bool) -> str:
    chosen = [s for s, on in (("city", city), ("district", district is not None),
                              ("writer", writer)) if on]
    if len(chosen) != 1:
        _fail("give one of --city, --district NAME or --writer", 2)
    return chosen[0]


def _says(scope: str, district: str | None) -> str:
    return {"city": "reads every district (全市)", "writer": "writes runs, reads everything",
            "district": f"reads district {district} only (区级)"}[scope]


@user_app.command("add")
def user_add(
    url: _UrlArgument,
    name: Annotated[str, typer.Argument(help="The log-in's name (a PostgreSQL role).")],
    city: Annotated[bool, typer.Option("--city", help="Reads every district (全市).")] = False,
    district: Annotated[str | None, typer.Option(
        "--district", help="Reads this district's rows only (区级), named as in the layers' "
        "district column.", show_default=False)] = None,
    writer: Annotated[bool, typer.Option(
        "--writer", help="Writes runs; reads everything, the person-level layer too.")] = False,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input "
        "(for scripts) instead of a prompt; it is never an argument.")] = False,
    schema: Annotated[str, typer.Option(help="Database schema of the store.")] = "coverage",
) -> None:
    """Add a log-in to the store, or change an existing one's scope and password (添加用户).

    A district's log-in reads its district's rows only, whatever program it uses: the
    database's row-level security keeps it there.
    """
    from coverage.store import StoreError
    from coverage.store.access import add_user

    scope = _scope(city, district, writer)
    password = _password(password_stdin)
    try:
        done = add_user(url, name, scope=scope, district=district, password=password,
                        schema=schema)
    except StoreError as exc:
        _fail(str(exc), 1)
        return
    what = _says(done.scope, done.district)
    if done.created:
        text = f"user {done.name} created: {what} (member of {done.group})"
    else:
        now = f"district {done.district}" if done.district else done.scope
        was = f" (was: {done.before})" if done.before not in (None, now) else ""
        text = f"user {done.name} updated: {what}{was}; password changed"
    console.print(text, highlight=False, soft_wrap=True)
    if done.district and done.known_districts and done.district not in done.known_districts:
        err.print(f"note: no row of the latest run is in district {escape(done.district)}; "
                  f"its districts: {escape(', '.join(done.known_districts))}",
                  highlight=False, soft_wrap=True)


@user_app.command("list")
def user_list(
    url: Annotated[str, typer.Argument(help="postgresql://USER@HOST:PORT/DATABASE.")],
    schema: Annotated[str, typer.Option(help="Database schema of the store.")] = "coverage",
) -> None:
    """List the store's log-ins and what each may read; never a password (列出用户)."""
    from coverage.store import StoreError
    from coverage.store.access import list_users
    from coverage.store.migrations import store_name

    try:
        users = list_users(url, schema)
    except StoreError as exc:
        _fail(str(exc), 1)
        return
    name = store_name(url, schema)
    if users.empty:
        console.print(f"{name}: no user yet (coverage db user add)", highlight=False,
                      soft_wrap=True)
        return
    table = Table(title=f"users ({len(users)})", box=box.SIMPLE_HEAD, show_edge=False,
                  pad_edge=False)
    for column in ("User", "Scope", "District", "Log-in"):
        table.add_column(column, no_wrap=True)
    for row in users.itertuples(index=False):
        table.add_row(escape(row.user), row.scope, escape(row.district or ""),
                      "yes" if row.can_log_in else "no")
    console.print(table)
    console.print(name, highlight=False, soft_wrap=True)


@user_app.command("remove")
def user_remove(
    url: _UrlArgument,
    name: Annotated[str, typer.Argument(help="The log-in to remove (coverage db user list).")],
    schema: Annotated[str, typer.Option(help="Database schema of the store.")] = "coverage",
) -> None:
    """Remove a log-in of the store: it can no longer log in (删除用户).

    Only a log-in of this store's users; never a group role, a superuser or the log-in
    connected. A log-in that is also a user of another store of the server keeps that access.
    """
    from coverage.store import StoreError
    from coverage.store.access import remove_user

    try:
        done = remove_user(url, name, schema=schema)
    except StoreError as exc:
        _fail(str(exc), 1)
        return
    if done.dropped:
        text = f"user {done.name} removed (was: {done.before}); it can no longer log in"
    else:
        text = (f"user {done.name} removed from this store (was: {done.before}); the log-in "
                f"stays for its other roles: {', '.join(done.kept_for)}")
    console.print(escape(text), highlight=False, soft_wrap=True)


def _short(text: object, n: int = 12) -> str:
    return "" if text is None else str(text)[:n]


def runs_table(runs: object, title: str, lang: str) -> Table:
    """Return the runs (:meth:`coverage.store.Store.runs`) as a table, newest first."""
    from coverage.messages import catalogue
    from coverage.store.base import inputs_digest

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
                      inputs_digest(row.input_sha256 or {})[:8], str(len(row.layers)))
    return table


@runs_app.command("runs")
def runs(
    project: Annotated[Path, typer.Argument(help="Project folder or project.toml.")],
    store: StoreOption = None,
    schema: SchemaOption = None,
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
