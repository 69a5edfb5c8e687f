"""Input layers read from PostGIS tables (``[layers.NAME] table = "schema.table"``).

On a throwaway PostgreSQL server: the real-data project of central Guixi with its service
points (Chinese headers of their own, GCJ-02 longitude and latitude columns, no geometry) and
its communities (polygons) in tables gives the same checks and every value of every result
layer as the same project read from its files; GCJ-02 points stored as geometry are converted
exactly as from a file; the digest of a table follows its rows; and a missing schema, table or
column, a table without a store, both ``path`` and ``table`` and an unreachable server are
one-line errors naming the layer and the table.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from coverage import cli
from coverage.engine.provenance import input_hashes
from coverage.engine.run import run_study
from coverage.io.loaders import load_study, validate_project
from coverage.io.project import ProjectError, load_project
from coverage.io.validation import ValidationError
from exact_frames import assert_identical
from realdata import GUIXI_OSM, SITE_COLUMNS, build_guixi_project

N_MIGRANTS = 400

needs_osm = pytest.mark.skipif(
    not GUIXI_OSM.exists(),
    reason=f"the reference OSM extract {GUIXI_OSM.name} is absent (shared reference folder "
    "not found next to the project)")


@pytest.fixture
def schema(postgis_url: str) -> Iterator[str]:
    """A new schema of the session's database, dropped afterwards."""
    import psycopg

    name = f"inputs_{secrets.token_hex(4)}"
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    yield name
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{name}" CASCADE')


def write_table(url: str, schema: str, table: str, frame: pd.DataFrame,
                types: dict[str, str], *, key: str | None = None, srid: int = 4326) -> None:
    """Write ``frame`` into a new table: its columns with ``types``, geometry as WKB."""
    import psycopg
    from psycopg import sql

    columns = list(types)
    spec = [sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(types[c])) for c in columns]
    if key is not None:
        spec.append(sql.SQL("PRIMARY KEY ({})").format(sql.Identifier(key)))
    values = [sql.SQL("ST_GeomFromWKB(%s, {})").format(sql.Literal(srid))
              if types[c].startswith("geometry") else sql.Placeholder() for c in columns]
    rows = [[shapely.to_wkb(v) if isinstance(v, shapely.Geometry) else
             (None if pd.isna(v) else v) for v in row]
            for row in frame[columns].astype(object).itertuples(index=False)]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TABLE {}.{} ({})").format(
            sql.Identifier(schema), sql.Identifier(table), sql.SQL(", ").join(spec)))
        with conn.cursor() as cur:
            cur.executemany(sql.SQL("INSERT INTO {}.{} VALUES ({})").format(
                sql.Identifier(schema), sql.Identifier(table), sql.SQL(", ").join(values)), rows)


def tables_project(files: Path, folder: Path, url: str, schema: str) -> Path:
    """Copy the Guixi project ``files`` into ``folder`` with its sites and communities in tables.

    The sites keep the export's headers (mapped in ``project.toml`` as for the file) and its
    GCJ-02 longitude and latitude as numbers; the communities their polygons (SRID 4326).
    """
    folder.mkdir()
    for name in ("migrants.csv", GUIXI_OSM.name):
        (folder / name).write_bytes((files / name).read_bytes())
    sites = pd.read_csv(files / "sites.csv", encoding="gb18030", dtype=str)
    types = dict.fromkeys(sites.columns, "text")
    types |= {SITE_COLUMNS["lon"]: "double precision", SITE_COLUMNS["lat"]: "double precision",
              SITE_COLUMNS["staff"]: "numeric"}
    write_table(url, schema, "服务网点", sites, types, key=SITE_COLUMNS["site_id"])
    communities = gpd.read_file(files / "communities.geojson")
    types = {c: "text" for c in communities.columns if c != "geometry"}
    types |= {"户籍人口": "integer", "geometry": "geometry(Polygon, 4326)"}
    write_table(url, schema, "communities", communities, types)
    mapping = "\n".join(f"{field} = {json.dumps(header, ensure_ascii=False)}"
                        for field, header in SITE_COLUMNS.items())
    (folder / "project.toml").write_text(f"""\
[project]
name = "贵溪市中心城区"

[layers.migrants]
path = "migrants.csv"
crs = "wgs84"

[layers.sites]
table = "{schema}.服务网点"
crs = "gcj02"

[layers.sites.columns]
{mapping}

[layers.communities]
table = "{schema}.communities"

[layers.network]
path = "{GUIXI_OSM.name}"
crs = "wgs84"

[store]
url = "{url}"
""", encoding="utf-8")
    return folder


@needs_osm
def test_tables_give_the_same_results_as_the_files(postgis_url: str, schema: str,
                                                   tmp_path: Path) -> None:
    files = build_guixi_project(tmp_path / "files", n_migrants=N_MIGRANTS,
                                communities_as_table=False)
    tables = tables_project(files, tmp_path / "tables", postgis_url, schema)
    runner = CliRunner()
    done = runner.invoke(cli.app, ["validate", str(tables), "--lang", "en"])
    assert done.exit_code == 0, done.output
    assert "0 errors" in done.output

    a, b = run_study(files), run_study(tables)
    assert b.study.conversions == a.study.conversions
    assert b.study.conversions["sites"] == a.study.conversions["sites"] != ""
    assert len(b.study.layers["sites"]) == 16 and len(b.study.layers["communities"]) == 12
    layers_a, layers_b = a.layers(person_level=True), b.layers(person_level=True)
    assert list(layers_a) == list(layers_b)
    for name, frame in layers_a.items():
        if name in ("run_info", "data_quality"):
            continue
        assert_identical(frame, layers_b[name], name)
    info_a, info_b = (dict(zip(r.run_info["key"], r.run_info["value"], strict=True))
                      for r in (a, b))
    volatile = {"run_at", "seconds", "input_sha256:sites", "input_sha256:communities"}
    assert {k: v for k, v in info_a.items() if k not in volatile} == {
        k: v for k, v in info_b.items() if k not in volatile}
    assert info_b["input_sha256:migrants"] == info_a["input_sha256:migrants"]
    for name in ("sites", "communities"):
        assert re.fullmatch(r"[0-9a-f]{64}", info_b[f"input_sha256:{name}"])
        assert info_b[f"input_sha256:{name}"] != info_a[f"input_sha256:{name}"]
    # the same problems, each named by where it was read from
    files_to_tables = {"sites.csv": f'[layers.sites] table "{schema}.服务网点"',
                       "communities.geojson": f'[layers.communities] table "{schema}.communities"'}
    quality_a = a.data_quality.replace({"file": files_to_tables})
    assert_identical(quality_a, b.data_quality, "data_quality")


def test_gcj02_points_in_a_geometry_column_are_converted_as_from_a_file(
        tiny_project: Path, postgis_url: str, schema: str) -> None:
    from_file = load_study(tiny_project)
    sites = pd.read_csv(tiny_project / "sites.csv", encoding="gb18030", dtype=str)
    points = shapely.points(sites["经度"].astype(float), sites["纬度"].astype(float))
    table = sites.drop(columns=["经度", "纬度"]).assign(geom=points, 序号=[7, 3])
    types = dict.fromkeys(sites.columns.drop(["经度", "纬度"]), "text")
    types |= {"人员": "real", "序号": "integer", "geom": "geometry(Point, 4326)"}
    write_table(postgis_url, schema, "sites", table, types, key="序号")
    text = (tiny_project / "project.toml").read_text(encoding="utf-8")
    text = text.replace('path = "sites.csv"', f'table = "{schema}.sites"')
    (tiny_project / "project.toml").write_text(text + f'[store]\nurl = "{postgis_url}"\n',
                                               encoding="utf-8")
    from_table = load_study(tiny_project)
    a, b = from_file.layers["sites"], from_table.layers["sites"]
    # the table is read in the order of its primary key, whose values name the rows
    b = b.set_index(b["site_id"].to_numpy()).loc[a["site_id"]].set_index(a.index)
    assert b["source_row"].tolist() == [7, 3]
    assert from_table.conversions["sites"] == from_file.conversions["sites"]
    for column in ("site_id", "name", "kind", "staff", "services", "opening_hours"):
        pd.testing.assert_series_equal(a[column], b[column], check_exact=True)
    assert shapely.equals_exact(a.geometry.values, b.geometry.values, tolerance=1e-6).all()
    assert np.abs(shapely.get_coordinates(a.geometry.values)
                  - shapely.get_coordinates(b.geometry.values)).max() < 1e-6


def test_the_digest_of_a_table_follows_its_rows(tiny_project: Path, postgis_url: str,
                                                schema: str) -> None:
    import psycopg

    sites = pd.read_csv(tiny_project / "sites.csv", encoding="gb18030", dtype=str)
    write_table(postgis_url, schema, "sites", sites, dict.fromkeys(sites.columns, "text"))
    text = (tiny_project / "project.toml").read_text(encoding="utf-8")
    (tiny_project / "project.toml").write_text(
        text.replace('path = "sites.csv"', f'table = "{schema}.sites"')
        + f'[store]\nurl = "{postgis_url}"\n', encoding="utf-8")
    project = load_project(tiny_project)
    first = input_hashes(project)
    assert first == input_hashes(project)
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        # the same rows written again in the other order: a table without a key is read in the
        # order of its rows' text, so neither its rows nor its digest change
        conn.execute(f'CREATE TABLE "{schema}".copy AS SELECT * FROM "{schema}".sites '
                     "ORDER BY 1 DESC")
        conn.execute(f'DROP TABLE "{schema}".sites')
        conn.execute(f'ALTER TABLE "{schema}".copy RENAME TO sites')
    assert input_hashes(project) == first
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        conn.execute(f'UPDATE "{schema}".sites SET "人员" = \'3\' WHERE "站点编码" = \'S2\'')
    changed = input_hashes(project)
    assert changed["sites"] != first["sites"]
    assert {k: v for k, v in changed.items() if k != "sites"} == {
        k: v for k, v in first.items() if k != "sites"}


def _with_sites(folder: Path, lines: str, store: str | None) -> Path:
    text = (folder / "project.toml").read_text(encoding="utf-8")
    text = text.replace('path = "sites.csv"\n', lines)
    if store is not None:
        text += f'[store]\nurl = "{store}"\n'
    (folder / "project.toml").write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize(("table", "rule", "words"), [
    ("{schema}.no_such_table", "missing-table", "has no table 'no_such_table'"),
    ("no_such_schema.sites", "missing-table", "has no schema 'no_such_schema'"),
    ("{schema}.Sites", "missing-table", "did you mean 'sites'"),
])
def test_a_missing_table_is_one_line_naming_the_layer_and_table(
        tiny_project: Path, postgis_url: str, schema: str, table: str, rule: str,
        words: str) -> None:
    sites = pd.read_csv(tiny_project / "sites.csv", encoding="gb18030", dtype=str)
    write_table(postgis_url, schema, "sites", sites, dict.fromkeys(sites.columns, "text"))
    name = table.format(schema=schema)
    _with_sites(tiny_project, f'table = "{name}"\n', postgis_url)
    done = CliRunner().invoke(cli.app, ["validate", str(tiny_project), "--lang", "en"])
    assert done.exit_code == 2
    line = done.stderr.strip()
    assert "\n" not in line
    assert line.startswith(f'error: [layers.sites] table "{name}"'), line
    assert f"[{rule}]" in line and words in line, line


def test_a_missing_column_names_the_table_and_the_column(tiny_project: Path, postgis_url: str,
                                                        schema: str, tmp_path: Path) -> None:
    sites = pd.read_csv(tiny_project / "sites.csv", encoding="gb18030", dtype=str)
    sites = sites.drop(columns=["人员"])
    write_table(postgis_url, schema, "sites", sites, dict.fromkeys(sites.columns, "text"))
    _with_sites(tiny_project, f'table = "{schema}.sites"\n', postgis_url)
    problems = validate_project(tiny_project)
    (missing,) = [p for p in problems.errors]
    assert (missing.file, missing.field, missing.rule) == (
        f'[layers.sites] table "{schema}.sites"', "staff", "missing-column")
    # run stops with the same first problem (the command line prints it as one line, exit 2)
    done = CliRunner().invoke(cli.app, ["run", str(tiny_project), "--out", str(tmp_path)])
    assert isinstance(done.exception, ValidationError)
    assert str(done.exception).startswith(str(missing))


def test_row_problems_name_the_primary_key(tiny_project: Path, postgis_url: str,
                                           schema: str) -> None:
    sites = pd.read_csv(tiny_project / "sites.csv", encoding="gb18030", dtype=str)
    sites["人员"] = ["2.5", "很多"]
    sites["gid"] = [40, 41]
    types = dict.fromkeys(sites.columns, "text") | {"gid": "bigint"}
    write_table(postgis_url, schema, "sites", sites, types, key="gid")
    _with_sites(tiny_project, f'table = "{schema}.sites"\n', postgis_url)
    (bad,) = validate_project(tiny_project).errors
    assert (bad.row, bad.field, bad.rule) == (41, "staff", "not-a-number")


def test_no_store_an_unreachable_server_and_both_path_and_table(tiny_project: Path,
                                                                tmp_path: Path) -> None:
    _with_sites(tiny_project, 'table = "public.sites"\n', None)
    (error,) = validate_project(tiny_project).errors
    assert (error.file, error.rule) == ('[layers.sites] table "public.sites"', "unreadable-table")
    assert "[store] url" in error.hint
    # with a store given on the command line, the server's absence is the same one line
    pytest.importorskip("psycopg")
    url = f"postgresql:///none?host={tmp_path}&connect_timeout=2"
    done = CliRunner().invoke(cli.app, ["validate", str(tiny_project), "--store", url])
    assert done.exit_code == 2
    assert done.stderr.startswith('error: [layers.sites] table "public.sites"')
    assert "server not reachable" in done.stderr and "\n" not in done.stderr.strip()
    text = (tiny_project / "project.toml").read_text(encoding="utf-8")
    (tiny_project / "project.toml").write_text(
        text.replace('table = "public.sites"', 'table = "public.sites"\npath = "sites.csv"'),
        encoding="utf-8")
    with pytest.raises(ProjectError, match=r"\[layers\.sites\]: `path` is for a layer read "
                                           r"from a file.*not both"):
        load_project(tiny_project)


@pytest.mark.parametrize(("lines", "words"), [
    ('table = "a.b.c"', "must name a table"),
    ('table = ""', "must name a table"),
    ('geometry = "geom"', "`geometry` names the geometry column of a `table`"),
])
def test_table_settings_are_checked(tiny_project: Path, lines: str, words: str) -> None:
    _with_sites(tiny_project, lines + "\n", None)
    with pytest.raises(ProjectError, match=re.escape(words)):
        load_project(tiny_project)
