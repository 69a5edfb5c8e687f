"""The message catalogue: every user-facing text of maps and reports, in Chinese and English.

Texts live in one file, ``coverage/data/messages.toml``, grouped by where they are used
(``[maps]``, ``[report]``); each key has a ``zh`` and an ``en`` text, with ``{name}`` fields
filled in by :func:`text`. Code never spells a user-facing sentence itself. A result column's
display label is the ``[maps]`` text of its name (:func:`column_label`, which also reads the
names that carry a threshold).
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from importlib import resources

LANGS = ("zh", "en")
"""Supported languages: Chinese (default) and English."""

__all__ = ["LANGS", "catalogue", "check_lang", "column_label", "text"]


def check_lang(lang: str) -> str:
    """Return ``lang`` if supported, else raise ``ValueError`` naming the choices."""
    if lang not in LANGS:
        msg = f"lang must be one of {', '.join(LANGS)}, got {lang!r}"
        raise ValueError(msg)
    return lang


@cache
def _load() -> dict[str, dict[str, dict[str, str]]]:
    raw = resources.files("coverage").joinpath("data/messages.toml").read_text("utf-8")
    return tomllib.loads(raw)


@cache
def catalogue(group: str, lang: str) -> dict[str, str]:
    """Return the texts of one group (``maps``, ``report``) in ``lang`` (key → text)."""
    check_lang(lang)
    data = _load()
    if group not in data:
        msg = f"no message group {group!r}; groups: {', '.join(data)}"
        raise KeyError(msg)
    return {key: entry[lang] for key, entry in data[group].items()}


def text(group: str, key: str, lang: str, /, **fields: object) -> str:
    """Return the text ``group.key`` in ``lang`` with its ``{name}`` fields filled in."""
    return catalogue(group, lang)[key].format(**fields) if fields else catalogue(group, lang)[key]


def column_label(column: str, *, lang: str = "zh") -> str:
    """Return the display label of a result column in ``lang``.

    For example ``coverage_15min_migrant`` → ``15分钟覆盖率（流动人口）``; unknown
    columns keep their name. Every output takes its labels from here, through
    :mod:`coverage.publish.labels`.

    Parameters
    ----------
    column
        Column name.
    lang
        ``zh`` or ``en``.
    """
    labels = catalogue("maps", check_lang(lang))
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
