"""Tests for coverage.network.cache: the on-disk cache of parsed road networks.

A three-node road file is written as an OSMnx-style GeoPackage in each test's folder; the tests
check what the cache promises: its key follows the file's bytes and the travel mode (not the
speed), a hit gives back the same arrays, a damaged entry is parsed again rather than trusted,
entries are written whole and owner-only, and a cache that cannot be written only costs time.
"""

from __future__ import annotations

import hashlib
import stat
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from coverage.network import RoadNetwork
from coverage.network import cache as cachemod
from coverage.network.arrays import ARRAY_FIELDS, NetworkArrays, great_circle_m

LON = [113.750, 113.751, 113.752]
LAT = 23.02


def write_roads(path: Path, ids: list | None = None, *, lat: float = LAT) -> Path:
    """Write two roads in a row (three nodes) as ``nodes`` and ``edges`` layers."""
    ids = ids or [1, 2, 3]
    lats = [lat] * 3
    nodes = gpd.GeoDataFrame({"osmid": ids, "x": LON, "y": lats},
                             geometry=shapely.points(LON, lats), crs=4326)
    length = great_circle_m(np.array(LON[:2]), np.array(lats[:2]), np.array(LON[1:]),
                            np.array(lats[1:]))
    edges = gpd.GeoDataFrame(
        {"u": ids[:2], "v": ids[1:], "key": [0, 0], "length": length,
         "highway": ["residential", "residential"], "oneway": [False, False]},
        geometry=[shapely.LineString([(LON[k], lat), (LON[k + 1], lat)]) for k in (0, 1)],
        crs=4326)
    nodes.to_file(path, layer="nodes", driver="GPKG")
    edges.to_file(path, layer="edges", driver="GPKG")
    return path


@pytest.fixture
def roads(tmp_path: Path) -> Path:
    return write_roads(tmp_path / "roads.gpkg")


def arrays(source: str = "made here") -> NetworkArrays:
    """Arrays of one road between two nodes, written by hand."""
    return NetworkArrays(
        node_ids=np.array([10, 20], dtype=np.int64), lon=np.array(LON[:2]),
        lat=np.array([LAT, LAT]), link_a=np.array([0]), link_b=np.array([1]),
        length=np.array([102.5]), forward=np.array([True]), backward=np.array([False]),
        offsets=np.array([0, 2]), vertex_lon=np.array(LON[:2]),
        vertex_lat=np.array([LAT, LAT]), source=source)


def test_the_folder_is_the_argument_then_the_environment_then_the_user_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COVERAGE_CACHE_DIR", str(tmp_path / "env"))
    assert cachemod.cache_dir(tmp_path / "arg") == tmp_path / "arg"
    assert cachemod.cache_dir() == tmp_path / "env"
    monkeypatch.delenv("COVERAGE_CACHE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cachemod.cache_dir() == tmp_path / "home" / ".cache" / "coverage-planner" / "networks"


def test_the_file_hash_is_that_of_its_bytes_and_follows_a_rewrite(roads: Path) -> None:
    assert cachemod.file_sha256(roads) == hashlib.sha256(roads.read_bytes()).hexdigest()
    copy = roads.with_name("copy.osm")
    copy.write_bytes(b"<osm>one</osm>")
    first = cachemod.file_sha256(copy)
    copy.write_bytes(b"<osm>two, longer</osm>")
    assert cachemod.file_sha256(copy) == hashlib.sha256(b"<osm>two, longer</osm>").hexdigest()
    assert cachemod.file_sha256(copy) != first


def test_the_key_follows_the_bytes_and_the_mode(tmp_path: Path, roads: Path) -> None:
    entry = cachemod.cache_path(roads, "walk", cache_dir_=tmp_path / "c")
    sha = hashlib.sha256(roads.read_bytes()).hexdigest()
    assert entry == tmp_path / "c" / f"roads-{sha[:24]}-walk-v{cachemod.FORMAT_VERSION}.npz"
    assert cachemod.cache_path(roads, "ebike", cache_dir_=tmp_path / "c") != entry
    # Another file with other roads gets another entry; the same bytes under the same name
    # in another folder share one.
    (tmp_path / "elsewhere").mkdir()
    other = write_roads(tmp_path / "elsewhere" / "roads.gpkg", lat=LAT + 0.001)
    assert cachemod.cache_path(other, "walk", cache_dir_=tmp_path / "c") != entry
    twin = tmp_path / "twin"
    twin.mkdir()
    (twin / "roads.gpkg").write_bytes(roads.read_bytes())
    assert cachemod.cache_path(twin / "roads.gpkg", "walk", cache_dir_=tmp_path / "c") == entry
    # A name without a stem is still a usable file name.
    hidden = cachemod.cache_path(tmp_path / ".osm", "walk", sha256="ab" * 32)
    assert hidden.name.startswith("network-abab")


def test_a_hit_gives_the_same_arrays(tmp_path: Path, roads: Path) -> None:
    first = RoadNetwork.from_file(roads, cache_dir=tmp_path / "c")
    second = RoadNetwork.from_file(roads, cache_dir=tmp_path / "c")
    assert not first.load_info["from_cache"]
    assert second.load_info["from_cache"]
    assert second.load_info["cache_file"] == first.load_info["cache_file"]
    for name in ARRAY_FIELDS:
        got, want = getattr(second.arrays, name), getattr(first.arrays, name)
        np.testing.assert_array_equal(got, want, err_msg=name)
        assert got.dtype == want.dtype, name
    assert second.arrays.source == str(roads)


def test_speed_and_snap_limit_are_not_part_of_the_key(tmp_path: Path, roads: Path) -> None:
    slow = RoadNetwork.from_file(roads, cache_dir=tmp_path, speed_kmh=3.0)
    fast = RoadNetwork.from_file(roads, cache_dir=tmp_path, speed_kmh=6.0, max_snap_m=200.0)
    assert fast.load_info["from_cache"] and not slow.load_info["from_cache"]
    assert len(list(tmp_path.glob("*.npz"))) == 1
    # The snapping grid depends on the snap limit: one side folder per limit.
    assert len(list(tmp_path.glob("*-grid*"))) == 2
    ebike = RoadNetwork.from_file(roads, cache_dir=tmp_path, mode="ebike")
    assert not ebike.load_info["from_cache"]
    assert len(list(tmp_path.glob("*.npz"))) == 2


def test_a_changed_road_file_is_parsed_again(tmp_path: Path, roads: Path) -> None:
    before = RoadNetwork.from_file(roads, cache_dir=tmp_path / "c")
    write_roads(roads, lat=LAT + 0.001)
    after = RoadNetwork.from_file(roads, cache_dir=tmp_path / "c")
    assert not after.load_info["from_cache"]
    assert after.load_info["cache_file"] != before.load_info["cache_file"]
    np.testing.assert_allclose(after.arrays.lat, LAT + 0.001)


@pytest.mark.parametrize("damage", ["garbage", "missing array"])
def test_a_damaged_entry_is_parsed_again_and_replaced(tmp_path: Path, roads: Path,
                                                     damage: str) -> None:
    first = RoadNetwork.from_file(roads, cache_dir=tmp_path)
    entry = Path(first.load_info["cache_file"])
    whole = entry.read_bytes()
    if damage == "garbage":
        entry.write_bytes(b"not a cache entry")
    else:
        kept = {k: v for k, v in first.arrays.to_dict().items() if k != "length"}
        with entry.open("wb") as handle:
            np.savez(handle, **kept)
    assert cachemod.load(entry, source="x") is None
    again = RoadNetwork.from_file(roads, cache_dir=tmp_path)
    assert not again.load_info["from_cache"]
    np.testing.assert_array_equal(again.arrays.length, first.arrays.length)
    assert entry.read_bytes() == whole  # written again, whole
    assert RoadNetwork.from_file(roads, cache_dir=tmp_path).load_info["from_cache"]


def test_a_truncated_entry_is_parsed_again(tmp_path: Path, roads: Path) -> None:
    first = RoadNetwork.from_file(roads, cache_dir=tmp_path)
    entry = Path(first.load_info["cache_file"])
    whole = entry.read_bytes()
    entry.write_bytes(whole[: len(whole) // 2])  # e.g. copied from a full disk
    again = RoadNetwork.from_file(roads, cache_dir=tmp_path)
    assert not again.load_info["from_cache"]
    assert entry.read_bytes() == whole


def test_a_missing_entry_loads_as_none(tmp_path: Path) -> None:
    assert cachemod.load(tmp_path / "absent.npz", source="x") is None
    assert cachemod.load_grid(tmp_path / "absent-grid") is None


def test_entries_are_owner_only_and_written_whole(tmp_path: Path) -> None:
    folder = tmp_path / "new"
    entry = folder / "roads-abc-walk-v1.npz"
    assert cachemod.save(entry, arrays())
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert [p.name for p in folder.iterdir()] == [entry.name]  # no temporary file left
    # Saved again over itself: replaced in one step, still one file, still owner-only.
    assert cachemod.save(entry, arrays())
    assert [p.name for p in folder.iterdir()] == [entry.name]
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    loaded = cachemod.load(entry, source="elsewhere")
    assert loaded is not None and loaded.source == "elsewhere"
    np.testing.assert_array_equal(loaded.backward, [False])


def test_a_cache_that_cannot_be_written_only_costs_time(tmp_path: Path, roads: Path) -> None:
    blocked = tmp_path / "a file"
    blocked.write_text("in the way", encoding="utf-8")
    with pytest.warns(UserWarning, match="could not write the road-network cache"):
        assert not cachemod.save(blocked / "entry.npz", arrays())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net = RoadNetwork.from_file(roads, cache_dir=blocked)
    assert net.n_links == 2 and not net.load_info["from_cache"]
    said = " ".join(str(w.message) for w in caught)
    assert "could not write the road-network cache" in said and "COVERAGE_CACHE_DIR" in said
    assert "could not write the snapping-grid cache" in said


def test_a_failed_save_leaves_no_temporary_file(tmp_path: Path) -> None:
    entry = tmp_path / "entry.npz"
    entry.mkdir()  # the entry's name is taken by a folder: the final rename fails
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert not cachemod.save(entry, arrays())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry.npz"]


def test_a_road_file_with_text_node_ids_is_cached_too(tmp_path: Path) -> None:
    roads = write_roads(tmp_path / "named.gpkg", ["n1", "n2", "n3"])
    RoadNetwork.from_file(roads, cache_dir=tmp_path / "c")
    assert RoadNetwork.from_file(roads, cache_dir=tmp_path / "c").load_info["from_cache"]


def test_grid_folders_follow_their_key_and_round_trip(tmp_path: Path) -> None:
    entry = tmp_path / "roads-abc-walk-v1.npz"
    path = cachemod.grid_path(entry, "utm50|500.0")
    assert path.parent == tmp_path
    assert path.name.startswith(f"roads-abc-walk-v1-grid{cachemod.GRID_VERSION}-")
    assert cachemod.grid_path(entry, "utm50|500.0") == path
    assert cachemod.grid_path(entry, "utm50|300.0") != path
    grid = {"grid_head": np.arange(5.0), "grid_cand": np.arange(12, dtype=np.int32).reshape(4, 3),
            "grid_low": np.ones(4, dtype=np.float32)}
    assert cachemod.save_grid(path, grid)
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    loaded = cachemod.load_grid(path)
    assert set(loaded) == set(grid)
    for name, value in grid.items():
        np.testing.assert_array_equal(loaded[name], value)
        assert loaded[name].dtype == value.dtype
    assert isinstance(loaded["grid_cand"], np.memmap)
    assert not loaded["grid_cand"].flags.writeable
    # Saved again with other arrays: the folder is replaced, nothing else is left beside it.
    grid["grid_low"] = np.zeros(4, dtype=np.float32)
    assert cachemod.save_grid(path, grid)
    np.testing.assert_array_equal(cachemod.load_grid(path)["grid_low"], 0.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    # A damaged array makes the whole folder unreadable, not half-read.
    (path / "grid_low.npy").write_bytes(b"damaged")
    assert cachemod.load_grid(path) is None

