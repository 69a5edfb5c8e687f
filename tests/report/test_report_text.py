"""Report text: every message in both languages with the same fields; XLSX cells kept as text."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import openpyxl
import pandas as pd

from coverage.messages import LANGS
from coverage.report.content import Report, Section, Table
from coverage.report.xlsx import write_xlsx


def test_catalogue_has_both_languages_with_the_same_fields():
    from importlib import resources

    raw = resources.files("coverage").joinpath("data/messages.toml").read_text("utf-8")
    data = tomllib.loads(raw)
    for group, entries in data.items():
        for key, entry in entries.items():
            assert set(entry) == set(LANGS), (group, key)
            fields = {lang: set(re.findall(r"\{(\w+)\}", entry[lang])) for lang in LANGS}
            assert fields["zh"] == fields["en"], (group, key, fields)
            assert all(entry[lang].strip() for lang in LANGS), (group, key)


def test_xlsx_writes_formula_like_text_as_text(tmp_path: Path):
    frame = pd.DataFrame({"name": ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "plain"],
                          "migrants": [10, 20, 30, 40, 50]})
    table = Table("t", "t", frame, {"name": "Name", "migrants": "Migrants"},
                  {"name": "text", "migrants": "int"}, "community_summary")
    report = Report("en", "Title", [("Scope", "x")], [Section("s", "S", tables=[table])], 10,
                    "note")
    path = write_xlsx(report, tmp_path / "r.xlsx")
    ws = openpyxl.load_workbook(path)["t"]
    for i, text in enumerate(frame["name"], start=2):
        cell = ws.cell(row=i, column=1)
        assert cell.data_type == "s" and cell.value == text
        assert ws.cell(row=i, column=2).value == frame["migrants"].iloc[i - 2]
    assert ws.freeze_panes == "A2"
    assert ws.cell(row=2, column=2).number_format == "#,##0"
