"""Choices shared by the commands of the command line."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Lang"]


class Lang(StrEnum):
    """Message languages."""

    zh = "zh"
    en = "en"
