"""GRU4Rec as a session recommender: session-parallel training and next-click prediction."""

from __future__ import annotations

import time
from typing import List, Optional, Sequence

import numpy as np
import pandas as pd

import tfrec  # noqa: F401  (selects tf_keras)
import tensorflow as tf

from tfrec.data.session_batches import check_session_frame, session_parallel_batches, sort_sessions
from tfrec.models.gru4rec import LOSSES, GRU4Rec, bpr_max_loss, cross_entropy_loss, top1_max_loss
from tfrec.recommenders.session import SessionRecommender


class GRU4RecRecommender(SessionRecommender):
    """Trains and applies :class:`GRU4Rec` on click sessions.

    Not an :class:`~tfrec.recommenders.Algorithm` (there are no users): ``fit(sessions)``,
    ``predict_next(item_sequence, k)``, ``evaluate_sessions(test, k=20)`` (see
    :mod:`tfrec.recommenders.session` for the protocol).

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
        check_session_frame(sessions, "sessions")
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


__all__ = ["GRU4RecRecommender"]
