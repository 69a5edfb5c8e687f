"""The real web app in its own process, for the browser and protocol tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).with_name("coverage")


def free_port() -> int:
    """Return a TCP port free on this machine."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def run_app(demo_city: Path, *extra: str, env: dict[str, str] | None = None,
            ready: str = "/", log_on_error: bool = False,
            log_file: Path | None = None) -> Iterator[str]:
    """Run ``coverage app`` on ``demo_city`` until ``ready`` answers; yield its URL.

    With ``log_on_error``, an exception inside the block fails the test with the end of the
    server's log, which says more than where the client was. The log is kept in ``log_file``
    when given (for tests that read it), else in a temporary file.
    """
    port = free_port()
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    url = f"http://localhost:{port}"
    # Output to a file, not a pipe: a full pipe would stall the server.
    with (log_file.open("w+") if log_file else tempfile.TemporaryFile("w+")) as log:
        proc = subprocess.Popen([str(SCRIPT), "app", str(demo_city), "--port", str(port),
                                 "--no-show", *extra], stdout=log, stderr=subprocess.STDOUT,
                                text=True, env=env)
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    with urllib.request.urlopen(url + ready, timeout=5):
                        break
                except OSError:
                    if proc.poll() is not None:
                        log.seek(0)
                        pytest.fail(f"the app stopped: {log.read()}")
                    if time.monotonic() > deadline:
                        pytest.fail("the app did not answer within 180 s")
                    time.sleep(0.5)
            try:
                yield url
            except Exception as exc:
                if not log_on_error:
                    raise
                log.seek(0)
                pytest.fail(f"{type(exc).__name__}: {exc}\nthe app's log ends:\n"
                            f"{log.read()[-4000:]}")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
