"""The message catalogue: every user-facing text of maps and reports, in Chinese and English.

Texts live in one file, ``coverage/data/messages.toml``, grouped by where they are used
(``[maps]``, ``[report]``); each key has a ``zh`` and an ``en`` text, with ``{name}`` fields
filled in by :func:`text`. Code never spells a user-facing sentence itself.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

LANGS = ("zh", "en")
"""Supported languages: Chinese (default) and English."""

__all__ = ["LANGS", "catalogue", "check_lang", "text"]


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
