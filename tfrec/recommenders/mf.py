"""Biased matrix factorization (:class:`tfrec.models.mf.MatrixFactorization`) as a recommender."""

from __future__ import annotations

import time
from typing import Optional

import numpy as np

import tfrec  # noqa: F401  (selects tf_keras)
from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.recommenders._checks import check_positive
from tfrec.recommenders.base import Algorithm


class MatrixFactorizationRecommender(Algorithm):
    """Biased matrix factorization (SVD-style) trained with Adam on the squared error.

    ``r(u, i) = mu + b_u + b_i + p_u . q_i`` (:class:`tfrec.models.mf.MatrixFactorization`).
    A validation fraction carved from the *training* data (never the test) picks the epoch
    (early stopping with the best weights restored).

    Args:
      embedding_dim: factor dimension. Default 64.
      l2: L2 penalty per example on factors and biases. Default 0.1.
      learning_rate: Adam learning rate. Default 0.002.
      epochs: maximum epochs. Default 60.
      batch_size: examples per step. Default 512.
      validation_fraction: share of training ratings held out for early stopping; 0 disables it.
      patience: epochs without improvement before stopping. Default 3.
      clip: clip predictions to the training rating range. Default True.
      seed: seed of the initializers, shuffling and validation split.
      refit: after early stopping, train a fresh model (same seed) on ALL training ratings for the
        number of epochs early stopping chose, and keep that one (``best_epoch_`` holds the count;
        ``history_`` is the refit's, ``early_stopping_history_`` the first run's). Needs
        ``validation_fraction > 0``. Default False.
    """

    predicts_ratings = True

    def __init__(self, embedding_dim: int = 64, l2: float = 0.1, learning_rate: float = 0.002,
                 epochs: int = 60, batch_size: int = 512, validation_fraction: float = 0.05,
                 patience: int = 3, clip: bool = True, seed: int = 42, verbose: int = 0,
                 name: Optional[str] = None, refit: bool = False):
        super().__init__()
        check_positive("embedding_dim", embedding_dim)
        check_positive("epochs", epochs)
        check_positive("batch_size", batch_size)
        check_positive("learning_rate", learning_rate, float)
        if not 0 <= validation_fraction < 1:
            raise ValueError(f"validation_fraction must be in [0, 1). Received: validation_fraction={validation_fraction}")
        if refit and validation_fraction == 0:
            raise ValueError("refit=True needs validation_fraction > 0: the refit trains for the epoch count "
                             "early stopping picks on the validation ratings. Received: validation_fraction=0")
        self.refit = refit
        self.embedding_dim = embedding_dim
        self.l2 = l2
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.clip = clip
        self.seed = seed
        self.verbose = verbose
        self.name = name or "mf"

    def fit(self, data: TrainingData) -> "MatrixFactorizationRecommender":
        import tensorflow as tf

        from tfrec.models.mf import MatrixFactorization

        if data.ratings is None:
            raise ValueError(f"MF needs ratings; the training data has no rating column {data.columns.rating!r}.")
        self.data = data
        tf.keras.utils.set_random_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        n = len(data.ratings)
        order = rng.permutation(n)
        n_val = int(round(n * self.validation_fraction))
        val, tr = order[:n_val], order[n_val:]
        mean = float(np.mean(data.ratings[tr]))
        self.rating_range_ = (float(data.ratings.min()), float(data.ratings.max()))

        def build(global_mean):
            model = MatrixFactorization(data.n_users, data.n_items, self.embedding_dim, l2=self.l2,
                                        global_mean=global_mean, init_stddev=0.01)
            model.compile(optimizer=tf.keras.optimizers.Adam(self.learning_rate), loss="mse",
                          metrics=[tf.keras.metrics.RootMeanSquaredError(name="rmse")])
            return model

        self.model = build(mean)

        def ds(idx, shuffle):
            d = tf.data.Dataset.from_tensor_slices(
                ({"user_idx": data.users_idx[idx], "item_idx": data.items_idx[idx]}, data.ratings[idx]))
            if shuffle:
                d = d.shuffle(len(idx), seed=self.seed, reshuffle_each_iteration=True)
            return d.batch(self.batch_size).prefetch(tf.data.AUTOTUNE)

        callbacks = []
        val_ds = None
        if n_val > 0:
            val_ds = ds(val, False)
            callbacks.append(tf.keras.callbacks.EarlyStopping(monitor="val_rmse", patience=self.patience,
                                                              restore_best_weights=True))
        start = time.perf_counter()
        self.history_ = self.model.fit(ds(tr, True).cache(), validation_data=val_ds, epochs=self.epochs,
                                       callbacks=callbacks, verbose=self.verbose).history
        self.examples_seen_ = len(tr) * len(self.history_["loss"])
        if self.refit:
            # the epoch count early stopping chose (its restored weights), then all ratings from scratch
            self.best_epoch_ = int(np.argmin(self.history_["val_rmse"])) + 1
            self.early_stopping_history_ = self.history_
            every = np.arange(n)
            mean = float(np.mean(data.ratings))
            tf.keras.utils.set_random_seed(self.seed)
            self.model = build(mean)
            self.history_ = self.model.fit(ds(every, True).cache(), epochs=self.best_epoch_,
                                           verbose=self.verbose).history
            self.examples_seen_ += n * self.best_epoch_
        self.train_seconds_ = time.perf_counter() - start
        # factors as numpy for fast full-catalog scoring
        self._P = self.model.user_factors.get_weights()[0][: data.n_users]
        self._Q = self.model.item_factors.get_weights()[0][: data.n_items]
        self._bu = self.model.user_bias.get_weights()[0][: data.n_users, 0]
        self._bi = self.model.item_bias.get_weights()[0][: data.n_items, 0]
        self._mu = mean
        return self

    def _clip(self, x):
        return np.clip(x, *self.rating_range_) if self.clip else x

    def score(self, users):
        users = np.asarray(users)
        known = users != OOV_INDEX
        safe = np.where(known, users, 0)
        out = self._mu + self._bi[None, :] + (self._P[safe] @ self._Q.T + self._bu[safe, None]) * known[:, None]
        return self._clip(out).astype(np.float32)

    def predict(self, users, items):
        users, items = np.asarray(users), np.asarray(items)
        ku, ki = users != OOV_INDEX, items != OOV_INDEX
        su, si = np.where(ku, users, 0), np.where(ki, items, 0)
        out = (self._mu + self._bu[su] * ku + self._bi[si] * ki
               + np.einsum("ij,ij->i", self._P[su], self._Q[si]) * (ku & ki))
        return self._clip(out).astype(np.float32)


__all__ = ["MatrixFactorizationRecommender"]
