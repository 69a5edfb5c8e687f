"""The GeoPackage folder store: each run kept whole in ``runs/`` and read back exactly, while
``results.gpkg`` and the CSVs stay the latest run, as users have always had them."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from coverage import __version__
from coverage.engine.run import write_results
from coverage.store import StoreError
from coverage.store.base import check_run_id, new_run_id, prepare_run
from coverage.store.gpkg import GeoPackageStore
from exact_frames import assert_identical
from store_samples import awkward_frames, later_run


def test_every_layer_of_a_real_run_reads_back_exactly(small_run, tmp_path: Path):
    store = GeoPackageStore(tmp_path / "results")
    layers = small_run.layers()
    run_id = store.write_run(layers)
    back = store.read_layers(run_id)
    written = prepare_run(layers)
    assert list(back) == list(written) == list(layers)
    for name, frame in written.items():
        assert_identical(frame, back[name], name)
    # the folder's latest results are that run, as a user finds them
    assert (store.folder / "results.gpkg").read_bytes() == store.run_file(run_id).read_bytes()
    assert sorted(n for n, _ in pyogrio.list_layers(store.results)) == sorted(layers)
    for name, frame in layers.items():
        csv = pd.read_csv(store.folder / f"{name}.csv", encoding="utf-8-sig")
        assert len(csv) == len(frame), name


def test_awkward_values_read_back_exactly(tmp_path: Path):
    store = GeoPackageStore(tmp_path)
    frames = awkward_frames(time_unit="ms")
    back = store.read_layers(store.write_run(frames))
    for name, frame in frames.items():
        assert_identical(frame, back[name], name)


def test_runs_are_listed_in_order_and_each_stays_readable(small_run, tmp_path: Path):
    store = GeoPackageStore(tmp_path / "results")
    first = small_run.layers()
    second = later_run(first)
    a = store.write_run(first)
    b = store.write_run(second)
    assert a < b and store.latest_run() == b
    runs = store.runs()
    assert list(runs["run_id"]) == [a, b]
    assert runs["time"].is_monotonic_increasing and str(runs["time"].dtype) == "datetime64[us, UTC]"
    assert list(runs["mode"]) == ["walk", "ebike"]
    assert list(runs["project"]) == [small_run.study.project.name] * 2
    assert list(runs["code_version"]) == [__version__] * 2
    info = first["run_info"]
    hashes = {k.split(":", 1)[1]: v for k, v in zip(info["key"], info["value"], strict=True)
              if k.startswith("input_sha256:")}
    assert runs["input_sha256"].iloc[0] == hashes and hashes
    assert runs["layers"].iloc[1] == tuple(second)
    for run_id, layers in ((a, first), (b, second)):
        back = store.read_layers(run_id, names=["district_summary", "run_info"])
        assert list(back) == ["district_summary", "run_info"]
        assert_identical(layers["district_summary"], back["district_summary"], run_id)
    assert_identical(second["extra_layer"], store.read_layers()["extra_layer"], "latest")
    latest = pyogrio.read_dataframe(store.results, layer="district_summary")
    assert latest["staff"].tolist() == second["district_summary"]["staff"].tolist()


def test_history_files_are_owner_only(small_run, tmp_path: Path):
    old = os.umask(0o022)
    try:
        store = GeoPackageStore(tmp_path / "results")
        run_id = store.write_run(small_run.layers())
    finally:
        os.umask(old)
    assert stat.S_IMODE(store.history.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.run_file(run_id).stat().st_mode) == 0o600
    assert stat.S_IMODE(store.results.stat().st_mode) == 0o644


def test_a_run_failing_midway_leaves_the_previous_run_whole(small_run, tmp_path: Path):
    store = GeoPackageStore(tmp_path / "results")
    layers = small_run.layers()
    first = store.write_run(layers)
    before = store.results.read_bytes()
    broken = dict(later_run(layers))
    # a column of mappings: the GeoPackage is half written when its CSV copy fails
    broken["district_summary"] = broken["district_summary"].assign(
        detail=[{"a": 1}] * len(broken["district_summary"]))
    with pytest.raises(Exception, match="struct"):
        store.write_run(broken)
    assert list(store.runs()["run_id"]) == [first]
    assert store.results.read_bytes() == before
    assert not list(store.folder.glob(".partial-*")) and not list(store.history.glob(".partial-*"))
    assert_identical(prepare_run(layers)["district_summary"],
                     store.read_layers()["district_summary"])


def test_write_results_keeps_every_run(small_run, tmp_path: Path):
    folder = tmp_path / "results"
    write_results(small_run, folder)
    write_results(small_run, folder)
    runs = GeoPackageStore(folder).runs()
    assert len(runs) == 2 and runs["run_id"].is_unique
    assert list(runs["layers"]) == [tuple(small_run.layers())] * 2


def test_run_ids_sort_by_time_even_when_the_clock_goes_back():
    future = "29991231T235959.999999Z-ffff"
    later = new_run_id(after=future)
    assert later > future and check_run_id(later) == later
    ids = [new_run_id() for _ in range(50)]
    assert len(set(ids)) == 50 and ids == sorted(ids)


@pytest.mark.parametrize("run_id", ["../../etc/passwd", "20250101T000000.000000Z-zzzz", ""])
def test_a_bad_or_unknown_run_is_a_one_line_error(tmp_path: Path, run_id: str):
    store = GeoPackageStore(tmp_path)
    with pytest.raises(StoreError, match="no run kept yet"):
        store.read_layers()
    with pytest.raises(StoreError) as caught:
        store.read_layers(run_id)
    assert "\n" not in str(caught.value) and str(tmp_path) in str(caught.value)
    with pytest.raises(StoreError, match=r"no run 20250101T000000\.000000Z-0000"):
        store.read_layers("20250101T000000.000000Z-0000")


def test_an_unknown_layer_is_a_one_line_error(tmp_path: Path):
    store = GeoPackageStore(tmp_path)
    run_id = store.write_run({"t": pd.DataFrame({"x": [1]})})
    with pytest.raises(StoreError, match="holds no layer 'missing'"):
        store.read_layers(run_id, names=["t", "missing"])
