"""``coverage report PROJECT --compare A B``: the progress between two kept runs.

Reads the two runs through the project's store (:func:`coverage.engine.progress.
progress_between`), writes the progress report in the formats asked for
(:mod:`coverage.report.progress`) and prints the progress table. Errors are one line: a bad
or unknown run id, or runs that cannot be compared, exit 2; a store or report that fails
exits 1.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from coverage._cli.tables import texts
from coverage.io.project import Project

__all__ = ["compare_runs", "progress_rich_table"]

console = Console()
err = Console(stderr=True)


def _fail(message: str, code: int) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def progress_rich_table(table: object, lang: str, project_name: str) -> Table:
    """Return the progress table for the terminal: a row per unit and measure.

    Values as in the report (shares in %, changes signed, shares' in percentage points) with
    the arrow of the change, the target and whether each run met it.
    """
    import pandas as pd

    from coverage.messages import text
    from coverage.reference import CITY
    from coverage.report.content import fmt_value
    from coverage.report.progress import measure_label, met_words, row_formats, trend_mark

    frame: pd.DataFrame = table  # type: ignore[assignment]
    m = texts(lang)
    city = text("report", "scope_city", lang)
    out = Table(title=escape(m["progress_title"].format(
        project=project_name, before=frame.attrs.get("run_before", ""),
        after=frame.attrs.get("run_after", ""))))
    out.add_column(m["unit"])
    out.add_column(m["measure"])
    for key in ("before", "after"):
        out.add_column(m[key], justify="right")
    out.add_column(m["change"].format(a=m["after"], b=m["before"]), justify="right")
    out.add_column(m["target"], justify="right")
    out.add_column(m["met_change"])
    formats = row_formats(frame)
    change_kind = {"pct": "pp", "f1": "f1+", "f2": "f2+"}
    marks = trend_mark(frame["change"])
    met = [met_words(frame[c], frame["target"], lang) for c in ("met_before", "met_after")]
    previous = None
    for i, row in enumerate(frame.itertuples(index=False)):
        unit = city if row.unit == CITY else str(row.unit)
        if previous is not None and unit != previous:
            out.add_section()
        previous = unit
        kind = formats[i]
        verdict = f"{met[0].iloc[i]} → {met[1].iloc[i]}" if met[1].iloc[i] else ""
        out.add_row(escape(unit), escape(measure_label(row.measure, lang)),
                    fmt_value(row.value_before, kind, lang),
                    fmt_value(row.value_after, kind, lang),
                    _change_text(marks.iloc[i], row.change, change_kind.get(kind, kind), lang),
                    fmt_value(row.target, kind, lang) if pd.notna(row.target) else "",
                    verdict)
    return out


def _change_text(mark: str, change: float, kind: str, lang: str) -> str:
    """Return the change with its arrow; ``—`` alone when it is not known."""
    from coverage.report.content import fmt_value

    return "—" if mark == "—" else f"{mark} {fmt_value(change, kind, lang)}"


def compare_runs(project: Project, ids: tuple[str, str], *, formats: list[str],
                 district: str | None, lang: str | None, out: Path | None,
                 step: Callable[[str], None]) -> dict[str, Path]:
    """Compare two runs: write the progress report and print the table; return the files."""
    from coverage.engine.progress import progress_between
    from coverage.report import ReportError, ReportUsageError
    from coverage.report.progress import write_progress
    from coverage.store import StoreError
    from coverage.store.base import check_run_id

    try:
        for run_id in ids:
            check_run_id(run_id)
        step("reading the two runs")
        table = progress_between(project, *ids)
    except ValueError as exc:  # a bad or unknown id, the same run twice, incomparable runs
        _fail(str(exc), 2)
    except StoreError as exc:
        _fail(str(exc), 1)
    language = lang or project.language
    try:
        paths = write_progress(project, table, formats, district=district, lang=language,
                               out=out, progress=step)
    except ReportError as exc:
        _fail(str(exc), 2 if isinstance(exc, ReportUsageError) else 1)
    shown = table if district is None else table[table["unit"] == district]
    shown.attrs = table.attrs
    console.print(progress_rich_table(shown, language, project.name))
    return paths
