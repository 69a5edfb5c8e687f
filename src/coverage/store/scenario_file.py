"""The GeoPackage folder's saved scenarios: a small SQLite file in the output folder.

``scenarios.sqlite`` (owner-only, 0600, made at the first save) holds one row per saved
scenario: its name, JSON text, version, who saved it and when. Every save is one SQLite
transaction begun with ``BEGIN IMMEDIATE``, which takes the file's write lock before reading
the version: of two saves made on the same version (two planners, two processes or two
threads), the second waits for the first, then finds the version changed and is refused with a
:class:`~coverage.store.base.ScenarioConflict`. Readers never wait for a run being written (the
file is not the runs'), and wait for a save only while it commits (milliseconds).

A scenario's name is a value in the table, never part of a file's path.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from coverage.store.base import (
    ScenarioConflict,
    StoreError,
    check_scenario,
    first_line,
    scenarios_frame,
)

__all__ = ["BUSY_TIMEOUT_S", "SCENARIO_FILE", "ScenarioFile"]

SCENARIO_FILE = "scenarios.sqlite"
"""The file (in the output folder) keeping the saved scenarios."""

BUSY_TIMEOUT_S = 30.0
"""Seconds a save waits for another one to finish before it gives up."""

_TABLE = ("CREATE TABLE IF NOT EXISTS scenarios (name TEXT PRIMARY KEY, "
          "version INTEGER NOT NULL, body TEXT NOT NULL, inputs TEXT NOT NULL, "
          "saved_by TEXT NOT NULL, saved_at TEXT NOT NULL)")


def _system_user() -> str:
    """Return the name of the user running this process (who saves, by default)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this user id (e.g. a container's)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


class ScenarioFile:
    """The saved scenarios of a GeoPackage folder store.

    Parameters
    ----------
    path
        The SQLite file (``<output folder>/scenarios.sqlite``).
    store
        The store's name, for messages.
    """

    def __init__(self, path: Path, store: str) -> None:
        self.path = path
        self.store = store

    @contextlib.contextmanager
    def _connect(self, doing: str, *, create: bool = False) -> Iterator[sqlite3.Connection]:
        """Yield a connection (each statement its own transaction unless begun), then close.

        With ``create``, the folder and an owner-only file are made when missing (SQLite
        gives its journal the file's mode).
        """
        try:
            if create and not self.path.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0),
                             0o600)
                os.fchmod(fd, 0o600)
                os.close(fd)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            msg = f"{self.store}: {doing} ({self.path.name}: {first_line(exc)})"
            raise StoreError(msg) from None
        try:
            conn.execute(_TABLE)
            yield conn
        except sqlite3.Error as exc:
            msg = f"{self.store}: {doing} ({self.path.name}: {first_line(exc)})"
            raise StoreError(msg) from None
        finally:
            conn.close()

    def scenarios(self) -> pd.DataFrame:
        """Return the saved scenarios, by name (see :meth:`Store.scenarios`)."""
        if not self.path.exists():
            return scenarios_frame([])
        with self._connect("cannot read the saved scenarios") as conn:
            rows = conn.execute("SELECT name, version, saved_at, saved_by, inputs "
                                "FROM scenarios ORDER BY name").fetchall()
        return scenarios_frame(rows)

    def read(self, name: str) -> tuple[str, int]:
        """Return a saved scenario's text and version (see :meth:`Store.read_scenario`)."""
        check_scenario(self.store, name)
        row = None
        if self.path.exists():
            with self._connect("cannot read the saved scenario") as conn:
                row = conn.execute("SELECT body, version FROM scenarios WHERE name = ?",
                                   (name,)).fetchone()
        if row is None:
            msg = f"{self.store}: no saved scenario named {name!r}"
            raise StoreError(msg)
        return str(row[0]), int(row[1])

    def save(self, name: str, text: str, *, expected_version: int | None,
             saved_by: str | None = None, inputs: str = "") -> int:
        """Save a scenario unless saved since (see :meth:`Store.save_scenario`)."""
        check_scenario(self.store, name, text)
        saved_at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
        who = saved_by or _system_user()
        with self._connect("cannot save the scenario", create=True) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                current = self._current(conn, name)
                if current is not None or expected_version is not None:
                    if current is None or current[0] != expected_version:
                        raise self._conflict(name, expected_version, current)
                    conn.execute("UPDATE scenarios SET version = version + 1, body = ?, "
                                 "inputs = ?, saved_by = ?, saved_at = ? "
                                 "WHERE name = ? AND version = ?",
                                 (text, str(inputs), who, saved_at, name, expected_version))
                else:
                    conn.execute("INSERT INTO scenarios VALUES (?, 1, ?, ?, ?, ?)",
                                 (name, text, str(inputs), who, saved_at))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return 1 if expected_version is None else int(expected_version) + 1

    def delete(self, name: str, expected_version: int) -> None:
        """Delete a saved scenario unless saved since (see :meth:`Store.delete_scenario`)."""
        check_scenario(self.store, name)
        if not self.path.exists():
            raise self._conflict(name, expected_version, None, deleting=True)
        with self._connect("cannot delete the scenario") as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                current = self._current(conn, name)
                if current is None or current[0] != expected_version:
                    raise self._conflict(name, expected_version, current, deleting=True)
                conn.execute("DELETE FROM scenarios WHERE name = ?", (name,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    @staticmethod
    def _current(conn: sqlite3.Connection, name: str) -> tuple[int, str, str] | None:
        """Return the version kept of a scenario, who saved it and when (ISO text)."""
        row = conn.execute("SELECT version, saved_by, saved_at FROM scenarios WHERE name = ?",
                           (name,)).fetchone()
        return None if row is None else (int(row[0]), str(row[1]), str(row[2]))

    def _conflict(self, name: str, expected: int | None,
                  current: tuple[int, str, str] | None, *,
                  deleting: bool = False) -> ScenarioConflict:
        if current is None:
            return ScenarioConflict(self.store, name, expected=expected, current=None,
                                    deleting=deleting)
        version, by, at = current
        return ScenarioConflict(self.store, name, expected=expected, current=version,
                                saved_by=by, saved_at=pd.Timestamp(at).tz_convert("UTC"),
                                deleting=deleting)
