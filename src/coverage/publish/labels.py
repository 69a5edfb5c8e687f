"""The words, labels, colours and names every display shows, in Chinese and English.

Every output that shows a result column by name (the reports, the interactive maps, the web
app, the command line's tables) takes its label from :func:`column_label`. The web app takes
every word and colour it shows from here, and nothing else of the library but the planning
session (:mod:`coverage.engine.session`); each name below is defined where its users in the
library find it and gathered here, not defined twice:

* texts and labels: :func:`text` (the message catalogue), :func:`column_label` and
  :data:`LABELS` (result columns), :func:`coverage_column` (the name of a coverage column),
  :func:`indicator_names` (the plan's indicators), :func:`scorecard_names` (the indicators of
  the district scorecard), :func:`reason_text` (why an analysis was not computed),
  :func:`site_places` (where a service point is, in words);
* colours (:mod:`coverage.cartography`): :func:`color_scale` (a choropleth's classes, the
  same in every output), :data:`MISSING_COLOR`, :data:`KIND_COLORS` (service points by kind)
  and :data:`HOTSPOT_COLORS` (hot spot classes);
* file names: :func:`report_filename` (:mod:`coverage.publish.naming`).
"""

from __future__ import annotations

from coverage.cartography import (
    HOTSPOT_COLORS,
    KIND_COLORS,
    MISSING_COLOR,
    ColorScale,
    color_scale,
    site_places,
)
from coverage.io.assessment import INDICATOR_NAMES
from coverage.measures.availability import reason_text
from coverage.measures.equalization import coverage_column
from coverage.measures.indicators import indicator_names
from coverage.messages import LANGS, catalogue, column_label, text
from coverage.publish.naming import report_filename

__all__ = ["HOTSPOT_COLORS", "KIND_COLORS", "LABELS", "MISSING_COLOR", "ColorScale",
           "color_scale", "column_label", "coverage_column", "indicator_names", "reason_text",
           "report_filename", "scorecard_names", "site_places", "text"]

LABELS: dict[str, dict[str, str]] = {lang: catalogue("maps", lang) for lang in LANGS}
"""Labels of result columns (the catalogue's ``maps`` texts), per language."""


def scorecard_names(lang: str = "zh") -> dict[str, str]:
    """Return each indicator of the district scorecard → its name in ``lang``, in order.

    The plan's seven indicators by :func:`indicator_names`, the scorecard's own
    (``coverage``, ``staffing``, ``migrant_gap``, ``funding``) by the catalogue's
    ``[scorecard]`` texts; in the order of :data:`coverage.io.assessment.INDICATOR_NAMES`.
    """
    names = {**indicator_names(lang), **catalogue("scorecard", lang)}
    return {key: names[key] for key in INDICATOR_NAMES}
