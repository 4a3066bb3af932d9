"""A random-exploration slot for new items: one position of each top-k list goes to a seeded random new item.

New items have little or no interaction data, so a model rarely ranks them; giving one slot of the
list to a random new item collects feedback on them (epsilon-greedy in its simplest, reproducible
form). :func:`new_items` picks the new items of a training set (fewest interactions, or first seen
recently); :class:`NewItemExploration` wraps any fitted recommender.

Example:
  >>> import numpy as np
  >>> recs = np.array([[0, 1, 2], [3, 4, 5]])
  >>> out = explore_slot(recs, new=np.array([9]), slot=2, seed=0)
  >>> out.tolist()
  [[0, 1, 9], [3, 4, 9]]
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from tfrec.data.training_data import TrainingData
from tfrec.recommenders.base import Algorithm

__all__ = ["NewItemExploration", "explore_slot", "new_items"]

_DAY = 86400.0


def new_items(data: TrainingData, max_ratings: Optional[int] = None, days: Optional[float] = None) -> np.ndarray:
    """Sorted item indices that count as new in ``data``.

    Args:
      data: the training data.
      max_ratings: items with at most this many training interactions. Default None (not used).
      days: items whose first training interaction is at most this many days before the newest one
        (needs the timestamp column). Default None (not used).

    Raises:
      ValueError: neither criterion given, or ``days`` without timestamps.
    """
    if max_ratings is None and days is None:
        raise ValueError("new_items needs max_ratings and/or days.")
    new = np.zeros(data.n_items, bool)
    if max_ratings is not None:
        new |= data.item_popularity() <= max_ratings
    if days is not None:
        col = data.columns.time
        if col is None or col not in data.frame.columns:
            raise ValueError(f"new_items(days=...) needs the timestamp column {col!r} in the training rows.")
        t = data.frame[col].to_numpy(np.float64)
        first = np.full(data.n_items, np.inf)
        np.minimum.at(first, data.items_idx, t)
        new |= first >= t.max() - days * _DAY
    return np.flatnonzero(new)


def explore_slot(recs: np.ndarray, new: np.ndarray, slot: int, seed: int,
                 seen: Optional[np.ndarray] = None) -> np.ndarray:
    """``recs`` with position ``slot`` of every row replaced by a random new item not already in the row.

    Args:
      recs: [n_users, k] item indices, best first.
      new: [n_new] candidate new item indices.
      slot: the 0-based position given to exploration; in [0, k).
      seed: seed of the draw (the same seed gives the same lists).
      seen: optional [n_users, n_items] bool: items a user must not get (their training items).

    Returns:
      [n_users, k] int64; a row keeps its own item at ``slot`` when no eligible new item is left.
    """
    recs = np.array(recs, dtype=np.int64, copy=True)
    n, k = recs.shape
    if not 0 <= slot < k:
        raise ValueError(f"slot must be in [0, k={k}). Received: slot={slot!r}")
    new = np.asarray(new, np.int64)
    if n == 0 or new.size == 0:
        return recs
    rng = np.random.default_rng(seed)
    # a random order of the new items per row; the first eligible one (not listed, not seen) wins
    order = np.argsort(rng.random((n, new.size)), axis=1)
    cand = new[order]  # [n, n_new]
    listed = (cand[:, :, None] == recs[:, None, :]).any(axis=2)
    ok = ~listed
    if seen is not None:
        ok &= ~np.take_along_axis(np.asarray(seen, bool), cand, axis=1)
    first = ok.argmax(axis=1)
    has = ok.any(axis=1)
    recs[has, slot] = cand[has, first[has]]
    return recs


class NewItemExploration(Algorithm):
    """Any recommender with one exploration slot for new items in its top-k lists (:func:`explore_slot`).

    Scores and rating predictions are the wrapped algorithm's; only :meth:`recommend` changes.

    Args:
      base: the recommender (unfitted; :meth:`fit` fits it).
      slot: 0-based list position given to a random new item. Default: the last one (``k - 1``).
      max_ratings: an item is new with at most this many training interactions. Default 5.
      days: or when first seen at most this many days before the newest training interaction. Default None.
      seed: seed of the draw. Default 42.
      name: the result row's name. Default "<base name> + explore".
    """

    def __init__(self, base: Algorithm, slot: Optional[int] = None, max_ratings: Optional[int] = 5,
                 days: Optional[float] = None, seed: int = 42, name: Optional[str] = None):
        super().__init__()
        self.base = base
        self.slot = slot
        self.max_ratings = max_ratings
        self.days = days
        self.seed = int(seed)
        self.name = name or f"{base.name} + explore"

    def fit(self, data: TrainingData) -> "NewItemExploration":
        self.base.fit(data)
        self.data = data
        self.predicts_ratings = self.base.predicts_ratings
        self.new_ = new_items(data, self.max_ratings, self.days)
        return self

    def score(self, users):
        return self.base.score(users)

    def predict(self, users, items):
        return self.base.predict(users, items)

    def recommend(self, users, k: int = 10, exclude_seen: bool = True, batch_size: int = 1024):
        recs, scores = self.base.recommend(users, k=k, exclude_seen=exclude_seen, batch_size=batch_size)
        users = np.asarray(users, np.int64)
        seen = self.data.seen_matrix()[users].toarray() > 0 if exclude_seen else None
        slot = recs.shape[1] - 1 if self.slot is None else self.slot
        out = explore_slot(recs, self.new_, slot, self.seed, seen=seen)
        return out, np.where(out == recs, scores, np.nan).astype(np.float32)
