"""Binary classification metrics for CTR-style models (vectorized NumPy, no scikit-learn).

Example:
  >>> from tfrec import metrics
  >>> metrics.auc([0, 1, 1, 0], [0.1, 0.8, 0.3, 0.3])  # pairs (pos, neg): 4 wins, 1 tie -> 3.5 / 4
  0.875
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from tfrec.metrics._checks import as_1d_numbers, as_binary, same_length

__all__ = ["auc", "log_loss"]


def _labels(labels) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"labels must be a 1-D array. Received shape {arr.shape}.")
    return as_binary(arr, "labels")


def auc(labels, scores) -> float:
    """Exact ROC AUC: the probability that a random positive scores above a random negative, ties
    counting one half (Mann-Whitney U from average ranks).

    Args:
      labels: [n] 0/1 or bool.
      scores: [n] float scores, higher = more likely positive.

    Raises:
      ValueError: when labels hold only one class (AUC is undefined).
    """
    y = _labels(labels)
    s = as_1d_numbers(scores, "scores")
    same_length(y, s, "labels", "scores")
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError(
            f"AUC needs both classes; received {n_pos} positive and {n_neg} negative labels."
        )
    ranks = rankdata(s, method="average")
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def log_loss(labels, probabilities, eps: float = 1e-7) -> float:
    """Mean binary cross-entropy with probabilities clipped to [eps, 1 - eps].

    Args:
      labels: [n] 0/1 or bool.
      probabilities: [n] predicted probabilities of the positive class (in [0, 1]).
      eps: clipping bound, default 1e-7 (the Keras epsilon).
    """
    y = _labels(labels).astype(np.float64)
    p = as_1d_numbers(probabilities, "probabilities")
    same_length(y, p, "labels", "probabilities")
    if len(y) == 0:
        raise ValueError("labels and probabilities are empty: there is nothing to score.")
    if (p < 0).any() or (p > 1).any():
        raise ValueError(
            "probabilities must lie in [0, 1]; received values from "
            f"{float(p.min())} to {float(p.max())}. Apply a sigmoid to logits first."
        )
    if not 0 < eps < 0.5:
        raise ValueError(f"eps must be in (0, 0.5). Received: eps={eps!r}")
    p = np.clip(p, eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))
