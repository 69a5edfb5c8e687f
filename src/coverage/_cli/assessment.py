"""``coverage report PROJECT --kind progress|self-assessment``: the assessment cycle's reports.

The quarterly progress report of the districts (for the city office) and a district's
self-assessment (:mod:`coverage.report.assessment`), of the latest run, the run of ``--run``
or the later of ``--compare A B``, beside the run before it. Errors are one line: a report
asked for wrongly (a self-assessment without ``--district`` or of an unknown district, which
names the districts; ``--district`` with ``--kind progress``), or a bad or unknown run id,
exit 2; a store or report that fails exits 1.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from coverage.io.project import Project

__all__ = ["Kind", "KindOption", "assessment_kind", "write_assessment"]

err = Console(stderr=True)


class Kind(StrEnum):
    """Kinds of report (``coverage.report.KINDS``)."""

    staffing = "staffing"
    progress = "progress"
    self_assessment = "self-assessment"


KindOption = Annotated[Kind | None, typer.Option(
    "--kind", help="staffing (the staffing recommendations, default), progress (the "
    "districts' scorecards ranked, quarter on quarter, for the city office) or "
    "self-assessment (one district's, with --district).", show_default=False)]


def assessment_kind(kind: Kind | None) -> bool:
    """Whether ``--kind`` asks for a report of the assessment cycle (not the staffing one)."""
    return kind is not None and kind is not Kind.staffing


def _fail(message: str, code: int) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def write_assessment(project: Project, kind: Kind, *, formats: list[str], district: str | None,
                     run: str | None, compare: tuple[str, str] | None, lang: str | None,
                     out: Path | None, mode: str, step: Callable[[str], None]
                     ) -> dict[str, Path]:
    """Write the quarterly progress report or a self-assessment; return the files.

    A usage error or a bad run prints its one line and exits 2; a store or report failure
    exits 1.
    """
    from coverage.report import ReportError, ReportUsageError, make_assessment_report
    from coverage.store import StoreError

    try:
        return make_assessment_report(project, kind.value, district=district, run=run,
                                      compare=compare, formats=formats, lang=lang, out=out,
                                      mode=mode, progress=step)
    except ReportUsageError as exc:
        _fail(str(exc), 2)
    except ReportError as exc:
        _fail(str(exc), 1)
    except ValueError as exc:  # a bad or unknown run id, runs that cannot be compared
        _fail(str(exc), 2)
    except StoreError as exc:
        _fail(str(exc), 1)
