"""``import coverage as cv``: the names an analyst needs, documented, imported when first used."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import coverage as cv


def test_every_front_door_name_is_the_object_of_its_module_and_documented():
    for name, module in cv._FRONT_DOOR.items():
        value = getattr(cv, name)
        assert value is getattr(importlib.import_module(module), name), name
        assert (value.__doc__ or "").strip(), f"{name} has no docstring"
    assert set(dir(cv)) == set(cv.__all__)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = cv.nothing_here


def test_importing_the_package_imports_no_heavy_library():
    """The command line starts with ``import coverage``: it must not load geopandas & co."""
    code = ("import sys, coverage; "
            "print(sorted(m for m in ('geopandas', 'pandas', 'scipy', 'shapely') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
