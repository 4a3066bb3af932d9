"""Argument checks shared by the metric modules."""

from __future__ import annotations

import numbers

import numpy as np


def as_2d(x, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D [n_users, k] array. Received shape {arr.shape}.")
    return arr


def as_binary(x, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype != bool:
        if not np.isin(arr, (0, 1)).all():
            bad = arr[~np.isin(arr, (0, 1))]
            raise ValueError(f"{name} must hold only 0/1 or booleans. Received values such as {bad[:5].tolist()}.")
        arr = arr.astype(bool)
    return arr


def as_1d_numbers(x, name: str, allow_nan: bool = False) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array. Received shape {arr.shape}.")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must hold numbers. Received dtype {arr.dtype}.")
    arr = arr.astype(np.float64)
    if not allow_nan and np.isnan(arr).any():
        raise ValueError(f"{name} holds {int(np.isnan(arr).sum())} NaN value(s); drop or fill them first.")
    return arr


def same_length(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"{name_a} and {name_b} must have the same length. Received {a.shape[0]} and {b.shape[0]}.")


def positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer. Received: {name}={value!r}")
    return int(value)


def nanmean(values: np.ndarray) -> float:
    """Mean over non-NaN entries; NaN when there are none (no user to average over)."""
    keep = ~np.isnan(values)
    return float(values[keep].mean()) if keep.any() else float("nan")
