"""The PostGIS store on a throwaway server: every layer of a real run and awkward values read
back exactly (the same frames as the GeoPackage store gives), one transaction per run, tables
that grow with later runs, and one-line errors."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coverage.store import StoreError
from coverage.store import postgis as postgis_module
from coverage.store.base import prepare_run
from coverage.store.gpkg import GeoPackageStore
from coverage.store.migrations import migrate
from coverage.store.postgis import PostGISStore
from exact_frames import assert_identical
from store_samples import awkward_frames, later_run


@pytest.fixture
def store(postgis_url: str) -> Iterator[PostGISStore]:
    """A PostGIS store in a new schema of the session's database, dropped afterwards."""
    import psycopg

    schema = f"t_{secrets.token_hex(4)}"
    migrate(postgis_url, schema)
    yield PostGISStore(postgis_url, schema=schema)
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _rows(store: PostGISStore, table: str) -> int:
    import psycopg

    with psycopg.connect(store._url) as conn:
        return conn.execute(f'SELECT count(*) FROM "{store.schema}"."{table}"').fetchone()[0]


def test_every_layer_of_a_real_run_reads_back_exactly(small_run, store: PostGISStore):
    layers = small_run.layers()
    run_id = store.write_run(layers)
    back = store.read_layers(run_id)
    written = prepare_run(layers)
    assert list(back) == list(written) == list(layers)
    for name, frame in written.items():
        assert_identical(frame, back[name], name)
    assert store.latest_run() == run_id


def test_the_same_run_through_both_stores_gives_identical_frames(small_run, store: PostGISStore,
                                                               tmp_path: Path):
    folder = GeoPackageStore(tmp_path / "results")
    layers = small_run.layers()
    from_gpkg = folder.read_layers(folder.write_run(layers))
    from_postgis = store.read_layers(store.write_run(layers))
    assert list(from_gpkg) == list(from_postgis)
    for name in from_gpkg:
        assert_identical(from_gpkg[name], from_postgis[name], name)
    listed = [s.runs().drop(columns=["run_id", "time"]) for s in (folder, store)]
    pd.testing.assert_frame_equal(*listed)


def test_awkward_values_round_trip_exactly_through_copy(store: PostGISStore, tmp_path: Path):
    frames = awkward_frames(time_unit="us")
    back = store.read_layers(store.write_run(frames))
    for name, frame in frames.items():
        assert_identical(frame, back[name], name)
    floats = back["awkward"]["floats"].to_numpy()
    assert floats[0] == 0.1 + 0.2 and floats[2] == 5e-324 and np.signbit(floats[5])
    # to the millisecond, the same frames come out of both stores
    coarse = awkward_frames(time_unit="ms")
    folder = GeoPackageStore(tmp_path)
    from_gpkg = folder.read_layers(folder.write_run(coarse))
    from_postgis = store.read_layers(store.write_run(coarse))
    for name in coarse:
        assert_identical(from_gpkg[name], from_postgis[name], name)


def test_a_run_failing_midway_leaves_no_trace(small_run, store: PostGISStore):
    layers = small_run.layers()
    first = store.write_run(layers)
    rows = _rows(store, "community_summary")
    broken = dict(later_run(layers))
    # the server refuses a NUL character in text: the run fails in its third layer
    names = list(broken)
    frame = broken[names[2]].copy()
    text_column = next(c for c in frame.columns if str(frame[c].dtype) == "str")
    frame[text_column] = frame[text_column].where(frame.index != 1, "bad\x00text")
    broken[names[2]] = frame
    with pytest.raises(StoreError) as caught:
        store.write_run(broken)
    message = str(caught.value)
    assert f"cannot write layer {names[2]!r}" in message and "\n" not in message
    assert store.name in message
    assert list(store.runs()["run_id"]) == [first]
    assert _rows(store, "community_summary") == rows
    assert_identical(prepare_run(layers)["district_summary"],
                     store.read_layers()["district_summary"])


def test_a_column_that_cannot_be_kept_is_refused_before_writing(store: PostGISStore):
    frame = pd.DataFrame({"x": [1.0, 2.0], "detail": [{"a": 1}, {"b": 2}]})
    with pytest.raises(StoreError, match=r"layer 'bad', column 'detail': object values"):
        store.write_run({"good": pd.DataFrame({"x": [1]}), "bad": frame})
    nanoseconds = pd.DataFrame({"t": pd.to_datetime(["2024-01-01 00:00:00.000000001"])})
    with pytest.raises(StoreError, match="to the microsecond"):
        store.write_run({"t": nanoseconds})
    assert store.runs().empty


def test_readers_see_the_previous_run_until_the_new_one_commits(
        small_run, store: PostGISStore, monkeypatch: pytest.MonkeyPatch):
    layers = small_run.layers()
    first = store.write_run(layers)
    second = later_run(layers)
    paused, resume = threading.Event(), threading.Event()
    real = postgis_module.copy_chunks

    def pausing(frame, spec, run_id, districts):
        for chunk in real(frame, spec, run_id, districts):
            yield chunk
            if "note" in frame.columns:  # mid-run: the later run's district table is sent
                paused.set()
                assert resume.wait(60)

    monkeypatch.setattr(postgis_module, "copy_chunks", pausing)
    outcome: dict[str, object] = {}
    writer = threading.Thread(target=lambda: outcome.setdefault("id", store.write_run(second)))
    writer.start()
    try:
        assert paused.wait(60), "the writer never reached the district table"
        seen: dict[str, object] = {}
        reader = threading.Thread(target=lambda: seen.update(
            latest=store.latest_run(), runs=store.runs(), layers=store.read_layers()))
        reader.start()
        reader.join(30)
        assert not reader.is_alive(), "a reader waited for the writer"
        assert seen["latest"] == first and list(seen["runs"]["run_id"]) == [first]
        assert "extra_layer" not in seen["layers"]
        assert_identical(prepare_run(layers)["district_summary"],
                         seen["layers"]["district_summary"])
    finally:
        resume.set()
        writer.join(60)
    assert store.latest_run() == outcome["id"] != first
    assert_identical(second["district_summary"], store.read_layers()["district_summary"])


def test_tables_grow_with_later_runs(store: PostGISStore):
    a = store.write_run({"t": pd.DataFrame({"x": np.array([1, 2], dtype=np.int64)})})
    b = store.write_run({"t": pd.DataFrame({"y": ["new"], "x": [0.5]}),
                         "u": pd.DataFrame({"z": [True]})})
    c = store.write_run({"t": pd.DataFrame({"x": np.array([3], dtype=np.int64)})})
    assert store.read_layers(a)["t"]["x"].tolist() == [1, 2]
    assert_identical(pd.DataFrame({"y": ["new"], "x": [0.5]}), store.read_layers(b)["t"])
    assert list(store.read_layers(c)["t"].columns) == ["x"]
    assert store.read_layers(c)["t"]["x"].dtype == np.int64
    assert list(store.runs()["layers"]) == [("t", "run_info"), ("t", "u", "run_info"),
                                            ("t", "run_info")]


def test_long_taken_and_reserved_names_are_kept(store: PostGISStore):
    long_name = "流动人口服务覆盖情况按社区汇总的各季度指标与目标及其差距的说明"
    frame = pd.DataFrame({"run_id": ["mine"], "_row": [7], long_name: [1.5],
                          long_name + "二": [2.5]})
    layers = {"runs": frame, long_name: frame, "schema_version": frame}
    back = store.read_layers(store.write_run(layers))
    for name, layer in layers.items():
        assert_identical(layer, back[name], name)


def test_bad_urls_and_unreachable_servers_are_one_line_errors(postgis_url: str, tmp_path: Path):
    with pytest.raises(StoreError, match="not a PostgreSQL URL") as caught:
        PostGISStore("mysql://planner:s3cret-pw@db/coverage")
    assert "s3cret-pw" not in str(caught.value) and "planner:***@db" in str(caught.value)
    for url in (f"postgresql://planner:s3cret-pw@/coverage?host={tmp_path}",
                "postgresql://planner@127.0.0.1:1/coverage?password=s3cret-pw"):
        with pytest.raises(StoreError) as caught:
            PostGISStore(url).runs()
        message = str(caught.value)
        assert "server not reachable" in message, message
        assert "s3cret-pw" not in message and "\n" not in message
    missing = postgis_url.replace("/coverage_test?", "/no_such_database?")
    with pytest.raises(StoreError, match="does not exist"):
        PostGISStore(missing).runs()
    with pytest.raises(StoreError, match=r"not set up; create it with `coverage db init URL "
                                         r"--schema never_made`"):
        PostGISStore(postgis_url, schema="never_made").runs()
    with pytest.raises(StoreError, match="cannot name the store's schema"):
        PostGISStore(postgis_url, schema="Bad-Name")
