"""A trained I-AutoRec / U-AutoRec network as a rating predictor: :class:`AutoRecScorer`."""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)

from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.recommenders.base import Algorithm

__all__ = ["AutoRecScorer", "rating_matrix"]

_BASES = ("item", "user")


def rating_matrix(users: np.ndarray, items: np.ndarray, ratings: np.ndarray, n_users: int, n_items: int,
                  based_on: str = "user") -> Tuple[np.ndarray, np.ndarray]:
    """AutoRec's rows: the mean rating of every pair and a 0/1 mask of the observed ones.

    Args:
      users, items: [n] int indices of the rated pairs; ratings: [n] float ratings.
      n_users, n_items: the vocabulary sizes.
      based_on: "user" (rows are users, columns items) or "item" (rows items, columns users). Default "user".

    Returns:
      (ratings, mask): two float32 [n_users, n_items] arrays (transposed for "item"); a pair rated
      several times gets its mean rating; 0 where unobserved.

    Example:

    >>> r, m = rating_matrix(np.array([0, 0, 1]), np.array([1, 1, 0]), np.array([4.0, 2.0, 5.0]), 2, 2)
    >>> r.tolist(), m.tolist()
    ([[0.0, 3.0], [5.0, 0.0]], [[0.0, 1.0], [1.0, 0.0]])
    """
    if based_on == "item":
        users, items, n_users, n_items = items, users, n_items, n_users
    sums = np.zeros((n_users, n_items), np.float32)
    counts = np.zeros((n_users, n_items), np.float32)
    np.add.at(sums, (users, items), np.asarray(ratings, np.float32))
    np.add.at(counts, (users, items), 1.0)
    return np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0), (counts > 0).astype(np.float32)


class AutoRecScorer(Algorithm):
    """A trained AutoRec network (``tfrec.models.autorec``) as a rating predictor (``predicts_ratings = True``).

    The ``i_autorec`` / ``u_autorec`` families (``tfrec.training.families.autorec``) train the network
    with the Trainer; this class predicts with it. :meth:`fit` trains nothing: it builds the rows of the
    training ratings (items for I-AutoRec, users for U-AutoRec; duplicate pairs averaged) and stores the
    reconstruction of every row. A prediction for (u, i) is the reconstructed entry, clipped to the
    training rating range.

    Unknown ids (index -1) get a documented default instead of a reconstruction: an unknown user gets
    the item's training mean rating, an unknown item the user's training mean rating, and a pair of
    both unknown the training global mean (all clipped likewise). Top-N lists (:meth:`score`) rank
    items by predicted rating.

    Args:
      model: the trained network: called on [rows, inputs] float ratings, returns [rows, inputs].
      based_on: "item" (I-AutoRec: rows are items) or "user" (U-AutoRec). Default "item".
      clip: clip predictions to the training rating range. Default True.
      name: name in result tables (default ``i_autorec`` / ``u_autorec``).

    Raises:
      ValueError: an unknown ``based_on``; in :meth:`fit`, training data without ratings.

    Example:

    >>> import pandas as pd
    >>> from tfrec.models.autorec import AutoRec
    >>> frame = pd.DataFrame({"user_id": ["a", "a", "b"], "movie_id": ["x", "y", "x"],
    ...                       "user_rating": [5.0, 3.0, 4.0]})
    >>> scorer = AutoRecScorer(AutoRec(num_inputs=2, hidden_units=3)).fit(TrainingData(frame))
    >>> scorer.score(np.array([0, -1])).shape
    (2, 2)
    """

    predicts_ratings = True

    def __init__(self, model, based_on: str = "item", clip: bool = True, name: Optional[str] = None):
        super().__init__()
        if based_on not in _BASES:
            raise ValueError(f"based_on must be 'item' (I-AutoRec) or 'user' (U-AutoRec). Received: based_on={based_on!r}")
        self.model = model
        self.based_on = based_on
        self.clip = bool(clip)
        self.name = name or ("i_autorec" if based_on == "item" else "u_autorec")
        self._pred: Optional[np.ndarray] = None

    def fit(self, data: TrainingData) -> "AutoRecScorer":
        """Reconstructs every row from ``data``'s ratings (the training split); trains nothing."""
        if data.ratings is None:
            raise ValueError(f"AutoRec needs ratings; the training data has no rating column {data.columns.rating!r}.")
        self.data = data
        ratings, mask = rating_matrix(data.users_idx, data.items_idx, data.ratings, data.n_users, data.n_items)
        self.rating_range_ = (float(data.ratings.min()), float(data.ratings.max()))
        self.global_mean_ = float(data.ratings.mean())
        rated_u, rated_i = mask.sum(1), mask.sum(0)
        self._user_mean = np.where(rated_u > 0, ratings.sum(1) / np.maximum(rated_u, 1), self.global_mean_).astype(np.float32)
        self._item_mean = np.where(rated_i > 0, ratings.sum(0) / np.maximum(rated_i, 1), self.global_mean_).astype(np.float32)
        rows = np.ascontiguousarray(ratings.T if self.based_on == "item" else ratings)
        recon = np.concatenate([np.asarray(self.model(rows[lo:lo + 4096])) for lo in range(0, len(rows), 4096)])
        pred = recon.T if self.based_on == "item" else recon
        self._pred = self._clip(np.ascontiguousarray(pred, dtype=np.float32))
        return self

    def _clip(self, x):
        return np.clip(x, *self.rating_range_) if self.clip else x

    def _check_fitted(self):
        if self._pred is None:
            raise RuntimeError(f"{type(self).__name__} ({self.name}) is not fitted: call fit(training_data) first.")

    def score(self, users: np.ndarray) -> np.ndarray:
        """[n, n_items] float32 predicted ratings; unknown users get the item means."""
        self._check_fitted()
        users = np.asarray(users, np.int64)
        known = users != OOV_INDEX
        out = np.empty((len(users), self.data.n_items), np.float32)
        out[known] = self._pred[users[known]]
        out[~known] = self._clip(self._item_mean)
        return out

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """[n] float32 predicted ratings of user-item pairs (defaults for unknown ids: see the class doc)."""
        self._check_fitted()
        users = np.asarray(users, np.int64)
        items = np.asarray(items, np.int64)
        if users.shape != items.shape:
            raise ValueError(f"users and items must have the same shape. Received {users.shape} and {items.shape}.")
        ku, ki = users != OOV_INDEX, items != OOV_INDEX
        out = np.full(users.shape, self.global_mean_, np.float32)
        both = ku & ki
        out[both] = self._pred[users[both], items[both]]
        out[ku & ~ki] = self._user_mean[users[ku & ~ki]]
        out[~ku & ki] = self._item_mean[items[~ku & ki]]
        return self._clip(out).astype(np.float32)
