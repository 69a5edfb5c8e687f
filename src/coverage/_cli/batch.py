"""``coverage batch DIR --cluster local|tcp://host:port``: every city of a province at once.

Runs each project under ``DIR`` as one task on a Dask cluster
(:func:`coverage.engine.batch.run_batch`), shows a bar of the cities done, then a table of
every city (its status, time and headline figures, numbers right-aligned) and the one line of
each city without results, and writes the province table
(:func:`coverage.engine.batch.write_province`) and the province report in ``--lang``
(:func:`coverage.report.province.write_province_report`: HTML, XLSX and PDF) into ``--out``.
Exit 0 when every city ran, 1 when one or more did not (the others' results are
kept and in the table), 2 for a bad folder or option; never a traceback: an unexpected error
in a city goes to a private log file named on its line.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, NoReturn

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from coverage._cli.logs import log_details
from coverage._cli.options import Lang, Mode
from coverage._cli.steps import mark, steps

__all__ = ["batch"]

console = Console()
err = Console(stderr=True)

_HEAD = {
    "zh": ("城市", "文件夹", "状态", "用时（秒）", "流动人口", "覆盖率", "人员缺口", "完成",
           "失败"),
    "en": ("City", "Folder", "Status", "Time (s)", "Migrants", "Coverage", "Staff shortfall",
           "done", "failed"),
}


def _fail(message: str, code: int) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _number(value: object, spec: str) -> str:
    """Format a figure with ``spec``; ``—`` for one not published (a small cell) or missing."""
    return "—" if pd.isna(value) else format(float(value), spec)


def _table(result: object, lang: str) -> Table:
    """Return the cities' table: status, time, migrants, coverage and staff shortfall.

    Numbers are right-aligned.
    """
    head = _HEAD[lang]
    table = Table(title=f"{head[7]} {len(result.outcomes) - len(result.failed)}"
                  f" / {len(result.outcomes)}")
    for k, name in enumerate(head[:7]):
        table.add_column(name, justify="right" if k >= 3 else "left")
    for o in result.outcomes:
        if o.ok:
            r = o.row.iloc[0]
            table.add_row(escape(o.name), escape(o.folder), "[green]✔[/green]",
                          f"{o.seconds:.1f}", _number(r["migrants"], ",.0f"),
                          _number(r["coverage_migrant"], ".1%"),
                          _number(r["staff_shortfall"], ",.1f"))
        else:
            table.add_row(escape(o.name), escape(o.folder), f"[red]✘ {head[8]}[/red]",
                          "" if o.seconds != o.seconds else f"{o.seconds:.1f}", "", "", "")
    return table


def _report(result: object, folder: Path, lang: str) -> tuple[dict[str, Path], list[str]]:
    """Write the province report; a PDF without a CJK font is a note, not a failure.

    Any other report error prints its one line and exits 1 (the province's CSV files are
    written).
    """
    from coverage.report import ReportError, write_province_report

    notes: list[str] = []
    try:
        with steps("province report") as step:
            return write_province_report(result, folder, lang=lang, progress=step,
                                         on_pdf_error=lambda exc: notes.append(str(exc))), notes
    except ReportError as exc:
        _fail(str(exc), 1)


def batch(
    folder: Annotated[Path, typer.Argument(help="Folder holding one project per city.")],
    cluster: Annotated[str, typer.Option(
        help="local (worker processes on this machine) or the address of a running Dask "
        "scheduler, tcp://host:port, whose workers see the same folders.")] = "local",
    workers: Annotated[int | None, typer.Option(
        min=1, help="Worker processes of a local cluster (default: one per core).")] = None,
    mode: Annotated[Mode, typer.Option(help="Travel mode of every city.")] = Mode.walk,
    out: Annotated[Path | None, typer.Option(
        help="Folder for the province table and report (default: DIR/province-results).")
    ] = None,
    lang: Annotated[Lang, typer.Option(
        help="Language of the table printed and of the province report.")] = Lang.zh,
) -> None:
    """Run every city's project under a folder on a Dask cluster (全省批量运行).

    Writes the province table (CSV) and the province report in HTML, XLSX and PDF
    (全省汇总报告: each city's coverage, staffing, indicators and funding side by side, and
    the cities without results) into --out.
    """
    from coverage.engine.batch import ClusterError, find_projects, run_batch, write_province
    from coverage.engine.cluster import parse_cluster

    start = time.perf_counter()
    try:
        parse_cluster(cluster)
        cities = len(find_projects(folder))
    except (ValueError, ClusterError) as exc:
        _fail(str(exc), 2)
    mark("batch: running the cities")
    with Progress(TextColumn("cities"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("cities", total=cities)
        try:
            result = run_batch(folder, cluster=cluster, workers=workers, mode=mode.value,
                               progress=lambda _o, done, _n: bar.update(task, completed=done))
        except ClusterError as exc:
            _fail(str(exc), 1)
    mark("batch: writing the province table")
    folder_out = out or Path(folder) / "province-results"
    paths = write_province(result, folder_out)
    console.print(_table(result, lang.value))
    for o in result.failed:
        log = log_details(o.details, f"{o.folder}: {o.step}") if o.details else None
        kept = f"; the details are in {log}" if log else ""
        err.print(f"[red]{escape(o.folder)}:[/red] {escape(o.error or '')}{escape(kept)}",
                  highlight=False, soft_wrap=True)
    reports, notes = _report(result, folder_out, lang.value)
    for path in [*paths.values(), *reports.values()]:
        console.print(f"{path}", highlight=False)
    for note in notes:  # the font hint, beside the reports
        console.print(f"[yellow]note:[/yellow] {escape(note)}", highlight=False, soft_wrap=True)
    console.print(f"done in {time.perf_counter() - start:.1f} s")
    if result.failed:
        raise typer.Exit(1)
