"""What may be shown: disclosure control of every figure about people, and display labels.

Between the engine and the outputs: the engine's session publishes its tables through here, and
every output (reports, maps, the web app, the command line) shows only what passed through here.

Modules: ``disclosure`` (small-cell suppression, the primary and complementary rules, checks
that nothing personal is published), ``tables`` (the summary and indicator tables of a whole
city → district → community hierarchy, protected together), ``labels`` (the display label of
every result column in Chinese and English, and every word and colour the web app shows),
``naming`` (the file names of reports).
"""

from __future__ import annotations

from coverage.publish.disclosure import DEFAULT_MIN_CELL, shown_rows, suppress_series
from coverage.publish.labels import column_label
from coverage.publish.tables import publish_indicators, publish_summaries

__all__ = ["DEFAULT_MIN_CELL", "column_label", "publish_indicators", "publish_summaries",
           "shown_rows", "suppress_series"]
