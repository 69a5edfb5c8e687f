"""Safe writing of an output folder: one writer at a time, files replaced whole.

Results (``results.gpkg`` and its CSV copies) are read by reports, the web app and people while
runs write new ones. Two rules keep every reader on one complete run:

* **Atomic replace.** A file is written under a temporary name beside its target
  (``.partial-<name>-<random><suffix>``, in the same folder so that the rename stays on one
  file system) and moved into place with :func:`os.replace`, a single rename: a reader sees the
  previous file or the new one, never a half-written one. A write interrupted at any point
  (error, Ctrl-C, kill) leaves the previous file untouched; the temporary file is removed on an
  error, and left-overs of a killed writer are removed by the next writer
  (:func:`remove_partials`).
* **One writer per folder.** :func:`folder_lock` takes an exclusive lock (``flock``; on
  Windows a byte lock) on ``.lock`` in the output folder for the whole run-and-write. A second
  writer *waits* — printing "another run is writing these results; waiting…" once — up to
  :data:`LOCK_TIMEOUT_S` seconds
  (``COVERAGE_LOCK_TIMEOUT`` overrides it; ``0`` refuses at once), then stops with
  :class:`ResultsLockedError` naming the lock file. Waiting rather than refusing at once lets
  ``coverage report`` or the web app started during a run use that run's results. The lock is
  the operating system's: it is released when its holder ends, even by a kill, so a stale
  ``.lock`` file never blocks anyone (the file itself stays, which is harmless). Taking the lock
  again in the same thread (``coverage run`` holds it and calls ``write_results``, which takes
  it too) does not wait.

Private files (personal data) are created with owner-only permissions: folders 0700
(:func:`private_folder`), files 0600 (``private=True``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["LOCK_NAME", "LOCK_TIMEOUT_S", "PARTIAL_PREFIX", "ResultsLockedError",
           "atomic_file", "folder_lock", "partial_path", "private_folder", "remove_partials",
           "replace_file", "write_partial"]

LOCK_NAME = ".lock"
"""Name of the lock file in an output folder."""

LOCK_TIMEOUT_S = 1800.0
"""Seconds a second writer waits for the lock before giving up (30 minutes: a city's run)."""

PARTIAL_PREFIX = ".partial-"
"""Prefix of the temporary files written before their rename."""

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
_PUBLIC_FILE_MODE = 0o666  # less the process's umask, as for any new file

_held = threading.local()

try:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

except ImportError:  # Windows: a lock on the file's first byte
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


class ResultsLockedError(RuntimeError):
    """Another run kept the output folder's lock longer than the wait allowed."""


def _timeout() -> float:
    text = os.environ.get("COVERAGE_LOCK_TIMEOUT")
    if text is None:
        return LOCK_TIMEOUT_S
    try:
        return max(0.0, float(text))
    except ValueError:
        msg = (f"COVERAGE_LOCK_TIMEOUT={text!r} is not a number of seconds; set it to e.g. "
               "600, or 0 to refuse at once")
        raise ValueError(msg) from None


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@contextlib.contextmanager
def folder_lock(
    folder: str | Path,
    *,
    timeout: float | None = None,
    notify: Callable[[str], None] | None = None,
) -> Iterator[Path]:
    """Hold the exclusive lock of an output folder (``folder/.lock``) for the ``with`` block.

    Parameters
    ----------
    folder
        The output folder (created when missing).
    timeout
        Seconds to wait for another writer (default ``COVERAGE_LOCK_TIMEOUT`` or
        :data:`LOCK_TIMEOUT_S`); 0 refuses at once.
    notify
        Called once with a message when the lock is busy (default: printed to stderr).

    Yields
    ------
    pathlib.Path
        The lock file.

    Raises
    ------
    ResultsLockedError
        When the lock is still held by another run after ``timeout`` seconds.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK_NAME
    key = str(lock.resolve())
    held: dict[str, int] = _held.__dict__.setdefault("counts", {})
    if held.get(key):
        held[key] += 1
        try:
            yield lock
        finally:
            held[key] -= 1
        return
    wait = _timeout() if timeout is None else max(0.0, timeout)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _try_lock(fd):
            (notify or _say)(f"another run is writing these results; waiting… (up to "
                             f"{wait:.0f} s for {lock})")
            deadline = time.monotonic() + wait
            while not _try_lock(fd):
                if time.monotonic() >= deadline:
                    msg = (f"another run still holds {lock} after {wait:.0f} s; wait for it to "
                           "finish (or raise COVERAGE_LOCK_TIMEOUT) and try again")
                    raise ResultsLockedError(msg)
                time.sleep(0.2)
        held[key] = 1
        try:
            yield lock
        finally:
            held.pop(key, None)
            _unlock(fd)
    finally:
        os.close(fd)


def partial_path(target: str | Path) -> Path:
    """Return a new temporary name beside ``target`` with its suffix (``.gpkg`` stays)."""
    target = Path(target)
    return target.with_name(f"{PARTIAL_PREFIX}{target.stem}-{secrets.token_hex(4)}"
                            f"{target.suffix}")


def remove_partials(folder: str | Path) -> None:
    """Remove temporary files a killed writer left in ``folder`` (call while holding its lock)."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    for path in folder.glob(f"{PARTIAL_PREFIX}*"):
        with contextlib.suppress(OSError):
            path.unlink()


def replace_file(partial: str | Path, target: str | Path, *, private: bool = False) -> Path:
    """Move a finished temporary file over ``target`` in one rename (0600 first if private).

    The file's data are flushed to disk first, so that a crash right after the rename cannot
    leave an empty ``target``.
    """
    partial, target = Path(partial), Path(target)
    if private:
        os.chmod(partial, PRIVATE_FILE_MODE)
    fd = os.open(partial, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(partial, target)
    return target


def write_partial(target: str | Path, write: Callable[[BinaryIO], object], *,
                  private: bool = False) -> Path:
    """Write a temporary file beside ``target`` with ``write(fh)``; return its path.

    The caller moves it into place with :func:`replace_file` (or removes it). With ``private``
    it is created 0600, else with the usual permissions (0666 less the umask). On an error the
    temporary file is removed.
    """
    partial = partial_path(target)
    mode = PRIVATE_FILE_MODE if private else _PUBLIC_FILE_MODE
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    return partial


@contextlib.contextmanager
def atomic_file(target: str | Path, *, private: bool = False) -> Iterator[BinaryIO]:
    """Open a temporary file for binary writing; on success it replaces ``target`` whole.

    On an error (or Ctrl-C) inside the block the temporary file is removed and ``target`` is
    left as it was. With ``private`` the file is created 0600 (owner only).
    """
    target = Path(target)
    partial = partial_path(target)
    mode = PRIVATE_FILE_MODE if private else _PUBLIC_FILE_MODE
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
        replace_file(partial, target, private=private)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise


def private_folder(folder: str | Path) -> Path:
    """Create ``folder`` (if missing) readable by its owner only (0700); return it."""
    folder = Path(folder)
    folder.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    os.chmod(folder, PRIVATE_DIR_MODE)
    return folder
