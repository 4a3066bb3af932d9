"""BPR-MF: matrix factorization for implicit feedback trained with BPR (Rendle et al., UAI 2009)."""

from __future__ import annotations

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf

from tfrec.layers.gmf_interaction import GMFInteraction
from tfrec.layers.id_embedding import check_non_negative, id_embedding, safe_index


@tf.keras.utils.register_keras_serializable(package="tfrec")
class BPRMF(tf.keras.Model):
    """Matrix factorization for implicit feedback trained with BPR (Rendle et al., UAI 2009).

    ``score(u, i) = p_u . q_i + b_i``, trained on triples (user, positive item, sampled negative) to
    minimise ``-log sigmoid(score(u, i) - score(u, j))`` plus ``l2 * (|p_u|^2 + |q_i|^2 + |q_j|^2 + b_i^2
    + b_j^2)`` over the rows of the batch (mean over the batch). It is the implicit-feedback MF baseline
    of the NCF paper; :class:`tfrec.recommenders.ncf.NCFRecommender` trains it with ``model="bpr"``.

    Args:
      num_users: int, number of user indices.
      num_items: int, number of item indices.
      embedding_dim: int, number of factors. Default 64.
      l2: float >= 0, weight of the per-batch L2 penalty above. Default 0.
      init_stddev: float, standard deviation of the factors' normal initializer. Default 0.01.
      **kwargs: passed to ``tf.keras.Model``.

    Inputs of ``call``: dict with ``"user_idx"`` and ``"item_idx"``, each [batch] int; training data
    (``fit``) also carries ``"negative_idx"`` [batch] int. Output: [batch] float32 scores.

    Example:

    >>> model = BPRMF(num_users=3, num_items=4, embedding_dim=2)
    >>> model({"user_idx": tf.constant([0, 2]), "item_idx": tf.constant([1, -1])}).shape
    TensorShape([2])
    """

    def __init__(self, num_users, num_items, embedding_dim=64, l2=0.0, init_stddev=0.01, **kwargs):
        super().__init__(**kwargs)
        self.mf = GMFInteraction(num_users, num_items, embedding_dim, 0.0, init_stddev, name="mf")
        self.l2 = check_non_negative("l2", l2)
        self.item_bias = id_embedding(self.mf.num_items, 1, 0.0, 0.0, "item_bias")
        self.loss_tracker = tf.keras.metrics.Mean(name="loss")

    def _score(self, inputs):
        i, known = safe_index(inputs["item_idx"], self.mf.num_items)
        bias = tf.squeeze(self.item_bias(i) * known, axis=1)
        return tf.reduce_sum(self.mf(inputs), axis=1) + bias, bias

    def call(self, inputs, training=False):
        return self._score(inputs)[0]

    def build_for_inputs(self):
        """Creates all weights by calling the model on one dummy pair; returns ``self``."""
        self({"user_idx": tf.zeros([1], tf.int32), "item_idx": tf.zeros([1], tf.int32)})
        return self

    @property
    def metrics(self):
        return [self.loss_tracker]

    def train_step(self, data):
        users = data["user_idx"]
        with tf.GradientTape() as tape:
            pos, pos_b = self._score({"user_idx": users, "item_idx": data["item_idx"]})
            neg, neg_b = self._score({"user_idx": users, "item_idx": data["negative_idx"]})
            loss = -tf.reduce_mean(tf.math.log_sigmoid(pos - neg))
            if self.l2 > 0:
                # p_u * q_i and p_u * q_j do not give the norms: read the rows again
                u, uk = safe_index(users, self.mf.num_users)
                i, ik = safe_index(data["item_idx"], self.mf.num_items)
                j, jk = safe_index(data["negative_idx"], self.mf.num_items)
                rows = (tf.reduce_sum(tf.square(self.mf.user_embedding(u) * uk), axis=1)
                        + tf.reduce_sum(tf.square(self.mf.item_embedding(i) * ik), axis=1)
                        + tf.reduce_sum(tf.square(self.mf.item_embedding(j) * jk), axis=1)
                        + tf.square(pos_b) + tf.square(neg_b))
                loss += self.l2 * tf.reduce_mean(rows)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def get_config(self):
        g = self.mf
        return {"num_users": g.num_users, "num_items": g.num_items, "embedding_dim": g.embedding_dim,
                "l2": self.l2, "init_stddev": g.init_stddev}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


__all__ = ["BPRMF"]
