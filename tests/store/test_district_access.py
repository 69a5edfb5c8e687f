"""District-level access enforced by the database: a real run of the small demo city written to
PostGIS by a writer's log-in, then read with plain SQL as two district users, a city user and a
writer; every table and view of the store's schema shows a district user its district's rows
only, the person-level layer to writers only, and no write gets through; ``coverage db user add``
and ``list`` on the command line."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

from coverage import cli
from coverage._cli import db
from coverage.store.base import prepare_run
from coverage.store.districts import PERSON_LAYER
from coverage.store.postgis import PostGISStore
from exact_frames import assert_identical
from store_roles import drop_store

_PLACE_COLUMNS = ("_district", "district", "home_district")


@dataclass
class Access:
    """The store of this module's tests and its log-ins (name → password)."""

    url: str
    schema: str
    run_id: str
    districts: list[str]
    users: dict[str, str] = field(default_factory=dict)
    scopes: dict[str, str | None] = field(default_factory=dict)

    def url_of(self, user: str, password: str | None = None) -> str:
        """The store's URL as ``user`` logging in with its password."""
        secret = self.users[user] if password is None else password
        return self.url.replace("user=postgres", f"user={user}&password={secret}")


@pytest.fixture(scope="module")
def runner() -> Iterator[CliRunner]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(db, "console", Console(width=300, highlight=False))
        patch.setattr(db, "err", Console(width=300, stderr=True, highlight=False))
        yield CliRunner()


def _add(runner: CliRunner, access: Access, user: str, *scope: str) -> str:
    """``coverage db user add`` with the password on stdin; return its output."""
    password = access.users.setdefault(user, secrets.token_hex(8))
    done = runner.invoke(cli.app, ["db", "user", "add", access.url, user, *scope,
                                   "--password-stdin", "--schema", access.schema],
                         input=password + "\n")
    assert done.exit_code == 0, done.output
    access.scopes[user] = scope[-1] if scope[0] == "--district" else None
    return done.output


@pytest.fixture(scope="module")
def access(postgis_url: str, small_run, runner: CliRunner) -> Iterator[Access]:
    """A store written by a writer's log-in, with users of two districts and of the city."""

    tag = secrets.token_hex(3)
    schema = f"d_{tag}"
    done = runner.invoke(cli.app, ["db", "init", postgis_url, "--schema", schema])
    assert done.exit_code == 0, done.output
    districts = sorted(set(small_run.community_summary["district"]))
    store = Access(postgis_url, schema, "", districts)
    _add(runner, store, f"w_{tag}", "--writer")
    _add(runner, store, f"a_{tag}", "--district", districts[0])
    _add(runner, store, f"b_{tag}", "--district", districts[1])
    _add(runner, store, f"c_{tag}", "--city")
    writer = PostGISStore(store.url_of(f"w_{tag}"), schema=schema)
    store.run_id = writer.write_run(small_run.layers(person_level=True))
    yield store
    drop_store(postgis_url, schema, store.users)


def _relations(access: Access) -> dict[str, tuple[str, str | None, set[str]]]:
    """Every table and view of the schema: its kind, its layer's access, its columns."""
    import psycopg

    with psycopg.connect(access.url) as conn:
        found = conn.execute(
            "SELECT c.relname, c.relkind, array_agg(a.attname::text) FROM pg_class c "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
            "WHERE c.relnamespace = %s::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p', 'f') "
            "GROUP BY c.relname, c.relkind", (access.schema,)).fetchall()
        layers = dict(conn.execute(
            f'SELECT table_name, access FROM "{access.schema}".layer_tables').fetchall())
    return {name: (kind, layers.get(name), set(columns)) for name, kind, columns in found}


def _count(conn, access: Access, table: str, where: str = "true", args: tuple = ()) -> int:
    return conn.execute(f'SELECT count(*) FROM "{access.schema}"."{table}" WHERE {where}',
                        args).fetchone()[0]


def _user(access: Access, prefix: str) -> str:
    return next(u for u in access.users if u.startswith(prefix))


@pytest.mark.parametrize("prefix", ["a_", "b_"])
def test_a_district_user_sees_only_its_district_in_every_table_and_view(access: Access,
                                                                       prefix: str):
    import psycopg

    user = _user(access, prefix)
    own = access.scopes[user]
    relations = _relations(access)
    assert len(relations) >= 23  # the catalogue's 8 tables, the scenarios, the run's 14 layers
    seen: dict[str, int] = {}
    with psycopg.connect(access.url) as admin, \
            psycopg.connect(access.url_of(user), autocommit=True) as conn:
        for table, (_, layer, columns) in sorted(relations.items()):
            if layer == "private" or table == "scenarios":  # the city office's planning
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    _count(conn, access, table)
                continue
            seen[table] = _count(conn, access, table)
            for column in _PLACE_COLUMNS if layer == "district" else ():
                if column in columns:  # no row of another district, nor of the city's
                    assert _count(conn, access, table, f'"{column}" IS DISTINCT FROM %s '
                                  f'AND ("{column}" IS NOT NULL OR %s)',
                                  (own, column == "_district")) == 0, (table, column)
            if layer == "district":
                expected = _count(admin, access, table, "_district = %s", (own,))
            elif table == "user_access":
                expected = 1  # its own scope only
            else:  # the runs, the catalogue, run_info: no figures of any place
                expected = _count(admin, access, table)
            assert seen[table] == expected, table
            assert seen[table] <= _count(admin, access, table)
    layers = {t: n for t, n in seen.items() if relations[t][1] == "district"}
    assert sum(n > 0 for n in layers.values()) >= 8  # the district sees its own rows
    assert seen["community_summary"] == _count_in(access, own) > 0


def _count_in(access: Access, district: str) -> int:
    import psycopg

    with psycopg.connect(access.url) as conn:
        return _count(conn, access, "community_summary", "district = %s AND run_id = %s",
                      (district, access.run_id))


def test_a_district_user_cannot_change_any_row(access: Access):
    import psycopg

    user = _user(access, "a_")
    own, other = access.scopes[user], access.scopes[_user(access, "b_")]
    relations = _relations(access)
    with psycopg.connect(access.url) as admin:
        before = {t: _count(admin, access, t) for t in relations}
    on_layers = [
        ('INSERT INTO "{s}"."{t}" (run_id, _row, _district) VALUES (%s, 999999, %s)',
         (access.run_id, other)),
        ('UPDATE "{s}"."{t}" SET _district = %s WHERE _district = %s', (own, other)),
        ('DELETE FROM "{s}"."{t}" WHERE _district = %s', (other,)),
    ]
    with psycopg.connect(access.url_of(user), autocommit=True) as conn:
        for table, (_, layer, columns) in relations.items():
            column = sorted(columns)[0]
            statements = on_layers if layer else [
                (f'UPDATE "{{s}}"."{{t}}" SET "{column}" = "{column}"', ()),
                ('DELETE FROM "{s}"."{t}"', ())]
            for text, args in statements:
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(text.format(s=access.schema, t=table), args)
        conn.execute("SET row_security = off")  # asks for every row: refused, not granted
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            _count(conn, access, "community_summary")
        conn.execute("RESET row_security")
        for kind in ("city", "writer"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f'SET ROLE "{access.schema}_{kind}"')
    with psycopg.connect(access.url) as admin:
        assert {t: _count(admin, access, t) for t in relations} == before


def test_the_city_user_sees_every_row_but_the_person_level_layer(access: Access, small_run):
    import psycopg

    relations = _relations(access)
    layers = {t: a for t, (_, a, _) in relations.items() if a is not None}
    assert layers[PERSON_LAYER] == "private" and layers["run_info"] == "shared"
    with psycopg.connect(access.url) as admin, \
            psycopg.connect(access.url_of(_user(access, "c_")), autocommit=True) as conn:
        for table, layer in layers.items():
            if layer == "private":
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    _count(conn, access, table)
            else:
                assert _count(conn, access, table) == _count(admin, access, table), table
        for name, frame in small_run.layers().items():  # every row written
            assert _count(conn, access, name, "run_id = %s", (access.run_id,)) == len(frame)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f'DELETE FROM "{access.schema}".community_summary')
        assert _count(conn, access, "user_access") == len(access.users)


def test_every_user_reads_the_runs_and_the_writer_the_whole_run(access: Access, small_run):
    admin = PostGISStore(access.url, schema=access.schema).runs()
    assert list(admin["run_id"]) == [access.run_id]
    for user in access.users:
        runs = PostGISStore(access.url_of(user), schema=access.schema).runs()
        assert runs.equals(admin), user
    back = PostGISStore(access.url_of(_user(access, "w_")), schema=access.schema).read_layers()
    written = prepare_run(small_run.layers(person_level=True))
    assert list(back) == list(written)
    for name, frame in written.items():  # the hidden district column is not read back
        assert_identical(frame, back[name], name)


def test_rows_are_placed_in_their_district(access: Access):
    import psycopg

    s = access.schema
    with psycopg.connect(access.url) as conn:
        def one(query: str) -> int:
            return conn.execute(query.format(s=s)).fetchone()[0]

        # a site by its community, an indicator by its level, the city's rows nobody's
        assert one('SELECT count(*) FROM "{s}".site_catchments t JOIN "{s}".community_summary '
                   "c USING (run_id, community_id) WHERE t._district IS DISTINCT FROM "
                   "c.district") == 0
        assert one('SELECT count(*) FROM "{s}".indicators WHERE _district IS DISTINCT FROM '
                   "CASE level WHEN 'district' THEN unit WHEN 'city' THEN NULL ELSE "
                   "_district END") == 0
        assert one('SELECT count(*) FROM "{s}".indicators i WHERE level = \'community\' AND '
                   'NOT EXISTS (SELECT FROM "{s}".community_summary c WHERE c.run_id = '
                   "i.run_id AND c.community_id = i.unit AND c.district = i._district)") == 0
        assert one('SELECT count(*) FROM "{s}".district_summary WHERE '
                   "(level = 'city') = (_district IS NULL) AND (_district IS NULL OR "
                   "_district = district)") == len(access.districts) + 1
        assert one('SELECT count(*) FROM "{s}".commute_flows WHERE _district IS DISTINCT '
                   "FROM home_district") == 0
        # a hexagon by the community holding a point of it
        placed = one('SELECT count(*) FROM "{s}".hotspots h WHERE EXISTS (SELECT FROM '
                     '"{s}".community_summary c WHERE c.run_id = h.run_id AND c.district = '
                     "h._district AND ST_Within(ST_PointOnSurface(h.geometry), c.geometry))")
        assert placed == one('SELECT count(*) FROM "{s}".hotspots WHERE _district IS NOT NULL')
        assert placed > one('SELECT count(*) FROM "{s}".hotspots') / 2
        assert one('SELECT count(*) FROM "{s}".data_quality WHERE _district IS NOT NULL') == 0


def test_db_user_add_updates_a_log_in_and_lists_without_passwords(access: Access,
                                                                  runner: CliRunner):
    import psycopg

    user = f"e_{secrets.token_hex(3)}"
    first = _add(runner, access, user, "--district", access.districts[0])
    assert f"user {user} created" in first and f"{access.schema}_district" in first
    old = access.users[user]
    access.users[user] = secrets.token_hex(8)
    again = _add(runner, access, user, "--district", access.districts[1])
    assert f"user {user} updated" in again and f"(was: district {access.districts[0]})" in again
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(access.url_of(user, old)).close()
    with psycopg.connect(access.url_of(user)) as conn:
        assert _count(conn, access, "community_summary", "district = %s",
                      (access.districts[0],)) == 0
        assert _count(conn, access, "community_summary") == _count_in(access,
                                                                      access.districts[1])
    # typed at the prompt, twice; a district no row has is noted
    typed = secrets.token_hex(8)
    done = runner.invoke(cli.app, ["db", "user", "add", access.url, user, "--district", "无此区",
                                   "--schema", access.schema], input=f"{typed}\n{typed}\n")
    assert done.exit_code == 0 and "no row of the latest run is in district 无此区" in done.output
    access.users[user], access.scopes[user] = typed, "无此区"
    with psycopg.connect(access.url_of(user)) as conn:
        assert _count(conn, access, "community_summary") == 0
    listed = runner.invoke(cli.app, ["db", "user", "list", access.url, "--schema",
                                     access.schema])
    assert listed.exit_code == 0, listed.output
    rows = {line.split()[0]: line.split()[1:] for line in listed.output.splitlines()
            if line.split() and line.split()[0] in access.users}
    assert rows[user][:2] == ["district", "无此区"] and rows[_user(access, "c_")][0] == "city"
    assert len(rows) == len(access.users)
    assert not any(p in listed.output for p in access.users.values())
    assert "SCRAM" not in listed.output


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--city", "--district", "X"], 2, "give one of --city, --district NAME or --writer"),
    ([], 2, "give one of --city"),
    (["--city"], 1, "shorter than 10 characters"),
])
def test_db_user_add_refuses_a_bad_choice(access: Access, runner: CliRunner, args: list[str],
                                          code: int, message: str):
    done = runner.invoke(cli.app, ["db", "user", "add", access.url, "someone", *args,
                                   "--password-stdin", "--schema", access.schema],
                         input="short\n")
    assert done.exit_code == code and message in done.output


def test_db_user_add_refuses_a_superuser(access: Access, runner: CliRunner):
    done = runner.invoke(cli.app, ["db", "user", "add", access.url, "postgres", "--district",
                                   access.districts[0], "--password-stdin", "--schema",
                                   access.schema], input="long-enough-password\n")
    assert done.exit_code == 1 and "superuser" in done.output and "cannot be limited" in \
        done.output


def test_a_planner_without_superuser_sets_up_writes_and_adds_users(postgis_url: str,
                                                                    runner: CliRunner):
    import pandas as pd
    import psycopg

    tag = secrets.token_hex(3)
    schema, planner, office = f"p_{tag}", f"planner_{tag}", f"office_{tag}"
    store = Access(postgis_url, schema, "", [], {planner: secrets.token_hex(8),
                                                 office: secrets.token_hex(8)})
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {planner} LOGIN CREATEROLE PASSWORD '{store.users[planner]}'")
        conn.execute(f"GRANT CREATE ON DATABASE coverage_test TO {planner}")
    try:
        as_planner = store.url_of(planner)
        done = runner.invoke(cli.app, ["db", "init", as_planner, "--schema", schema])
        assert done.exit_code == 0, done.output
        summary = pd.DataFrame({"level": ["district", "district", "city"],
                                "district": ["东城区", "万江区", "全市"], "staff": [2.5, 1.0, 3.5]})
        PostGISStore(as_planner, schema=schema).write_run({"district_summary": summary})
        done = runner.invoke(cli.app, ["db", "user", "add", as_planner, office, "--district",
                                       "万江区", "--password-stdin", "--schema", schema],
                             input=store.users[office] + "\n")
        assert done.exit_code == 0, done.output
        with psycopg.connect(store.url_of(office), autocommit=True) as conn:
            rows = conn.execute(f'SELECT district, staff FROM "{schema}".district_summary'
                                ).fetchall()
        assert rows == [("万江区", 1.0)]
    finally:
        with psycopg.connect(postgis_url, autocommit=True) as conn:
            groups = [r[0] for r in conn.execute(
                f'SELECT role_name FROM "{schema}".access_roles').fetchall()]
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
            conn.execute(f"DROP OWNED BY {planner}")
            for role in [office, planner, *groups]:
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.mark.parametrize("prefix", ["a_", "b_", "c_", "w_"])
def test_the_store_read_as_a_log_in_gives_exactly_its_rows(access: Access, prefix: str):
    from coverage.store.districts import row_districts

    user = _user(access, prefix)
    mine = PostGISStore(access.url, schema=access.schema, login=(user, access.users[user]))
    scope, district = mine.access()
    assert (scope, district) == ({"a_": "district", "b_": "district", "c_": "city",
                                  "w_": "writer"}[prefix], access.scopes[user])
    whole = PostGISStore(access.url_of(_user(access, "w_")),
                         schema=access.schema).read_layers(access.run_id)
    places = row_districts(whole)
    read = mine.read_layers(access.run_id)
    readable = [n for n in whole if scope == "writer" or n != PERSON_LAYER]
    assert list(read) == readable
    for name in readable:
        keep = np.ones(len(whole[name]), bool)
        if scope == "district" and name != "run_info":
            keep = places[name] == district
        expected = whole[name][keep].reset_index(drop=True)
        if scope == "district" and name not in ("run_info", "data_quality"):
            assert 0 < len(read[name]) < len(whole[name]) or len(whole[name]) == 0 or \
                not keep.any(), name
        assert_identical(expected, read[name], name)


def test_a_log_in_with_a_wrong_password_gets_one_line(access: Access):
    from coverage.store.base import StoreError

    user = _user(access, "a_")
    secret = "wrong-" + access.users[user]
    with pytest.raises(StoreError, match="log-in refused") as caught:
        PostGISStore(access.url, schema=access.schema, login=(user, secret)).runs()
    assert secret not in str(caught.value) and "\n" not in str(caught.value)
