"""Saved scenarios shared through the store, in both stores: two planners saving the same
scenario never lose an update (the second is refused with who saved which version when),
threads racing saves with retries keep every save, deletes are checked alike, names are data
(never file paths), and the folder's scenario file is owner-only."""

from __future__ import annotations

import json
import secrets
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from coverage.store import ScenarioConflict, Store, StoreError
from coverage.store.base import MAX_SCENARIO_NAME, SCENARIO_COLUMNS
from coverage.store.gpkg import GeoPackageStore
from coverage.store.migrations import migrate
from coverage.store.postgis import PostGISStore
from coverage.store.scenario_file import SCENARIO_FILE


@pytest.fixture(params=["gpkg", "postgis"])
def planners(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """Two store objects on the same project's store, as two planners' would be."""
    if request.param == "gpkg":
        folder = tmp_path / "results"
        yield GeoPackageStore(folder), GeoPackageStore(folder)
        return
    import psycopg

    url = request.getfixturevalue("postgis_url")
    schema = f"s_{secrets.token_hex(4)}"
    migrate(url, schema)
    yield PostGISStore(url, schema=schema), PostGISStore(url, schema=schema)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _scenario(name: str, *sites: str) -> str:
    """A scenario's JSON text adding the service points ``sites``."""
    return json.dumps({"version": 1, "name": name, "inputs": {}, "edits": [
        {"action": "add", "site_id": s, "lon": 113.75, "lat": 23.02, "staff": 2.0}
        for s in sites]}, ensure_ascii=False)


def test_the_second_of_two_planners_is_refused_and_nothing_is_lost(planners):
    li, wang = planners
    assert li.scenarios().empty and list(li.scenarios().columns) == list(SCENARIO_COLUMNS)
    assert li.save_scenario("东城 A", _scenario("东城 A"), expected_version=None,
                            saved_by="li", inputs="abc123") == 1
    # both load version 1
    (text_li, v_li), (text_wang, v_wang) = (p.read_scenario("东城 A") for p in planners)
    assert v_li == v_wang == 1 and text_li == text_wang == _scenario("东城 A")
    mine, theirs = _scenario("东城 A", "new-1"), _scenario("东城 A", "new-2")
    before = pd.Timestamp.now(tz="UTC").floor("s")
    assert li.save_scenario("东城 A", mine, expected_version=v_li, saved_by="li") == 2
    with pytest.raises(ScenarioConflict) as caught:
        wang.save_scenario("东城 A", theirs, expected_version=v_wang, saved_by="wang")
    message = str(caught.value)
    assert "\n" not in message and message.startswith(li.name)
    assert "'东城 A' was saved by li as version 2 at " in message
    assert "after you loaded version 1" in message and "reload it" in message
    assert "another name" in message
    conflict = caught.value
    assert (conflict.current, conflict.expected, conflict.saved_by) == (2, 1, "li")
    assert before <= conflict.saved_at <= pd.Timestamp.now(tz="UTC")
    assert conflict.saved_at.strftime("%Y-%m-%d %H:%M:%S UTC") in message
    # the store holds the first planner's save, for both
    for planner in planners:
        assert planner.read_scenario("东城 A") == (mine, 2)
    listed = wang.scenarios()
    assert listed["name"].tolist() == ["东城 A"] and listed["version"].tolist() == [2]
    assert listed["saved_by"].tolist() == ["li"] and listed["inputs"].tolist() == [""]
    assert str(listed["saved_at"].dtype) == "datetime64[us, UTC]"
    assert listed["saved_at"].iloc[0] == conflict.saved_at
    # the second planner reloads and saves on version 2: kept as version 3
    _, version = wang.read_scenario("东城 A")
    assert wang.save_scenario("东城 A", theirs, expected_version=version,
                              saved_by="wang") == 3
    assert li.read_scenario("东城 A") == (theirs, 3)


def test_a_new_name_that_exists_is_refused(planners):
    li, wang = planners
    li.save_scenario("A", _scenario("A", "x"), expected_version=None, saved_by="li")
    with pytest.raises(ScenarioConflict, match=r"'A' exists already \(version 1, saved by li "
                                               r"at .* UTC\); yours was not saved: load it"):
        wang.save_scenario("A", _scenario("A", "y"), expected_version=None, saved_by="wang")
    assert wang.read_scenario("A") == (_scenario("A", "x"), 1)
    # another name is a scenario of its own
    assert wang.save_scenario("A (wang)", _scenario("A", "y"), expected_version=None) == 1
    assert li.scenarios()["name"].tolist() == ["A", "A (wang)"]
    assert li.scenarios()["saved_by"].iloc[1]  # the store's user when none is given


def test_threads_racing_saves_lose_no_update(planners):
    """2 threads × 20 saves, each adding its mark to what it read, retrying on conflict."""
    planners[0].save_scenario("race", json.dumps([]), expected_version=None)
    saved, conflicts, errors = [0, 0], [0, 0], []

    def planner(i: int) -> None:
        store = planners[i]
        try:
            for n in range(20):
                while True:
                    text, version = store.read_scenario("race")
                    marks = [*json.loads(text), f"{i}-{n}"]
                    try:
                        store.save_scenario("race", json.dumps(marks),
                                            expected_version=version, saved_by=f"p{i}")
                    except ScenarioConflict:
                        conflicts[i] += 1
                        continue
                    saved[i] += 1
                    break
        except Exception as exc:  # told by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=planner, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and saved == [20, 20]
    text, version = planners[1].read_scenario("race")
    assert version == 1 + sum(saved)  # every successful save made one version
    marks = json.loads(text)
    assert sorted(marks) == sorted(f"{i}-{n}" for i in (0, 1) for n in range(20))
    print(f"\n{sum(saved)} saves, {sum(conflicts)} conflicts retried")


def test_a_delete_is_checked_like_a_save(planners):
    li, wang = planners
    li.save_scenario("B", _scenario("B"), expected_version=None, saved_by="li")
    li.save_scenario("B", _scenario("B", "x"), expected_version=1, saved_by="li")
    with pytest.raises(ScenarioConflict, match=r"saved by li as version 2 .* nothing was "
                                               r"deleted"):
        wang.delete_scenario("B", 1)
    wang.delete_scenario("B", 2)
    assert li.scenarios().empty
    with pytest.raises(StoreError, match="no saved scenario named 'B'"):
        li.read_scenario("B")
    with pytest.raises(ScenarioConflict, match="'B' was deleted after you loaded version 2"):
        li.save_scenario("B", _scenario("B", "y"), expected_version=2)
    assert li.save_scenario("B", _scenario("B", "y"), expected_version=None) == 1


def test_names_are_data_and_bad_names_are_refused(planners, tmp_path: Path):
    li, _ = planners
    names = ["../../escape", "/etc/passwd", "x'; DROP TABLE scenarios; --", "C:\\tmp\\a.json",
             "东城\u3000方案", "名" * MAX_SCENARIO_NAME]
    for name in names:
        assert li.save_scenario(name, _scenario(name), expected_version=None) == 1
    assert sorted(li.scenarios()["name"]) == sorted(names)
    assert all(li.read_scenario(name) == (_scenario(name), 1) for name in names)
    for bad in ["", " A", "A ", "a\nb", "tab\there", "nul\x00", "bidi\u202e", "line\u2028",
                "名" * (MAX_SCENARIO_NAME + 1), None]:
        with pytest.raises(StoreError, match="scenario"):
            li.save_scenario(bad, "{}", expected_version=None)
    with pytest.raises(StoreError, match="at most 1,000,000 bytes"):
        li.save_scenario("big", "x" * 1_000_001, expected_version=None)
    assert len(li.scenarios()) == len(names)
    if isinstance(li, GeoPackageStore):
        found = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
        assert found == ["results", f"results/{SCENARIO_FILE}"]
        assert stat.S_IMODE((li.folder / SCENARIO_FILE).stat().st_mode) == 0o600


@pytest.mark.parametrize("planners", ["postgis"], indirect=True)
def test_a_district_log_in_gets_no_scenarios_and_the_city_saves(planners):
    """PostGIS: the city's and the writers' roles use the scenarios; a district's has none."""
    li, _ = planners
    import psycopg

    li.save_scenario("C", _scenario("C"), expected_version=None)
    password = secrets.token_hex(8)
    roles = {kind: f"{kind}_{secrets.token_hex(3)}" for kind in ("city", "district")}
    with psycopg.connect(li._url, autocommit=True) as conn:
        for kind, role in roles.items():
            conn.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}' "
                         f'IN ROLE "{li.schema}_{kind}"')
    base = li._url.replace("user=postgres", "user={}") + f"&password={password}"
    try:
        city = PostGISStore(base.format(roles["city"]), schema=li.schema)
        assert city.read_scenario("C") == (_scenario("C"), 1)
        assert city.save_scenario("C", _scenario("C", "x"), expected_version=1) == 2
        assert city.scenarios()["saved_by"].tolist() == [roles["city"]]  # current_user
        district = PostGISStore(base.format(roles["district"]), schema=li.schema)
        for attempt in (district.scenarios, lambda: district.read_scenario("C"),
                        lambda: district.save_scenario("D", "{}", expected_version=None)):
            with pytest.raises(StoreError, match="permission denied"):
                attempt()
    finally:
        with psycopg.connect(li._url, autocommit=True) as conn:
            for role in roles.values():
                conn.execute(f'DROP ROLE "{role}"')
    assert li.read_scenario("C") == (_scenario("C", "x"), 2)
