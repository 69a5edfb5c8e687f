"""Tests of the import contracts' own lists (pyproject.toml), which import-linter cannot check.

The web app's contract forbids every module of the library but its doors by name: a module
added later must be added to that list, or the app could import it unnoticed.
"""

from __future__ import annotations

import pkgutil
import tomllib
from pathlib import Path

import coverage

ROOT = Path(__file__).resolve().parent.parent
#: What the web app may import directly, with everything inside them.
DOORS = ("coverage.engine.session", "coverage.publish.labels", "coverage.report")


def _contract(name_start: str) -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    return next(c for c in contracts if c["name"].startswith(name_start))


def _modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(coverage.__path__, "coverage.")]


def _within(module: str, names: list[str] | tuple[str, ...]) -> bool:
    return any(module == n or module.startswith(n + ".") for n in names)


def test_the_app_contract_forbids_every_module_but_its_doors() -> None:
    forbidden = _contract("The web app reaches the library")["forbidden_modules"]
    assert not [d for d in DOORS if _within(d, forbidden)]
    open_doors = [m for m in _modules()
                  if not _within(m, forbidden) and not _within(m, DOORS)
                  and m not in ("coverage.engine", "coverage.publish")]
    assert open_doors == [], f"add to the app's contract in pyproject.toml: {open_doors}"


def test_the_app_contract_names_only_modules_that_exist() -> None:
    modules = set(_modules())
    forbidden = _contract("The web app reaches the library")["forbidden_modules"]
    assert [m for m in forbidden if m not in modules] == []
