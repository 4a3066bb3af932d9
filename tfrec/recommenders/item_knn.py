"""Item-based k-nearest neighbours with cosine similarity."""

from __future__ import annotations

from typing import Optional

import numpy as np

import tfrec  # noqa: F401  (selects tf_keras)
from tfrec.data.training_data import OOV_INDEX, TrainingData
from tfrec.recommenders._checks import check_positive
from tfrec.recommenders.base import Algorithm


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
        check_positive("k", k)
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


__all__ = ["ItemKNNRecommender"]
