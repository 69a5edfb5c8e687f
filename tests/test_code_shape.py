"""Code shape: modules under 600 lines, functions under 80 (docstrings included).

The modules and functions still over are listed here at their present size (the layered
restructure brings them under, docs/architecture.md): a new one over the limit fails, a listed
one that grows fails, and one brought under the limit must leave the list.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("src/coverage", "apps/coverage_app")
MODULE_LINES = 600
FUNCTION_LINES = 80

#: Modules still over MODULE_LINES → their size today.
MODULES_OVER = {
    "src/coverage/init_project.py": 1561,
    "src/coverage/io/loaders.py": 1215,
}

#: Functions still over FUNCTION_LINES ("module::name") → their length today.
FUNCTIONS_OVER = {
    "src/coverage/init_project.py::guess_system": 82,
    "src/coverage/init_project.py::match_columns": 109,
    "src/coverage/io/loaders.py::_load": 105,
    "src/coverage/io/loaders.py::coerce_column": 128,
    "src/coverage/io/loaders.py::read_layer": 150,
    "src/coverage/io/project.py::_layer": 90,
    "src/coverage/io/project.py::_parameters": 81,
    "src/coverage/io/project.py::load_project": 105,
}


def _shape() -> tuple[dict[str, int], dict[str, int]]:
    modules, functions = {}, {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            name = path.relative_to(ROOT).as_posix()
            modules[name] = text.count("\n")
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    key = f"{name}::{node.name}"
                    length = node.end_lineno - node.lineno + 1
                    functions[key] = max(length, functions.get(key, 0))
    return modules, functions


def _check(sizes: dict[str, int], listed: dict[str, int], limit: int, what: str) -> list[str]:
    problems = []
    for name, size in sorted(sizes.items()):
        allowed = listed.get(name)
        if size > limit and allowed is None:
            problems.append(f"{name}: {size} lines, over the {limit} for a {what}; split it")
        elif allowed is not None and size > allowed:
            problems.append(f"{name}: {size} lines, grew from {allowed} (limit {limit})")
        elif allowed is not None and size <= limit:
            problems.append(f"{name}: {size} lines, now within {limit}: remove it from the list")
    problems += [f"{name}: listed but gone: remove it from the list"
                 for name in sorted(set(listed) - set(sizes))]
    return problems


def test_modules_and_functions_stay_within_their_size():
    modules, functions = _shape()
    problems = (_check(modules, MODULES_OVER, MODULE_LINES, "module")
                + _check(functions, FUNCTIONS_OVER, FUNCTION_LINES, "function"))
    assert not problems, "\n".join(problems)
