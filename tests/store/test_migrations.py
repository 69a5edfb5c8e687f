"""The PostGIS store's schema: versioned SQL files applied in order, once, in one
transaction; a newer database refused, an older one upgraded; clear errors without PostGIS or
without the right to create the schema."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator

import pytest

from coverage.store import StoreError
from coverage.store.migrations import LATEST_VERSION, migrate, migrations
from coverage.store.postgis import PostGISStore


@pytest.fixture
def schema(postgis_url: str) -> Iterator[str]:
    """A schema name not used yet, dropped afterwards."""
    import psycopg

    name = f"m_{secrets.token_hex(4)}"
    yield name
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def _versions(url: str, schema: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(f'SELECT version, name, applied_at FROM "{schema}".schema_version '
                            "ORDER BY version").fetchall()


def test_the_versions_are_the_numbered_files_in_order():
    found = migrations()
    assert [v for v, _, _ in found] == list(range(1, len(found) + 1))
    assert [name for _, name, _ in found][:2] == ["runs", "layers"]
    assert found[-1][0] == LATEST_VERSION
    assert all("CREATE TABLE" in text for _, _, text in found)


def test_migrate_is_idempotent(postgis_url: str, schema: str):
    assert migrate(postgis_url, schema) == LATEST_VERSION
    first = _versions(postgis_url, schema)
    assert [(v, n) for v, n, _ in first] == [(v, n) for v, n, _ in migrations()]
    assert migrate(postgis_url, schema) == LATEST_VERSION
    assert _versions(postgis_url, schema) == first  # nothing applied again
    assert PostGISStore(postgis_url, schema=schema).runs().empty


def test_two_at_once_apply_each_version_once(postgis_url: str, schema: str):
    results: list[object] = []

    def run() -> None:
        try:
            results.append(migrate(postgis_url, schema))
        except StoreError as exc:
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [LATEST_VERSION] * 3
    assert len(_versions(postgis_url, schema)) == LATEST_VERSION


def test_an_older_schema_is_upgraded(postgis_url: str, schema: str):
    import psycopg

    version, name, text = migrations()[0]
    with psycopg.connect(postgis_url) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path TO "{schema}", public')
        conn.execute("CREATE TABLE schema_version (version integer PRIMARY KEY, name text NOT "
                     "NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        conn.execute(text.encode())
        conn.execute("INSERT INTO schema_version (version, name) VALUES (%s, %s)",
                     (version, name))
    store = PostGISStore(postgis_url, schema=schema)
    with pytest.raises(StoreError, match=r"version 1, older .* upgrade it with `coverage db "
                                         "init URL`"):
        store.runs()
    assert migrate(postgis_url, schema) == LATEST_VERSION
    assert store.runs().empty


def test_a_newer_schema_is_refused_and_left_alone(postgis_url: str, schema: str):
    import psycopg

    migrate(postgis_url, schema)
    with psycopg.connect(postgis_url) as conn:
        conn.execute(f'INSERT INTO "{schema}".schema_version (version, name) '
                     "VALUES (999, 'from_the_future')")
    before = _versions(postgis_url, schema)
    for attempt in (lambda: migrate(postgis_url, schema),
                    lambda: PostGISStore(postgis_url, schema=schema).runs()):
        with pytest.raises(StoreError, match="version 999, newer than this coverage-planner"):
            attempt()
    assert _versions(postgis_url, schema) == before


def test_a_database_without_postgis_is_refused(postgis_url: str, schema: str):
    import psycopg

    plain = f"plain_{secrets.token_hex(3)}"
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {plain}")
    url = postgis_url.replace("/coverage_test?", f"/{plain}?")
    try:
        with pytest.raises(StoreError, match=r"no PostGIS extension; .*CREATE EXTENSION postgis"):
            migrate(url, schema)
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT to_regnamespace(%s)", (schema,)).fetchone()[0] is None
    finally:
        with psycopg.connect(postgis_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {plain}")


def test_a_user_without_the_right_to_create_it_is_told(postgis_url: str, schema: str):
    import psycopg

    role = f"reader_{secrets.token_hex(3)}"
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'reader-password'")
        conn.execute(f"REVOKE CREATE ON DATABASE coverage_test FROM PUBLIC, {role}")
    url = postgis_url.replace("user=postgres", f"user={role}&password=reader-password")
    try:
        with pytest.raises(StoreError) as caught:
            migrate(url, schema)
        assert "permission denied" in str(caught.value) and "\n" not in str(caught.value)
    finally:
        with psycopg.connect(postgis_url, autocommit=True) as conn:
            conn.execute(f"DROP ROLE {role}")


def test_an_upgrade_secures_the_layer_tables_already_there(postgis_url: str, schema: str):
    import psycopg

    run = "20250101T000000.000000Z-abcd"
    layers = ("district_summary", "migrant_access", "run_info")
    with psycopg.connect(postgis_url) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path TO "{schema}", public')
        conn.execute("CREATE TABLE schema_version (version integer PRIMARY KEY, name text NOT "
                     "NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        for version, name, text in migrations()[:2]:
            conn.execute(text.encode())
            conn.execute("INSERT INTO schema_version (version, name) VALUES (%s, %s)",
                         (version, name))
        conn.execute("INSERT INTO runs (id, time, layers) VALUES (%s, now(), %s)",
                     (run, list(layers)))
        for layer in layers:  # as version 2 made them
            conn.execute(f"CREATE TABLE {layer} (run_id text NOT NULL REFERENCES runs (id), "
                         "_row bigint NOT NULL, district text, PRIMARY KEY (run_id, _row))")
            conn.execute("INSERT INTO layer_tables (layer, table_name) VALUES (%s, %s)",
                         (layer, layer))
            conn.execute(f"INSERT INTO {layer} VALUES (%s, 0, '东城区')", (run,))
    assert migrate(postgis_url, schema) == LATEST_VERSION
    with psycopg.connect(postgis_url) as conn:
        found = {layer: conn.execute(
            "SELECT t.access, c.relrowsecurity, pg_get_userbyid(c.relowner), "
            "(SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) "
            f'FROM "{schema}".layer_tables t, pg_class c WHERE t.layer = %s '
            "AND c.oid = %s::regclass", (layer, f'"{schema}"."{layer}"')).fetchone()
            for layer in layers}
        scopes = [conn.execute(f'SELECT _district FROM "{schema}"."{layer}"').fetchone()[0]
                  for layer in layers]
    writer = f"{schema}_writer"
    assert found == {"district_summary": ("district", True, writer, 2),
                     "migrant_access": ("private", True, writer, 0),
                     "run_info": ("shared", True, writer, 2)}
    assert scopes == [None, None, None]  # rows of earlier runs: the city's only
