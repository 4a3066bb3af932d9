"""Factorized top-K categorical accuracy (``tfrs.metrics.FactorizedTopK``) on NumPy scores.

For each held-out (user, item) pair, the item counts as retrieved at K if fewer than K catalog items
score strictly higher than it for that user; nothing is removed from the catalog (the user's training
items compete too). This is the metric of the TFRS retrieval tutorials ("top-100 categorical
accuracy"). A pair whose user or item is unknown to the model cannot be ranked and counts as a miss.

Example:
  >>> import numpy as np
  >>> scores = np.array([[0.9, 0.5, 0.1], [0.2, 0.3, 0.4]])
  >>> ranks = positive_ranks(scores, np.array([1, 0]))
  >>> ranks.tolist()
  [1, 2]
  >>> factorized_top_k(np.append(ranks, UNRANKED), ks=(1, 2, 3))
  {'top_1_categorical_accuracy': 0.0, 'top_2_categorical_accuracy': 0.3333333333333333, \
'top_3_categorical_accuracy': 0.6666666666666666}
"""

from __future__ import annotations

from typing import Dict, Sequence

import numpy as np

from tfrec.metrics._checks import positive_int

__all__ = ["UNRANKED", "factorized_top_k", "positive_ranks"]

#: the rank of a pair that cannot be ranked (unknown user or item): a miss at every K
UNRANKED = -1


def positive_ranks(scores: np.ndarray, positives: np.ndarray) -> np.ndarray:
    """0-based rank of each row's positive item: how many items score strictly higher.

    Args:
      scores: [n, n_items] float scores of every catalog item for the user of each row.
      positives: [n] int item index (column of ``scores``) of each row's held-out item.

    Returns:
      [n] int64 ranks (0 = nothing scores higher). Ties count in the positive's favour, as
      ``tfrs.metrics.FactorizedTopK``.

    Raises:
      ValueError: ``scores`` is not 2-D, the lengths differ, or an index is outside the catalog.
    """
    scores = np.asarray(scores)
    positives = np.asarray(positives)
    if scores.ndim != 2:
        raise ValueError(f"scores must be [n, n_items]. Received shape {scores.shape}.")
    if positives.shape != (scores.shape[0],):
        raise ValueError(f"positives must be [n] with n = {scores.shape[0]} (the rows of scores). "
                         f"Received shape {positives.shape}.")
    if len(positives) and (positives.min() < 0 or positives.max() >= scores.shape[1]):
        raise ValueError(f"positives must be item indices in [0, {scores.shape[1]}). "
                         f"Received values in [{positives.min()}, {positives.max()}].")
    own = scores[np.arange(len(positives)), positives]
    return (scores > own[:, None]).sum(axis=1).astype(np.int64)


def factorized_top_k(ranks: np.ndarray, ks: Sequence[int] = (1, 5, 10, 50, 100)) -> Dict[str, float]:
    """Share of rows whose positive ranks within the top K, for each K.

    Args:
      ranks: [n] int ranks from :func:`positive_ranks`; :data:`UNRANKED` (-1) for rows that cannot be
        ranked (they count as misses).
      ks: cut-offs, positive integers. Default (1, 5, 10, 50, 100).

    Returns:
      ``{"top_<K>_categorical_accuracy": float}`` per K (NaN for no rows), in the order of ``ks``.

    Raises:
      ValueError: a K that is not a positive integer.
    """
    ranks = np.asarray(ranks)
    ranked = ranks != UNRANKED
    out = {}
    for k in ks:
        positive_int(k, "k")
        out[f"top_{k}_categorical_accuracy"] = float(np.mean(ranked & (ranks < k))) if len(ranks) else float("nan")
    return out
