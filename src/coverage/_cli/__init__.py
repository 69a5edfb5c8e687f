"""What the command line (:mod:`coverage.cli`) prints: its tables, and the log of a crash.

The commands themselves, and the consoles they print to, are in :mod:`coverage.cli`; the
modules here build what those print, importing the library's heavy parts only when used.
"""
