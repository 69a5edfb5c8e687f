"""The engine: the main job, the analysis model of scenarios, recommendations and workspaces.

It drives the layers below (data, network, measures, patterns, placement) and is driven by the
command line, the web app and notebooks; it never imports an output (``docs/architecture.md``)
but the reports the session makes for the web app's downloads.
:mod:`~coverage.engine.run` (the main job, ``run_study`` and ``write_results``),
:mod:`~coverage.engine.scenario` (``ScenarioModel``: a baseline, edits evaluated in
milliseconds), :mod:`~coverage.engine.recommend` (where to add sites and staff),
:mod:`~coverage.engine.workspace` (a project's results: loaded, checked, computed, kept per
process), :mod:`~coverage.engine.session` (one planner's scenario and what may be shown of
it), :mod:`~coverage.engine.preflight` (checks before a run) and
:mod:`~coverage.engine.provenance` (run parameters, input hashes, data quality).
"""
