"""``coverage demo`` for a city meant for a partitioned run: its figures instead of the main job.

The ``xlarge`` city (ten million migrants, a million road nodes) does not fit one process, so
``coverage demo --size xlarge`` builds it and prints what was built: migrants, road nodes,
service sites, the migrants' partitions, bytes on disk, the build's time and peak memory, and
a note that the city is meant for a partitioned run. Also the bar a long step shows while it
goes part by part (:func:`step_line`).
"""

from __future__ import annotations

import re
import resource
import sys
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from coverage._cli.tables import texts

__all__ = ["figures_table", "partitioned_note", "peak_memory_bytes", "step_line"]

_COUNTED = re.compile(r"\((\d+)/(\d+)\)$")
_BAR_WIDTH = 20


def step_line(text: str) -> str:
    """Return a step's text for the spinner, with a bar when it ends in ``(k/n)``.

    ``Describing the migrants (3/11)`` becomes ``Describing the migrants ━━━━━╺━━━━━━ 3/11``:
    the parts done before the one under way, of all parts.
    """
    found = _COUNTED.search(text)
    if found is None:
        return escape(text)
    k, n = int(found.group(1)), max(int(found.group(2)), 1)
    done = round(_BAR_WIDTH * (k - 1) / n)
    bar = f"[green]{'━' * done}[/green][dim]{'━' * (_BAR_WIDTH - done)}[/dim]"
    return f"{escape(text[:found.start()].rstrip())} {bar} {k}/{n}"


def peak_memory_bytes() -> int:
    """Return this process's peak resident memory in bytes (``ru_maxrss``)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # Linux counts KiB


def _size(n: float) -> str:
    """Return a byte count as ``1.23 GB`` (powers of 1,000)."""
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.2f} {unit}"
        n /= 1000
    raise AssertionError  # not reached


def figures_table(folder: Path, figures: dict[str, int], *, size: str, seconds: float,
                  peak_bytes: int, lang: str) -> Table:
    """Return the built city's figures (:func:`coverage.demo.project_figures`) as a table."""
    m = texts(lang)
    table = Table(title=escape(m["demo_figures"].format(size=size, folder=folder)),
                  title_justify="left", show_header=False)
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    table.add_row(m["fig_migrants"], f"{figures['migrants']:,}")
    table.add_row(m["fig_nodes"], f"{figures['network_nodes']:,}")
    table.add_row(m["fig_sites"], f"{figures['sites']:,}")
    table.add_row(m["fig_parts"], f"{figures['parts']:,}")
    table.add_row(m["fig_bytes"], f"{_size(figures['bytes'])} ({figures['bytes']:,} B)")
    seconds_text = f"{seconds:,.1f} 秒" if lang == "zh" else f"{seconds:,.1f} s"
    table.add_row(m["fig_time"], seconds_text)
    table.add_row(m["fig_memory"], _size(peak_bytes))
    return table


def partitioned_note(folder: Path, lang: str) -> str:
    """Return the one-line note that the city is meant for a partitioned run."""
    return texts(lang)["demo_partitioned_note"].format(folder=folder)
