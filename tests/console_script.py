"""The ``coverage`` console script run in the test's own process.

For the command-line tests of the inputs refused before any work starts (an exit code, a
one-line error, no traceback): the same entry point as the console script
(``coverage.cli.main``), from the arguments to the exit code, without a new interpreter's
start (seconds, most of it imports) for each. What such a test reads is what a process of its
own would have written: both output streams at the file-descriptor level (so a library's own
messages too), and the warnings Python shows by default, each as the line it would print.
The rest a process of its own adds (what importing the library prints) is checked by the
tests that start the console script itself, which each file keeps.
"""

from __future__ import annotations

import io
import subprocess
import sys
import warnings

import pytest

#: The warnings Python shows by default (it hides these, see the ``warnings`` module).
HIDDEN = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


def run_here(capfd: pytest.CaptureFixture[str], *args: str,
             stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run ``coverage ARGS`` here, as ``subprocess.run`` would; return what it ran, its exit
    code and what it wrote (the warnings it raised at the end of the standard error)."""
    from rich.console import Console

    from coverage import cli

    argv = ["coverage", *args]
    capfd.readouterr()  # only what this command writes
    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for category in HIDDEN:
            warnings.filterwarnings("ignore", category=category)
        patch.setattr(sys, "argv", argv)
        patch.setattr(sys, "stdin", io.StringIO(stdin))
        # plain text whatever the terminal, as with NO_COLOR; no line wrapped
        patch.setattr(cli, "console", Console(width=300, highlight=False, no_color=True))
        patch.setattr(cli, "err", Console(width=300, stderr=True, highlight=False,
                                          no_color=True))
        try:
            cli.main()
            code = 0
        except SystemExit as exc:
            code = 0 if exc.code is None else exc.code
    out, err = capfd.readouterr()
    err += "".join(warnings.formatwarning(w.message, w.category, w.filename, w.lineno, w.line)
                   for w in caught)
    return subprocess.CompletedProcess(argv, code, out, err)
