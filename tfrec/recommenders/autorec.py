"""I-AutoRec and U-AutoRec as rating predictors (registry names ``i_autorec`` and ``u_autorec``)."""

from __future__ import annotations

import time
from typing import Callable, Optional

import numpy as np

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf

from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.models.autorec import AutoRec
from tfrec.recommenders._checks import positive_int
from tfrec.recommenders.base import Algorithm


_BASES = ("item", "user")
_SCHEDULES = ("constant", "cosine")


class AutoRecRecommender(Algorithm):
    """I-AutoRec or U-AutoRec as a rating predictor (``predicts_ratings = True``).

    ``fit`` builds the dense [n_users, n_items] training rating matrix (duplicate pairs averaged),
    trains :class:`AutoRec` with Adam on the rows (items for I-AutoRec, users for U-AutoRec), by
    default on all rows at once (full-batch, like the paper's L-BFGS/Rprop training), and stores the reconstruction of every row from its training ratings. A prediction
    for (u, i) is the reconstructed entry, clipped to the training rating range.

    Unknown ids (index -1) get a documented default instead of a reconstruction: an unknown user
    gets the item's training mean rating, an unknown item the user's training mean rating, and a
    pair of both unknown the training global mean (all clipped likewise). Top-N lists (:meth:`score`)
    rank items by predicted rating.

    Args:
      based_on: "item" (I-AutoRec, the paper's better variant) or "user" (U-AutoRec). Default "item".
      hidden_units: int, hidden size. Default 500.
      l2: float, lambda of the weight decay ``lambda / 2 * ||W||^2`` (relative to the summed
        squared error over all observed training ratings). Default 100.0.
      epochs: int, passes over the rows (one Adam step each when full-batch). Default 200.
      batch_size: int or None, rows per mini-batch; None: all rows in one batch. Default None.
      learning_rate: float, Adam learning rate (the initial one under a schedule). Default 3e-3.
      lr_schedule: "constant" or "cosine": cosine decay of the learning rate from ``learning_rate`` to
        ``lr_floor * learning_rate`` over the ``epochs`` (per step). Default "constant".
      lr_floor: float in [0, 1], final learning rate as a fraction of the initial one under "cosine".
        Default 0.0.
      clip: bool, clip predictions to the training rating range. Default True.
      seed: int, seeds TensorFlow's global generator and the row shuffling. Default 42.
      verbose: int, Keras verbosity. Default 0.
      name: str or None, name in result tables (default ``i_autorec`` / ``u_autorec``).

    Attributes after ``fit``: ``model``, ``history_`` (Keras history dict), ``train_seconds_``,
    ``examples_seen_`` (rows processed), ``rating_range_``, ``global_mean_``.
    """

    predicts_ratings = True

    def __init__(self, based_on: str = "item", hidden_units: int = 500, l2: float = 100.0, epochs: int = 200,
                 batch_size: Optional[int] = None, learning_rate: float = 3e-3, lr_schedule: str = "constant",
                 lr_floor: float = 0.0, clip: bool = True, seed: int = 42, verbose: int = 0,
                 name: Optional[str] = None):
        super().__init__()
        if based_on not in _BASES:
            raise ValueError(f"based_on must be 'item' (I-AutoRec) or 'user' (U-AutoRec). Received: based_on={based_on!r}")
        self.based_on = based_on
        self.hidden_units = positive_int("hidden_units", hidden_units)
        if not isinstance(l2, (int, float)) or l2 < 0:
            raise ValueError(f"Received an invalid value for l2, expected a float >= 0. Received: l2={l2!r}")
        self.l2 = float(l2)
        self.epochs = positive_int("epochs", epochs)
        self.batch_size = None if batch_size is None else positive_int("batch_size", batch_size)
        if not isinstance(learning_rate, (int, float)) or learning_rate <= 0:
            raise ValueError(f"Received an invalid value for learning_rate, expected a float > 0. Received: {learning_rate!r}")
        self.learning_rate = float(learning_rate)
        if lr_schedule not in _SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {_SCHEDULES}. Received: lr_schedule={lr_schedule!r}")
        self.lr_schedule = lr_schedule
        if not isinstance(lr_floor, (int, float)) or not 0.0 <= lr_floor <= 1.0:
            raise ValueError(f"Received an invalid value for lr_floor, expected a float in [0, 1]. Received: {lr_floor!r}")
        self.lr_floor = float(lr_floor)
        self.clip = bool(clip)
        self.seed = int(seed)
        self.verbose = int(verbose)
        self.name = name or ("i_autorec" if based_on == "item" else "u_autorec")
        self.model: Optional[AutoRec] = None

    def fit(self, data: TrainingData,
            on_epoch_end: Optional[Callable[[int, "AutoRecRecommender"], None]] = None) -> "AutoRecRecommender":
        """Trains on the ratings of ``data``.

        Args:
          data: the training split; needs a rating column.
          on_epoch_end: optional ``f(epoch, self)`` called after each epoch with predictions already
            refreshed (so ``f`` may call :meth:`predict`), e.g. to track a validation RMSE built from
            the training data only.

        Returns:
          ``self``.
        """
        if data.ratings is None:
            raise ValueError(f"AutoRec needs ratings; the training data has no rating column {data.columns.rating!r}.")
        self.data = data
        tf.random.set_seed(self.seed)
        start = time.perf_counter()
        n_u, n_i = data.n_users, data.n_items
        sums = np.zeros((n_u, n_i), np.float32)
        counts = np.zeros((n_u, n_i), np.float32)
        np.add.at(sums, (data.users_idx, data.items_idx), data.ratings)
        np.add.at(counts, (data.users_idx, data.items_idx), 1.0)
        mask = (counts > 0).astype(np.float32)
        ratings = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
        self.rating_range_ = (float(data.ratings.min()), float(data.ratings.max()))
        self.global_mean_ = float(data.ratings.mean())
        with np.errstate(invalid="ignore"):
            self._user_mean = np.where(mask.sum(1) > 0, ratings.sum(1) / mask.sum(1), self.global_mean_).astype(np.float32)
            self._item_mean = np.where(mask.sum(0) > 0, ratings.sum(0) / mask.sum(0), self.global_mean_).astype(np.float32)
        if self.based_on == "item":
            rows, rows_mask = np.ascontiguousarray(ratings.T), np.ascontiguousarray(mask.T)
        else:
            rows, rows_mask = ratings, mask
        self._rows = rows
        self.model = AutoRec(rows.shape[1], self.hidden_units, self.l2, num_rows=rows.shape[0])
        batch = self.batch_size or rows.shape[0]
        lr = self.learning_rate
        if self.lr_schedule == "cosine":
            steps = self.epochs * -(-rows.shape[0] // batch)
            lr = tf.keras.optimizers.schedules.CosineDecay(self.learning_rate, steps, alpha=self.lr_floor)
        self.model.compile(optimizer=tf.keras.optimizers.Adam(lr))
        ds = (tf.data.Dataset.from_tensor_slices((rows, rows_mask))
              .shuffle(rows.shape[0], seed=self.seed, reshuffle_each_iteration=True)
              .batch(batch))
        callbacks = []
        if on_epoch_end is not None:
            def _cb(epoch, logs):
                self._refresh()
                on_epoch_end(epoch + 1, self)

            callbacks.append(tf.keras.callbacks.LambdaCallback(on_epoch_end=_cb))
        self.history_ = self.model.fit(ds, epochs=self.epochs, verbose=self.verbose, callbacks=callbacks).history
        self._refresh()
        self.train_seconds_ = time.perf_counter() - start
        self.examples_seen_ = rows.shape[0] * self.epochs
        return self

    def _refresh(self) -> None:
        """Recomputes the [n_users, n_items] predicted-rating matrix from the training rows."""
        recon = np.concatenate([self.model(self._rows[lo:lo + 4096]).numpy() for lo in range(0, len(self._rows), 4096)])
        pred = recon.T if self.based_on == "item" else recon
        self._pred = self._clip(np.ascontiguousarray(pred, dtype=np.float32))

    def _clip(self, x):
        return np.clip(x, *self.rating_range_) if self.clip else x

    def _check_fitted(self):
        if self.model is None:
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


def i_autorec(**params) -> AutoRecRecommender:
    """Registry factory ``i_autorec``: item-based AutoRec."""
    return AutoRecRecommender(based_on="item", **params)


def u_autorec(**params) -> AutoRecRecommender:
    """Registry factory ``u_autorec``: user-based AutoRec."""
    return AutoRecRecommender(based_on="user", **params)


__all__ = ["AutoRecRecommender", "i_autorec", "u_autorec"]
