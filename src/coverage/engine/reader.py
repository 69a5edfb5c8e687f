"""What a user logged in to a shared PostGIS store reads: their rows of any run, as published.

A run written to PostGIS keeps, beside its layers, the district and community tables and
the indicators **as they may be published** (:func:`published_layers`: small cells
suppressed on the whole city, the same cells as in every report of the run), so that a
district's log-in, reading its rows of them, sees its district's part of the city's one
publication: suppressing again on a district's rows alone could hide other cells, and the two
publications together could then reveal a cell.

A district office's log-in (``coverage db user add ... --district``) reads the store as
itself: the database's row-level security hands it its district's rows and no other
(docs/store.md), so whatever this module or the web app does with them, they hold nothing of
another district. :func:`log_in` checks the user's name and password with the database and
returns a :class:`Reader`; the reader gives the store's runs, a run's layers as the user reads
them, and its district and community tables and indicators as published (small cells
suppressed): all from those rows only, never from the project's input files, which hold the
whole city. A report of a run made from :meth:`Reader.layers` (``make_report(...,
layers=...)``) is the report of those rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from coverage.engine.progress import previous_run, progress_table
from coverage.io.project import Project
from coverage.publish.tables import publish_indicators, publish_summaries, summary_thresholds
from coverage.store import StoreError, open_store
from coverage.store.base import Store

__all__ = ["PUBLISHED", "Reader", "log_in", "project_reader", "published_layers"]

PUBLISHED = {"district_summary": "published_district_summary",
             "community_summary": "published_community_summary",
             "indicators": "published_indicators"}
"""Layer → the layer of its published form that a PostGIS run keeps beside it."""

_KEPT_RUNS = 4
"""Runs whose layers a reader keeps in memory (a page switching between runs)."""


@dataclass
class Reader:
    """A logged-in user of a project's PostGIS store, and what they may read.

    Attributes
    ----------
    project
        The project.
    user
        The log-in's name.
    scope
        ``district``, ``city`` or ``writer`` (see :meth:`PostGISStore.access`).
    district
        The district a ``district`` log-in reads (else ``None``).
    """

    project: Project
    user: str
    scope: str
    district: str | None
    store: Store = field(repr=False)
    _layers: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict, repr=False)

    def runs(self) -> pd.DataFrame:
        """Return the store's runs, newest first: ``run_id``, ``time``, ``mode``."""
        runs = self.store.runs()
        return runs[["run_id", "time", "mode"]].iloc[::-1].reset_index(drop=True)

    def previous(self, run_id: str) -> str | None:
        """Return the run kept before ``run_id`` (``None``: it is the first)."""
        return previous_run(self.store, run_id)

    def progress(self, run_id: str) -> pd.DataFrame | None:
        """Return the change of the user's units since the run before ``run_id``.

        :func:`~coverage.engine.progress.progress_table` of the two runs' published tables
        (a district's log-in: its district's row), with ``attrs`` ``run_before`` and
        ``run_after``. ``None`` for the first run, or when either run was kept without its
        published tables.

        Raises
        ------
        ValueError
            When the two runs cannot be compared (another travel mode or thresholds).
        """
        previous = self.previous(run_id)
        if previous is None:
            return None
        runs = []
        for kept in (previous, run_id):
            layers = self.layers(kept)
            if not all(name in layers for name in PUBLISHED.values()):
                return None
            runs.append({name: layers[PUBLISHED[name]]
                         for name in ("district_summary", "indicators")}
                        | {"run_info": layers["run_info"]})
        table = progress_table(*runs, min_cell=None, names=(previous, run_id))
        table.attrs.update(run_before=previous, run_after=run_id)
        return table

    def layers(self, run_id: str) -> dict[str, pd.DataFrame]:
        """Return a run's layers as this user reads them (kept for the last few runs).

        A run kept without its published tables (a GeoPackage folder's, or one written by an
        earlier version) gets them here when the user reads the whole city: the same
        :func:`published_layers`. A district's log-in cannot make them from its rows.
        """
        if run_id not in self._layers:
            if len(self._layers) >= _KEPT_RUNS:
                self._layers.pop(next(iter(self._layers)))
            layers = self.store.read_layers(run_id)
            if (self.district is None and PUBLISHED["district_summary"] not in layers
                    and {"district_summary", "community_summary"} <= set(layers)):
                layers |= published_layers(layers, self.project,
                                           thresholds=_thresholds(layers["district_summary"]))
            self._layers[run_id] = layers
        return self._layers[run_id]

    def thresholds(self, run_id: str) -> tuple[float, ...]:
        """Return the run's time thresholds (minutes), from its coverage columns."""
        return _thresholds(self.layers(run_id)["district_summary"])


    def published(self, run_id: str) -> tuple[pd.DataFrame, gpd.GeoDataFrame] | None:
        """Return the run's district and community tables as published (the user's rows).

        A district's log-in gets its district's row and its communities. ``None`` for a run
        kept without its published tables (written by an earlier version).
        """
        layers = self.layers(run_id)
        if not all(PUBLISHED[n] in layers for n in ("district_summary", "community_summary")):
            return None
        return (layers[PUBLISHED["district_summary"]],
                layers[PUBLISHED["community_summary"]])

    def indicators(self, run_id: str) -> pd.DataFrame | None:
        """Return the run's indicators as published (the user's rows; ``None``: not kept)."""
        return self.layers(run_id).get(PUBLISHED["indicators"])


def published_layers(layers: dict[str, pd.DataFrame], project: Project, *,
                     thresholds: tuple[float, ...] | None = None) -> dict[str, pd.DataFrame]:
    """Return a run's tables as they may be published, to keep with the run (:data:`PUBLISHED`).

    The district and community summaries and the indicators of the whole city, small cells
    suppressed with the project's ``min_cell`` (:func:`publish_summaries`,
    :func:`publish_indicators`): the figures every output of the run shows. ``thresholds``:
    the run's (default the project's).
    """
    districts, communities = publish_summaries(
        layers["district_summary"], layers["community_summary"],
        thresholds or tuple(project.parameters.thresholds_min), min_cell=project.min_cell)
    out = {PUBLISHED["district_summary"]: districts,
           PUBLISHED["community_summary"]: communities}
    if "indicators" in layers:
        place = layers["community_summary"].set_index("community_id")["district"]
        out[PUBLISHED["indicators"]] = publish_indicators(layers["indicators"], place,
                                                          min_cell=project.min_cell)
    return out


def log_in(project: Project, user: str, password: str) -> Reader:
    """Check a user's name and password with the project's PostGIS store; return its reader.

    Raises
    ------
    StoreError
        The project keeps its runs in no PostGIS store; the log-in is refused (wrong name or
        password: one message for both); the user is none of the store's log-ins; the server
        cannot be reached. The password never appears in the message.
    """
    if project.store_url is None:
        msg = f"{project.name}: the project keeps its runs in its folder, not in PostGIS"
        raise StoreError(msg)
    name = user.strip()
    if not name or not password:
        msg = "give the user name and the password"
        raise StoreError(msg)
    from coverage.store.postgis import PostGISStore  # needs the optional driver

    store = PostGISStore(project.store_url, schema=project.store_schema,
                         login=(name, password))
    scope, district = store.access()
    return Reader(project, name, scope, district, store)


def project_reader(project: Project) -> Reader:
    """Return a reader of a project's whole store as its own settings reach it.

    The GeoPackage folder, or the PostGIS store with ``[store] url``'s log-in: every
    district (``writer`` scope), for the planning app's view of the runs.
    """
    return Reader(project, "", "writer", None, open_store(project))


def _thresholds(summary: pd.DataFrame) -> tuple[float, ...]:
    """Return the time thresholds (minutes) of a summary's coverage columns."""
    return summary_thresholds(summary.columns)
