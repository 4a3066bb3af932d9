"""Tiny seeded models for tests, examples and smoke runs of the export and serving code.

Example:
  >>> import tfrec, tensorflow as tf
  >>> toy = tiny_two_tower(num_users=5, num_items=20, dim=4)
  >>> toy.query_model(tf.constant(["u1"])).shape.as_list()
  [1, 4]
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf


@dataclasses.dataclass
class TinyTwoTower:
    """A two-tower retrieval model: ``query_model`` (StringLookup + Embedding over ``user_id``) and
    fixed candidate embeddings.

    Attributes:
      query_model: Keras model, [batch] string user ids -> [batch, dim] embeddings.
      user_ids: [num_users] known user ids (``u0``, ``u1``, ...).
      item_ids: [num_items] item ids (``i0``, ``i1``, ...).
      item_embeddings: [num_items, dim] float32.
      query_features: ``{"user_id": TensorSpec([None], tf.string)}``.
    """

    query_model: tf.keras.Model
    user_ids: np.ndarray
    item_ids: np.ndarray
    item_embeddings: np.ndarray
    query_features: dict

    def exact_top_k(self, users, k: int, exclude=None):
        """Reference top-k (ids, scores) computed with numpy."""
        q = self.query_model(tf.constant(list(users))).numpy()
        scores = q @ self.item_embeddings.T
        if exclude is not None:
            pos = {i: n for n, i in enumerate(self.item_ids.tolist())}
            for r, row in enumerate(exclude):
                for item in row:
                    if item in pos:
                        scores[r, pos[item]] = -np.inf
        idx = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return self.item_ids[idx], np.take_along_axis(scores, idx, axis=1)


def tiny_two_tower(num_users: int = 50, num_items: int = 300, dim: int = 8, seed: int = 0,
                   clusters: int = 0) -> TinyTwoTower:
    """A seeded :class:`TinyTwoTower`; ``clusters`` > 0 draws items around that many centres."""
    rng = np.random.default_rng(seed)
    users = np.array([f"u{i}" for i in range(num_users)])
    items = np.array([f"i{i}" for i in range(num_items)])
    tf.keras.utils.set_random_seed(seed)
    model = tf.keras.Sequential([
        tf.keras.layers.StringLookup(vocabulary=users.tolist(), name="user_lookup"),
        tf.keras.layers.Embedding(num_users + 1, dim, name="user_embedding",
                                  embeddings_initializer=tf.keras.initializers.RandomNormal(seed=seed)),
    ], name="query_tower")
    model(tf.constant(users[:1]))
    if clusters:
        centres = rng.normal(size=(clusters, dim))
        emb = centres[rng.integers(0, clusters, num_items)] + 0.3 * rng.normal(size=(num_items, dim))
    else:
        emb = rng.normal(size=(num_items, dim))
    return TinyTwoTower(model, users, items, emb.astype(np.float32),
                        {"user_id": tf.TensorSpec([None], tf.string, name="user_id")})


class TinyPairModel(tf.keras.Model):
    """A pair-scoring model over ``{"user_idx", "item_idx"}`` (dot product of two embeddings + bias);
    index -1 (unknown) scores 0."""

    def __init__(self, num_users: int, num_items: int, dim: int = 4, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        init = tf.keras.initializers.RandomNormal(seed=seed)
        self.num_users, self.num_items = num_users, num_items
        self.users = tf.keras.layers.Embedding(num_users + 1, dim, embeddings_initializer=init)
        self.items = tf.keras.layers.Embedding(num_items + 1, dim, embeddings_initializer=init)

    def call(self, inputs, training=False):
        u = tf.cast(inputs["user_idx"], tf.int32)
        i = tf.cast(inputs["item_idx"], tf.int32)
        known = tf.cast((u >= 0) & (i >= 0), tf.float32)
        u = tf.where(u < 0, self.num_users, u)
        i = tf.where(i < 0, self.num_items, i)
        return tf.reduce_sum(self.users(u) * self.items(i), axis=-1) * known
