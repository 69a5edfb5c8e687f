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
from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from coverage._cli.tables import texts
from coverage.io.project import Project

__all__ = ["compare_runs", "progress_rich_table"]

console = Console()
err = Console(stderr=True)


def _fail(message: str, code: int) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def progress_rich_table(table: object, lang: str, project_name: str) -> Group:
    """Return the progress table for the terminal: a table per unit, a row per measure.

    Values as in the report (shares in %, changes signed, shares' in percentage points) with
    the arrow of the change, the target and whether each run met it. One table per unit
    (the city, then each district), the unit in its title, so that the measures' names keep
    the width of an 80-column terminal.
    """
    import pandas as pd

    from coverage.messages import text
    from coverage.reference import CITY
    from coverage.report.progress import measure_label, row_formats, trend_mark

    frame: pd.DataFrame = table  # type: ignore[assignment]
    m = texts(lang)
    city = text("report", "scope_city", lang)
    formats = row_formats(frame)
    change_kind = {"pct": "pp", "f1": "f1+", "f2": "f2+"}
    marks = trend_mark(frame["change"])
    tables: dict[str, Table] = {}
    for i, row in enumerate(frame.itertuples(index=False)):
        unit = city if row.unit == CITY else str(row.unit)
        if unit not in tables:
            tables[unit] = out = Table(title=escape(unit), title_justify="left")
            out.add_column(m["measure"], no_wrap=True, overflow="ellipsis", min_width=12)
            for key in ("before", "after"):
                out.add_column(m[key], justify="right", no_wrap=True)
            out.add_column(m["change_short"], justify="right", no_wrap=True)
            out.add_column(m["target"], justify="right", no_wrap=True)
            out.add_column(m["met_short"], no_wrap=True)
        kind = formats[i]
        verdict = (f"{_mark(row.met_before)} → {_mark(row.met_after)}"
                   if pd.notna(row.target) else "")
        change = ("—" if marks.iloc[i] == "—" else
                  f"{marks.iloc[i]} {_short(row.change, change_kind.get(kind, kind), lang)}")
        tables[unit].add_row(escape(measure_label(row.measure, lang)),
                             _short(row.value_before, kind, lang),
                             _short(row.value_after, kind, lang), change,
                             _short(row.target, kind, lang) if pd.notna(row.target) else "",
                             verdict)
    title = Text(m["progress_title"].format(project=project_name,
                                            before=frame.attrs.get("run_before", ""),
                                            after=frame.attrs.get("run_after", "")),
                 style="bold")
    return Group(title, *tables.values(), Text(m["progress_note"], style="dim"))


def _short(value: object, kind: str, lang: str) -> str:
    """Return a value as the report writes it, a difference of shares without its unit.

    The table's note says those are percentage points: the terminal is narrow.
    """
    import pandas as pd

    from coverage.report.content import fmt_value

    if kind == "pp" and value is not None and not pd.isna(value):
        return f"{100 * float(value):+.1f}".replace("-", "−").replace("+0.0", "0.0")
    return fmt_value(value, kind, lang)


def _mark(met: object) -> str:
    """Return ✔ for met, ✘ for not met, — when unknown."""
    import pandas as pd

    return "—" if met is None or pd.isna(met) else ("✔" if bool(met) else "✘")


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
