"""Argument checks shared by the recommenders."""

from __future__ import annotations

import numpy as np


def check_positive(name: str, value, kind=int) -> None:
    """Raises a ValueError naming ``name`` unless ``value`` is a positive int (``kind=int``) or number."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0 or (kind is int and int(value) != value):
        expected = "a positive integer" if kind is int else "a positive number"
        raise ValueError(f"Received an invalid value for {name}, expected {expected}. Received: {name}={value!r}")


def positive_int(name: str, value) -> int:
    """``value`` as an int; a ValueError naming ``name`` unless it is a positive integer (numpy ints too)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"Received an invalid value for {name}, expected a positive integer. Received: {name}={value!r}")
    return int(value)
