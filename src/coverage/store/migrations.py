"""The PostGIS store's schema, created and upgraded by versioned SQL files.

``migrations/NNNN_name.sql`` (in this package) are the schema's versions, applied in order:
:func:`migrate` (``coverage db init URL``) creates the schema when missing, then, in one
transaction, applies the files not yet applied and records each in the schema's
``schema_version`` table (version, name, time). It is idempotent (a second call applies
nothing) and safe to run twice at once (a transaction-level advisory lock orders them). A
database whose schema is newer than this code is refused with a clear error, never changed.
The files use unqualified names: they run with the store's schema first on the
``search_path``.

psycopg, the PostgreSQL driver, is an optional extra (``store``): it is imported inside the
functions that talk to the server, so that this module imports without it.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import TYPE_CHECKING

from coverage.io.store_url import DEFAULT_SCHEMA, check_schema, check_store_url, mask_url
from coverage.store.base import StoreError
from coverage.store.connection import connect, store_error

if TYPE_CHECKING:
    import psycopg

__all__ = ["LATEST_VERSION", "check_version", "migrate", "migrations", "postgis_schema",
           "store_name"]

_FILE = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")


def migrations() -> list[tuple[int, str, str]]:
    """Return the schema's versions in order: (version, name, SQL text)."""
    folder = resources.files("coverage.store").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        match = _FILE.fullmatch(entry.name)
        if match:
            found.append((int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found)


LATEST_VERSION = migrations()[-1][0]
"""The schema version this code writes and reads."""


def store_name(url: str, schema: str) -> str:
    """Return how messages name a PostGIS store: its URL (password masked) and schema."""
    return f"PostGIS store {mask_url(url)} (schema {schema})"


def postgis_schema(conn: psycopg.Connection, store: str) -> str:
    """Return the schema of the database's PostGIS extension, or raise when it has none."""
    row = conn.execute("SELECT extnamespace::regnamespace::text FROM pg_extension "
                       "WHERE extname = 'postgis'").fetchone()
    if row is None:
        msg = (f"{store}: the database has no PostGIS extension; a superuser or the "
               "database's owner adds it with CREATE EXTENSION postgis; (docs/store.md)")
        raise StoreError(msg)
    return str(row[0]).strip('"')


def _applied(conn: psycopg.Connection, schema: str) -> list[int] | None:
    """Return the versions applied to ``schema`` (``None`` when it has no version table)."""
    from psycopg import sql

    found = conn.execute("SELECT to_regclass(%s) IS NOT NULL",
                         (sql.Identifier(schema, "schema_version").as_string(conn),)).fetchone()
    if not found or not found[0]:
        return None
    query = sql.SQL("SELECT version FROM {} ORDER BY version").format(
        sql.Identifier(schema, "schema_version"))
    return [int(row[0]) for row in conn.execute(query).fetchall()]


def _refuse_newer(applied: list[int], store: str) -> None:
    if applied and max(applied) > LATEST_VERSION:
        msg = (f"{store}: the schema is at version {max(applied)}, newer than this "
               f"coverage-planner knows (version {LATEST_VERSION}); upgrade coverage-planner")
        raise StoreError(msg)


def check_version(conn: psycopg.Connection, schema: str, store: str) -> None:
    """Raise unless ``schema`` is at the version this code knows (:data:`LATEST_VERSION`)."""
    applied = _applied(conn, schema)
    if not applied:
        msg = (f"{store}: the schema is not set up; create it with `coverage db init URL"
               f"{'' if schema == DEFAULT_SCHEMA else ' --schema ' + schema}`")
        raise StoreError(msg)
    _refuse_newer(applied, store)
    if max(applied) < LATEST_VERSION:
        msg = (f"{store}: the schema is at version {max(applied)}, older than this "
               f"coverage-planner's {LATEST_VERSION}; upgrade it with `coverage db init URL`")
        raise StoreError(msg)


def _apply(conn: psycopg.Connection, schema: str, store: str) -> int:
    """Apply the missing versions inside the caller's transaction; return the version."""
    from psycopg import sql

    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"coverage-store:{schema}",))
    extension = postgis_schema(conn, store)
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    conn.execute(sql.SQL("SET LOCAL search_path TO {}, {}").format(
        sql.Identifier(schema), sql.Identifier(extension)))
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, "
                 "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
    applied = _applied(conn, schema) or []
    _refuse_newer(applied, store)
    for version, name, text in migrations():
        if version in applied:
            continue
        conn.execute(text.encode("utf-8"))  # the package's own SQL files, no data in them
        conn.execute("INSERT INTO schema_version (version, name) VALUES (%s, %s)",
                     (version, name))
    return LATEST_VERSION


def migrate(url: str, schema: str = DEFAULT_SCHEMA) -> int:
    """Create or upgrade a PostGIS store's schema; return its version.

    Parameters
    ----------
    url
        The database (``postgresql://USER@HOST:PORT/DATABASE``); its PostGIS extension must
        be there (``CREATE EXTENSION postgis``).
    schema
        The schema holding the store's tables (created when missing).

    Returns
    -------
    int
        The schema's version after the call (:data:`LATEST_VERSION`).

    Raises
    ------
    StoreError
        A bad URL or schema name, the server not reachable, no PostGIS extension, a schema
        newer than this code, or permission denied; nothing is changed then.
    """
    store = store_name(str(url), str(schema))
    try:
        check_store_url(url)
        check_schema(schema)
    except ValueError as exc:
        raise StoreError(f"{store}: {exc}") from None
    with connect(url, store) as conn:
        import psycopg  # there: connect imported it

        try:
            with conn.transaction():
                return _apply(conn, schema, store)
        except psycopg.Error as exc:
            raise store_error(exc, store, "cannot create the schema", url) from None

