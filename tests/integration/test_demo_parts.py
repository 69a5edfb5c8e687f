"""The demo city's migrants as partitioned GeoParquet: the same layer and the same results.

The small demo city written with its migrants as one GeoParquet part per district
(``build_demo(..., partitioned=True)``) loads into the layer its ``migrants.csv`` gives, and the
main job on it gives every result value of the main job on the CSV, to the last bit. The
``xlarge`` preset is checked as configured, never built here (minutes and gigabytes: its
figures are measured by ``benchmarks/bench_demo.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow.parquet as pq
import pytest
from rich.console import Console
from typer.testing import CliRunner

from coverage import cli
from coverage.demo import build_demo, project_figures
from coverage.demo.admin import _bearing_names
from coverage.demo.config import SIZES, SizeSpec
from coverage.demo.names import (
    ROAD_WORDS,
    STREET_ROOTS,
    more_street_roots,
    place_names,
    road_words,
)
from coverage.io.loaders import load_study
from coverage.io.parts import INDEX_FILE, list_parts
from exact_frames import assert_identical

CHANGING = {"run_at", "seconds", "input_sha256:migrants"}
"""``run_info`` keys that differ between two runs of the same data in two forms."""


@pytest.fixture(scope="module")
def parts_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo city (seed 0) with its migrants as GeoParquet parts."""
    return build_demo(tmp_path_factory.mktemp("parts_demo"), size="small", seed=0,
                      partitioned=True).parent


def test_parts_hold_the_csv_layer(small_demo: Path, parts_demo: Path) -> None:
    assert not (parts_demo / "migrants.csv").exists()
    for name in ("sites.csv", "communities.gpkg", "network.gpkg", "budgets.csv"):
        assert (parts_demo / name).read_bytes() == (small_demo / name).read_bytes(), name
    from_csv, from_parts = load_study(small_demo), load_study(parts_demo)
    assert_identical(from_csv.migrants.drop(columns="source_row"),
                     from_parts.migrants.drop(columns="source_row"), "migrants")
    assert [str(p) for p in from_csv.problems] == [str(p) for p in from_parts.problems]


def test_main_job_gives_the_same_results(small_run, parts_demo: Path) -> None:
    from coverage.engine.run import run_study

    parts_run = run_study(parts_demo)
    expected = small_run.layers(person_level=True)
    got = parts_run.layers(person_level=True)
    assert list(got) == list(expected)
    for name, frame in expected.items():
        if name == "run_info":
            continue
        assert_identical(frame, got[name], name)
    info = [r.set_index("key")["value"] for r in (small_run.run_info, parts_run.run_info)]
    assert list(info[0].index) == list(info[1].index)
    assert info[0].drop(list(CHANGING)).equals(info[1].drop(list(CHANGING)))


def test_one_part_per_district_with_its_index(parts_demo: Path) -> None:
    folder = parts_demo / "migrants"
    communities = gpd.read_file(parts_demo / "communities.gpkg")
    parts = list_parts(folder)
    index = json.loads((folder / INDEX_FILE).read_text(encoding="utf-8"))
    assert index["key"] == "district"
    assert [p.key for p in parts] == list(dict.fromkeys(communities["district"]))
    assert sum(p.rows for p in parts) == index["rows"] == SIZES["small"].migrants
    for part in parts:
        layer = gpd.read_parquet(folder / part.file)
        assert len(layer) == part.rows
        assert set(layer["district"]) == {part.key}
        own = communities.loc[communities["district"] == part.key, "community_id"]
        assert layer["社区编码"].isin(own).all()
        assert part.bounds == pytest.approx(tuple(layer.total_bounds))
        assert layer.crs.to_epsg() == 4326
        # each row keeps its position in the city's table: the person number less one
        numbers = layer["人员编号"].str[1:].astype(int).to_numpy()
        assert (layer.index.to_numpy() == numbers - 1).all()
        schema = pq.read_schema(folder / part.file)
        assert str(schema.field("来本地日期").type) == "date32[day]"
        assert b"geo" in schema.metadata
    truth = json.loads((parts_demo / "ground_truth.json").read_text(encoding="utf-8"))
    assert truth["migrants_parts"]["parts"] == len(parts)
    assert "migrants/" in (parts_demo / "README.md").read_text(encoding="utf-8")
    assert 'path = "migrants/"' in (parts_demo / "project.toml").read_text(encoding="utf-8")


def test_project_figures(parts_demo: Path) -> None:
    figures = project_figures(parts_demo)
    truth = json.loads((parts_demo / "ground_truth.json").read_text(encoding="utf-8"))
    assert figures["migrants"] == truth["counts"]["migrants"] == 20_000
    assert figures["network_nodes"] == truth["counts"]["network_nodes"]
    assert figures["parts"] == truth["counts"]["districts"] == figures["districts"]
    assert figures["bytes"] == sum(p.stat().st_size for p in parts_demo.rglob("*")
                                   if p.is_file())


def test_xlarge_preset() -> None:
    xl, large = SIZES["xlarge"], SIZES["large"]
    assert xl.migrants >= 10_000_000
    assert xl.partitioned and not any(s.partitioned for s in SIZES.values() if s is not xl)
    assert 2_000 <= xl.communities <= 3_000 and 10 <= xl.districts <= 12
    # at a large city's density, over five times its area: about a million road nodes
    assert xl.half_x * xl.half_y > 5.5 * large.half_x * large.half_y
    assert xl.village_spacing <= large.village_spacing
    assert xl.fast_growing > large.fast_growing and xl.understaffed > large.understaffed
    # the planted areas hold about as many migrants as a large city's
    share = sum(xl.planted_share) * xl.migrants / (sum(large.planted_share) * large.migrants)
    assert 1 <= share <= 2
    with pytest.raises(ValueError, match="only as partitioned GeoParquet"):
        build_demo("unused", size="xlarge", partitioned=False)


def test_names_for_thousands_of_communities() -> None:
    rng = np.random.default_rng(0)
    names = place_names(rng, 2_500)
    assert len(set(names)) == 2_500
    roots = more_street_roots()
    assert len(set(roots)) == len(roots) >= 400
    assert not set(roots) & set(STREET_ROOTS)
    words = road_words(np.random.default_rng(0))
    assert len(set(words)) == len(words) >= 200
    # a small city draws its names as before: the random words come first, from the end
    assert set(words[-len(ROAD_WORDS):]) == set(ROAD_WORDS)
    angles = np.radians(np.arange(11) * 360 / 11 + 5)
    centres = np.column_stack([np.cos(angles), np.sin(angles)]) * 10_000
    centres[0] = (10, 10)
    assert len(set(_bearing_names(centres))) == 11


def test_cli_prints_the_figures_of_a_partitioned_city(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # the xlarge path of `coverage demo`, on a city of the small size (xlarge takes minutes)
    small = SIZES["small"]
    spec = SizeSpec(**{**small.__dict__, "name": "xlarge", "partitioned": True})
    monkeypatch.setitem(SIZES, "xlarge", spec)
    monkeypatch.setattr(cli, "console", Console(width=200, highlight=False))
    out = tmp_path / "city"
    result = CliRunner().invoke(cli.app, ["demo", "--size", "xlarge", "--out", str(out),
                                          "--lang", "en"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    for label in ("Migrants", "Road nodes", "Service sites", "Migrant partitions",
                  "Bytes on disk", "Build time", "Peak memory"):
        assert label in text
    assert "20,000" in text
    assert "meant for a partitioned run" in text
    assert not (out / "results").exists()  # the main job did not run
    assert len(list_parts(out / "migrants")) == project_figures(out)["parts"]
