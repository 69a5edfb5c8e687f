"""``coverage batch DIR --cluster local|tcp://host:port``: every city of a province at once.

Runs each project under ``DIR`` as one task on a Dask cluster
(:func:`coverage.engine.batch.run_batch`), shows a bar of the cities done, then a table of
every city (its status, time and headline figures) and the one line of each city without
results, and writes the province table (:func:`coverage.engine.batch.write_province`) into
``--out``. Exit 0 when every city ran, 1 when one or more did not (the others' results are
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
from coverage._cli.steps import mark

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
    """Return the cities' table: status, time, migrants, coverage and staff shortfall."""
    head = _HEAD[lang]
    table = Table(*head[:7], title=f"{head[7]} {len(result.outcomes) - len(result.failed)}"
                  f" / {len(result.outcomes)}")
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


def batch(
    folder: Annotated[Path, typer.Argument(help="Folder holding one project per city.")],
    cluster: Annotated[str, typer.Option(
        help="local (worker processes on this machine) or the address of a running Dask "
        "scheduler, tcp://host:port, whose workers see the same folders.")] = "local",
    workers: Annotated[int | None, typer.Option(
        min=1, help="Worker processes of a local cluster (default: one per core).")] = None,
    mode: Annotated[Mode, typer.Option(help="Travel mode of every city.")] = Mode.walk,
    out: Annotated[Path | None, typer.Option(
        help="Folder for the province table (default: DIR/province-results).")] = None,
    lang: Annotated[Lang, typer.Option(help="Language of the table printed.")] = Lang.zh,
) -> None:
    """Run every city's project under a folder on a Dask cluster (全省批量运行)."""
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
    paths = write_province(result, out or Path(folder) / "province-results")
    console.print(_table(result, lang.value))
    for o in result.failed:
        log = log_details(o.details, f"{o.folder}: {o.step}") if o.details else None
        kept = f"; the details are in {log}" if log else ""
        err.print(f"[red]{escape(o.folder)}:[/red] {escape(o.error or '')}{escape(kept)}",
                  highlight=False, soft_wrap=True)
    for path in paths.values():
        console.print(f"{path}", highlight=False)
    console.print(f"done in {time.perf_counter() - start:.1f} s")
    if result.failed:
        raise typer.Exit(1)
