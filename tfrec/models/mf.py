"""Biased matrix factorization (SVD-style, Funk/Koren) as a Keras model."""

from __future__ import annotations

import tfrec  # noqa: F401  (selects tf_keras)
import tensorflow as tf


@tf.keras.utils.register_keras_serializable(package="tfrec")
class MatrixFactorization(tf.keras.Model):
    """Predicts ``r(u, i) = mu + b_u + b_i + p_u . q_i``.

    Args:
      num_users: int, number of user indices (ids are ``0 .. num_users - 1``; -1 or any id outside the
        range is treated as unknown and gets a zero factor and bias).
      num_items: int, number of item indices.
      embedding_dim: int, factor dimension. Default 64.
      l2: float, L2 penalty on the factors and biases of each batch, added as a model loss. Default 1e-4.
      use_bias: bool, learn user and item biases. Default True.
      global_mean: float, the training mean rating ``mu`` (a constant). Default 0.0.
      init_stddev: float, standard deviation of the factors' normal initializer. Default 0.05.

    Inputs: a dict with ``"user_idx"`` and ``"item_idx"``, each a [batch] integer tensor.
    Output: [batch] float32 predicted ratings.

    Example:

    >>> model = MatrixFactorization(num_users=3, num_items=4, embedding_dim=2, global_mean=3.5)
    >>> out = model({"user_idx": tf.constant([0, 2]), "item_idx": tf.constant([1, 3])})
    >>> out.shape
    TensorShape([2])
    """

    def __init__(self, num_users, num_items, embedding_dim=64, l2=1e-4, use_bias=True,
                 global_mean=0.0, init_stddev=0.05, **kwargs):
        super().__init__(**kwargs)
        for arg, value in (("num_users", num_users), ("num_items", num_items), ("embedding_dim", embedding_dim)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"Received an invalid value for {arg}, expected a positive integer. Received: {arg}={value!r}")
        if l2 < 0:
            raise ValueError(f"l2 must be >= 0. Received: l2={l2}")
        self.num_users = num_users
        self.num_items = num_items
        self.embedding_dim = embedding_dim
        self.l2 = float(l2)
        self.use_bias = use_bias
        self.global_mean = float(global_mean)
        self.init_stddev = float(init_stddev)
        init = tf.keras.initializers.RandomNormal(stddev=init_stddev, seed=0)
        # one extra row (index num_*) holds the unknown id: it stays at zero through masking
        self.user_factors = tf.keras.layers.Embedding(num_users + 1, embedding_dim, embeddings_initializer=init, name="user_factors")
        self.item_factors = tf.keras.layers.Embedding(num_items + 1, embedding_dim, embeddings_initializer=init, name="item_factors")
        if use_bias:
            self.user_bias = tf.keras.layers.Embedding(num_users + 1, 1, embeddings_initializer="zeros", name="user_bias")
            self.item_bias = tf.keras.layers.Embedding(num_items + 1, 1, embeddings_initializer="zeros", name="item_bias")

    @staticmethod
    def _safe(idx, n):
        idx = tf.cast(tf.reshape(idx, [-1]), tf.int32)
        known = tf.logical_and(idx >= 0, idx < n)
        return tf.where(known, idx, n), tf.cast(known, tf.float32)

    def call(self, inputs, training=False):
        u, u_known = self._safe(inputs["user_idx"], self.num_users)
        i, i_known = self._safe(inputs["item_idx"], self.num_items)
        p = self.user_factors(u) * u_known[:, None]
        q = self.item_factors(i) * i_known[:, None]
        pred = self.global_mean + tf.reduce_sum(p * q, axis=1)
        penalty = tf.reduce_sum(tf.square(p)) + tf.reduce_sum(tf.square(q))
        if self.use_bias:
            bu = tf.squeeze(self.user_bias(u), 1) * u_known
            bi = tf.squeeze(self.item_bias(i), 1) * i_known
            pred = pred + bu + bi
            penalty += tf.reduce_sum(tf.square(bu)) + tf.reduce_sum(tf.square(bi))
        if training and self.l2 > 0:
            batch = tf.cast(tf.shape(u)[0], tf.float32)
            self.add_loss(self.l2 * penalty / batch)
        return pred

    def get_config(self):
        return {
            "num_users": self.num_users,
            "num_items": self.num_items,
            "embedding_dim": self.embedding_dim,
            "l2": self.l2,
            "use_bias": self.use_bias,
            "global_mean": self.global_mean,
            "init_stddev": self.init_stddev,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
