"""Code shape: modules under 600 lines, functions under 80 (docstrings included).

Every module and function of the library and the app is within the limits
(docs/architecture.md). An exception, if one is ever agreed, is listed below at its size: it
may not grow, and leaves the list once back under the limit.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("src/coverage", "apps/coverage_app")
MODULE_LINES = 600
FUNCTION_LINES = 80

#: Modules over MODULE_LINES by exception → their size (none).
MODULES_OVER: dict[str, int] = {}

#: Functions over FUNCTION_LINES by exception ("module::name") → their length (none).
FUNCTIONS_OVER: dict[str, int] = {}


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
