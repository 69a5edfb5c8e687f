"""Communities given as a table without boundaries: boundaries approximated from the residences.

The small demo city is rewritten with its communities as a GB18030 CSV with Chinese headers and
no geometry (as many offices keep them); the boundaries are then the Voronoi cells of the
migrants' residences dissolved per community (:mod:`coverage.io.boundaries`).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from coverage.io.loaders import StudyData, load_study, validate_project
from coverage.io.validation import ValidationError

TABLE_HEADERS = {"community_id": "社区编码", "name": "社区名称", "district": "区县",
                 "street": "街道", "registered_pop": "户籍人口", "fp_staff": "社区计生专干"}
"""The demo's community columns under Chinese headers (the optional ones kept)."""


def _table_project(demo: Path, folder: Path) -> Path:
    """Copy the demo project into ``folder`` with its communities as a table; return it."""
    shutil.copytree(demo, folder)
    gpkg = folder / "communities.gpkg"
    table = gpd.read_file(gpkg)[list(TABLE_HEADERS)].rename(columns=TABLE_HEADERS)
    table.to_csv(folder / "communities.csv", index=False, encoding="gb18030")
    gpkg.unlink()
    toml = folder / "project.toml"
    text = toml.read_text(encoding="utf-8")
    old = 'path = "communities.gpkg"\ncrs = "wgs84"'
    assert old in text
    toml.write_text(text.replace(old, 'path = "communities.csv"'), encoding="utf-8")
    return folder


def _edit_migrants(folder: Path, change: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    """Rewrite the migrants file through ``change`` (a frame of text cells → the new frame)."""
    path = folder / "migrants.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    change(frame).to_csv(path, index=False, encoding="utf-8-sig")


@pytest.fixture(scope="module")
def table_project(small_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _table_project(small_demo, tmp_path_factory.mktemp("table") / "city")


@pytest.fixture(scope="module")
def table_study(table_project: Path) -> StudyData:
    return load_study(table_project)


@pytest.fixture(scope="module")
def demo_communities(small_demo: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(small_demo / "communities.gpkg")


def _with_migrants(study: StudyData) -> np.ndarray:
    ids = study.communities["community_id"]
    return ids.isin(set(study.migrants["community_id"].dropna())).to_numpy()


def test_the_table_is_read_as_gb18030_with_chinese_headers(
    table_study: StudyData, demo_communities: gpd.GeoDataFrame
) -> None:
    comm = table_study.communities
    assert table_study.approximate_boundaries
    assert list(comm["community_id"]) == list(demo_communities["community_id"])
    assert list(comm["name"]) == list(demo_communities["name"])
    assert comm["registered_pop"].sum() == demo_communities["registered_pop"].sum()
    assert comm.crs == table_study.crs and table_study.crs.is_projected
    assert table_study.crs.to_epsg() == 32649  # UTM zone of the demo city, from the residences


def test_an_xlsx_table_is_accepted_too(table_project: Path, tmp_path: Path) -> None:
    folder = shutil.copytree(table_project, tmp_path / "city")
    table = pd.read_csv(folder / "communities.csv", dtype=str, encoding="gb18030")
    table.to_excel(folder / "communities.xlsx", index=False)
    toml = folder / "project.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("communities.csv",
                                                             "communities.xlsx"),
                    encoding="utf-8")
    study = load_study(folder)
    assert study.approximate_boundaries
    assert (~shapely.is_empty(study.communities.geometry.to_numpy())).sum() >= 40
    assert any(p.rule == "approximate-boundaries" and p.file == "communities.xlsx"
               for p in study.problems)


def test_every_community_with_migrants_gets_a_valid_polygon(table_study: StudyData) -> None:
    geoms = table_study.communities.geometry.to_numpy()
    with_migrants = _with_migrants(table_study)
    assert with_migrants.sum() >= 40
    assert shapely.is_valid(geoms).all()
    assert np.isin(shapely.get_type_id(geoms[with_migrants]), (3, 6)).all()  # polygonal
    assert not shapely.is_empty(geoms[with_migrants]).any()
    assert (shapely.area(geoms[with_migrants]) > 1_000).all()  # m², not slivers
    # communities no migrant names keep their row, with an empty polygon
    assert shapely.is_empty(geoms[~with_migrants]).all()


def test_cells_of_different_communities_do_not_overlap(table_study: StudyData) -> None:
    geoms = table_study.communities.geometry.to_numpy()
    total = shapely.area(geoms).sum()
    assert shapely.area(shapely.union_all(geoms)) == pytest.approx(total, rel=1e-9)


def test_migrants_lie_in_their_own_community(table_study: StudyData) -> None:
    mig, comm = table_study.migrants, table_study.communities
    own = pd.Index(comm["community_id"]).get_indexer(mig["community_id"])
    assert (own >= 0).all()
    x, y = shapely.get_x(mig.geometry.values), shapely.get_y(mig.geometry.values)
    inside = shapely.intersects_xy(comm.geometry.to_numpy()[own], x, y)
    assert inside.mean() >= 0.95
    assert table_study.quarantined["migrants"] == 0


def test_cells_resemble_the_true_boundaries(
    table_study: StudyData, demo_communities: gpd.GeoDataFrame
) -> None:
    true = demo_communities.to_crs(table_study.crs).geometry.to_numpy()
    cells = table_study.communities.geometry.to_numpy()
    with_migrants = _with_migrants(table_study)
    shared = shapely.area(shapely.intersection(cells, true))[with_migrants]
    assert np.median(shared / shapely.area(true)[with_migrants]) > 0.8


def test_validate_says_the_boundaries_are_approximate(table_project: Path) -> None:
    problems = validate_project(table_project)
    assert not problems.errors, [str(p) for p in problems.errors]
    notes = [p for p in problems if p.rule == "approximate-boundaries"]
    assert len(notes) == 1
    note = notes[0]
    assert note.severity == "warning" and note.file == "communities.csv"
    assert "migrants.csv" in note.hint and "Voronoi" in note.hint
    empty = [p for p in problems if p.rule == "community-without-migrants"]
    assert empty and all(p.file == "communities.csv" and p.row for p in empty)


def test_run_and_write_results(table_study: StudyData, tmp_path: Path) -> None:
    from coverage.engine.run import run_study, write_results
    from coverage.report import build_report

    results = run_study(table_study)
    summary = results.community_summary
    assert summary["boundary_approximate"].all()
    assert len(summary) == len(table_study.communities)
    empty = shapely.is_empty(summary.geometry.to_numpy())
    assert empty.any() and (summary.loc[empty, "migrants"] == 0).all()
    assert (summary.loc[empty, "registered_pop"] > 0).all()  # kept in the totals
    city = results.district_summary.query("level == 'city'").iloc[0]
    assert city["registered_pop"] == table_study.communities["registered_pop"].sum()
    info = dict(zip(results.run_info["key"], results.run_info["value"], strict=True))
    assert info["approximate_boundaries"] == "true"

    gpkg = write_results(results, tmp_path)
    written = pyogrio.read_dataframe(gpkg, layer="community_summary")
    assert written["boundary_approximate"].astype(bool).all()

    layers = results.layers()
    for lang, phrase in (("zh", "社区边界为近似（按居住点生成的泰森多边形）"),
                         ("en", "Community boundaries are approximate (Voronoi cells of "
                                "residences)")):
        report = build_report(layers, project_name="table", lang=lang)
        maps = report.section("maps")
        assert maps.maps and all(phrase in m.note for m in maps.maps)
        assert any(phrase in p for p in maps.paragraphs)
        assert any(phrase in p for p in report.section("methods").paragraphs)


def test_community_map_says_the_boundaries_are_approximate(small_run) -> None:
    from coverage.maps import community_map

    summary = small_run.community_summary
    assert not summary["boundary_approximate"].any()  # real boundaries
    info = dict(zip(small_run.run_info["key"], small_run.run_info["value"], strict=True))
    assert info["approximate_boundaries"] == "false"
    phrase = "社区边界为近似"
    assert phrase not in community_map(summary, tiles=None).get_root().render()
    approx = summary.assign(boundary_approximate=True)
    approx.loc[approx.index[:2], "geometry"] = shapely.Polygon()  # no residences: not drawn
    page = community_map(approx, tiles=None).get_root().render()
    assert page.count(phrase) == 1


def test_migrants_without_community_ids_are_an_error(table_project: Path, tmp_path: Path) -> None:
    folder = shutil.copytree(table_project, tmp_path / "city")
    _edit_migrants(folder, lambda f: f.drop(columns="社区编码"))
    with pytest.raises(ValidationError) as info:
        load_study(folder)
    errors = [p for p in info.value.problems if p.severity == "error"]
    assert [p.rule for p in errors] == ["communities-without-geometry"]
    message = str(info.value)
    assert "communities.csv" in message and "migrants.csv" in message
    assert "社区编码" in message


def test_mostly_empty_community_ids_are_an_error(table_project: Path, tmp_path: Path) -> None:
    folder = shutil.copytree(table_project, tmp_path / "city")

    def blank(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[frame.index[: int(len(frame) * 0.6)], "社区编码"] = ""
        return frame

    _edit_migrants(folder, blank)
    problems = validate_project(folder)
    errors = problems.errors
    assert [p.rule for p in errors] == ["communities-without-geometry"]
    assert "only 8,000 of the 20,000 migrants" in errors[0].hint


def test_a_few_empty_community_ids_are_placed_by_location(
    table_project: Path, tmp_path: Path
) -> None:
    folder = shutil.copytree(table_project, tmp_path / "city")

    def blank(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[frame.index[::10], "社区编码"] = ""
        return frame

    _edit_migrants(folder, blank)
    study = load_study(folder)
    assert study.migrants["community_id"].notna().all()  # assigned from the cells
    note = next(p for p in study.problems if p.rule == "approximate-boundaries")
    assert "(2,000)" in note.hint


def test_unknown_community_ids_stay_errors(table_project: Path, tmp_path: Path) -> None:
    folder = shutil.copytree(table_project, tmp_path / "city")

    def unknown(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[frame.index[:3], "社区编码"] = "999999999999"
        return frame

    _edit_migrants(folder, unknown)
    problems = validate_project(folder)
    assert {p.rule for p in problems.errors} == {"unknown-reference"}
    assert [p.row for p in problems.errors] == [2, 3, 4]
    assert all(p.file == "migrants.csv" for p in problems.errors)


def test_the_app_says_the_boundaries_are_approximate(table_project: Path, tmp_path: Path
                                                     ) -> None:
    import shutil

    from coverage.engine.session import PlanningSession
    from coverage_app.app import CoverageApp

    project = tmp_path / "p"
    shutil.copytree(table_project, project, ignore=shutil.ignore_patterns("results"))
    session = PlanningSession.open(project)
    assert session.approximate_boundaries
    page = CoverageApp(project)
    assert "社区边界为近似" in page.header.object
    page.state.lang = "en"
    assert "Community boundaries are approximate" in page.header.object
