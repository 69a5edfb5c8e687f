"""Display labels of result columns in Chinese and English (the message catalogue's ``maps``).

Every output that shows a result column by name (the reports, the interactive maps, the web
app, the command line's tables) takes its label from :func:`column_label`.
"""

from __future__ import annotations

import re

from coverage.messages import LANGS, catalogue, check_lang

__all__ = ["LABELS", "column_label"]

LABELS: dict[str, dict[str, str]] = {lang: catalogue("maps", lang) for lang in LANGS}
"""Labels of result columns, per language."""


def _labels(lang: str) -> dict[str, str]:
    return LABELS[check_lang(lang)]


def column_label(column: str, *, lang: str = "zh") -> str:
    """Return the display label of a result column in ``lang``.

    For example ``coverage_15min_migrant`` → ``15分钟覆盖率（流动人口）``; unknown
    columns keep their name.

    Parameters
    ----------
    column
        Column name.
    lang
        ``zh`` or ``en``.
    """
    labels = _labels(lang)
    match = re.fullmatch(r"coverage_(\d+(?:\.\d+)?)min_(migrant|registered)", column)
    if match:
        return labels[f"coverage_min_{match[2]}"].format(t=match[1])
    match = re.fullmatch(r"coverage_gap_(\d+(?:\.\d+)?)min", column)
    if match:
        return labels["coverage_gap"].format(t=match[1])
    match = re.fullmatch(r"migrants_newly_within_(\d+(?:\.\d+)?)min", column)
    if match:
        return labels["migrants_newly_within"].format(t=match[1])
    return labels.get(column, column)
