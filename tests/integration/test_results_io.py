"""Results are written atomically, one run at a time, and never read half-written."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest

from coverage.engine.provenance import listed_layers
from coverage.engine.run import (
    RECOMMENDATION_LAYERS,
    RESULT_LAYERS,
    simulation_layer,
    write_layers,
    write_results,
)
from coverage.io.atomic import ResultsLockedError, folder_lock
from coverage.store.files import csv_ready

SCRIPT = Path(sys.executable).with_name("coverage")

#: A writer in its own process: reads a results.gpkg once, then writes it again and again.
WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from types import SimpleNamespace

    import pyogrio

    from coverage.engine.run import write_results

    source, out, tag = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    layers = {name: pyogrio.read_dataframe(source, layer=name)
              for name, _ in pyogrio.list_layers(source)}
    info = layers["run_info"]
    info.loc[info["key"] == "run_at", "value"] = tag
    layers["district_summary"]["staff"] += 1000.0 if tag == "B" else 0.0
    results = SimpleNamespace(layers=lambda: dict(layers), migrant_access=None)
    print("ready", flush=True)
    while True:
        write_results(results, out)
        print("wrote", flush=True)
""")


def _complete(gpkg: Path) -> dict[str, pd.DataFrame]:
    """Read a snapshot of ``gpkg`` (a hard link: one version) and check it is one whole run."""
    snap = gpkg.with_name(f"snapshot-{threading.get_ident()}.gpkg")
    snap.unlink(missing_ok=True)
    os.link(gpkg, snap)
    try:
        names = [name for name, _ in pyogrio.list_layers(snap)]
        layers = {name: pyogrio.read_dataframe(snap, layer=name) for name in names}
    finally:
        snap.unlink()
    listed = listed_layers(layers["run_info"])
    assert listed is not None and sorted(listed) == sorted(names)
    return layers


def _run_at(layers: dict[str, pd.DataFrame]) -> str:
    info = layers["run_info"]
    return str(info.loc[info["key"] == "run_at", "value"].iloc[0])


@pytest.fixture(scope="module")
def written(small_run, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo city's run written once (not to be changed: see ``previous``)."""
    folder = tmp_path_factory.mktemp("written") / "results"
    write_results(small_run, folder)
    return folder


@pytest.fixture
def previous(written: Path, tmp_path: Path) -> Path:
    """An output folder holding a complete earlier run (a copy of ``written``'s files)."""
    folder = tmp_path / "results"
    shutil.copytree(written, folder, copy_function=shutil.copyfile)
    return folder


def _layer_names(gpkg: Path) -> list[str]:
    return sorted(name for name, _ in pyogrio.list_layers(gpkg))


def _whole(folder: Path, small_run) -> None:
    """The folder holds the whole earlier run: every layer, run_info, every CSV, no left-over."""
    expected = sorted(small_run.layers())
    assert _layer_names(folder / "results.gpkg") == expected
    layers = _complete(folder / "results.gpkg")
    assert len(layers["community_summary"]) == len(small_run.community_summary)
    for name in expected:
        assert len(pd.read_csv(folder / f"{name}.csv", encoding="utf-8-sig")) == len(
            small_run.layers()[name]), name


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError])
@pytest.mark.parametrize("fail_at", [1, 3, 12])
def test_a_failed_write_leaves_the_previous_results_whole(
        small_run, previous: Path, monkeypatch: pytest.MonkeyPatch, error, fail_at):
    real = pyogrio.write_dataframe
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == fail_at:
            raise error("stopped while writing")
        return real(*args, **kwargs)

    before = (previous / "results.gpkg").read_bytes()
    monkeypatch.setattr(pyogrio, "write_dataframe", failing)
    with pytest.raises(error):
        write_results(small_run, previous)
    assert (previous / "results.gpkg").read_bytes() == before
    _whole(previous, small_run)
    assert not list(previous.glob(".partial-*"))


def test_a_failed_write_layers_keeps_the_previous_file(
        small_run, previous: Path, monkeypatch: pytest.MonkeyPatch):
    real = pyogrio.write_dataframe
    extra = {"scenario_comparison": pd.DataFrame({"scenario": ["baseline"], "x": [1.0]}),
             "recommended_staff": pd.DataFrame({"site_id": ["S1"], "new_staff": [2.0]})}

    def failing(table, path, layer, **kwargs):
        if layer == "recommended_staff":
            raise KeyboardInterrupt
        return real(table, path, layer=layer, **kwargs)

    monkeypatch.setattr(pyogrio, "write_dataframe", failing)
    with pytest.raises(KeyboardInterrupt):
        write_layers(extra, previous, files={"recommended_scenario.json": "{}\n"})
    _whole(previous, small_run)
    assert not (previous / "scenario_comparison.csv").exists()
    assert not (previous / "recommended_scenario.json").exists()
    monkeypatch.setattr(pyogrio, "write_dataframe", real)
    write_layers(extra, previous, files={"recommended_scenario.json": "{}\n"})
    assert set(_layer_names(previous / "results.gpkg")) == {*small_run.layers(), *extra}


def test_layers_are_kept_by_name_and_a_new_run_clears_them(small_run, previous: Path):
    comparison = pd.DataFrame({"scenario": ["baseline", "recommended"], "x": [1.0, 2.0]})
    rec = {"recommended_sites": pd.DataFrame({"candidate_id": ["C1"], "staff": [2.0]}),
           "scenario_comparison": comparison}
    write_layers(rec, previous, drop=RECOMMENDATION_LAYERS)
    sim = simulation_layer("新站 A/B")
    assert sim.startswith("simulation_新站_A_B-") and "/" not in sim
    assert simulation_layer("plan_2") == "simulation_plan_2"
    assert simulation_layer("plan 2") != simulation_layer("plan_2")
    write_layers({sim: comparison.assign(scenario=["baseline", "新站 A/B"])}, previous)
    # A staff-only recommendation: the older sites layer goes, the simulation stays.
    write_layers({"recommended_staff": pd.DataFrame({"site_id": ["S1"], "new_staff": [1.0]}),
                  "scenario_comparison": comparison}, previous, drop=RECOMMENDATION_LAYERS)
    names = _layer_names(previous / "results.gpkg")
    assert "recommended_sites" not in names and not (previous / "recommended_sites.csv").exists()
    assert {"recommended_staff", "scenario_comparison", sim} <= set(names)
    assert set(small_run.layers()) <= set(names)
    assert len(pyogrio.read_dataframe(previous / "results.gpkg", layer="community_summary")) == (
        len(small_run.community_summary))
    # A new run is a new baseline: every recommendation and simulation of the old one goes.
    write_results(small_run, previous)
    _whole(previous, small_run)
    assert not (previous / f"{sim}.csv").exists()
    assert not (previous / "recommended_staff.csv").exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_a_killed_writer_leaves_whole_results(small_run, previous: Path, tmp_path: Path, sig):
    script = tmp_path / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    source = tmp_path / "source.gpkg"
    shutil.copyfile(previous / "results.gpkg", source)
    for delay in (0.05, 0.3, 0.55, 0.8, 1.3):
        proc = subprocess.Popen([sys.executable, str(script), str(source), str(previous), "B"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        time.sleep(delay)
        proc.send_signal(sig)
        proc.wait(timeout=60)
        layers = _complete(previous / "results.gpkg")
        assert _run_at(layers) in {_run_at(small_run.layers()), "B"}
        assert sorted(layers) == sorted(small_run.layers())


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_killing_coverage_run_while_it_writes_keeps_the_previous_results(
        small_demo: Path, small_run, previous: Path, sig):
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    gpkg = previous / "results.gpkg"

    def version() -> tuple[int, int] | None:
        try:
            st = gpkg.stat()
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns

    first = version()
    proc = subprocess.Popen([str(SCRIPT), "run", str(small_demo), "--out", str(previous)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 120
        # Writing has begun: a temporary file appears (or, written in place, the file changes).
        while (not list(previous.glob(".partial-*")) and version() == first
               and proc.poll() is None):
            assert time.monotonic() < deadline, "coverage run never started writing"
            time.sleep(0.005)
        proc.send_signal(sig)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    _complete(previous / "results.gpkg")
    assert _layer_names(previous / "results.gpkg") == sorted(small_run.layers())
    if sig == signal.SIGINT:
        assert not list(previous.glob(".partial-*"))
    write_results(small_run, previous)  # the next writer clears a killed one's left-overs
    assert not list(previous.glob(".partial-*"))
    _whole(previous, small_run)


def test_concurrent_writers_never_mix_runs(previous: Path, tmp_path: Path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    source = tmp_path / "source.gpkg"
    shutil.copyfile(previous / "results.gpkg", source)
    base = pyogrio.read_dataframe(source, layer="district_summary")["staff"].sum()
    staff = {"A": base, "B": base + 1000.0 * len(
        pyogrio.read_dataframe(source, layer="district_summary"))}
    env = {**os.environ, "COVERAGE_LOCK_TIMEOUT": "120"}
    procs = [subprocess.Popen([sys.executable, str(script), str(source), str(previous), tag],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env)
             for tag in ("A", "B")]
    seen: set[str] = set()
    try:
        for proc in procs:
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        end = time.monotonic() + 6
        while time.monotonic() < end:
            layers = _complete(previous / "results.gpkg")
            tag = _run_at(layers)
            if tag in staff:
                seen.add(tag)
                assert layers["district_summary"]["staff"].sum() == pytest.approx(staff[tag])
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(timeout=60)
    assert seen, "no writer finished a run in 6 s"


def test_concurrent_write_results_in_threads(small_run, tmp_path: Path):
    folder = tmp_path / "out"
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for _ in range(2):
                write_results(small_run, folder)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors
    _whole(folder, small_run)


def test_the_lock_waits_then_refuses(tmp_path: Path):
    folder = tmp_path / "results"
    messages: list[str] = []
    with folder_lock(folder) as lock:
        with folder_lock(folder):  # the same thread again: no wait
            pass
        outcome: dict[str, BaseException | None] = {}

        def second() -> None:
            try:
                with folder_lock(folder, timeout=0.3, notify=messages.append):
                    outcome["err"] = None
            except ResultsLockedError as exc:
                outcome["err"] = exc

        t = threading.Thread(target=second)
        t.start()
        t.join()
    assert isinstance(outcome["err"], ResultsLockedError)
    assert str(lock) in str(outcome["err"]) and "\n" not in str(outcome["err"])
    assert messages and "another run is writing these results; waiting" in messages[0]

    released = threading.Event()

    def hold() -> None:
        with folder_lock(folder):
            released.wait(0.5)

    t = threading.Thread(target=hold)
    t.start()
    time.sleep(0.1)
    start = time.monotonic()
    with folder_lock(folder, timeout=30, notify=messages.append):
        assert time.monotonic() - start >= 0.2
    t.join()


def test_coverage_run_refuses_while_another_run_writes(small_demo: Path, tmp_path: Path):
    folder = tmp_path / "results"
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "COVERAGE_LOCK_TIMEOUT": "0"}
    with folder_lock(folder):
        done = subprocess.run([str(SCRIPT), "run", str(small_demo), "--out", str(folder)],
                              capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 1, done.stderr
    assert "another run" in done.stderr and ".lock" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (folder / "results.gpkg").exists()


def test_the_report_refuses_an_incomplete_file(small_demo: Path, small_run, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch):
    from coverage.engine.workspace import _current_layers, load_results
    from coverage.io.project import load_project

    project_dir = tmp_path / "project"
    shutil.copytree(small_demo, project_dir, ignore=shutil.ignore_patterns("results"))
    project = load_project(project_dir)
    gpkg = project.output_dir / "results.gpkg"
    write_results(small_run, project.output_dir)
    assert sorted(_current_layers(gpkg, project, "walk")) == sorted(small_run.layers())

    # Half a file: run_info says 13 layers, 12 are there.
    layers = _complete(gpkg)
    gpkg.unlink()
    for name, table in layers.items():
        if name != "community_summary":
            pyogrio.write_dataframe(table, gpkg, layer=name, driver="GPKG")
    assert _current_layers(gpkg, project, "walk") == {}
    # A file without run_info, and one whose run_info does not list its layers.
    gpkg.unlink()
    pyogrio.write_dataframe(layers["community_summary"], gpkg, layer="community_summary",
                            driver="GPKG")
    assert _current_layers(gpkg, project, "walk") == {}
    info = layers["run_info"][layers["run_info"]["key"] != "layers"]
    pyogrio.write_dataframe(info, gpkg, layer="run_info", driver="GPKG")
    assert _current_layers(gpkg, project, "walk") == {}
    gpkg.write_bytes(b"not a geopackage")
    assert _current_layers(gpkg, project, "walk") == {}

    # The report computes the results again rather than dropping sections.
    runs: list[int] = []

    def run_study(*args, **kwargs):
        runs.append(1)
        return small_run

    monkeypatch.setattr("coverage.engine.run.run_study", run_study)  # imported when needed
    monkeypatch.setattr("coverage.network.RoadNetwork.from_study", lambda *a, **k: None)
    got = load_results(project, new_sites=0, new_staff=0)
    assert runs == [1]
    assert sorted(got) == sorted(small_run.layers())
    assert _layer_names(gpkg) == sorted(small_run.layers())


def test_a_new_run_removes_the_old_recommendation(small_run, previous: Path):
    rec = {"recommended_sites": pd.DataFrame({"rank": [1], "name": ["x"]}),
           "recommended_staff": pd.DataFrame({"site_id": ["S1"], "new_staff": [2.0]}),
           "scenario_comparison": pd.DataFrame({"scenario": ["baseline"], "x": [1.0]})}
    write_layers(rec, previous, files={"recommended_scenario.json": "{}\n"})
    assert set(rec) <= set(_layer_names(previous / "results.gpkg"))
    for name in rec:
        assert (previous / f"{name}.csv").exists()
    (previous / "report.html").write_text("kept", encoding="utf-8")
    write_results(small_run, previous)
    assert _layer_names(previous / "results.gpkg") == sorted(small_run.layers())
    for name in rec:
        assert not (previous / f"{name}.csv").exists()
    assert not (previous / "recommended_scenario.json").exists()
    assert (previous / "report.html").read_text(encoding="utf-8") == "kept"


def test_formula_like_text_is_neutralised_in_csv(tmp_path: Path):
    names = ['=HYPERLINK("http://x","y")', "@SUM(A1)", "+1+2", "-3", "\tcmd", "\rcmd",
             "卫生站", None]
    frame = pd.DataFrame({"name": names, "staff": [-1.5, 2, 3, -4, 5, 6, 7, 8],
                          "count": pd.array([1, -2, None, 4, 5, 6, 7, 8], dtype="Int64")})
    ready = csv_ready(frame)
    assert ready["name"].tolist()[:6] == ["'" + n for n in names[:6]]
    assert ready["name"].tolist()[6] == "卫生站" and pd.isna(ready["name"].iloc[7])
    assert ready["staff"].dtype == np.float64 and ready["staff"].iloc[0] == -1.5
    write_layers({"site_catchments": frame}, tmp_path)
    text = (tmp_path / "site_catchments.csv").read_text(encoding="utf-8-sig")
    assert "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"" in text
    assert "'@SUM(A1)" in text and "'+1+2" in text
    back = pd.read_csv(tmp_path / "site_catchments.csv", encoding="utf-8-sig")
    assert back["staff"].tolist() == frame["staff"].tolist()
    assert back["count"].iloc[1] == -2
    assert not any(str(v).startswith(("=", "+", "@", "-", "\t", "\r"))
                   for v in back["name"].dropna())


def test_xlsx_index_sheet_writes_formula_like_text_as_text(tmp_path: Path):
    from coverage.report.content import Report, Section, Table
    from coverage.report.xlsx import write_xlsx

    frame = pd.DataFrame({"name": ["=1+1"], "migrants": [10]})
    table = Table("t", "t", frame, {"name": "Name", "migrants": "Migrants"},
                  {"name": "text", "migrants": "int"}, "community_summary")
    report = Report("en", "=HYPERLINK(\"http://x\")", [("Project", "=cmd|' /C calc'!A0")],
                    [Section("s", "S", tables=[table])], 10, "@note")
    wb = openpyxl.load_workbook(write_xlsx(report, tmp_path / "r.xlsx"))
    about = wb.worksheets[0]
    cells = [c for row in about.iter_rows() for c in row if isinstance(c.value, str)]
    risky = [c for c in cells if c.value.startswith(("=", "+", "-", "@"))]
    assert len(risky) == 3
    assert all(c.data_type == "s" for c in risky)
    assert wb["t"].cell(row=2, column=1).data_type == "s"


def test_private_files_are_owner_only(small_run, tmp_path: Path):
    folder = tmp_path / "results"
    (folder / "private").mkdir(parents=True, mode=0o755)
    os.chmod(folder / "private", 0o755)
    old = os.umask(0o022)
    try:
        write_results(small_run, folder, person_level=True)
    finally:
        os.umask(old)
    private = folder / "private"
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    assert sorted(p.name for p in private.iterdir()) == ["migrant_access.csv", "results.gpkg"]
    for name in ("migrant_access.csv", "results.gpkg"):
        assert stat.S_IMODE((private / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE((folder / "community_summary.csv").stat().st_mode) == 0o644
    assert len(pd.read_csv(private / "migrant_access.csv", encoding="utf-8-sig")) == len(
        small_run.migrant_access)
    assert "migrant_access" not in _layer_names(folder / "results.gpkg")


def test_run_info_lists_the_layers_written(small_run, tmp_path: Path):
    gpkg = write_results(small_run, tmp_path)
    info = pyogrio.read_dataframe(gpkg, layer="run_info")
    assert sorted(listed_layers(info)) == _layer_names(gpkg)
    assert set(RESULT_LAYERS) - {"hotspots", "inflow_trends", "origin_flows", "commute_flows",
                                 "workplace_clusters"} <= set(listed_layers(info))
    assert listed_layers(small_run.run_info) == list(small_run.layers())
