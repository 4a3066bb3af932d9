"""GRU4Rec: session-based recommendations with recurrent neural networks.

Hidasi, Karatzoglou, Baltrunas, Tikk: Session-based Recommendations with Recurrent Neural Networks
(ICLR 2016); Hidasi & Karatzoglou: Recurrent Neural Networks with Top-k Gains for Session-based
Recommendations (CIKM 2018). Follows the official implementation's choices: session-parallel
mini-batches (:func:`tfrec.data.session_batches.session_parallel_batches`), one-step truncated
back-propagation (the hidden state is carried between steps but not differentiated through), output
sampling = the other targets of the mini-batch plus ``n_sample`` extra negatives drawn with probability
``support ** sample_alpha``, losses ``cross-entropy`` (optionally log-q corrected), ``bpr-max`` and
``top1-max`` (score regularization ``bpreg``), Adagrad, dropout on the input embedding and the hidden
layers, input embedding shared with the output weights (``constrained_embedding``).

This module holds the network (:class:`GRU4Rec`) and its losses; the ``gru4rec`` family of ``tfrec
train`` trains it (``tfrec.training.session.SessionParallelGRU4Rec``) and
:class:`tfrec.recommenders.gru4rec.GRU4RecScorer` applies it on click sessions.
"""

from __future__ import annotations

from typing import List

import numpy as np

import tfrec  # noqa: F401  (selects tf_keras)
import tensorflow as tf


LOSSES = ("cross-entropy", "bpr-max", "top1-max")


def _uniform_init(fan_in: int, fan_out: int, seed: int):
    sigma = float(np.sqrt(6.0 / (fan_in + fan_out)))
    return tf.keras.initializers.RandomUniform(-sigma, sigma, seed=seed)


@tf.keras.utils.register_keras_serializable(package="tfrec")
class GRU4Rec(tf.keras.Model):
    """The GRU4Rec network: item embedding -> stacked GRU cells -> scores of items.

    Args:
      n_items: int, number of items.
      layers: list of int, units of each GRU layer. Default ``[100]``.
      embedding: int, size of a separate input embedding; used when ``constrained_embedding`` is False.
        Default 0 (= ``layers[0]``).
      constrained_embedding: bool, use the output weights ``Wy`` (``[n_items, layers[-1]]``) also as the
        input embedding (the official code's best setting). Default True.
      dropout_p_embed: float, dropout on the input embedding while training. Default 0.
      dropout_p_hidden: float, dropout on each GRU layer's output (and carried state, as in the official
        code) while training. Default 0.
      seed: int, initializer and dropout seed. Default 0.

    Inputs of ``call``: ``sequences`` [batch, time] int item indices, left- or right-padded with -1
    (padding and unknown items leave the state unchanged).
    Output: [batch, n_items] float32 scores of the next item after each sequence (higher is better).

    Example:

    >>> net = GRU4Rec(n_items=6, layers=[4])
    >>> net(tf.constant([[1, 2, 3], [4, -1, -1]])).shape
    TensorShape([2, 6])
    """

    def __init__(self, n_items, layers=(100,), embedding=0, constrained_embedding=True, dropout_p_embed=0.0,
                 dropout_p_hidden=0.0, seed=0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(n_items, bool) or not isinstance(n_items, (int, np.integer)) or n_items <= 0:
            raise ValueError(f"Received an invalid value for n_items, expected a positive integer. Received: n_items={n_items!r}")
        layers = list(layers) if isinstance(layers, (list, tuple)) else layers
        if not isinstance(layers, list) or not layers or any(
            isinstance(u, bool) or not isinstance(u, (int, np.integer)) or u <= 0 for u in layers
        ):
            raise ValueError(f"layers must be a non-empty list of positive integers, e.g. [100]. Received: layers={layers!r}")
        for arg, p in (("dropout_p_embed", dropout_p_embed), ("dropout_p_hidden", dropout_p_hidden)):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{arg} must be in [0, 1). Received: {arg}={p}")
        if embedding < 0:
            raise ValueError(f"embedding must be >= 0. Received: embedding={embedding}")
        self.n_items = int(n_items)
        self.layer_sizes = [int(u) for u in layers]
        self.embedding = int(embedding)
        self.constrained_embedding = bool(constrained_embedding)
        self.dropout_p_embed = float(dropout_p_embed)
        self.dropout_p_hidden = float(dropout_p_hidden)
        self.seed = int(seed)
        h_last = self.layer_sizes[-1]
        self.Wy = self.add_weight(name="Wy", shape=(self.n_items, h_last),
                                  initializer=_uniform_init(self.n_items, h_last, self.seed))
        self.By = self.add_weight(name="By", shape=(self.n_items,), initializer="zeros")
        if self.constrained_embedding:
            n_input = h_last
        else:
            n_input = self.embedding or self.layer_sizes[0]
            self.E = self.add_weight(name="E", shape=(self.n_items, n_input),
                                     initializer=_uniform_init(self.n_items, n_input, self.seed + 1))
        self.cells = [
            tf.keras.layers.GRUCell(u, kernel_initializer=_uniform_init(n_in, 3 * u, self.seed + 2 + i),
                                    recurrent_initializer=_uniform_init(u, 3 * u, self.seed + 100 + i),
                                    name=f"gru_{i}")
            for i, (n_in, u) in enumerate(zip([n_input] + self.layer_sizes[:-1], self.layer_sizes))
        ]
        self.embed_dropout = tf.keras.layers.Dropout(self.dropout_p_embed, seed=self.seed)
        self.hidden_dropouts = [tf.keras.layers.Dropout(self.dropout_p_hidden, seed=self.seed + 1 + i)
                                for i in range(len(self.layer_sizes))]

    def initial_state(self, batch_size) -> List[tf.Tensor]:
        """Zero hidden states, one [batch_size, units] tensor per layer."""
        return [tf.zeros([batch_size, u]) for u in self.layer_sizes]

    def step(self, items, states, training=False):
        """One time step.

        Args:
          items: [batch] int item indices (must be valid indices).
          states: list of [batch, units] hidden states, one per layer.
          training: apply dropout.

        Returns:
          (output [batch, layers[-1]], new states).
        """
        table = self.Wy if self.constrained_embedding else self.E
        x = tf.gather(table, items)
        x = self.embed_dropout(x, training=training)
        new_states = []
        for cell, drop, h in zip(self.cells, self.hidden_dropouts, states):
            x, _ = cell(x, [h], training=training)
            x = drop(x, training=training)
            new_states.append(x)
        return x, new_states

    def score_candidates(self, hidden, candidates):
        """[batch, H] hidden, [C] item indices -> [batch, C] scores ``hidden . Wy[c] + By[c]``."""
        return tf.matmul(hidden, tf.gather(self.Wy, candidates), transpose_b=True) + tf.gather(self.By, candidates)

    def score_all(self, hidden):
        """[batch, H] -> [batch, n_items] scores of every item."""
        return tf.matmul(hidden, self.Wy, transpose_b=True) + self.By

    def encode(self, sequences):
        """[batch, time] item indices (-1 = padding) -> [batch, layers[-1]] output after the last item."""
        sequences = tf.cast(sequences, tf.int32)
        batch = tf.shape(sequences)[0]
        states = self.initial_state(batch)
        out = tf.zeros([batch, self.layer_sizes[-1]])

        def body(carry, items):
            out, states = carry
            known = items >= 0
            new_out, new_states = self.step(tf.maximum(items, 0), states)
            keep = known[:, None]
            return (tf.where(keep, new_out, out), [tf.where(keep, n, s) for n, s in zip(new_states, states)])

        out, _ = tf.scan(body, tf.transpose(sequences), initializer=(out, states))
        return out[-1]

    def call(self, sequences, training=False):
        return self.score_all(self.encode(sequences))

    def get_config(self):
        return {
            "n_items": self.n_items,
            "layers": list(self.layer_sizes),
            "embedding": self.embedding,
            "constrained_embedding": self.constrained_embedding,
            "dropout_p_embed": self.dropout_p_embed,
            "dropout_p_hidden": self.dropout_p_hidden,
            "seed": self.seed,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


# ----------------------------------------------------------------------------- losses
# Every loss takes logits [B, C] whose column j < B is the target of row j (the in-batch targets come
# first, then the extra samples), ``row_valid`` [B] (rows that carry a loss) and ``col_valid`` [C]
# (columns that may serve as negatives), and returns the SUM over valid rows of the per-row loss.

def _masked_neg_softmax(logits, col_valid):
    """Softmax over each row's negatives: every valid column except the row's own target (diagonal)."""
    b, c = tf.shape(logits)[0], tf.shape(logits)[1]
    not_diag = tf.logical_not(tf.cast(tf.eye(b, c), tf.bool))
    allowed = tf.logical_and(not_diag, col_valid[None, :])
    masked = tf.where(allowed, logits, tf.fill(tf.shape(logits), -1e30))
    probs = tf.nn.softmax(masked, axis=1)
    return tf.where(allowed, probs, 0.0)


def _diag(logits):
    b = tf.shape(logits)[0]
    return tf.gather_nd(logits, tf.stack([tf.range(b), tf.range(b)], axis=1))


def cross_entropy_loss(logits, row_valid, col_valid):
    """Sampled softmax cross-entropy: ``-log softmax(row)[target]`` summed over valid rows.

    Args:
      logits: [B, C] float; column ``j < B`` is row ``j``'s target.
      row_valid: [B] bool. col_valid: [C] bool (invalid columns are left out of the softmax).

    Returns:
      scalar float32.
    """
    masked = tf.where(col_valid[None, :], logits, tf.fill(tf.shape(logits), -1e30))
    per_row = -_diag(tf.nn.log_softmax(masked, axis=1))
    return tf.reduce_sum(tf.where(row_valid, per_row, 0.0))


def bpr_max_loss(logits, row_valid, col_valid, bpreg=1.0, elu_param=0.0):
    """BPR-max: ``-log(sum_j s_j sigmoid(r_i - r_j)) + bpreg * sum_j s_j r_j^2`` with ``s`` the softmax
    over the negatives; scores first go through ELU(``elu_param``) when ``elu_param > 0``."""
    if elu_param > 0:
        logits = tf.where(logits >= 0, logits, elu_param * (tf.exp(tf.minimum(logits, 0.0)) - 1.0))
    s = _masked_neg_softmax(logits, col_valid)
    target = _diag(logits)[:, None]
    per_row = (-tf.math.log(tf.reduce_sum(s * tf.sigmoid(target - logits), axis=1) + 1e-24)
               + bpreg * tf.reduce_sum(s * tf.square(logits), axis=1))
    return tf.reduce_sum(tf.where(row_valid, per_row, 0.0))


def top1_max_loss(logits, row_valid, col_valid, elu_param=0.0):
    """TOP1-max: ``sum_j s_j (sigmoid(r_j - r_i) + sigmoid(r_j^2))`` with ``s`` the softmax over the
    negatives; scores first go through ELU(``elu_param``) when ``elu_param > 0``."""
    if elu_param > 0:
        logits = tf.where(logits >= 0, logits, elu_param * (tf.exp(tf.minimum(logits, 0.0)) - 1.0))
    s = _masked_neg_softmax(logits, col_valid)
    target = _diag(logits)[:, None]
    per_row = tf.reduce_sum(s * (tf.sigmoid(logits - target) + tf.sigmoid(tf.square(logits))), axis=1)
    return tf.reduce_sum(tf.where(row_valid, per_row, 0.0))


__all__ = ["GRU4Rec", "LOSSES", "bpr_max_loss", "cross_entropy_loss", "top1_max_loss"]
