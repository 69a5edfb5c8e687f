"""Tests for coverage.engine.session.PlanningSession: one planner's edits on one project.

The project is built once for the module: the two square communities of the tiny project
(``tests/conftest.py``), its two service points, 60 migrants on a regular grid (36 in C1, 24 in
C2) and a street grid of 200 m blocks written straight to a GeoPackage. Its results are
computed once when the first session opens it; every test then works on a fresh session over
those results. Staff totals are worked out by hand: the two service points hold 2.5 and 1
staff, the communities' family-planning staff 1.0 and 0.5, so the city starts at 5.0.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from conftest import LAT0, LON0, PROJECT_TOML, communities, sites_csv
from coverage.engine.scenario import Edit, Scenario
from coverage.engine.session import DEFAULT_NEW_STAFF, PlanningSession
from coverage.engine.workspace import forget
from coverage.network.arrays import great_circle_m

#: Migrants per community, on a grid of columns × rows 0.0016° apart.
GRIDS = {"C1": (LON0, 6, 6), "C2": (LON0 + 0.01, 6, 4)}
N_MIGRANTS = 60
BASE_STAFF = 5.0
#: A position inside C1, between the two service points.
INSIDE = (113.758, 23.025)


def write_migrants(path: Path) -> None:
    rows = ["人员编号,经度,纬度,社区编码"]
    for cid, (lon0, columns, lines) in GRIDS.items():
        for i in range(columns):
            for j in range(lines):
                lon, lat = lon0 + 0.0008 + 0.0016 * i, LAT0 + 0.0011 + 0.0016 * j
                rows.append(f"M{len(rows):03d},{lon:.6f},{lat:.6f},{cid}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def write_streets(path: Path) -> None:
    """A street grid of 0.002° over both communities, as OSMnx's nodes and edges layers."""
    lons = np.round(np.arange(LON0 - 0.002, LON0 + 0.0221, 0.002), 6)
    lats = np.round(np.arange(LAT0 - 0.002, LAT0 + 0.0121, 0.002), 6)
    lon, lat = (a.ravel() for a in np.meshgrid(lons, lats, indexing="ij"))
    ids = np.arange(1, len(lon) + 1).reshape(len(lons), len(lats))
    u = np.r_[ids[:-1, :].ravel(), ids[:, :-1].ravel()]
    v = np.r_[ids[1:, :].ravel(), ids[:, 1:].ravel()]
    ends = np.stack([np.column_stack([lon[u - 1], lat[u - 1]]),
                     np.column_stack([lon[v - 1], lat[v - 1]])], axis=1)
    gpd.GeoDataFrame({"osmid": ids.ravel(), "x": lon, "y": lat},
                     geometry=shapely.points(lon, lat), crs=4326).to_file(
        path, layer="nodes", driver="GPKG")
    gpd.GeoDataFrame(
        {"u": u, "v": v, "key": 0, "highway": "residential", "oneway": False,
         "length": great_circle_m(lon[u - 1], lat[u - 1], lon[v - 1], lat[v - 1])},
        geometry=shapely.linestrings(ends), crs=4326).to_file(
        path, layer="edges", driver="GPKG")


@pytest.fixture(scope="module")
def opened(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlanningSession]:
    """A session opened on the module's project (its results computed and written once)."""
    folder = tmp_path_factory.mktemp("session_project")
    (folder / "project.toml").write_text(PROJECT_TOML, encoding="utf-8")
    write_migrants(folder / "migrants.csv")
    (folder / "sites.csv").write_bytes(sites_csv().encode("gb18030"))
    communities().to_file(folder / "communities.geojson", driver="GeoJSON")
    write_streets(folder / "network.gpkg")
    session = PlanningSession.open(folder)
    yield session
    forget(session.project)


@pytest.fixture
def session(opened: PlanningSession) -> PlanningSession:
    """A fresh session (no edits, nothing remembered) on the same results."""
    return PlanningSession(project=opened.project, layers=opened.layers)


def city(table: pd.DataFrame) -> pd.Series:
    return table[table["level"] == "city"].iloc[0]


def test_opening_gives_the_results_and_an_empty_scenario(opened: PlanningSession) -> None:
    assert opened.edits == [] and opened.scenarios == {}
    assert {"community_summary", "district_summary", "indicators", "run_info"} <= set(
        opened.layers)
    assert (opened.project.output_dir / "results.gpkg").exists()
    assert opened.thresholds == (5.0, 10.0, 15.0)
    assert opened.coverage_key() == "coverage_15min_migrant"
    assert opened.coverage_key(10) == "coverage_10min_migrant"
    assert not opened.approximate_boundaries
    assert opened.skipped["inflow_trends"] == "no-arrival-dates"  # no arrival dates given
    table = opened.evaluate()
    assert city(table)["migrants"] == N_MIGRANTS
    assert city(table)["staff"] == pytest.approx(BASE_STAFF)
    by_community = table[table["level"] == "community"].set_index("unit")["migrants"]
    assert by_community.to_dict() == {"C1": 36, "C2": 24}
    pd.testing.assert_frame_equal(table, opened.model.evaluate())


def test_adding_a_point(session: PlanningSession) -> None:
    before = city(session.evaluate())
    edit = session.add_site(*INSIDE)
    assert session.edits == [edit]
    assert edit.action == "add" and edit.staff == DEFAULT_NEW_STAFF
    assert edit.site_id.startswith("new-")
    assert edit.site_id not in session.model.baseline.sites.index
    sites = session.sites()
    assert len(sites) == 3
    assert sites.loc[sites["site_id"] == edit.site_id, "added"].item()
    assert sites["added"].sum() == 1
    after = city(session.evaluate())
    assert after["staff"] == pytest.approx(BASE_STAFF + DEFAULT_NEW_STAFF)
    for minutes in session.thresholds:  # a new point never takes coverage away
        column = session.coverage_key(minutes)
        assert after[column] >= before[column]
    second = session.add_site(*INSIDE, staff=1.0, name="东城新站")
    assert second.site_id != edit.site_id
    assert city(session.evaluate())["staff"] == pytest.approx(BASE_STAFF + 3.0)


def test_closing_restaffing_and_moving(session: PlanningSession) -> None:
    session.set_staff("S1", 4.0)
    assert city(session.evaluate())["staff"] == pytest.approx(BASE_STAFF - 2.5 + 4.0)
    session.move_site("S2", *INSIDE)
    moved = session.sites().set_index("site_id")
    assert moved.loc["S2", "staff"] == 1.0  # a move keeps the staff
    x, y = pyproj.Transformer.from_crs(4326, session.model.study.crs,
                                       always_xy=True).transform(*INSIDE)
    assert moved.loc["S2"].geometry.distance(shapely.Point(x, y)) < 1e-6
    session.remove_site("S1")
    session.remove_site("S2")
    assert [e.action for e in session.edits] == ["set_staff", "move", "close", "close"]
    empty = city(session.evaluate())
    # No service point left: only the communities' family-planning staff, nobody covered.
    assert empty["staff"] == pytest.approx(1.5)
    for minutes in session.thresholds:
        assert empty[session.coverage_key(minutes)] == 0.0
    assert len(session.sites()) == 0


def test_removing_an_added_point_drops_its_edits(session: PlanningSession) -> None:
    added = session.add_site(*INSIDE)
    session.move_site(added.site_id, 113.765, 23.022)
    session.set_staff("S1", 3.0)
    session.remove_site(added.site_id)
    assert [(e.action, e.site_id) for e in session.edits] == [("set_staff", "S1")]
    assert len(session.sites()) == 2


def test_edits_are_the_same_as_computing_from_scratch(session: PlanningSession) -> None:
    session.add_site(*INSIDE, staff=3.0)
    session.set_staff("S1", 1.0)
    session.remove_site("S2")
    session.move_site("S1", 113.766, 23.027)
    pd.testing.assert_frame_equal(session.evaluate(), session.model.full(session.edits),
                                  check_exact=False, atol=1e-9)
    pd.testing.assert_frame_equal(session.evaluate(),
                                  session.model.evaluate(list(session.edits)))


def test_undo_goes_back_one_edit(session: PlanningSession) -> None:
    session.undo()  # nothing to undo: no error
    baseline = session.evaluate()
    session.set_staff("S2", 6.0)
    restaffed = session.evaluate()
    session.remove_site("S1")
    session.undo()
    pd.testing.assert_frame_equal(session.evaluate(), restaffed)
    session.undo()
    assert session.edits == []
    pd.testing.assert_frame_equal(session.evaluate(), baseline)


def test_refused_edits_say_why_and_change_nothing(session: PlanningSession) -> None:
    session.set_staff("S1", 3.0)
    kept = list(session.edits)
    with pytest.raises(ValueError, match="outside the study area"):
        session.add_site(114.5, 23.02)  # 75 km east
    with pytest.raises(ValueError, match="field 'staff'"):
        session.add_site(*INSIDE, staff=-1.0)
    with pytest.raises(ValueError, match="no service point with this site_id"):
        session.move_site("S9", *INSIDE)
    with pytest.raises(ValueError, match="'S9'"):
        session.set_staff("S9", 1.0)
    with pytest.raises(ValueError, match="no service point"):
        session.remove_site("S9")
    with pytest.raises(ValueError, match="no service point"):
        session.apply([Edit("set_staff", "S2", staff=2.0), Edit("close", "S9")])
    assert session.edits == kept
    assert city(session.evaluate())["staff"] == pytest.approx(BASE_STAFF + 0.5)


def test_a_recommendation_is_applied_as_its_edits(session: PlanningSession) -> None:
    rec = session.recommend(new_sites=1, new_staff=0)
    assert session.edits == []  # recommending applies nothing
    edits = list(rec.scenario.edits)
    assert [e.action for e in edits] == ["add"]
    session.apply(edits)
    assert session.edits == edits
    assert city(session.evaluate())["staff"] == pytest.approx(BASE_STAFF + edits[0].staff)
    assert set(session.sites()["site_id"]) == {"S1", "S2", edits[0].site_id}
    # A click then adds a point whose id does not clash with the recommendation's.
    assert session.add_site(*INSIDE).site_id not in {"S1", "S2", edits[0].site_id}


def test_saved_scenarios_compare_and_load(session: PlanningSession) -> None:
    session.set_staff("S1", 4.5)
    saved = session.save("more staff")
    assert session.scenarios == {"more staff": saved}
    assert saved.edits == session.edits and saved.edits is not session.edits
    assert saved.inputs == session.model.inputs
    session.undo()
    session.remove_site("S2")
    table = session.comparison()
    assert list(table.columns) == ["baseline", "more staff", "current"]
    assert table.loc["staff"].astype(float).tolist() == pytest.approx(
        [BASE_STAFF, BASE_STAFF + 2.0, BASE_STAFF - 1.0])
    session.load(saved)
    assert session.edits == saved.edits and session.edits is not saved.edits
    bad = Scenario("broken", [Edit("close", "S9")])
    with pytest.raises(ValueError, match="no service point"):
        session.load(bad)
    assert session.edits == saved.edits and "broken" not in session.scenarios


def test_published_tables_hide_small_counts(session: PlanningSession) -> None:
    districts, comms = session.published()
    assert isinstance(comms, gpd.GeoDataFrame) and len(comms) == 2
    assert comms.set_index("community_id")["migrants"].to_dict() == {"C1": 36, "C2": 24}
    assert city(districts)["migrants"] == N_MIGRANTS
    for frame in (districts, comms):
        counts = pd.to_numeric(frame["migrants"], errors="coerce").dropna()
        assert ((counts == 0) | (counts >= session.min_cell)).all()
    # In every unit fewer than min_cell migrants are within 5 minutes of a service point: a
    # count that small is hidden, and so is every share it could be worked out from.
    exact = session.evaluate()
    assert (exact["coverage_5min_migrant"] * exact["migrants"]).max() < session.min_cell
    assert districts["coverage_5min_migrant"].isna().all()
    assert comms["coverage_5min_migrant"].isna().all()
    # What is shown is the exact figure.
    shown = comms.set_index("community_id")["coverage_15min_registered"].astype(float)
    want = exact[exact["level"] == "community"].set_index("unit")["coverage_15min_registered"]
    np.testing.assert_allclose(shown.to_numpy(), want.loc[shown.index].to_numpy())


def test_the_baseline_is_published_alike_from_the_results_and_the_model(
    session: PlanningSession
) -> None:
    saved, saved_comms = session.baseline_published()
    model, model_comms = session.published([])
    columns = ["level", "district", "migrants", "registered_pop", "staff", "staff_shortfall",
               "coverage_15min_migrant", "coverage_15min_registered"]
    pd.testing.assert_frame_equal(saved[columns].reset_index(drop=True),
                                  model[columns].reset_index(drop=True), check_dtype=False)
    columns = [*columns[2:], "e2sfca_mean_migrant", "e2sfca_mean_registered"]
    pd.testing.assert_frame_equal(
        saved_comms.set_index("community_id")[columns].sort_index(),
        model_comms.set_index("community_id")[columns].sort_index(), check_dtype=False)
    session.set_staff("S1", 10.0)
    assert city(session.published()[0])["staff"] == pytest.approx(BASE_STAFF + 7.5)
    assert city(session.baseline_published()[0])["staff"] == pytest.approx(BASE_STAFF)


def test_density_hexagons_hide_small_counts(
    session: PlanningSession
) -> None:
    migrants = session.model.study.migrants
    for edge_m in (300.0, 1000.0):
        hexes = session.density(edge_m)
        raw = np.array([shapely.contains_xy(h, migrants.geometry.x, migrants.geometry.y).sum()
                        for h in hexes.geometry])
        assert raw.sum() == N_MIGRANTS and (raw > 0).all()
        shown = hexes["migrants"].to_numpy(dtype=float, na_value=np.nan)
        hidden = np.isnan(shown)
        np.testing.assert_array_equal(shown[~hidden], raw[~hidden])
        assert hidden[raw < session.min_cell].all()
        # One hidden count could be worked out from the others and the total: never alone,
        # and together at least min_cell.
        assert hidden.sum() != 1
        assert not hidden.any() or raw[hidden].sum() >= session.min_cell
    assert session.density(300.0)["migrants"].isna().all()  # 300 m hexagons: all small
    assert session.density(1000.0) is session.density(1000.0)


def test_views_are_remembered_per_scenario_and_not_shared(session: PlanningSession) -> None:
    first = session.evaluate()
    first.loc[:, "staff"] = -1.0  # a caller's change does not reach the next caller
    assert city(session.evaluate())["staff"] == pytest.approx(BASE_STAFF)
    assert session.sites() is session.sites()
    baseline_sites = session.sites()
    session.add_site(*INSIDE)
    assert session.sites() is not baseline_sites
    assert len(session.sites([])) == 2


def test_shared_sessions_share_the_results_but_not_the_edits(opened: PlanningSession) -> None:
    a = PlanningSession.open(opened.project, shared=True)
    b = PlanningSession.open(opened.project, shared=True)
    assert a.shared and b.shared
    assert a.layers["community_summary"] is b.layers["community_summary"]
    assert a.model is b.model is opened.model
    calls: list[str] = []

    def compute() -> object:
        calls.append("computed")
        return object()

    assert a.cached("outline", compute) is b.cached("outline", compute)
    assert calls == ["computed"]
    assert a.indicators() is b.indicators()
    own = PlanningSession(project=opened.project, layers=opened.layers)
    assert own.cached("outline", compute) is not a.cached("outline", compute)
    assert calls == ["computed", "computed"]
    a.set_staff("S1", 9.0)
    assert b.edits == []
    assert city(b.evaluate())["staff"] == pytest.approx(BASE_STAFF)
    assert city(a.evaluate())["staff"] == pytest.approx(BASE_STAFF + 6.5)


def test_report_layers_carry_the_current_scenario(session: PlanningSession) -> None:
    plain = session.report_layers()
    assert "recommended_sites" not in plain and "recommended_staff" not in plain
    assert "scenario_comparison" in plain
    added = session.add_site(*INSIDE, staff=3.0, name="新站")
    layers = session.report_layers()
    new = layers["recommended_sites"]
    assert new["candidate_id"].tolist() == [added.site_id]
    assert new["staff"].tolist() == [3.0]
    assert new["source"].tolist() == ["scenario"]
