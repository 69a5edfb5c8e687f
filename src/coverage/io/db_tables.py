"""Input layers read from tables of the project's PostGIS database.

A layer of ``project.toml`` may name a table instead of a file::

    [layers.sites]
    table = "public.sites"      # schema.table; a bare name is a table of the schema public
    crs = "gcj02"

It is read through the connection of the project's store (``[store] url``, or ``--store URL``
on the command line): psycopg, the ``store`` extra, imported when a table is first read.
Names are taken exactly as written (case and Chinese characters kept, no quoting needed) and
always passed to the server as quoted identifiers, never as text spliced into SQL.

What is read, and how it becomes a :class:`~coverage.io.readers.RawTable` like a file's:

* **cells** as PostgreSQL writes them as text (a NULL as an empty cell), so that every column
  is checked and converted by the same rules as a CSV file's, headers matched by the same
  aliases and ``columns`` mapping;
* **geometry**: the table's geometry column (its only one, or the one named by
  ``geometry = "column"``), read as WKB and decoded by shapely at once; its SRID gives the
  layer's coordinate system unless ``crs`` declares one (GCJ-02 and BD-09 points are commonly
  stored as SRID 4326 and declared as such, as for files). A table without geometry is a point
  layer of coordinate columns, or communities without boundaries, as a CSV file would be;
* **order and rows**: the rows are read in the order of the primary key, or, for a table
  without one (or a view), in the order of each row's text (byte order), so that the same
  table always gives the same rows in the same order. A message names a row by the value of a
  single whole-number primary key, else by its position (from 1) in that order.

The digest of a table (:func:`table_sha256`, the run's ``input_sha256:<layer>``) is the SHA-256
of one line naming its columns and their types (``name type`` pairs separated by tabs) followed
by every row as ``COPY (SELECT * FROM schema.table ORDER BY …) TO STDOUT`` writes it (text
format, UTF-8, dates in ISO style, times in UTC, numbers with their shortest exact text), in the
reading order above: it changes whenever a value, a row, a column or a type changes.

Problems (a missing schema, table or column, permission denied, the server not reachable, no
``[store] url``) are told in one line naming the layer and the table, e.g.
``[layers.sites] table "public.sites": table not found [missing-table]; ...``.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyproj
import shapely

from coverage.io.readers import RawTable
from coverage.io.store_url import database_problem
from coverage.io.validation import Problems, ValidationError

if TYPE_CHECKING:
    import psycopg

    from coverage.io.project import LayerConfig

__all__ = ["DEFAULT_TABLE_SCHEMA", "read_db_table", "table_sha256", "table_source"]

DEFAULT_TABLE_SCHEMA = "public"
"""The schema of a table named without one (PostgreSQL's default schema)."""

CONNECT_TIMEOUT_S = 10
"""Seconds to wait for the server unless the URL sets ``connect_timeout``."""

#: Relations a layer may be read from: tables, partitioned tables, views, materialized views
#: and foreign tables.
_KINDS = ["r", "p", "v", "m", "f"]
#: Settings of a layer read from a file that mean nothing for a table.
_FILE_OPTIONS = ("path", "encoding", "sheet", "header_row", "layer", "delimiter")
#: Whole-number types whose primary key names a row in messages.
_WHOLE = {"int2", "int4", "int8"}
#: Session settings that fix how values are written as text (the cells and the digest).
_SETTINGS = {"DateStyle": "ISO, YMD", "TimeZone": "UTC", "IntervalStyle": "postgres",
             "extra_float_digits": "1", "bytea_output": "hex"}


class _TableError(Exception):
    """A problem of a table layer found while reading it: its rule, field and hint."""

    def __init__(self, rule: str, hint: str, field: str | None = None):
        super().__init__(hint)
        self.rule, self.hint, self.field = rule, hint, field


@dataclass(frozen=True)
class _Table:
    """What the database says of a layer's table."""

    schema: str
    name: str
    columns: list[tuple[str, str]]
    geometry: str | None
    crs: pyproj.CRS | None
    key: list[str]


def table_source(name: str, table: dict[str, Any], file_layers: tuple[str, ...]) -> dict[str, Any]:
    """Return where a ``[layers.NAME]`` with ``table`` is read from, or raise ``ValueError``.

    Parameters
    ----------
    name
        The layer's name.
    table
        The layer's settings in ``project.toml``.
    file_layers
        Layers read from files only (the road network).

    Returns
    -------
    dict
        ``path`` (``None``), ``source`` (``[layers.NAME] table "schema.table"``, for messages),
        ``table`` (``(schema, table)``) and ``geometry`` (the column named, or ``None``).
    """
    if "table" not in table:
        msg = '`geometry` names the geometry column of a `table`; a file has its own'
        raise ValueError(msg)
    if name in file_layers:
        msg = f'the {name} layer is read from a file; give `path = "file"`, not `table`'
        raise ValueError(msg)
    given = [key for key in _FILE_OPTIONS if key in table]
    if given:
        msg = (f"`{given[0]}` is for a layer read from a file; a layer read from a database "
               "`table` takes `table`, `geometry`, `crs`, `columns` and `repair` "
               "(give `path` or `table`, not both)")
        raise ValueError(msg)
    schema, relation = _table_name(table["table"])
    geometry = table.get("geometry")
    if geometry is not None and (not isinstance(geometry, str) or not _fits(geometry)):
        msg = f"geometry: {geometry!r} must name a column of the table, e.g. geometry = \"geom\""
        raise ValueError(msg)
    return {"path": None, "source": f'[layers.{name}] table "{schema}.{relation}"',
            "table": (schema, relation), "geometry": geometry}


def _fits(name: str) -> bool:
    """Whether ``name`` can name a PostgreSQL object (1–63 bytes, no NUL)."""
    return 0 < len(name.encode("utf-8")) <= 63 and "\x00" not in name and name.strip() == name


def _table_name(text: object) -> tuple[str, str]:
    """Split ``schema.table`` (or a bare ``table``, of :data:`DEFAULT_TABLE_SCHEMA`)."""
    parts = text.split(".") if isinstance(text, str) else []
    if not 1 <= len(parts) <= 2 or not all(_fits(p) for p in parts):
        msg = (f"table: {text!r} must name a table as \"schema.table\" (or \"table\" in the "
               f"schema {DEFAULT_TABLE_SCHEMA}), each name of at most 63 bytes, as the database "
               "spells it")
        raise ValueError(msg)
    return (DEFAULT_TABLE_SCHEMA, parts[0]) if len(parts) == 1 else (parts[0], parts[1])


def read_db_table(config: LayerConfig, url: str | None, *, problems: Problems) -> RawTable | None:
    """Read a layer's table as it is; ``None`` (with a problem added) when it cannot be read.

    Parameters
    ----------
    config
        The layer (its ``table`` set).
    url
        The database's URL (the project's store), or ``None`` when the project names none.
    problems
        Collector for what is wrong.
    """
    return _checked(config, url, problems, _read)


def table_sha256(config: LayerConfig, url: str | None) -> str:
    """Return the SHA-256 of a layer's table (hex; its definition is in this module's text).

    Raises
    ------
    coverage.io.validation.ValidationError
        When the table cannot be read (the same one-line problem ``coverage validate`` gives).
    """
    problems = Problems()
    digest = _checked(config, url, problems, _digest)
    if digest is None:
        raise ValidationError(problems.items)
    return digest


def _checked(config: LayerConfig, url: str | None, problems: Problems,
             work: Callable[[psycopg.Connection, _Table, LayerConfig], Any]) -> Any:
    """Run ``work`` on the layer's table in a read-only snapshot; a failure becomes a problem."""
    label = config.source
    try:
        with _session(url) as conn:
            return work(conn, _describe(conn, config), config)
    except _TableError as exc:
        problems.add(label, None, exc.field, exc.rule, exc.hint)
    except Exception as exc:
        if type(exc).__module__.split(".")[0] != "psycopg":
            raise
        problem, text = database_problem(exc, url)
        problems.add(label, None, None, "unreadable-table",
                     f"{problem or 'cannot read it'} ({text})")
    return None


@contextmanager
def _session(url: str | None) -> Iterator[psycopg.Connection]:
    """Connect and open a read-only, repeatable-read transaction with :data:`_SETTINGS`."""
    if url is None:
        raise _TableError("unreadable-table", "no database to read it from: set [store] url "
                            "in project.toml (or give --store URL)")
    try:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:
        raise _TableError("unreadable-table", "psycopg (the PostgreSQL driver) is not "
                            "installed; install it with pip install \"coverage-planner[store]\""
                            ) from None
    extra: dict[str, Any] = {"application_name": "coverage-planner", "client_encoding": "UTF8"}
    if "connect_timeout" not in conninfo_to_dict(url):
        extra["connect_timeout"] = CONNECT_TIMEOUT_S
    with psycopg.connect(url, **extra) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        for name, value in _SETTINGS.items():
            conn.execute("SELECT set_config(%s, %s, true)", (name, value))
        yield conn
        conn.rollback()


def _describe(conn: psycopg.Connection, config: LayerConfig) -> _Table:
    """Find the layer's table, its columns, geometry column, coordinate system and key."""
    assert config.table is not None
    schema, name = config.table
    found = conn.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    if found is None:
        names = [r[0] for r in conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname !~ '^(pg_|information_schema$)'")]
        raise _TableError("missing-table", f"the database has no schema {schema!r}"
                            + _close(schema, names))
    relation = conn.execute(
        "SELECT oid FROM pg_class WHERE relnamespace = %s AND relname = %s AND relkind = ANY(%s)",
        (found[0], name, _KINDS)).fetchone()
    if relation is None:
        names = [r[0] for r in conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = %s AND relkind = ANY(%s)",
            (found[0], _KINDS))]
        raise _TableError("missing-table", f"the schema {schema!r} has no table {name!r}"
                            + _close(name, names))
    columns = [(str(c), str(t)) for c, t in conn.execute(
        "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (relation[0],))]
    geometry = _geometry_column(columns, config)
    key = [str(r[0]) for r in conn.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s AND i.indisprimary "
        "ORDER BY array_position(i.indkey::int2[], a.attnum)", (relation[0],))]
    table = _Table(schema, name, columns, geometry, None, key)
    if geometry is None:
        return table
    return dataclasses.replace(table, crs=_geometry_crs(conn, table))


def _close(name: str, names: list[str]) -> str:
    """Return a hint naming the closest of ``names`` to ``name`` (compared as written)."""
    close = difflib.get_close_matches(name, names, n=1) or [
        n for n in names if n.casefold() == name.casefold()]
    return (f"; did you mean {close[0]!r}? (names are read exactly as written)" if close else
            "; check the name in project.toml")


def _geometry_column(columns: list[tuple[str, str]], config: LayerConfig) -> str | None:
    """Return the geometry column read: the one named, else the table's only one (or none)."""
    geometries = [c for c, kind in columns if kind == "geometry"]
    if config.geometry is not None:
        if config.geometry not in dict(columns):
            raise _TableError("missing-column", f"the table has no column {config.geometry!r} "
                                "(named by `geometry` in project.toml)", config.geometry)
        if config.geometry not in geometries:
            raise _TableError("wrong-geometry", f"the column {config.geometry!r} is not a "
                                "PostGIS geometry", config.geometry)
        return config.geometry
    if len(geometries) > 1:
        raise _TableError("ambiguous-column", f"the table has several geometry columns "
                            f"({', '.join(geometries)}); name the one to read with geometry = "
                            f"\"{geometries[0]}\" under [layers.{config.name}]", "geometry")
    return geometries[0] if geometries else None


def _geometry_crs(conn: psycopg.Connection, table: _Table) -> pyproj.CRS | None:
    """Return the CRS of the geometry column's SRID (geometry_columns, else the rows')."""
    from psycopg import sql

    row = conn.execute("SELECT srid FROM geometry_columns WHERE f_table_schema = %s AND "
                       "f_table_name = %s AND f_geometry_column = %s",
                       (table.schema, table.name, table.geometry)).fetchone()
    srids = [row[0]] if row and row[0] else [r[0] for r in conn.execute(
        sql.SQL("SELECT DISTINCT ST_SRID({}) FROM {}.{} WHERE {} IS NOT NULL LIMIT 2").format(
            sql.Identifier(table.geometry), sql.Identifier(table.schema),
            sql.Identifier(table.name), sql.Identifier(table.geometry)))]
    if len(srids) > 1:
        raise _TableError("crs-conflict", "the geometries have different SRIDs; give them one "
                            "(ST_SetSRID or ST_Transform)", table.geometry)
    if not srids or not srids[0]:
        return None  # SRID 0: like a file without a CRS, the declaration decides
    ref = conn.execute("SELECT auth_name, auth_srid, srtext FROM spatial_ref_sys WHERE srid = %s",
                       (srids[0],)).fetchone()
    if ref is None:
        raise _TableError("crs-missing", f"SRID {srids[0]} is not in spatial_ref_sys; declare "
                            "the layer's crs", table.geometry)
    auth, code, wkt = ref
    return pyproj.CRS.from_epsg(code) if str(auth).upper() == "EPSG" else pyproj.CRS(wkt)


def _from(table: _Table) -> Any:
    """``schema.table AS src ORDER BY <key or the rows' text>``, identifiers quoted."""
    from psycopg import sql

    order = (sql.SQL(", ").join(sql.Identifier(k) for k in table.key) if table.key
             else sql.SQL('ROW(src.*)::text COLLATE "C"'))
    return sql.SQL("{}.{} AS src ORDER BY {}").format(
        sql.Identifier(table.schema), sql.Identifier(table.name), order)


def _read(conn: psycopg.Connection, table: _Table, config: LayerConfig) -> RawTable:
    """Read the table's cells as text and its geometries as WKB, in the reading order."""
    from psycopg import sql

    names = [c for c, _ in table.columns if c != table.geometry]
    select = [sql.SQL("{}::text").format(sql.Identifier(c)) for c in names]
    if table.geometry is not None:
        select.append(sql.SQL("encode(ST_AsBinary({}), 'hex')").format(
            sql.Identifier(table.geometry)))
    if not select:
        raise _TableError("missing-column", "the table has no columns")
    query = sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT WITH (FORMAT csv)").format(
        sql.SQL(", ").join(select), _from(table))
    buffer = io.BytesIO()
    with conn.cursor() as cur, cur.copy(query) as copy:
        for chunk in copy:
            buffer.write(chunk)
    headers = [*names, *([] if table.geometry is None else ["\x00geometry"])]
    frame = _parse_csv(buffer.getvalue(), headers)
    geometry = None
    if table.geometry is not None:
        wkb = frame.pop("\x00geometry").to_numpy(dtype=object)
        geoms = shapely.from_wkb(np.where(wkb == "", None, wkb))
        geometry = gpd.GeoSeries(geoms, crs=table.crs)
    rows = np.arange(1, len(frame) + 1)
    if len(table.key) == 1 and dict(table.columns)[table.key[0]] in _WHOLE and len(frame):
        rows = frame[table.key[0]].astype(np.int64).to_numpy()
    return RawTable(frame, rows, config.source, geometry=geometry, file_crs=table.crs,
                    header_row=None)


def _parse_csv(data: bytes, headers: list[str]) -> pd.DataFrame:
    """Parse COPY's CSV (every column as text; NULL and empty both an empty cell)."""
    if not data:
        return pd.DataFrame({h: pd.Series(dtype=object) for h in headers})
    table = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(column_names=[f"c{i}" for i in range(len(headers))],
                                       block_size=1 << 24),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={f"c{i}": pa.string() for i in range(len(headers))},
            strings_can_be_null=False, quoted_strings_can_be_null=False))
    frame = table.to_pandas()
    frame.columns = headers
    return frame


def _digest(conn: psycopg.Connection, table: _Table, config: LayerConfig) -> str:
    """SHA-256 of the column line and the rows as COPY writes them (see the module's text)."""
    from psycopg import sql

    digest = hashlib.sha256()
    digest.update("\t".join(f"{c} {t}" for c, t in table.columns).encode("utf-8") + b"\n")
    query = sql.SQL("COPY (SELECT * FROM {}) TO STDOUT").format(_from(table))
    with conn.cursor() as cur, cur.copy(query) as copy:
        for chunk in copy:
            digest.update(chunk)
    return digest.hexdigest()
