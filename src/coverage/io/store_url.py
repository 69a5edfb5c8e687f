"""Where a project's results are stored: a PostgreSQL URL and schema, checked and masked.

A project keeps its runs in its output folder unless ``[store] url`` in ``project.toml`` (or
``--store URL`` on the command line) names a PostgreSQL database with PostGIS
(``postgresql://USER@HOST:PORT/DATABASE``; see ``docs/store.md``). The URL may hold a password,
which no message, log or table ever shows: :func:`mask_url` replaces it with ``***``. Better
still, keep the password out of the URL (``~/.pgpass`` or ``PGPASSWORD``).
:func:`database_problem` tells a database error in a user's words, for the store and for input
layers read from tables (:mod:`coverage.io.db_tables`) alike.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["DEFAULT_SCHEMA", "SCHEMES", "check_schema", "check_store_url", "database_problem",
           "mask_url", "scrub_passwords"]

SCHEMES = ("postgresql", "postgres")
"""URL schemes of a PostgreSQL store (libpq's)."""

DEFAULT_SCHEMA = "coverage"
"""The database schema holding a store's tables unless ``[store] schema`` names another."""

_USER_PASSWORD = re.compile(r"(://[^/@:?#]*):[^/@?#]*@")
_PASSWORD_SETTING = re.compile(r"(password\s*=\s*)('[^']*'|[^&\s]*)", re.IGNORECASE)
_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}")

#: SQLSTATE → the problem, as a user reads it.
_PROBLEMS = {
    "28P01": "log-in refused (user or password)",
    "28000": "log-in refused (user or password)",
    "3D000": "the database does not exist",
    "42501": "permission denied",
    "3F000": "the schema does not exist",
    "53300": "the server has too many connections",
    "57P03": "the server is starting up or shutting down",
}

#: Words of libpq's connection errors (which carry no SQLSTATE) → the problem.
_CONNECT_PROBLEMS = (
    ("password authentication failed", "log-in refused (user or password)"),
    ("no password supplied", "log-in refused (no password: set it in ~/.pgpass or PGPASSWORD)"),
    ("does not exist", "the database or user does not exist"),
    ("permission denied", "permission denied"),
)


def mask_url(url: str) -> str:
    """Return ``url`` with its password (in the user part or a ``password=`` setting) as ``***``."""
    return _PASSWORD_SETTING.sub(r"\1***", _USER_PASSWORD.sub(r"\1:***@", str(url)))


def check_store_url(url: object) -> str:
    """Return ``url`` if it is a PostgreSQL URL, else raise ``ValueError`` (password masked).

    Parameters
    ----------
    url
        The text given: ``postgresql://`` or ``postgres://``, a host (or none: the local
        socket), an optional port and the database.
    """
    hint = ("write postgresql://USER@HOST:PORT/DATABASE (keep the password in ~/.pgpass or "
            "PGPASSWORD rather than in the URL)")
    if not isinstance(url, str) or not url.strip():
        msg = f"{url!r} is not a database URL; {hint}"
        raise ValueError(msg)
    shown = mask_url(url)
    if any(c.isspace() or c == "\x00" for c in url):
        msg = f"{shown!r} holds a space or control character; {hint}"
        raise ValueError(msg)
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port that is no number raises here
    except ValueError:
        msg = f"{shown!r} is not a valid URL; {hint}"
        raise ValueError(msg) from None
    if parts.scheme.lower() not in SCHEMES:
        msg = f"{shown!r} is not a PostgreSQL URL (it must start with postgresql://); {hint}"
        raise ValueError(msg)
    return url


def check_schema(name: object) -> str:
    """Return ``name`` if it can name the store's schema, else raise ``ValueError``.

    Lower-case letters, digits and ``_``, starting with a letter or ``_``, at most 63
    characters, not starting with ``pg_`` (PostgreSQL's own).
    """
    if not isinstance(name, str) or not _SCHEMA.fullmatch(name) or name.startswith("pg_"):
        msg = (f"{name!r} cannot name the store's schema; use lower-case letters, digits and _ "
               "(at most 63, not starting with pg_), e.g. coverage")
        raise ValueError(msg)
    return name


def _passwords(url: str) -> list[str]:
    """Return the passwords a URL holds (in its user part or a ``password=`` setting)."""
    found: list[str] = []
    try:
        parts = urlsplit(url)
        if parts.password:
            found += [parts.password, unquote(parts.password)]
        found += parse_qs(parts.query).get("password", [])
    except ValueError:
        pass
    return [p for p in found if p]


def scrub_passwords(text: str, url: str | None) -> str:
    """Return an error's ``text`` with any URL password and any password of ``url`` masked."""
    text = mask_url(text)
    for password in _passwords(url) if url else []:
        text = text.replace(password, "***")
    return text


def database_problem(exc: BaseException, url: str | None = None) -> tuple[str | None, str]:
    """Return what a database error means to a user, and its first line with passwords masked.

    Parameters
    ----------
    exc
        The psycopg error.
    url
        The database's URL: a password of it quoted in the error's text is masked.

    Returns
    -------
    (str or None, str)
        The problem (the server not reachable, the log-in refused, the database missing,
        permission denied, ...) or ``None`` when the error is none of those; the error's first
        line.
    """
    lines = str(exc).strip().splitlines()
    text = scrub_passwords(lines[0].strip() if lines else type(exc).__name__, url)
    state = getattr(exc, "sqlstate", None)
    problem = _PROBLEMS.get(state or "")
    if problem is None and state is None and _operational(exc):
        lower = text.lower()
        problem = next((p for words, p in _CONNECT_PROBLEMS if words in lower),
                       "server not reachable")
    return problem, text


def _operational(exc: BaseException) -> bool:
    """Whether ``exc`` is psycopg's error of a connection (refused, lost, timed out)."""
    try:
        import psycopg
    except ImportError:  # no driver, so no error of its
        return False
    return isinstance(exc, psycopg.OperationalError)
