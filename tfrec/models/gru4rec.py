"""GRU4Rec: session-based recommendations with recurrent neural networks.

Hidasi, Karatzoglou, Baltrunas, Tikk: Session-based Recommendations with Recurrent Neural Networks
(ICLR 2016); Hidasi & Karatzoglou: Recurrent Neural Networks with Top-k Gains for Session-based
Recommendations (CIKM 2018). Follows the official implementation's choices: session-parallel
mini-batches (:func:`tfrec.models.session_baselines.session_parallel_batches`), one-step truncated
back-propagation (the hidden state is carried between steps but not differentiated through), output
sampling = the other targets of the mini-batch plus ``n_sample`` extra negatives drawn with probability
``support ** sample_alpha``, losses ``cross-entropy`` (optionally log-q corrected), ``bpr-max`` and
``top1-max`` (score regularization ``bpreg``), Adagrad, dropout on the input embedding and the hidden
layers, input embedding shared with the output weights (``constrained_embedding``).
"""

from __future__ import annotations

import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import pandas as pd

import tfrec  # noqa: F401  (selects tf_keras)
import tensorflow as tf

from tfrec.models.session_baselines import (
    ITEM_KEY, SessionRecommender, _check_frame, session_parallel_batches, sort_sessions,
)

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


class GRU4RecRecommender(SessionRecommender):
    """Trains and applies :class:`GRU4Rec` on click sessions.

    Not an :class:`~tfrec.recommenders.Algorithm` (there are no users): ``fit(sessions)``,
    ``predict_next(item_sequence, k)``, ``evaluate_sessions(test, k=20)`` (see
    :mod:`tfrec.models.session_baselines` for the protocol).

    Args:
      layers: GRU units per layer. Default ``[100]``.
      loss: ``"cross-entropy"``, ``"bpr-max"`` or ``"top1-max"``. Default ``"cross-entropy"``.
      batch_size: parallel sessions per mini-batch. Default 32.
      n_epochs: passes over the training events. Default 10.
      learning_rate: Adagrad learning rate. Default 0.1.
      dropout_p_embed, dropout_p_hidden: dropout rates. Default 0.
      n_sample: extra negatives per mini-batch (shared by its rows). Default 2048.
      sample_alpha: extra negatives are drawn with probability ``support ** sample_alpha``. Default 0.75.
      bpreg: score regularization of BPR-max. Default 1.0.
      elu_param: ELU parameter of the final activation for bpr-max/top1-max (0 = linear). Default 0.5.
      logq: strength of the log-q (sampling probability) correction of cross-entropy. Default 0.
      constrained_embedding: share input and output item weights. Default True.
      embedding: separate input embedding size when not constrained (0 = ``layers[0]``). Default 0.
      seed: int. Default 0.
      verbose: print one line per epoch. Default False.
      dense_gradient_limit: use dense gradients (faster on CPU, exact Adagrad on summed duplicates)
        while ``n_items * max(layers)`` is at most this; sparse row updates above. Default 2e7.

    Attributes (after ``fit``): ``model`` (:class:`GRU4Rec`), ``epoch_seconds`` (list),
    ``events_per_second`` (training examples per second of the last epoch), ``losses`` (mean loss per epoch).

    Example:

    >>> train = pd.DataFrame({"SessionId": [1, 1, 1, 2, 2], "ItemId": ["a", "b", "c", "a", "b"],
    ...                       "Time": [0, 1, 2, 3, 4]})
    >>> algo = GRU4RecRecommender(layers=[4], batch_size=2, n_epochs=1, n_sample=0).fit(train)
    >>> algo.predict_next(["a"], k=2)[0].shape
    (2,)
    """

    name = "gru4rec"

    def __init__(self, layers: Sequence[int] = (100,), loss: str = "cross-entropy", batch_size: int = 32,
                 n_epochs: int = 10, learning_rate: float = 0.1, dropout_p_embed: float = 0.0,
                 dropout_p_hidden: float = 0.0, n_sample: int = 2048, sample_alpha: float = 0.75,
                 bpreg: float = 1.0, elu_param: float = 0.5, logq: float = 0.0,
                 constrained_embedding: bool = True, embedding: int = 0, seed: int = 0, verbose: bool = False,
                 dense_gradient_limit: int = 20_000_000, name: Optional[str] = None):
        super().__init__()
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {list(LOSSES)}. Received: loss={loss!r}")
        for arg, value in (("batch_size", batch_size), ("n_epochs", n_epochs)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"{arg} must be a positive integer. Received: {arg}={value!r}")
        if isinstance(n_sample, bool) or not isinstance(n_sample, (int, np.integer)) or n_sample < 0:
            raise ValueError(f"n_sample must be an integer >= 0. Received: n_sample={n_sample!r}")
        if learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0. Received: learning_rate={learning_rate}")
        self.layers = [int(u) for u in layers]
        self.loss = loss
        self.batch_size = int(batch_size)
        self.n_epochs = int(n_epochs)
        self.learning_rate = float(learning_rate)
        self.dropout_p_embed = float(dropout_p_embed)
        self.dropout_p_hidden = float(dropout_p_hidden)
        self.n_sample = int(n_sample)
        self.sample_alpha = float(sample_alpha)
        self.bpreg = float(bpreg)
        self.elu_param = float(elu_param)
        self.logq = float(logq)
        self.constrained_embedding = bool(constrained_embedding)
        self.embedding = int(embedding)
        self.seed = int(seed)
        self.verbose = verbose
        self.dense_gradient_limit = int(dense_gradient_limit)
        self.name = name or "gru4rec"
        self.model: Optional[GRU4Rec] = None
        self.epoch_seconds: List[float] = []
        self.losses: List[float] = []
        self.events_per_second: Optional[float] = None

    # ------------------------------------------------------------------ training
    def _loss(self, logits, row_valid, col_valid):
        if self.loss == "cross-entropy":
            return cross_entropy_loss(logits, row_valid, col_valid)
        if self.loss == "bpr-max":
            return bpr_max_loss(logits, row_valid, col_valid, self.bpreg, self.elu_param)
        return top1_max_loss(logits, row_valid, col_valid, self.elu_param)

    def fit(self, sessions: pd.DataFrame) -> "GRU4RecRecommender":
        _check_frame(sessions, "sessions")
        codes = self._set_items(sessions)
        offsets, order, sorted_frame = sort_sessions(sessions.assign(_code=codes), order="time")
        batches = session_parallel_batches(sorted_frame["_code"].to_numpy(np.int32), offsets, order, self.batch_size)
        n = len(self.item_ids)
        support = np.bincount(codes, minlength=n).astype(np.float64)
        tf.keras.utils.set_random_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        self.model = GRU4Rec(n, self.layers, self.embedding, self.constrained_embedding, self.dropout_p_embed,
                             self.dropout_p_hidden, self.seed)
        model = self.model
        opt = tf.keras.optimizers.Adagrad(self.learning_rate, initial_accumulator_value=0.0, epsilon=1e-6)
        B, S = self.batch_size, self.n_sample
        states = [tf.Variable(tf.zeros([B, u]), trainable=False) for u in self.layers]
        log_support = tf.constant(np.log(support), tf.float32)
        sample_cdf = None
        if S > 0:
            w = support ** self.sample_alpha
            sample_cdf = np.cumsum(w) / w.sum()
            sample_cdf[-1] = 1.0
        xe_logq = self.loss == "cross-entropy" and self.logq > 0
        model(tf.zeros([1, 1], tf.int32))  # build
        variables = model.trainable_variables

        # Small catalogs: dense gradients (exactly the official Adagrad on summed gradients, and much
        # faster on CPU than scattered row updates); large catalogs: sparse row updates.
        dense = n * max(self.layers) <= self.dense_gradient_limit

        def train_step(inp, tgt, reset, valid, samples):
            keep = tf.logical_not(reset)[:, None]
            h0 = [tf.where(keep, s, 0.0) for s in states]
            cand = tf.concat([tgt, samples], axis=0)
            col_valid = tf.concat([valid, tf.ones_like(samples, tf.bool)], axis=0)
            with tf.GradientTape() as tape:
                out, new_states = model.step(inp, h0, training=True)
                logits = model.score_candidates(out, cand)
                if xe_logq:  # subtract log of each candidate's sampling probability (up to a constant)
                    lq = tf.concat([tf.gather(log_support, tgt),
                                    self.sample_alpha * tf.gather(log_support, samples)], axis=0)
                    logits = logits - self.logq * lq
                loss = self._loss(logits, valid, col_valid) / B
            grads = tape.gradient(loss, variables)
            if dense:
                grads = [tf.convert_to_tensor(g) for g in grads]
            opt.apply_gradients(zip(grads, variables))
            for s, ns in zip(states, new_states):
                s.assign(ns)
            return loss

        @tf.function(reduce_retracing=True)
        def train_chunk(inp, tgt, reset, valid, samples):
            """Runs consecutive steps inside one graph call (fewer Python round trips)."""
            def body(t, total):
                return t + 1, total + train_step(inp[t], tgt[t], reset[t], valid[t], samples[t])

            return tf.while_loop(lambda t, _: t < tf.shape(inp)[0], body, (tf.constant(0), tf.constant(0.0)))[1]

        T = batches.n_steps
        chunk = 256
        self.epoch_seconds, self.losses = [], []
        for epoch in range(self.n_epochs):
            for s in states:
                s.assign(tf.zeros_like(s))
            if S > 0:
                all_samples = np.searchsorted(sample_cdf, rng.random((T, S)), side="right")
                all_samples = np.minimum(all_samples, n - 1).astype(np.int32)
            else:
                all_samples = np.zeros((T, 0), np.int32)
            t0 = time.perf_counter()
            total = 0.0
            for c in range(0, T, chunk):
                sl = slice(c, c + chunk)
                total += float(train_chunk(batches.inputs[sl].astype(np.int32), batches.targets[sl].astype(np.int32),
                                           batches.reset[sl], batches.valid[sl], all_samples[sl]))
            dt = time.perf_counter() - t0
            self.epoch_seconds.append(dt)
            self.events_per_second = batches.n_events / dt
            self.losses.append(total / T)
            if not np.isfinite(self.losses[-1]):
                raise FloatingPointError(
                    f"GRU4Rec training diverged (loss {self.losses[-1]}) in epoch {epoch + 1}; lower learning_rate "
                    f"(received {self.learning_rate}) or bpreg."
                )
            if self.verbose:
                print(f"epoch {epoch + 1}: loss {self.losses[-1]:.4f}  {dt:.1f}s  "
                      f"{self.events_per_second:.0f} events/s", flush=True)
        self._eval_fn = None
        return self

    # ------------------------------------------------------------------ inference
    def _begin(self, batch_size: int) -> None:
        self._check_fitted()
        if self.model is None:
            raise RuntimeError("GRU4RecRecommender is not fitted: call fit(train_sessions) first.")
        self._eval_states = [tf.zeros([batch_size, u]) for u in self.layers]
        if getattr(self, "_eval_fn", None) is None:
            model = self.model

            @tf.function(reduce_retracing=True)
            def eval_step(items, reset, states):
                keep = tf.logical_not(reset)[:, None]
                h0 = [tf.where(keep, s, 0.0) for s in states]
                out, new_states = model.step(items, h0, training=False)
                return model.score_all(out), new_states

            self._eval_fn = eval_step

    def _scores(self, items, reset):
        scores, self._eval_states = self._eval_fn(tf.constant(items, tf.int32), tf.constant(reset, tf.bool),
                                                  self._eval_states)
        return scores.numpy()
