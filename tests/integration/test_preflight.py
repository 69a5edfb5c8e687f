"""``validate`` checks what ``run`` needs; the CLI never shows a traceback.

Each bad input that used to pass ``validate`` and then crash ``run`` (an empty layer, a network
file that is empty, a folder, not a network, or holds no road) must now make ``validate`` exit 2
with the file, field and rule, and ``run`` exit 2 with the same one-line error.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely

from conftest import SHARED
from console_script import run_here
from minimal import partial_project

SCRIPT = Path(sys.executable).with_name("coverage")
NO_WAYS = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6"><node id="1" lat="23.02" lon="113.75"/><node id="2" lat="23.03" lon="113.76"/>
</osm>
"""


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1", **(env or {})}
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, env=env,
                          timeout=600, check=False)


@pytest.fixture(scope="module")
def base(small_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return partial_project(small_demo, tmp_path_factory.mktemp("base") / "p", communities=6)


def _copy(base: Path, tmp: Path) -> Path:
    import shutil

    target = tmp / "p"
    shutil.copytree(base, target, ignore=shutil.ignore_patterns("results"))
    return target


def _network(project: Path, name: str) -> None:
    toml = project / "project.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('"network.gpkg"', f'"{name}"'),
                    encoding="utf-8")


def _breaks(project: Path, rule: str, file: str, capfd: pytest.CaptureFixture[str]) -> None:
    """``validate`` and ``run`` refuse ``project`` (through the console script's entry point,
    here: the console script itself is run on the good project and on usage errors below)."""
    checked = run_here(capfd, "validate", str(project), "--lang", "en")
    assert checked.returncode == 2, checked.stdout[-3000:]
    assert f"[{rule}]" in checked.stderr and file in checked.stderr, checked.stderr
    assert "Traceback" not in checked.stdout + checked.stderr
    run = run_here(capfd, "run", str(project))
    assert run.returncode == 2, (run.stdout[-2000:], run.stderr[-2000:])
    assert "Traceback" not in run.stdout + run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr


@pytest.mark.parametrize("layer", ["migrants", "sites"])
def test_a_layer_with_a_header_and_no_rows(base: Path, tmp_path: Path, layer: str,
                                           capfd: pytest.CaptureFixture[str]) -> None:
    project = _copy(base, tmp_path)
    path = project / f"{layer}.csv"
    encoding = "gb18030" if layer == "sites" else "utf-8-sig"
    header = path.read_text(encoding=encoding).splitlines()[0]
    path.write_text(header + "\n", encoding=encoding)
    _breaks(project, "empty-layer", f"{layer}.csv", capfd)


@pytest.mark.parametrize("kind", ["empty", "folder", "not-a-network", "no-roads", "points"])
def test_network_files_that_are_not_networks(base: Path, tmp_path: Path, kind: str,
                                             capfd: pytest.CaptureFixture[str]) -> None:
    import geopandas as gpd
    import shapely

    project = _copy(base, tmp_path)
    name = {"empty": "roads.gpkg", "folder": "roads.gpkg", "not-a-network": "roads.osm",
            "no-roads": "roads.osm", "points": "roads.gpkg"}[kind]
    target = project / name
    if kind == "empty":
        target.write_bytes(b"")
    elif kind == "folder":
        target.mkdir()
    elif kind == "not-a-network":
        target.write_text("this is not OSM XML", encoding="utf-8")
    elif kind == "no-roads":
        target.write_text(NO_WAYS, encoding="utf-8")
    else:
        gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(113.75, 23.02)],
                         crs=4326).to_file(target, layer="points")
    _network(project, name)
    _breaks(project, "empty-network" if kind == "no-roads" else "unreadable-network", name,
            capfd)


def test_network_that_does_not_cover_the_city(base: Path, tmp_path: Path) -> None:
    osm = SHARED / "osm" / "guixi_jiangxi.osm"
    if not osm.exists():
        pytest.skip(f"reference data not found at {osm}")
    project = _copy(base, tmp_path)
    _network(project, osm.as_posix())
    checked = _cli("validate", str(project), "--lang", "en")
    assert checked.returncode == 2
    assert "[network-reach]" in checked.stdout + checked.stderr
    assert "0 of" in checked.stderr


@pytest.mark.parametrize(("share", "severity"), [(0.7, "warning"), (0.3, "error")])
def test_a_network_reaching_only_part_of_the_points(small_demo: Path, tmp_path: Path,
                                                    share: float, severity: str) -> None:
    """Between half and 90 % of a layer within reach is a warning; under half an error."""
    from coverage.engine.preflight import check_network
    from coverage.io.loaders import load_study
    from coverage.io.validation import Problems

    project = partial_project(small_demo, tmp_path / "p", communities=6)
    # The snap limit that leaves the chosen share of the residences within reach, from their
    # distances to the roads measured here with shapely (not with the code under test).
    study = load_study(project)
    edges = pyogrio.read_dataframe(study.project.layers["network"].path, layer="edges")
    roads = shapely.STRtree(edges.to_crs(study.crs).geometry.to_numpy())
    gaps = {}
    for name in ("migrants", "sites"):
        points = study.layers[name].geometry.to_numpy()
        _, gaps[name] = roads.query_nearest(points, return_distance=True, all_matches=False)
    pick = max if severity == "warning" else min
    max_snap_m = pick(float(np.quantile(d, share)) for d in gaps.values())
    shares = [float((d <= max_snap_m).mean()) for d in gaps.values()]
    if severity == "warning":
        assert min(shares) >= 0.6 and min(shares) < 0.85, shares  # inside the warning band
    else:
        assert min(shares) < 0.4, shares
    toml = project / "project.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + f"\n[parameters]\nmax_snap_m = "
                    f"{max_snap_m:.3f}\n", encoding="utf-8")
    problems = Problems()
    nets = check_network(load_study(project), problems, modes=("walk",))
    assert "walk" in nets
    reach = [p for p in problems if p.rule == "network-reach"]
    assert reach, [str(p) for p in problems]
    assert severity in {p.severity for p in reach}
    if severity == "warning":
        assert not problems.errors


def test_validate_passes_and_run_works_on_a_good_project(base: Path, tmp_path: Path) -> None:
    project = _copy(base, tmp_path)
    checked = _cli("validate", str(project), "--lang", "en")
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr
    assert _cli("run", str(project)).returncode == 0


def test_unexpected_errors_print_one_line_and_a_private_log(
        base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import coverage.engine.run
    from coverage import cli

    def broken(*_args: object, **_kwargs: object) -> None:
        msg = "M0000001 113.75 23.02"  # what a bug could put in a message: never shown
        raise KeyError(msg)

    monkeypatch.setattr(coverage.engine.run, "run_study", broken)
    monkeypatch.setenv("COVERAGE_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setattr(sys, "argv", ["coverage", "run", str(base)])
    with pytest.raises(SystemExit) as stop:
        cli.main()
    assert stop.value.code == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert "unexpected KeyError" in err and "run" in err
    assert "Traceback" not in err and "M0000001" not in err
    logs = list((tmp_path / "logs").glob("coverage-*.log"))
    assert len(logs) == 1 and str(logs[0]) in err.replace("\n", "")
    assert "Traceback" in logs[0].read_text(encoding="utf-8")
    assert (logs[0].stat().st_mode & 0o777) == 0o600
    assert len(lines) <= 3  # one sentence, wrapped by the console at most


def test_usage_errors_exit_2(demo_city: Path) -> None:
    done = _cli("report", str(demo_city), "--district", "没有这个区", "--format", "html")
    assert done.returncode == 2, done.stderr
    assert "没有这个区" in done.stderr and "Traceback" not in done.stderr
    assert _cli("report", str(demo_city), "--format", "doc").returncode == 2
    assert _cli("run", str(demo_city), "--mode", "car").returncode == 2
