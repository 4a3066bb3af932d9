"""The GMF interaction of NCF (He et al. 2017): user and item embeddings multiplied elementwise."""

from __future__ import annotations

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf

from tfrec.layers.id_embedding import check_non_negative, check_positive_int, id_embedding, safe_index


@tf.keras.utils.register_keras_serializable(package="tfrec")
class GMFInteraction(tf.keras.layers.Layer):
    """User and item embeddings multiplied elementwise: ``p_u * q_i``.

    Args:
      num_users: int, number of user indices.
      num_items: int, number of item indices.
      embedding_dim: int, size of ``p_u`` and ``q_i`` (the paper's "predictive factors"). Default 8.
      l2: float >= 0, L2 penalty on the embedding tables (Keras regularizer, as the NCF reference
        code). Default 0.
      init_stddev: float, standard deviation of the normal initializer (paper: 0.01). Default 0.01.
      **kwargs: passed to ``tf.keras.layers.Layer``.

    Input: dict with ``"user_idx"`` and ``"item_idx"``, each [batch] int.
    Output: [batch, embedding_dim] float32.

    Example:

    >>> layer = GMFInteraction(num_users=3, num_items=4, embedding_dim=2)
    >>> layer({"user_idx": tf.constant([0, 2]), "item_idx": tf.constant([1, -1])}).shape
    TensorShape([2, 2])
    """

    def __init__(self, num_users, num_items, embedding_dim=8, l2=0.0, init_stddev=0.01, **kwargs):
        super().__init__(**kwargs)
        self.num_users = check_positive_int("num_users", num_users)
        self.num_items = check_positive_int("num_items", num_items)
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)
        self.l2 = check_non_negative("l2", l2)
        self.init_stddev = check_non_negative("init_stddev", init_stddev)
        self.user_embedding = id_embedding(self.num_users, self.embedding_dim, self.init_stddev, self.l2, "user_embedding")
        self.item_embedding = id_embedding(self.num_items, self.embedding_dim, self.init_stddev, self.l2, "item_embedding")

    def call(self, inputs):
        u, u_known = safe_index(inputs["user_idx"], self.num_users)
        i, i_known = safe_index(inputs["item_idx"], self.num_items)
        return (self.user_embedding(u) * u_known) * (self.item_embedding(i) * i_known)

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_users": self.num_users,
            "num_items": self.num_items,
            "embedding_dim": self.embedding_dim,
            "l2": self.l2,
            "init_stddev": self.init_stddev,
        })
        return config


__all__ = ["GMFInteraction"]
