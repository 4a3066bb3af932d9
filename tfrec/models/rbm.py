"""Restricted Boltzmann machine for collaborative filtering (Salakhutdinov, Mnih & Hinton, ICML 2007).

Each user is one training case. Every item is a softmax visible unit over ``K`` rating values; only the
items the user rated are visible (the others are left out of the energy, i.e. masked). Hidden units are
binary. Weights ``W[item, k, hidden]`` are shared by all users. Training is contrastive divergence
(CD-k, ``k`` growing over the epochs) with momentum and weight decay; prediction is the expected rating
``sum_k k * p(v_i = k | h)`` with ``h`` the mean-field hidden probabilities of the user's *training*
ratings.

The same model with the roles swapped (each item a case, the users its visible units) is the item-based
RBM (I-RBM) that Sedhain et al. (AutoRec, WWW 2015) compare with;
:class:`tfrec.training.families.rbm.RBMTask` (registry name ``rbm``) trains either (``orientation``) with the
Trainer, and :class:`tfrec.recommenders.rbm.RBMScorer` predicts ratings with the trained model.

Reference: R. Salakhutdinov, A. Mnih, G. Hinton. Restricted Boltzmann Machines for Collaborative
Filtering. ICML 2007.
"""

from __future__ import annotations

import numpy as np

import tfrec  # noqa: F401  (selects tf_keras)
import tensorflow as tf


def check_cd_k_schedule(cd_k_schedule) -> list:
    """``cd_k_schedule`` as ``[[first_epoch, k], ...]``: starts at epoch 0, epochs increase, every k >= 1."""
    try:
        sched = [[int(e), int(k)] for e, k in cd_k_schedule]
    except (TypeError, ValueError) as e:
        raise ValueError(
            "cd_k_schedule must be a list of [first_epoch, k] pairs, e.g. [[0, 1], [20, 3], [40, 5]]. "
            f"Received: cd_k_schedule={cd_k_schedule!r}"
        ) from e
    if not sched or sched[0][0] != 0 or any(k < 1 for _, k in sched) or any(
        b[0] <= a[0] for a, b in zip(sched, sched[1:])
    ):
        raise ValueError(
            "cd_k_schedule must start at epoch 0, have increasing epochs and k >= 1, e.g. "
            f"[[0, 1], [20, 3], [40, 5]]. Received: cd_k_schedule={cd_k_schedule!r}"
        )
    return sched


def rating_classes(ratings, n_ratings: int = 5, min_rating: float = 1.0, rating_step: float = 1.0) -> np.ndarray:
    """Ratings on the grid ``min_rating, min_rating + rating_step, ...`` -> int8 classes ``1..n_ratings``.

    Args:
      ratings: [n] float ratings.
      n_ratings, min_rating, rating_step: the rating scale (default 1, 2, ..., 5).

    Returns:
      [n] int8 classes ``round((r - min_rating) / rating_step) + 1``.

    Raises:
      ValueError: a rating off the grid or outside the scale (names a few and the settings to change).

    Example:

    >>> rating_classes([0.5, 5.0], n_ratings=10, min_rating=0.5, rating_step=0.5).tolist()
    [1, 10]
    """
    if not rating_step > 0:
        raise ValueError(f"rating_step must be > 0. Received: rating_step={rating_step}")
    pos = (np.asarray(ratings, np.float64) - min_rating) / rating_step
    cls = np.rint(pos)
    bad = (np.abs(pos - cls) > 1e-6) | (cls < 0) | (cls >= n_ratings)
    if bad.any():
        example = np.asarray(ratings)[bad][:5]
        top = min_rating + rating_step * (n_ratings - 1)
        raise ValueError(
            f"The RBM expects ratings on the grid {min_rating}, {min_rating + rating_step}, ..., {top} "
            f"(n_ratings={n_ratings}, min_rating={min_rating}, rating_step={rating_step}); received e.g. "
            f"{example.tolist()}. Set n_ratings/min_rating/rating_step to the data's scale (e.g. n_ratings=10, "
            "min_rating=0.5, rating_step=0.5 for half stars)."
        )
    return cls.astype(np.int8) + 1


def rating_scale(ratings) -> tuple:
    """The rating grid of ``ratings``: ``(n_ratings, min_rating, rating_step)``.

    ``min_rating`` is the lowest rating, ``rating_step`` the smallest gap between two distinct values
    (1.0 when there is one value) and ``n_ratings`` the number of grid values up to the highest rating.

    Args:
      ratings: [n] float ratings (the training ratings).

    Returns:
      (n_ratings: int >= 2, min_rating: float, rating_step: float).

    Raises:
      ValueError: no ratings, or values that are not on one evenly spaced grid.

    Example:

    >>> rating_scale([4.0, 0.5, 3.5, 5.0])
    (10, 0.5, 0.5)
    """
    values = np.unique(np.round(np.asarray(ratings, np.float64), 6))
    if values.size == 0:
        raise ValueError("Cannot infer the rating scale of an empty set of ratings.")
    step = float(np.min(np.diff(values))) if values.size > 1 else 1.0
    n = int(round((values[-1] - values[0]) / step)) + 1
    rating_classes(values, max(n, 2), float(values[0]), step)  # every value on the grid, or a ValueError
    return max(n, 2), float(values[0]), step


class _RBMScheduler(tf.keras.callbacks.Callback):
    """Sets the model's CD-k (``cd_k_schedule``) and the optimizer's momentum (``initial_momentum`` until
    ``momentum_switch_epoch``) at the start of every epoch."""

    def __init__(self, rbm: "RBM"):
        super().__init__()
        self._rbm = rbm

    def on_epoch_begin(self, epoch, logs=None):
        self._rbm.cd_k.assign(self._rbm.k_for_epoch(epoch))
        if self._rbm.initial_momentum is not None:
            self._rbm.momentum_variable.assign(self._rbm.momentum_for_epoch(epoch))


@tf.keras.utils.register_keras_serializable(package="tfrec")
class RBM(tf.keras.Model):
    """Conditional-free CF RBM with softmax visible units and binary hidden units.

    Training uses the compiled optimizer with the contrastive-divergence estimate as the (negative)
    gradient, so ``compile(optimizer=tf.keras.optimizers.SGD(learning_rate, momentum=...))`` gives the
    paper's update ``delta = momentum * delta + lr * (<v h>_data - <v h>_recon - weight_decay * W)``.

    Args:
      n_items: int, number of items (visible softmax units).
      n_ratings: int, number of rating values ``K``. Default 5.
      n_hidden: int, number of binary hidden units. Default 100.
      cd_k_schedule: list of ``[first_epoch, k]`` pairs: CD-k uses ``k`` Gibbs steps from
        ``first_epoch`` on. Default ``[[0, 1]]`` (CD-1 throughout).
      weight_decay: float, L2 coefficient added to the gradient of ``W`` (not the biases). Default 0.001.
      bias_lr_multiplier: float > 0, the biases' gradients are multiplied by this before the optimizer
        step, so their learning rate is ``bias_lr_multiplier`` times the optimizer's (with plain or
        momentum SGD). Default 1.0.
      sample: bool. True: sample binary hidden states and one-hot visible states in the Gibbs chain
        (standard CD). False: use probabilities everywhere (deterministic mean-field CD). Default True.
      init_stddev: float, standard deviation of the normal initializer of ``W``. Default 0.01.
      prediction: ``"mean_field"``: ``p(v | h)`` with ``h`` the hidden probabilities (the paper's fast
        approximation); ``"exact"``: ``p(v_q = k | V)`` with ``h`` summed out (paper eq. 8; memory
        ``batch * n_items * K * n_hidden``). Default ``"mean_field"``.
      seed: int, seed of the Gibbs sampling and of the weight initializer. Default 0.
      hidden_dropout: float in [0, 1), dropout RBM (Srivastava et al., JMLR 2014, section 8): in training
        each case keeps every hidden unit with probability ``1 - hidden_dropout``; a dropped unit is 0 in
        the positive and negative phase of that case (so it gets no gradient from it). Prediction keeps
        all units and scales their input to the visible units by ``1 - hidden_dropout``
        (``p(v | (1 - hidden_dropout) h)``). Only with ``prediction="mean_field"``. Default 0.0.
      shared_weights: bool. True adds weights ``S[k, hidden]`` shared by all visible units, so the
        interaction of visible unit ``i`` is ``W[i] + S`` (a hidden unit can respond to a case's rating
        values on every item at once, e.g. a user who rates everything high). ``S`` gets the CD
        gradient averaged (not summed) over the visible units, times ``shared_lr_multiplier``, and the
        same weight decay. Default False.
      shared_lr_multiplier: float > 0, scale of ``S``'s averaged gradient (its learning rate relative to
        ``W``'s). Default 1.0.
      initial_momentum: float in [0, 1) or None: the momentum of the optimizer (an SGD with momentum)
        in the epochs before ``momentum_switch_epoch``; from then on its own ``momentum``. None: the
        optimizer's momentum throughout. Default None.
      momentum_switch_epoch: int >= 0, the first (0-based) epoch with the optimizer's own momentum. Default 5.
      rating_step: float > 0, the rating value of one class step: ``rmse`` metrics are reported on the
        data's scale (class distance times ``rating_step``). Default 1.0.

    Inputs: ``ratings``: [batch, n_items] int tensor; 0 = not rated (masked), ``1..K`` = rating value
    (or a dict whose ``"input"`` is that tensor).
    Output: [batch, n_items] float32 expected rating value in ``[1, K]`` for every item,
    ``sum_k k * p(v_i = k | h)`` with ``h = p(h = 1 | visible ratings)`` (mean field), or
    ``sum_k k * p(v_i = k | V)`` (``prediction="exact"``).

    Example:

    >>> rbm = RBM(n_items=4, n_ratings=5, n_hidden=3)
    >>> rbm.compile(optimizer=tf.keras.optimizers.SGD(0.1, momentum=0.5))
    >>> ratings = tf.constant([[5, 0, 3, 0], [0, 1, 0, 4]])
    >>> _ = rbm.fit(ratings, batch_size=2, epochs=1, verbose=0)
    >>> rbm(ratings).shape
    TensorShape([2, 4])

    Training batches are ``ratings`` or ``{"input": ratings}``. Validation batches may add the ratings
    to predict: ``{"input": ratings, "target": [batch, n_items] int classes (0 = none)}``; ``test_step``
    then reports ``rmse``, the RMSE of the expected rating of every target entry predicted from the
    input ratings (without targets: the reconstruction RMSE of the input, ``recon_rmse``).
    """

    def __init__(self, n_items, n_ratings=5, n_hidden=100, cd_k_schedule=((0, 1),), weight_decay=0.001,
                 bias_lr_multiplier=1.0, sample=True, init_stddev=0.01, prediction="mean_field", seed=0,
                 hidden_dropout=0.0, shared_weights=False, shared_lr_multiplier=1.0, initial_momentum=None,
                 momentum_switch_epoch=5, rating_step=1.0, **kwargs):
        super().__init__(**kwargs)
        for arg, value in (("n_items", n_items), ("n_ratings", n_ratings), ("n_hidden", n_hidden)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(
                    f"Received an invalid value for {arg}, expected a positive integer. Received: {arg}={value!r}"
                )
        if n_ratings < 2:
            raise ValueError(f"n_ratings must be at least 2 (a softmax over rating values). Received: n_ratings={n_ratings}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0. Received: weight_decay={weight_decay}")
        if not bias_lr_multiplier > 0:
            raise ValueError(f"bias_lr_multiplier must be > 0. Received: bias_lr_multiplier={bias_lr_multiplier}")
        self.n_items = int(n_items)
        self.n_ratings = int(n_ratings)
        self.n_hidden = int(n_hidden)
        self.cd_k_schedule = check_cd_k_schedule(cd_k_schedule)
        self.weight_decay = float(weight_decay)
        self.bias_lr_multiplier = float(bias_lr_multiplier)
        self.sample = bool(sample)
        self.init_stddev = float(init_stddev)
        if prediction not in ("mean_field", "exact"):
            raise ValueError(f"prediction must be 'mean_field' or 'exact'. Received: prediction={prediction!r}")
        self.prediction = prediction
        self.seed = int(seed)
        if not 0 <= hidden_dropout < 1:
            raise ValueError(f"hidden_dropout must be in [0, 1). Received: hidden_dropout={hidden_dropout}")
        if hidden_dropout > 0 and prediction == "exact":
            raise ValueError("hidden_dropout > 0 needs prediction='mean_field' (the exact prediction has no "
                             f"dropout form). Received: hidden_dropout={hidden_dropout}, prediction='exact'")
        self.hidden_dropout = float(hidden_dropout)
        self.W = self.add_weight(
            name="W", shape=(self.n_items, self.n_ratings, self.n_hidden),
            initializer=tf.keras.initializers.RandomNormal(stddev=self.init_stddev, seed=self.seed),
        )
        self.visible_bias = self.add_weight(
            name="visible_bias", shape=(self.n_items, self.n_ratings), initializer="zeros"
        )
        self.hidden_bias = self.add_weight(name="hidden_bias", shape=(self.n_hidden,), initializer="zeros")
        self.shared_weights = bool(shared_weights)
        if not shared_lr_multiplier > 0:
            raise ValueError(f"shared_lr_multiplier must be > 0. Received: shared_lr_multiplier={shared_lr_multiplier}")
        self.shared_lr_multiplier = float(shared_lr_multiplier)
        self.shared_W = (self.add_weight(name="shared_W", shape=(self.n_ratings, self.n_hidden), initializer="zeros")
                         if self.shared_weights else None)
        if initial_momentum is not None and not 0 <= initial_momentum < 1:
            raise ValueError(f"initial_momentum must be in [0, 1) or None. Received: initial_momentum={initial_momentum}")
        self.initial_momentum = None if initial_momentum is None else float(initial_momentum)
        if isinstance(momentum_switch_epoch, bool) or not isinstance(momentum_switch_epoch, (int, np.integer)) \
                or momentum_switch_epoch < 0:
            raise ValueError(f"momentum_switch_epoch must be an integer >= 0. Received: "
                             f"momentum_switch_epoch={momentum_switch_epoch!r}")
        self.momentum_switch_epoch = int(momentum_switch_epoch)
        if not rating_step > 0:
            raise ValueError(f"rating_step must be > 0. Received: rating_step={rating_step}")
        self.rating_step = float(rating_step)
        # the optimizer's momentum when initial_momentum is given (compile() hands it to the optimizer)
        self.momentum_variable = tf.Variable(0.0, dtype=tf.float32, trainable=False, name="momentum")
        self._final_momentum = None
        self.cd_k = tf.Variable(self.cd_k_schedule[0][1], dtype=tf.int32, trainable=False, name="cd_k")
        self._rng_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="rng_step")
        self.recon_rmse_tracker = tf.keras.metrics.Mean(name="recon_rmse")
        self._sse = tf.keras.metrics.Sum(name="sse")
        self._count = tf.keras.metrics.Sum(name="count")

    # ----------------------------------------------------------------- conditionals
    def k_for_epoch(self, epoch: int) -> int:
        """The CD-k of ``epoch`` (0-based) under ``cd_k_schedule``."""
        k = self.cd_k_schedule[0][1]
        for first, kk in self.cd_k_schedule:
            if epoch >= first:
                k = kk
        return k

    def momentum_for_epoch(self, epoch: int) -> float:
        """The optimizer momentum of ``epoch`` (0-based): ``initial_momentum`` before ``momentum_switch_epoch``,
        then the optimizer's own (after :meth:`compile`)."""
        if self.initial_momentum is not None and epoch < self.momentum_switch_epoch:
            return self.initial_momentum
        return self._final_momentum

    def compile(self, optimizer="rmsprop", **kwargs):
        """``tf.keras.Model.compile``; with ``initial_momentum`` the optimizer's momentum becomes a variable
        that the per-epoch schedule sets.

        Raises:
          ValueError: ``initial_momentum`` is set and the optimizer has no momentum (use SGD with a momentum).
        """
        super().compile(optimizer=optimizer, **kwargs)
        if self.initial_momentum is None:
            return
        momentum = getattr(self.optimizer, "momentum", None)
        if momentum is None:
            raise ValueError(f"initial_momentum={self.initial_momentum} needs an SGD optimizer with a momentum "
                             f"(training.optimizer: sgd, training.optimizer_params: {{momentum: 0.9}}); got "
                             f"{type(self.optimizer).__name__}. Set initial_momentum to null otherwise.")
        if momentum is not self.momentum_variable:  # a new optimizer: its momentum applies after the switch
            self._final_momentum = float(tf.keras.backend.get_value(momentum))
            self.momentum_variable.assign(self.momentum_for_epoch(0))
        self.optimizer.momentum = self.momentum_variable

    def interaction_weights(self):
        """[n_items, K, n_hidden] weights between the visible and hidden units: ``W`` (+ ``S``)."""
        return self.W + self.shared_W[None] if self.shared_weights else self.W

    def one_hot_visible(self, ratings):
        """[batch, n_items] int ratings (0 = missing) -> [batch, n_items, K] one-hot, zero where missing."""
        ratings = tf.cast(ratings, tf.int32)
        return tf.one_hot(ratings - 1, self.n_ratings, dtype=tf.float32)  # index -1 -> all zeros

    def hidden_probabilities(self, visible):
        """p(h_j = 1 | v) = sigmoid(b_j + sum_{i,k} v_ik W_ikj); visible: [batch, n_items, K] -> [batch, H]."""
        return tf.sigmoid(self.hidden_bias + tf.einsum("bik,ikh->bh", visible, self.interaction_weights()))

    def visible_probabilities(self, hidden):
        """p(v_i = k | h) = softmax_k(b_ik + sum_j h_j W_ikj); hidden: [batch, H] -> [batch, n_items, K]."""
        return tf.nn.softmax(self.visible_bias + tf.einsum("bh,ikh->bik", hidden, self.interaction_weights()), axis=-1)

    def exact_visible_probabilities(self, ratings):
        """p(v_q = k | V) with the hidden units summed out (Salakhutdinov et al., eq. 8):
        ``p(v_q = k | V) ~ exp(b_qk) prod_j (1 + exp(b_j + sum_{i,l} v_il W_ilj + W_qkj))``.

        Args:
          ratings: [batch, n_items] int ratings (0 = not rated).

        Returns:
          [batch, n_items, K] probabilities. Memory is ``batch * n_items * K * n_hidden`` floats.
        """
        w = self.interaction_weights()
        base = self.hidden_bias + tf.einsum("bik,ikh->bh", self.one_hot_visible(ratings), w)
        logits = self.visible_bias + tf.reduce_sum(tf.nn.softplus(base[:, None, None, :] + w), axis=-1)
        return tf.nn.softmax(logits, axis=-1)

    def call(self, ratings, training=False):
        if isinstance(ratings, dict):
            ratings = ratings["input"]
        if self.prediction == "exact":
            probs = self.exact_visible_probabilities(ratings)
        else:
            hidden = self.hidden_probabilities(self.one_hot_visible(ratings))
            probs = self.visible_probabilities((1.0 - self.hidden_dropout) * hidden)
        values = tf.range(1, self.n_ratings + 1, dtype=tf.float32)
        return tf.reduce_sum(probs * values, axis=-1)

    # ----------------------------------------------------------------- training
    def _next_seed(self):
        step = self._rng_step.assign_add(1)
        return tf.stack([tf.constant(self.seed, tf.int64), step])

    def _sample_hidden(self, probs):
        if not self.sample:
            return probs
        u = tf.random.stateless_uniform(tf.shape(probs), seed=self._next_seed())
        return tf.cast(u < probs, tf.float32)

    def _sample_visible(self, probs, mask):
        if not self.sample:
            return probs * mask
        flat = tf.reshape(probs, [-1, self.n_ratings])
        idx = tf.random.stateless_categorical(tf.math.log(flat + 1e-12), 1, seed=self._next_seed())
        one_hot = tf.one_hot(tf.reshape(idx, tf.shape(probs)[:-1]), self.n_ratings, dtype=tf.float32)
        return one_hot * mask

    def dropout_mask(self, batch_size):
        """[batch, n_hidden] float 0/1 mask of the hidden units each case keeps (``hidden_dropout``)."""
        u = tf.random.stateless_uniform([batch_size, self.n_hidden], seed=self._next_seed())
        return tf.cast(u >= self.hidden_dropout, tf.float32)

    def contrastive_divergence(self, ratings, training=True):
        """CD-k statistics of a batch of users.

        Args:
          ratings: [batch, n_items] int tensor, 0 = not rated.
          training: bool; True applies ``hidden_dropout`` (one mask per case for all its Gibbs steps).

        Returns:
          (grad_W, grad_visible_bias, grad_hidden_bias, recon_rmse): the *ascent* directions
          ``(<v h>_data - <v h>_model) / batch`` etc. (without weight decay), and the RMSE of the
          mean-field one-step reconstruction of the observed ratings.
        """
        v0 = self.one_hot_visible(ratings)
        mask = tf.reduce_sum(v0, axis=-1, keepdims=True)  # [b, i, 1]: 1 where rated
        if training and self.hidden_dropout > 0:
            keep = self.dropout_mask(tf.shape(v0)[0])  # the same dropped units in every phase
        else:
            keep = tf.ones([tf.shape(v0)[0], self.n_hidden])
        ph0_all = self.hidden_probabilities(v0)
        ph0 = ph0_all * keep
        h = self._sample_hidden(ph0)

        def gibbs_step(step, h, vk, phk):
            vk = self._sample_visible(self.visible_probabilities(h), mask)
            phk = self.hidden_probabilities(vk) * keep
            return step + 1, self._sample_hidden(phk), vk, phk

        _, h, vk, phk = tf.while_loop(
            lambda step, *_: step < self.cd_k, gibbs_step, (tf.constant(0), h, v0, ph0)
        )
        batch = tf.cast(tf.shape(v0)[0], tf.float32)
        grad_w = (tf.einsum("bik,bh->ikh", v0, ph0) - tf.einsum("bik,bh->ikh", vk, phk)) / batch
        grad_bv = tf.reduce_sum(v0 - vk, axis=0) / batch
        grad_bh = tf.reduce_sum(ph0 - phk, axis=0) / batch
        # reconstruction error of the observed ratings (mean field, one step)
        values = tf.range(1, self.n_ratings + 1, dtype=tf.float32)
        expected = tf.reduce_sum(self.visible_probabilities((1.0 - self.hidden_dropout) * ph0_all) * values, axis=-1)
        true = tf.reduce_sum(v0 * values, axis=-1)
        m = tf.squeeze(mask, -1)
        recon = tf.sqrt(tf.reduce_sum(tf.square(expected - true) * m) / tf.maximum(tf.reduce_sum(m), 1.0))
        return grad_w, grad_bv, grad_bh, recon

    @staticmethod
    def _input(data):
        data = data[0] if isinstance(data, (tuple, list)) else data
        return data["input"] if isinstance(data, dict) else data

    def train_step(self, data):
        ratings = self._input(data)
        grad_w, grad_bv, grad_bh, recon = self.contrastive_divergence(ratings)
        # the optimizer descends, so hand it the negative ascent direction (+ weight decay on W); the
        # biases' steps are scaled by bias_lr_multiplier (a separate bias learning rate)
        m = self.bias_lr_multiplier
        grads = [-grad_w + self.weight_decay * self.W, -m * grad_bv, -m * grad_bh]
        variables = [self.W, self.visible_bias, self.hidden_bias]
        if self.shared_weights:  # S is in every visible unit's interaction: the mean of their gradients
            grads.append(-self.shared_lr_multiplier * tf.reduce_mean(grad_w, axis=0)
                         + self.weight_decay * self.shared_W)
            variables.append(self.shared_W)
        self.optimizer.apply_gradients(zip(grads, variables))
        self.recon_rmse_tracker.update_state(recon)
        return {"recon_rmse": self.recon_rmse_tracker.result(), "cd_k": tf.identity(self.cd_k)}

    def test_step(self, data):
        ratings = self._input(data)
        target = data.get("target") if isinstance(data, dict) else None
        if target is None:
            *_, recon = self.contrastive_divergence(ratings, training=False)
            self.recon_rmse_tracker.update_state(recon)
            return {"recon_rmse": self.recon_rmse_tracker.result()}
        target = tf.cast(target, tf.float32)
        mask = tf.cast(target > 0, tf.float32)
        self._sse.update_state(tf.reduce_sum(mask * tf.square(self(ratings) - target)))
        self._count.update_state(tf.reduce_sum(mask))
        return {"rmse": self.rating_step * tf.sqrt(self._sse.result() / tf.maximum(self._count.result(), 1.0))}

    @property
    def metrics(self):
        return [self.recon_rmse_tracker, self._sse, self._count]

    def fit(self, *args, callbacks=None, **kwargs):
        """``tf.keras.Model.fit`` plus a callback that applies ``cd_k_schedule`` and the momentum schedule
        at each epoch."""
        callbacks = list(callbacks or []) + [_RBMScheduler(self)]
        return super().fit(*args, callbacks=callbacks, **kwargs)

    def get_config(self):
        return {
            "n_items": self.n_items,
            "n_ratings": self.n_ratings,
            "n_hidden": self.n_hidden,
            "cd_k_schedule": [list(p) for p in self.cd_k_schedule],
            "weight_decay": self.weight_decay,
            "bias_lr_multiplier": self.bias_lr_multiplier,
            "sample": self.sample,
            "init_stddev": self.init_stddev,
            "prediction": self.prediction,
            "seed": self.seed,
            "hidden_dropout": self.hidden_dropout,
            "shared_weights": self.shared_weights,
            "shared_lr_multiplier": self.shared_lr_multiplier,
            "initial_momentum": self.initial_momentum,
            "momentum_switch_epoch": self.momentum_switch_epoch,
            "rating_step": self.rating_step,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


__all__ = ["RBM", "check_cd_k_schedule", "rating_classes", "rating_scale"]
