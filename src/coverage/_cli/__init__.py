"""What the command line (:mod:`coverage.cli`) prints: its tables, and the log of a crash.

The commands themselves, and the consoles they print to, are in :mod:`coverage.cli`, but for
the store's (``coverage db``, ``coverage runs``: :mod:`~coverage._cli.db`), which it
registers; the modules here build what those print, importing the library's heavy parts only
when used, and hold the choices the commands share (:mod:`~coverage._cli.options`).
"""
