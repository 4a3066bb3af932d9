"""GRU4Rec in the shared training loop: session-parallel steps as a Keras ``train_step``.

``Trainer`` feeds :class:`SessionParallelGRU4Rec` one session-parallel step per batch (GRU4Rec's
mini-batches, :func:`tfrec.data.session_batches.session_parallel_batches`, in order and never
shuffled): ``{"item", "target", "reset", "valid"}``, each ``[batch_size]`` (one slot per parallel
session). The hidden state of each slot is carried between steps in non-trainable variables and
zeroed where ``reset``; one step is one truncated-BPTT update, as in the official code (the network
and the losses are :mod:`tfrec.models.gru4rec`'s).

Training loss: the in-batch targets plus ``n_sample`` extra negatives drawn with probability
``support ** sample_alpha`` (seeded by the step counter, so a resumed run draws the same samples).
Validation (``test_step``): every valid slot's next item is ranked against ALL items,
``rank = (scores > target_score).sum() + 1``; metrics ``recall`` and ``mrr`` at ``k`` (Keras names
``recall_at_<k>`` / ``mrr_at_<k>``) and ``loss`` = full-catalog softmax cross-entropy.

Calling the model: ``model(sequences)`` with ``[batch, time]`` item indices (-1 = padding) gives the
``[batch, n_items]`` next-item scores (``GRU4Rec.call``); ``model({"item": [batch]})`` scores after one item.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
import tensorflow as tf

from tfrec.models.gru4rec import LOSSES, GRU4Rec, bpr_max_loss, cross_entropy_loss, top1_max_loss


@tf.keras.utils.register_keras_serializable(package="tfrec")
class SessionParallelGRU4Rec(tf.keras.Model):
    """A :class:`GRU4Rec` network trained on session-parallel steps with ``model.fit``.

    Args:
      network: the GRU4Rec config (``GRU4Rec.get_config()``) or a ``GRU4Rec``.
      batch_size: int, parallel session slots per step (the dataset's batch size). Default 32.
      loss: "cross-entropy", "bpr-max" or "top1-max". Default "cross-entropy".
      n_sample: int >= 0, extra sampled negatives per step. Default 2048.
      sample_alpha: float, negatives are drawn with probability ``support ** sample_alpha``. Default 0.75.
      bpreg: float, score regularization of bpr-max. Default 1.0.
      elu_param: float, ELU of the scores for bpr-max / top1-max (0 = linear). Default 0.5.
      logq: float, log-q correction strength of cross-entropy. Default 0.
      k: int, cut-off of the validation recall / MRR. Default 20.
      dense_gradients: bool, densify the item-table gradients (exact Adagrad on summed duplicate rows and
        faster on CPU for small catalogs). Default True.
      seed: int, seed of the negative sampling. Default 0.

    Example:

    >>> m = SessionParallelGRU4Rec({"n_items": 5, "layers": [4]}, batch_size=2, n_sample=0)
    >>> m(tf.constant([[1, 2], [3, -1]])).shape
    TensorShape([2, 5])
    """

    def __init__(self, network, batch_size: int = 32, loss: str = "cross-entropy", n_sample: int = 2048,
                 sample_alpha: float = 0.75, bpreg: float = 1.0, elu_param: float = 0.5, logq: float = 0.0,
                 k: int = 20, dense_gradients: bool = True, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {list(LOSSES)}. Received: loss={loss!r}")
        for arg, value, low in (("batch_size", batch_size, 1), ("n_sample", n_sample, 0), ("k", k, 1)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{arg} must be an integer >= {low}. Received: {arg}={value!r}")
        self.net = network if isinstance(network, GRU4Rec) else GRU4Rec.from_config(dict(network))
        self.batch_size = int(batch_size)
        self.loss_name = loss
        self.n_sample = int(n_sample)
        self.sample_alpha = float(sample_alpha)
        self.bpreg = float(bpreg)
        self.elu_param = float(elu_param)
        self.logq = float(logq)
        self.k = int(k)
        self.dense_gradients = bool(dense_gradients)
        self.seed = int(seed)
        units = self.net.layer_sizes
        self.train_states = [tf.Variable(tf.zeros([self.batch_size, u]), trainable=False, name=f"train_state_{i}")
                             for i, u in enumerate(units)]
        self.eval_states = [tf.Variable(tf.zeros([self.batch_size, u]), trainable=False, name=f"eval_state_{i}")
                            for i, u in enumerate(units)]
        self.loss_tracker = tf.keras.metrics.Mean(name="loss")
        self.recall_tracker = tf.keras.metrics.Mean(name=f"recall_at_{self.k}")
        self.mrr_tracker = tf.keras.metrics.Mean(name=f"mrr_at_{self.k}")
        self._log_support: Optional[np.ndarray] = None

    # -- data-side state ----------------------------------------------------------------------------
    def set_support(self, support: np.ndarray) -> None:
        """Training click counts per item ([n_items]); needed to sample negatives and for log-q."""
        support = np.asarray(support, np.float64)
        if support.shape != (self.net.n_items,):
            raise ValueError(f"support must have shape [{self.net.n_items}]. Received shape {support.shape}.")
        self._log_support = np.log(np.maximum(support, 1e-12)).astype(np.float32)

    # -- inference ------------------------------------------------------------------------------------
    def call(self, inputs, training=False):
        if isinstance(inputs, dict):
            inputs = tf.reshape(tf.cast(inputs["item"], tf.int32), [-1, 1])
        return self.net(inputs, training=training)

    @property
    def metrics(self):
        return [self.loss_tracker, self.recall_tracker, self.mrr_tracker]

    def _advance(self, states, batch, training):
        """One GRU step of every slot from ``states`` (zeroed where a new session starts)."""
        keep = tf.logical_not(tf.cast(tf.reshape(batch["reset"], [-1]), tf.bool))[:, None]
        h0 = [tf.where(keep, s, 0.0) for s in states]
        return self.net.step(tf.reshape(tf.cast(batch["item"], tf.int32), [-1]), h0, training=training)

    def _loss(self, logits, row_valid, col_valid):
        if self.loss_name == "cross-entropy":
            return cross_entropy_loss(logits, row_valid, col_valid)
        if self.loss_name == "bpr-max":
            return bpr_max_loss(logits, row_valid, col_valid, self.bpreg, self.elu_param)
        return top1_max_loss(logits, row_valid, col_valid, self.elu_param)

    def train_step(self, batch):
        if self._log_support is None:
            raise RuntimeError("SessionParallelGRU4Rec.set_support(training item counts) must be called before fit.")
        target = tf.reshape(tf.cast(batch["target"], tf.int32), [-1])
        valid = tf.reshape(tf.cast(batch["valid"], tf.bool), [-1])
        log_support = tf.constant(self._log_support)
        if self.n_sample > 0:
            seed = tf.stack([tf.constant(self.seed, tf.int64), tf.cast(self.optimizer.iterations, tf.int64)])
            samples = tf.random.stateless_categorical(self.sample_alpha * log_support[None, :], self.n_sample,
                                                      seed=seed, dtype=tf.int32)[0]
        else:
            samples = tf.zeros([0], tf.int32)
        cand = tf.concat([target, samples], axis=0)
        col_valid = tf.concat([valid, tf.ones_like(samples, tf.bool)], axis=0)
        variables = self.net.trainable_variables
        with tf.GradientTape() as tape:
            out, new_states = self._advance(self.train_states, batch, training=True)
            logits = self.net.score_candidates(out, cand)
            if self.loss_name == "cross-entropy" and self.logq > 0:
                lq = tf.concat([tf.gather(log_support, target),
                                self.sample_alpha * tf.gather(log_support, samples)], axis=0)
                logits = logits - self.logq * lq
            loss = self._loss(logits, valid, col_valid) / float(self.batch_size)
        grads = tape.gradient(loss, variables)
        if self.dense_gradients:
            grads = [tf.convert_to_tensor(g) for g in grads]
        self.optimizer.apply_gradients(zip(grads, variables))
        for s, ns in zip(self.train_states, new_states):
            s.assign(ns)
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def test_step(self, batch):
        target = tf.reshape(tf.cast(batch["target"], tf.int32), [-1])
        weight = tf.cast(tf.reshape(batch["valid"], [-1]), tf.float32)
        out, new_states = self._advance(self.eval_states, batch, training=False)
        for s, ns in zip(self.eval_states, new_states):
            s.assign(ns)
        scores = self.net.score_all(out)
        target_scores = tf.gather(scores, target, batch_dims=1)
        ranks = tf.reduce_sum(tf.cast(scores > target_scores[:, None], tf.float32), axis=1) + 1.0
        hit = tf.cast(ranks <= float(self.k), tf.float32)
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=target, logits=scores)
        self.loss_tracker.update_state(ce, sample_weight=weight)
        self.recall_tracker.update_state(hit, sample_weight=weight)
        self.mrr_tracker.update_state(hit / ranks, sample_weight=weight)
        return {m.name: m.result() for m in self.metrics}

    def get_config(self) -> Dict[str, Any]:
        return {"network": self.net.get_config(), "batch_size": self.batch_size, "loss": self.loss_name,
                "n_sample": self.n_sample, "sample_alpha": self.sample_alpha, "bpreg": self.bpreg,
                "elu_param": self.elu_param, "logq": self.logq, "k": self.k,
                "dense_gradients": self.dense_gradients, "seed": self.seed, "name": self.name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)
