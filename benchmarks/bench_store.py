"""The shared result store: writing a run and reading it back, PostGIS beside the GeoPackage folder.

Run with ``python benchmarks/bench_store.py [--size large|default|small] [--repeat 3]
[--url URL]``. The demo city is built with :func:`coverage.demo.build_demo` into
``<tmp>/coverage-bench/demo-<size>-<seed>`` when missing (``--demo-dir`` to choose the folder;
``large`` takes a few minutes to build, ``--size small`` is a quick try). The main job runs once
in this process (:func:`coverage.engine.run.run_study`, timed apart from the store) and its
layers (``results.layers()``, without the person-level layer) are the run written.

The PostgreSQL server is a throwaway one of this script's own: ``initdb`` in a temporary folder
(run by the ``postgres`` system user when the script runs as root), a Unix socket in that
folder only, **the server's default durability** (``fsync`` and ``synchronous_commit`` on, as
a real server has them); the superuser logs in without a password, every other role with its
own (SCRAM-SHA-256). It is stopped and its folder removed at the end, also on Ctrl-C. With
``--url URL`` the script uses that database instead (PostGIS installed, a user allowed to
create a schema and roles); it makes a schema of its own there and drops it, with its roles,
at the end.

Steps, each ``--repeat`` times (the best and the median are shown):

* **write the run**: :meth:`coverage.store.postgis.PostGISStore.write_run` (as the
  superuser, or the URL's user; the first write also creates the layer tables), and
  :meth:`coverage.store.gpkg.GeoPackageStore.write_run` into a temporary output folder;
* **read the latest run whole**: ``read_layers()`` from each;
* **one district's app layers**: the layers the web app shows a district office
  (``community_summary``, ``site_catchments``, ``district_summary``, ``indicators``,
  ``underserved_clusters``, ``hotspots``, ``inflow_trends``, those the run holds). With
  PostGIS: a district log-in made with :func:`coverage.store.access.add_user` connects with
  its password and selects each layer table's rows of the latest run with plain SQL
  (geometry as WKB); row-level security gives it its district's rows only. Connecting is
  part of the time. With the GeoPackage folder: the layers of the latest run are read and
  filtered to the district in pandas by the store's own rules
  (:func:`coverage.store.districts.row_districts`); the folder has no access control, any
  reader of it sees every district;
* **a district's whole run (page)**: what the web app's district page reads, every layer of
  the latest run the district's log-in may read (its published tables among them), frames
  rebuilt exactly (:meth:`~coverage.store.postgis.PostGISStore.read_layers` with the log-in).

The run written holds the published tables a PostGIS run keeps
(:func:`coverage.engine.reader.published_layers`).

The district is ``--district NAME``, by default the one with the most communities. Both
stores must give the district the same number of rows per layer; the script stops otherwise.
Targets: the ``large`` city's run written to PostGIS in under 30 s, one district's app layers
loaded in under 1 s. Wall-clock seconds on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_network as bn  # a sibling script, not a package

#: What the web app shows a district office, in the order it shows them.
APP_LAYERS = ("community_summary", "site_catchments", "district_summary", "indicators",
              "underserved_clusters", "hotspots", "inflow_trends")
WRITE_TARGET_S = 30.0
DISTRICT_TARGET_S = 1.0
WRITE = "write the run"
READ = "read the latest run whole"
DISTRICT = "one district's app layers"
PAGE = "a district's whole run (page)"


def _postgres_bin() -> Path:
    """Return the folder of PostgreSQL's server programs (initdb, pg_ctl), newest first."""
    found = []
    config = shutil.which("pg_config")
    if config:
        done = subprocess.run([config, "--bindir"], capture_output=True, text=True, check=False)
        found.append(Path(done.stdout.strip()))
    found += sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                    key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
                    reverse=True)
    for folder in found:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    raise SystemExit("PostgreSQL's server is not installed (apt-get install postgresql "
                     "postgresql-15-postgis-3), or give --url")


@contextmanager
def throwaway_server() -> Iterator[str]:
    """Yield the URL of a new database with PostGIS on a server of its own, then remove it.

    Default durability: only the server's folder and socket differ from a fresh install.
    """
    import pwd

    import psycopg

    bindir = _postgres_bin()
    folder = Path(tempfile.mkdtemp(prefix="coverage-bench-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: the server runs as the postgres user
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, log = folder / "data", folder / "server.log"

    def run(*args: str) -> None:
        done = subprocess.run([*as_user, *args], capture_output=True, text=True, check=False)
        if done.returncode:
            raise SystemExit(f"{Path(args[0]).name} failed: {done.stderr or done.stdout}")

    started = False
    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--locale=C")
        with (data / "postgresql.conf").open("a", encoding="utf-8") as fh:
            fh.write(f"listen_addresses = ''\nunix_socket_directories = '{folder}'\n")
        # the superuser logs in without a password; the district's log-in with its own
        (data / "pg_hba.conf").write_text("local all postgres trust\n"
                                          "local all all scram-sha-256\n", encoding="utf-8")
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "start")
        started = True
        host = quote(str(folder), safe="")
        with psycopg.connect(f"postgresql:///postgres?host={host}&user=postgres",
                             autocommit=True) as conn:
            conn.execute("CREATE DATABASE coverage_bench")
        url = f"postgresql:///coverage_bench?host={host}&user=postgres"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
            settings = dict(conn.execute(
                "SELECT name, current_setting(name) FROM pg_settings WHERE name IN "
                "('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers', "
                "'server_version')").fetchall())
        print("throwaway PostgreSQL " + ", ".join(f"{k} {v}" for k, v in sorted(
            settings.items())), flush=True)
        yield url
    finally:
        if started:
            done = subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m",
                                   "fast", "-w", "stop"], capture_output=True, check=False)
            if done.returncode:
                subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m",
                                "immediate", "-w", "stop"], capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def drop_store(url: str, schema: str, users: list[str]) -> None:
    """Drop the benchmark's schema, its group roles and its log-ins."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as conn:
        groups = []
        if conn.execute("SELECT to_regclass(%s)", (f'"{schema}".access_roles',)).fetchone()[0]:
            groups = [r[0] for r in conn.execute(sql.SQL("SELECT role_name FROM {}").format(
                sql.Identifier(schema, "access_roles"))).fetchall()]
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        for role in [*users, *groups]:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def district_rows_postgis(url: str, schema: str) -> dict[str, int]:
    """Connect as a district's log-in and read its rows of the app layers of the latest run.

    Plain SQL: each layer's columns as the catalogue lists them, geometry as WKB; row-level
    security keeps the rows to the log-in's district. Returns the rows read per layer.
    """
    import psycopg
    from psycopg import sql

    from coverage.store.migrations import postgis_schema

    out = {}
    with psycopg.connect(url, autocommit=True) as conn:
        extension = postgis_schema(conn, schema)
        run_id = conn.execute(sql.SQL("SELECT max(id) FROM {}").format(
            sql.Identifier(schema, "runs"))).fetchone()[0]
        tables = dict(conn.execute(sql.SQL(
            "SELECT l.layer, t.table_name FROM {} l JOIN {} t USING (layer) "
            "WHERE l.run_id = %s AND l.layer = ANY(%s)").format(
                sql.Identifier(schema, "run_layers"), sql.Identifier(schema, "layer_tables")),
            (run_id, list(APP_LAYERS))).fetchall())
        columns: dict[str, list[tuple[str, str]]] = {}
        for layer, column, dtype in conn.execute(sql.SQL(
                "SELECT layer, column_name, dtype FROM {} WHERE run_id = %s "
                "AND layer = ANY(%s) ORDER BY layer, position").format(
                    sql.Identifier(schema, "run_columns")), (run_id, list(tables))):
            columns.setdefault(layer, []).append((column, dtype))
        with conn.cursor(binary=True) as cur:
            for layer in (name for name in APP_LAYERS if name in tables):
                picks = [sql.SQL("{}({})").format(sql.Identifier(extension, "st_asbinary"),
                                                  sql.Identifier(c)) if dtype == "geometry"
                         else sql.Identifier(c) for c, dtype in columns.get(layer, [])]
                query = sql.SQL("SELECT {} FROM {} WHERE run_id = %s ORDER BY _row").format(
                    sql.SQL(", ").join(picks), sql.Identifier(schema, tables[layer]))
                out[layer] = len(cur.execute(query, (run_id,)).fetchall())
    return out


def district_rows_gpkg(store: Any, district: str) -> dict[str, int]:
    """Read the app layers of the folder's latest run and keep the district's rows (pandas)."""
    from coverage.store.districts import row_districts

    held = tuple(store.runs()["layers"].iloc[-1])
    layers = store.read_layers(names=[name for name in APP_LAYERS if name in held])
    places = row_districts(layers)
    kept = {name: frame[places[name] == district] for name, frame in layers.items()}
    return {name: len(frame) for name, frame in kept.items()}


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    """Return the wall time of ``work()`` and its value."""
    start = time.perf_counter()
    value = work()
    return time.perf_counter() - start, value


@contextmanager
def _given(url: str) -> Iterator[str]:
    """Yield the database given with ``--url`` (the benchmark's schema is dropped apart)."""
    yield url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="large", choices=["small", "default", "large"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--demo-dir", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=3, help="Rounds of each step (3).")
    parser.add_argument("--url", default=None,
                        help="A PostgreSQL database with PostGIS to use instead of a "
                             "throwaway server (its user may create schemas and roles).")
    parser.add_argument("--district", default=None,
                        help="The district read (default: the one with the most communities).")
    args = parser.parse_args()
    # a kill ends the script as Ctrl-C does: through the clean-up below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    from coverage.engine.reader import published_layers
    from coverage.engine.run import run_study

    project = bn.demo_project(args.size, args.seed, args.demo_dir)
    job_s, results = timed(lambda: run_study(project))
    layers = results.layers()
    layers |= published_layers(layers, results.study.project)  # as coverage run writes them
    migrants = len(results.migrant_access) if results.migrant_access is not None else 0
    rows = sum(len(frame) for frame in layers.values())
    communities = results.community_summary["district"].value_counts()
    district = args.district or str(communities.index[0])
    print(f"main job of the {args.size} demo city: {job_s:.1f} s; {migrants:,} migrants, "
          f"{len(layers)} layers, {rows:,} rows", flush=True)

    with tempfile.TemporaryDirectory(prefix="coverage-bench-store-") as tmp, \
            (throwaway_server() if args.url is None else _given(args.url)) as url:
        times, counts = measure(url, Path(tmp), layers, district, args.repeat)
    report(args, times, counts, district, migrants, layers, rows)


def measure(url: str, folder: Path, layers: dict[str, pd.DataFrame], district: str,
            repeat: int) -> tuple[dict[tuple[str, str], list[float]], dict[str, dict[str, int]]]:
    """Time each step ``repeat`` times on both stores; return the times and district rows."""
    from psycopg.conninfo import make_conninfo

    from coverage.store.access import add_user
    from coverage.store.gpkg import GeoPackageStore
    from coverage.store.migrations import migrate
    from coverage.store.postgis import PostGISStore

    schema = f"bench_{secrets.token_hex(3)}"
    user, password = f"bench_district_{secrets.token_hex(3)}", secrets.token_urlsafe(18)
    times: dict[tuple[str, str], list[float]] = {}
    counts: dict[str, dict[str, int]] = {}

    def step(name: str, store: str, work: Callable[[], Any]) -> Any:
        seconds, value = timed(work)
        times.setdefault((name, store), []).append(seconds)
        print(f"  {name}, {store}: {seconds:.2f} s", flush=True)
        return value

    try:
        migrate(url, schema)
        postgis = PostGISStore(url, schema=schema)
        gpkg = GeoPackageStore(folder / "results")
        district_url = make_conninfo(url, user=user, password=password)
        for k in range(repeat):
            print(f"round {k + 1}", flush=True)
            step(WRITE, "PostGIS", lambda: postgis.write_run(layers))
            step(WRITE, "GeoPackage", lambda: gpkg.write_run(layers))
            step(READ, "PostGIS", postgis.read_layers)
            step(READ, "GeoPackage", gpkg.read_layers)
            if k == 0:
                add_user(url, user, scope="district", district=district, password=password,
                         schema=schema)
            counts["PostGIS"] = step(DISTRICT, "PostGIS",
                                     lambda: district_rows_postgis(district_url, schema))
            counts["GeoPackage"] = step(DISTRICT, "GeoPackage",
                                        lambda: district_rows_gpkg(gpkg, district))
            # what the web app's district page reads: every layer of the run the log-in may
            # read, frames rebuilt exactly by the store's own reader
            step(PAGE, "PostGIS", PostGISStore(url, schema=schema,
                                               login=(user, password)).read_layers)
    finally:
        drop_store(url, schema, [user])
    if counts["PostGIS"] != counts["GeoPackage"]:
        raise SystemExit(f"the district's rows differ: PostGIS {counts['PostGIS']}, "
                         f"GeoPackage {counts['GeoPackage']}")
    return times, counts


def report(args: argparse.Namespace, times: dict[tuple[str, str], list[float]],
           counts: dict[str, dict[str, int]], district: str, migrants: int,
           layers: dict[str, pd.DataFrame], rows: int) -> None:
    """Print the table of the steps: best and median of each store, and the targets."""
    targets = {WRITE: f"< {WRITE_TARGET_S:g} s (large)", READ: "",
               DISTRICT: f"< {DISTRICT_TARGET_S:g} s", PAGE: ""}
    print(f"\nthe result store, {args.size} demo city ({migrants:,} migrants, {len(layers)} "
          f"layers, {rows:,} rows); best / median of {args.repeat} (s):")
    print(f"  {'step':30}{'PostGIS':>16}{'GeoPackage':>16}   target")
    for name, target in targets.items():
        cells = [f"{min(t):.2f} / {statistics.median(t):.2f}" if t else "—"
                 for t in (times.get((name, s), []) for s in ("PostGIS", "GeoPackage"))]
        print(f"  {name:30}{cells[0]:>16}{cells[1]:>16}   {target}".rstrip())
    district_rows = counts["PostGIS"]
    print(f"\n  {district}: {sum(district_rows.values()):,} rows of {len(district_rows)} "
          "app layers (" + ", ".join(f"{k} {v:,}" for k, v in district_rows.items()) + ")")
    print("  PostGIS: read as the district's log-in, row-level security keeps it to its "
          "district (connecting included)")
    print("  GeoPackage: the whole layers read and filtered in pandas; the folder has no "
          "access control (any reader sees every district)")
    if args.size == "large":
        write = min(times[(WRITE, "PostGIS")])
        print(f"  PostGIS write {'meets' if write < WRITE_TARGET_S else 'misses'} the "
              f"{WRITE_TARGET_S:g} s target")
    best = min(times[(DISTRICT, "PostGIS")])
    print(f"  one district's app layers from PostGIS "
          f"{'meet' if best < DISTRICT_TARGET_S else 'miss'} the {DISTRICT_TARGET_S:g} s target")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # the server and the temporary folders are gone by now
        sys.exit("interrupted; the benchmark's schema, server and folders were removed")
