"""The one small interface every recommender implements: :class:`Algorithm`, and :func:`top_k`."""

from __future__ import annotations

import abc
from typing import Tuple

import numpy as np

from tfrec.data.training_data import OOV_INDEX, TrainingData


def top_k(scores: np.ndarray, k: int) -> Tuple[np.ndarray, np.ndarray]:
    """Top-k columns of each row of ``scores``, best first.

    Args:
      scores: [n_rows, n_items] float array; ``-inf`` marks excluded items.
      k: number of items per row; clipped to ``n_items``.

    Returns:
      (indices, values): two [n_rows, min(k, n_items)] arrays. Ties are broken by the lower index.
    """
    n_items = scores.shape[1]
    k = min(int(k), n_items)
    if k <= 0:
        raise ValueError(f"k must be a positive integer. Received: k={k}")
    if k < n_items:
        kth = np.take_along_axis(scores, np.argpartition(-scores, k - 1, axis=1)[:, k - 1 : k], axis=1)
        above = scores > kth
        tied = scores == kth
        need = k - above.sum(axis=1, keepdims=True)
        # every item above the k-th score, then the lowest-index items tied with it
        chosen = above | (tied & (np.cumsum(tied, axis=1) <= need))
        part = np.nonzero(chosen)[1].reshape(scores.shape[0], k)
    else:
        part = np.tile(np.arange(n_items), (scores.shape[0], 1))
    vals = np.take_along_axis(scores, part, axis=1)
    # stable order: by score desc, then by item index asc
    order = np.lexsort((part, -vals), axis=1)
    idx = np.take_along_axis(part, order, axis=1)
    return idx, np.take_along_axis(vals, order, axis=1)


class Algorithm(abc.ABC):
    """Base class of every recommender the :class:`~tfrec.evaluation.Evaluator` compares.

    A subclass implements :meth:`fit` and :meth:`score`; rating predictors also set
    ``predicts_ratings = True`` and override :meth:`predict` when scores are not ratings.
    Users and items are *indices* of the :class:`TrainingData` passed to ``fit``;
    ``OOV_INDEX`` (-1) stands for an id that was not in the training data.
    """

    #: Name shown in result tables.
    name: str = "algorithm"
    #: True when :meth:`predict` returns ratings on the data's rating scale (RMSE/MAE apply).
    predicts_ratings: bool = False
    #: a click model: :meth:`predict` returns the probability that the rating is at least this
    #: (AUC and log loss apply); None otherwise.
    click_threshold: float | None = None

    def __init__(self):
        self.data: TrainingData | None = None

    @abc.abstractmethod
    def fit(self, data: TrainingData) -> "Algorithm":
        """Trains on ``data`` (the training split only) and returns ``self``."""

    @abc.abstractmethod
    def score(self, users: np.ndarray) -> np.ndarray:
        """Scores of every catalog item for each user.

        Args:
          users: [n] int user indices (``OOV_INDEX`` allowed).

        Returns:
          [n, n_items] float32 scores; higher is better.
        """

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Scores (or ratings, if ``predicts_ratings``) of user-item pairs.

        Args:
          users: [n] int user indices; items: [n] int item indices (``OOV_INDEX`` allowed).

        Returns:
          [n] float32. The default gathers from :meth:`score` one user at a time group.
        """
        users = np.asarray(users)
        items = np.asarray(items)
        out = np.zeros(len(users), np.float32)
        uniq, inverse = np.unique(users, return_inverse=True)
        full = self.score(uniq)
        safe_items = np.where(items == OOV_INDEX, 0, items)
        out[:] = full[inverse, safe_items]
        out[items == OOV_INDEX] = np.float32(np.min(full) if full.size else 0.0)
        return out

    def predict_rows(self, rows, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """:meth:`predict` of the pairs of ``rows``, a model with context features (the time of a rating)
        taking them from ``rows``.

        Args:
          rows: [n, ...] ``pd.DataFrame`` of the interactions (user, item and any context columns;
            never their ratings as an input).
          users, items: [n] int indices of the rows' users and items (``OOV_INDEX`` allowed).

        Returns:
          [n] float32; the default is ``predict(users, items)`` (no context features).
        """
        return self.predict(users, items)

    def score_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Ranking scores of user-item pairs (used to rank sampled candidates, e.g. the NCF protocol).

        The default gathers from :meth:`score` for rating predictors (whose :meth:`predict` returns
        ratings, not ranking scores) and calls :meth:`predict` otherwise.
        """
        if not self.predicts_ratings:
            return np.asarray(self.predict(users, items), dtype=np.float32)
        return Algorithm.predict(self, users, items)

    def recommend(
        self, users: np.ndarray, k: int = 10, exclude_seen: bool = True, batch_size: int = 1024
    ) -> Tuple[np.ndarray, np.ndarray]:
        """Top-k item indices and scores for each user, best first.

        Args:
          users: [n] int user indices.
          k: list length.
          exclude_seen: drop items the user interacted with in training (the usual protocol).
          batch_size: users scored at once.

        Returns:
          (items, scores), each [n, k].
        """
        if self.data is None:
            raise RuntimeError(f"{type(self).__name__}.recommend called before fit().")
        users = np.asarray(users, dtype=np.int64)
        seen = self.data.seen_matrix() if exclude_seen else None
        idx_out, val_out = [], []
        for start in range(0, len(users), batch_size):
            batch = users[start : start + batch_size]
            scores = np.array(self.score(batch), dtype=np.float32, copy=True)
            if seen is not None:
                known = batch != OOV_INDEX
                rows, cols = seen[batch[known]].nonzero()
                scores[np.flatnonzero(known)[rows], cols] = -np.inf
            idx, val = top_k(scores, k)
            idx_out.append(idx)
            val_out.append(val)
        return np.concatenate(idx_out), np.concatenate(val_out)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
