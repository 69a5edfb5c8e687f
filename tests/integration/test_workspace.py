"""The workspace's per-process copies: shared while kept, built again once forgotten."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from coverage.engine.workspace import (
    forget,
    load_results,
    model_loaded,
    scenario_model,
    shared_figures,
    shared_layers,
)
from coverage.io.project import load_project


def test_forget_drops_a_projects_copies_and_only_its_own(demo_city: Path):
    project = load_project(demo_city)
    forget(project)  # other tests of this process may have loaded it already
    reads: list[int] = []

    def read() -> dict:
        reads.append(1)
        return load_results(project)

    model = scenario_model(project, "walk")
    layers = shared_layers(project, "walk", read)
    figures = shared_figures(project, "walk")
    figures["kept"] = 1
    assert scenario_model(project, "walk") is model  # shared while kept
    assert shared_layers(project, "walk", read) is layers and reads == [1]
    forget(dataclasses.replace(project, path=demo_city / "elsewhere.toml"))
    assert model_loaded(project, "walk")  # another project's forgetting leaves these alone

    forget(project)
    assert not model_loaded(project, "walk")
    assert "kept" not in shared_figures(project, "walk")
    assert shared_layers(project, "walk", read) is not layers and reads == [1, 1]
    assert scenario_model(project, "walk") is not model
