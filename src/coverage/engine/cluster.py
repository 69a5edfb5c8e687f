"""The Dask cluster a province or a large city runs on: this machine's or an existing one.

``"local"`` starts a :class:`distributed.LocalCluster` of worker processes (one thread each:
the road-network steps use both cores of a process already) and stops it afterwards;
``"tcp://host:port"`` connects to a running scheduler (``dask scheduler`` and ``dask worker``
on the machines), whose workers must read the projects' folders at the same paths (a shared
file system) and have this package installed. No dashboard is opened.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["ClusterError", "connect", "parse_cluster", "worker_environ"]

#: Seconds to wait for an existing scheduler before giving up.
CONNECT_TIMEOUT_S = 10

#: Dask's own setting of glibc's trim threshold for the workers it starts (bytes), which a
#: local cluster leaves out (:func:`worker_environ`).
DASK_TRIM_THRESHOLD = 65536


class ClusterError(RuntimeError):
    """The cluster cannot be started or reached; the message is one line."""


def parse_cluster(cluster: str) -> str:
    """Return ``"local"`` or the scheduler's address; refuse anything else.

    Raises
    ------
    ClusterError
        When ``cluster`` is neither ``local`` nor ``tcp://host:port``.
    """
    text = cluster.strip()
    if text == "local":
        return text
    host, _, port = text.removeprefix("tcp://").rpartition(":")
    if not text.startswith("tcp://") or not host or not port.isdigit():
        msg = (f"--cluster {cluster!r}: give 'local' (this machine) or the address of a "
               "running Dask scheduler, tcp://host:port")
        raise ClusterError(msg)
    return text


@contextmanager
def connect(cluster: str = "local", *, workers: int | None = None,
            tasks: int | None = None) -> Iterator[Any]:
    """Yield a :class:`distributed.Client` of the cluster; stop a local cluster afterwards.

    Parameters
    ----------
    cluster
        ``"local"`` or ``tcp://host:port`` (:func:`parse_cluster`).
    workers
        Worker processes of a local cluster (default: the machine's cores, at most
        ``tasks``).
    tasks
        How many tasks there will be (a local cluster starts no more workers than that).

    Raises
    ------
    ClusterError
        When the cluster cannot be started or the scheduler cannot be reached.
    """
    from distributed import Client, LocalCluster

    address = parse_cluster(cluster)
    if workers is not None and workers < 1:
        msg = f"--workers {workers}: give at least 1"
        raise ClusterError(msg)
    if address != "local":
        try:
            client = Client(address, timeout=f"{CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError) as exc:
            msg = (f"no Dask scheduler answered at {address} within {CONNECT_TIMEOUT_S} s "
                   f"({type(exc).__name__}); start one (dask scheduler) or use --cluster local")
            raise ClusterError(msg) from None
        with client:
            yield client
        return
    n = workers or max(1, min(os.cpu_count() or 1, tasks or os.cpu_count() or 1))
    with _quiet(), _without_dask_trim():
        try:
            # no dashboard; the scheduler's small HTTP server on a free port, so that
            # another cluster on the machine never makes it warn about port 8787
            local = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                 dashboard_address=None, silence_logs=logging.CRITICAL,
                                 scheduler_kwargs={"dashboard": False,
                                                   "dashboard_address": ":0"})
        except (OSError, RuntimeError) as exc:
            msg = f"a local cluster of {n} workers could not be started: {exc}"
            raise ClusterError(msg) from None
        with local, Client(local) as client:
            yield client


def worker_environ() -> dict[str, Any]:
    """Return the environment a local cluster's worker processes start with.

    Dask's (``distributed.nanny.pre-spawn-environ``: one thread for the numerical libraries)
    without the ``MALLOC_TRIM_THRESHOLD_`` Dask sets, unless it was set to another value. A
    fixed trim threshold turns glibc's adaptive threshold for mapping large blocks off, so
    every array of more than 128 kB is mapped and unmapped afresh: with it, the same cities'
    main job took 29 % longer in a worker than in a process's main thread (paired runs of
    three demo cities, twice each); without it, 3.5 % longer.
    """
    import dask

    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    if str(env.get("MALLOC_TRIM_THRESHOLD_")) == str(DASK_TRIM_THRESHOLD):
        env["MALLOC_TRIM_THRESHOLD_"] = None  # Dask leaves a variable set to None unset
    return env


@contextmanager
def _without_dask_trim() -> Iterator[None]:
    """Start workers meanwhile without Dask's trim threshold (:func:`worker_environ`).

    Also out of this process's environment, which the workers inherit: a Dask nanny sets its
    variables there before it starts a worker and leaves them, so a cluster started earlier
    in this process with Dask's settings would pass its threshold on.
    """
    import dask

    left = os.environ.get("MALLOC_TRIM_THRESHOLD_") == str(DASK_TRIM_THRESHOLD)
    if left:
        del os.environ["MALLOC_TRIM_THRESHOLD_"]
    try:
        with dask.config.set({"distributed.nanny.pre-spawn-environ": worker_environ()}):
            yield
    finally:
        if left:
            os.environ["MALLOC_TRIM_THRESHOLD_"] = str(DASK_TRIM_THRESHOLD)


@contextmanager
def _quiet() -> Iterator[None]:
    """Keep Dask's own log lines (a task's traceback among them) off the user's terminal.

    A task's error reaches the caller as the exception itself, whose one line the command
    prints; the workers' and scheduler's logs would print its traceback besides.
    """
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)
