"""A worker lost in the middle of a task: killed as soon as it is seen running one."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def kill_a_busy_worker(client: Any, timeout: float = 300.0) -> Iterator[list[int]]:
    """While the block runs, kill (``SIGKILL``) the first worker of ``client``'s cluster seen
    running a task, a second after it was seen; yield the list its process id is put in."""
    pids = client.run(os.getpid)
    killed: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not killed and not stop.is_set():
            busy = [w for w, tasks in client.processing().items() if tasks]
            if busy:
                time.sleep(1.0)
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(pids[busy[0]])
            time.sleep(0.05)

    thread = threading.Thread(target=watch)
    thread.start()
    try:
        yield killed
    finally:
        stop.set()
        thread.join()
