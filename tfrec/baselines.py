"""Baselines every comparison needs: random, popularity, global/item mean, biased MF, item-kNN.

All implement :class:`tfrec.recommenders.Algorithm`: ``fit`` on :class:`TrainingData` (the training
split only), ``score`` over the full catalog, and ``predict`` for user-item pairs.
"""

from __future__ import annotations

import logging
import time
from typing import Optional

import numpy as np

import tfrec  # noqa: F401  (selects tf_keras)
from tfrec.recommenders.base import Algorithm
from tfrec.data.training_data import OOV_INDEX, TrainingData

logger = logging.getLogger(__name__)


def _check_positive(name, value, kind=int):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0 or (kind is int and int(value) != value):
        expected = "a positive integer" if kind is int else "a positive number"
        raise ValueError(f"Received an invalid value for {name}, expected {expected}. Received: {name}={value!r}")


class RandomRecommender(Algorithm):
    """Scores every item uniformly at random (seeded); rating predictions are drawn from the
    training rating distribution."""

    def __init__(self, seed: int = 42, name: Optional[str] = None):
        super().__init__()
        self.seed = seed
        self.name = name or "random"

    def fit(self, data: TrainingData) -> "RandomRecommender":
        self.data = data
        self._rng = np.random.default_rng(self.seed)
        self.predicts_ratings = data.ratings is not None
        return self

    def score(self, users):
        return self._rng.random((len(users), self.data.n_items), dtype=np.float32)

    def predict(self, users, items):
        if self.data.ratings is None:
            return self._rng.random(len(users)).astype(np.float32)
        return self._rng.choice(self.data.ratings, size=len(users)).astype(np.float32)


class PopularityRecommender(Algorithm):
    """Recommends the items with the most training interactions (the same list for every user)."""

    def __init__(self, name: Optional[str] = None):
        super().__init__()
        self.name = name or "popularity"

    def fit(self, data: TrainingData) -> "PopularityRecommender":
        self.data = data
        counts = data.item_popularity().astype(np.float32)
        self._scores = counts / max(counts.max(), 1.0)
        return self

    def score(self, users):
        return np.broadcast_to(self._scores, (len(users), self.data.n_items))


class GlobalMeanRecommender(Algorithm):
    """Predicts the training mean rating for every pair; ranks items by popularity."""

    predicts_ratings = True

    def __init__(self, name: Optional[str] = None):
        super().__init__()
        self.name = name or "global_mean"

    def fit(self, data: TrainingData) -> "GlobalMeanRecommender":
        if data.ratings is None:
            raise ValueError(f"{type(self).__name__} needs ratings; the training data has no rating column {data.columns.rating!r}.")
        self.data = data
        self.mean_ = float(np.mean(data.ratings))
        self._pop = PopularityRecommender().fit(data)
        return self

    def score(self, users):
        return self._pop.score(users)

    def predict(self, users, items):
        return np.full(len(users), self.mean_, np.float32)


class ItemMeanRecommender(GlobalMeanRecommender):
    """Predicts each item's damped mean training rating ``(sum + m * mu) / (count + m)``;
    unknown items get the global mean. Ranks items by that mean."""

    def __init__(self, damping: float = 5.0, name: Optional[str] = None):
        super().__init__(name=name or "item_mean")
        if damping < 0:
            raise ValueError(f"damping must be >= 0. Received: damping={damping}")
        self.damping = damping

    def fit(self, data: TrainingData) -> "ItemMeanRecommender":
        super().fit(data)
        sums = np.bincount(data.items_idx, weights=data.ratings, minlength=data.n_items)
        counts = np.bincount(data.items_idx, minlength=data.n_items)
        self.item_means_ = ((sums + self.damping * self.mean_) / np.maximum(counts + self.damping, 1e-9)).astype(np.float32)
        return self

    def score(self, users):
        return np.broadcast_to(self.item_means_, (len(users), self.data.n_items))

    def predict(self, users, items):
        items = np.asarray(items)
        out = np.full(len(items), self.mean_, np.float32)
        known = items != OOV_INDEX
        out[known] = self.item_means_[items[known]]
        return out


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
        _check_positive("embedding_dim", embedding_dim)
        _check_positive("epochs", epochs)
        _check_positive("batch_size", batch_size)
        _check_positive("learning_rate", learning_rate, float)
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


class ItemKNNRecommender(Algorithm):
    """Item-based k-nearest neighbours with cosine similarity (computed with TensorFlow).

    Similarities come from the training user-item matrix (ratings, or 1 for implicit data) and
    keep each item's ``k`` most similar items. Top-N scores a user's candidate item ``i`` as
    ``sum_{j in seen(u)} sim(i, j)``; rating predictions are mean-centred (as KNNWithMeans):
    ``mean_i + sum_j sim(i, j) (r_uj - mean_j) / sum_j |sim(i, j)|`` over ``i``'s neighbours that
    ``u`` rated (the item mean when there are none; the user mean for an unknown item).

    Args:
      k: neighbours kept per item. Default 40.
      min_support: minimum number of common users for a similarity to count. Default 1.
      implicit: use 1 for every interaction instead of the rating; the algorithm then ranks only
        (no rating predictions). Default False.
    """

    predicts_ratings = True

    def __init__(self, k: int = 40, min_support: int = 1, implicit: bool = False, name: Optional[str] = None):
        super().__init__()
        _check_positive("k", k)
        self.k = k
        self.min_support = min_support
        self.implicit = implicit
        self.predicts_ratings = not implicit  # implicit similarities give ranking scores, not ratings
        self.name = name or "item_knn"

    def fit(self, data: TrainingData) -> "ItemKNNRecommender":
        import tensorflow as tf

        self.data = data
        values = np.ones(len(data.items_idx), np.float32) if (self.implicit or data.ratings is None) else data.ratings
        R = np.zeros((data.n_users, data.n_items), np.float32)
        R[data.users_idx, data.items_idx] = values
        B = (R != 0).astype(np.float32)
        Rt = tf.constant(R)
        dots = tf.matmul(Rt, Rt, transpose_a=True)
        norms = tf.sqrt(tf.reduce_sum(tf.square(Rt), axis=0))
        sim = dots / tf.maximum(norms[:, None] * norms[None, :], 1e-9)
        if self.min_support > 1:
            support = tf.matmul(tf.constant(B), tf.constant(B), transpose_a=True)
            sim = tf.where(support >= self.min_support, sim, 0.0)
        sim = tf.linalg.set_diag(sim, tf.zeros(data.n_items))
        k = min(self.k, data.n_items - 1) if data.n_items > 1 else 1
        vals, idx = tf.math.top_k(sim, k=k)
        S = np.zeros((data.n_items, data.n_items), np.float32)
        np.put_along_axis(S, idx.numpy(), vals.numpy(), axis=1)
        self.sim_ = S  # row i: similarities of i's neighbours
        self._R, self._B = R, B
        self._mu = float(values.mean())
        cnt = B.sum(1)
        self._user_mean = np.where(cnt > 0, R.sum(1) / np.maximum(cnt, 1), self._mu).astype(np.float32)
        icnt = B.sum(0)
        self._item_mean = np.where(icnt > 0, R.sum(0) / np.maximum(icnt, 1), self._mu).astype(np.float32)
        self._Rc = (R - self._item_mean[None, :]) * B  # ratings centred on each item's mean
        return self

    def score(self, users):
        users = np.asarray(users)
        known = users != OOV_INDEX
        safe = np.where(known, users, 0)
        return ((self._B[safe] @ self.sim_.T) * known[:, None]).astype(np.float32)

    def predict(self, users, items):
        if not self.predicts_ratings:
            return Algorithm.predict(self, users, items)
        users, items = np.asarray(users), np.asarray(items)
        out = np.full(len(users), self._mu, np.float32)
        ok = np.flatnonzero((users != OOV_INDEX) & (items != OOV_INDEX))
        for start in range(0, len(ok), 2048):  # bounded memory: [chunk, n_items] at a time
            rows = ok[start : start + 2048]
            u, i = users[rows], items[rows]
            S = self.sim_[i]  # neighbour similarities of each target item
            num = np.einsum("ij,ij->i", S, self._Rc[u])
            den = np.einsum("ij,ij->i", np.abs(S), self._B[u])
            out[rows] = self._item_mean[i] + np.where(den > 0, num / np.maximum(den, 1e-9), 0.0)
        ku = (users != OOV_INDEX) & (items == OOV_INDEX)
        out[ku] = self._user_mean[users[ku]]
        return out
