"""Rating-prediction errors (vectorized NumPy).

Example:
  >>> from tfrec import metrics
  >>> metrics.rmse([4.0, 2.0], [3.0, 4.0])  # sqrt((1 + 4) / 2)
  1.5811388300841898
  >>> metrics.mae([4.0, 2.0], [3.0, 4.0])   # (1 + 2) / 2
  1.5
"""

from __future__ import annotations

import numpy as np

from tfrec.metrics._checks import as_1d_numbers, same_length

__all__ = ["rmse", "mae"]


def _errors(y_true, y_pred) -> np.ndarray:
    t = as_1d_numbers(y_true, "y_true")
    p = as_1d_numbers(y_pred, "y_pred")
    same_length(t, p, "y_true", "y_pred")
    if len(t) == 0:
        raise ValueError("y_true and y_pred are empty: there is nothing to score.")
    return p - t


def rmse(y_true, y_pred) -> float:
    """Root mean squared error.

    Args:
      y_true: [n] actual ratings.
      y_pred: [n] predicted ratings.
    """
    e = _errors(y_true, y_pred)
    return float(np.sqrt(np.mean(e * e)))


def mae(y_true, y_pred) -> float:
    """Mean absolute error of [n] predicted vs [n] actual ratings."""
    return float(np.mean(np.abs(_errors(y_true, y_pred))))
