"""Command line: demo, run, recommend, simulate, report, exchange, batch, init, validate, runs, db.

The commands are thin: each parses its options, calls the library and prints with rich.
Exit codes: 0 success, 1 a command failed, 2 the inputs, the project file or the command line
are invalid, 130 interrupted. No traceback reaches the user: an unexpected error prints one
line (what failed, in which step, and the log file holding the traceback) and exits 1.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from coverage import __version__, messages
from coverage._cli.assessment import KindOption, assessment_kind, write_assessment
from coverage._cli.batch import batch
from coverage._cli.cluster_options import ClusterOption, PartsOption, WorkersOption, on_cluster
from coverage._cli.db import db_app, runs_app
from coverage._cli.demo import figures_table, partitioned_note, peak_memory_bytes
from coverage._cli.exchange import exchange
from coverage._cli.logs import log_traceback
from coverage._cli.options import Lang, Mode, Objective, Size, StaffObjective
from coverage._cli.progress import compare_runs
from coverage._cli.reports import formats_option, write_reports
from coverage._cli.steps import STEP as _STEP
from coverage._cli.steps import steps as _steps
from coverage._cli.store_options import (
    CompareOption,
    RunOption,
    SchemaOption,
    StoreOption,
    check_run,
    with_store,
)
from coverage._cli.tables import (
    city_table,
    comparison_table,
    frame_table,
    indicator_table,
    layers_table,
    new_sites_table,
    new_staff_table,
    problem_table,
    texts,
)
from coverage.io.atomic import ResultsLockedError, folder_lock
from coverage.io.project import Project, ProjectError, load_project, write_template
from coverage.io.validation import ValidationError

# The commands, and the helpers printing their results, import the parts of the library they
# need inside their bodies, when they run: ``coverage --help`` answers without loading
# geopandas, the road network or matplotlib, and a command loads only what it uses.

app = typer.Typer(
    name="coverage",
    help="Service-coverage planning for migrant family-planning services.\n\n"
    "流动人口计划生育服务覆盖规划工具。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)


def _fail_project(exc: Exception) -> None:
    err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _project(path: Path, store: str | None = None, schema: str | None = None,
             run: str | None = None) -> Project:
    """Parse the project file (with a store given), or print its one-line error and exit 2."""
    try:
        check_run(run)
        return with_store(load_project(path), store, schema)
    except ValueError as exc:  # a ProjectError, or a bad --store, --schema or --run
        _fail_project(exc)
        raise  # not reached: _fail_project exits


@app.command()
def demo(
    size: Annotated[Size, typer.Option(
        help="small (~20k migrants), default (~200k), large (≥1M) or xlarge (10M, for a "
             "partitioned run: built, not run).")] = Size.default,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same city.")] = 0,
    out: Annotated[Path, typer.Option(help="Folder to write the demo project into.")] = Path(
        "demo-city"
    ),
    lang: Annotated[Lang, typer.Option(help="Summary language.")] = Lang.zh,
) -> None:
    """Build the synthetic demo city and run the main job on it (生成演示城市并运行分析)."""
    from coverage.demo import build_demo, project_figures, size_spec
    from coverage.engine.run import run_study, write_results

    start = time.perf_counter()
    if size_spec(size.value).partitioned:  # too large for one process: built, not run
        with _steps(f"demo city ({size.value})") as step:
            build_demo(out, size=size.value, seed=seed, progress=step)
        console.print(figures_table(out, project_figures(out), size=size.value,
                                    seconds=time.perf_counter() - start,
                                    peak_bytes=peak_memory_bytes(), lang=lang.value))
        console.print(f"[yellow]note:[/yellow] {escape(partitioned_note(out, lang.value))}",
                      highlight=False)
        return
    with _steps(f"demo city ({size.value})") as step:
        project_file = build_demo(out, size=size.value, seed=seed, progress=step)
        results = run_study(project_file, progress=step)
        step("writing results")
        target = write_results(results)
        pdf_notes: list[str] = []
        reports = write_reports(results.study.project, ["html", "xlsx", "pdf"], district=None,
                                 lang=lang.value, out=None, step=step, strict=False,
                                 notes=pdf_notes)
    study = results.study
    console.print(layers_table(study, f"{study.project.name} — {project_file}", lang.value))
    _print_summary(results, lang.value)
    for note in [*results.notes, *pdf_notes]:  # the font hint last, beside the reports
        console.print(f"[yellow]note:[/yellow] {escape(note)}", highlight=False)
    console.print(f"reports: {', '.join(str(p) for p in reports.values())}", highlight=False)
    console.print(
        f"study CRS {study.crs.to_string()}; results in {target}; "
        f"done in {time.perf_counter() - start:.1f} s"
    )


@app.command()
def run(
    project: Annotated[Path, typer.Argument(help="Project folder or project.toml.")],
    mode: Annotated[Mode, typer.Option(help="Travel mode.")] = Mode.walk,
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for the results (default: the project's store)."),
    ] = None,
    lang: Annotated[Lang, typer.Option(help="Summary language.")] = Lang.zh,
    person_level: Annotated[bool, typer.Option(
        help="Also write each migrant's travel time (personal data) into private/ of the "
        "output folder (never into a database).")] = False,
    store: StoreOption = None,
    schema: SchemaOption = None,
    cluster: ClusterOption = None,
    workers: WorkersOption = None,
    parts: PartsOption = None,
) -> None:
    """Compute access, staffing, equalization and indicators (计算可达性、人员配置与指标)."""
    from coverage.engine.run import run_study
    from coverage.engine.writing import save_results
    from coverage.store import open_store

    parsed = _project(project, store, schema)
    if out is not None and store is not None:
        _fail_project(ValueError("give --out (a results folder) or --store, not both"))
    if cluster is not None and person_level:
        _fail_project(ValueError("--person-level cannot be used with --cluster: a run by "
                                 "parts keeps no person's travel time in one place"))
    start = time.perf_counter()
    with folder_lock(out or parsed.output_dir, notify=_waiting), _steps("run") as step:
        if out is None and parsed.store_url is not None:  # a store unreachable: said at once
            open_store(parsed).latest_run()
        results = (run_study(parsed, mode=mode.value, progress=step) if cluster is None
                   else on_cluster(parsed, cluster, workers, parts, mode.value, step))
        step("writing results")
        saved = save_results(results, out, person_level=person_level)
    _print_summary(results, lang.value)
    if person_level:
        console.print("[yellow]note:[/yellow] private/ holds personal data (migrant ids): keep "
                      "it inside the service, never publish it")
    for note in results.notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}", highlight=False)
    console.print(f"results: {saved} ({time.perf_counter() - start:.1f} s)", highlight=False)


def _print_summary(results: object, lang: str) -> None:
    """Print the city's summary and indicators, what was not computed, and the shortfall."""
    console.print(city_table(results, lang))
    console.print(indicator_table(results, lang))
    _print_skipped(results.skipped, results.estimated, lang)  # type: ignore[attr-defined]
    city = results.district_summary.iloc[-1]  # type: ignore[attr-defined]
    short = float(city["staff_shortfall"])
    console.print(texts(lang)["shortfall"].format(n=f"{short:,.1f}"), highlight=False)


def _print_skipped(skipped: dict[str, str], estimated: dict[str, str], lang: str) -> None:
    """List the analyses the data did not allow, and those estimated, with the reasons."""
    from coverage.measures.availability import describe

    lines = describe(skipped, lang) + describe(estimated, lang)
    if lines:
        console.print(f"[yellow]{messages.text('availability', 'title', lang)}:[/yellow]",
                      highlight=False)
        for line in lines:
            console.print(f"  - {escape(line)}", highlight=False)


def _print_comparison(table: object, lang: str, thresholds: tuple[float, ...]) -> None:
    """Print a scenario comparison: shares in %, differences of shares in percentage points."""
    console.print(comparison_table(table, lang, thresholds))


@app.command()
def recommend(
    project: Annotated[Path, typer.Argument(help="Project folder or project.toml.")],
    new_sites: Annotated[int, typer.Option(help="New service points to place (0: none).")] = 3,
    new_staff: Annotated[int, typer.Option(help="New staff (FTE) to allocate (0: none).")] = 0,
    objective: Annotated[Objective, typer.Option(
        help="coverage: most migrants within the largest threshold; distance: least total "
        "walking time; target: fewest sites reaching the free-service target.")] = (
        Objective.coverage),
    staff_objective: Annotated[StaffObjective, typer.Option(
        help="shortfall: largest community shortfall first; maxmin: lowest staff per 1,000 "
        "served first.")] = StaffObjective.shortfall,
    relocate: Annotated[int, typer.Option(
        help="Also move up to this many existing staff between service points.")] = 0,
    out: Annotated[Path | None, typer.Option(help="Folder of results.gpkg (default: the "
                                             "project's [outputs] dir).")] = None,
    lang: Annotated[Lang, typer.Option(help="Summary language.")] = Lang.zh,
    store: StoreOption = None,
    schema: SchemaOption = None,
) -> None:
    """Recommend new service points and staff with their expected effect (推荐新增网点与人员)."""
    from coverage.engine.recommend import recommend as recommend_all
    from coverage.engine.run import RECOMMENDATION_LAYERS
    from coverage.engine.scenario import MAX_PLACEMENTS, compare
    from coverage.engine.workspace import keep_layers, scenario_model

    parsed = _project(project, store, schema)
    if min(new_sites, new_staff, relocate) < 0 or (
            new_sites == 0 and new_staff == 0 and relocate == 0
            and objective is not Objective.target):
        err.print("[red]error:[/red] give --new-sites, --new-staff and/or --relocate as whole "
                  "numbers ≥ 1")
        raise typer.Exit(2)
    if new_sites + relocate > MAX_PLACEMENTS:
        err.print(f"[red]error:[/red] --new-sites plus --relocate is {new_sites + relocate:,}, "
                  f"more than the {MAX_PLACEMENTS:,} service points a scenario may add or move")
        raise typer.Exit(2)
    folder = out or parsed.output_dir
    with folder_lock(folder, notify=_waiting), _steps("recommend") as step:
        step("preparing the baseline")
        model = scenario_model(parsed, "walk")  # with the run's clusters when current
        result = recommend_all(model, new_sites=new_sites, new_staff=new_staff,
                               objective=objective.value, staff_objective=staff_objective.value,
                               relocate=relocate, progress=step)
        layers, scenario, tables = result.layers, result.scenario, result.tables
        # The three layers are one recommendation: a part this one does not make is removed.
        target = keep_layers(parsed, layers, folder=out, drop=RECOMMENDATION_LAYERS,
                             files={"recommended_scenario.json": scenario.to_json() + "\n"})
    if "recommended_sites" in layers:
        console.print(new_sites_table(layers["recommended_sites"], lang.value, model.max_t))
    if "recommended_staff" in layers:
        console.print(new_staff_table(layers["recommended_staff"], lang.value))
    costs = {"recommended": layers["recommendation_cost"]}
    _print_comparison(compare(tables, costs=costs), lang.value, model.thresholds)
    console.print(f"results: {target}; scenario: {folder / 'recommended_scenario.json'}")


@app.command()
def simulate(
    project: Annotated[Path, typer.Argument(help="Project folder or project.toml.")],
    scenario_file: Annotated[Path, typer.Argument(help="Scenario JSON file.")],
    out: Annotated[Path | None, typer.Option(help="Folder of results.gpkg (default: the "
                                             "project's [outputs] dir).")] = None,
    lang: Annotated[Lang, typer.Option(help="Summary language.")] = Lang.zh,
    store: StoreOption = None,
    schema: SchemaOption = None,
) -> None:
    """Evaluate a what-if scenario against the baseline (情景模拟)."""
    from coverage.engine.costs import scenario_costs
    from coverage.engine.run import simulation_layer
    from coverage.engine.scenario import Scenario, ScenarioModel, compare, comparison_layer
    from coverage.engine.workspace import keep_layers

    parsed = _project(project, store, schema)
    try:
        scenario = Scenario.from_file(scenario_file)
    except ValueError as exc:
        _fail_project(exc)
        return
    folder = out or parsed.output_dir
    with folder_lock(folder, notify=_waiting), _steps("simulate") as step:
        step("preparing the baseline")
        model = ScenarioModel(parsed)
        changed = sorted(k for k, v in scenario.inputs.items() if model.inputs.get(k) != v)
        step("evaluating the scenario")
        try:
            tables = {"baseline": model.evaluate(), scenario.name: model.evaluate(scenario)}
        except ValueError as exc:
            _fail_project(exc)
            return
        costs = scenario_costs(model, {scenario.name: scenario.edits}, tables)
        # Kept by the scenario's name, beside (never over) the recommendation's comparison.
        layer = simulation_layer(scenario.name)
        target = keep_layers(parsed, {layer: comparison_layer(tables, costs)}, folder=out)
    if changed:
        console.print(f"[yellow]note:[/yellow] the scenario was made on other versions of "
                      f"{', '.join(changed)}; its results may differ from when it was saved")
    _print_comparison(compare(tables, costs=costs), lang.value, model.thresholds)
    console.print(f"results: {target} (layer {escape(layer)})")


def _waiting(message: str) -> None:
    """Say that the command waits for another run writing the same results."""
    err.print(f"[yellow]note:[/yellow] {escape(message)}", highlight=False, soft_wrap=True)


@app.command()
def report(
    project: Annotated[Path, typer.Argument(help="Project folder or project.toml.")],
    district: Annotated[str | None, typer.Option(
        help="Report on this district only (its name as in the communities layer).")] = None,
    format: Annotated[str, typer.Option(
        "--format", help="Formats, comma-separated: html, xlsx, pdf.")] = "html,xlsx,pdf",
    lang: Annotated[Lang | None, typer.Option(
        help="Report language (default: the project's language).")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Folder for the report files (default: the project's [outputs] dir).")] = None,
    mode: Annotated[Mode, typer.Option(help="Travel mode of the results.")] = Mode.walk,
    run: RunOption = None,
    compare: CompareOption = None,
    store: StoreOption = None,
    schema: SchemaOption = None,
    kind: KindOption = None,
) -> None:
    """Write the staffing-recommendation report (生成人员配置建议报告).

    With --compare, the progress between two kept runs instead (两期进展对比); --kind progress
    for the districts' quarterly progress (季度进展报告), --kind self-assessment with --district
    for one district's self-assessment (自查自评报告).
    """
    if compare is not None and run is not None:
        _fail_project(ValueError("--compare and --run cannot be used together: --compare "
                                 "names both runs"))
    parsed = _project(project, store, schema, run)
    formats = formats_option(format)
    start = time.perf_counter()
    with _steps("report") as step:
        if assessment_kind(kind):
            paths = write_assessment(parsed, kind, formats=formats, district=district, run=run,
                                     compare=compare, lang=lang.value if lang else None,
                                     out=out, mode=mode.value, step=step)
        elif compare is not None:
            paths = compare_runs(parsed, compare, formats=formats, district=district,
                                 lang=lang.value if lang else None, out=out, step=step)
        else:
            paths = write_reports(parsed, formats, district=district,
                                   lang=lang.value if lang else None, out=out,
                                   mode=mode.value, step=step, run=run)
    for f, path in paths.items():
        console.print(f"{f.upper()}: {path}", highlight=False)
    console.print(f"done in {time.perf_counter() - start:.1f} s")


@app.command("app")
def app_command(
    project: Annotated[Path | None, typer.Argument(
        help="Project folder or project.toml (default: the demo city, built on first use).")
    ] = None,
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 5006,
    address: Annotated[str, typer.Option(
        help="Address to listen on; beyond this machine (e.g. 0.0.0.0) needs --users.")
    ] = "127.0.0.1",
    show: Annotated[bool, typer.Option(help="Open a browser tab.")] = True,
    allow_origin: Annotated[list[str] | None, typer.Option(
        help="Host:port allowed to open the app (repeat; default this machine only).")] = None,
    users: Annotated[Path | None, typer.Option(
        help="Users file (hashed passwords, see `coverage app-user`): log-in required.")
    ] = None,
    cookie_secret: Annotated[str | None, typer.Option(
        envvar="COVERAGE_COOKIE_SECRET",
        help="Secret signing log-in cookies (at least 32 random characters).")] = None,
    secure_cookies: Annotated[bool, typer.Option(
        "--secure-cookies",
        help="Mark log-in cookies Secure (HTTPS through a proxy; automatic with "
             "X-Forwarded-Proto: https).")] = False,
    processes: Annotated[int, typer.Option(
        min=1, max=64,
        help="Server processes, each building the pages of the sessions it takes (one per "
             "core for many users at once; the results are read once and shared).")] = 1,
) -> None:
    """Serve the planners' web app (启动规划网页应用)."""
    from coverage_app import serve
    from coverage_app.auth import is_local_address

    if users is None and not is_local_address(address):
        err.print(f"[red]error:[/red] --address {escape(address)} opens the app to other "
                  "machines: add a log-in with --users USERS.json, or keep the default "
                  "127.0.0.1", highlight=False, soft_wrap=True)
        raise typer.Exit(2)
    if project is None:
        from coverage.demo import build_demo
        from coverage.engine.run import run_study, write_results

        folder = Path("demo-city")
        if not (folder / "project.toml").exists():
            with _steps("demo city") as step:
                project_file = build_demo(folder, size="default", progress=step)
                write_results(run_study(project_file, progress=step))
        project = folder
    parsed = _project(project)
    host = ("localhost" if is_local_address(address) else
            "<this server>" if address in ("0.0.0.0", "::") else
            f"[{address}]" if ":" in address else address)
    console.print(f"serving {parsed.name} at http://{host}:{port}/", highlight=False)
    try:
        serve(parsed.path, port=port, address=address, show=show,
              allow_origins=allow_origin or None, users_file=users,
              cookie_secret=cookie_secret, secure_cookies=secure_cookies,
              processes=processes)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


@app.command("app-user")
def app_user(
    users: Annotated[Path, typer.Argument(help="Users file (JSON) to create or update.")],
    name: Annotated[str, typer.Argument(help="User name.")],
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin",
        help="Read the password from the first line of stdin instead of asking for it.")
    ] = False,
) -> None:
    """Add a user of the web app, with a hashed password (添加网页应用用户).

    The password (at least 10 characters) is asked for twice, hidden, or read from stdin;
    never given on the command line, where other users of the machine could see it.
    Replacing a user's password, or removing the user from the file, ends their sessions.
    """
    from coverage_app.auth import add_user, check_password, check_user_name

    try:
        check_user_name(name)
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        check_password(password)
        add_user(users, name, password)
    except (ValueError, OSError) as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    console.print(f"{name} added to {users}", highlight=False)


_DataFile = Annotated[Path | None, typer.Option(
    help="Data file of the layer: CSV, XLSX or a spatial file.", show_default=False)]


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="Folder for the new project.")],
    migrants: _DataFile = None,
    sites: _DataFile = None,
    communities: _DataFile = None,
    network: Annotated[Path | None, typer.Option(
        help="Road network: OSM .osm/.osm.pbf, GraphML or OSMnx GeoPackage.",
        show_default=False)] = None,
    registered_points: _DataFile = None,
    candidates: _DataFile = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing project.toml.")] = False,
    lang: Annotated[Lang, typer.Option(help="Message language.")] = Lang.zh,
) -> None:
    """Write project.toml from the data files, or a template (生成项目文件). Exit 2 on errors.

    With data files, every guess (encoding, coordinate system, column) is written with a
    comment and the project is validated; without, a commented template is written.
    """
    given = {"migrants": migrants, "sites": sites, "communities": communities,
             "network": network, "registered_points": registered_points,
             "candidates": candidates}
    files = {name: path for name, path in given.items() if path is not None}
    if not files:
        try:
            target = write_template(folder, overwrite=force)
        except FileExistsError as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
            raise typer.Exit(2) from None  # a usage error: --force is needed
        console.print(
            f"wrote {target}; edit the layer paths and coordinate systems, then run "
            f"`coverage validate {folder}`"
        )
        return
    from coverage.init_project import init_project

    start = time.perf_counter()
    try:
        with _steps("init") as step:
            result = init_project(folder, files, overwrite=force, language=lang.value,
                                  progress=step)
    except FileExistsError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None  # a usage error: --force is needed
    except ValueError as exc:
        _fail_project(exc)
        raise  # not reached: _fail_project exits
    console.print(frame_table(result.proposal.summary(lang.value), str(result.path)))
    if len(result.problems):
        console.print(problem_table(result.problems, lang.value))
    n_err = sum(p.count for p in result.problems.errors)
    n_warn = sum(p.count for p in result.problems.warnings)
    seconds = time.perf_counter() - start
    if lang is Lang.zh:
        console.print(f"已写入 {result.path}（{seconds:.1f} 秒）；{n_err:,} 个错误，"
                      f"{n_warn:,} 个警告；请核对注释中的推断", highlight=False)
    else:
        console.print(f"wrote {result.path} ({seconds:.1f} s); {n_err:,} errors, "
                      f"{n_warn:,} warnings; check the guesses in its comments",
                      highlight=False)
    if n_err:
        first = result.problems.errors[0]
        err.print(f"[red]error:[/red] {escape(str(first))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2)


@app.command()
def validate(
    project: Annotated[Path, typer.Argument(help="Project folder or project.toml.")],
    lang: Annotated[Lang, typer.Option(help="Message language.")] = Lang.zh,
    store: StoreOption = None,
    schema: SchemaOption = None,
) -> None:
    """Check every input layer and list all problems (检查输入数据). Exit 2 on errors."""
    from coverage.engine.preflight import check_project

    parsed = _project(project, store, schema)  # the store's database holds any table layer
    with _steps("validate") as step:
        problems = check_project(parsed, progress=step)
    if len(problems):
        console.print(problem_table(problems, lang.value))
    n_err = sum(p.count for p in problems.errors)
    n_warn = sum(p.count for p in problems.warnings)
    if lang is Lang.zh:
        console.print(f"{n_err:,} 个错误，{n_warn:,} 个警告")
    else:
        console.print(f"{n_err:,} errors, {n_warn:,} warnings")
    if n_err:
        first = next(p for p in problems.errors)
        err.print(f"[red]error:[/red] {escape(str(first))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2)


app.command("exchange")(exchange)  # `coverage exchange PROJECT --out DIR`
app.command("batch")(batch)  # `coverage batch DIR --cluster local`
app.add_typer(runs_app)  # `coverage runs PROJECT`
app.add_typer(db_app)  # `coverage db init URL`


@app.callback(invoke_without_command=True)
def _main(
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    if version:
        console.print(f"coverage-planner {__version__}")
        raise typer.Exit(0)


def main() -> None:
    """Entry point of the ``coverage`` console script."""
    try:
        app()
    except (ValidationError, ProjectError) as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
    except ResultsLockedError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        err.print("[red]interrupted[/red]", highlight=False)
        raise SystemExit(130) from None
    except Exception as exc:  # no traceback reaches the user: one line and a log file
        from coverage.store import StoreError

        if isinstance(exc, StoreError):  # the store's own one line: unreachable, denied, ...
            err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise SystemExit(1) from None
        log = log_traceback(exc, _STEP[0] if _STEP else "-")
        where = f" in step “{_STEP[0]}”" if _STEP else ""
        kept = f"; the details are in {log}" if log else ""
        err.print(f"[red]error:[/red] unexpected {type(exc).__name__}{where}{kept}. Please "
                  "send that file to the developers.", highlight=False, soft_wrap=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
