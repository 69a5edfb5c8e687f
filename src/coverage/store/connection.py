"""Connecting to a PostgreSQL store, and its errors told in one line.

psycopg (the PostgreSQL driver) is imported here, when a PostGIS store is first used; the
default install, without the ``store`` extra, never needs it. Every database error a user can
meet becomes a :class:`~coverage.store.base.StoreError` naming the store (its URL with the
password masked) and the problem: the server not reachable, the log-in refused, the database
missing, permission denied, or the server's own words for anything else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from coverage.io.store_url import database_problem, scrub_passwords
from coverage.store.base import StoreError, first_line

if TYPE_CHECKING:
    import psycopg

__all__ = ["CONNECT_TIMEOUT_S", "connect", "store_error"]

CONNECT_TIMEOUT_S = 10
"""Seconds to wait for the server unless the URL sets ``connect_timeout``."""


def _driver() -> Any:
    """Import psycopg, or raise a :class:`StoreError` saying how to install it."""
    try:
        import psycopg
    except ImportError:
        msg = ("psycopg (the PostgreSQL driver) is not installed; install it with "
               "pip install \"coverage-planner[store]\"")
        raise StoreError(msg) from None
    return psycopg


def store_error(exc: BaseException, store: str, doing: str, url: str | None = None) -> StoreError:
    """Return the one-line :class:`StoreError` for a database error met while ``doing``.

    Parameters
    ----------
    exc
        The psycopg error.
    store
        The store's name (URL with the password masked).
    doing
        What failed, for errors not recognised (e.g. ``cannot write layer 'x'``).
    url
        The store's URL: a password of it quoted in the error's text is masked.
    """
    problem, text = database_problem(exc, url)
    return StoreError(f"{store}: {problem or doing} ({text})")


def connect(url: str, store: str, *, autocommit: bool = False,
            login: tuple[str, str] | None = None) -> psycopg.Connection:
    """Open a connection to the store's database.

    Parameters
    ----------
    url
        The libpq URL (checked by :func:`coverage.io.store_url.check_store_url`).
    store
        The store's name, for messages.
    autocommit
        Run each statement in its own transaction (else psycopg's: one until commit).
    login
        A user name and password that replace the URL's (a web app's logged-in user).

    Raises
    ------
    StoreError
        When psycopg is missing, the URL cannot be read, or the server refuses or cannot be
        reached.
    """
    psycopg = _driver()
    from psycopg.conninfo import conninfo_to_dict

    try:
        settings = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise StoreError(f"{store}: the URL cannot be read "
                         f"({scrub_passwords(first_line(exc), url)})") from None
    extra: dict[str, Any] = {"application_name": "coverage-planner"}
    if "connect_timeout" not in settings:
        extra["connect_timeout"] = CONNECT_TIMEOUT_S
    if login is not None:
        extra["user"], extra["password"] = login
    try:
        return psycopg.connect(url, autocommit=autocommit, **extra)
    except psycopg.Error as exc:
        error = store_error(exc, store, "cannot connect", url)
        if login is not None and login[1]:
            error = StoreError(str(error).replace(login[1], "***"))
        raise error from None
