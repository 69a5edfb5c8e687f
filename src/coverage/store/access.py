"""The PostGIS store's log-ins: who reads the whole city, who one district, who writes runs.

``coverage db user add``, ``list`` and ``remove`` (``docs/store.md``). A log-in is a
PostgreSQL role that can log in, made a member of one of the store's group roles (the city's,
the districts', the writers'; ``access_roles``) and listed with its scope in ``user_access``;
the row-level security of the layer tables (``migrations/0003_district_access.sql``) does the
rest. Adding a log-in that exists changes its scope and password.

The password is hashed here, by libpq, as the server asks (SCRAM-SHA-256 by default) and only
the hash is sent: the clear password never reaches the server's logs or its statistics.

psycopg, the PostgreSQL driver, is an optional extra (``store``): it is imported inside the
functions that talk to the server, so that this module imports without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from coverage.io.store_url import DEFAULT_SCHEMA, check_schema, check_store_url
from coverage.store.base import StoreError
from coverage.store.connection import connect, store_error
from coverage.store.districts import SCOPE_COLUMN
from coverage.store.migrations import check_version, store_name

if TYPE_CHECKING:
    import psycopg

__all__ = ["MIN_PASSWORD_LENGTH", "SCOPES", "UserChange", "UserRemoved", "add_user",
           "list_users", "remove_user"]

SCOPES = ("city", "district", "writer")
"""A log-in's scopes: the whole city (read), one district (read), writing runs."""

MIN_PASSWORD_LENGTH = 10
"""The shortest password a log-in may have."""

_MAX_NAME_BYTES = 63


@dataclass(frozen=True)
class UserChange:
    """What :func:`add_user` did.

    Attributes
    ----------
    name
        The log-in.
    created
        Whether the log-in is new (else its scope and password were updated).
    scope, district
        Its scope now (``district`` only for a district's log-in).
    before
        Its scope before, as ``city``, ``writer`` or ``district <name>`` (``None`` when new or
        when it had none in this store).
    group
        The store's group role it is a member of.
    known_districts
        The districts of the latest run's rows (empty when the store holds no run); a
        district's log-in whose district is not among them sees nothing yet.
    """

    name: str
    created: bool
    scope: str
    district: str | None
    before: str | None
    group: str
    known_districts: tuple[str, ...]


@dataclass(frozen=True)
class UserRemoved:
    """What :func:`remove_user` did.

    Attributes
    ----------
    name
        The log-in.
    before
        Its scope in this store, as ``city``, ``writer`` or ``district <name>``.
    dropped
        Whether the log-in itself was dropped (else it is a member of roles of other stores,
        listed in ``kept_for``, and stays for them; it lost this store's access only).
    kept_for
        The other roles it is a member of.
    """

    name: str
    before: str
    dropped: bool
    kept_for: tuple[str, ...] = ()


def _check(url: str, schema: str, store: str) -> None:
    try:
        check_store_url(url)
        check_schema(schema)
    except ValueError as exc:
        raise StoreError(f"{store}: {exc}") from None


def _check_user(name: str, scope: str, district: str | None, password: str, store: str) -> None:
    """Raise unless the log-in's name, scope and password can be kept."""
    problem = None
    if not name or "\x00" in name or len(name.encode("utf-8")) > _MAX_NAME_BYTES:
        problem = f"{name!r} is no user name (1 to {_MAX_NAME_BYTES} bytes)"
    elif scope not in SCOPES:
        problem = f"{scope!r} is no scope ({', '.join(SCOPES)})"
    elif (scope == "district") != bool(district and district.strip()):
        problem = "a district's log-in needs the district's name, and only it"
    elif len(password) < MIN_PASSWORD_LENGTH:
        problem = f"the password is shorter than {MIN_PASSWORD_LENGTH} characters"
    if problem:
        raise StoreError(f"{store}: {problem}")


def _roles(conn: psycopg.Connection, schema: str) -> dict[str, str]:
    from psycopg import sql

    return dict(conn.execute(sql.SQL("SELECT kind, role_name FROM {}").format(
        sql.Identifier(schema, "access_roles"))).fetchall())


def _existing(conn: psycopg.Connection, name: str, roles: dict[str, str],
              store: str) -> bool:
    """Return whether the log-in exists; raise when the name is no ordinary log-in."""
    row = conn.execute("SELECT rolcanlogin, rolsuper, rolbypassrls FROM pg_roles "
                       "WHERE rolname = %s", (name,)).fetchone()
    if row is None:
        return False
    problem = None
    if name in roles.values() or not row[0]:
        problem = f"{name!r} is a group role, not a log-in"
    elif row[1] or row[2]:
        problem = (f"{name!r} is a superuser or bypasses row-level security: its access "
                   "cannot be limited; choose another name")
    if problem:
        raise StoreError(f"{store}: {problem}")
    return True


def _districts(conn: psycopg.Connection, schema: str) -> tuple[str, ...]:
    """Return the districts of the latest run's rows (empty when there is no run)."""
    from psycopg import sql

    latest = conn.execute(sql.SQL("SELECT max(id) FROM {}").format(
        sql.Identifier(schema, "runs"))).fetchone()
    if latest is None or latest[0] is None:
        return ()
    tables = [r[0] for r in conn.execute(sql.SQL(
        "SELECT table_name FROM {} WHERE access = 'district'").format(
            sql.Identifier(schema, "layer_tables"))).fetchall()]
    found: set[str] = set()
    for table in tables:
        query = sql.SQL("SELECT DISTINCT {} FROM {} WHERE run_id = %s AND {} IS NOT NULL").format(
            sql.Identifier(SCOPE_COLUMN), sql.Identifier(schema, table),
            sql.Identifier(SCOPE_COLUMN))
        found |= {str(r[0]) for r in conn.execute(query, (latest[0],)).fetchall()}
    return tuple(sorted(found))


def _before(conn: psycopg.Connection, schema: str, name: str) -> str | None:
    from psycopg import sql

    row = conn.execute(sql.SQL("SELECT scope, district FROM {} WHERE role_name = %s").format(
        sql.Identifier(schema, "user_access")), (name,)).fetchone()
    if row is None:
        return None
    return f"district {row[1]}" if row[0] == "district" else str(row[0])


def _keep(conn: psycopg.Connection, schema: str, change: UserChange, password: str,
          roles: dict[str, str]) -> None:
    """Create or update the log-in, its group and its scope (in the caller's transaction)."""
    from psycopg import sql

    name = change.name
    hashed = conn.pgconn.encrypt_password(password.encode("utf-8"), name.encode("utf-8"))
    verb = "CREATE" if change.created else "ALTER"
    conn.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(
        sql.Identifier(name), sql.Literal(hashed.decode("ascii"))))
    groups = {r[0] for r in conn.execute(
        "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
        "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s", (name,)).fetchall()}
    for kind, role in roles.items():
        if kind == change.scope and role not in groups:
            conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(role),
                                                          sql.Identifier(name)))
        elif kind != change.scope and role in groups:
            conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(role),
                                                             sql.Identifier(name)))
    conn.execute(sql.SQL(
        "INSERT INTO {} (role_name, scope, district) VALUES (%s, %s, %s) ON CONFLICT "
        "(role_name) DO UPDATE SET scope = excluded.scope, district = excluded.district").format(
            sql.Identifier(schema, "user_access")), (name, change.scope, change.district))


def add_user(url: str, name: str, *, scope: str, district: str | None = None, password: str,
             schema: str = DEFAULT_SCHEMA) -> UserChange:
    """Create a log-in of the store, or change an existing one's scope and password.

    Parameters
    ----------
    url
        The database, as a user allowed to create roles (the one who ran ``coverage db init``,
        with ``CREATEROLE``, or a superuser).
    name
        The log-in's name (a PostgreSQL role; roles belong to the whole server).
    scope
        ``city`` (reads every district), ``district`` (reads one) or ``writer`` (writes runs).
    district
        For ``district``: the district's name as in the layers (e.g. ``东城区``).
    password
        At least :data:`MIN_PASSWORD_LENGTH` characters; sent hashed.
    schema
        The store's schema.

    Returns
    -------
    UserChange
        What was done.

    Raises
    ------
    StoreError
        A bad name, scope or password; a name taken by a group role or a superuser; the
        schema not set up; permission denied. Nothing is changed then.
    """
    store = store_name(str(url), str(schema))
    _check(url, schema, store)
    district = district.strip() if district else None
    _check_user(name, scope, district, password, store)
    with connect(url, store) as conn:
        import psycopg  # there: connect imported it

        try:
            with conn.transaction():
                check_version(conn, schema, store)
                roles = _roles(conn, schema)
                change = UserChange(name, not _existing(conn, name, roles, store), scope,
                                    district, _before(conn, schema, name), roles[scope],
                                    _districts(conn, schema))
                _keep(conn, schema, change, password, roles)
        except psycopg.Error as exc:
            raise store_error(exc, store, f"cannot keep user {name!r}", url) from None
    return change


def list_users(url: str, schema: str = DEFAULT_SCHEMA) -> pd.DataFrame:
    """Return the store's log-ins: ``user``, ``scope``, ``district``, ``can_log_in``.

    One row per log-in kept by :func:`add_user`, by name; no password, nor any hash of it.
    A district's log-in running this sees its own row only.
    """
    from psycopg import sql

    store = store_name(str(url), str(schema))
    _check(url, schema, store)
    with connect(url, store) as conn:
        import psycopg  # there: connect imported it

        try:
            check_version(conn, schema, store)
            rows = conn.execute(sql.SQL(
                "SELECT u.role_name, u.scope, u.district, coalesce(r.rolcanlogin, false) "
                "FROM {} u LEFT JOIN pg_roles r ON r.rolname = u.role_name "
                "ORDER BY u.role_name").format(sql.Identifier(schema, "user_access"))).fetchall()
        except psycopg.Error as exc:
            raise store_error(exc, store, "cannot list the users", url) from None
    frame = pd.DataFrame(rows, columns=["user", "scope", "district", "can_log_in"])
    district = frame["district"].astype(object)
    frame["district"] = district.where(district.notna(), None)
    return frame


def _removable(conn: psycopg.Connection, name: str, roles: dict[str, str], before: str | None,
               store: str) -> bool:
    """Raise unless ``name`` is a log-in of this store one may remove; return whether it exists.

    Never a group role, a superuser (or a role bypassing row-level security) or the log-in
    connected; a name without a row in ``user_access`` is no user of this store.
    """
    row = conn.execute("SELECT rolsuper OR rolbypassrls, rolname IN (current_user, session_user) "
                       "FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
    problem = None
    if name in roles.values():
        problem = f"{name!r} is one of the store's group roles, not a log-in"
    elif row is not None and row[1]:
        problem = f"{name!r} is the log-in connected; connect as another to remove it"
    elif row is not None and row[0]:
        problem = f"{name!r} is a superuser or bypasses row-level security, no user of the store"
    elif before is None:
        problem = f"no user {name!r} in this store (`coverage db user list` lists them)"
    if problem:
        raise StoreError(f"{store}: {problem}")
    return row is not None


def _drop(conn: psycopg.Connection, name: str,
          roles: dict[str, str]) -> tuple[bool, tuple[str, ...]]:
    """Take the store's groups from the log-in and drop it, unless other roles keep it.

    In the caller's transaction. Returns whether the role was dropped, and the other roles
    keeping it when it was not.
    """
    from psycopg import sql

    groups = [r[0] for r in conn.execute(
        "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
        "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s ORDER BY 1",
        (name,)).fetchall()]
    for role in groups:
        if role in roles.values():
            conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(role),
                                                             sql.Identifier(name)))
    others = tuple(role for role in groups if role not in roles.values())
    if others:
        return False, others
    conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))
    return True, ()


def _forget(conn: psycopg.Connection, schema: str, name: str) -> None:
    """Delete the log-in's scope in the store (its row of ``user_access``)."""
    from psycopg import sql

    conn.execute(sql.SQL("DELETE FROM {} WHERE role_name = %s").format(
        sql.Identifier(schema, "user_access")), (name,))


def remove_user(url: str, name: str, *, schema: str = DEFAULT_SCHEMA) -> UserRemoved:
    """Remove a log-in of the store: its scope, its group, and the log-in itself.

    The log-in is dropped (it can no longer connect) unless it is a member of roles of other
    stores of the server too: then it only loses this store's group and scope.

    Parameters
    ----------
    url
        The database, as a user allowed to drop roles (the one who ran ``coverage db init``,
        with ``CREATEROLE``, or a superuser).
    name
        The log-in, one listed by :func:`list_users`.
    schema
        The store's schema.

    Returns
    -------
    UserRemoved
        What was done.

    Raises
    ------
    StoreError
        No such user in this store; a group role, a superuser or the log-in connected; the
        schema not set up; permission denied, or the log-in still owning objects of the
        database. Nothing is changed then.
    """
    store = store_name(str(url), str(schema))
    _check(url, schema, store)
    with connect(url, store) as conn:
        import psycopg  # there: connect imported it

        try:
            with conn.transaction():
                check_version(conn, schema, store)
                roles = _roles(conn, schema)
                before = _before(conn, schema, name)
                exists = _removable(conn, name, roles, before, store)
                _forget(conn, schema, name)
                # a role dropped by other means leaves its scope only, forgotten now
                dropped, others = _drop(conn, name, roles) if exists else (True, ())
        except psycopg.Error as exc:
            raise store_error(exc, store, f"cannot remove user {name!r}", url) from None
    return UserRemoved(name, str(before), dropped, others)
