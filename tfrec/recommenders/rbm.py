"""A trained CF RBM (:class:`~tfrec.models.rbm.RBM`) as a rating predictor: :class:`RBMScorer`."""

from __future__ import annotations

from typing import Optional

import numpy as np

import tfrec  # noqa: F401  (selects tf_keras)
import tensorflow as tf

from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.models.rbm import RBM, rating_classes
from tfrec.recommenders.base import Algorithm


def class_matrix(users: np.ndarray, items: np.ndarray, ratings: np.ndarray, n_users: int, n_items: int,
                 orientation: str = "user", n_ratings: int = 5, min_rating: float = 1.0,
                 rating_step: float = 1.0) -> np.ndarray:
    """The RBM's cases x visible units matrix of rating classes (0 = not rated).

    Args:
      users, items: [n] int indices of the rated pairs; ratings: [n] float ratings.
      n_users, n_items: the vocabulary sizes.
      orientation: "user" (rows are users, columns items) or "item" (rows items, columns users).
      n_ratings, min_rating, rating_step: the rating scale (:func:`~tfrec.models.rbm.rating_classes`).

    Returns:
      [n_users, n_items] (or [n_items, n_users]) int8 classes ``1..n_ratings``; a repeated pair keeps its
      last rating.
    """
    cls = rating_classes(ratings, n_ratings, min_rating, rating_step)
    if orientation == "user":
        matrix = np.zeros((n_users, n_items), np.int8)
        matrix[users, items] = cls
    else:
        matrix = np.zeros((n_items, n_users), np.int8)
        matrix[items, users] = cls
    return matrix


class RBMScorer(Algorithm):
    """A trained CF RBM (:class:`~tfrec.models.rbm.RBM`) as a rating predictor (``predicts_ratings = True``).

    The ``rbm`` family (:class:`tfrec.training.families.rbm.RBMTask`) trains the model with the Trainer;
    this class predicts with it. :meth:`fit` trains nothing: it maps the training ratings to the
    classes ``round((r - min_rating) / rating_step) + 1`` and keeps them as the visible units the
    predictions start from.

    ``orientation="user"`` is the paper's model (U-RBM): each user is a case and the items are the
    softmax visible units; a user's prediction uses only that user's training ratings.
    ``orientation="item"`` is the item-based variant (I-RBM, as compared in the AutoRec paper): each item
    is a case and the users are the visible units; the prediction of ``(u, i)`` is visible unit ``u``
    reconstructed from item ``i``'s training ratings. Either way only training ratings enter the model.
    An unknown user gets an empty visible layer (user orientation) or the global training mean (item
    orientation); an unknown item gets the global training mean.

    Args:
      model: the trained :class:`~tfrec.models.rbm.RBM` (its visible units: the items for
        ``orientation="user"``, the users for ``"item"``).
      orientation: ``"user"`` or ``"item"``. Default ``"user"``.
      n_ratings, min_rating, rating_step: the rating scale (default 5 values 1, 2, ..., 5).
      name: display name. Default "rbm".

    Raises:
      ValueError: an unknown orientation; in :meth:`fit`, ratings off the scale, or a training vocabulary
        whose size does not match the model's visible units.

    Example:

    >>> import pandas as pd
    >>> from tfrec.models.rbm import RBM
    >>> frame = pd.DataFrame({"user_id": ["a", "a", "b", "b"], "movie_id": ["x", "y", "x", "z"],
    ...                       "user_rating": [5.0, 3.0, 4.0, 1.0]})
    >>> scorer = RBMScorer(RBM(n_items=3, n_hidden=4)).fit(TrainingData(frame))
    >>> scorer.predict(np.array([0, 1]), np.array([1, 2])).shape
    (2,)
    >>> RBMScorer(RBM(n_items=2, n_hidden=4), orientation="item").fit(TrainingData(frame)).score(np.array([0, 1])).shape
    (2, 3)
    """

    predicts_ratings = True

    def __init__(self, model: RBM, orientation: str = "user", n_ratings: int = 5, min_rating: float = 1.0,
                 rating_step: float = 1.0, name: Optional[str] = None):
        super().__init__()
        if orientation not in ("user", "item"):
            raise ValueError(f"orientation must be 'user' (users are the training cases) or 'item' (items are). "
                             f"Received: orientation={orientation!r}")
        self.model = model
        self.orientation = orientation
        self.n_ratings = int(n_ratings)
        self.min_rating = float(min_rating)
        self.rating_step = float(rating_step)
        self.prediction = model.prediction
        self.name = name or "rbm"
        self._matrix: Optional[np.ndarray] = None

    def fit(self, data: TrainingData) -> "RBMScorer":
        """Keeps the class matrix of ``data``'s ratings (the visible units of every case); trains nothing."""
        if data.ratings is None:
            raise ValueError("The RBM needs explicit ratings, but the training data has no rating column "
                             f"({data.columns.rating!r}). Use a rating dataset or an implicit-feedback algorithm.")
        self._matrix = class_matrix(data.users_idx, data.items_idx, data.ratings, data.n_users, data.n_items,
                                    self.orientation, self.n_ratings, self.min_rating, self.rating_step)
        if self._matrix.shape[1] != self.model.n_items:
            raise ValueError(f"The RBM has {self.model.n_items} visible units but the training data has "
                             f"{self._matrix.shape[1]} {'items' if self.orientation == 'user' else 'users'}: "
                             "score with the vocabulary the model was trained on.")
        self.data = data
        self._global_mean = float(np.mean(data.ratings))
        self._reconstruction = None
        return self

    def _expected(self, rows: np.ndarray) -> np.ndarray:
        """[n, n_visible] expected ratings (on the data's scale) reconstructed from int class rows."""
        chunk = 8 if self.prediction == "exact" else 256  # exact: memory chunk * n_visible * K * n_hidden
        out = np.empty(rows.shape, np.float32)
        for start in range(0, len(rows), chunk):
            e = self.model(tf.constant(rows[start:start + chunk].astype(np.int32))).numpy()
            out[start:start + chunk] = self.min_rating + self.rating_step * (e - 1.0)
        return out

    def score(self, users: np.ndarray) -> np.ndarray:
        """[n, n_items] predicted ratings (on the data's scale) of every item for each user."""
        if self._matrix is None:
            raise RuntimeError("RBMScorer.score called before fit().")
        users = np.asarray(users, dtype=np.int64)
        known = users != OOV_INDEX
        if self.orientation == "user":
            rows = np.zeros((len(users), self.data.n_items), np.int8)
            rows[known] = self._matrix[users[known]]
            return self._expected(rows)
        out = np.full((len(users), self.data.n_items), self._global_mean, np.float32)
        if self._reconstruction is None:  # every item's row once: [items, users]
            self._reconstruction = self._expected(self._matrix)
        out[known] = self._reconstruction.T[users[known]]
        return out

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """[n] predicted ratings; unknown items (and, item orientation, unknown users) get the global
        training mean."""
        if self._matrix is None:
            raise RuntimeError("RBMScorer.predict called before fit().")
        users = np.asarray(users, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        out = np.full(len(users), self._global_mean, np.float32)
        if self.orientation == "user":
            uniq, inverse = np.unique(users, return_inverse=True)
            full = self.score(uniq)
            known = items != OOV_INDEX
            out[known] = full[inverse[known], items[known]]
            return out
        known = (items != OOV_INDEX) & (users != OOV_INDEX)
        uniq, inverse = np.unique(items[known], return_inverse=True)
        out[known] = self._expected(self._matrix[uniq])[inverse, users[known]]
        return out


__all__ = ["RBMScorer", "class_matrix"]
