"""The command line: ``coverage init`` and ``coverage validate``, in-process and for real."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from conftest import PROJECT_TOML
from coverage import __version__, cli
from coverage.io.project import PROJECT_FILE, TEMPLATE
from coverage.io.validation import ValidationError

SCRIPT = Path(sys.executable).with_name("coverage")


def run_script(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed console script, as a user would."""
    env = {**os.environ, "COLUMNS": "300", "NO_COLOR": "1"}
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120, check=False)


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setattr(cli, "console", Console(width=300, highlight=False))
    monkeypatch.setattr(cli, "err", Console(width=300, stderr=True, highlight=False))
    return CliRunner()


def break_migrants(folder: Path) -> None:
    """Make row 4 of migrants.csv repeat the id of row 2."""
    path = folder / "migrants.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("M003,", "M001,"), encoding="utf-8")


# --- the real console script ------------------------------------------------------------------


def test_console_script_exit_codes(tiny_project: Path) -> None:
    assert SCRIPT.exists()
    ok = run_script("validate", str(tiny_project), "--lang", "en")
    assert ok.returncode == 0, ok.stderr
    assert "0 errors, 0 warnings" in ok.stdout
    assert ok.stderr == ""

    break_migrants(tiny_project)
    bad = run_script("validate", str(tiny_project), "--lang", "en")
    assert bad.returncode == 2
    lines = bad.stderr.strip().splitlines()
    assert lines == [
        "error: migrants.csv, row 4, field 'person_id': identifier used more than once "
        "[duplicate-id]; each person_id must be unique; this row repeats the id of row 2"
    ]
    assert "1 errors, 0 warnings" in bad.stdout
    assert "Traceback" not in bad.stdout + bad.stderr


def test_console_script_bad_project_file(tmp_path: Path) -> None:
    (tmp_path / PROJECT_FILE).write_text(PROJECT_TOML.replace("[layers.sites]", "[layers.site]"),
                                         encoding="utf-8")
    result = run_script("validate", str(tmp_path))
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line == ("error: project.toml: [layers]: unknown key 'site'; did you mean 'sites'?")


def test_console_script_keeps_national_ids_out(tiny_project: Path) -> None:
    number = "44190019900101123X"
    path = tiny_project / "migrants.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("M001,", f"{number},").replace("M003,", f"{number},"),
                    encoding="utf-8")
    for lang in ("en", "zh"):
        result = run_script("validate", str(tiny_project), "--lang", lang)
        assert result.returncode == 2  # the duplicate
        assert "duplicate-id" in result.stderr
        assert "national-id-hashed" in result.stdout
        for part in (number, number[:17], number[6:14]):
            assert part not in result.stdout + result.stderr


def test_console_script_version_and_help() -> None:
    result = run_script("--version")
    assert result.returncode == 0
    assert __version__ in result.stdout
    result = run_script("--help")
    assert result.returncode == 0
    for command in ("init", "validate", "demo"):
        assert command in result.stdout


# --- validate ---------------------------------------------------------------------------------


def test_validate_valid_project(tiny_project: Path, runner: CliRunner) -> None:
    result = runner.invoke(cli.app, ["validate", str(tiny_project)])
    assert result.exit_code == 0, result.output
    assert "0 个错误，0 个警告" in result.stdout
    result = runner.invoke(cli.app, ["validate", str(tiny_project / PROJECT_FILE), "--lang",
                                     "en"])
    assert result.exit_code == 0
    assert "0 errors, 0 warnings" in result.stdout


def test_validate_lists_every_problem(tiny_project: Path, runner: CliRunner) -> None:
    break_migrants(tiny_project)
    sites = tiny_project / "sites.csv"
    sites.write_bytes(sites.read_bytes().replace(b",2.5,", b",-2.5,"))
    result = runner.invoke(cli.app, ["validate", str(tiny_project), "--lang", "en"])
    assert result.exit_code == 2
    assert "Input check" in result.stdout
    assert "[duplicate-id]" in result.stdout and "[below-minimum]" in result.stdout
    assert "2 errors, 0 warnings" in result.stdout
    assert result.stderr.count("\n") == 1  # only the first error on stderr


def test_validate_in_chinese(tiny_project: Path, runner: CliRunner) -> None:
    break_migrants(tiny_project)
    result = runner.invoke(cli.app, ["validate", str(tiny_project)])
    assert result.exit_code == 2
    assert "输入检查" in result.stdout
    assert "编号重复 [duplicate-id]" in result.stdout
    assert "错误" in result.stdout
    assert "1 个错误，0 个警告" in result.stdout


def test_validate_warnings_exit_0(tiny_project: Path, runner: CliRunner) -> None:
    path = tiny_project / "migrants.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",450100,", ",4501,"),
                    encoding="utf-8")
    result = runner.invoke(cli.app, ["validate", str(tiny_project), "--lang", "en"])
    assert result.exit_code == 0
    assert "[malformed-code]" in result.stdout
    assert "0 errors, 1 warnings" in result.stdout
    assert result.stderr == ""


def test_validate_summary_rows_are_counted(tiny_project: Path, runner: CliRunner) -> None:
    header = "人员编号,经度,纬度\n"
    rows = "".join(f"M{i:03d},abc,23.02\n" for i in range(30))
    (tiny_project / "migrants.csv").write_text(header + rows, encoding="utf-8")
    result = runner.invoke(cli.app, ["validate", str(tiny_project), "--lang", "en"])
    assert result.exit_code == 2
    assert "30 errors" in result.stdout
    assert "22 (+9)" in result.stdout  # rows 22 to 31 in one summary line


def test_validate_no_project(tmp_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(cli.app, ["validate", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "no project file" in line and "coverage init" in line


def test_main_turns_errors_into_exit_2(monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    from coverage.io.validation import Problem

    def boom() -> None:
        raise ValidationError([Problem("f.csv", 2, "x", "not-a-number", "fix it")])

    monkeypatch.setattr(cli, "app", boom)
    monkeypatch.setattr(cli, "err", Console(width=300, stderr=True))
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == 2
    assert "f.csv, row 2, field 'x'" in capsys.readouterr().err


# --- init -------------------------------------------------------------------------------------


def test_init_writes_the_template(tmp_path: Path, runner: CliRunner) -> None:
    folder = tmp_path / "new" / "city"
    result = runner.invoke(cli.app, ["init", str(folder)])
    assert result.exit_code == 0, result.output
    assert (folder / PROJECT_FILE).read_text(encoding="utf-8") == TEMPLATE
    assert f"coverage validate {folder}" in result.stdout


def test_init_refuses_to_overwrite(tmp_path: Path, runner: CliRunner) -> None:
    (tmp_path / PROJECT_FILE).write_text("# mine\n", encoding="utf-8")
    result = runner.invoke(cli.app, ["init", str(tmp_path)])
    assert result.exit_code == 2
    assert "--force" in result.stderr
    assert (tmp_path / PROJECT_FILE).read_text(encoding="utf-8") == "# mine\n"
    result = runner.invoke(cli.app, ["init", str(tmp_path), "--force"])
    assert result.exit_code == 0
    assert (tmp_path / PROJECT_FILE).read_text(encoding="utf-8") == TEMPLATE


def test_init_then_validate_names_the_missing_files(tmp_path: Path, runner: CliRunner) -> None:
    assert runner.invoke(cli.app, ["init", str(tmp_path)]).exit_code == 0
    result = runner.invoke(cli.app, ["validate", str(tmp_path), "--lang", "en"])
    assert result.exit_code == 2
    assert "[missing-file]" in result.stdout
    assert result.stderr.startswith("error: communities.gpkg: file not found [missing-file]")


# --- tables: translated headers, differences of shares in percentage points -------------------


def _comparison() -> object:
    import pandas as pd

    from coverage.engine.scenario import compare

    def table(cov: float, gap: float, staff: float) -> pd.DataFrame:
        row = {"unit": "全市", "level": "city", "e2sfca_mean_migrant": 0.9, "staff": staff,
               "staff_shortfall": 800 - staff, "coverage_gap_15min": gap}
        row |= {f"coverage_{t}min_migrant": cov - 0.1 * (15 - t) / 5 for t in (5, 10, 15)}
        return pd.DataFrame([row])

    return compare({"baseline": table(0.858, -0.028, 409.0),
                    "recommended": table(0.903, -0.125, 435.0)})


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_comparison_table_in_percentage_points(lang: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    out = Console(width=300, record=True, highlight=False)
    monkeypatch.setattr(cli, "console", out)
    cli._print_comparison(_comparison(), lang, (5.0, 10.0, 15.0))
    text = out.export_text()
    assert "coverage_" not in text and "e2sfca" not in text and "baseline" not in text
    unit = "个百分点" if lang == "zh" else "pp"
    assert f"+4.5 {unit}" in text  # 85.8 % → 90.3 %
    assert f"−9.7 {unit}" in text  # the gap, a difference of shares itself
    assert "+4.5%" not in text and "85.8%" in text and "+26.0" in text
    if lang == "zh":
        assert "15分钟覆盖率（流动人口）" in text and "变化（推荐方案 − 现状）" in text
    else:
        assert "Coverage within 15 min (migrants)" in text
        assert "Change (Recommended − Today)" in text


def test_run_prints_translated_tables(tiny_project: Path, runner: CliRunner) -> None:
    en = runner.invoke(cli.app, ["run", str(tiny_project), "--lang", "en",
                                 "--out", str(tiny_project / "out-en")])
    assert en.exit_code == 0, en.output
    assert "City summary" in en.stdout and "Within 15 min" in en.stdout
    assert "People still needed" in en.stdout and "FTE" in en.stdout
    assert not re.search(r"[\u4e00-\u9fff]", en.stdout.split("City summary")[1])
    zh = runner.invoke(cli.app, ["run", str(tiny_project), "--out", str(tiny_project / "out")])
    assert zh.exit_code == 0, zh.output
    assert "全市概况" in zh.stdout and "15 分钟内覆盖率" in zh.stdout
    assert "尚需服务人数" in zh.stdout
