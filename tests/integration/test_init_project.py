"""``coverage init DIR --migrants FILE ...``: a project proposed from its data files."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from rich.console import Console
from typer.testing import CliRunner

from conftest import SHARED
from coverage import cli
from coverage.crs import gcj02_to_bd09, gcj02_to_wgs84, wgs84_to_gcj02
from coverage.init_project import MASK, init_project
from coverage.io.loaders import validate_project
from coverage.io.project import PROJECT_FILE, TEMPLATE, load_project

SCRIPT = Path(sys.executable).with_name("coverage")
OSM = SHARED / "osm" / "guixi_jiangxi.osm"

#: Headers of the demo city renamed to unusual but close ones.
MIGRANT_HEADERS = {"人员编号": "流动人口编号", "经度": "经度(WGS84)", "纬度": "纬度(WGS84)",
                   "社区编码": "所属社区编码"}
SITE_HEADERS = {"站点编码": "网点编号", "名称": "网点名称", "类型": "网点类别",
                "人员": "工作人员数"}
COMMUNITY_HEADERS = {"community_id": "社区代码", "name": "社区名称", "district": "所属区县",
                     "registered_pop": "户籍人口总数"}


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "300", "NO_COLOR": "1"}
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, env=env,
                          timeout=300, check=False)


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setattr(cli, "console", Console(width=300, highlight=False))
    monkeypatch.setattr(cli, "err", Console(width=300, stderr=True, highlight=False))
    return CliRunner()


def _write_sites(frame: pd.DataFrame, path: Path, convert=None) -> None:
    """Write sites (GCJ-02 in ``frame``) as a GB18030 CSV, converting the coordinates."""
    out = frame.copy()
    if convert is not None:
        lon, lat = convert(out["经度"].to_numpy(float), out["纬度"].to_numpy(float))
        out["经度"], out["纬度"] = np.round(lon, 6), np.round(lat, 6)
    out = out.rename(columns=SITE_HEADERS)
    path.write_bytes(out.to_csv(index=False).encode("gb18030"))


@pytest.fixture(scope="module")
def city_files(small_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo city's files, renamed, with unusual headers and three versions of sites."""
    data = tmp_path_factory.mktemp("city_files") / "data"
    data.mkdir()
    migrants = pd.read_csv(small_demo / "migrants.csv", dtype=str, keep_default_na=False,
                           encoding="utf-8-sig")
    migrants.rename(columns=MIGRANT_HEADERS).to_csv(data / "流动人口2024.csv", index=False,
                                                     encoding="utf-8-sig")
    sites = pd.read_csv(small_demo / "sites.csv", dtype=str, keep_default_na=False,
                        encoding="gb18030")
    _write_sites(sites, data / "网点_gcj02.csv")
    _write_sites(sites, data / "网点_bd09.csv", gcj02_to_bd09)
    _write_sites(sites, data / "网点_wgs84.csv", gcj02_to_wgs84)
    comm = gpd.read_file(small_demo / "communities.gpkg").rename(columns=COMMUNITY_HEADERS)
    comm.to_file(data / "社区边界.gpkg", driver="GPKG")
    for name in ("network.gpkg", "registered_points.gpkg", "candidates.geojson"):
        shutil.copy(small_demo / name, data / name)
    return data


def _files(data: Path, sites: str = "网点_gcj02.csv") -> dict[str, Path]:
    return {"migrants": data / "流动人口2024.csv", "sites": data / sites,
            "communities": data / "社区边界.gpkg", "network": data / "network.gpkg",
            "registered_points": data / "registered_points.gpkg",
            "candidates": data / "candidates.geojson"}


def _options(files: dict[str, Path]) -> list[str]:
    return [a for name, path in files.items() for a in (f"--{name.replace('_', '-')}",
                                                        str(path))]


# --- the demo city ----------------------------------------------------------------------------


def test_init_proposes_a_valid_project_for_the_demo_city(city_files: Path) -> None:
    folder = city_files.parent / "project"
    start = time.perf_counter()
    done = run_script("init", str(folder), *_options(_files(city_files)), "--lang", "en")
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "0 errors" in done.stdout
    assert seconds < 60
    text = (folder / PROJECT_FILE).read_text(encoding="utf-8")
    data = tomllib.loads(text)
    layers = data["layers"]
    # Paths relative to the project folder.
    assert layers["migrants"]["path"] == "../data/流动人口2024.csv"
    assert load_project(folder).layers["sites"].path == city_files / "网点_gcj02.csv"
    # Encodings and coordinate systems.
    assert layers["migrants"]["encoding"] == "utf-8"
    assert layers["sites"]["encoding"] == "gb18030"
    assert layers["migrants"]["crs"] == "wgs84"
    assert layers["sites"]["crs"] == "gcj02"
    assert layers["registered_points"]["crs"] == "wgs84"
    assert layers["communities"]["crs"] == "wgs84"
    # The column mapping, close matches included.
    columns = layers["migrants"]["columns"]
    assert columns["person_id"] == "流动人口编号"
    assert columns["lon"] == "经度(WGS84)" and columns["lat"] == "纬度(WGS84)"
    assert columns["community_id"] == "所属社区编码"
    assert columns["work_lon"] == "工作地经度"
    assert layers["sites"]["columns"] == {
        "site_id": "网点编号", "name": "网点名称", "kind": "网点类别", "lon": "经度",
        "lat": "纬度", "staff": "工作人员数", "services": "服务项目",
        "opening_hours": "开放时间"}
    assert layers["communities"]["columns"] == {
        "community_id": "社区代码", "name": "社区名称", "district": "所属区县",
        "street": "street", "registered_pop": "户籍人口总数", "fp_staff": "fp_staff"}
    # Every guess carries a comment, in English and Chinese.
    guessed = [line for line in text.splitlines()
               if re.match(r"(crs|encoding|[a-z_]+) = \"", line) and "path" not in line
               and not line.startswith(("name", "study_crs", "language", "standard", "dir",
                                        "salt_file"))]
    assert len(guessed) > 40
    for line in guessed:
        assert "#" in line, line
    assert re.search(r'person_id = "流动人口编号" +# close match \(0\.\d\d\) for person_id', text)
    sites_crs = next(i for i, line in enumerate(text.splitlines())
                     if line.startswith('crs = "gcj02"'))
    lines = text.splitlines()
    assert "guessed" in lines[sites_crs] and "猜测" in lines[sites_crs + 1]
    # The defaults of the template.
    assert text.endswith(TEMPLATE[TEMPLATE.index("[parameters]"):])
    # Valid with no edit.
    problems = validate_project(folder)
    assert not problems.errors, [str(p) for p in problems.errors]
    # And the validation table was printed as `coverage validate` prints it.
    assert "Input check" in done.stdout or not len(problems)


@pytest.mark.parametrize(("file", "system"), [("网点_bd09.csv", "bd09"),
                                              ("网点_wgs84.csv", "wgs84")])
def test_sites_in_other_systems(city_files: Path, tmp_path: Path, file: str,
                                system: str) -> None:
    result = init_project(tmp_path, _files(city_files, file))
    sites = result.proposal.layers["sites"]
    assert sites.system is not None and sites.system.system == system
    assert sites.system.near[system] == max(sites.system.near.values())
    assert tomllib.loads(result.path.read_text("utf-8"))["layers"]["sites"]["crs"] == system
    assert result.ok, [str(p) for p in result.problems.errors]


def test_a_required_column_without_a_match_exits_2(city_files: Path, tmp_path: Path,
                                                   runner: CliRunner) -> None:
    sites = pd.read_csv(city_files / "网点_gcj02.csv", dtype=str, keep_default_na=False,
                        encoding="gb18030")
    sites.rename(columns={"工作人员数": "备注甲"}).to_csv(tmp_path / "sites.csv", index=False,
                                                    encoding="gb18030")
    files = {**_files(city_files), "sites": tmp_path / "sites.csv"}
    folder = tmp_path / "project"
    result = runner.invoke(cli.app, ["init", str(folder), *_options(files), "--lang", "en"])
    assert result.exit_code == 2, result.output
    first = result.stderr.strip().splitlines()[0]
    assert first.startswith("error: ../sites.csv, row 1, field 'staff': required column "
                            "missing [missing-column]")
    assert "[layers.sites.columns]" in first and "closest:" in first
    assert "[missing-column]" in result.stdout  # the problems table
    text = (folder / PROJECT_FILE).read_text("utf-8")
    assert re.search(r'# staff = "" +# TODO: required, no header matches', text)
    # Listed once, not again by the validation.
    rows = [line for line in result.stdout.splitlines()
            if "[missing-column]" in line and " staff " in line]
    assert len(rows) == 1, result.stdout


def test_an_existing_project_file_is_kept_without_force(city_files: Path, tmp_path: Path,
                                                        runner: CliRunner) -> None:
    (tmp_path / PROJECT_FILE).write_text("# mine\n", encoding="utf-8")
    args = ["init", str(tmp_path), *_options(_files(city_files)), "--lang", "en"]
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 2
    assert "already exists" in result.stderr and "--force" in result.stderr
    assert (tmp_path / PROJECT_FILE).read_text(encoding="utf-8") == "# mine\n"
    result = runner.invoke(cli.app, [*args, "--force"])
    assert result.exit_code == 0, result.output
    assert "[layers.migrants]" in (tmp_path / PROJECT_FILE).read_text(encoding="utf-8")


def test_a_missing_required_layer_is_named(city_files: Path, tmp_path: Path,
                                           runner: CliRunner) -> None:
    files = _files(city_files)
    del files["sites"]
    result = runner.invoke(cli.app, ["init", str(tmp_path), *_options(files)])
    assert result.exit_code == 2
    assert "sites" in result.stderr and "--sites FILE" in result.stderr
    assert not (tmp_path / PROJECT_FILE).exists()


def test_a_workbook_with_a_title_row(city_files: Path, tmp_path: Path) -> None:
    from openpyxl import Workbook

    sites = pd.read_csv(city_files / "网点_gcj02.csv", dtype=str, keep_default_na=False,
                        encoding="gb18030")
    book = Workbook()
    sheet = book.active
    sheet.title = "网点"
    sheet.append(["2024年服务网点名录"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(sites.columns))
    sheet.append(list(sites.columns))
    for row in sites.itertuples(index=False):
        sheet.append(list(row))
    book.save(tmp_path / "网点.xlsx")
    result = init_project(tmp_path / "project", {**_files(city_files),
                                                  "sites": tmp_path / "网点.xlsx"})
    layer = result.proposal.layers["sites"]
    assert layer.header_row == 2 and layer.label == "../网点.xlsx[网点]"
    assert layer.system is not None and layer.system.system == "gcj02"
    data = tomllib.loads(result.path.read_text("utf-8"))["layers"]["sites"]
    assert data["header_row"] == 2 and "encoding" not in data
    assert result.ok, [str(p) for p in result.problems.errors]


# --- a real OpenStreetMap extract -------------------------------------------------------------


def _near_roads(links: gpd.GeoDataFrame, n: int, low: float, high: float,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` WGS-84 points ``low``–``high`` m to the side of the links (length-weighted)."""
    lines = links.geometry.to_numpy()
    weight = shapely.length(lines) / shapely.length(lines).sum()
    pick = rng.choice(len(lines), n, p=weight)
    at = rng.uniform(0.1, 0.9, n)
    a = shapely.line_interpolate_point(lines[pick], at - 0.05, normalized=True)
    b = shapely.line_interpolate_point(lines[pick], at + 0.05, normalized=True)
    mid = shapely.line_interpolate_point(lines[pick], at, normalized=True)
    dx, dy = shapely.get_x(b) - shapely.get_x(a), shapely.get_y(b) - shapely.get_y(a)
    norm = np.hypot(dx, dy)
    norm[norm == 0] = 1.0
    side = rng.choice([-1.0, 1.0], n) * rng.uniform(low, high, n)
    x = shapely.get_x(mid) - dy / norm * side
    y = shapely.get_y(mid) + dx / norm * side
    points = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=links.crs).to_crs(4326)
    return points.x.to_numpy(), points.y.to_numpy()


@pytest.mark.skipif(not OSM.exists(), reason=f"the OpenStreetMap extract {OSM} is absent "
                    "(reference data shipped beside the project)")
def test_guixi_sites_in_gcj02_and_residences_in_wgs84(tmp_path: Path) -> None:
    from coverage.network import RoadNetwork

    links = RoadNetwork.from_file(OSM, mode="walk").links_frame()
    rng = np.random.default_rng(7)
    lon, lat = _near_roads(links, 400, 5, 50, rng)
    pd.DataFrame({"人员编号": [f"P{i:04d}" for i in range(len(lon))],
                  "经度": lon.round(6), "纬度": lat.round(6)}).to_csv(
        tmp_path / "居住地.csv", index=False, encoding="utf-8-sig")
    slon, slat = wgs84_to_gcj02(*_near_roads(links, 10, 10, 40, rng))
    frame = pd.DataFrame({"站点编码": [f"S{i:02d}" for i in range(10)],
                          "名称": [f"贵溪服务站{i}" for i in range(10)],
                          "类型": "社区卫生服务站", "经度": np.round(slon, 6),
                          "纬度": np.round(slat, 6), "人员": "2"})
    (tmp_path / "网点.csv").write_bytes(frame.to_csv(index=False).encode("gb18030"))
    x0, y0, x1, y1 = links.to_crs(4326).total_bounds
    xs, ys = np.linspace(x0 - 0.01, x1 + 0.01, 3), np.linspace(y0 - 0.01, y1 + 0.01, 3)
    boxes = [shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for i in range(2) for j in range(2)]
    gpd.GeoDataFrame({"社区编码": ["C1", "C2", "C3", "C4"], "社区名称": ["东", "南", "西", "北"],
                      "区县": "贵溪市", "户籍人口": [1000, 2000, 3000, 4000]},
                     geometry=boxes, crs=4326).to_file(tmp_path / "社区.geojson",
                                                       driver="GeoJSON")
    result = init_project(tmp_path / "project", {
        "migrants": tmp_path / "居住地.csv", "sites": tmp_path / "网点.csv",
        "communities": tmp_path / "社区.geojson", "network": OSM})
    layers = result.proposal.layers
    assert layers["migrants"].system.system == "wgs84"
    assert layers["migrants"].system.confident
    assert layers["sites"].system.system == "gcj02"
    assert layers["sites"].encoding == "gb18030"
    assert result.ok, [str(p) for p in result.problems.errors]
    data = tomllib.loads(result.path.read_text("utf-8"))
    assert data["layers"]["network"]["path"] == OSM.as_posix() or \
        (result.path.parent / data["layers"]["network"]["path"]).resolve() == OSM.resolve()


# --- the web app's import page: its state, without a browser -----------------------------------


def test_import_state_uploads_maps_validates_and_saves(city_files: Path, small_demo: Path,
                                                       tmp_path: Path) -> None:
    from coverage_app.import_state import MAX_UPLOAD_BYTES, ImportState

    state = ImportState(tmp_path / "imports", network=small_demo / "network.gpkg", lang="en")
    # Refused: another type, too large; the upload's own path is never used.
    assert not state.upload("sites", "sites.exe", b"x")
    assert "takes .csv" in state.message
    assert not state.upload("sites", "big.csv", b"0" * (MAX_UPLOAD_BYTES + 1))
    assert "limit" in state.message
    upload = {"migrants": "流动人口2024.csv", "sites": "网点_gcj02.csv",
              "communities": "社区边界.gpkg", "candidates": "candidates.geojson"}
    for layer, name in upload.items():
        assert state.upload(layer, f"../../{name}", (city_files / name).read_bytes())
    assert sorted(p.name for p in state.staging.iterdir()) == [
        "candidates.geojson", "communities.gpkg", "migrants.csv", "sites.csv"]
    assert state.layers() == ["migrants", "sites", "communities", "network", "candidates"]
    assert state.system("sites")[0] == "gcj02" and state.system("migrants")[0] == "wgs84"
    summary = state.summary()
    assert list(summary["file"]) == ["migrants.csv", "sites.csv", "communities.gpkg",
                                     "the current project's network", "candidates.geojson"]
    # The preview masks every personal cell; the mapping offers the file's headers.
    preview = state.preview("migrants")
    assert set(preview["流动人口编号"]) == {MASK} and set(preview["经度(WGS84)"]) == {MASK}
    rows = {r["field"]: r for r in state.mapping("migrants")}
    assert rows["person_id"]["header"] == "流动人口编号" and rows["person_id"]["required"]
    assert rows["sex"]["options"][0] == "" and "性别" in rows["sex"]["options"]
    # Choices: unmap an optional column, declare a system; then validate and save.
    state.set_column("migrants", "sex", "")
    state.set_system("candidates", "wgs84")
    assert state.proposal.layers["candidates"].system.how == "user"
    problems = state.validate()
    assert state.validated and not problems.errors, [str(p) for p in problems.errors]
    assert not state.save() and "name" in state.message  # a name is needed
    state.project_name = "新城 2025/../x"
    path = state.save()
    assert path is not None and path.parent == tmp_path / "imports" / "新城_2025_x"
    assert state.saved == "新城_2025_x" and "Saved as project" in state.message
    data = tomllib.loads(path.read_text("utf-8"))
    assert data["project"]["name"] == "新城 2025/../x"
    assert data["layers"]["sites"]["path"] == "sites.csv"
    assert "sex" not in data["layers"]["migrants"]["columns"]
    assert (path.parent / data["layers"]["network"]["path"]).resolve() == \
        (small_demo / "network.gpkg").resolve()
    assert not validate_project(path).errors
    assert not (tmp_path / "imports" / ".staging").exists() or not any(
        (tmp_path / "imports" / ".staging").iterdir())
    # Never over an existing project.
    other = ImportState(tmp_path / "imports", network=small_demo / "network.gpkg", lang="en")
    for layer, name in upload.items():
        other.upload(layer, name, (city_files / name).read_bytes())
    other.project_name = "新城_2025_x"
    assert other.save() is None and "exists already" in other.message
    frame = other.problem_frame()
    assert list(frame.columns) == ["severity", "file", "row", "field", "rule", "hint"]


def test_import_view_follows_the_language(city_files: Path, small_demo: Path,
                                          tmp_path: Path) -> None:
    from coverage_app.import_state import ImportState
    from coverage_app.import_view import ImportView

    state = ImportState(tmp_path, network=small_demo / "network.gpkg", lang="zh")
    view = ImportView(state)
    assert view.title == "导入数据"
    state.upload("sites", "s.csv", (city_files / "网点_gcj02.csv").read_bytes())
    assert [w.value for w, _ in view._fields.values()][:2] == ["网点编号", "网点名称"]
    assert view.crs.value == "gcj02"
    state.lang = "en"
    assert view.title == "Import data"
    import panel as pn

    buttons = [b.name for b in view.body.select(pn.widgets.Button)]
    assert buttons == ["Validate", "Save the project"]
    # Rebuilding the widgets declares nothing: the guess stays a guess.
    assert view.crs.value == "gcj02" and state.proposal.layers["sites"].system.how != "user"


def test_import_state_without_a_required_layer(small_demo: Path, tmp_path: Path) -> None:
    from coverage_app.import_state import ImportState

    state = ImportState(tmp_path, network=None, lang="zh")
    state.upload("sites", "s.csv", (small_demo / "sites.csv").read_bytes())
    state.validate()
    assert state.message.startswith("错误") and "migrants" in state.message
    assert state.save() is None


# --- the web app's import page in a real browser ------------------------------------------------


@pytest.fixture(scope="module")
def app_server(app_url: str) -> str:
    return app_url + "/"


@pytest.mark.browser
@pytest.mark.skipif(shutil.which("chromium") is None and shutil.which("chromium-browser") is None,
                    reason="Debian's chromium is not installed (.ci/run does)")
def test_import_page_in_a_browser(app_server: str, demo_city: Path, city_files: Path,
                                  tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    from browser import ARGS, CHROMIUM
    from test_app import _screenshot

    migrants = pd.read_csv(city_files / "流动人口2024.csv", dtype=str, encoding="utf-8-sig")
    ids = set(migrants["流动人口编号"])
    coordinates = set(migrants["经度(WGS84)"].head(200)) | set(migrants["纬度(WGS84)"].head(200))
    received: list[str] = []
    errors: list[str] = []
    target = demo_city / "imports" / "导入测试"
    shutil.rmtree(target, ignore_errors=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("websocket", lambda ws: ws.on(
                "framereceived", lambda frame: received.append(
                    frame if isinstance(frame, str) else frame.decode("utf-8", "replace"))))
            page.route("http*://*.openstreetmap.org/**", lambda route: route.abort())
            page.goto(app_server)
            page.wait_for_selector(".cov-card[data-key=coverage]", timeout=60_000)
            page.get_by_text("导入数据", exact=True).first.click()  # the header's link
            page.wait_for_url("**/import?lang=zh")
            name = page.locator(".cov-import-name input")
            name.fill("导入测试")
            name.press("Enter")
            status = page.locator(".cov-import-status")
            for layer, file in (("migrants", "流动人口2024.csv"), ("sites", "网点_gcj02.csv"),
                                ("communities", "社区边界.gpkg"),
                                ("candidates", "candidates.geojson")):
                page.locator(f".cov-upload-{layer} input[type=file]").set_input_files(
                    city_files / file)
                expect(page.locator(".cov-import-summary")).to_contain_text(
                    Path(file).suffix, timeout=60_000)
            expect(status).to_contain_text("已读取 5 个图层", timeout=60_000)
            summary = page.locator(".cov-import-summary")
            expect(summary).to_contain_text("gcj02（推断）")
            expect(summary).to_contain_text("当前项目的路网")
            # The migrants: the preview masks them; the mapping's guesses are preselected.
            page.get_by_role("button", name="流动人口（必需）").click()
            preview = page.locator(".cov-import-preview")
            expect(preview).to_contain_text("流动人口编号")
            assert "•••" in preview.inner_text()
            person = page.locator(".cov-map-person_id select")
            expect(person).to_have_value("流动人口编号")
            sex = page.locator(".cov-map-sex select")
            expect(sex).to_have_value("性别")
            sex.select_option(label="— 无 —")  # the option's value is its label in the page
            expect(sex).to_have_value("— 无 —")
            expect(page.get_by_text("用户选择").first).to_be_visible()
            # The communities: declare the coordinate system.
            page.get_by_role("button", name="社区边界（必需）").click()
            crs = page.locator(".cov-import-crs select")
            expect(crs).to_have_value("wgs84")
            crs.select_option(value="cgcs2000")
            expect(page.locator(".cov-import-why")).to_contain_text("用户选择")
            # Validate, then save.
            page.locator(".cov-import-validate button").click()
            expect(status).to_contain_text("0 个错误", timeout=120_000)
            page.locator(".cov-import-save button").click()
            expect(status).to_contain_text("已保存为项目 导入测试", timeout=120_000)
            expect(page.locator(".cov-import-problems")).to_be_visible()
            page.locator(".cov-import-save").scroll_into_view_if_needed()
            page.screenshot(path=str(tmp_path / "import-zh.png"), full_page=True)
            _screenshot(page, "app-import-zh.png")
            # In English, then back to the map page in the language chosen here.
            page.get_by_text("English", exact=True).first.click()
            expect(page.locator(".cov-import-validate button")).to_have_text("Validate")
            page.get_by_text("← Back to the map").click()
            page.wait_for_url("**/?lang=en")
            expect(page.locator(".cov-card[data-key=coverage]")).to_contain_text(
                "Migrants within", timeout=60_000)
        finally:
            browser.close()
    assert not errors, errors
    # Nothing personal was sent to the browser (frames decoded: JSON escapes, HTML entities).
    def readable(frame: str) -> str:
        try:
            frame = json.dumps(json.loads(frame), ensure_ascii=False)
        except ValueError:
            return html.unescape(frame)
        return html.unescape(frame)

    frames = "\n".join(readable(f) for f in received)
    assert "流动人口编号" in frames  # headers are
    assert not [i for i in list(ids)[:2000] if i in frames]
    assert not [c for c in coordinates if c in frames]
    # The project saved on the server, under the configured folder, is valid as it is.
    path = target / PROJECT_FILE
    data = tomllib.loads(path.read_text("utf-8"))
    assert data["project"]["name"] == "导入测试"
    assert data["layers"]["sites"]["crs"] == "gcj02"
    assert data["layers"]["communities"]["crs"] == "cgcs2000"
    assert "sex" not in data["layers"]["migrants"]["columns"]
    assert data["layers"]["migrants"]["columns"]["person_id"] == "流动人口编号"
    assert sorted(p.name for p in target.iterdir() if not p.name.startswith(".")) == [
        "candidates.geojson", "communities.gpkg", "migrants.csv", "project.toml", "sites.csv"]
    assert not validate_project(path).errors


@pytest.mark.parametrize("communities_as_table", [True, False])
def test_init_on_the_guixi_project_files_validates_with_no_edit(
        tmp_path: Path, communities_as_table: bool) -> None:
    """The real-data project's files (GB18030 sites in GCJ-02 with headers that need a mapping,
    migrants with required columns only, communities as a table) become a valid project."""
    from coverage.engine.preflight import check_project
    from realdata import GUIXI_OSM, build_guixi_project

    if not GUIXI_OSM.exists():
        pytest.skip(f"reference data not found at {GUIXI_OSM}")
    data = build_guixi_project(tmp_path / "data", seed=1,
                               communities_as_table=communities_as_table)
    communities = data / ("communities.csv" if communities_as_table else "communities.geojson")
    done = run_script("init", str(tmp_path / "new"), "--migrants", str(data / "migrants.csv"),
                      "--sites", str(data / "sites.csv"), "--communities", str(communities),
                      "--network", str(data / "guixi_jiangxi.osm"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    project = load_project(tmp_path / "new")
    assert project.layers["sites"].crs == "gcj02"
    assert project.layers["migrants"].crs == "wgs84"
    assert project.layers["sites"].encoding == "gb18030"
    assert project.layers["sites"].columns["staff"] == "在编人数"
    assert project.layers["sites"].columns["site_id"] == "机构代码"
    problems = check_project(project)
    assert not problems.errors, [str(p) for p in problems.errors]
    assert run_script("run", str(tmp_path / "new")).returncode == 0
