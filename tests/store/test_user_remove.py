"""``coverage db user remove``: a removed log-in can no longer connect and leaves the list; group
roles, superusers, the log-in connected and names of no user of the store are refused in one
line; a log-in kept by another role loses this store's access only."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from coverage import cli
from coverage.store.access import list_users
from store_roles import drop_store, wide_runner


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    return wide_runner(monkeypatch)


@pytest.fixture
def store(postgis_url: str, runner: CliRunner) -> Iterator[tuple[str, list[str]]]:
    """A new store's schema, and the roles the test makes (dropped afterwards with it)."""

    schema = f"u_{secrets.token_hex(4)}"
    done = runner.invoke(cli.app, ["db", "init", postgis_url, "--schema", schema])
    assert done.exit_code == 0, done.output
    roles: list[str] = []
    yield schema, roles
    drop_store(postgis_url, schema, roles)


def _add(runner: CliRunner, url: str, schema: str, name: str, password: str) -> None:
    done = runner.invoke(cli.app, ["db", "user", "add", url, name, "--district", "东城区",
                                   "--password-stdin", "--schema", schema],
                         input=password + "\n")
    assert done.exit_code == 0, done.output


def _connects(url: str, name: str, password: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url.replace("user=postgres", f"user={name}&password={password}")):
            return True
    except psycopg.OperationalError:
        return False


def _remove(runner: CliRunner, url: str, schema: str, name: str, code: int) -> str:
    done = runner.invoke(cli.app, ["db", "user", "remove", url, name, "--schema", schema])
    assert done.exit_code == code, done.output
    lines = done.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.output, done.output
    return lines[0]


def test_a_removed_user_can_no_longer_log_in(postgis_url: str, store, runner: CliRunner):
    schema, roles = store
    name, password = f"wang_{secrets.token_hex(3)}", secrets.token_hex(8)
    roles.append(name)
    _add(runner, postgis_url, schema, name, password)
    assert _connects(postgis_url, name, password)
    assert name in set(list_users(postgis_url, schema)["user"])
    line = _remove(runner, postgis_url, schema, name, 0)
    assert f"user {name} removed (was: district 东城区)" in line and "no longer log in" in line
    assert password not in line
    assert not _connects(postgis_url, name, password)
    assert name not in set(list_users(postgis_url, schema)["user"])
    done = runner.invoke(cli.app, ["db", "user", "list", postgis_url, "--schema", schema])
    assert name not in done.output
    line = _remove(runner, postgis_url, schema, name, 1)
    assert f"no user {name!r} in this store" in line and "coverage db user list" in line


def test_roles_that_are_no_user_of_the_store_are_refused(postgis_url: str, store,
                                                        runner: CliRunner):
    import psycopg

    schema, roles = store
    boss, stranger = f"boss_{secrets.token_hex(3)}", f"other_{secrets.token_hex(3)}"
    roles += [boss, stranger]
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{boss}" LOGIN SUPERUSER')
        conn.execute(f'CREATE ROLE "{stranger}" LOGIN')
    for name, words in ((f"{schema}_city", "group roles"), ("postgres", "log-in connected"),
                        (boss, "superuser"), (stranger, "no user")):
        assert words in _remove(runner, postgis_url, schema, name, 1)
    with psycopg.connect(postgis_url) as conn:
        left = {r[0] for r in conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)",
                                           ([boss, stranger, f"{schema}_city"],)).fetchall()}
    assert left == {boss, stranger, f"{schema}_city"}


def test_a_log_in_kept_by_another_role_loses_this_store_only(postgis_url: str, store,
                                                           runner: CliRunner):
    import psycopg

    schema, roles = store
    name, password = f"li_{secrets.token_hex(3)}", secrets.token_hex(8)
    team = f"team_{secrets.token_hex(3)}"
    roles += [name, team]
    _add(runner, postgis_url, schema, name, password)
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{team}"')
        conn.execute(f'GRANT "{team}" TO "{name}"')
    line = _remove(runner, postgis_url, schema, name, 0)
    assert "removed from this store" in line and team in line
    assert _connects(postgis_url, name, password)
    assert name not in set(list_users(postgis_url, schema)["user"])
    with psycopg.connect(postgis_url) as conn:
        groups = {r[0] for r in conn.execute(
            "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
            "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s", (name,)).fetchall()}
    assert groups == {team}
