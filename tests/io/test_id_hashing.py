"""National ID numbers are hashed on load however they are written; other ids are kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coverage.io.columns import coerce_column
from coverage.io.loaders import load_study
from coverage.io.privacy import hash_ids, load_salt, looks_like_national_id, normalize_national_ids
from coverage.io.schema import LAYERS
from coverage.io.validation import Problems

SALT = bytes(range(16))

#: Each writing of a number, and the number in its one plain form.
WRITINGS = {
    "11010119900307123X": "11010119900307123X",
    "11010119900307123x": "11010119900307123X",
    "110101-19900307-123X": "11010119900307123X",
    "110101 19900307 123x": "11010119900307123X",
    "110101-19900307 1234": "110101199003071234",
    "'110101199003071234": "110101199003071234",
    "  '110101-19900307-1234\t": "110101199003071234",
    "\uff11\uff11\uff10\uff11\uff10\uff11\uff11\uff19\uff19\uff10\uff10\uff13\uff10\uff17\uff11"
    "\uff12\uff13\uff38": "11010119900307123X",  # full-width digits and X
    "110101900307123": "110101900307123",  # first generation: 15 digits
    "110101-900307-123": "110101900307123",
    "110101 900307 123": "110101900307123",
    "'110101900307123": "110101900307123",
}

ORDINARY = [
    "M0000001",
    "M001",
    "441900001001",  # a 12-digit community code
    "430100",  # a 6-digit division code
    "S0001",
    "C1",
    "1101011990030712",  # 16 digits
    "1101011990030712345",  # 19 digits
    "110101-1990030-71234",  # 18 digits, not in 6-8-4 groups
    "110101--19900307123X",
    "X110101199003071234",
    "110101901307123",  # 15 digits whose middle group is no date (month 13)
    "110101900332123",  # (day 32)
]


def _coerce(values: list[str | None], column: str = "person_id") -> tuple[pd.Series, Problems]:
    layer = LAYERS["migrants"]
    problems = Problems()
    series = pd.Series(values, dtype=object)
    out = coerce_column(series, layer.column(column), np.arange(2, len(values) + 2),
                        file="migrants.csv", layer=layer, problems=problems, salt=lambda: SALT)
    return out, problems


@pytest.mark.parametrize("written", list(WRITINGS))
def test_every_writing_is_recognised_and_normalised(written: str) -> None:
    values = pd.Series([written])
    assert looks_like_national_id(values).tolist() == [True]
    assert normalize_national_ids(values).tolist() == [WRITINGS[written]]


@pytest.mark.parametrize("value", ORDINARY)
def test_ordinary_ids_are_not_taken_for_id_numbers(value: str) -> None:
    assert looks_like_national_id(pd.Series([value])).tolist() == [False]


def test_every_writing_of_a_number_gets_the_hash_of_its_plain_form() -> None:
    written = list(WRITINGS)
    out, problems = _coerce([*written, *ORDINARY, None])
    expected = hash_ids(pd.Series([WRITINGS[w] for w in written]), SALT)
    assert out.iloc[: len(written)].tolist() == expected.tolist()
    assert out.iloc[len(written): -1].tolist() == [v.strip() for v in ORDINARY]
    assert pd.isna(out.iloc[-1])
    # one hash per person, whatever the writing
    assert out.iloc[: len(written)].nunique() == len(set(WRITINGS.values()))
    [problem] = [p for p in problems.items if p.rule == "national-id-hashed"]
    assert f"{len(written)} values" in problem.hint
    text = "\n".join(map(str, problems.items)) + out.iloc[: len(written)].to_csv()
    for plain in set(WRITINGS.values()):
        assert plain[:14] not in text


def test_ordinary_ids_are_kept_and_need_no_salt() -> None:
    layer = LAYERS["migrants"]

    def no_salt() -> bytes:
        raise AssertionError("no value is an ID number: the salt is not needed")

    for column in ("person_id", "community_id"):
        problems = Problems()
        out = coerce_column(pd.Series(ORDINARY, dtype=object), layer.column(column),
                            np.arange(2, len(ORDINARY) + 2), file="migrants.csv", layer=layer,
                            problems=problems, salt=no_salt)
        assert out.tolist() == ORDINARY
        assert not [p for p in problems.items if p.rule == "national-id-hashed"]


def test_loader_hashes_every_writing(tiny_project: Path) -> None:
    """The loader on a real file: four people, four writings, each hashed like its plain form."""
    path = tiny_project / "migrants.csv"
    rows = {"M001": "'110101199003071234", "M002": "110101-19900307-123x",
            "M003": "440300 850101 432", "M004": " 110101 19851231 4321 "}
    plain = ["110101199003071234", "11010119900307123X", "440300850101432",
             "110101198512314321"]
    text = path.read_text(encoding="utf-8")
    for old, new in rows.items():
        assert f"\n{old}," in text
        text = text.replace(f"\n{old},", f'\n"{new}",')
    path.write_text(text, encoding="utf-8")

    study = load_study(tiny_project)
    ids = study.migrants.sort_values("source_row")["person_id"].tolist()
    salt = load_salt(tiny_project / ".coverage-salt")
    assert ids == hash_ids(pd.Series(plain), salt).tolist()
    frame = study.migrants.to_csv()
    for number in plain:
        assert number[:14] not in frame and number[-8:] not in frame


def test_a_15_digit_code_of_a_place_is_not_hashed() -> None:
    """Only in layers about people is a 15-digit number taken for a first-generation ID."""
    from coverage.io.columns import coerce_column
    from coverage.io.schema import COMMUNITIES
    from coverage.io.validation import Problems

    code = pd.Series(["441900001001001", "441900001001002"])  # passes the YYMMDD check
    out = coerce_column(code, COMMUNITIES.column("community_id"), np.array([2, 3]),
                        file="communities.csv", layer=COMMUNITIES, problems=Problems(),
                        salt=lambda: pytest.fail("the salt is not needed"))
    assert out.tolist() == code.tolist()
