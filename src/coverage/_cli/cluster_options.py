"""``--cluster``, ``--workers`` and ``--parts``: running a city's main job on a Dask cluster."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["ClusterOption", "PartsOption", "WorkersOption", "on_cluster"]

ClusterOption = Annotated[str | None, typer.Option(
    help="Run by parts of the migrants on a Dask cluster: local (worker processes on this "
    "machine) or tcp://host:port (a running scheduler whose workers see the project's "
    "folder). See docs/scale.md.")]
WorkersOption = Annotated[int | None, typer.Option(
    min=1, help="Worker processes of a local cluster (default: one per core).")]
PartsOption = Annotated[int | None, typer.Option(
    min=1, help="Parts the migrants are cut into (default: two per worker).")]


def on_cluster(project: object, cluster: str, workers: int | None, parts: int | None,
               mode: str, step: object) -> object:
    """Run the main job by parts on the cluster; its errors are one line.

    Exit 2 for a ``--cluster`` that is no address, 1 for a cluster that cannot be started or
    reached.
    """
    from rich.console import Console
    from rich.markup import escape

    from coverage.engine.cluster import ClusterError, parse_cluster
    from coverage.engine.partitioned_run import run_on_cluster

    def fail(exc: Exception, code: int) -> typer.Exit:
        Console(stderr=True).print(f"[red]error:[/red] {escape(str(exc))}", highlight=False,
                                   soft_wrap=True)
        return typer.Exit(code)

    try:
        parse_cluster(cluster)
    except ClusterError as exc:
        raise fail(exc, 2) from None
    try:
        return run_on_cluster(project, cluster=cluster, workers=workers, parts=parts,
                              mode=mode, progress=step)
    except ClusterError as exc:
        raise fail(exc, 1) from None
