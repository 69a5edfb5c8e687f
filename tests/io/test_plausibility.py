"""Silent nonsense is refused: implausible settings and values, odd paths, bad salt files.

Each case used to pass ``validate`` (or to stop it with a traceback) and then give nonsense or a
crash; each must now be a one-line error naming the file or setting, the rule and the fix.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from coverage.io.loaders import validate_project
from coverage.io.project import ProjectError, load_project

SALTED_ID = "11010119900307123X"


def _append(folder: Path, text: str) -> None:
    toml = folder / "project.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + "\n" + text + "\n", encoding="utf-8")


def _replace(folder: Path, old: str, new: str) -> None:
    toml = folder / "project.toml"
    text = toml.read_text(encoding="utf-8")
    assert old in text
    toml.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(("setting", "said"), [
    ("[parameters]\nthresholds_min = [5, 5, 15]", "repeats a threshold"),
    ("[parameters]\nthresholds_min = [5, 10, 600]", "at most 120 minutes"),
    ("[parameters]\nspeeds_kmh = { walk = 4000.0 }", "is not a walk speed"),
    ("[parameters]\nspeeds_kmh = { ebike = 0.5 }", "is not a ebike speed"),
    ('[outputs]\ndir = ["a"]', "must be a folder name as text"),
])
def test_implausible_settings_are_project_errors(tiny_project: Path, setting: str,
                                                 said: str) -> None:
    _append(tiny_project, setting)
    with pytest.raises(ProjectError, match=said):
        load_project(tiny_project)


def test_an_encoding_that_is_not_a_text_encoding(tiny_project: Path) -> None:
    _replace(tiny_project, 'path = "migrants.csv"', 'path = "migrants.csv"\nencoding = "rot13"')
    with pytest.raises(ProjectError, match="'rot13' is not an encoding"):
        load_project(tiny_project)


def test_a_folder_as_a_layer_path(tiny_project: Path) -> None:
    (tiny_project / "migrants.csv").unlink()
    (tiny_project / "migrants.csv").mkdir()
    problems = validate_project(tiny_project)
    [problem] = [p for p in problems.errors if p.file == "migrants.csv"]
    assert problem.rule == "unreadable-file" and "folder" in problem.hint


def test_a_symlink_loop_as_a_layer_path(tiny_project: Path) -> None:
    (tiny_project / "migrants.csv").unlink()
    os.symlink("migrants.csv", tiny_project / "migrants.csv")
    problems = validate_project(tiny_project)
    assert [p.rule for p in problems.errors if p.file == "migrants.csv"] == ["missing-file"]


def test_staff_beyond_any_service_point_is_an_error(tiny_project: Path) -> None:
    text = (tiny_project / "sites.csv").read_bytes().decode("gb18030")
    head, first, *rest = text.splitlines()
    cells = first.split(",")
    cells[5] = "1e9"
    (tiny_project / "sites.csv").write_bytes(
        "\n".join([head, ",".join(cells), *rest]).encode("gb18030") + b"\n")
    problems = validate_project(tiny_project)
    [problem] = [p for p in problems.errors if p.rule == "above-maximum"]
    assert (problem.file, problem.row, problem.field) == ("sites.csv", 2, "staff")
    assert "1,000" in problem.hint


def _with_national_id(folder: Path) -> None:
    path = folder / "migrants.csv"
    text = path.read_text(encoding="utf-8").replace("M001,", f"{SALTED_ID},", 1)
    path.write_text(text, encoding="utf-8")


def test_a_missing_salt_folder_is_created_private(tiny_project: Path) -> None:
    _with_national_id(tiny_project)
    _append(tiny_project, '[privacy]\nsalt_file = "keys/salt/.coverage-salt"')
    problems = validate_project(tiny_project)
    assert not problems.errors, [str(p) for p in problems.errors]
    salt = tiny_project / "keys" / "salt" / ".coverage-salt"
    assert salt.stat().st_mode & 0o777 == 0o600
    assert salt.parent.stat().st_mode & 0o777 == 0o700


def test_a_file_that_is_not_a_salt_is_never_to_be_deleted(tiny_project: Path) -> None:
    _with_national_id(tiny_project)
    other = tiny_project / "accounts.txt"
    other.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    _append(tiny_project, '[privacy]\nsalt_file = "accounts.txt"')
    problems = validate_project(tiny_project)
    [problem] = [p for p in problems.errors if p.file == "accounts.txt"]
    assert "delete" not in problem.hint and "salt_file" in problem.hint
    assert other.read_text(encoding="utf-8").startswith("root:")


def test_a_header_of_50000_columns_is_read_in_linear_time(tmp_path: Path) -> None:
    from coverage.io.readers import read_table
    from coverage.io.validation import Problems

    n = 50_000
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(n)) + "\n" + ",".join("1" * n) + "\n",
                    encoding="utf-8")
    start = time.perf_counter()
    table = read_table(path, problems=Problems())
    assert table is not None and table.frame.shape == (1, n)
    assert time.perf_counter() - start < 20  # quadratic checks took 25–60 s here


def test_a_study_crs_for_the_other_side_of_the_world(tiny_project: Path) -> None:
    _replace(tiny_project, "[project]", '[project]\nstudy_crs = "EPSG:32719"')
    problems = validate_project(tiny_project)
    [problem] = problems.errors
    assert problem.field == "study_crs" and "auto" in problem.hint
    _replace(tiny_project, "EPSG:32719", "EPSG:32650")  # Dongguan's own zone is fine
    assert not validate_project(tiny_project).errors
