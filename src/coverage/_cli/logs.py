"""The log file of an unexpected error: where the traceback goes instead of the terminal."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import traceback
from pathlib import Path

from coverage import __version__


def log_traceback(exc: BaseException, step: str) -> Path | None:
    """Write the traceback of ``exc`` to a new private log file; return its path (None if not).

    The folder is ``$COVERAGE_LOG_DIR`` or ``~/.cache/coverage-planner/logs``; the file is
    readable by its owner only, since an error message may quote a value from the inputs.
    ``step`` is the command's step when the error stopped it (``-`` if none).
    """
    return log_details("".join(traceback.format_exception(exc)), step)


def log_details(details: str, step: str) -> Path | None:
    """Write a traceback already formatted (another process's) as :func:`log_traceback` does."""
    folder = Path(os.environ.get("COVERAGE_LOG_DIR")
                  or Path.home() / ".cache" / "coverage-planner" / "logs")
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, name = tempfile.mkstemp(prefix=f"coverage-{stamp}-", suffix=".log", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:  # mkstemp creates it 0600
            fh.write(f"coverage-planner {__version__}\nstep: {step}\n\n")
            fh.write(details)
    except OSError:
        return None
    return Path(name)
