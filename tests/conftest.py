"""Shared fixtures: a tiny valid project that each bad-input test breaks in one way, the demo
city and its run (once per session), the web app on the demo city (once per session) and a
throwaway PostgreSQL server with PostGIS."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from coverage.crs import wgs84_to_gcj02

SHARED = Path(__file__).resolve().parents[2] / "shared" / "reference"
if os.environ.get("COVERAGE_REFERENCE"):
    SHARED = Path(os.environ["COVERAGE_REFERENCE"])

# Two square communities near Dongguan (WGS-84), 0.01° ≈ 1 km across.
LON0, LAT0 = 113.75, 23.02

MIGRANTS_CSV = """\
人员编号,经度,纬度,社区编码,性别,出生年份,婚姻状况,户籍地代码,来本地日期,婚育证明,政策知晓
M001,113.752,23.022,C1,女,1990,已婚,430100,2024-03-01,是,是
M002,113.755,23.025,C1,男,1985,未婚,450100,2024/5/2,否,否
M003,113.763,23.024,C2,女,1995,已婚,510100,20250110,是,是
M004,113.765,23.027,,女,1992,未婚,,2025年6月1日,,
"""

PROJECT_TOML = """\
[project]
name = "tiny"
[layers.migrants]
path = "migrants.csv"
crs = "wgs84"
[layers.sites]
path = "sites.csv"
crs = "gcj02"
[layers.communities]
path = "communities.geojson"
crs = "wgs84"
[layers.network]
path = "network.gpkg"
crs = "wgs84"
"""


def sites_csv() -> str:
    lon = [113.753, 113.764]
    lat = [23.021, 23.026]
    glon, glat = wgs84_to_gcj02(lon, lat)
    return (
        "站点编码,名称,类型,经度,纬度,人员,服务项目,开放时间\n"
        f"S1,东城社区卫生服务站,社区卫生服务站,{glon[0]:.7f},{glat[0]:.7f},2.5,宣传;药具,8:00-17:00\n"
        f"S2,东城计生服务室,社区计生服务室,{glon[1]:.7f},{glat[1]:.7f},1,,\n"
    )


def communities() -> gpd.GeoDataFrame:
    boxes = [
        shapely.box(LON0, LAT0, LON0 + 0.01, LAT0 + 0.01),
        shapely.box(LON0 + 0.01, LAT0, LON0 + 0.02, LAT0 + 0.01),
    ]
    return gpd.GeoDataFrame(
        {
            "社区编码": ["C1", "C2"],
            "社区名称": ["东一社区", "东二社区"],
            "区县": ["东城区", "东城区"],
            "街道": ["东城街道", "东城街道"],
            "户籍人口": [5000, 3000],
            "社区计生专干": [1.0, 0.5],
        },
        geometry=boxes,
        crs=4326,
    )


def tiny_network(path: Path) -> Path:
    """Write a street grid (200 m blocks) over the two communities, in OSMnx's GeoPackage layout.

    A real, readable road network, so that ``validate`` (which reads the network) passes on the
    tiny project.
    """
    import networkx as nx
    import numpy as np
    import osmnx as ox

    lons = np.round(np.arange(LON0 - 0.002, LON0 + 0.0221, 0.002), 6)
    lats = np.round(np.arange(LAT0 - 0.002, LAT0 + 0.0121, 0.002), 6)
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    ids: dict[tuple[int, int], int] = {}
    for i, lon in enumerate(lons):
        for j, lat in enumerate(lats):
            ids[i, j] = len(ids) + 1
            graph.add_node(ids[i, j], x=float(lon), y=float(lat))
    way = 0
    for (i, j), u in ids.items():
        for v in (ids.get((i + 1, j)), ids.get((i, j + 1))):
            if v is None:
                continue
            way += 1
            a, b = graph.nodes[u], graph.nodes[v]
            length = float(ox.distance.great_circle(a["y"], a["x"], b["y"], b["x"]))
            for s, t in ((u, v), (v, u)):
                graph.add_edge(s, t, osmid=way, highway="residential", length=length,
                               oneway=False, reversed=s != u)
    ox.save_graph_geopackage(graph, path)
    return path


def pytest_configure(config: pytest.Config) -> None:
    """Keep the tests' network cache out of the user's cache folder."""
    if "COVERAGE_CACHE_DIR" not in os.environ:
        import tempfile

        os.environ["COVERAGE_CACHE_DIR"] = tempfile.mkdtemp(prefix="coverage-test-cache-")


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo city (seed 0), built once per test session; returns its folder."""
    from coverage.demo import build_demo

    return build_demo(tmp_path_factory.mktemp("small_demo"), size="small", seed=0).parent


@pytest.fixture(scope="session")
def small_run(small_demo: Path):
    """``run_study`` on the small demo city, once per session."""
    from coverage.engine.run import run_study

    return run_study(small_demo)


@pytest.fixture(scope="session")
def demo_city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``coverage demo --size small`` run for real (console script), once per session."""
    import subprocess
    import sys

    folder = tmp_path_factory.mktemp("demo_city") / "city"
    script = Path(sys.executable).with_name("coverage")
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    done = subprocess.run([str(script), "demo", "--size", "small", "--out", str(folder)],
                          capture_output=True, text=True, env=env, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return folder


@pytest.fixture(scope="session")
def app_url(demo_city: Path) -> Iterator[str]:
    """``coverage app`` on the demo city, without a log-in, in its own process: its URL.

    Started once per session for every test that only visits the app (it keeps no state of a
    visit between page loads); a test needing other options starts its own.
    """
    from appserver import run_app

    with run_app(demo_city) as url:
        yield url


def write_tiny_project(folder: Path) -> Path:
    """Write the small valid project into ``folder``; return the folder."""
    (folder / "project.toml").write_text(PROJECT_TOML, encoding="utf-8")
    (folder / "migrants.csv").write_text(MIGRANTS_CSV, encoding="utf-8")
    (folder / "sites.csv").write_bytes(sites_csv().encode("gb18030"))
    communities().to_file(folder / "communities.geojson", driver="GeoJSON")
    tiny_network(folder / "network.gpkg")
    return folder


@pytest.fixture(scope="session")
def tiny_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small valid project's files, written once per session (not to be changed)."""
    return write_tiny_project(tmp_path_factory.mktemp("tiny_files"))


@pytest.fixture
def tiny_project(tmp_path: Path, tiny_files: Path) -> Path:
    """A small valid project of the test's own (a copy of :func:`tiny_files`); its folder."""
    import shutil

    for path in tiny_files.iterdir():
        shutil.copyfile(path, tmp_path / path.name)  # new files, as if written now
    return tmp_path


def _postgres_bin() -> Path | None:
    """The folder of PostgreSQL's server programs (initdb, pg_ctl), newest version first."""
    import glob
    import shutil
    import subprocess

    found = []
    config = shutil.which("pg_config")
    if config:
        done = subprocess.run([config, "--bindir"], capture_output=True, text=True, check=False)
        found.append(Path(done.stdout.strip()))
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                      key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit()
                      else 0, reverse=True)
    found += [Path(p) for p in versions]  # Debian's layout, one folder per server version
    return next((b for b in found if (b / "initdb").is_file() and (b / "pg_ctl").is_file()),
                None)


def _without_postgis(reason: str) -> None:
    """Skip a test needing PostGIS, or fail it when ``COVERAGE_REQUIRE_POSTGIS`` is set (CI)."""
    if os.environ.get("COVERAGE_REQUIRE_POSTGIS"):
        pytest.fail(f"{reason} (COVERAGE_REQUIRE_POSTGIS is set)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgis_url():
    """A libpq URL of a new database with PostGIS on a throwaway server, for the session.

    The server is a cluster of its own (``initdb`` in a temporary folder, run by the
    ``postgres`` system user when the tests run as root, which ``initdb`` refuses), listening
    on a Unix socket in that folder only, with ``fsync`` off; the superuser ``postgres`` logs in
    without a password, other roles with theirs; it is stopped and its folder
    removed at the end. Tests needing it are skipped, saying why, when PostgreSQL, PostGIS or
    psycopg is missing, or fail when ``COVERAGE_REQUIRE_POSTGIS`` is set.
    """
    import pwd
    import shutil
    import subprocess
    import tempfile
    import time
    from urllib.parse import quote

    try:
        import psycopg
    except ImportError:
        _without_postgis("psycopg is not installed (pip install -e '.[test]')")
    bindir = _postgres_bin()
    if bindir is None:
        _without_postgis("PostgreSQL's server is not installed (apt-get install postgresql)")
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="coverage-pg-"))
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(folder)
            _without_postgis("the tests run as root, and there is no postgres user to run "
                             "the server")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, log = folder / "data", folder / "server.log"

    def run(*args: str) -> None:
        done = subprocess.run([*as_user, *args], capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"{args[0]} failed: {done.stderr or done.stdout}"

    start = time.perf_counter()
    started = False
    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync")
        settings = {"listen_addresses": "''", "unix_socket_directories": f"'{folder}'",
                    "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        with (data / "postgresql.conf").open("a", encoding="utf-8") as fh:
            fh.writelines(f"{key} = {value}\n" for key, value in settings.items())
        # the superuser logs in without a password; every other role (the store's district
        # users) with its own, as on a real server
        (data / "pg_hba.conf").write_text("local all postgres trust\n"
                                          "local all all scram-sha-256\n", encoding="utf-8")
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "start")
        started = True
        host = quote(str(folder), safe="")
        with psycopg.connect(f"postgresql:///postgres?host={host}&user=postgres",
                             autocommit=True) as conn:
            conn.execute("CREATE DATABASE coverage_test")
        url = f"postgresql:///coverage_test?host={host}&user=postgres"
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION postgis")
        except psycopg.Error as exc:
            _without_postgis(f"PostGIS is not installed for this PostgreSQL "
                             f"(apt-get install postgresql-postgis): {str(exc).splitlines()[0]}")
        print(f"\nthrowaway PostGIS server ready in {time.perf_counter() - start:.1f} s")
        yield url
    finally:
        if started:
            subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m",
                            "immediate", "-w", "stop"], capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)
