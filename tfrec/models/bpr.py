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
    of the NCF paper; the ``bpr`` family (``tfrec.training.families.bpr``) trains it with the Trainer.
    Metrics: ``loss`` and ``auc``, the share of triples whose positive scores above the negative
    (the pairwise AUC estimate); ``evaluate`` reports both on validation triples.

    Args:
      num_users: int, number of user indices.
      num_items: int, number of item indices.
      embedding_dim: int, number of factors. Default 64.
      l2: float >= 0, weight of the per-batch L2 penalty above. Default 0.
      init_stddev: float, standard deviation of the factors' normal initializer. Default 0.01.
      **kwargs: passed to ``tf.keras.Model``.

    Inputs of ``call``: dict with ``"user_idx"`` and ``"item_idx"``, each [batch] int. Output: [batch]
    float32 scores. Training and evaluation data (``fit``, ``evaluate``): ``(x, negatives)`` with ``x``
    such a dict and ``negatives`` the [batch] int sampled negative item of each pair, or one dict that
    also holds ``"negative_idx"``.

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
        self.auc_tracker = tf.keras.metrics.Mean(name="auc")

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
        return [self.loss_tracker, self.auc_tracker]

    @staticmethod
    def _triples(data):
        """(users, positives, negatives) of a batch: ``({"user_idx", "item_idx"}, negatives)`` or one dict
        with ``"negative_idx"``."""
        if isinstance(data, (tuple, list)):
            x, negatives = data[0], data[1]
        else:
            x, negatives = data, data["negative_idx"]
        return x["user_idx"], x["item_idx"], negatives

    def _loss(self, users, items, negatives):
        pos, pos_b = self._score({"user_idx": users, "item_idx": items})
        neg, neg_b = self._score({"user_idx": users, "item_idx": negatives})
        loss = -tf.reduce_mean(tf.math.log_sigmoid(pos - neg))
        if self.l2 > 0:
            # p_u * q_i and p_u * q_j do not give the norms: read the rows again
            u, uk = safe_index(users, self.mf.num_users)
            i, ik = safe_index(items, self.mf.num_items)
            j, jk = safe_index(negatives, self.mf.num_items)
            rows = (tf.reduce_sum(tf.square(self.mf.user_embedding(u) * uk), axis=1)
                    + tf.reduce_sum(tf.square(self.mf.item_embedding(i) * ik), axis=1)
                    + tf.reduce_sum(tf.square(self.mf.item_embedding(j) * jk), axis=1)
                    + tf.square(pos_b) + tf.square(neg_b))
            loss += self.l2 * tf.reduce_mean(rows)
        return loss, tf.cast(pos > neg, tf.float32)

    def train_step(self, data):
        users, items, negatives = self._triples(data)
        with tf.GradientTape() as tape:
            loss, ordered = self._loss(users, items, negatives)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        self.loss_tracker.update_state(loss)
        self.auc_tracker.update_state(ordered)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        loss, ordered = self._loss(*self._triples(data))
        self.loss_tracker.update_state(loss)
        self.auc_tracker.update_state(ordered)
        return {m.name: m.result() for m in self.metrics}

    def get_config(self):
        g = self.mf
        return {"num_users": g.num_users, "num_items": g.num_items, "embedding_dim": g.embedding_dim,
                "l2": self.l2, "init_stddev": g.init_stddev}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


__all__ = ["BPRMF"]
