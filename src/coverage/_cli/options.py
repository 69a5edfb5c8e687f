"""Choices shared by the commands of the command line."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Lang", "Mode", "Objective", "Size", "StaffObjective"]


class Lang(StrEnum):
    """Message languages."""

    zh = "zh"
    en = "en"


class Size(StrEnum):
    """Demo city sizes."""

    small = "small"
    default = "default"
    large = "large"
    xlarge = "xlarge"


class Mode(StrEnum):
    """Travel modes."""

    walk = "walk"
    ebike = "ebike"


class Objective(StrEnum):
    """Objectives for new sites."""

    coverage = "coverage"
    distance = "distance"
    target = "target"


class StaffObjective(StrEnum):
    """Objectives for new staff."""

    shortfall = "shortfall"
    maxmin = "maxmin"
