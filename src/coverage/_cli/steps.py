"""The command's current step: shown in a spinner, named when an unexpected error stops it.

Every command that works for more than a moment runs inside :func:`steps`; the entry point
(:func:`coverage.cli.main`) names :data:`STEP` in its one line and its log when an unexpected
error stops the command.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console

from coverage._cli.demo import step_line

__all__ = ["STEP", "mark", "steps"]

console = Console()

STEP: list[str] = []
"""The command's current step (title: step), named when an unexpected error stops it."""


def mark(text: str) -> None:
    """Name the current step without a spinner (for steps shown by a progress bar)."""
    STEP[:] = [text]


@contextmanager
def steps(title: str) -> Iterator[Callable[[str], None]]:
    """Show a spinner with the current step and the elapsed time; yield the step callback."""
    start = time.perf_counter()
    STEP[:] = [title]
    with console.status(title) as status:

        def step(text: str) -> None:
            STEP[:] = [f"{title}: {text}"]
            status.update(f"{title}: {step_line(text)} "
                          f"[dim]({time.perf_counter() - start:.1f} s)[/dim]")

        yield step
