"""The project file: the template, unknown keys, bad values and relative paths."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import PROJECT_TOML
from coverage import cli
from coverage.io.loaders import load_study, validate_project
from coverage.io.project import (
    DEFAULT_TARGETS,
    PROJECT_FILE,
    TEMPLATE,
    ProjectError,
    load_project,
    write_template,
)
from coverage.io.schema import LAYERS


def write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / PROJECT_FILE).write_text(text, encoding="utf-8")
    return folder


def error_of(folder: Path) -> str:
    with pytest.raises(ProjectError) as info:
        load_project(folder)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{PROJECT_FILE}: ")
    return message


# --- the template -----------------------------------------------------------------------------


def test_template_parses_and_declares_every_required_layer(tmp_path: Path) -> None:
    data = tomllib.loads(TEMPLATE)
    required = {n for n, layer in LAYERS.items() if layer.required} | {"network"}
    assert required <= set(data["layers"])
    for name in required:
        assert data["layers"][name]["path"] and data["layers"][name]["crs"]
    project = load_project(write_template(tmp_path / "p"))
    assert set(project.layers) == required
    assert project.layers["migrants"].crs == "gcj02"
    assert project.layers["sites"].path == (tmp_path / "p" / "sites.xlsx").resolve()
    assert project.parameters.targets == DEFAULT_TARGETS
    assert project.parameters.thresholds_min == (5.0, 10.0, 15.0)
    assert project.min_cell == 10
    assert project.salt_file == (tmp_path / "p" / ".coverage-salt").resolve()


def test_template_reports_the_files_still_to_add(tmp_path: Path) -> None:
    folder = write_template(tmp_path / "p").parent
    problems = validate_project(folder)
    missing = {p.file for p in problems if p.rule == "missing-file"}
    assert missing == {"migrants.csv", "sites.xlsx", "communities.gpkg", "network.gpkg"}
    assert all(p.severity == "error" for p in problems)


def test_init_then_add_files_loads(tmp_path: Path, tiny_project: Path) -> None:
    # a user runs `coverage init`, then points the template at their files
    folder = tmp_path / "mine"
    result = CliRunner().invoke(cli.app, ["init", str(folder)])
    assert result.exit_code == 0, result.output
    text = (folder / PROJECT_FILE).read_text(encoding="utf-8")
    for name in ("migrants.csv", "sites.csv", "communities.geojson", "network.gpkg"):
        (folder / name).write_bytes((tiny_project / name).read_bytes())
    text = text.replace('path = "migrants.csv"\ncrs = "gcj02"',
                        'path = "migrants.csv"\ncrs = "wgs84"')
    text = text.replace('path = "sites.xlsx"', 'path = "sites.csv"')
    text = text.replace('path = "communities.gpkg"', 'path = "communities.geojson"')
    (folder / PROJECT_FILE).write_text(text, encoding="utf-8")
    study = load_study(folder)
    assert len(study.migrants) == 4 and len(study.sites) == 2
    assert study.project.name == "我的城市 My city"


def test_write_template_does_not_overwrite(tmp_path: Path) -> None:
    target = write_template(tmp_path)
    target.write_text("# mine\n", encoding="utf-8")
    with pytest.raises(FileExistsError, match="--force"):
        write_template(tmp_path)
    assert target.read_text(encoding="utf-8") == "# mine\n"
    write_template(tmp_path, overwrite=True)
    assert target.read_text(encoding="utf-8") == TEMPLATE


# --- unknown keys -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key", "suggestion"),
    [
        ("[layers.migrants]", "[layers.migrant]", "migrant", "migrants"),
        ('path = "sites.csv"', 'path = "sites.csv"\nencodeing = "gb18030"', "encodeing",
         "encoding"),
        ("[project]", "[project]\nstudy_src = \"auto\"", "study_src", "study_crs"),
        ("[project]", "[parameters]\nthresholds = [5, 10]\n[project]", "thresholds",
         "thresholds_min"),
        ("[project]", "[parameters.targets]\npolicy_awarness = 0.9\n[project]",
         "policy_awarness", "policy_awareness"),
        ("[project]", "[parameters.speeds_kmh]\nwalking = 4\n[project]", "walking", "walk"),
        ("[project]", "[privacy]\nmin_cells = 10\n[project]", "min_cells", "min_cell"),
        ('path = "sites.csv"', 'path = "sites.csv"\ncolumns = { staf = "人数" }', "staf",
         "staff"),
    ],
)
def test_unknown_key_names_it_and_suggests(tmp_path: Path, old: str, new: str, key: str,
                                           suggestion: str) -> None:
    assert old in PROJECT_TOML
    message = error_of(write(tmp_path, PROJECT_TOML.replace(old, new, 1)))
    assert f"{key!r}" in message
    assert f"did you mean {suggestion!r}?" in message


def test_unknown_key_without_a_close_one_lists_the_valid_ones(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, PROJECT_TOML + "[outputs]\nzzz = 1\n"))
    assert "'zzz'" in message and "valid keys: dir" in message


# --- bad values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("addition", "where", "words"),
    [
        ("[parameters.speeds_kmh]\nwalk = -4.5\n", "[parameters.speeds_kmh] walk",
         ["-4.5", "> 0"]),
        ("[parameters.speeds_kmh]\nebike = 0\n", "[parameters.speeds_kmh] ebike", ["> 0"]),
        ("[parameters.targets]\npolicy_awareness = 90\n", "[parameters.targets] policy_awareness",
         ["90", "0.9"]),
        ("[parameters.staffing]\nstandard = \"per_capita\"\n", "[parameters.staffing] standard",
         ["'per_capita'", "district_registered_ratio"]),
        ("[parameters]\nthresholds_min = []\n", "[parameters] thresholds_min", ["[5, 10, 15]"]),
        ("[parameters]\nthresholds_min = [5, -10]\n", "[parameters] thresholds_min", ["-10"]),
        ("[parameters]\nmax_snap_m = nan\n", "[parameters] max_snap_m", ["not a number"]),
        ("[parameters]\nthresholds_min = [5, inf]\n", "[parameters] thresholds_min",
         ["not a number"]),
        ("[parameters]\nstudy_area_tolerance_m = \"500m\"\n",
         "[parameters] study_area_tolerance_m", ["'500m'", "not a number"]),
        ("[parameters]\nstaffing = 3\n", "[parameters.staffing]", ["table"]),
        ("[privacy]\nmin_cell = 0\n", "[privacy] min_cell", ["≥ 1"]),
        ("[privacy]\nmin_cell = 9.5\n", "[privacy] min_cell", ["whole number"]),
    ],
)
def test_bad_parameter_values(tmp_path: Path, addition: str, where: str,
                              words: list[str]) -> None:
    message = error_of(write(tmp_path, PROJECT_TOML + addition))
    assert f": {where}: " in message
    for word in words:
        assert word in message


@pytest.mark.parametrize(
    ("study_crs", "words"),
    [
        ("EPSG:4326", ["projected CRS in metres", "EPSG:32650"]),
        ("EPSG:4490", ["projected CRS in metres"]),  # CGCS2000 geographic
        ("EPSG:2249", ["projected CRS in metres"]),  # projected, but in US feet
        ("mars", ["not a CRS"]),
    ],
)
def test_bad_study_crs(tmp_path: Path, study_crs: str, words: list[str]) -> None:
    text = PROJECT_TOML.replace('name = "tiny"', f'name = "tiny"\nstudy_crs = "{study_crs}"')
    message = error_of(write(tmp_path, text))
    assert "[project] study_crs" in message and repr(study_crs) in message
    for word in words:
        assert word in message


def test_good_study_crs_is_used(tiny_project: Path) -> None:
    edit = PROJECT_TOML.replace('name = "tiny"', 'name = "tiny"\nstudy_crs = "EPSG:32650"')
    write(tiny_project, edit)
    assert load_study(tiny_project).crs.to_epsg() == 32650
    write(tiny_project, PROJECT_TOML)
    assert load_study(tiny_project).crs.to_epsg() == 32649  # auto: the UTM zone of the data


@pytest.mark.parametrize(
    ("setting", "where", "word"),
    [
        ('crs = "mars"', "[layers.sites] crs", "mars"),
        ('encoding = "klingon"', "[layers.sites] encoding", "klingon"),
        ("encoding = 5", "[layers.sites] encoding", "5"),
        ("header_row = 0", "[layers.sites] header_row", "≥ 1"),
        ("header_row = true", "[layers.sites] header_row", "True"),
        ('repair = "yes"', "[layers.sites] repair", "true or false"),
        ('delimiter = ";;"', "[layers.sites] delimiter", "one character"),
        ("delimiter = 5", "[layers.sites] delimiter", "one character"),
        ("sheet = 1.5", "[layers.sites] sheet", "sheet name"),
        ("sheet = -1", "[layers.sites] sheet", "sheet name"),
        ('columns = { staff = 5 }', "[layers.sites.columns]", "as text"),
    ],
)
def test_bad_layer_settings(tmp_path: Path, setting: str, where: str, word: str) -> None:
    text = PROJECT_TOML.replace('path = "sites.csv"\ncrs = "gcj02"',
                                f'path = "sites.csv"\n{setting}', 1)
    if not setting.startswith("crs"):
        text = text.replace(setting, f'{setting}\ncrs = "gcj02"')
    message = error_of(write(tmp_path, text))
    assert f": {where}: " in message and word in message


def test_layer_without_path_and_missing_layer(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, PROJECT_TOML.replace('path = "sites.csv"\n', "")))
    assert "[layers.sites]" in message and "path" in message
    no_sites = PROJECT_TOML.replace('[layers.sites]\npath = "sites.csv"\ncrs = "gcj02"\n', "")
    message = error_of(write(tmp_path, no_sites))
    assert "'sites' layer is required" in message


def test_syntax_error_and_missing_file(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "[project\nname = 1\n"))
    assert "syntax" in message and "line 1" in message
    with pytest.raises(ProjectError, match="coverage init"):
        load_project(tmp_path / "elsewhere")


def test_crs_names_are_normalised(tmp_path: Path) -> None:
    text = PROJECT_TOML.replace('crs = "gcj02"', 'crs = "高德"').replace(
        'path = "migrants.csv"\ncrs = "wgs84"', 'path = "migrants.csv"\ncrs = "WGS-84"')
    project = load_project(write(tmp_path, text))
    assert project.layers["sites"].crs == "gcj02"
    assert project.layers["migrants"].crs == "wgs84"


# --- paths ------------------------------------------------------------------------------------


def test_paths_resolve_relative_to_the_project_file(
    tiny_project: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tiny_project / "data"
    data.mkdir()
    (tiny_project / "sites.csv").rename(data / "sites.csv")
    write(tiny_project, PROJECT_TOML.replace('path = "sites.csv"', 'path = "data/sites.csv"'))
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(elsewhere)
    project = load_project(tiny_project / PROJECT_FILE)
    assert project.layers["sites"].path == (data / "sites.csv").resolve()
    assert project.layers["sites"].source == "data/sites.csv"  # as written, for messages
    study = load_study(tiny_project)
    assert len(study.sites) == 2
    assert not (elsewhere / ".coverage-salt").exists()
    # a relative project path is relative to the working directory, the data to the project
    monkeypatch.chdir(tiny_project.parent)
    assert len(load_study(Path(tiny_project.name)).sites) == 2
    result = CliRunner().invoke(cli.app, ["validate", tiny_project.name])
    assert result.exit_code == 0, result.output


def test_missing_data_file_is_named_as_written(tiny_project: Path) -> None:
    write(tiny_project, PROJECT_TOML.replace('path = "sites.csv"', 'path = "data/sites.csv"'))
    (p,) = validate_project(tiny_project)
    assert (p.file, p.rule) == ("data/sites.csv", "missing-file")
    assert "relative to the project file" in p.hint


def test_outputs_and_salt_are_next_to_the_project(tiny_project: Path) -> None:
    text = PROJECT_TOML + '[privacy]\nsalt_file = "secret/salt"\n[outputs]\ndir = "out"\n'
    project = load_project(write(tiny_project, text))
    assert project.salt_file == (tiny_project / "secret" / "salt").resolve()
    assert project.output_dir == (tiny_project / "out").resolve()


# --- the CLI on a bad project file ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (PROJECT_TOML.replace("[layers.migrants]", "[layers.migrant]"),
         ["'migrant'", "'migrants'"]),
        (PROJECT_TOML + "[parameters.targets]\nfree_service_local = 95\n",
         ["free_service_local", "0.9"]),
        ("[project\n", ["syntax"]),
    ],
)
def test_validate_bad_project_exits_2_with_one_line(tmp_path: Path, text: str,
                                                    words: list[str]) -> None:
    folder = write(tmp_path, text)
    result = CliRunner().invoke(cli.app, ["validate", str(folder)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: project.toml: ")
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in result.output


def test_mercator_study_crs_is_refused(tmp_path: Path) -> None:
    from coverage.io.project import ProjectError, load_project

    (tmp_path / "project.toml").write_text(
        '[project]\nstudy_crs = "EPSG:3857"\n[layers.migrants]\npath = "m.csv"\ncrs = "wgs84"\n'
        '[layers.sites]\npath = "s.csv"\ncrs = "wgs84"\n[layers.communities]\npath = "c.gpkg"\n'
        '[layers.network]\npath = "n.gpkg"\n', encoding="utf-8")
    with pytest.raises(ProjectError, match="Mercator"):
        load_project(tmp_path)
