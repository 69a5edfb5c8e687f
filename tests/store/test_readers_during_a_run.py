"""A run being written never blocks readers, in both stores.

The real writer is paused in the middle of writing a run (after its first layer: on PostGIS
inside the run's transaction, its row in ``runs`` and the first layer's rows written; in the
GeoPackage folder under the folder's lock, with the new files under their temporary names).
Meanwhile another store object on the same store reads the latest run, all its layers, the runs
and the saved scenarios, and saves a scenario, well within a few seconds: the previous run,
whole. Once the writer goes on and finishes, the same reader sees the new run.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from coverage.store import Store
from coverage.store import files as files_module
from coverage.store.gpkg import GeoPackageStore
from coverage.store.migrations import migrate
from coverage.store.postgis import PostGISStore

#: Longest a read may take while the run is being written (seconds; it takes milliseconds).
PROMPT_S = 5.0


def _run(n: int, value: float) -> dict[str, pd.DataFrame]:
    """Two layers of ``n`` rows whose figures are all ``value``."""
    districts = np.array(["东城区", "西城区"])[np.arange(n) % 2]
    return {
        "district_summary": pd.DataFrame({"district": districts,
                                          "coverage": np.full(n, value)}),
        "community_summary": pd.DataFrame({"community_id": [f"C{i}" for i in range(n)],
                                           "district": districts,
                                           "migrants": np.arange(n, dtype=np.int64)}),
    }


class Paused:
    """Lets a writer thread stop inside its run until the test lets it go on."""

    def __init__(self) -> None:
        self.armed = False
        self.inside = threading.Event()
        self.go_on = threading.Event()

    def pause(self) -> None:
        """Called by the writer inside a run: once armed, say so, then wait."""
        if self.armed and not self.inside.is_set():
            self.inside.set()
            assert self.go_on.wait(60), "the test never let the writer go on"


class PausingPostGISStore(PostGISStore):
    """The real PostGIS writer, pausing after writing the first layer of a run."""

    paused: Paused

    def _write_layer(self, conn: Any, run_id: str, position: int, *args: Any) -> None:
        super()._write_layer(conn, run_id, position, *args)
        self.paused.pause()


@pytest.fixture
def postgis(postgis_url: str) -> Iterator[tuple[PostGISStore, PostGISStore]]:
    """A pausing writer and a reader on the same new PostGIS store, dropped afterwards."""
    import psycopg

    schema = f"r_{secrets.token_hex(4)}"
    migrate(postgis_url, schema)
    writer = PausingPostGISStore(postgis_url, schema=schema)
    writer.paused = Paused()
    yield writer, PostGISStore(postgis_url, schema=schema)
    writer.paused.go_on.set()
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _timed(read: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    value = read()
    elapsed = time.perf_counter() - start
    assert elapsed < PROMPT_S, f"a read waited {elapsed:.1f} s for the run being written"
    return value


def _check_readers_during_a_run(writer: Store, reader: Store, paused: Paused) -> None:
    """Write a first run, pause the writer inside a second, read, let it finish, read again."""
    first_layers = _run(200, 0.25)
    first = writer.write_run(first_layers)
    paused.armed = True
    written: list[str] = []
    thread = threading.Thread(target=lambda: written.append(writer.write_run(_run(5000, 0.75))))
    thread.start()
    try:
        assert paused.inside.wait(60), "the writer never reached its first layer"
        assert _timed(reader.latest_run) == first
        assert _timed(reader.runs)["run_id"].tolist() == [first]
        layers = _timed(reader.read_layers)
        assert layers["district_summary"]["coverage"].tolist() == [0.25] * 200
        assert len(layers["community_summary"]) == 200
        assert _timed(lambda: reader.save_scenario("during the run", "{}",
                                                   expected_version=None)) == 1
        assert _timed(reader.scenarios)["name"].tolist() == ["during the run"]
        assert thread.is_alive() and not written  # the run was still being written
    finally:
        paused.go_on.set()
        thread.join(120)
    assert written and reader.latest_run() == written[0] != first
    new = reader.read_layers()
    assert new["district_summary"]["coverage"].tolist() == [0.75] * 5000
    assert reader.read_layers(first)["community_summary"]["migrants"].tolist() == list(range(200))


def test_postgis_readers_never_wait_for_a_run_being_written(postgis):
    writer, reader = postgis
    _check_readers_during_a_run(writer, reader, writer.paused)


def test_folder_readers_never_wait_for_a_run_being_written(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch):
    paused = Paused()
    write_layer = files_module._write_layer

    def pausing(table: pd.DataFrame, gpkg: Path, name: str) -> None:
        write_layer(table, gpkg, name)  # the real writer, into the temporary GeoPackage
        paused.pause()

    monkeypatch.setattr(files_module, "_write_layer", pausing)
    folder = tmp_path / "results"
    _check_readers_during_a_run(GeoPackageStore(folder), GeoPackageStore(folder), paused)
    # both runs are kept, each whole in its own file
    assert len(list((folder / "runs").glob("*.gpkg"))) == 2
