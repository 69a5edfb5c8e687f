"""``coverage exchange PROJECT --out DIR``: the origin-area exchange packs (区域协作双向管理).

Builds the packs (:func:`coverage.engine.exchange.project_exchange`) and writes them
(:func:`coverage.report.exchange.write_exchange`): one XLSX and one CSV per origin province or
prefecture, and the city's cooperation list. Errors are one line: a project whose migrants
hold no origin codes exits 2 (its inputs do not allow the packs), a pack that cannot be written
exits 1. Column layout: ``docs/exchange.md``.
"""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from coverage._cli.options import Lang, Mode
from coverage._cli.steps import mark, steps
from coverage.io.project import load_project

__all__ = ["Level", "exchange"]

console = Console()
err = Console(stderr=True)


class Level(StrEnum):
    """Levels of the origins a pack is made for."""

    province = "province"
    prefecture = "prefecture"


def _fail(message: str, code: int) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def exchange(
    project: Annotated[Path, typer.Argument(help="Project folder or project.toml.")],
    out: Annotated[Path, typer.Option(
        help="Folder for the packs (created readable by its owner only).")],
    lang: Annotated[Lang, typer.Option(help="Language of the sheets and headers.")] = Lang.zh,
    level: Annotated[Level, typer.Option(
        help="province: one pack per origin province; prefecture: per prefecture where the "
        "six-digit codes name one.")] = Level.province,
    mode: Annotated[Mode, typer.Option(help="Travel mode of the access figures.")] = Mode.walk,
) -> None:
    """Write a pack of published figures for each origin area (生成流出地协作信息交换包)."""
    from coverage.engine.exchange import ExchangeError, project_exchange
    from coverage.measures.availability import reason_text
    from coverage.report.exchange import write_exchange

    start = time.perf_counter()
    try:
        parsed = load_project(project)
    except ValueError as exc:
        _fail(str(exc), 2)
    with steps("exchange") as step:
        try:
            packs = project_exchange(parsed, mode=mode.value, level=level.value,
                                     progress=step)
        except ExchangeError as exc:
            _fail(f"{exc} ({reason_text(exc.reason, lang.value)})", 2)
    mark("exchange: writing packs")
    with Progress(TextColumn("writing packs"), BarColumn(), MofNCompleteColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("writing", total=2 * (len(packs.packs) + 1))
        try:
            paths = write_exchange(packs, out, lang=lang.value, mode=mode.value,
                                   progress=lambda done, _total: bar.update(task,
                                                                            completed=done))
        except (OSError, ValueError) as exc:
            _fail(f"the packs could not be written: {exc}", 1)
    console.print(f"{len(packs.packs)} origin packs ({level.value}) and the cooperation list: "
                  f"{len(paths)} files in {out} ({time.perf_counter() - start:.1f} s)",
                  highlight=False)
    if packs.small_origins:
        console.print(f"[yellow]note:[/yellow] {packs.small_origins} origins with fewer than "
                      f"{packs.min_cell} migrants have no pack (all their figures would be "
                      "hidden)", highlight=False)
    if packs.unknown_origins:
        console.print(f"[yellow]note:[/yellow] {packs.unknown_origins:,} migrants without a "
                      "usable origin code are in no pack", highlight=False)
    for part, reason in packs.skipped.items():
        console.print(f"[yellow]note:[/yellow] {part}: {escape(reason_text(reason, lang.value))}",
                      highlight=False)
