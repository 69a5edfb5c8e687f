"""The PostGIS store: a project's runs in one schema of a PostgreSQL database with PostGIS.

What a city deploys so that its offices share one store (``docs/store.md``). The schema
(``coverage`` unless configured), created by :func:`coverage.store.migrations.migrate`, holds:

* ``runs``: one row per run (id, time, project, mode, parameters and their digest, input
  hashes, code version, layer names);
* one table per result layer (``<schema>.<layer>``): every run's rows, under ``run_id`` and
  ``_row`` (the row's position), with the layer's columns (``bigint``, ``double precision``,
  ``boolean``, ``text``, ``timestamp[tz]``, ``geometry(Geometry, <SRID>)``); a table is created
  from the first frame written and gains columns when a later run has more;
* the catalogue: ``layer_tables`` and ``layer_columns`` (where each layer and column lives),
  ``run_layers`` and ``run_columns`` (each run's layers and columns in order, with their
  pandas dtypes and CRS), from which a layer reads back exactly as written;
* ``schema_version``;
* district-level access (``migrations/0003_district_access.sql``): the store's group roles
  (``access_roles``), each log-in's scope (``user_access``) and row-level security on every
  layer table. Each table has a hidden ``_district`` column, filled at write time
  (:mod:`coverage.store.districts`) and never read back as part of a layer; a new table is
  secured by the schema's ``secure_layer`` function as it is made;
* ``scenarios`` (``migrations/0004_scenarios.sql``): the planners' saved scenarios, one row per
  name with its version; a save changes the row only while it holds the version the save was
  made on (:meth:`PostGISStore.save_scenario`). The city's log-ins and the writers use it, a
  district's log-in has no access to it.

A run is written in one transaction (rows with ``COPY``, see :mod:`coverage.store.copytext`):
readers see the previous run until it commits, and a run that fails leaves nothing. A new
table or column is added just before, in a short transaction of its own, so that the long one
takes no lock that would keep readers waiting. Names (schema, tables, columns) always go
through ``psycopg.sql.Identifier`` and values as parameters: no SQL is built from data.

psycopg, the PostgreSQL driver, is an optional extra (``store``): it is imported inside the
functions that talk to the server, so that this module imports without it.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from coverage.io.store_url import DEFAULT_SCHEMA, check_schema, check_store_url
from coverage.store.base import (
    ScenarioConflict,
    Store,
    StoreError,
    check_run_id,
    check_scenario,
    new_run_id,
    prepare_run,
    run_time,
    runs_frame,
    scenarios_frame,
)
from coverage.store.columns import ColumnSpec, LayerSpec, arrow_type, describe, restore
from coverage.store.connection import connect, store_error
from coverage.store.copytext import copy_chunks, sql_type
from coverage.store.districts import COMMUNITY_LAYER, SCOPE_COLUMN, layer_access, row_districts
from coverage.store.migrations import check_version, postgis_schema, store_name
from coverage.store.runinfo import RUN_INFO, run_record

if TYPE_CHECKING:
    import numpy as np
    import psycopg

__all__ = ["PostGISStore", "physical_name"]

MAX_NAME_BYTES = 63
"""PostgreSQL's longest name (bytes of UTF-8); longer ones it would cut silently."""

_CATALOGUE = ("schema_version", "runs", "layer_tables", "layer_columns", "run_layers",
              "run_columns", "scenarios")
_KEYS = ("run_id", "_row")
_HIDDEN = (*_KEYS, SCOPE_COLUMN)


def physical_name(name: str, taken: set[str]) -> str:
    """Return the table or column name for a layer or column ``name``, not among ``taken``.

    The name itself when it fits PostgreSQL's 63 bytes and is free; else its start and a
    short hash of the whole name (with a number, in the unlikely case that is taken too).
    """
    if name not in taken and len(name.encode("utf-8")) <= MAX_NAME_BYTES:
        return name
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    stem = name.encode("utf-8")[:MAX_NAME_BYTES - 12].decode("utf-8", errors="ignore")
    candidate, number = f"{stem}_{digest}", 1
    while candidate in taken:
        number += 1
        candidate = f"{stem}_{digest}{number}"
    return candidate


class PostGISStore(Store):
    """A project's runs in a schema of a PostgreSQL database with PostGIS.

    Each operation opens its own connection and closes it when done.

    Parameters
    ----------
    url
        ``postgresql://USER@HOST:PORT/DATABASE`` (libpq's URL; the password best kept in
        ``~/.pgpass`` or ``PGPASSWORD``).
    schema
        The schema holding the store's tables, set up by ``coverage db init``.
    login
        A user name and password to connect with instead of the URL's user (the web app
        connects as the user who logged in, so that the database decides what they read).
        The password is kept in this object only, never in its name or messages.

    Raises
    ------
    StoreError
        For a URL that is no PostgreSQL URL or a schema name PostgreSQL would not take.
    """

    def __init__(self, url: str, *, schema: str = DEFAULT_SCHEMA,
                 login: tuple[str, str] | None = None) -> None:
        self._login = login
        self.name = store_name(str(url), str(schema))
        try:
            self._url = check_store_url(url)
            self.schema = check_schema(schema)
        except ValueError as exc:
            raise StoreError(f"{self.name}: {exc}") from None

    def _table(self, name: str) -> psycopg.sql.Identifier:
        from psycopg import sql

        return sql.Identifier(self.schema, name)

    @contextlib.contextmanager
    def _session(self, doing: str) -> Iterator[psycopg.Connection]:
        """Yield a connection to a store at this code's schema version (autocommit)."""
        import psycopg

        with connect(self._url, self.name, autocommit=True, login=self._login) as conn:
            try:
                check_version(conn, self.schema, self.name)
                yield conn
            except psycopg.Error as exc:
                raise store_error(exc, self.name, doing, self._url) from None

    def write_run(self, layers: Mapping[str, pd.DataFrame],
                  info: pd.DataFrame | None = None) -> str:
        """Write a new run in one transaction; return its id (see :meth:`Store.write_run`)."""
        try:
            run = prepare_run(layers, info)
            specs = {name: describe(frame, name) for name, frame in run.items()}
            districts = row_districts(run)
        except StoreError as exc:
            raise StoreError(f"{self.name}: {exc}") from None
        return self._insert(None, run, list(run), specs, districts)

    def put_run(self, run_id: str, layers: Mapping[str, pd.DataFrame], *,
                own: tuple[str, ...] | list[str] | None = None) -> None:
        """Write a run moved from another store under its own id, in one transaction.

        See :meth:`Store.put_run`. The layers are kept as given, the added ones after the
        run's own, and each row is placed in its district as when the run was first written
        (:mod:`coverage.store.districts`).

        Raises
        ------
        StoreError
            When the store already holds the run, ``run_info`` is missing, ``own`` is not the
            layers' start, or the run cannot be written; nothing is written then.
        """
        run = dict(layers)
        own = list(run) if own is None else list(own)
        try:
            check_run_id(run_id)
            if RUN_INFO not in own or own != list(run)[:len(own)]:
                msg = (f"run {run_id}: its own layers ({', '.join(own)}) must come first "
                       "among its layers and include run_info")
                raise StoreError(msg)
            specs = {name: describe(frame, name) for name, frame in run.items()}
            districts = row_districts(run)
        except (ValueError, StoreError) as exc:
            raise StoreError(f"{self.name}: {exc}") from None
        self._insert(run_id, run, own, specs, districts)

    def _insert(self, run_id: str | None, run: dict[str, pd.DataFrame], own: list[str],
                specs: dict[str, LayerSpec], districts: dict[str, np.ndarray]) -> str:
        """Write a run in one transaction: a new id when ``run_id`` is ``None``."""
        record = run_record(run[RUN_INFO])
        with self._session("cannot write the run") as conn:
            places = self._layout(conn, specs)
            with conn.transaction():
                if run_id is None:
                    run_id = new_run_id(after=self._latest(conn))
                elif conn.execute(self._sql("SELECT 1 FROM {} WHERE id = %s", "runs"),
                                  (run_id,)).fetchone():
                    msg = f"{self.name}: already holds run {run_id}"
                    raise StoreError(msg)
                conn.execute(
                    self._sql("INSERT INTO {} (id, time, project, mode, parameters_digest, "
                              "parameters, input_hashes, code_version, layers) "
                              "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", "runs"),
                    (run_id, run_time(run_id).to_pydatetime(), record["project"],
                     record["mode"], record["parameters_digest"], _json(record["parameters"]),
                     _json(record["input_sha256"]), record["code_version"], own))
                for position, (name, frame) in enumerate(run.items()):
                    self._write_layer(conn, run_id, position, (name, frame), specs[name],
                                      places[name], districts[name])
        return run_id

    def _sql(self, text: str, *tables: str) -> psycopg.sql.Composed:
        """Return ``text`` with its ``{}`` filled by the schema's tables (as identifiers)."""
        from psycopg import sql

        return sql.SQL(text).format(*(self._table(t) for t in tables))

    def _latest(self, conn: psycopg.Connection) -> str | None:
        row = conn.execute(self._sql("SELECT max(id) FROM {}", "runs")).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def _layout(self, conn: psycopg.Connection,
                specs: dict[str, LayerSpec]) -> dict[str, tuple[str, list[str]]]:
        """Create the tables and columns the run needs (a short transaction of its own).

        Returns each layer's table and the table column of each of its columns, in order.
        """
        from psycopg import sql

        out: dict[str, tuple[str, list[str]]] = {}
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                         (f"coverage-store:{self.schema}",))
            tables = dict(conn.execute(self._sql(
                "SELECT layer, table_name FROM {}", "layer_tables")).fetchall())
            relations = {r[0] for r in conn.execute(
                "SELECT relname FROM pg_class WHERE relnamespace = to_regnamespace(%s)",
                (self.schema,)).fetchall()}
            columns: dict[tuple[str, str, str], str] = {
                (r[0], r[1], r[2]): r[3] for r in conn.execute(self._sql(
                    "SELECT layer, name, sql_type, column_name FROM {}", "layer_columns"))}
            for layer, spec in specs.items():
                if layer not in tables:
                    taken = relations | set(tables.values()) | set(_CATALOGUE)
                    tables[layer] = physical_name(layer, taken)
                    self._create_table(conn, layer, tables[layer])
                used = {name for (lay, _, _), name in columns.items() if lay == layer}
                places = []
                for column in spec.columns:
                    kind = sql_type(column)
                    key = (layer, column.name, kind.as_string(conn))
                    if key not in columns:
                        columns[key] = physical_name(column.name, used | set(_HIDDEN))
                        used.add(columns[key])
                        conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(
                            self._table(tables[layer]), sql.Identifier(columns[key]), kind))
                        conn.execute(self._sql(
                            "INSERT INTO {} (layer, name, sql_type, column_name) "
                            "VALUES (%s, %s, %s, %s)", "layer_columns"), (*key, columns[key]))
                    places.append(columns[key])
                out[layer] = (tables[layer], places)
        return out

    def _create_table(self, conn: psycopg.Connection, layer: str, table: str) -> None:
        """Create a layer's table, record it and give it its row-level security.

        The table starts with the run id, the row number and the row's district only.
        """
        conn.execute(self._sql(
            "CREATE TABLE {} (run_id text NOT NULL REFERENCES {} (id) ON DELETE CASCADE, "
            "_row bigint NOT NULL, _district text, PRIMARY KEY (run_id, _row))", table, "runs"))
        conn.execute(self._sql("INSERT INTO {} (layer, table_name, access) VALUES (%s, %s, %s)",
                               "layer_tables"), (layer, table, layer_access(layer)))
        conn.execute(self._sql("SELECT {}(%s::regclass)", "secure_layer"),
                     (self._table(table).as_string(conn),))

    def _write_layer(self, conn: psycopg.Connection, run_id: str, position: int,
                     layer: tuple[str, pd.DataFrame], spec: LayerSpec,
                     place: tuple[str, list[str]], districts: np.ndarray) -> None:
        """Write a layer's catalogue rows and its rows in the run's transaction.

        The rows go with ``COPY``, each with its district (:mod:`coverage.store.districts`).
        """
        import psycopg
        from psycopg import sql

        name, frame = layer
        table, columns = place
        conn.execute(self._sql("INSERT INTO {} (run_id, layer, position, rows, geometry) "
                               "VALUES (%s, %s, %s, %s, %s)", "run_layers"),
                     (run_id, name, position, spec.rows, spec.geometry))
        with conn.cursor() as cur:
            cur.executemany(
                self._sql("INSERT INTO {} (run_id, layer, position, name, column_name, dtype, "
                          "missing, crs) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                          "run_columns"),
                [(run_id, name, i, c.name, column, c.dtype, c.missing, c.crs)
                 for i, (c, column) in enumerate(zip(spec.columns, columns, strict=True))])
            names = sql.SQL(", ").join(sql.Identifier(c) for c in (*_HIDDEN, *columns))
            try:
                with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(
                        self._table(table), names)) as copy:
                    for chunk in copy_chunks(frame, spec, run_id, districts):
                        copy.write(chunk)
            except psycopg.Error as exc:
                raise store_error(exc, self.name, f"cannot write layer {name!r}",
                                  self._url) from None

    def latest_run(self) -> str | None:
        """Return the id of the latest committed run, ``None`` when the store holds none."""
        with self._session("cannot read the runs") as conn:
            return self._latest(conn)

    def runs(self) -> pd.DataFrame:
        """Return the committed runs, oldest first (see :meth:`Store.runs`)."""
        with self._session("cannot read the runs") as conn:
            rows = conn.execute(self._sql(
                "SELECT id, project, mode, parameters_digest, input_hashes, code_version, "
                "layers FROM {} ORDER BY id", "runs")).fetchall()
        keys = ("run_id", "project", "mode", "parameters_digest", "input_sha256",
                "code_version", "layers")
        return runs_frame([dict(zip(keys, row, strict=True)) for row in rows])

    def read_layers(self, run_id: str | None = None,
                    names: list[str] | tuple[str, ...] | None = None) -> dict[str, pd.DataFrame]:
        """Return layers of a committed run exactly as written (see :meth:`Store.read_layers`)."""
        if run_id is not None:
            try:
                check_run_id(run_id)
            except ValueError as exc:
                raise StoreError(f"{self.name}: {exc}") from None
        with self._session("cannot read the run") as conn, conn.transaction():
            run_id = run_id if run_id is not None else self._latest(conn)
            if run_id is None:
                msg = f"{self.name}: no run kept yet (run `coverage run` first)"
                raise StoreError(msg)
            layers = conn.execute(self._sql(
                "SELECT l.layer, l.rows, l.geometry, t.table_name, has_table_privilege("
                "format('%%I.%%I', %s::text, t.table_name), 'SELECT') FROM {} l JOIN {} t "
                "USING (layer) WHERE l.run_id = %s ORDER BY l.position", "run_layers",
                "layer_tables"), (self.schema, run_id)).fetchall()
            if not layers:
                msg = f"{self.name}: no run {run_id} (`coverage runs` lists the runs kept)"
                raise StoreError(msg)
            # all layers: those the user may read (a district's or the city's log-in has no
            # right to the person-level layer); a layer named is read, or refused
            wanted = self._wanted(run_id, names, [str(r[0]) for r in layers if r[4] or names])
            columns: dict[str, list[tuple[ColumnSpec, str]]] = {}
            for layer, name, column, dtype, missing, crs in conn.execute(self._sql(
                    "SELECT layer, name, column_name, dtype, missing, crs FROM {} "
                    "WHERE run_id = %s ORDER BY layer, position", "run_columns"), (run_id,)):
                columns.setdefault(layer, []).append(
                    (ColumnSpec(name, dtype, missing, crs), column))
            found = {r[0]: r for r in layers}
            extension = postgis_schema(conn, self.name)
            out = {}
            for layer in wanted:
                _, rows, geometry, table, _ = found[layer]
                out[layer] = self._read_layer(conn, run_id, table, columns.get(layer, []),
                                              int(rows), geometry, extension)
            return out

    def _read_layer(self, conn: psycopg.Connection, run_id: str, table: str,
                    columns: list[tuple[ColumnSpec, str]], rows: int, geometry: str | None,
                    extension: str) -> pd.DataFrame:
        """Read one layer of a run: its rows in order, rebuilt from its catalogue."""
        from psycopg import sql

        spec = LayerSpec(tuple(c for c, _ in columns), rows, geometry)
        picks: list[Any] = []
        for column, name in columns:
            if column.dtype == "geometry":
                picks.append(sql.SQL("{}({})").format(
                    sql.Identifier(extension, "st_asbinary"), sql.Identifier(name)))
            else:
                picks.append(sql.Identifier(name))
        # ``_row`` too: under row-level security a district's log-in reads only some rows,
        # and the catalogue's row positions (-0.0, kinds of missing value) are the whole
        # layer's
        query = sql.SQL("SELECT {} FROM {} WHERE run_id = %s ORDER BY _row").format(
            sql.SQL(", ").join([sql.Identifier("_row"), *picks]), self._table(table))
        with conn.cursor(binary=True) as cur:
            values = list(zip(*cur.execute(query, (run_id,)).fetchall(), strict=True)) or [
                () for _ in range(len(picks) + 1)]
        read = np.asarray(values[0], dtype=np.int64)
        arrays = {c.name: pa.array(list(v), type=arrow_type(c))
                  for (c, _), v in zip(columns, values[1:], strict=True)}
        return restore(spec, arrays, None if len(read) == rows else read)

    def add_layers(self, run_id: str, layers: Mapping[str, pd.DataFrame], *,
                   drop: tuple[str, ...] | list[str] = ()) -> None:
        """Add layers to a kept run, in one transaction of their own.

        What is made on a run after it was written (a recommendation, a simulated scenario)
        is kept with that run: its layers go after the run's own, under the run's id, and
        :meth:`read_layers` reads them with the others. An added layer of the same name is
        replaced, and the added layers named in ``drop`` are removed (a new recommendation
        replaces the whole previous one). The run's own layers, those of :meth:`runs`, never
        change.

        Raises
        ------
        StoreError
            When the store holds no such run, a layer would replace one of the run's own,
            or the layers cannot be written; the run then keeps the layers it had.
        """
        try:
            check_run_id(run_id)
            specs = {name: describe(frame, name)
                     for name, frame in prepare_run(layers).items() if name in layers}
        except (ValueError, StoreError) as exc:
            raise StoreError(f"{self.name}: {exc}") from None
        districts = row_districts({**self._communities(run_id), **layers})
        with self._session("cannot add layers to the run") as conn:
            row = conn.execute(self._sql("SELECT layers FROM {} WHERE id = %s", "runs"),
                               (run_id,)).fetchone()
            if row is None:
                msg = f"{self.name}: no run {run_id} (`coverage runs` lists the runs kept)"
                raise StoreError(msg)
            own = set(row[0])
            clash = [name for name in (*layers, *drop) if name in own]
            if clash:
                msg = (f"{self.name}: {clash[0]!r} is a layer of run {run_id} itself, which "
                       "never changes")
                raise StoreError(msg)
            places = self._layout(conn, specs)
            with conn.transaction():
                # one writer at a time adds to a run: the last one's layers are kept whole
                conn.execute(self._sql("SELECT id FROM {} WHERE id = %s FOR UPDATE", "runs"),
                             (run_id,))
                gone = sorted({*layers, *drop})
                for (table,) in conn.execute(self._sql(
                        "SELECT t.table_name FROM {} l JOIN {} t USING (layer) "
                        "WHERE l.run_id = %s AND l.layer = ANY(%s)", "run_layers",
                        "layer_tables"), (run_id, gone)).fetchall():
                    conn.execute(self._sql("DELETE FROM {} WHERE run_id = %s", table),
                                 (run_id,))
                conn.execute(self._sql("DELETE FROM {} WHERE run_id = %s AND layer = ANY(%s)",
                                       "run_layers"), (run_id, gone))
                start = conn.execute(self._sql(
                    "SELECT coalesce(max(position) + 1, 0) FROM {} WHERE run_id = %s",
                    "run_layers"), (run_id,)).fetchone()[0]
                for position, (name, frame) in enumerate(layers.items(), start=int(start)):
                    self._write_layer(conn, run_id, position, (name, frame), specs[name],
                                      places[name], districts[name])

    def _communities(self, run_id: str) -> dict[str, pd.DataFrame]:
        """Return the run's community layer, which places added rows in their districts."""
        try:
            return self.read_layers(run_id, names=[COMMUNITY_LAYER])
        except StoreError:  # a run without communities: the added rows are the city's only
            return {}

    def access(self) -> tuple[str, str | None]:
        """Return what the connecting user may read: ``(scope, district)``.

        ``scope`` is ``city``, ``district`` (with its district's name) or ``writer``, as
        ``coverage db user add`` kept it; a user the store does not list but who belongs to
        its writer group, or a superuser (``coverage db init``'s user), is a ``writer``.

        Raises
        ------
        StoreError
            When the user is none of the store's log-ins.
        """
        with self._session("cannot read the user's access") as conn:
            row = conn.execute(self._sql(
                "SELECT scope, district FROM {} WHERE role_name = current_user",
                "user_access")).fetchone()
            if row is not None:
                return str(row[0]), None if row[1] is None else str(row[1])
            writer = conn.execute(self._sql(
                "SELECT pg_has_role(current_user, role_name, 'MEMBER') OR (SELECT rolsuper "
                "FROM pg_roles WHERE rolname = current_user) FROM {} WHERE kind = 'writer'",
                "access_roles")).fetchone()
        if writer is not None and writer[0]:
            return "writer", None
        msg = f"{self.name}: this user is none of the store's log-ins (`coverage db user add`)"
        raise StoreError(msg)

    # -- saved scenarios -------------------------------------------------------------------

    def scenarios(self) -> pd.DataFrame:
        """Return the saved scenarios, by name (see :meth:`Store.scenarios`)."""
        with self._session("cannot read the saved scenarios") as conn:
            rows = conn.execute(self._sql(
                "SELECT name, version, saved_at, saved_by, inputs FROM {} ORDER BY name",
                "scenarios")).fetchall()
        return scenarios_frame(rows)

    def read_scenario(self, name: str) -> tuple[str, int]:
        """Return a saved scenario's text and version (see :meth:`Store.read_scenario`)."""
        check_scenario(self.name, name)
        with self._session("cannot read the saved scenario") as conn:
            row = conn.execute(self._sql("SELECT body, version FROM {} WHERE name = %s",
                                         "scenarios"), (name,)).fetchone()
        if row is None:
            msg = f"{self.name}: no saved scenario named {name!r}"
            raise StoreError(msg)
        return str(row[0]), int(row[1])

    def save_scenario(self, name: str, text: str, *, expected_version: int | None,
                      saved_by: str | None = None, inputs: str = "") -> int:
        """Save a scenario unless saved since (see :meth:`Store.save_scenario`).

        One statement decides: ``INSERT ... ON CONFLICT DO NOTHING`` for a new name, else
        ``UPDATE ... WHERE name = %s AND version = %s``. A concurrent save of the same row
        waits for the first to commit and then finds the version changed: it changes
        nothing, and the version then kept is told in the conflict. ``saved_by`` defaults to
        the database log-in (``current_user``).
        """
        check_scenario(self.name, name, text)
        with self._session("cannot save the scenario") as conn, conn.transaction():
            if expected_version is None:
                done = conn.execute(self._sql(
                    "INSERT INTO {} (name, version, body, inputs, saved_by) "
                    "VALUES (%s, 1, %s, %s, coalesce(%s, current_user)) "
                    "ON CONFLICT (name) DO NOTHING", "scenarios"),
                    (name, text, str(inputs), saved_by)).rowcount
            else:
                done = conn.execute(self._sql(
                    "UPDATE {} SET version = version + 1, body = %s, inputs = %s, "
                    "saved_by = coalesce(%s, current_user), saved_at = now() "
                    "WHERE name = %s AND version = %s", "scenarios"),
                    (text, str(inputs), saved_by, name, int(expected_version))).rowcount
            if done != 1:
                raise self._conflict(conn, name, expected_version)
        return 1 if expected_version is None else int(expected_version) + 1

    def delete_scenario(self, name: str, expected_version: int) -> None:
        """Delete a saved scenario unless saved since (see :meth:`Store.delete_scenario`)."""
        check_scenario(self.name, name)
        with self._session("cannot delete the scenario") as conn, conn.transaction():
            done = conn.execute(self._sql("DELETE FROM {} WHERE name = %s AND version = %s",
                                          "scenarios"), (name, int(expected_version))).rowcount
            if done != 1:
                raise self._conflict(conn, name, expected_version, deleting=True)

    def _conflict(self, conn: psycopg.Connection, name: str, expected: int | None, *,
                  deleting: bool = False) -> ScenarioConflict:
        """Return the conflict of a save or delete that changed nothing: what the store holds."""
        row = conn.execute(self._sql("SELECT version, saved_by, saved_at FROM {} "
                                     "WHERE name = %s", "scenarios"), (name,)).fetchone()
        if row is None:
            return ScenarioConflict(self.name, name, expected=expected, current=None,
                                    deleting=deleting)
        return ScenarioConflict(self.name, name, expected=expected, current=int(row[0]),
                                saved_by=str(row[1]),
                                saved_at=pd.Timestamp(row[2]).tz_convert("UTC"),
                                deleting=deleting)


def _json(value: object) -> Any:
    """Wrap a value for a ``jsonb`` parameter."""
    from psycopg.types.json import Jsonb

    return Jsonb(value)
