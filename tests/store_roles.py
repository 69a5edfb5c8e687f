"""What the tests of a PostGIS store share: the ``coverage db`` commands printing wide, and
removing a store with its roles afterwards (roles belong to the whole server, not the schema).

Imported by name from any test folder (``pythonpath`` in ``pyproject.toml``).
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from rich.console import Console
from typer.testing import CliRunner


def wide_runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A command-line runner whose ``coverage db`` output is not wrapped (300 columns)."""
    from coverage._cli import db

    monkeypatch.setattr(db, "console", Console(width=300, highlight=False))
    monkeypatch.setattr(db, "err", Console(width=300, stderr=True, highlight=False))
    return CliRunner()


def drop_store(url: str, schema: str, roles: Iterable[str] = ()) -> None:
    """Drop a store's schema, its group roles and the given log-ins (as the superuser)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        groups = [r[0] for r in conn.execute(
            f'SELECT role_name FROM "{schema}".access_roles').fetchall()]
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        for role in [*roles, *groups]:
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')
