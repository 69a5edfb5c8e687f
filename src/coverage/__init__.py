"""coverage: service-coverage planning for migrant family-planning services.

The front door for analysts (``import coverage as cv``)::

    project = cv.load_project("demo-city")          # project.toml: files, columns, parameters
    study = cv.load_study(project)                  # the checked inputs, in one metric CRS
    results = cv.run_study(study)                   # the main job (routing once)
    cv.write_results(results)                       # results.gpkg, written atomically
    layers = cv.load_results(project)               # the latest results (computed if missing)
    progress = cv.progress_between(project, run_a, run_b)  # two kept runs compared
    session = cv.PlanningSession.open(project)      # what-if scenarios on the baseline
    session.add_site(113.75, 23.02, staff=2)
    rec = session.recommend(new_sites=3, new_staff=10)  # shown, not applied
    session.apply(rec.scenario.edits)
    cv.make_report(project, lang="en")              # HTML, XLSX and PDF

:func:`build_demo` writes the synthetic demo city; :class:`RoadNetwork` reads a road network
on its own; :class:`Scenario`, :class:`Edit` and :class:`ScenarioModel` are the scenario
engine under the session. Everything else lives in its subpackage (``coverage.network``,
``coverage.measures.access``, ``coverage.patterns``, ``coverage.placement``, ``coverage.publish``,
``coverage.report``, ...). The names are imported when first used, so that ``import coverage``
stays quick (the command line starts with it).

The import name is ``coverage``, the same as coverage.py's: never install coverage.py or
pytest-cov in the same environment.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: Public name → module that defines it.
_FRONT_DOOR = {
    "load_project": "coverage.io.project",
    "load_study": "coverage.io.loaders",
    "RoadNetwork": "coverage.network",
    "run_study": "coverage.engine.run",
    "write_results": "coverage.engine.run",
    "load_results": "coverage.engine.workspace",
    "progress_between": "coverage.engine.progress",
    "PlanningSession": "coverage.engine.session",
    "Scenario": "coverage.engine.scenario",
    "Edit": "coverage.engine.scenario",
    "ScenarioModel": "coverage.engine.scenario",
    "make_report": "coverage.report",
    "build_demo": "coverage.demo",
}

__all__ = ["__version__", *_FRONT_DOOR]


def __getattr__(name: str) -> Any:
    """Import a front-door name from its module on first use (PEP 562)."""
    module = _FRONT_DOOR.get(name)
    if module is None:
        msg = f"module 'coverage' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
