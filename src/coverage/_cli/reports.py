"""What ``coverage report`` and ``coverage demo`` share: the formats asked for, and writing them.

Each prints a one-line error and exits (2 for a bad choice of formats or report options, 1 when
a report cannot be written), never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from coverage.io.project import Project

__all__ = ["formats_option", "write_reports"]

console = Console()
err = Console(stderr=True)


def formats_option(text: str) -> list[str]:
    """Return the formats of a comma-separated `--format`, or print the error and exit 2."""
    from coverage.report import FORMATS

    chosen = [f.strip().lower() for f in text.split(",") if f.strip()]
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        err.print(f"[red]error:[/red] --format: unknown format(s) {', '.join(unknown) or '(none)'}"
                  f"; choose from {', '.join(FORMATS)}, comma-separated", highlight=False)
        raise typer.Exit(2)
    return chosen


def write_reports(project: Project, formats: list[str], *, district: str | None,
                   lang: str | None, out: Path | None, mode: str = "walk",
                   step: Callable[[str], None], strict: bool = True,
                   notes: list[str] | None = None, run: str | None = None) -> dict[str, Path]:
    """Write the reports; a report error prints its one-line message and exits 1.

    Not ``strict`` (the demo), a PDF that cannot be written (no CJK font) is a note: added
    to ``notes`` (printed by the caller), else printed at once.
    """
    from coverage.report import ReportError, ReportUsageError, make_report
    from coverage.store import StoreError

    def note(exc: ReportError) -> None:
        if notes is not None:
            notes.append(str(exc))
        else:
            console.print(f"[yellow]note:[/yellow] {escape(str(exc))}", highlight=False)

    try:
        return make_report(project, district=district, formats=formats, lang=lang, out=out,
                           mode=mode, progress=step, on_pdf_error=None if strict else note,
                           run=run)
    except (ReportError, StoreError) as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2 if isinstance(exc, ReportUsageError) else 1) from None
