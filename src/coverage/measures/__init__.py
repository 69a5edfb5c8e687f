"""Measures: access, staffing, equalization and the plan's indicators, from travel times.

Above the road network and below the engine (``docs/architecture.md``): each module turns
arrays of travel times, people and staff into one family of figures.
:mod:`~coverage.measures.access` (the 2SFCA family), :mod:`~coverage.measures.staffing`
(staff against the standard), :mod:`~coverage.measures.equalization` (coverage of migrants and
registered residents, and their gap), :mod:`~coverage.measures.indicators` (the plan's
targets) and :mod:`~coverage.measures.availability` (which analyses the data allows, and why
the others are not computed).
"""
