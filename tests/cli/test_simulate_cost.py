"""``coverage simulate``: the scenario's cost beside its effect, printed and kept in its layer."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from coverage.engine.costs import COMPARISON_COST_COLUMNS

SCRIPT = Path(sys.executable).with_name("coverage")

pytestmark = pytest.mark.slow


def test_simulate_prints_and_keeps_the_scenario_s_cost(demo_city: Path, tmp_path: Path):
    import pyogrio

    from coverage.io.project import load_project

    folder = tmp_path / "city"
    shutil.copytree(demo_city, folder)
    communities = pyogrio.read_dataframe(folder / "communities.gpkg")
    point = communities.to_crs(4326).geometry.iloc[0].representative_point()
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps({"name": "东城新点", "edits": [
        {"action": "add", "site_id": "N1", "lon": point.x, "lat": point.y,
         "staff": 3}]}), encoding="utf-8")
    env = {**os.environ, "COLUMNS": "300", "NO_COLOR": "1"}
    done = subprocess.run([str(SCRIPT), "simulate", str(folder), str(scenario)],
                          capture_output=True, text=True, env=env, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    unit = load_project(folder).parameters.funding
    budget = unit.site_cost_yuan + 3 * unit.staff_cost_yuan_per_year
    lines = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
             for line in done.stdout.splitlines() if line.count("│") >= 4}
    assert lines["新增服务点"] == ["0", "1", "+1"]
    assert lines["新增人员"] == ["0.0", "3.0", "+3.0"]
    assert lines["首年所需经费（元）"] == ["0", f"{budget:,.0f}", f"+{budget:,.0f}"]
    # the layer keeps the comparison's columns, then the cost of each row's unit
    layer_name = next(name for name, _ in pyogrio.list_layers(folder / "results" /
                                                              "results.gpkg")
                      if name.startswith("simulation_"))
    layer = pyogrio.read_dataframe(folder / "results" / "results.gpkg", layer=layer_name)
    assert list(layer.columns[-len(COMPARISON_COST_COLUMNS):]) == list(COMPARISON_COST_COLUMNS)
    city = layer[layer["level"] == "city"].set_index("scenario")
    assert city.loc["东城新点", "budget_needed_yuan"] == budget
    assert city.loc["baseline", "budget_needed_yuan"] == 0
    districts = layer[(layer["level"] == "district") & (layer["scenario"] == "东城新点")]
    assert districts["new_sites"].sum() == 1
    assert districts["budget_needed_yuan"].sum() == budget
