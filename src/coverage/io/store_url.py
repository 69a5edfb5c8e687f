"""Where a project's results are stored: a PostgreSQL URL and schema, checked and masked.

A project keeps its runs in its output folder unless ``[store] url`` in ``project.toml`` (or
``--store URL`` on the command line) names a PostgreSQL database with PostGIS
(``postgresql://USER@HOST:PORT/DATABASE``; see ``docs/store.md``). The URL may hold a password,
which no message, log or table ever shows: :func:`mask_url` replaces it with ``***``. Better
still, keep the password out of the URL (``~/.pgpass`` or ``PGPASSWORD``).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["DEFAULT_SCHEMA", "SCHEMES", "check_schema", "check_store_url", "mask_url"]

SCHEMES = ("postgresql", "postgres")
"""URL schemes of a PostgreSQL store (libpq's)."""

DEFAULT_SCHEMA = "coverage"
"""The database schema holding a store's tables unless ``[store] schema`` names another."""

_USER_PASSWORD = re.compile(r"(://[^/@:?#]*):[^/@?#]*@")
_PASSWORD_SETTING = re.compile(r"(password\s*=\s*)('[^']*'|[^&\s]*)", re.IGNORECASE)
_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}")


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
