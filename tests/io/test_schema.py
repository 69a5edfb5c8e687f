"""The data model and its documentation stay in step; recognised headers are unambiguous."""

from __future__ import annotations

from pathlib import Path

import pytest

from coverage.io.columns import header_key
from coverage.io.schema import LAYERS, category_lookup

DATA_MD = Path(__file__).resolve().parents[2] / "docs" / "data.md"


@pytest.mark.parametrize("name", list(LAYERS))
def test_every_column_and_alias_is_documented(name: str) -> None:
    text = DATA_MD.read_text(encoding="utf-8")
    layer = LAYERS[name]
    assert f"### `{name}`" in text
    for col in layer.columns:
        assert f"`{col.name}`" in text, col.name
        for alias in col.aliases:
            assert alias in text, (col.name, alias)
        for canonical in col.values:
            assert f"`{canonical}`" in text, (col.name, canonical)


@pytest.mark.parametrize("name", list(LAYERS))
def test_headers_match_one_column_only(name: str) -> None:
    seen: dict[str, str] = {}
    for col in LAYERS[name].columns:
        for header in (col.name, *col.aliases):
            key = header_key(header)
            assert seen.setdefault(key, col.name) == col.name, (header, seen[key], col.name)


def test_category_spellings_are_unambiguous() -> None:
    for layer in LAYERS.values():
        for col in layer.columns:
            if col.kind != "category":
                continue
            spellings = [s.casefold() for v in col.values.values() for s in v]
            spellings += [k.casefold() for k in col.values]
            assert len(spellings) == len(set(spellings)), col.name
            lookup = category_lookup(col)
            assert set(lookup.values()) == set(col.values)
