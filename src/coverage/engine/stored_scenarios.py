"""Scenarios shared through a project's store: every planner's saves, made on a known version.

:class:`StoredScenarios` is the part of the planning session
(:class:`~coverage.engine.session.PlanningSession`) that saves its current edits in the
project's store and loads them back (:meth:`coverage.store.Store.save_scenario`,
:meth:`~coverage.store.Store.read_scenario`). A save is made on the version of the name the
session last loaded or saved, which the store checks: a planner never replaces, unseen, what
another saved since.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import pandas as pd

from coverage.engine.edits import Scenario
from coverage.store import ScenarioConflict, Store, open_store
from coverage.store.base import inputs_digest

if TYPE_CHECKING:
    from coverage.io.project import Project

__all__ = ["StoredScenarios"]


class StoredScenarios:
    """Saving and loading a session's scenarios in the project's store.

    A base of :class:`~coverage.engine.session.PlanningSession`, which holds the attributes
    below and the :meth:`scenario` and :meth:`load` used here.

    Attributes
    ----------
    project
        The project.
    store
        The store sharing the saved scenarios (``None``: the project's).
    versions
        Saved scenario's name → the version this session last loaded or saved.
    scenarios
        The scenarios kept for comparing side by side, by name.
    """

    project: Project
    store: Store | None
    versions: dict[str, int]
    scenarios: dict[str, Scenario]

    if TYPE_CHECKING:
        def scenario(self, name: str = "current") -> Scenario:
            """Return the current edits as a scenario (the session's)."""

        def load(self, scenario: Scenario) -> None:
            """Make a scenario's edits the current ones (the session's)."""

    def scenario_store(self) -> Store:
        """Return the store sharing the saved scenarios (:attr:`store`, or the project's)."""
        return self.store if self.store is not None else open_store(self.project)

    def saved_scenarios(self) -> pd.DataFrame:
        """Return the scenarios every planner saved in the store, by name.

        :meth:`coverage.store.Store.scenarios`: ``name``, ``version``, ``saved_at`` (UTC),
        ``saved_by`` and ``inputs`` (a digest of the inputs it was made on).
        """
        return self.scenario_store().scenarios()

    def store_scenario(self, name: str, *, saved_by: str | None = None) -> Scenario:
        """Save the current edits in the store under ``name``; return the scenario.

        The save is made on the version of ``name`` this session last loaded or saved
        (:attr:`versions`; none: a new name), and the new version is remembered. It is kept
        for comparing side by side too, like the session's ``save``. ``saved_by``: who saves
        (e.g. the web app's log-in), default the store's user. ``name`` is data, never a
        file's path.

        Raises
        ------
        coverage.store.base.ScenarioConflict
            When another planner saved (or deleted) ``name`` since: nothing is saved, and the
            current edits stay as they are (deleted: the next save makes it anew).
        coverage.store.StoreError
            When the name cannot be kept or the store cannot be written.
        """
        scenario = self.scenario(name)
        try:
            self.versions[name] = self.scenario_store().save_scenario(
                name, scenario.to_json(), expected_version=self.versions.get(name),
                saved_by=saved_by, inputs=inputs_digest(scenario.inputs))
        except ScenarioConflict as exc:
            if exc.current is None:  # deleted since: the next save makes it anew
                self.versions.pop(name, None)
            raise
        self.scenarios[name] = scenario
        return scenario

    def load_stored(self, name: str) -> Scenario:
        """Make a scenario saved in the store the current one (:meth:`load`); return it.

        Its version is remembered: the next :meth:`store_scenario` of ``name`` is made on it.

        Raises
        ------
        coverage.store.StoreError
            When the store holds no scenario of that name.
        ValueError
            When its text is not a scenario, or its edits do not apply to the model.
        """
        text, version = self.scenario_store().read_scenario(name)
        scenario = replace(Scenario.from_text(text, label=name), name=name)
        self.load(scenario)
        self.versions[name] = version
        return scenario
